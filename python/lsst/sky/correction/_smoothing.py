"""Gaussian smoothing of detection: afw's separable convolution, on the valid region only.

The kernel is normalised and applied along x first, then y, as afw's
``basicConvolve`` does for a ``SeparableKernel``; the variance is smoothed
with the squared kernel.  Only the "middle", where the kernel fits inside
the image, is computed.
"""

from __future__ import annotations

__all__ = ["calculateKernelSize", "gaussianKernel", "smoothImage", "smoothVariance"]

import numpy as np
from scipy import ndimage


def calculateKernelSize(sigma: float, nSigmaForKernel: float) -> int:
    """Full width of the smoothing kernel: ``sigma * nSigmaForKernel`` rounded up to an odd integer.

    Parameters
    ----------
    sigma : `float`
        Gaussian sigma in pixels.
    nSigmaForKernel : `float`
        Full width of the kernel in units of sigma (7 means 3.5 sigma each side).
    """
    return (int(sigma * nSigmaForKernel + 0.5) // 2) * 2 + 1


def gaussianKernel(sigma: float, width: int) -> np.ndarray:
    """A normalised 1-d Gaussian of ``width`` taps centred on tap ``width // 2``.

    Parameters
    ----------
    sigma : `float`
        Gaussian sigma in pixels (> 0).
    width : `int`
        Number of taps (odd).

    Returns
    -------
    kernel : `numpy.ndarray`
        float64 taps summing to 1 (afw normalises each vector of a separable kernel).
    """
    if not sigma > 0:
        raise ValueError(f"the Gaussian sigma must be > 0, got {sigma}")
    if width < 1 or width % 2 == 0:
        raise ValueError(f"the kernel width must be a positive odd integer, got {width}")
    offsets = np.arange(width, dtype=np.float64) - width // 2
    taps = np.exp(-0.5 * (offsets / sigma) ** 2)
    return taps / taps.sum()


def _correlateValid(array: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable correlation with ``kernel`` along x then y, keeping only the valid middle.

    The result has shape ``(H - 2h, W - 2h)`` with ``h = len(kernel) // 2``:
    output pixel ``(i, j)`` is centred on input pixel ``(i + h, j + h)``.
    Each pass runs in double precision per line and is stored as float32,
    like afw's float32 buffer between its x and y passes.
    """
    half = len(kernel) // 2
    height, width = array.shape
    if height <= 2 * half or width <= 2 * half:
        raise ValueError(f"a {width}x{height} image is too small for a {len(kernel)}-pixel smoothing kernel")
    alongX = ndimage.correlate1d(array, kernel, axis=1, output=np.float32, mode="nearest")
    alongX = alongX[:, half : width - half]
    alongY = ndimage.correlate1d(alongX, kernel, axis=0, output=np.float32, mode="nearest")
    return alongY[half : height - half]


def smoothImage(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Smooth an image with a separable kernel; only the valid middle is returned.

    Parameters
    ----------
    image : `numpy.ndarray`
        2-d float32 pixels; NaN spreads to every output pixel whose kernel
        footprint contains it, as in afw.
    kernel : `numpy.ndarray`
        The 1-d kernel (odd length), applied along x and along y.

    Returns
    -------
    middle : `numpy.ndarray`
        float32, shape ``(H - 2h, W - 2h)``, ``h = len(kernel) // 2``.
    """
    return _correlateValid(image, kernel)


def smoothVariance(variance: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The variance of `smoothImage`'s output: the variance smoothed with the squared kernel.

    Parameters
    ----------
    variance : `numpy.ndarray`
        2-d float32 per-pixel variance.
    kernel : `numpy.ndarray`
        The same 1-d kernel given to `smoothImage`.

    Returns
    -------
    middle : `numpy.ndarray`
        float32, the same shape as `smoothImage`'s result.
    """
    return _correlateValid(variance, kernel * kernel)
