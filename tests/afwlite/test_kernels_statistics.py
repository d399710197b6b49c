"""The compiled clip pass of the statistics against a direct numpy formulation of afw's test.

Expectation: for every usable entry, ``delta = double(value) - center``;
entries with ``|delta| <= halfWidth`` are counted and summed (afw's
``processPixels``).  The kernel sums in pixel order into four interleaved
partial sums, so the sums agree with numpy's to rounding and the counts exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from lsst.sky.correction.afwlite import math as afwMath
from lsst.sky.correction.afwlite.math._kernels_statistics import clipSums


def direct_clip_sums(
    values: np.ndarray, usable: np.ndarray, center: np.ndarray, halfWidth: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    delta = values.astype(np.float64) - center[:, np.newaxis]
    with np.errstate(invalid="ignore"):
        keep = usable & (np.abs(delta) <= halfWidth[:, np.newaxis])
    delta = np.where(keep, delta, 0.0)
    return keep.sum(axis=1), delta.sum(axis=1), (delta * delta).sum(axis=1)


def usable_buffer(values: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The usable entries of each row, in order, held flat with row offsets."""
    offsets = np.concatenate([[0], np.cumsum(usable.sum(axis=1))])
    return values[usable], offsets


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_sums_match_direct_test(dtype: type) -> None:
    rng = np.random.default_rng(11)
    nGroups, nPix = 9, 500
    values = rng.normal(100.0, 10.0, (nGroups, nPix)).astype(dtype)
    values[:, :5] = 1e6  # outliers
    usable = rng.random((nGroups, nPix)) > 0.2
    usable[3] = False  # an all-masked group
    usable[4] = False
    usable[4, 17] = True  # a single usable entry
    values[5, 7] = np.nan  # NaN never passes, even when left in the buffer
    center = np.full(nGroups, 100.0)
    halfWidth = np.full(nGroups, 25.0)
    center[6] = np.nan  # NaN centre keeps nothing
    halfWidth[7] = np.nan
    halfWidth[8] = 0.0
    center[8] = float(values[8, 50])  # zero width keeps the entries equal to the centre
    usable[8, 50] = True
    buffer, offsets = usable_buffer(values, usable)
    count, sum1, sum2 = clipSums(buffer, offsets, center, halfWidth)
    expectedCount, expected1, expected2 = direct_clip_sums(values, usable, center, halfWidth)
    np.testing.assert_array_equal(count, expectedCount)
    np.testing.assert_allclose(sum1, expected1, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(sum2, expected2, rtol=1e-12, atol=1e-9)
    assert count[3] == 0 and count[6] == 0 and count[7] == 0 and count[8] >= 1
    assert count[4] == 1


def test_bounds_are_inclusive_in_double() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    count, sum1, _ = clipSums(values, np.array([0, 5]), np.array([3.0]), np.array([1.0]))
    assert count[0] == 3 and sum1[0] == 0.0


def test_clip_sums_are_pixel_order_sums_in_four_lanes() -> None:
    # Entries i go to partial sum i % 4, the four added pairwise: with
    # values whose plain sum loses bits, the kernel reproduces exactly that order.
    values = np.array([1e16, 1.0, 1.0, 1.0, -1e16, 1.0, 1.0])
    count, sum1, _ = clipSums(values, np.array([0, 7]), np.array([0.0]), np.array([np.inf]))
    lanes = [values[lane::4].sum() for lane in range(4)]
    assert count[0] == 7
    assert sum1[0] == (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])


def test_meanclip_of_a_detector_sized_group_follows_afw_definition() -> None:
    """MEANCLIP / STDEVCLIP of one large group, recomputed with afw's algorithm step by step."""
    rng = np.random.default_rng(5)
    values = rng.normal(50.0, 3.0, 200_001).astype(np.float32)
    values[::97] += 400.0  # a tail to clip
    values[10] = np.nan
    good = np.ones(values.shape, dtype=bool)
    good[::13] = False
    stats = afwMath.computeGroupStatistics(
        values.reshape(1, -1), good.reshape(1, -1), afwMath.MEANCLIP | afwMath.STDEVCLIP
    )
    usable = good & np.isfinite(values)
    data = np.sort(values[usable].astype(np.float64))
    n = data.size

    def percentile(fraction: float) -> float:
        index = fraction * (n - 1)
        lower = int(np.floor(index))
        return float((lower + 1 - index) * data[lower] + (index - lower) * data[lower + 1])

    center = percentile(0.5)
    width = 3.0 * afwMath._statistics.IQ_TO_STDEV * (percentile(0.75) - percentile(0.25))
    for _ in range(3):
        kept = data[np.abs(data - center) <= width]
        mean = kept.mean()
        variance = kept.var(ddof=1)
        center, width = mean, 3.0 * np.sqrt(variance)
    np.testing.assert_allclose(stats.getValue(afwMath.MEANCLIP)[0], mean, rtol=1e-12)
    np.testing.assert_allclose(stats.getValue(afwMath.STDEVCLIP)[0], np.sqrt(variance), rtol=1e-9)
