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


@njit(nogil=True, cache=True, fastmath=False, inline="always")
def _correlateRowSymmetric(
    source: np.ndarray, out: np.ndarray, taps: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``out[x] = c * source[x + h] + sum_k taps[k] * (source[x + k] + source[x + 2h - k])``, k ascending.

    Eight output pixels are formed at once in eight scalar accumulators, so
    the partial sums stay in registers across the taps instead of going
    through memory once per tap; each pixel's sum keeps the order above.
    """
    half = taps.size // 2
    centreTap = taps[half]
    size = out.size
    x = 0
    while x + 8 <= size:
        a0 = source[x + half] * centreTap
        a1 = source[x + 1 + half] * centreTap
        a2 = source[x + 2 + half] * centreTap
        a3 = source[x + 3 + half] * centreTap
        a4 = source[x + 4 + half] * centreTap
        a5 = source[x + 5 + half] * centreTap
        a6 = source[x + 6 + half] * centreTap
        a7 = source[x + 7 + half] * centreTap
        for k in range(half):
            tap = taps[k]
            near = x + k
            far = x + 2 * half - k
            a0 += (source[near] + source[far]) * tap
            a1 += (source[near + 1] + source[far + 1]) * tap
            a2 += (source[near + 2] + source[far + 2]) * tap
            a3 += (source[near + 3] + source[far + 3]) * tap
            a4 += (source[near + 4] + source[far + 4]) * tap
            a5 += (source[near + 5] + source[far + 5]) * tap
            a6 += (source[near + 6] + source[far + 6]) * tap
            a7 += (source[near + 7] + source[far + 7]) * tap
        out[x] = a0
        out[x + 1] = a1
        out[x + 2] = a2
        out[x + 3] = a3
        out[x + 4] = a4
        out[x + 5] = a5
        out[x + 6] = a6
        out[x + 7] = a7
        x += 8
    while x < size:
        total = source[x + half] * centreTap
        for k in range(half):
            total += (source[x + k] + source[x + 2 * half - k]) * taps[k]
        out[x] = total
        x += 1


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

    The x pass of each input row goes into a ring of the last ``2h + 1``
    rows (held as float64 copies of the float32-rounded values, so each is
    converted once), and an output row is formed from the ring as soon as
    its last input row is in: no image-sized intermediate, and the y pass
    reads rows that are still in cache.
    """
    half = taps.size // 2
    height, width = array.shape
    outHeight = height - 2 * half
    outWidth = width - 2 * half
    span = 2 * half + 1
    centreTap = taps[half]
    ring = np.empty((span, outWidth), dtype=np.float64)
    row = np.empty(width, dtype=np.float64)
    total = np.empty(outWidth, dtype=np.float64)
    out = np.empty((outHeight, outWidth), dtype=np.float32)
    for y in range(height):
        source = array[y]
        for x in range(width):
            row[x] = source[x]
        slot = ring[y % span]
        _correlateRowSymmetric(row, slot, taps)
        for x in range(outWidth):
            slot[x] = np.float64(np.float32(slot[x]))
        if y < 2 * half:
            continue
        outY = y - 2 * half
        centreRow = ring[(outY + half) % span]
        for x in range(outWidth):
            total[x] = centreRow[x] * centreTap
        for k in range(half):
            upper = ring[(outY + k) % span]
            lower = ring[(outY + 2 * half - k) % span]
            tap = taps[k]
            for x in range(outWidth):
                total[x] += (upper[x] + lower[x]) * tap
        target = out[outY]
        for x in range(outWidth):
            target[x] = np.float32(total[x])
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
