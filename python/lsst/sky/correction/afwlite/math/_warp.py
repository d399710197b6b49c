"""Resampling an image through a coordinate transform (``lsst.afw.math.warpImage``).

Only afw's ``"bilinear"`` warping kernel is provided: it is what the
focal-plane background uses to bring its superpixel grid back onto a
detector.  The arithmetic follows lsst/afw ``warpExposure.cc`` and
``ConvolveImage.h``:

* destination pixel ``(x, y)`` (PARENT) maps to the source position
  ``srcToDest.applyInverse((x, y))``;
* with ``index = floor(position - xy0)`` and ``frac = position - xy0 - index``
  per axis, the pixel is computed only if the 2x2 kernel fits, i.e.
  ``0 <= index <= size - 2`` on both axes; otherwise it gets the pad value
  (NaN for float images);
* the kernel weights are afw's ``BilinearFunction1`` values
  ``0.5 + (1 - 2 frac) (0.5 - |k|)`` for ``k = 0, 1`` (``1 - frac`` and
  ``frac``), applied separably: each of the two source rows is reduced along
  x, then the two row sums along y, accumulating in the destination pixel
  type and skipping zero weights (so a NaN under a zero weight does not
  spread);
* the sum is multiplied by ``relativeArea / kernelSum``, where
  ``relativeArea`` is the area of the destination pixel in source pixels
  (``|det|`` of the source-position differences to the destination pixels
  one to the left and one below, as afw computes it) and ``kernelSum`` the
  sum of the weights.

All of it is evaluated on whole arrays of destination pixels.
"""

from __future__ import annotations

__all__ = ["WarpingControl", "warpImage"]

import math
from typing import Any

import numpy as np

from ..image import ImageD, ImageF
from ._errors import InvalidParameterError

# afw's other kernels: known, but not implemented here.
_UNSUPPORTED_KERNELS = ("nearest", "lanczos")


class WarpingControl:
    """How `warpImage` resamples (``lsst.afw.math.WarpingControl``).

    Parameters
    ----------
    warpingKernelName : `str`
        The warping kernel; only ``"bilinear"`` is available.
    maskWarpingKernelName : `str`, optional
        afw's kernel for mask planes; must be empty, as only plain images
        are warped here.
    cacheSize : `int`, optional
        Accepted for compatibility; kernels are evaluated exactly.
    interpLength : `int`, optional
        Accepted for compatibility; the transform is evaluated at every
        destination pixel (afw's behaviour for ``interpLength = 0``).
    growFullMask : `int`, optional
        Accepted for compatibility; unused for plain images.

    Raises
    ------
    InvalidParameterError
        For any kernel other than ``"bilinear"`` or a mask kernel.
    """

    def __init__(
        self,
        warpingKernelName: str,
        maskWarpingKernelName: str = "",
        cacheSize: int = 0,
        interpLength: int = 0,
        growFullMask: int = 0,
    ) -> None:
        if warpingKernelName != "bilinear":
            if any(str(warpingKernelName).startswith(name) for name in _UNSUPPORTED_KERNELS):
                raise InvalidParameterError(
                    f"warping kernel {warpingKernelName!r} is not implemented in afwlite; "
                    "only 'bilinear' is available"
                )
            raise InvalidParameterError(
                f"unknown warping kernel {warpingKernelName!r}; afwlite supports only 'bilinear'"
            )
        if maskWarpingKernelName:
            raise InvalidParameterError(
                f"mask warping kernel {maskWarpingKernelName!r}: afwlite warps plain images only"
            )
        for name, value in (
            ("cacheSize", cacheSize),
            ("interpLength", interpLength),
            ("growFullMask", growFullMask),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidParameterError(f"WarpingControl: {name} must be an integer >= 0, got {value!r}")
        self._warpingKernelName = warpingKernelName
        self._cacheSize = cacheSize
        self._interpLength = interpLength
        self._growFullMask = growFullMask

    def getWarpingKernelName(self) -> str:
        return self._warpingKernelName

    def getCacheSize(self) -> int:
        return self._cacheSize

    def getInterpLength(self) -> int:
        return self._interpLength

    def getGrowFullMask(self) -> int:
        return self._growFullMask

    def __repr__(self) -> str:
        return f"WarpingControl({self._warpingKernelName!r})"


def _bilinearWeights(frac: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The weights of afw's ``BilinearFunction1`` at kernel offsets 0 and 1 (``1 - frac`` and ``frac``)."""
    slope = 1.0 - 2.0 * np.abs(frac)
    return 0.5 + slope * 0.5, 0.5 + slope * -0.5


def _accumulate(total: np.ndarray, pixels: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``total += pixels * weight`` in ``total``'s type, skipping zero weights, as afw does."""
    with np.errstate(invalid="ignore", over="ignore"):
        updated = (total + pixels.astype(np.float64) * weight).astype(total.dtype)
    return np.where(weight != 0.0, updated, total)


def warpImage(
    destImage: ImageF | ImageD,
    srcImage: ImageF | ImageD,
    srcToDest: Any,
    warpingControl: WarpingControl,
    padValue: float = math.nan,
) -> int:
    """Resample ``srcImage`` onto ``destImage`` (``lsst.afw.math.warpImage``).

    Parameters
    ----------
    destImage : `ImageF` or `ImageD`
        The image to fill (every pixel is overwritten); its xy0 places its
        pixels in the destination system.
    srcImage : `ImageF` or `ImageD`
        The image to resample; its xy0 places it in the source system.
        It must not share pixels with ``destImage``.
    srcToDest : `TransformPoint2ToPoint2`
        Maps source positions to destination positions; its
        ``applyInverse`` must accept a tuple ``(x, y)`` of arrays.
    warpingControl : `WarpingControl`
        The kernel (``"bilinear"``).
    padValue : `float`, optional
        The value of destination pixels whose kernel does not fit in the
        source image (default NaN, afw's edge pixel for float images).

    Returns
    -------
    numGoodPixels : `int`
        How many destination pixels were computed from the source.

    Raises
    ------
    TypeError
        If an image is not an `ImageF` or `ImageD`, or the control is not a
        `WarpingControl`.
    InvalidParameterError
        If ``destImage`` and ``srcImage`` share pixels.
    """
    for name, image in (("destImage", destImage), ("srcImage", srcImage)):
        if not isinstance(image, ImageF | ImageD):
            raise TypeError(f"warpImage: {name} must be an ImageF or ImageD, got {type(image).__name__}")
    if not isinstance(warpingControl, WarpingControl):
        raise TypeError(
            f"warpImage: warpingControl must be a WarpingControl, got {type(warpingControl).__name__}"
        )
    if np.shares_memory(destImage.array, srcImage.array):
        raise InvalidParameterError(
            "warpImage: destImage is srcImage (or shares its pixels); cannot warp in place"
        )

    destArray = destImage.array
    height, width = destArray.shape
    if destArray.size == 0:
        return 0
    source = srcImage.array
    srcHeight, srcWidth = source.shape
    if srcWidth < 2 or srcHeight < 2:
        # No 2x2 kernel fits anywhere.
        destArray[...] = destArray.dtype.type(padValue)
        return 0

    # Destination positions, plus the neighbours one pixel left and one below
    # that afw differences to get the area of a destination pixel in the source.
    destX = np.arange(width, dtype=np.float64) + destImage.getX0()
    destY = np.arange(height, dtype=np.float64) + destImage.getY0()
    gridX, gridY = np.meshgrid(destX, destY)
    srcX, srcY = srcToDest.applyInverse((gridX, gridY))
    leftX, leftY = srcToDest.applyInverse((gridX - 1.0, gridY))
    belowX, belowY = srcToDest.applyInverse((gridX, gridY - 1.0))
    dxA, dyA = srcX - leftX, srcY - leftY
    dxB, dyB = srcX - belowX, srcY - belowY
    relativeArea = np.abs(dxA * dyB - dyA * dxB)

    with np.errstate(invalid="ignore"):
        fullX = srcX - srcImage.getX0()
        fullY = srcY - srcImage.getY0()
        indexX = np.floor(fullX)
        indexY = np.floor(fullY)
        inside = (indexX >= 0) & (indexX <= srcWidth - 2) & (indexY >= 0) & (indexY <= srcHeight - 2)
        fracX = np.where(inside, fullX - indexX, 0.0)
        fracY = np.where(inside, fullY - indexY, 0.0)
    # Outside pixels index pixel (0, 0) so that the gathers stay in bounds; they are padded below.
    ix = np.where(inside, indexX, 0).astype(np.intp)
    iy = np.where(inside, indexY, 0).astype(np.intp)
    ix1 = ix + 1
    iy1 = iy + 1

    kx0, kx1 = _bilinearWeights(fracX)
    ky0, ky1 = _bilinearWeights(fracY)
    kernelSum = (kx0 + kx1) * (ky0 + ky1)

    accumulator = destArray.dtype
    zero = np.zeros((height, width), dtype=accumulator)
    lowRow = _accumulate(_accumulate(zero, source[iy, ix], kx0), source[iy, ix1], kx1)
    highRow = _accumulate(_accumulate(zero, source[iy1, ix], kx0), source[iy1, ix1], kx1)
    total = _accumulate(_accumulate(zero, lowRow, ky0), highRow, ky1)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = (total.astype(np.float64) * (relativeArea / kernelSum)).astype(accumulator)
    destArray[...] = np.where(inside, scaled, accumulator.type(padValue))
    return int(np.count_nonzero(inside))
