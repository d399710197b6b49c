"""Pixel statistics with afw's semantics (``lsst.afw.math.makeStatistics``).

The work is done by `computeGroupStatistics`, which evaluates afw's algorithm
for many groups of pixels at once: the groups are the rows of an
``(nGroups, nPix)`` array, and a boolean array of the same shape says which
entries take part (padding entries are simply not good).  `makeStatistics`
runs it on one group (a whole image); the background code runs it on all the
cells of an image in one call.

Every reduction is vectorised over whole arrays.  Sums are accumulated in
float64, as afw's double accumulators do, but on blocks of at most
``_CHUNK_ELEMENTS`` pixels at a time, so a 16-megapixel float32 detector is
never copied to float64 as a whole.
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
    "computeGroupStatistics",
    "makeStatistics",
    "stringToStatisticsProperty",
]

import enum
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._unsupported import notImplemented
from ..image import ImageBase, Mask, MaskedImageF
from ._errors import InvalidParameterError
from ._kernels_statistics import clippedRunSums


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

# Pixels per block in the float64 reductions: 2 MiB of float64, which stays
# in cache and bounds the temporaries whatever the image size.
_CHUNK_ELEMENTS = 1 << 18

# A double that rounds to +-inf when cast to float: |v| >= FLT_MAX + half an ulp.
_FLOAT32_OVERFLOW = 2.0**128 - 2.0**103

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


def _blocks(nGroups: int, nPix: int) -> Iterator[tuple[slice, slice]]:
    """Tile an ``(nGroups, nPix)`` array with blocks of at most ``_CHUNK_ELEMENTS``."""
    rowStep = max(1, _CHUNK_ELEMENTS // max(nPix, 1))
    colStep = max(1, min(nPix, _CHUNK_ELEMENTS))
    for row in range(0, nGroups, rowStep):
        for col in range(0, nPix, colStep):
            yield slice(row, row + rowStep), slice(col, col + colStep)


def _shiftedSums(
    values: np.ndarray,
    include: np.ndarray | None,
    center: np.ndarray,
    halfWidth: np.ndarray | None = None,
    squares: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, sum and sum of squares of ``values - center`` per group, in float64.

    This is afw's ``processPixels``: entries are used where ``include``
    holds (everywhere when `None`) and, given ``halfWidth``, where
    ``|value - center| <= halfWidth`` in double (inclusive), a test that NaN
    values and NaN centres or widths never pass.
    """
    nGroups, nPix = values.shape
    count = np.zeros(nGroups, dtype=np.int64)
    sum1 = np.zeros(nGroups)
    sum2 = np.zeros(nGroups)
    for rows, cols in _blocks(nGroups, nPix):
        delta = values[rows, cols].astype(np.float64)
        delta -= center[rows, np.newaxis]
        if halfWidth is not None:
            keep = np.abs(delta) <= halfWidth[rows, np.newaxis]
            if include is not None:
                keep &= include[rows, cols]
        elif include is not None:
            keep = include[rows, cols]
        else:
            keep = np.ones(delta.shape, dtype=bool)
        # Zero the unused entries (a multiply would turn NaN * 0 into NaN).
        np.copyto(delta, 0.0, where=~keep)
        count[rows] += np.count_nonzero(keep, axis=1)
        sum1[rows] += delta.sum(axis=1)
        if squares:
            sum2[rows] += np.einsum("ij,ij->i", delta, delta)
    return count, sum1, sum2


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


def _percentile(ordered: np.ndarray, count: np.ndarray, fraction: float) -> np.ndarray:
    """Percentiles as afw's ``percentile`` computes them: linear interpolation at ``fraction * (n - 1)``.

    ``ordered`` holds each group's values sorted, padded with NaN after the
    first ``count`` entries.
    """
    nGroups, nPix = ordered.shape
    if nPix == 0:
        return np.full(nGroups, np.nan)
    index = fraction * (count - 1).astype(np.float64)
    lower = np.clip(np.floor(index).astype(np.int64), 0, nPix - 1)
    upper = np.minimum(lower + 1, nPix - 1)
    lowValue = np.take_along_axis(ordered, lower[:, np.newaxis], axis=1)[:, 0].astype(np.float64)
    highValue = np.take_along_axis(ordered, upper[:, np.newaxis], axis=1)[:, 0].astype(np.float64)
    with np.errstate(invalid="ignore"):
        result = ((lower + 1) - index) * lowValue + (index - lower) * highValue
    result = np.where(count == 1, ordered[:, 0].astype(np.float64), result)
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
    pixels.  All groups are sorted and clipped together.
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
    if good is None:
        good = np.ones(values.shape, dtype=bool)
    elif good.dtype != np.bool_:
        raise TypeError(f"computeGroupStatistics: good must be a bool array, got {good.dtype}")
    total = np.full(nGroups, nPix, dtype=np.int64) if nPixels is None else np.asarray(nPixels, np.int64)

    usable = good & _finiteAsFloat(values) if sctrl.getNanSafe() else good
    if (
        not sctrl.getNanSafe()
        and flags & (Property.MIN | Property.MAX)
        and not _finiteAsFloat(values[good]).all()
    ):
        # afw forces its finiteness test on for the MIN/MAX pass but not for the crude-mean
        # pass before it, so its answer depends on where the non-finite pixels fall.
        notImplemented(
            "MIN/MAX of non-finite pixels with isNanSafe=False (afw's answer depends on pixel order)",
            "lsst.afw.math.Statistics",
        )
    npoint = np.count_nonzero(usable, axis=1)
    wantErrors = bool(flags & Property.ERRORS)
    results: dict[Property, np.ndarray] = {}
    errors: dict[Property, np.ndarray] = {}

    # Mean and variance of all usable pixels (afw's getStandard): a first pass
    # for a rough mean, then sums around it for a stable variance.
    needVariance = bool(flags & (Property.STDEV | Property.VARIANCE | Property.MEANSQUARE)) or (
        wantErrors and bool(flags & (Property.MEAN | Property.MEDIAN))
    )
    mean: np.ndarray | None = None
    variance: np.ndarray | None = None
    sumAll: np.ndarray | None = None
    if needVariance or flags & (Property.MEAN | Property.SUM):
        _, roughSum, _ = _shiftedSums(values, usable, np.zeros(nGroups), squares=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            rough = np.where(npoint > 0, roughSum / npoint, 0.0)
        if needVariance:
            _, sum1, sum2 = _shiftedSums(values, usable, rough)
            mean, variance = _meanAndVariance(npoint, sum1, sum2, rough)
            sumAll = sum1 + npoint * rough
        else:
            sumAll = roughSum
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = roughSum / npoint

    median: np.ndarray | None = None
    iqr: np.ndarray | None = None
    ordered: np.ndarray | None = None
    count: np.ndarray | None = None
    if flags & _ORDER_FLAGS:
        # afw sorts a copy of the usable pixels; with isNanSafe=False afw's
        # result is undefined if NaNs are in it, and here they are left out.
        orderable = usable if sctrl.getNanSafe() else good & ~np.isnan(values)
        ordered = np.where(orderable, values, np.nan)
        ordered.sort(axis=1)
        count = np.count_nonzero(orderable, axis=1)
        median = _percentile(ordered, count, 0.5)
        iqr = _percentile(ordered, count, 0.75) - _percentile(ordered, count, 0.25)

    nClip = npoint
    meanClip: np.ndarray | None = None
    varClip: np.ndarray | None = None
    if flags & _CLIP_FLAGS:
        assert median is not None and iqr is not None and ordered is not None and count is not None
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
            # Each pass clips all usable pixels.  ``ordered`` holds exactly
            # those that can pass the clip test (NaN never does; it fills the
            # other entries), so it needs no separate mask.  NaN centres or
            # widths keep nothing, so those groups come out NaN.
            nClip, sum1, sum2 = clippedRunSums(ordered, count, center, width)
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
    if flags & (Property.MIN | Property.MAX):
        # No usable pixel gives NaN, as in afw.
        empty = npoint == 0
        if flags & Property.MIN:
            low = np.min(values, axis=1, where=usable, initial=np.inf).astype(np.float64)
            store(Property.MIN, np.where(empty, np.nan, low), 0.0)
        if flags & Property.MAX:
            high = np.max(values, axis=1, where=usable, initial=-np.inf).astype(np.float64)
            store(Property.MAX, np.where(empty, np.nan, high), 0.0)

    orMask = None
    if mask is not None:
        orMask = np.bitwise_or.reduce(np.where(usable, mask, 0), axis=1).astype(np.int32)
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
