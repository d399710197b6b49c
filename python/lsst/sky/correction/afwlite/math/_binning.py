"""Block reductions: ``binImage`` and the cell statistics of a background.

`binImage` follows lsst/afw ``binImage.cc``; `makeBackgroundStatsImage` builds
the statistics image of afw's ``BackgroundMI(image, bctrl)`` constructor
(lsst/afw ``BackgroundMI.cc``).  Binning is one compiled pass over the
pixels (`._kernels.blockSum`, `._kernels.blockOr`); the background cells are
reduced by `computeBoxStatistics` in a single call, straight from the image.
"""

from __future__ import annotations

__all__ = ["binImage", "makeBackgroundStatsImage"]

import numpy as np

from ..image import ImageBase, ImageD, ImageF, Mask, MaskedImageF
from ._bin_geometry import binGeometry
from ._errors import InvalidParameterError
from ._kernels import blockOr, blockSum
from ._statistics import Property, StatisticsControl, _checkFlags, computeBoxStatistics


def _checkBinning(binX: int, binY: int) -> None:
    for name, value in (("binX", binX), ("binY", binY)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"binImage: {name} must be an integer, got {value!r}")
    if binX <= 0 or binY <= 0:
        raise InvalidParameterError(f"binImage: binning must be > 0, saw {binX}x{binY}")


def binImage[T: (ImageF, ImageD, MaskedImageF)](
    image: T, binX: int, binY: int | Property | None = None, flags: int = Property.MEAN
) -> T:
    """Average ``binX`` x ``binY`` blocks of pixels (``lsst.afw.math.binImage``).

    Parameters
    ----------
    image : `ImageF`, `ImageD` or `MaskedImageF`
        The image to bin.
    binX : `int`
        Input columns per output pixel (> 0).
    binY : `int` or `Property`, optional
        Input rows per output pixel (> 0); ``binX`` when omitted.  A
        `Property` here is taken as ``flags``, like afw's
        ``binImage(image, binsize, flags)`` overload.
    flags : `Property`
        How to combine a block; only ``MEAN`` is supported, as in afw.

    Returns
    -------
    binned : same type as ``image``
        ``W // binX`` x ``H // binY`` pixels; remainder columns and rows on
        the high side are dropped.  ``xy0`` is the input's, *not* divided by
        the binning.  The image plane is the block sum divided by
        ``binX * binY`` in the pixel type, the mask the OR of the block, the
        variance the block sum divided by ``(binX * binY) ** 2``.  NaNs are
        not treated specially: one NaN makes its block NaN.

    Raises
    ------
    TypeError
        Raised for unsupported image types or non-integer binning.
    InvalidParameterError
        Raised if ``flags`` is not ``MEAN`` or a binning factor is not positive.
    """
    if isinstance(binY, Property):
        flags, rowsPerBin = binY, binX
    else:
        rowsPerBin = binX if binY is None else binY
    checked = _checkFlags(flags, "binImage")
    if checked != Property.MEAN:
        raise InvalidParameterError(f"binImage: only MEAN is supported, saw {checked!r} ({int(checked):#x})")
    _checkBinning(binX, rowsPerBin)
    count = binX * rowsPerBin

    if isinstance(image, MaskedImageF):
        pixels = blockSum(image.image.array, binX, rowsPerBin)
        pixels /= np.float32(count)
        variance = blockSum(image.variance.array, binX, rowsPerBin)
        variance /= np.float32(count * count)
        mask = blockOr(image.mask.array, binX, rowsPerBin)
        xy0 = image.getXY0()
        return MaskedImageF(
            ImageF(pixels, xy0=xy0),
            mask=Mask(mask, xy0=xy0, planeDict=image.mask.planeDict),
            variance=ImageF(variance, xy0=xy0),
        )
    if isinstance(image, ImageF | ImageD):
        pixels = blockSum(image.array, binX, rowsPerBin)
        pixels /= pixels.dtype.type(count)
        return type(image)(pixels, xy0=image.getXY0())
    if isinstance(image, ImageBase):
        raise TypeError(f"binImage: cannot bin a {type(image).__name__}; use ImageF, ImageD or MaskedImageF")
    raise TypeError(f"binImage: expected an ImageF, ImageD or MaskedImageF, got {type(image).__name__}")


def makeBackgroundStatsImage(
    maskedImage: MaskedImageF, nx: int, ny: int, prop: Property, sctrl: StatisticsControl
) -> MaskedImageF:
    """Build the ``nx`` x ``ny`` statistics image of afw's ``BackgroundMI(image, bctrl)``.

    Parameters
    ----------
    maskedImage : `MaskedImageF`
        The image whose background is measured.
    nx, ny : `int`
        Number of cells along x and y (``1 <= nx <= width``, likewise y).
    prop : `Property`
        The statistic of each cell, e.g. ``MEANCLIP``, ``MEAN`` or ``MEDIAN``.
    sctrl : `StatisticsControl`
        Clipping, ``andMask`` and NaN handling for every cell.

    Returns
    -------
    statsImage : `MaskedImageF`
        ``nx`` x ``ny`` pixels with ``xy0 = (0, 0)``: the image plane holds
        each cell's statistic (float32), the variance plane its *error* sigma
        (afw's ``getResult().second``, not its square), the mask is zero.  Cells with
        no usable pixels are NaN.

    Raises
    ------
    TypeError
        Raised if ``maskedImage`` is not a `MaskedImageF`.
    InvalidParameterError
        Raised for cell counts that do not fit the image or a ``prop`` that
        is not a single statistic.

    Notes
    -----
    The cells are afw's (`binGeometry`, in LOCAL pixels); all cells are
    reduced together by `computeBoxStatistics`, straight from the image.
    """
    if not isinstance(maskedImage, MaskedImageF):
        raise TypeError(
            f"makeBackgroundStatsImage: expected a MaskedImageF, got {type(maskedImage).__name__}"
        )
    if not isinstance(sctrl, StatisticsControl):
        raise TypeError(f"makeBackgroundStatsImage: expected a StatisticsControl, got {type(sctrl).__name__}")
    statistic = _checkFlags(prop, "makeBackgroundStatsImage") & ~Property.ERRORS
    bits = statistic.value
    if bits == 0 or bits & (bits - 1) or statistic == Property.ORMASK:
        raise InvalidParameterError(
            f"makeBackgroundStatsImage: prop must be one statistic such as MEANCLIP, got {prop!r}"
        )
    width, height = maskedImage.getWidth(), maskedImage.getHeight()
    for axis, cells, length in (("nx", nx, width), ("ny", ny, height)):
        if isinstance(cells, bool) or not isinstance(cells, int | np.integer):
            raise TypeError(f"makeBackgroundStatsImage: {axis} must be an integer, got {cells!r}")
        if not 1 <= cells <= length:
            raise InvalidParameterError(
                f"makeBackgroundStatsImage: {axis}={cells} cells do not fit the "
                f"{width}x{height} image {maskedImage.getBBox()}"
            )

    xCells, yCells = binGeometry(width, nx), binGeometry(height, ny)
    # Cells row-major (y outer, x inner), read straight from the image.
    x0, y0 = np.meshgrid(xCells.origin, yCells.origin)
    widths, heights = np.meshgrid(xCells.size, yCells.size)
    stats = computeBoxStatistics(
        maskedImage.image.array,
        maskedImage.mask.array,
        sctrl.getAndMask(),
        x0,
        y0,
        widths,
        heights,
        statistic | Property.ERRORS,
        sctrl,
    )

    statsImage = MaskedImageF(nx, ny)
    statsImage.image.array[...] = stats.getValue(statistic).reshape(ny, nx)
    statsImage.variance.array[...] = stats.getError(statistic).reshape(ny, nx)
    return statsImage
