"""The compiled selection, gathering and moment kernels of the statistics against numpy.

Expectations are numpy formulations kept here: ``np.sort`` of the non-NaN
values and the interpolation at ``f * (n - 1)`` (and ``np.percentile``) for
the selection; boolean indexing for the gathers; two float64 passes for the
moments; the padded ``(nBoxes, nPix)`` rows that the callers used to build,
reduced by `computeGroupStatistics`, for `computeBoxStatistics`.
"""

from __future__ import annotations

import numpy as np
import pytest

from lsst.sky.correction.afwlite import math as afwMath
from lsst.sky.correction.afwlite.math._kernels_statistics import (
    gatherBoxes,
    gatherUsable,
    selectRanks,
    usableMoments,
)
from lsst.sky.correction.sky_correction import _nanPercentiles

FRACTIONS = np.array([0.25, 0.5, 0.75])


def sorted_ranks(values: np.ndarray, offsets: np.ndarray, fractions: np.ndarray) -> tuple[np.ndarray, ...]:
    """Values of ranks floor(f * (n - 1)) and the next, from a full sort of each group."""
    nGroups = offsets.size - 1
    low = np.full((nGroups, fractions.size), np.nan)
    high = np.full((nGroups, fractions.size), np.nan)
    counts = np.zeros(nGroups, dtype=np.int64)
    for group in range(nGroups):
        part = values[offsets[group] : offsets[group + 1]]
        ordered = np.sort(part[~np.isnan(part)]).astype(np.float64)
        counts[group] = ordered.size
        if ordered.size:
            lower = np.floor(fractions * (ordered.size - 1)).astype(int)
            low[group] = ordered[lower]
            high[group] = ordered[np.minimum(lower + 1, ordered.size - 1)]
    return low, high, counts


def awkward_values(rng: np.random.Generator, size: int, dtype: type) -> np.ndarray:
    """Noise with ties, signed zeros, infinities, NaN and a bright tail."""
    values = rng.normal(1000.0, 30.0, size)
    values[rng.random(size) < 0.05] += 5000.0
    values[::7] = np.round(values[::7])  # ties
    values[::29] = -values[::29]
    values[::31] = 0.0
    values[::37] = -0.0
    values[::41] = np.nan
    values[5::43] = np.inf
    values[6::47] = -np.inf
    return values.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "sizes",
    [
        [0, 1, 2, 3, 5, 17, 1000],  # empty, single-value and tiny groups
        [70_000, 3, 65_536, 65_535],  # the wide-digit path and its edge
        [600_000, 300_000],  # the 20-bit and 18-bit first digits
        [200, 200, 200],
    ],
)
def test_select_ranks_equal_sorted_values(dtype: type, sizes: list[int]) -> None:
    rng = np.random.default_rng(sum(sizes))
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    values = awkward_values(rng, int(offsets[-1]), dtype)
    if sizes[1] == 1:
        values[offsets[1]] = np.nan  # a group holding only NaN
    fractions = np.array([0.0, 0.1, 0.25, 0.5, 0.75, 1.0])
    low, high, counts = selectRanks(values, offsets, fractions)
    expectedLow, expectedHigh, expectedCounts = sorted_ranks(values, offsets, fractions)
    np.testing.assert_array_equal(counts, expectedCounts)
    np.testing.assert_array_equal(low, expectedLow)
    np.testing.assert_array_equal(high, expectedHigh)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spread", [0.2, 1e6])
def test_select_ranks_of_bunched_values(dtype: type, spread: float) -> None:
    # Values bunched in a few first-digit bins take the branchless second
    # pass; with infinities among the wanted ranks (the extreme quartiles
    # of half-infinite data) the NaN-safe pass is kept.
    rng = np.random.default_rng(21)
    values = rng.normal(1000.0, spread, 700_000).astype(dtype)
    values[::3] = np.inf if spread > 1 else values[::3]
    values[1::5] = np.nan
    offsets = np.array([0, values.size])
    low, high, counts = selectRanks(values, offsets, FRACTIONS)
    expectedLow, expectedHigh, expectedCounts = sorted_ranks(values, offsets, FRACTIONS)
    np.testing.assert_array_equal(counts, expectedCounts)
    np.testing.assert_array_equal(low, expectedLow)
    np.testing.assert_array_equal(high, expectedHigh)


def test_select_ranks_all_equal_and_all_nan() -> None:
    values = np.array([3.5] * 10 + [np.nan] * 4, dtype=np.float32)
    low, high, counts = selectRanks(values, np.array([0, 10, 14]), FRACTIONS)
    assert counts.tolist() == [10, 0]
    assert (low[0] == 3.5).all() and (high[0] == 3.5).all()
    assert np.isnan(low[1]).all() and np.isnan(high[1]).all()


def test_select_ranks_refuses_other_types() -> None:
    with pytest.raises(TypeError, match="float32 or float64"):
        selectRanks(np.arange(4), np.array([0, 4]), FRACTIONS)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_quartiles_equal_numpy_percentile(dtype: type) -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(0.0, 1.0, (5, 4001)).astype(dtype)
    values[:, ::3] = np.round(values[:, ::3] * 4) / 4
    stats = afwMath.computeGroupStatistics(values, None, afwMath.MEDIAN | afwMath.IQRANGE)
    q25, q50, q75 = np.percentile(values.astype(np.float64), [25, 50, 75], axis=1)
    np.testing.assert_allclose(stats.getValue(afwMath.MEDIAN), q50, rtol=1e-15, atol=0)
    np.testing.assert_allclose(stats.getValue(afwMath.IQRANGE), q75 - q25, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (1, 30_001)])
def test_nan_percentiles_equal_numpy(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(shape[1])
    values = rng.normal(-20.0, 4.0, shape).astype(np.float32)
    values.flat[::5] = np.nan
    values.flat[0] = 1.5  # at least one finite value
    percents = (50, 75, 25, 0, 100, 33.3)
    expected = np.nanpercentile(values.astype(np.float64), percents)
    np.testing.assert_allclose(_nanPercentiles(values, percents), expected, rtol=1e-12, atol=1e-12)
    assert all(np.isnan(_nanPercentiles(np.full((2, 2), np.nan, np.float32), (25, 50))))


def test_gather_usable_keeps_order_and_ors_the_mask() -> None:
    rng = np.random.default_rng(8)
    values = awkward_values(rng, 4 * 50, np.float32).reshape(4, 50)
    good = rng.random(values.shape) > 0.3
    good[2] = False  # an all-masked group
    mask = rng.integers(-(2**31), 2**31, values.shape, dtype=np.int64).astype(np.int32)
    offsets = np.arange(5) * 50
    for filterFinite in (True, False):
        usable = good & np.isfinite(values) if filterFinite else good
        buffer, newOffsets, orMask = gatherUsable(
            values.reshape(-1), offsets, good.reshape(-1), filterFinite, mask.reshape(-1)
        )
        np.testing.assert_array_equal(buffer, values[usable])
        np.testing.assert_array_equal(np.diff(newOffsets), usable.sum(axis=1))
        expectedOr = np.bitwise_or.reduce(np.where(usable, mask, 0), axis=1)
        np.testing.assert_array_equal(orMask.astype(np.int32), expectedOr)
    buffer, newOffsets, orMask = gatherUsable(values.reshape(-1), offsets, None, False)
    np.testing.assert_array_equal(buffer, values.reshape(-1))
    assert (orMask == 0).all()


def test_float64_beyond_float_range_counts_as_infinite() -> None:
    values = np.array([1.0, 3.5e38, -3.5e38, 2.0, 3.4e38])
    buffer, offsets, _ = gatherUsable(values, np.array([0, 5]), None, True)
    assert buffer.tolist() == [1.0, 2.0, 3.4e38] and offsets.tolist() == [0, 3]


def test_gather_boxes_reads_each_box_row_by_row() -> None:
    rng = np.random.default_rng(4)
    image = awkward_values(rng, 30 * 40, np.float32).reshape(30, 40)
    bits = rng.integers(0, 8, image.shape, dtype=np.int32)
    x0 = np.array([0, 5, 39, 10, 0])
    y0 = np.array([0, 3, 29, 10, 0])
    widths = np.array([40, 7, 1, 0, 12])  # whole image, inner, corner pixel, empty, overlapping
    heights = np.array([30, 9, 1, 5, 12])
    buffer, offsets = gatherBoxes(image, bits, 2, True, x0, y0, widths, heights)
    for box in range(x0.size):
        rows = slice(y0[box], y0[box] + heights[box])
        cols = slice(x0[box], x0[box] + widths[box])
        pixels, boxBits = image[rows, cols], bits[rows, cols]
        expected = pixels[((boxBits & 2) == 0) & np.isfinite(pixels)]
        np.testing.assert_array_equal(buffer[offsets[box] : offsets[box + 1]], expected)
    boolBad = (bits & 4) != 0
    buffer, offsets = gatherBoxes(image, boolBad, 1, False, x0[:1], y0[:1], widths[:1], heights[:1])
    np.testing.assert_array_equal(buffer, image[~boolBad])
    buffer, offsets = gatherBoxes(image, None, 0, False, x0[:1], y0[:1], widths[:1], heights[:1])
    np.testing.assert_array_equal(buffer, image.reshape(-1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_usable_moments_equal_two_numpy_passes(dtype: type) -> None:
    rng = np.random.default_rng(6)
    values = awkward_values(rng, 6 * 300, dtype).reshape(6, 300)
    good = rng.random(values.shape) > 0.25
    good[1] = False  # empty group
    good[2] = False
    good[2, 7] = True  # one usable pixel
    usable = good & np.isfinite(values)
    count, total, rough, sum1, sum2, low, high = usableMoments(
        values.reshape(-1), np.arange(7) * 300, good.reshape(-1), True, True, True
    )
    np.testing.assert_array_equal(count, usable.sum(axis=1))
    for group in range(6):
        data = values[group][usable[group]].astype(np.float64)
        center = data.sum() / data.size if data.size else 0.0
        assert total[group] == pytest.approx(data.sum(), rel=1e-13)
        assert rough[group] == pytest.approx(center, rel=1e-13)
        assert sum1[group] == pytest.approx((data - center).sum(), rel=1e-9, abs=1e-6)
        assert sum2[group] == pytest.approx(((data - center) ** 2).sum(), rel=1e-12)
        assert low[group] == (data.min() if data.size else np.inf)
        assert high[group] == (data.max() if data.size else -np.inf)


def padded_rows(
    image: np.ndarray,
    bad: np.ndarray,
    x0: np.ndarray,
    y0: np.ndarray,
    widths: np.ndarray,
    heights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The boxes copied into padded rows with a good mask (what the callers built before)."""
    nPix = int((widths * heights).max())
    values = np.zeros((x0.size, nPix), dtype=image.dtype)
    good = np.zeros((x0.size, nPix), dtype=bool)
    for box in range(x0.size):
        rows = slice(y0[box], y0[box] + heights[box])
        cols = slice(x0[box], x0[box] + widths[box])
        size = int(widths[box] * heights[box])
        values[box, :size] = image[rows, cols].reshape(-1)
        good[box, :size] = ~bad[rows, cols].reshape(-1)
    return values, good


@pytest.mark.parametrize("nanSafe", [True, False])
def test_box_statistics_equal_group_statistics_of_padded_rows(nanSafe: bool) -> None:
    rng = np.random.default_rng(12)
    image = rng.normal(500.0, 20.0, (64, 80)).astype(np.float32)
    image[rng.random(image.shape) < 0.03] += 3000.0
    image[::9, ::11] = np.nan if nanSafe else image[::9, ::11]
    bad = rng.random(image.shape) < 0.1
    bad[40:, :20] = True  # a fully masked box
    x0 = np.array([0, 20, 60, 0, 79, 5])
    y0 = np.array([0, 0, 44, 44, 63, 5])
    widths = np.array([20, 40, 20, 20, 1, 30])  # unequal, single-pixel and overlapping boxes
    heights = np.array([32, 32, 20, 20, 1, 30])
    flags = (
        afwMath.MEANCLIP
        | afwMath.STDEVCLIP
        | afwMath.VARIANCECLIP
        | afwMath.MEDIAN
        | afwMath.IQRANGE
        | afwMath.MEAN
        | afwMath.STDEV
        | afwMath.MIN
        | afwMath.MAX
        | afwMath.NPOINT
        | afwMath.NCLIPPED
        | afwMath.NMASKED
        | afwMath.SUM
        | afwMath.ERRORS
    )
    sctrl = afwMath.StatisticsControl(2.5, 4, isNanSafe=nanSafe)
    boxes = afwMath.computeBoxStatistics(image, bad, 1, x0, y0, widths, heights, flags, sctrl)
    values, good = padded_rows(image, bad, x0, y0, widths, heights)
    rows = afwMath.computeGroupStatistics(values, good, flags, sctrl, nPixels=widths * heights)
    assert np.isnan(boxes.getValue(afwMath.MEANCLIP)[3])
    for prop in rows.values:
        np.testing.assert_allclose(boxes.getValue(prop), rows.getValue(prop), rtol=1e-12, equal_nan=True)
        np.testing.assert_allclose(boxes.getError(prop), rows.getError(prop), rtol=1e-12, equal_nan=True)


def test_box_statistics_bad_input() -> None:
    image = np.zeros((4, 5), np.float32)
    one = np.array([0])
    with pytest.raises(afwMath.InvalidParameterError, match="inside"):
        afwMath.computeBoxStatistics(image, None, 0, one, one, np.array([6]), np.array([1]), afwMath.MEAN)
    with pytest.raises(afwMath.InvalidParameterError, match="2-d"):
        afwMath.computeBoxStatistics(image[0], None, 0, one, one, one, one, afwMath.MEAN)
    with pytest.raises(TypeError, match="float32 or float64"):
        afwMath.computeBoxStatistics(image.astype(int), None, 0, one, one, one, one, afwMath.MEAN)
    with pytest.raises(afwMath.InvalidParameterError, match="maskBits has shape"):
        afwMath.computeBoxStatistics(image, np.zeros((5, 4), bool), 1, one, one, one, one, afwMath.MEAN)
    with pytest.raises(afwMath.InvalidParameterError, match="differ in length"):
        afwMath.computeBoxStatistics(image, None, 0, np.array([0, 1]), one, one, one, afwMath.MEAN)
