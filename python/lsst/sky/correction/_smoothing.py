"""Gaussian smoothing of detection: afw's separable convolution, on the valid region only.

The kernel is normalised and applied along x first, then y, as afw's
``basicConvolve`` does for a ``SeparableKernel``; the variance is smoothed
with the squared kernel.  Only the "middle", where the kernel fits inside
the image, is computed.
"""

from __future__ import annotations

__all__ = ["calculateKernelSize", "gaussianKernel", "smoothImage", "smoothVariance"]

import numpy as np
from numba import njit


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
    """
    half = len(kernel) // 2
    height, width = array.shape
    if height <= 2 * half or width <= 2 * half:
        raise ValueError(f"a {width}x{height} image is too small for a {len(kernel)}-pixel smoothing kernel")
    if array.dtype != np.float32:
        raise TypeError(f"smoothing works on float32 planes, got {array.dtype}")
    taps = np.ascontiguousarray(kernel, dtype=np.float64)
    if not np.array_equal(taps, taps[::-1]):
        raise ValueError("the smoothing kernel must be symmetric")
    return _correlateSymmetricValid(np.ascontiguousarray(array), taps)


@njit(nogil=True, cache=True, fastmath=False)
def _correlateSymmetricValid(
    array: np.ndarray, taps: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """The compiled x-then-y pass of `_correlateValid` (``taps`` symmetric, odd length).

    Each output pixel is formed in double as the centre tap times the centre
    pixel plus, from the outermost pair inwards, the sum of each mirrored
    pair of pixels times their tap, then rounded to float32: afw's float32
    buffer between the passes and scipy's ``correlate1d`` order for a
    symmetric kernel, so results are bit-for-bit the same as that formulation.
    The y pass runs along whole rows, so it reads memory in order.
    """
    half = taps.size // 2
    height, width = array.shape
    outHeight = height - 2 * half
    outWidth = width - 2 * half
    centreTap = taps[half]
    alongX = np.empty((height, outWidth), dtype=np.float32)
    total = np.empty(outWidth, dtype=np.float64)
    for y in range(height):
        row = array[y]
        for x in range(outWidth):
            total[x] = np.float64(row[x + half]) * centreTap
        for k in range(half):
            tap = taps[k]
            for x in range(outWidth):
                total[x] += (np.float64(row[x + k]) + np.float64(row[x + 2 * half - k])) * tap
        for x in range(outWidth):
            alongX[y, x] = np.float32(total[x])
    out = np.empty((outHeight, outWidth), dtype=np.float32)
    for y in range(outHeight):
        centreRow = alongX[y + half]
        for x in range(outWidth):
            total[x] = np.float64(centreRow[x]) * centreTap
        for k in range(half):
            upper = alongX[y + k]
            lower = alongX[y + 2 * half - k]
            tap = taps[k]
            for x in range(outWidth):
                total[x] += (np.float64(upper[x]) + np.float64(lower[x])) * tap
        for x in range(outWidth):
            out[y, x] = np.float32(total[x])
    return out


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
