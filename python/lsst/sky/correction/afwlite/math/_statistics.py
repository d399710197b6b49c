"""Pixel statistics with afw's semantics (``lsst.afw.math.makeStatistics``).

The work is done by `computeGroupStatistics`, which evaluates afw's algorithm
for many groups of pixels at once: the groups are the rows of an
``(nGroups, nPix)`` array, and a boolean array of the same shape says which
entries take part (padding entries are simply not good).  `makeStatistics`
runs it on one group (a whole image); the background code runs it on all the
cells of an image in one call.

The reductions are compiled kernels (`._kernels_statistics`) over the groups
held flat: sums are accumulated in float64 in pixel order, as afw's double
accumulators do (into four interleaved partial sums); the quartiles are
selected exactly without sorting; each clipping pass is one sweep over a
compact copy of the usable values.
`computeBoxStatistics` runs the same algorithm on boxes of a 2-d image
without first copying them into padded rows.
"""

from __future__ import annotations

__all__ = [
    "ERRORS",
    "IQRANGE",
    "MAX",
    "MEAN",
    "MEANCLIP",
    "MEANSQUARE",
    "MEDIAN",
    "MIN",
    "NCLIPPED",
    "NMASKED",
    "NOTHING",
    "NPOINT",
    "ORMASK",
    "STDEV",
    "STDEVCLIP",
    "SUM",
    "VARIANCE",
    "VARIANCECLIP",
    "GroupStatistics",
    "Property",
    "Statistics",
    "StatisticsControl",
    "computeBoxStatistics",
    "computeGroupStatistics",
    "makeStatistics",
    "stringToStatisticsProperty",
]

import enum
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._unsupported import notImplemented
from ..image import ImageBase, Mask, MaskedImageF
from ._errors import InvalidParameterError
from ._kernels_statistics import clipSums, gatherBoxes, gatherUsable, selectRanks, usableMoments


class Property(enum.IntFlag):
    """What `makeStatistics` computes (afw's ``Property`` bit flags)."""

    NOTHING = 0x0
    ERRORS = 0x1
    NPOINT = 0x2
    MEAN = 0x4
    STDEV = 0x8
    VARIANCE = 0x10
    MEDIAN = 0x20
    IQRANGE = 0x40
    MEANCLIP = 0x80
    STDEVCLIP = 0x100
    VARIANCECLIP = 0x200
    MIN = 0x400
    MAX = 0x800
    SUM = 0x1000
    MEANSQUARE = 0x2000
    ORMASK = 0x4000
    NCLIPPED = 0x8000
    NMASKED = 0x10000


# afw code writes ``afwMath.MEANCLIP``; the flags live at module level too.
NOTHING = Property.NOTHING
ERRORS = Property.ERRORS
NPOINT = Property.NPOINT
MEAN = Property.MEAN
STDEV = Property.STDEV
VARIANCE = Property.VARIANCE
MEDIAN = Property.MEDIAN
IQRANGE = Property.IQRANGE
MEANCLIP = Property.MEANCLIP
STDEVCLIP = Property.STDEVCLIP
VARIANCECLIP = Property.VARIANCECLIP
MIN = Property.MIN
MAX = Property.MAX
SUM = Property.SUM
MEANSQUARE = Property.MEANSQUARE
ORMASK = Property.ORMASK
NCLIPPED = Property.NCLIPPED
NMASKED = Property.NMASKED

_ALL_FLAGS = int(sum(p.value for p in Property))

#: One Gaussian sigma in units of the interquartile range (afw's IQ_TO_STDEV).
IQ_TO_STDEV = 0.741301109252802

# A double that rounds to +-inf when cast to float: |v| >= FLT_MAX + half an ulp.
_FLOAT32_OVERFLOW = 2.0**128 - 2.0**103

# The fractions whose percentiles give the median and the interquartile range.
_QUARTILES = np.array([0.25, 0.5, 0.75])

_CLIP_FLAGS = Property.MEANCLIP | Property.STDEVCLIP | Property.VARIANCECLIP | Property.NCLIPPED
_ORDER_FLAGS = Property.MEDIAN | Property.IQRANGE | _CLIP_FLAGS


def stringToStatisticsProperty(property: str) -> Property:
    """Return the `Property` called ``property`` (e.g. ``"MEANCLIP"``).

    Raises
    ------
    InvalidParameterError
        Raised if no property has that name.
    """
    try:
        return Property[property]
    except KeyError:
        names = ", ".join(p.name for p in Property if p.name)
        raise InvalidParameterError(f"unknown statistics property {property!r}; known: {names}") from None


def _int32Bits(value: int, what: str) -> int:
    """``value`` as afw's 32-bit ``MaskPixel`` pattern (bit 31 wraps negative)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{what} must be an integer bit mask, got {value!r}")
    if not -(2**31) <= int(value) < 2**32:
        raise InvalidParameterError(f"{what} {value:#x} does not fit in 32 bits")
    return int(np.array(int(value) & 0xFFFFFFFF, dtype=np.uint32).view(np.int32))


class _WeightsBoolean(enum.IntEnum):
    """afw's three-valued ``StatisticsControl.WeightsBoolean``."""

    WEIGHTS_FALSE = 0
    WEIGHTS_TRUE = 1
    WEIGHTS_NONE = 2


class StatisticsControl:
    """How `makeStatistics` treats pixels (``lsst.afw.math.StatisticsControl``).

    Parameters
    ----------
    numSigmaClip : `float`
        Half-width of the clipping window, in standard deviations (> 0).
    numIter : `int`
        Number of clipping passes (>= 1); the first clips around the median
        using the interquartile range, the others around the clipped mean.
    andMask : `int`
        Pixels with any of these mask bits set are ignored.  The default, 0,
        excludes nothing.
    isNanSafe : `bool`
        Ignore pixels whose value is NaN or infinite.
    useWeights : `StatisticsControl.WeightsBoolean`
        afw's weighting switch (default ``WEIGHTS_NONE``).  Weighted
        statistics are not implemented: `makeStatistics` raises
        `NotImplementedError` when they are asked for.

    Notes
    -----
    The weighting, input-variance and mask-propagation settings exist so
    that afw code setting them runs, but any statistics computed with them
    switched on raise `NotImplementedError` rather than ignore them.
    """

    WeightsBoolean = _WeightsBoolean
    WEIGHTS_FALSE = _WeightsBoolean.WEIGHTS_FALSE
    WEIGHTS_TRUE = _WeightsBoolean.WEIGHTS_TRUE
    WEIGHTS_NONE = _WeightsBoolean.WEIGHTS_NONE

    def __init__(
        self,
        numSigmaClip: float = 3.0,
        numIter: int = 3,
        andMask: int = 0,
        isNanSafe: bool = True,
        useWeights: _WeightsBoolean | int = _WeightsBoolean.WEIGHTS_NONE,
    ) -> None:
        self.setNumSigmaClip(numSigmaClip)
        self.setNumIter(numIter)
        self.setAndMask(andMask)
        self.setNanSafe(isNanSafe)
        self._useWeights = _WeightsBoolean(useWeights)
        self._calcErrorFromInputVariance = False
        self._calcErrorMosaicMode = False
        # afw defaults this to the NO_DATA bit; only stacking code reads it.
        try:
            self._noGoodPixelsMask = int(Mask.getPlaneBitMask("NO_DATA"))
        except KeyError:
            self._noGoodPixelsMask = 0

    def getNumSigmaClip(self) -> float:
        return self._numSigmaClip

    def setNumSigmaClip(self, numSigmaClip: float) -> None:
        value = float(numSigmaClip)
        if not value > 0:
            raise InvalidParameterError(f"StatisticsControl: numSigmaClip must be > 0, got {numSigmaClip!r}")
        self._numSigmaClip = value

    def getNumIter(self) -> int:
        return self._numIter

    def setNumIter(self, numIter: int) -> None:
        if isinstance(numIter, bool) or not isinstance(numIter, int | np.integer):
            raise TypeError(f"StatisticsControl: numIter must be an integer, got {numIter!r}")
        if numIter < 1:
            raise InvalidParameterError(f"StatisticsControl: numIter must be >= 1, got {numIter}")
        self._numIter = int(numIter)

    def getAndMask(self) -> int:
        return self._andMask

    def setAndMask(self, andMask: int) -> None:
        self._andMask = _int32Bits(andMask, "StatisticsControl: andMask")

    def getNanSafe(self) -> bool:
        return self._isNanSafe

    def setNanSafe(self, isNanSafe: bool) -> None:
        self._isNanSafe = bool(isNanSafe)

    def getNoGoodPixelsMask(self) -> int:
        return self._noGoodPixelsMask

    def setNoGoodPixelsMask(self, noGoodPixelsMask: int) -> None:
        self._noGoodPixelsMask = _int32Bits(noGoodPixelsMask, "StatisticsControl: noGoodPixelsMask")

    # Settings kept for afw code; statistics that would use them raise (see _checkSupported).
    def getWeighted(self) -> bool:
        """Whether weighted statistics were asked for (``useWeights == WEIGHTS_TRUE``)."""
        return self._useWeights == _WeightsBoolean.WEIGHTS_TRUE

    def getWeightedIsSet(self) -> bool:
        """Whether the weighting was set either way (``useWeights != WEIGHTS_NONE``)."""
        return self._useWeights != _WeightsBoolean.WEIGHTS_NONE

    def setWeighted(self, useWeights: bool) -> None:
        self._useWeights = _WeightsBoolean.WEIGHTS_TRUE if useWeights else _WeightsBoolean.WEIGHTS_FALSE

    def getCalcErrorFromInputVariance(self) -> bool:
        return self._calcErrorFromInputVariance

    def setCalcErrorFromInputVariance(self, calcErrorFromInputVariance: bool) -> None:
        self._calcErrorFromInputVariance = bool(calcErrorFromInputVariance)

    def getCalcErrorMosaicMode(self) -> bool:
        return self._calcErrorMosaicMode

    def setCalcErrorMosaicMode(self, calcErrorMosaicMode: bool) -> None:
        self._calcErrorMosaicMode = bool(calcErrorMosaicMode)

    def getMaskPropagationThreshold(self, bit: int) -> float:
        """1.0 for every bit: afw's value for bits whose threshold was never set."""
        return 1.0

    def setMaskPropagationThreshold(self, bit: int, threshold: float) -> None:
        notImplemented("mask propagation thresholds", "lsst.afw.math.StatisticsControl")

    def __repr__(self) -> str:
        return (
            f"StatisticsControl(numSigmaClip={self._numSigmaClip}, numIter={self._numIter}, "
            f"andMask={self._andMask:#x}, isNanSafe={self._isNanSafe}, useWeights={self._useWeights.name})"
        )


def _checkSupported(sctrl: StatisticsControl) -> None:
    """Refuse the StatisticsControl settings whose statistics afwlite does not compute."""
    if sctrl.getWeighted():
        notImplemented(
            "weighted statistics (StatisticsControl.setWeighted(True))", "lsst.afw.math.Statistics"
        )
    if sctrl.getCalcErrorFromInputVariance():
        notImplemented(
            "errors from the input variance (setCalcErrorFromInputVariance)", "lsst.afw.math.Statistics"
        )
    if sctrl.getCalcErrorMosaicMode():
        notImplemented("mosaic-mode errors (setCalcErrorMosaicMode)", "lsst.afw.math.Statistics")


def _checkFlags(flags: int, what: str) -> Property:
    if isinstance(flags, bool) or not isinstance(flags, int | np.integer):
        raise TypeError(f"{what}: flags must be Property bits, got {flags!r}")
    if int(flags) & ~_ALL_FLAGS or int(flags) < 0:
        raise InvalidParameterError(f"{what}: unknown Property bits in {int(flags):#x}")
    return Property(int(flags))


def _singleProperty(prop: int, flags: Property, what: str) -> Property:
    """The one property ``prop`` names (``NOTHING``: the one that was asked for)."""
    wanted = Property(int(flags if prop == Property.NOTHING else prop) & ~Property.ERRORS)
    if wanted.value == 0 or wanted.value & (wanted.value - 1):
        if prop == Property.NOTHING:
            raise InvalidParameterError(
                f"{what}: getValue()/getResult() need an explicit property when several "
                f"were computed ({flags!r})"
            )
        raise InvalidParameterError(f"{what}: ask for one property at a time, not {Property(prop)!r}")
    if not wanted & flags:
        raise InvalidParameterError(f"{what}: {wanted!r} was not computed (flags {flags!r})")
    return wanted


@dataclass(frozen=True)
class GroupStatistics:
    """Per-group results of `computeGroupStatistics`.

    Attributes
    ----------
    flags : `Property`
        What was computed.
    values : `dict` [`Property`, `numpy.ndarray`]
        Each computed property, one float64 value per group.
    errors : `dict` [`Property`, `numpy.ndarray`]
        The matching errors (afw's ``getResult().second``); NaN unless
        ``ERRORS`` was requested.
    orMask : `numpy.ndarray` or `None`
        Per group, the OR of the mask bits of the pixels used (int32), when a
        mask was given.
    """

    flags: Property
    values: dict[Property, np.ndarray] = field(default_factory=dict)
    errors: dict[Property, np.ndarray] = field(default_factory=dict)
    orMask: np.ndarray | None = None

    def getValue(self, prop: int = Property.NOTHING) -> np.ndarray:
        """The values of ``prop`` for all groups."""
        return self.values[self._available(prop)]

    def getError(self, prop: int = Property.NOTHING) -> np.ndarray:
        """The errors of ``prop`` for all groups."""
        return self.errors[self._available(prop)]

    def _available(self, prop: int) -> Property:
        wanted = _singleProperty(prop, self.flags, "GroupStatistics")
        if wanted not in self.values:
            # Only ORMASK: afw reports it through getOrMask(), not getValue().
            raise InvalidParameterError(f"{wanted!r} has no value; use the OR mask (getOrMask) instead")
        return wanted


def _meanAndVariance(
    count: np.ndarray, sum1: np.ndarray, sum2: np.ndarray, center: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance as afw forms them from sums around ``center``.

    No pixels give NaN for both; one pixel gives a NaN variance.
    """
    n = count.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = sum1 / n
        variance = sum2 / n - mean**2
        variance *= n * n / (n * n - n)  # debias, exactly as afw writes it
    return center + mean, variance


def _percentile(low: np.ndarray, high: np.ndarray, count: np.ndarray, fraction: float) -> np.ndarray:
    """Percentiles as afw's ``percentile`` computes them: linear interpolation at ``fraction * (n - 1)``.

    ``low`` and ``high`` are each group's values of ranks ``floor(fraction *
    (count - 1))`` and the next among its ``count`` ordered values.
    """
    index = fraction * (count - 1).astype(np.float64)
    lower = np.maximum(np.floor(index), 0.0)
    with np.errstate(invalid="ignore"):
        result = ((lower + 1) - index) * low + (index - lower) * high
    result = np.where(count == 1, low, result)
    return np.where(count == 0, np.nan, result)


def _finiteAsFloat(values: np.ndarray) -> np.ndarray:
    """Whether each value is finite once cast to float, as afw tests it."""
    if values.dtype == np.float32:
        return np.isfinite(values)
    return np.abs(values) < _FLOAT32_OVERFLOW


def computeGroupStatistics(
    values: np.ndarray,
    good: np.ndarray | None,
    flags: int,
    sctrl: StatisticsControl | None = None,
    *,
    mask: np.ndarray | None = None,
    nPixels: np.ndarray | None = None,
) -> GroupStatistics:
    """Compute afw statistics for every row of ``values`` at once.

    Parameters
    ----------
    values : `numpy.ndarray`
        ``(nGroups, nPix)`` float32 or float64 pixel values; each row is one
        group (an image, a background cell...).
    good : `numpy.ndarray` or `None`
        ``(nGroups, nPix)`` bool: which entries may be used (not masked, not
        padding).  `None` means all.  Non-finite values are dropped on top
        of this when ``sctrl.getNanSafe()``.
    flags : `int`
        `Property` bits to compute (with ``ERRORS`` for the errors).
    sctrl : `StatisticsControl`, optional
        Clipping parameters and NaN handling; ``andMask`` is *not* applied
        here (fold it into ``good``).
    mask : `numpy.ndarray`, optional
        ``(nGroups, nPix)`` int32 mask bits, for ``orMask``.
    nPixels : `numpy.ndarray`, optional
        Real (non-padding) pixels per group, for ``NMASKED``; default
        ``nPix``.

    Returns
    -------
    result : `GroupStatistics`
        One value (and error) per group for each requested property.

    Notes
    -----
    The algorithm is afw's (lsst/afw ``Statistics.cc``): order statistics by
    linear interpolation at ``f * (n - 1)`` of the sorted usable values;
    clipping pass 0 keeps ``|v - median| <= numSigmaClip * IQ_TO_STDEV *
    IQR``, later passes ``|v - meanClip| <= numSigmaClip * sqrt(varClip)``
    (the IQR width again when ``NPOINT <= 1``), each pass over all usable
    pixels.  The quartiles are selected exactly, without sorting; the clip
    sums run in pixel order in double and so differ from afw's only by
    rounding.
    """
    sctrl = StatisticsControl() if sctrl is None else sctrl
    _checkSupported(sctrl)
    flags = _checkFlags(flags, "computeGroupStatistics")
    values = np.asarray(values)
    if values.ndim != 2:
        raise InvalidParameterError(
            f"computeGroupStatistics: values must be 2-d (nGroups, nPix), got {values.shape}"
        )
    if values.dtype not in (np.float32, np.float64):
        raise TypeError(f"computeGroupStatistics: values must be float32 or float64, got {values.dtype}")
    nGroups, nPix = values.shape
    for name, array in (("good", good), ("mask", mask)):
        if array is not None and np.shape(array) != values.shape:
            raise InvalidParameterError(
                f"computeGroupStatistics: {name} has shape {np.shape(array)}, values {values.shape}"
            )
    if good is not None and good.dtype != np.bool_:
        raise TypeError(f"computeGroupStatistics: good must be a bool array, got {good.dtype}")
    total = np.full(nGroups, nPix, dtype=np.int64) if nPixels is None else np.asarray(nPixels, np.int64)
    if not sctrl.getNanSafe() and flags & (Property.MIN | Property.MAX):
        _refuseNonFiniteExtremes(values if good is None else values[good])

    flat = np.ascontiguousarray(values).reshape(-1)
    offsets = np.arange(nGroups + 1, dtype=np.int64) * nPix
    goodFlat = None if good is None else np.ascontiguousarray(good).reshape(-1)
    if flags & _ORDER_FLAGS or mask is not None:
        # The order statistics and clipping passes (and the OR mask) work on
        # a compact copy of the usable values, in pixel order.
        maskFlat = None if mask is None else np.ascontiguousarray(mask).reshape(-1)
        buffer, bufferOffsets, orBits = gatherUsable(flat, offsets, goodFlat, sctrl.getNanSafe(), maskFlat)
        orMask = None if mask is None else orBits.astype(np.int32)
        return _usableStatistics(buffer, bufferOffsets, None, False, flags, sctrl, total, orMask)
    return _usableStatistics(flat, offsets, goodFlat, sctrl.getNanSafe(), flags, sctrl, total, None)


def computeBoxStatistics(
    image: np.ndarray,
    maskBits: np.ndarray | None,
    andMask: int,
    x0: ArrayLike,
    y0: ArrayLike,
    widths: ArrayLike,
    heights: ArrayLike,
    flags: int,
    sctrl: StatisticsControl | None = None,
) -> GroupStatistics:
    """Compute afw statistics of boxes of an image, without copying them into padded rows.

    The result is `computeGroupStatistics`'s on rows holding each box's
    pixels (row by row) with ``good = (maskBits & andMask) == 0`` and
    ``nPixels`` the box areas.

    Parameters
    ----------
    image : `numpy.ndarray`
        2-d float32 or float64 pixels.
    maskBits : `numpy.ndarray` or `None`
        Integer mask bits, or a bool array (`True` = bad, read as bit 1),
        of ``image``'s shape; `None` excludes nothing.
    andMask : `int`
        Bits of ``maskBits`` that exclude a pixel (ignored without ``maskBits``).
    x0, y0, widths, heights : array-like of `int`
        Box ``k`` is ``image[y0[k]:y0[k] + heights[k], x0[k]:x0[k] + widths[k]]``
        (LOCAL indices); boxes may overlap and must lie inside the image.
    flags : `int`
        `Property` bits to compute (``ORMASK`` gives no OR mask here).
    sctrl : `StatisticsControl`, optional
        Clipping parameters and NaN handling.

    Returns
    -------
    result : `GroupStatistics`
        One value (and error) per box; ``orMask`` is `None`.

    Raises
    ------
    TypeError
        Raised for a pixel type other than float32/float64 or a non-integer mask.
    InvalidParameterError
        Raised for arrays of the wrong shape or boxes outside the image.
    """
    sctrl = StatisticsControl() if sctrl is None else sctrl
    _checkSupported(sctrl)
    flags = _checkFlags(flags, "computeBoxStatistics")
    image = np.asarray(image)
    if image.ndim != 2:
        raise InvalidParameterError(f"computeBoxStatistics: image must be 2-d, got {image.shape}")
    if image.dtype not in (np.float32, np.float64):
        raise TypeError(f"computeBoxStatistics: image must be float32 or float64, got {image.dtype}")
    if maskBits is not None:
        if maskBits.shape != image.shape:
            raise InvalidParameterError(
                f"computeBoxStatistics: maskBits has shape {maskBits.shape}, image {image.shape}"
            )
        if not (maskBits.dtype == np.bool_ or np.issubdtype(maskBits.dtype, np.integer)):
            raise TypeError(f"computeBoxStatistics: maskBits must hold integer bits, got {maskBits.dtype}")
    left, bottom, boxWidths, boxHeights = (
        np.asarray(a, dtype=np.int64).reshape(-1) for a in (x0, y0, widths, heights)
    )
    if not left.size == bottom.size == boxWidths.size == boxHeights.size:
        raise InvalidParameterError("computeBoxStatistics: x0, y0, widths and heights differ in length")
    height, width = image.shape
    if left.size and (
        (left < 0).any()
        or (bottom < 0).any()
        or (boxWidths < 0).any()
        or (boxHeights < 0).any()
        or (left + boxWidths > width).any()
        or (bottom + boxHeights > height).any()
    ):
        raise InvalidParameterError(f"computeBoxStatistics: boxes must lie inside the {width}x{height} image")
    buffer, offsets = gatherBoxes(
        image, maskBits, andMask, sctrl.getNanSafe(), left, bottom, boxWidths, boxHeights
    )
    if not sctrl.getNanSafe() and flags & (Property.MIN | Property.MAX):
        _refuseNonFiniteExtremes(buffer)
    return _usableStatistics(buffer, offsets, None, False, flags, sctrl, boxWidths * boxHeights, None)


def _refuseNonFiniteExtremes(usableValues: np.ndarray) -> None:
    """Raise for MIN/MAX of non-finite pixels with ``isNanSafe=False``.

    afw forces its finiteness test on for the MIN/MAX pass but not for the
    crude-mean pass before it, so its answer depends on where the
    non-finite pixels fall.
    """
    if not _finiteAsFloat(usableValues).all():
        notImplemented(
            "MIN/MAX of non-finite pixels with isNanSafe=False (afw's answer depends on pixel order)",
            "lsst.afw.math.Statistics",
        )


def _usableStatistics(
    flat: np.ndarray,
    offsets: np.ndarray,
    good: np.ndarray | None,
    filterFinite: bool,
    flags: Property,
    sctrl: StatisticsControl,
    total: np.ndarray,
    orMask: np.ndarray | None,
) -> GroupStatistics:
    """The afw statistics of groups held flat (group ``g`` is ``flat[offsets[g]:offsets[g + 1]]``).

    Entries are usable where ``good`` holds (everywhere when `None`) and,
    with ``filterFinite``, where they are finite once cast to float.  The
    order statistics and clipping need ``flat`` to hold only usable entries
    (``good`` `None`, ``filterFinite`` false), as `gatherUsable` leaves them.
    """
    nGroups = offsets.size - 1
    wantErrors = bool(flags & Property.ERRORS)
    results: dict[Property, np.ndarray] = {}
    errors: dict[Property, np.ndarray] = {}

    # Mean and variance of all usable pixels (afw's getStandard): a first pass
    # for a rough mean, then sums around it for a stable variance.
    needVariance = bool(flags & (Property.STDEV | Property.VARIANCE | Property.MEANSQUARE)) or (
        wantErrors and bool(flags & (Property.MEAN | Property.MEDIAN))
    )
    needSums = needVariance or bool(flags & (Property.MEAN | Property.SUM))
    wantExtremes = bool(flags & (Property.MIN | Property.MAX))
    mean: np.ndarray | None = None
    variance: np.ndarray | None = None
    sumAll: np.ndarray | None = None
    low = high = None
    if needSums or wantExtremes or good is not None or filterFinite:
        npoint, roughSum, rough, sum1, sum2, low, high = usableMoments(
            flat, offsets, good, filterFinite, needVariance, wantExtremes
        )
        if needVariance:
            mean, variance = _meanAndVariance(npoint, sum1, sum2, rough)
            sumAll = sum1 + npoint * rough
        elif needSums:
            sumAll = roughSum
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = roughSum / npoint
    else:
        npoint = np.diff(offsets)

    median: np.ndarray | None = None
    iqr: np.ndarray | None = None
    if flags & _ORDER_FLAGS:
        # afw sorts a copy of the usable pixels; with isNanSafe=False afw's
        # result is undefined if NaNs are in it, and here they are left out.
        lowValues, highValues, orderable = selectRanks(flat, offsets, _QUARTILES)
        quartiles = [
            _percentile(lowValues[:, i], highValues[:, i], orderable, float(f))
            for i, f in enumerate(_QUARTILES)
        ]
        median = quartiles[1]
        iqr = quartiles[2] - quartiles[0]

    nClip = npoint
    meanClip: np.ndarray | None = None
    varClip: np.ndarray | None = None
    if flags & _CLIP_FLAGS:
        assert median is not None and iqr is not None
        numSigma = sctrl.getNumSigmaClip()
        iqrWidth = numSigma * IQ_TO_STDEV * iqr
        meanClip = np.full(nGroups, np.nan)
        varClip = np.full(nGroups, np.nan)
        for iteration in range(sctrl.getNumIter()):
            if iteration == 0:
                center, width = median, iqrWidth
            else:
                center = meanClip
                with np.errstate(invalid="ignore"):
                    sigma = np.sqrt(np.where(varClip < 0, 0.0, varClip))
                width = np.where(npoint > 1, numSigma * sigma, iqrWidth)
            # Each pass clips all usable pixels.  NaN pixels, centres and
            # widths pass nothing, so groups with a NaN centre or width come out NaN.
            nClip, sum1, sum2 = clipSums(flat, offsets, center, width)
            meanClip, varClip = _meanAndVariance(nClip, sum1, sum2, center)

    def store(prop: Property, value: np.ndarray, error: np.ndarray | float) -> None:
        if flags & prop:
            results[prop] = np.asarray(value, dtype=np.float64)
            errorArray = np.broadcast_to(np.asarray(error, dtype=np.float64), (nGroups,))
            errors[prop] = errorArray.copy() if wantErrors else np.full(nGroups, np.nan)

    n = npoint.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        store(Property.NPOINT, n, 0.0)
        store(Property.NMASKED, total - npoint, 0.0)
        store(Property.NCLIPPED, npoint - nClip, 0.0)
        if sumAll is not None:
            store(Property.SUM, sumAll, 0.0)
        if mean is not None:
            store(Property.MEAN, mean, np.sqrt(variance / n) if variance is not None else np.nan)
        if variance is not None:
            varianceVariance = 2 * (n - 1) * variance * variance / (n * n)
            stdev = np.sqrt(variance)
            store(Property.VARIANCE, variance, np.sqrt(varianceVariance))
            store(Property.STDEV, stdev, 0.5 * np.sqrt(varianceVariance) / stdev)
            assert mean is not None
            meanSquare = (n - 1) / n * variance + mean**2
            store(Property.MEANSQUARE, meanSquare, np.sqrt(2 * (meanSquare / n) ** 2))
        if median is not None and iqr is not None:
            medianError = np.sqrt(0.5 * math.pi * variance / n) if variance is not None else np.nan
            store(Property.MEDIAN, median, medianError)
            store(Property.IQRANGE, iqr, np.nan)  # afw does not estimate it
        if meanClip is not None and varClip is not None:
            nc = nClip.astype(np.float64)
            clipVarianceVariance = 2 * (nc - 1) * varClip * varClip / (nc * nc)
            stdevClip = np.sqrt(varClip)
            store(Property.MEANCLIP, meanClip, np.sqrt(varClip / nc))
            # afw's getResult leaves the VARIANCECLIP error at NaN.
            store(Property.VARIANCECLIP, varClip, np.nan)
            store(Property.STDEVCLIP, stdevClip, 0.5 * np.sqrt(clipVarianceVariance) / stdevClip)
    if low is not None and high is not None:
        # No usable pixel gives NaN, as in afw.
        empty = npoint == 0
        store(Property.MIN, np.where(empty, np.nan, low), 0.0)
        store(Property.MAX, np.where(empty, np.nan, high), 0.0)
    return GroupStatistics(flags=flags, values=results, errors=errors, orMask=orMask)


class Statistics:
    """The result of `makeStatistics` (``lsst.afw.math.Statistics``).

    Parameters
    ----------
    groupStatistics : `GroupStatistics`
        Single-group results.
    """

    def __init__(self, groupStatistics: GroupStatistics) -> None:
        self._stats = groupStatistics

    def getResult(self, prop: int = Property.NOTHING) -> tuple[float, float]:
        """``(value, error)`` of ``prop``; the error is NaN unless ``ERRORS`` was asked for.

        Raises
        ------
        InvalidParameterError
            Raised if ``prop`` was not computed, or if it is ``NOTHING`` and
            more than one property was computed.
        """
        return float(self._stats.getValue(prop)[0]), float(self._stats.getError(prop)[0])

    def getValue(self, prop: int = Property.NOTHING) -> float:
        return self.getResult(prop)[0]

    def getError(self, prop: int = Property.NOTHING) -> float:
        return self.getResult(prop)[1]

    def getOrMask(self) -> int:
        """The OR of the mask bits of all pixels used (0 without a mask)."""
        orMask = self._stats.orMask
        return 0 if orMask is None else int(orMask[0])

    def __repr__(self) -> str:
        shown = {p.name: float(v[0]) for p, v in self._stats.values.items()}
        return f"Statistics({shown})"


def _maskStatistics(mask: np.ndarray, flags: Property) -> Statistics:
    """Statistics of a mask, as afw's ``Statistics<Mask>``: ``NPOINT`` and ``SUM`` (the OR) only.

    afw refuses every other bit, ``ERRORS`` included, so the errors are always NaN.
    """
    if flags & ~(Property.NPOINT | Property.SUM):
        raise InvalidParameterError(
            f"makeStatistics(Mask): afw's Statistics<Mask> supports only NPOINT and SUM, got {flags!r}"
        )
    result = GroupStatistics(flags=flags)
    error = np.full(1, np.nan)
    if flags & Property.NPOINT:
        result.values[Property.NPOINT] = np.array([float(mask.size)])
        result.errors[Property.NPOINT] = error.copy()
    if flags & Property.SUM:
        result.values[Property.SUM] = np.array([float(np.bitwise_or.reduce(mask, axis=None))])
        result.errors[Property.SUM] = error.copy()
    return Statistics(result)


def _describe(obj: Any) -> str:
    if isinstance(obj, ImageBase | MaskedImageF):
        return f"{type(obj).__name__} {obj.getBBox()}"
    return f"array of shape {np.shape(obj)}"


def makeStatistics(*args: Any, **kwargs: Any) -> Statistics:
    """Compute statistics of an image's pixels, as ``lsst.afw.math.makeStatistics``.

    The overloads are afw's, positional or by afw's keyword names:
    ``makeStatistics(img, flags, sctrl=StatisticsControl())``,
    ``makeStatistics(mimg, flags, sctrl=...)``,
    ``makeStatistics(img, msk, flags, sctrl=...)``,
    ``makeStatistics(msk, flags, sctrl=...)`` and
    ``makeStatistics(v, flags, sctrl=...)`` for a sequence of floats.

    Parameters
    ----------
    img, mimg, msk, v : `ImageF`, `ImageD`, `MaskedImageF`, `Mask`, `numpy.ndarray` or sequence
        The pixels.  A `MaskedImageF` contributes its mask (through
        ``sctrl.getAndMask()``); its variance is not used, as in afw with
        the default control.  A `Mask` supports only ``NPOINT`` and ``SUM``
        (the OR of all pixels).  Arrays and sequences must hold floats.
    flags : `int`
        The `Property` bits.
    sctrl : `StatisticsControl`, optional
        Clipping parameters, ``andMask`` and NaN handling.

    Returns
    -------
    statistics : `Statistics`
        Query with ``getValue``, ``getError``, ``getResult``, ``getOrMask``.

    Raises
    ------
    TypeError
        Raised for unsupported inputs or pixel types.
    InvalidParameterError
        Raised for empty images, mismatched mask sizes or bad flags.
    NotImplementedError
        Raised for the weighted overloads (``makeStatistics(mimg, weights,
        flags)``, ``makeStatistics(v, vweights, flags)``), weighted or
        input-variance controls, and integer pixel types.
    """
    image, mask, flagBits, sctrl = _parseMakeStatisticsArgs(args, kwargs)
    checked = _checkFlags(flagBits, "makeStatistics")
    sctrl = StatisticsControl() if sctrl is None else sctrl
    if not isinstance(sctrl, StatisticsControl):
        raise TypeError(f"makeStatistics: sctrl must be a StatisticsControl, got {type(sctrl).__name__}")

    if isinstance(image, Mask):
        if mask is not None:
            raise TypeError("makeStatistics(Mask, ...) does not take a second mask")
        if image.array.size == 0:
            raise InvalidParameterError(f"makeStatistics: {_describe(image)} contains no pixels")
        return _maskStatistics(image.array, checked)
    if isinstance(image, MaskedImageF):
        if mask is not None:
            raise TypeError("makeStatistics(MaskedImageF, ...) takes its mask from the masked image")
        values, mask = image.image.array, image.mask.array
    elif isinstance(image, ImageBase):
        values = image.array
    elif isinstance(image, np.ndarray):
        values = image
    elif isinstance(image, list | tuple):
        values = _sequenceValues(image)
    else:
        raise TypeError(f"makeStatistics: cannot compute statistics of a {type(image).__name__}")
    if values.dtype not in (np.float32, np.float64):
        if np.issubdtype(values.dtype, np.integer):
            notImplemented(f"statistics of integer ({values.dtype}) pixels", "lsst.afw.math.makeStatistics")
        raise TypeError(
            f"makeStatistics: {_describe(image)} has {values.dtype} pixels; "
            "only float32 and float64 are supported"
        )
    if values.size == 0:
        raise InvalidParameterError(f"makeStatistics: {_describe(image)} contains no pixels")
    if mask is not None:
        if mask.shape != values.shape:
            raise InvalidParameterError(
                f"makeStatistics: image and mask sizes don't match: {values.shape} vs {mask.shape}"
            )
        if not np.issubdtype(mask.dtype, np.integer):
            raise TypeError(f"makeStatistics: the mask must hold integer bits, got {mask.dtype}")
        mask = mask.reshape(1, -1)

    row = values.reshape(1, -1)  # copies only a non-contiguous sub-image view
    andMask = sctrl.getAndMask()
    good = (mask & andMask) == 0 if mask is not None and andMask != 0 else None
    return Statistics(computeGroupStatistics(row, good, checked, sctrl, mask=mask))


# afw's keyword names for the pixels, by overload.
_PIXEL_KEYWORDS = ("img", "mimg", "msk", "v")
_WEIGHT_KEYWORDS = ("weights", "vweights")


def _parseMakeStatisticsArgs(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, np.ndarray | None, Any, StatisticsControl | None]:
    """Sort ``makeStatistics`` arguments into (pixels, mask, flags, sctrl), as afw's overloads do."""
    unknown = set(kwargs) - {*_PIXEL_KEYWORDS, *_WEIGHT_KEYWORDS, "flags", "sctrl"}
    if unknown:
        raise TypeError(f"makeStatistics: unexpected keyword arguments {sorted(unknown)}")
    if any(name in kwargs for name in _WEIGHT_KEYWORDS):
        notImplemented("weighted statistics (makeStatistics with weights)", "lsst.afw.math.makeStatistics")
    positional = list(args)
    pixelKeys = [name for name in _PIXEL_KEYWORDS if name in kwargs]
    if len(pixelKeys) > 1 and not (set(pixelKeys) == {"img", "msk"}):
        raise TypeError(f"makeStatistics: the pixels were given twice ({pixelKeys})")
    if "img" in kwargs and "msk" in kwargs:
        positional = [kwargs.pop("img"), kwargs.pop("msk"), *positional]
    elif pixelKeys:
        positional = [kwargs.pop(pixelKeys[0]), *positional]
    if not positional:
        raise TypeError("makeStatistics: no pixels given")
    image, rest = positional[0], positional[1:]

    mask: np.ndarray | None = None
    if rest and isinstance(rest[0], Mask | np.ndarray):
        mask = rest[0].array if isinstance(rest[0], Mask) else rest[0]
        rest = rest[1:]
    elif rest and isinstance(rest[0], ImageBase | list | tuple):
        # afw's (mimg, weights, flags) and (v, vweights, flags) overloads.
        notImplemented("weighted statistics (makeStatistics with weights)", "lsst.afw.math.makeStatistics")
    if "flags" in kwargs:
        rest = [kwargs.pop("flags"), *rest]
    if "sctrl" in kwargs:
        if len(rest) > 1:
            raise TypeError("makeStatistics: the StatisticsControl was given twice")
        rest = [*rest, kwargs.pop("sctrl")]
    if not rest:
        raise TypeError("makeStatistics: the flags are missing")
    if len(rest) > 2:
        raise TypeError(f"makeStatistics: too many arguments ({len(args)} positional)")
    flags = rest[0]
    if isinstance(flags, StatisticsControl):
        raise TypeError("makeStatistics: the flags are missing (a StatisticsControl came first)")
    sctrl = rest[1] if len(rest) == 2 else None
    return image, mask, flags, sctrl


def _sequenceValues(values: list[Any] | tuple[Any, ...]) -> np.ndarray:
    """Afw's ``std::vector`` overloads: a sequence of floats as a float64 array."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise TypeError(f"makeStatistics: a sequence of pixel values must be flat, got shape {array.shape}")
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"makeStatistics: a sequence of pixel values must hold numbers, got {array.dtype}")
    return array if np.issubdtype(array.dtype, np.integer) else array.astype(np.float64)
