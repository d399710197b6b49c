"""Tests of afwlite.math statistics against a naive transcription of afw's algorithm.

The reference below (`naive_statistics`) follows the documented algorithm
(lsst/afw src/math/Statistics.cc) pixel by pixel with Python floats, which are IEEE
doubles like afw's accumulators.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsst.sky.correction.afwlite import math as afwMath
from lsst.sky.correction.afwlite.geom import Box2I, Extent2I, Point2I
from lsst.sky.correction.afwlite.image import LOCAL, ImageD, ImageF, Mask, MaskedImageF

IQ_TO_STDEV = 0.741301109252802

ALL_VALUE_FLAGS = (
    afwMath.NPOINT
    | afwMath.MEAN
    | afwMath.STDEV
    | afwMath.VARIANCE
    | afwMath.MEDIAN
    | afwMath.IQRANGE
    | afwMath.MEANCLIP
    | afwMath.STDEVCLIP
    | afwMath.VARIANCECLIP
    | afwMath.MIN
    | afwMath.MAX
    | afwMath.SUM
    | afwMath.MEANSQUARE
    | afwMath.NCLIPPED
    | afwMath.NMASKED
)


# --------------------------------------------------------------------------
# Naive reference
# --------------------------------------------------------------------------
def _afw_percentile(ordered: list[float], fraction: float) -> float:
    n = len(ordered)
    if n == 0:
        return math.nan
    if n == 1:
        return ordered[0]
    position = fraction * (n - 1)
    below = int(position)
    above = below + 1
    return (above - position) * ordered[below] + (position - below) * ordered[above]


def _mean_var(sample: list[float]) -> tuple[float, float]:
    n = len(sample)
    if n == 0:
        return math.nan, math.nan
    mean = math.fsum(sample) / n
    if n == 1:
        return mean, math.nan
    return mean, math.fsum((v - mean) ** 2 for v in sample) / (n - 1)


def naive_statistics(
    pixels: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    numSigmaClip: float = 3.0,
    numIter: int = 3,
    andMask: int = 0,
    nanSafe: bool = True,
    survivorsOnly: bool = False,
) -> dict[str, float]:
    """Every statistic, one pixel at a time.

    ``survivorsOnly`` switches to a *wrong* clipping variant (each pass only
    re-clips the previous survivors) so that tests can show their data tell
    the two apart.
    """
    height, width = pixels.shape
    used: list[float] = []
    or_mask = 0
    for y in range(height):
        for x in range(width):
            value = float(pixels[y, x])
            bits = 0 if mask is None else int(mask[y, x])
            if bits & andMask:
                continue
            if nanSafe and not math.isfinite(np.float32(value)):
                continue
            used.append(value)
            or_mask |= bits
    n = len(used)
    mean, variance = _mean_var(used)
    if n and any(math.isnan(v) for v in used):
        mean = variance = math.nan
    ordered = sorted(v for v in used if not math.isnan(v))
    median = _afw_percentile(ordered, 0.5)
    iqr = _afw_percentile(ordered, 0.75) - _afw_percentile(ordered, 0.25)

    mean_clip = var_clip = math.nan
    kept: list[float] = list(used)
    for iteration in range(numIter):
        if iteration == 0:
            center = median
            half_width = numSigmaClip * IQ_TO_STDEV * iqr
        else:
            center = mean_clip
            if n > 1:
                half_width = (
                    numSigmaClip * math.sqrt(max(var_clip, 0.0)) if not math.isnan(var_clip) else math.nan
                )
            else:
                half_width = numSigmaClip * IQ_TO_STDEV * iqr
        if math.isnan(center) or math.isnan(half_width):
            kept, mean_clip, var_clip = [], math.nan, math.nan
            continue
        candidates = kept if survivorsOnly else used
        kept = [v for v in candidates if abs(v - center) <= half_width]
        mean_clip, var_clip = _mean_var(kept)

    finite_used = [v for v in used if not math.isnan(v)]
    return {
        "NPOINT": float(n),
        "NMASKED": float(height * width - n),
        "NCLIPPED": float(n - len(kept)),
        "MEAN": mean,
        "VARIANCE": variance,
        "STDEV": math.sqrt(variance) if not math.isnan(variance) else math.nan,
        "MEDIAN": median,
        "IQRANGE": iqr,
        "MEANCLIP": mean_clip,
        "VARIANCECLIP": var_clip,
        "STDEVCLIP": math.sqrt(var_clip) if not math.isnan(var_clip) else math.nan,
        "MIN": min(finite_used) if n else math.nan,
        "MAX": max(finite_used) if n else math.nan,
        "SUM": math.fsum(used),
        "MEANSQUARE": math.fsum(v * v for v in used) / n if n else math.nan,
        "ORMASK": float(or_mask),
        "MEAN_ERR": math.sqrt(variance / n) if n else math.nan,
        "MEDIAN_ERR": math.sqrt(math.pi / 2 * variance / n) if n else math.nan,
        "MEANCLIP_ERR": math.sqrt(var_clip / len(kept)) if kept else math.nan,
    }


EXACT = {"NPOINT", "NMASKED", "NCLIPPED", "MIN", "MAX", "ORMASK"}


def assert_matches_naive(stats: afwMath.Statistics, expected: dict[str, float], flags: int) -> None:
    for prop in afwMath.Property:
        if not prop.name or prop == afwMath.ERRORS or not (flags & prop) or prop == afwMath.ORMASK:
            continue
        got, want = stats.getValue(prop), expected[prop.name]
        if prop.name in EXACT:
            assert got == want or (math.isnan(got) and math.isnan(want)), (prop.name, got, want)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=prop.name)
    if flags & afwMath.ERRORS:
        for name in ("MEAN", "MEDIAN", "MEANCLIP"):
            if flags & afwMath.stringToStatisticsProperty(name):
                np.testing.assert_allclose(
                    stats.getError(afwMath.stringToStatisticsProperty(name)),
                    expected[f"{name}_ERR"],
                    rtol=1e-9,
                    err_msg=f"{name} error",
                )


def make_masked_image(rng: np.random.Generator, width: int = 31, height: int = 23) -> MaskedImageF:
    mi = MaskedImageF(width, height)
    pixels = rng.normal(50.0, 4.0, (height, width)).astype(np.float32)
    outliers = rng.random((height, width)) < 0.05
    pixels[outliers] += rng.choice([-1.0, 1.0], outliers.sum()) * rng.uniform(15, 300, outliers.sum())
    pixels[rng.random((height, width)) < 0.03] = np.nan
    mi.image.array[...] = pixels
    bits = rng.choice([0, 0, 0, 0, 1, 2, 4, 5], size=(height, width)).astype(np.int32)
    mi.mask.array[...] = bits
    mi.variance.array[...] = 16.0
    return mi


# --------------------------------------------------------------------------
# Flags, control and queries
# --------------------------------------------------------------------------
def test_property_values_and_names() -> None:
    expected = {
        "ERRORS": 0x1,
        "NPOINT": 0x2,
        "MEAN": 0x4,
        "STDEV": 0x8,
        "VARIANCE": 0x10,
        "MEDIAN": 0x20,
        "IQRANGE": 0x40,
        "MEANCLIP": 0x80,
        "STDEVCLIP": 0x100,
        "VARIANCECLIP": 0x200,
        "MIN": 0x400,
        "MAX": 0x800,
        "SUM": 0x1000,
        "MEANSQUARE": 0x2000,
        "ORMASK": 0x4000,
        "NCLIPPED": 0x8000,
        "NMASKED": 0x10000,
    }
    for name, value in expected.items():
        assert int(getattr(afwMath, name)) == value
        assert afwMath.stringToStatisticsProperty(name) == value
        assert getattr(afwMath, name) is afwMath.Property[name]
    assert afwMath.MEANCLIP | afwMath.ERRORS == 0x81
    with pytest.raises(ValueError, match="MEANCLIPPED"):
        afwMath.stringToStatisticsProperty("MEANCLIPPED")


def test_statistics_control_defaults_setters_and_validation() -> None:
    sctrl = afwMath.StatisticsControl()
    assert (sctrl.getNumSigmaClip(), sctrl.getNumIter(), sctrl.getAndMask(), sctrl.getNanSafe()) == (
        3.0,
        3,
        0,
        True,
    )
    assert sctrl.getNoGoodPixelsMask() == Mask.getPlaneBitMask("NO_DATA")
    sctrl.setNumSigmaClip(2.5)
    sctrl.setNumIter(5)
    sctrl.setAndMask(0x5)
    sctrl.setNanSafe(False)
    assert (sctrl.getNumSigmaClip(), sctrl.getNumIter(), sctrl.getAndMask(), sctrl.getNanSafe()) == (
        2.5,
        5,
        5,
        False,
    )
    sctrl.setAndMask(0xFFFFFFFF)  # all 32 bits: bit 31 wraps negative, as afw's int
    assert sctrl.getAndMask() == -1
    with pytest.raises(ValueError, match="numSigmaClip"):
        afwMath.StatisticsControl(numSigmaClip=0.0)
    with pytest.raises(ValueError, match="numSigmaClip"):
        sctrl.setNumSigmaClip(-1.0)
    with pytest.raises(ValueError, match="numIter"):
        afwMath.StatisticsControl(numIter=0)
    with pytest.raises(TypeError, match="numIter"):
        sctrl.setNumIter(2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="andMask"):
        sctrl.setAndMask(1 << 33)


def test_queries_and_their_errors() -> None:
    image = ImageF(np.arange(12, dtype=np.float32).reshape(3, 4))
    single = afwMath.makeStatistics(image, afwMath.MEAN)
    assert single.getValue() == 5.5
    assert math.isnan(single.getError())  # no ERRORS requested
    several = afwMath.makeStatistics(image, afwMath.MEAN | afwMath.NPOINT | afwMath.ERRORS)
    assert several.getResult(afwMath.NPOINT) == (12.0, 0.0)
    with pytest.raises(ValueError, match="explicit property"):
        several.getValue()
    with pytest.raises(ValueError, match="not computed"):
        several.getValue(afwMath.MEDIAN)
    with pytest.raises(afwMath.InvalidParameterError, match="one property at a time"):
        several.getValue(afwMath.MEAN | afwMath.NPOINT)
    masked = MaskedImageF(image, mask=Mask(np.array([[1, 0, 0, 0], [0, 2, 0, 0], [0, 0, 0, 8]], np.int32)))
    or_stats = afwMath.makeStatistics(masked, afwMath.ORMASK, afwMath.StatisticsControl(andMask=8))
    assert or_stats.getOrMask() == 3  # bit 8 only on an excluded pixel
    with pytest.raises(afwMath.InvalidParameterError, match="getOrMask"):
        or_stats.getValue()


def test_input_kinds_and_bad_input() -> None:
    rng = np.random.default_rng(5)
    pixels = rng.normal(0, 1, (9, 11)).astype(np.float32)
    bits = (rng.random((9, 11)) < 0.3).astype(np.int32) * 2
    sctrl = afwMath.StatisticsControl(andMask=2)
    expected = naive_statistics(pixels, bits, andMask=2)
    flags = afwMath.MEAN | afwMath.NPOINT | afwMath.MEANCLIP
    mi = MaskedImageF(ImageF(pixels.copy()), mask=Mask(bits.copy()))
    for stats in (
        afwMath.makeStatistics(mi, flags, sctrl),
        afwMath.makeStatistics(ImageF(pixels), Mask(bits), flags, sctrl),
        afwMath.makeStatistics(pixels, bits, flags, sctrl),
        afwMath.makeStatistics(ImageD(pixels.astype(np.float64)), Mask(bits), flags, sctrl=sctrl),
    ):
        assert_matches_naive(stats, expected, flags)
    # afw computes integer-image statistics (with a tie-aware median); afwlite refuses them.
    with pytest.raises(NotImplementedError, match="int64"):
        afwMath.makeStatistics(np.ones((3, 3), dtype=np.int64), afwMath.MEAN)
    with pytest.raises(ValueError, match="no pixels"):
        afwMath.makeStatistics(ImageF(0, 0), afwMath.MEAN)
    with pytest.raises(ValueError, match="sizes don't match"):
        afwMath.makeStatistics(ImageF(3, 4), Mask(4, 3), afwMath.MEAN)
    with pytest.raises(ValueError, match="unknown Property bits"):
        afwMath.makeStatistics(ImageF(3, 4), 0x100000)
    with pytest.raises(TypeError, match="cannot compute statistics"):
        afwMath.makeStatistics({1.0, 2.0}, afwMath.MEAN)  # type: ignore[arg-type]


def test_statistics_of_a_mask() -> None:
    mask = Mask(np.array([[0, 1], [4, 16]], dtype=np.int32))
    stats = afwMath.makeStatistics(mask, afwMath.NPOINT | afwMath.SUM)
    assert stats.getValue(afwMath.NPOINT) == 4
    assert stats.getValue(afwMath.SUM) == 21  # the OR of all pixels
    with pytest.raises(ValueError, match="only NPOINT and SUM"):
        afwMath.makeStatistics(mask, afwMath.MEAN)


def test_sub_image_view_is_used_in_place() -> None:
    rng = np.random.default_rng(8)
    parent = ImageF(rng.normal(10, 2, (40, 50)).astype(np.float32), xy0=Point2I(3, 4))
    sub = parent[Box2I(Point2I(5, 6), Extent2I(7, 13)), LOCAL]
    stats = afwMath.makeStatistics(sub, afwMath.MEANCLIP | afwMath.MEDIAN)
    expected = naive_statistics(parent.array[6:19, 5:12])
    assert_matches_naive(stats, expected, afwMath.MEANCLIP | afwMath.MEDIAN)


# --------------------------------------------------------------------------
# Agreement with the naive algorithm
# --------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("andMask", [0, 1, 5])
def test_random_images_match_naive(seed: int, andMask: int) -> None:
    mi = make_masked_image(np.random.default_rng(seed))
    sctrl = afwMath.StatisticsControl(andMask=andMask)
    flags = ALL_VALUE_FLAGS | afwMath.ERRORS
    stats = afwMath.makeStatistics(mi, flags, sctrl)
    expected = naive_statistics(mi.image.array, mi.mask.array, andMask=andMask)
    assert_matches_naive(stats, expected, flags)
    assert stats.getOrMask() == expected["ORMASK"]


@pytest.mark.parametrize("numSigmaClip", [1.0, 2.0, 3.0, 5.0])
@pytest.mark.parametrize("numIter", [1, 2, 3, 6])
def test_clipping_parameters_match_naive(numSigmaClip: float, numIter: int) -> None:
    mi = make_masked_image(np.random.default_rng(11))
    sctrl = afwMath.StatisticsControl(numSigmaClip=numSigmaClip, numIter=numIter, andMask=4)
    flags = afwMath.MEANCLIP | afwMath.STDEVCLIP | afwMath.VARIANCECLIP | afwMath.NCLIPPED | afwMath.ERRORS
    stats = afwMath.makeStatistics(mi, flags, sctrl)
    expected = naive_statistics(
        mi.image.array, mi.mask.array, numSigmaClip=numSigmaClip, numIter=numIter, andMask=4
    )
    assert_matches_naive(stats, expected, flags)


def test_every_pass_reclips_all_good_pixels() -> None:
    # Laplace noise: the sigma window of pass 2 is wider than the IQR window
    # of pass 1, so re-clipping *all* pixels brings some back.
    rng = np.random.default_rng(3)
    pixels = rng.laplace(0.0, 1.0, (30, 40)).astype(np.float32)
    results = []
    for numIter in (1, 2, 3):
        sctrl = afwMath.StatisticsControl(numIter=numIter)
        stats = afwMath.makeStatistics(pixels, afwMath.MEANCLIP | afwMath.NCLIPPED, sctrl)
        right = naive_statistics(pixels, numIter=numIter)
        wrong = naive_statistics(pixels, numIter=numIter, survivorsOnly=True)
        assert stats.getValue(afwMath.NCLIPPED) == right["NCLIPPED"]
        np.testing.assert_allclose(stats.getValue(afwMath.MEANCLIP), right["MEANCLIP"], rtol=1e-12)
        if numIter > 1:
            assert right["NCLIPPED"] < wrong["NCLIPPED"]
        results.append((stats.getValue(afwMath.NCLIPPED), stats.getValue(afwMath.MEANCLIP)))
    assert len(set(results)) == 3  # every pass changes the answer on these data


def test_outliers_removed_only_by_later_passes() -> None:
    # Uniform noise on [-1, 1]: IQR = 1, so pass 1 keeps |v| <= 2.22 while
    # sigma = 0.6 makes the later window |v - mean| <= 1.8.  Pixels at 2 are
    # kept by the first pass and removed by the second.
    rng = np.random.default_rng(21)
    core = rng.uniform(-1.0, 1.0, 3040)
    pixels = np.concatenate([core, np.full(20, 2.0)]).astype(np.float32).reshape(30, 102)
    counts = []
    for numIter in (1, 2, 3):
        sctrl = afwMath.StatisticsControl(numIter=numIter)
        stats = afwMath.makeStatistics(pixels, afwMath.MEANCLIP | afwMath.NCLIPPED, sctrl)
        expected = naive_statistics(pixels, numIter=numIter)
        assert stats.getValue(afwMath.NCLIPPED) == expected["NCLIPPED"]
        np.testing.assert_allclose(stats.getValue(afwMath.MEANCLIP), expected["MEANCLIP"], rtol=1e-12)
        counts.append(stats.getValue(afwMath.NCLIPPED))
    assert counts == [0, 20, 20]


def test_meanclip_recovers_the_mean_of_gaussian_noise_with_outliers() -> None:
    rng = np.random.default_rng(42)
    truth, sigma, size = 100.0, 5.0, 200
    pixels = rng.normal(truth, sigma, (size, size)).astype(np.float32)
    flat = pixels.reshape(-1)
    hot = rng.choice(flat.size, 60, replace=False)
    flat[hot] = 1e4
    stats = afwMath.makeStatistics(
        pixels, afwMath.MEANCLIP | afwMath.STDEVCLIP | afwMath.NCLIPPED | afwMath.MEAN | afwMath.ERRORS
    )
    n = size * size
    assert abs(stats.getValue(afwMath.MEAN) - truth) > 10  # the plain mean is ruined
    assert abs(stats.getValue(afwMath.MEANCLIP) - truth) < 4 * sigma / math.sqrt(n)
    assert stats.getValue(afwMath.NCLIPPED) >= 60
    # A 3-sigma clip of a Gaussian keeps 99.73 % and shrinks sigma by ~1.3 %.
    assert stats.getValue(afwMath.NCLIPPED) < 60 + 0.005 * n
    np.testing.assert_allclose(stats.getValue(afwMath.STDEVCLIP), 0.987 * sigma, rtol=0.02)
    np.testing.assert_allclose(stats.getError(afwMath.MEANCLIP), sigma / math.sqrt(n), rtol=0.03)


def test_clip_window_is_inclusive() -> None:
    # Integer data: median 0, IQR 2.  Pick numSigmaClip so that the first
    # window's half-width, numSigmaClip * IQ_TO_STDEV * IQR in double, is
    # exactly 5: a pixel at 5 is kept, one just above 5 is not.
    base = np.array([-1, -1, -1, 0, 0, 0, 1, 1, 1] * 3, dtype=np.float64)
    iqr = 2.0
    numSigma = 5.0 / (IQ_TO_STDEV * iqr)
    for _ in range(8):
        product = numSigma * IQ_TO_STDEV * iqr
        if product == 5.0:
            break
        numSigma = float(np.nextafter(numSigma, 0.0 if product > 5.0 else math.inf))
    assert numSigma * IQ_TO_STDEV * iqr == 5.0
    sctrl = afwMath.StatisticsControl(numSigmaClip=numSigma, numIter=1)
    on_edge = np.concatenate([base, [5.0, -100.0]]).astype(np.float32)[np.newaxis, :]
    stats = afwMath.makeStatistics(on_edge, afwMath.NCLIPPED | afwMath.IQRANGE | afwMath.MEDIAN, sctrl)
    assert (stats.getValue(afwMath.MEDIAN), stats.getValue(afwMath.IQRANGE)) == (0.0, iqr)
    assert stats.getValue(afwMath.NCLIPPED) == 1  # only -100 goes
    beyond = on_edge.copy()
    beyond[0, -2] = np.nextafter(np.float32(5.0), np.float32(6.0))
    stats = afwMath.makeStatistics(beyond, afwMath.NCLIPPED, sctrl)
    assert stats.getValue(afwMath.NCLIPPED) == 2


# --------------------------------------------------------------------------
# Edge cases
# --------------------------------------------------------------------------
def test_all_pixels_masked() -> None:
    mi = MaskedImageF(6, 5)
    mi.image.array[...] = 3.0
    mi.mask.array[...] = 2
    flags = ALL_VALUE_FLAGS | afwMath.ERRORS
    stats = afwMath.makeStatistics(mi, flags, afwMath.StatisticsControl(andMask=2))
    assert stats.getValue(afwMath.NPOINT) == 0
    assert stats.getValue(afwMath.NMASKED) == 30
    assert stats.getValue(afwMath.NCLIPPED) == 0
    assert stats.getValue(afwMath.SUM) == 0.0
    for prop in (
        afwMath.MEAN,
        afwMath.STDEV,
        afwMath.VARIANCE,
        afwMath.MEDIAN,
        afwMath.IQRANGE,
        afwMath.MEANCLIP,
        afwMath.STDEVCLIP,
        afwMath.VARIANCECLIP,
        afwMath.MIN,
        afwMath.MAX,
        afwMath.MEANSQUARE,
    ):
        assert math.isnan(stats.getValue(prop)), prop
    assert math.isnan(stats.getError(afwMath.MEANCLIP))
    assert stats.getOrMask() == 0


def test_one_pixel() -> None:
    mi = MaskedImageF(3, 2)
    mi.image.array[...] = [[7.5, 1.0, 2.0], [3.0, 4.0, 5.0]]
    mi.mask.array[...] = [[0, 8, 8], [8, 8, 8]]
    stats = afwMath.makeStatistics(mi, ALL_VALUE_FLAGS | afwMath.ERRORS, afwMath.StatisticsControl(andMask=8))
    assert stats.getValue(afwMath.NPOINT) == 1
    for prop in (afwMath.MEAN, afwMath.MEDIAN, afwMath.MEANCLIP, afwMath.MIN, afwMath.MAX, afwMath.SUM):
        assert stats.getValue(prop) == 7.5, prop
    assert stats.getValue(afwMath.IQRANGE) == 0.0
    assert stats.getValue(afwMath.NCLIPPED) == 0
    assert math.isnan(stats.getValue(afwMath.VARIANCE))
    assert math.isnan(stats.getValue(afwMath.VARIANCECLIP))
    assert math.isnan(stats.getError(afwMath.MEAN))


def test_pass_keeping_one_pixel_makes_the_next_pass_nan() -> None:
    pixels = np.array([[0.0, 1.0, 2.0]], dtype=np.float32)
    one = afwMath.makeStatistics(
        pixels, afwMath.MEANCLIP | afwMath.NCLIPPED, afwMath.StatisticsControl(numSigmaClip=0.1, numIter=1)
    )
    assert one.getValue(afwMath.MEANCLIP) == 1.0
    assert one.getValue(afwMath.NCLIPPED) == 2
    two = afwMath.makeStatistics(
        pixels, afwMath.MEANCLIP | afwMath.NCLIPPED, afwMath.StatisticsControl(numSigmaClip=0.1, numIter=2)
    )
    assert math.isnan(two.getValue(afwMath.MEANCLIP))
    assert two.getValue(afwMath.NCLIPPED) == 3


def test_constant_image_and_zero_iqr() -> None:
    constant = np.full((8, 9), 5.0, dtype=np.float32)
    stats = afwMath.makeStatistics(constant, afwMath.MEANCLIP | afwMath.STDEVCLIP | afwMath.NCLIPPED)
    assert stats.getValue(afwMath.MEANCLIP) == 5.0
    assert stats.getValue(afwMath.STDEVCLIP) == 0.0
    assert stats.getValue(afwMath.NCLIPPED) == 0
    # With more than three quarters of the pixels equal, IQR = 0 and every
    # pass keeps only the pixels exactly equal to the median.
    nearly = constant.copy()
    nearly[0, :5] = np.float32(5.0001)
    nearly[1, :3] = np.float32(4.9999)
    flags = afwMath.MEANCLIP | afwMath.NCLIPPED | afwMath.IQRANGE
    stats = afwMath.makeStatistics(nearly, flags)
    assert stats.getValue(afwMath.IQRANGE) == 0.0
    assert stats.getValue(afwMath.MEANCLIP) == 5.0
    assert stats.getValue(afwMath.NCLIPPED) == 8
    assert_matches_naive(stats, naive_statistics(nearly), flags)


def test_nan_safety() -> None:
    rng = np.random.default_rng(9)
    pixels = rng.normal(10, 1, (12, 15)).astype(np.float32)
    pixels[2, 3] = np.nan
    pixels[5, 7] = np.nan
    pixels[6, 1] = np.inf
    flags = afwMath.NPOINT | afwMath.MEAN | afwMath.MEANCLIP | afwMath.NCLIPPED | afwMath.MEDIAN
    safe = afwMath.makeStatistics(pixels, flags)
    assert safe.getValue(afwMath.NPOINT) == 12 * 15 - 3
    assert_matches_naive(safe, naive_statistics(pixels), flags)
    unsafe = afwMath.makeStatistics(pixels, flags, afwMath.StatisticsControl(isNanSafe=False))
    assert unsafe.getValue(afwMath.NPOINT) == 12 * 15
    assert math.isnan(unsafe.getValue(afwMath.MEAN))
    # NaN can never pass |v - c| <= w: the clipped mean ignores it.
    assert math.isfinite(unsafe.getValue(afwMath.MEANCLIP))
    assert_matches_naive(unsafe, naive_statistics(pixels, nanSafe=False), flags)
    clean = pixels[np.isfinite(pixels)]
    np.testing.assert_allclose(
        unsafe.getValue(afwMath.MEANCLIP), naive_statistics(clean[np.newaxis, :])["MEANCLIP"], rtol=1e-12
    )


def test_finiteness_is_tested_in_float() -> None:
    # afw casts to float before isfinite: a double beyond FLT_MAX is "infinite".
    pixels = np.array([[1.0, 2.0, 3.0, 1e39, 4.0]])
    stats = afwMath.makeStatistics(pixels, afwMath.NPOINT | afwMath.MAX)
    assert stats.getValue(afwMath.NPOINT) == 4
    assert stats.getValue(afwMath.MAX) == 4.0


# --------------------------------------------------------------------------
# The batch core
# --------------------------------------------------------------------------
def test_group_statistics_agree_with_per_group_make_statistics() -> None:
    rng = np.random.default_rng(17)
    n_groups, n_pix = 40, 150
    values = rng.normal(20, 3, (n_groups, n_pix)).astype(np.float32)
    values[rng.random(values.shape) < 0.04] = 500.0
    values[rng.random(values.shape) < 0.02] = np.nan
    lengths = rng.integers(0, n_pix + 1, n_groups)
    lengths[:4] = [0, 1, 2, n_pix]
    real = np.arange(n_pix) < lengths[:, np.newaxis]
    bits = np.where(rng.random(values.shape) < 0.2, 4, 0).astype(np.int32)
    good = real & (bits == 0)
    sctrl = afwMath.StatisticsControl(numSigmaClip=2.5, numIter=4)
    flags = ALL_VALUE_FLAGS | afwMath.ERRORS
    batch = afwMath.computeGroupStatistics(values, good, flags, sctrl, mask=bits, nPixels=lengths)
    one_sctrl = afwMath.StatisticsControl(numSigmaClip=2.5, numIter=4, andMask=4)
    for group in range(n_groups):
        length = lengths[group]
        if length == 0:
            assert batch.getValue(afwMath.NPOINT)[group] == 0
            assert math.isnan(batch.getValue(afwMath.MEANCLIP)[group])
            continue
        row = values[group, np.newaxis, :length]
        single = afwMath.makeStatistics(row, bits[group, np.newaxis, :length], flags, one_sctrl)
        for prop in afwMath.Property:
            if prop.name and prop != afwMath.ERRORS and flags & prop and prop != afwMath.ORMASK:
                np.testing.assert_allclose(
                    batch.getValue(prop)[group], single.getValue(prop), rtol=1e-12, err_msg=prop.name
                )
                np.testing.assert_allclose(
                    batch.getError(prop)[group], single.getError(prop), rtol=1e-12, err_msg=prop.name
                )
        assert batch.orMask is not None
        assert batch.orMask[group] == single.getOrMask()


def test_group_statistics_large_group_is_blocked_correctly() -> None:
    # One group longer than the internal block size must give the same
    # answer as the naive reference.
    rng = np.random.default_rng(23)
    values = rng.normal(1000, 10, (1, 600_000)).astype(np.float32)
    values[0, ::997] = 1e6
    stats = afwMath.computeGroupStatistics(
        values, None, afwMath.MEANCLIP | afwMath.NCLIPPED | afwMath.MEAN | afwMath.STDEV
    )
    flat = values[0].astype(np.float64)
    assert stats.getValue(afwMath.MEAN)[0] == pytest.approx(flat.mean(), rel=1e-12)
    assert stats.getValue(afwMath.STDEV)[0] == pytest.approx(flat.std(ddof=1), rel=1e-10)
    # Clipping with numpy, independently: median/IQR window then 2 sigma passes.
    q1, median, q3 = np.percentile(flat, [25, 50, 75])
    kept = flat[np.abs(flat - median) <= 3 * IQ_TO_STDEV * (q3 - q1)]
    for _ in range(2):
        center, width = kept.mean(), 3 * kept.std(ddof=1)
        kept = flat[np.abs(flat - center) <= width]
    assert stats.getValue(afwMath.NCLIPPED)[0] == flat.size - kept.size
    assert stats.getValue(afwMath.MEANCLIP)[0] == pytest.approx(kept.mean(), rel=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_clip_sums_equal_direct_sums(seed: int) -> None:
    # A clipping pass sums each group's window in pixel order (four
    # interleaved partial sums); a direct double-precision sum over the
    # window must agree, including ties on the window's edges, NaN values,
    # NaN centres and zero widths.
    from lsst.sky.correction.afwlite.math._kernels_statistics import clipSums

    rng = np.random.default_rng(seed)
    nGroups, nPix = int(rng.integers(1, 30)), int(rng.integers(1, 5000))
    values = rng.normal(100, 10, (nGroups, nPix)).astype(np.float32)
    values[:, : nPix // 3] = np.round(values[:, : nPix // 3])
    values[rng.random(values.shape) < 0.2] = np.nan
    center = np.round(rng.normal(100, 3, nGroups))
    width = np.round(np.abs(rng.normal(15, 10, nGroups)))
    center[0] = np.nan
    width[-1] = 0.0
    offsets = np.arange(nGroups + 1) * nPix
    count, sum1, sum2 = clipSums(values.reshape(-1), offsets, center, width)
    for row in range(nGroups):
        data = values[row][~np.isnan(values[row])].astype(np.float64)
        kept = data[np.abs(data - center[row]) <= width[row]] - center[row]
        assert count[row] == kept.size
        assert sum1[row] == pytest.approx(kept.sum(), rel=1e-9, abs=1e-7)
        assert sum2[row] == pytest.approx((kept * kept).sum(), rel=1e-9, abs=1e-7)


def test_group_statistics_bad_input() -> None:
    with pytest.raises(ValueError, match="2-d"):
        afwMath.computeGroupStatistics(np.zeros(5, np.float32), None, afwMath.MEAN)
    with pytest.raises(TypeError, match="float32 or float64"):
        afwMath.computeGroupStatistics(np.zeros((2, 5), np.int32), None, afwMath.MEAN)
    with pytest.raises(ValueError, match="good has shape"):
        afwMath.computeGroupStatistics(np.zeros((2, 5), np.float32), np.ones((2, 4), bool), afwMath.MEAN)


# --------------------------------------------------------------------------
# Background statistics images
# --------------------------------------------------------------------------
def _afw_cells(length: int, nbins: int) -> list[tuple[int, int]]:
    """(origin, size) of each cell, per afw's ``_setCenOrigSize``."""
    cells = []
    origin = 0
    for index in range(nbins):
        end = min(((index + 1) * length + nbins // 2) // nbins, length)
        cells.append((origin, end - origin))
        origin = end
    return cells


@pytest.mark.parametrize(
    ("width", "height", "nx", "ny", "prop"),
    [
        (4176, 60, 33, 2, afwMath.MEANCLIP),
        (257, 131, 5, 4, afwMath.MEAN),
        (200, 97, 6, 7, afwMath.MEDIAN),
        (64, 64, 1, 1, afwMath.MEANCLIP),
        (240, 120, 4, 3, afwMath.MEANCLIP),  # equal cells tiling the image
    ],
)
def test_background_stats_image_matches_per_cell_statistics(
    width: int, height: int, nx: int, ny: int, prop: afwMath.Property
) -> None:
    rng = np.random.default_rng(width + height)
    mi = MaskedImageF(ImageF(rng.normal(300, 8, (height, width)).astype(np.float32), xy0=Point2I(-40, 1000)))
    mi.mask.array[...] = np.where(rng.random((height, width)) < 0.15, 32, 0)
    mi.mask.array[rng.random((height, width)) < 0.05] |= 1
    mi.image.array[rng.random((height, width)) < 0.01] = 5000.0
    mi.image.array[rng.random((height, width)) < 0.01] = np.nan
    # Blank out one whole cell: it must come out NaN.
    (x0, xs), (y0, ys) = _afw_cells(width, nx)[-1], _afw_cells(height, ny)[0]
    mi.mask.array[y0 : y0 + ys, x0 : x0 + xs] = 32
    sctrl = afwMath.StatisticsControl(andMask=32)

    stats_image = afwMath.makeBackgroundStatsImage(mi, nx, ny, prop, sctrl)

    assert stats_image.getDimensions() == Extent2I(nx, ny)
    assert stats_image.getXY0() == Point2I(0, 0)
    assert stats_image.image.array.dtype == np.float32
    assert not stats_image.mask.array.any()
    assert math.isnan(stats_image.image.array[0, nx - 1])
    for iy, (y0, ys) in enumerate(_afw_cells(height, ny)):
        for ix, (x0, xs) in enumerate(_afw_cells(width, nx)):
            cell = mi[Box2I(Point2I(x0, y0), Extent2I(xs, ys)), LOCAL]
            value, error = afwMath.makeStatistics(cell, prop | afwMath.ERRORS, sctrl).getResult()
            np.testing.assert_allclose(stats_image.image.array[iy, ix], np.float32(value), rtol=1e-6)
            np.testing.assert_allclose(stats_image.variance.array[iy, ix], np.float32(error), rtol=1e-6)


def test_background_stats_variance_plane_holds_sigma() -> None:
    rng = np.random.default_rng(4)
    mi = MaskedImageF(ImageF(rng.normal(0, 10, (40, 60)).astype(np.float32)))
    stats_image = afwMath.makeBackgroundStatsImage(mi, 3, 2, afwMath.MEAN, afwMath.StatisticsControl())
    cell = mi.image.array[:20, :20].astype(np.float64)
    np.testing.assert_allclose(stats_image.image.array[0, 0], cell.mean(), rtol=1e-6)
    sigma = math.sqrt(cell.var(ddof=1) / cell.size)
    np.testing.assert_allclose(stats_image.variance.array[0, 0], sigma, rtol=1e-5)


def test_background_stats_image_bad_input() -> None:
    mi = MaskedImageF(10, 8)
    sctrl = afwMath.StatisticsControl()
    with pytest.raises(ValueError, match="nx=11"):
        afwMath.makeBackgroundStatsImage(mi, 11, 2, afwMath.MEANCLIP, sctrl)
    with pytest.raises(ValueError, match="ny=0"):
        afwMath.makeBackgroundStatsImage(mi, 2, 0, afwMath.MEANCLIP, sctrl)
    with pytest.raises(ValueError, match="one statistic"):
        afwMath.makeBackgroundStatsImage(mi, 2, 2, afwMath.MEAN | afwMath.MEDIAN, sctrl)
    with pytest.raises(TypeError, match="MaskedImageF"):
        afwMath.makeBackgroundStatsImage(ImageF(10, 8), 2, 2, afwMath.MEAN, sctrl)  # type: ignore[arg-type]
