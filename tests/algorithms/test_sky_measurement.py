"""Tests of SkyMeasurementTask: sky-frame persistence, scale samples, the scale fit, subtraction."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gsl_oracle import load_gsl
from sky_frame_oracle import cellCentres, naturalSplineImage

from lsst.sky.correction.afwlite.geom import Box2I, Extent2I, Point2I
from lsst.sky.correction.afwlite.image import ExposureF, ImageF, Mask, MaskedImageF
from lsst.sky.correction.afwlite.math import (
    REDUCE_INTERP_ORDER,
    ApproximateControl,
    BackgroundList,
    BackgroundMI,
    Interpolate,
    StatisticsControl,
    makeStatistics,
    stringToStatisticsProperty,
)
from lsst.sky.correction.sky_measurement import (
    BackgroundConfig,
    SkyMeasurementConfig,
    SkyMeasurementTask,
    SkyStatsConfig,
)
from lsst.sky.correction.testing import makeDummyCamera

BOX_CARDS = ("BOX.MINX", "BOX.MINY", "BOX.MAXX", "BOX.MAXY")
STATS_MASK = ["SAT", "DETECTED", "DETECTED_NEGATIVE", "BAD", "NO_DATA"]


def make_task(**overrides: object) -> SkyMeasurementTask:
    config = SkyMeasurementConfig()
    for name, value in overrides.items():
        target = config
        *path, leaf = name.split("__")
        for part in path:
            target = getattr(target, part)
        setattr(target, leaf, value)
    return SkyMeasurementTask(config=config)


def stats_image(values: np.ndarray) -> MaskedImageF:
    """A stats image holding ``values`` (ny, nx), variance 1, mask 0."""
    image = MaskedImageF(values.shape[1], values.shape[0])
    image.image.array[...] = values.astype(np.float32)
    image.variance.array[...] = 1.0
    return image


def sky_exposure(values: np.ndarray, bbox: Box2I, algorithm: str = "NATURAL_SPLINE") -> ExposureF:
    """A sky frame written the way the reference's unit test writes one."""
    exposure = ExposureF(stats_image(values))
    metadata = exposure.getMetadata()
    metadata.set("BOX.MINX", bbox.getMinX())
    metadata.set("BOX.MINY", bbox.getMinY())
    metadata.set("BOX.MAXX", bbox.getMaxX())
    metadata.set("BOX.MAXY", bbox.getMaxY())
    metadata.set("ALGORITHM", algorithm)
    return exposure


# --------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------
def test_config_fields_and_defaults_are_the_references() -> None:
    config = SkyMeasurementConfig()
    assert (config.skyIter, config.skyRej, config.xNumSamples, config.yNumSamples) == (3, 3.0, 4, 4)
    assert isinstance(config.background, BackgroundConfig)
    assert isinstance(config.stats, SkyStatsConfig)
    background = config.background
    assert (background.statistic, background.xBinSize, background.yBinSize) == ("MEANCLIP", 32, 32)
    assert background.algorithm == "NATURAL_SPLINE"
    assert list(background.mask) == ["SAT", "BAD", "EDGE", "DETECTED", "DETECTED_NEGATIVE", "NO_DATA"]
    stats = config.stats
    assert (stats.statistic, stats.clip, stats.nIter) == ("MEANCLIP", 3.0, 3)
    assert list(stats.mask) == STATS_MASK
    for statistic in ("MEANCLIP", "MEAN", "MEDIAN"):
        stats.statistic = statistic
        background.statistic = statistic
    with pytest.raises(ValueError):
        stats.statistic = "STDEV"
        stats.validate()
    with pytest.raises(ValueError):
        BackgroundConfig(xBinSize=0).validate()


def test_a_standalone_task_logs_under_the_package_logger() -> None:
    assert SkyMeasurementTask().log.name == "lsst.sky.correction.skyMeasurement"


# --------------------------------------------------------------------------
# Sky frame <-> background
# --------------------------------------------------------------------------
def test_background_to_exposure_and_back_round_trips() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(0.0, 1.0, (6, 8))
    bbox = Box2I(Point2I(3, -5), Point2I(258, 194))
    task = make_task(background__algorithm="AKIMA_SPLINE")
    statsImage = stats_image(values)

    exposure = task.backgroundToExposure(statsImage, bbox)
    metadata = exposure.getMetadata()
    assert [metadata.getScalar(card) for card in BOX_CARDS] == [3, -5, 258, 194]
    assert metadata.getScalar("ALGORITHM") == "AKIMA_SPLINE"
    np.testing.assert_array_equal(exposure.image.array, values.astype(np.float32))

    backgrounds = SkyMeasurementTask.exposureToBackground(exposure)
    assert len(backgrounds) == 1
    background, interp, undersample, approx, orderX, orderY, weighting = backgrounds[0]
    assert background.getImageBBox() == bbox
    assert interp == Interpolate.AKIMA_SPLINE
    assert undersample == REDUCE_INTERP_ORDER
    assert approx == ApproximateControl.UNKNOWN
    assert (orderX, orderY, weighting) == (0, 0, False)
    np.testing.assert_array_equal(background.getStatsImage().image.array, values.astype(np.float32))
    # The model is the grid interpolated over the bbox.
    image = backgrounds.getImage()
    assert image is not None
    assert image.getBBox() == bbox
    expected = BackgroundMI(bbox, stats_image(values)).getImageF("AKIMA_SPLINE", "REDUCE_INTERP_ORDER")
    np.testing.assert_array_equal(image.array, expected.array)


# The independent sky-frame oracle (tests/sky_frame_oracle.py) the end-to-end tests build inputs with.
@pytest.mark.parametrize(
    ("length", "nCells", "first", "last"),
    # afw's bin centres for these sizes, as measured with afw (research notes on afw's formats).
    [(2048, 16, [63.5, 191.5, 319.5], 1983.5), (4176, 33, [63.0, 189.5, 316.0], 4112.0),
     (4072, 32, [63.0, 190.5, 318.0], 4008.0), (4000, 32, [62.0, 187.0, 312.0], 3937.0),
     (6, 3, [0.5, 2.5, 4.5], 4.5)],
)  # fmt: skip
def test_the_oracle_places_cell_centres_as_afw_does(
    length: int, nCells: int, first: list[float], last: float
) -> None:
    centres = cellCentres(length, nCells)
    assert centres.size == nCells
    assert list(centres[:3]) == first and centres[-1] == last


def test_the_oracle_spline_is_gsl_cspline() -> None:
    """The oracle is GSL's cspline (afw's NATURAL_SPLINE) with afw's extrapolation, to rounding."""
    rng = np.random.default_rng(3)
    gsl = load_gsl()
    for nodes in (3, 4, 8):
        x = cellCentres(200, nodes)
        y = rng.normal(0.0, 5.0, nodes)
        where = np.arange(200, dtype=float)
        interp = gsl.interp("cspline", x, y)
        # afw's InterpolateGsl: GSL inside the nodes; beyond them the end node's value, slope
        # and curvature (GSL's eval_deriv and eval_deriv2 at that node).
        expected = []
        for value in where:
            if x[0] <= value <= x[-1]:
                expected.append(interp.eval(value))
            else:
                end = x[0] if value < x[0] else x[-1]
                step = value - end
                expected.append(
                    interp.eval(end) + step * interp.eval_deriv(end) + 0.5 * step**2 * interp.eval_deriv2(end)
                )
        grid = np.zeros((nodes, 3)) + y[:, np.newaxis]  # three identical columns
        got = naturalSplineImage(grid, 3, 200)
        for column in range(3):
            np.testing.assert_allclose(got[:, column], expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape", [(6, 8), (3, 4), (5, 3)])
def test_a_natural_spline_sky_frame_is_the_oracle_image(shape: tuple[int, int]) -> None:
    """exposureToBackground interpolates a NATURAL_SPLINE sky frame as GSL's cspline does."""
    rng = np.random.default_rng(sum(shape))
    bbox = Box2I(Point2I(7, -3), Extent2I(256, 200))
    samples = rng.normal(0.0, 4.0, shape).astype(np.float32)
    image = SkyMeasurementTask.exposureToBackground(sky_exposure(samples, bbox)).getImage()
    assert image is not None and image.getBBox() == bbox
    expected = naturalSplineImage(samples, 256, 200)
    # float32 output: a few ulps of the largest value.
    np.testing.assert_allclose(image.array, expected, rtol=0, atol=4e-6 * np.abs(expected).max())


@pytest.mark.parametrize("card", [*BOX_CARDS, "ALGORITHM"])
def test_a_missing_sky_frame_card_is_named(card: str) -> None:
    exposure = sky_exposure(np.zeros((4, 5)), Box2I(Point2I(0, 0), Extent2I(50, 40)))
    exposure.getMetadata().remove(card)
    with pytest.raises(ValueError, match=card.replace(".", r"\.")):
        SkyMeasurementTask.exposureToBackground(exposure)
    exposure.setDetector(makeDummyCamera()[1])
    with pytest.raises(ValueError, match=rf"detector 1.*{card.replace('.', '[.]')}"):
        SkyMeasurementTask.exposureToBackground(exposure)


def test_invalid_sky_frame_cards_are_rejected() -> None:
    bbox = Box2I(Point2I(0, 0), Extent2I(50, 40))
    exposure = sky_exposure(np.zeros((4, 5)), bbox, algorithm="QUADRATIC")
    with pytest.raises(ValueError, match="ALGORITHM"):
        SkyMeasurementTask.exposureToBackground(exposure)
    exposure = sky_exposure(np.zeros((4, 5)), bbox)
    exposure.getMetadata().set("BOX.MAXY", 12.5)
    with pytest.raises(ValueError, match=r"BOX\.MAXY"):
        SkyMeasurementTask.exposureToBackground(exposure)


def test_exposure_to_background_shares_the_pixels_and_leaves_them_alone() -> None:
    values = np.arange(20, dtype=np.float64).reshape(4, 5)
    exposure = sky_exposure(values, Box2I(Point2I(0, 0), Extent2I(50, 40)))
    backgrounds = SkyMeasurementTask.exposureToBackground(exposure)
    assert backgrounds[0][0].getStatsImage().image.array is exposure.image.array
    target = MaskedImageF(50, 40)
    out = BackgroundList()
    make_task().subtractSkyFrame(target, backgrounds, 3.0, out)
    np.testing.assert_array_equal(exposure.image.array, values.astype(np.float32))


# --------------------------------------------------------------------------
# measureBackground
# --------------------------------------------------------------------------
def naive_bin_edges(length: int, nbins: int) -> list[tuple[int, int]]:
    """afw Background.cc _setCenOrigSize: (origin, size) of every bin."""
    edges = []
    origin = 0
    for i in range(nbins):
        end = min(((i + 1) * length + nbins // 2) // nbins, length)
        edges.append((origin, end - origin))
        origin = end
    return edges


@pytest.mark.parametrize("statistic", ["MEANCLIP", "MEAN", "MEDIAN"])
def test_measure_background_matches_a_loop_over_cells(statistic: str) -> None:
    rng = np.random.default_rng(11)
    width, height = 256, 200
    image = MaskedImageF(width, height)
    image.image.array[...] = rng.normal(100.0, 5.0, (height, width)).astype(np.float32)
    detected = Mask.getPlaneBitMask("DETECTED")
    image.mask.array[rng.random((height, width)) < 0.1] = detected
    image.image.array[image.mask.array != 0] += 1000.0  # would bias every cell if used
    image.mask.array[40:60, 100:140] |= Mask.getPlaneBitMask("INTRP")  # not in the list: used
    task = make_task(background__statistic=statistic)

    backgrounds = task.measureBackground(image)
    background, interp, undersample, approx, *_ = backgrounds[0]
    assert (interp, undersample, approx) == (
        Interpolate.NATURAL_SPLINE,
        REDUCE_INTERP_ORDER,
        ApproximateControl.UNKNOWN,
    )
    got = background.getStatsImage().image.array
    nx, ny = int(width / 32 + 0.5), int(height / 32 + 0.5)
    assert got.shape == (ny, nx) == (6, 8)

    sctrl = StatisticsControl()
    sctrl.setAndMask(Mask.getPlaneBitMask(list(task.config.background.mask)))
    prop = stringToStatisticsProperty(statistic)
    for iy, (y0, h) in enumerate(naive_bin_edges(height, ny)):
        for ix, (x0, w) in enumerate(naive_bin_edges(width, nx)):
            cell = image.subset(Box2I(Point2I(x0, y0), Extent2I(w, h)))
            expected = makeStatistics(cell, prop, sctrl).getValue()
            assert got[iy, ix] == pytest.approx(expected, rel=1e-6), (ix, iy)
    assert np.all(np.abs(got - 100.0) < 2.0)


# --------------------------------------------------------------------------
# measureScale
# --------------------------------------------------------------------------
def naive_samples(
    task: SkyMeasurementTask, image: MaskedImageF, sky: ImageF
) -> tuple[list[float], list[float]]:
    """The reference's loop: boxes from linspace limits, x outer, y inner, makeStatistics each."""
    config = task.config
    nx = min(config.xNumSamples, image.getWidth())
    ny = min(config.yNumSamples, image.getHeight())
    xLimits = np.linspace(0, image.getWidth(), nx + 1, dtype=int)
    yLimits = np.linspace(0, image.getHeight(), ny + 1, dtype=int)
    sctrl = StatisticsControl(config.stats.clip, config.stats.nIter, Mask.getPlaneBitMask(config.stats.mask))
    prop = stringToStatisticsProperty(config.stats.statistic)
    imageSamples, skySamples = [], []
    for xIndex in range(nx):
        for yIndex in range(ny):
            box = Box2I(
                Point2I(int(xLimits[xIndex]), int(yLimits[yIndex])),
                Point2I(int(xLimits[xIndex + 1]) - 1, int(yLimits[yIndex + 1]) - 1),
            )
            imageSamples.append(makeStatistics(image.subset(box), prop, sctrl).getValue())
            skySamples.append(makeStatistics(sky.subset(box), prop, sctrl).getValue())
    return imageSamples, skySamples


def scale_scene(
    rng: np.random.Generator, width: int, height: int, scale: float
) -> tuple[MaskedImageF, BackgroundList]:
    """An image = scale * sky + noise, with masked outliers, NaNs and saturated pixels."""
    bbox = Box2I(Point2I(0, 0), Extent2I(width, height))
    grid = rng.normal(0.0, 3.0, (5, 6)).astype(np.float32)
    backgrounds = SkyMeasurementTask.exposureToBackground(sky_exposure(grid, bbox))
    sky = naturalSplineImage(grid, width, height)  # the truth, built without the task
    image = MaskedImageF(width, height)
    image.image.array[...] = (scale * sky + rng.normal(0.0, 1.0, (height, width))).astype(np.float32)
    outliers = rng.random((height, width)) < 0.05
    image.image.array[outliers] += 500.0
    image.mask.array[outliers] |= Mask.getPlaneBitMask("DETECTED")
    saturated = rng.random((height, width)) < 0.01
    image.image.array[saturated] = 60000.0
    image.mask.array[saturated] |= Mask.getPlaneBitMask("SAT")
    image.image.array[rng.random((height, width)) < 0.005] = np.nan  # dropped as non-finite
    return image, backgrounds


@pytest.mark.parametrize(
    ("statistic", "xNumSamples", "yNumSamples"),
    [("MEANCLIP", 4, 4), ("MEANCLIP", 3, 3), ("MEAN", 5, 2), ("MEDIAN", 3, 4)],
)
def test_measure_scale_matches_the_reference_loop(statistic: str, xNumSamples: int, yNumSamples: int) -> None:
    rng = np.random.default_rng(xNumSamples * 10 + yNumSamples)
    image, backgrounds = scale_scene(rng, 256, 200, 2.0)
    if statistic == "MEAN":
        # An unclipped mean sees the NaNs' neighbours only; keep the image finite.
        image.image.array[~np.isfinite(image.image.array)] = 0.0
    task = make_task(stats__statistic=statistic, xNumSamples=xNumSamples, yNumSamples=yNumSamples)
    imageSamples, skySamples = task.measureScale(image, backgrounds)
    sky = backgrounds.getImage()
    assert sky is not None
    expectedImage, expectedSky = naive_samples(task, image, sky)
    assert imageSamples.shape == skySamples.shape == (xNumSamples * yNumSamples,)
    np.testing.assert_allclose(imageSamples, expectedImage, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(skySamples, expectedSky, rtol=1e-9, atol=1e-12)

    # The array-level entry point gives the very same samples.
    bad = (image.mask.array & Mask.getPlaneBitMask(STATS_MASK)) != 0
    arraySamples = task.measureScaleArrays(image.image.array, bad, sky.array)
    np.testing.assert_array_equal(arraySamples[0], imageSamples)
    np.testing.assert_array_equal(arraySamples[1], skySamples)


def test_sample_order_is_x_outer_y_inner() -> None:
    # Each box gets a distinct constant: 10 * xIndex + yIndex.
    width, height = 40, 30
    xLimits = np.linspace(0, width, 5, dtype=int)
    yLimits = np.linspace(0, height, 4, dtype=int)
    pixels = np.zeros((height, width), dtype=np.float32)
    for xIndex in range(4):
        for yIndex in range(3):
            ys, ye = yLimits[yIndex], yLimits[yIndex + 1]
            xs, xe = xLimits[xIndex], xLimits[xIndex + 1]
            pixels[ys:ye, xs:xe] = 10 * xIndex + yIndex
    task = make_task(yNumSamples=3)
    imageSamples, skySamples = task.measureScaleArrays(pixels, np.zeros(pixels.shape, bool), pixels * 2)
    expected = [10 * x + y for x in range(4) for y in range(3)]
    np.testing.assert_array_equal(imageSamples, expected)
    np.testing.assert_array_equal(skySamples, 2 * np.array(expected))


def test_fewer_pixels_than_samples_and_empty_boxes() -> None:
    pixels = np.arange(6, dtype=np.float32).reshape(2, 3)
    bad = np.zeros(pixels.shape, dtype=bool)
    bad[:, 1] = True  # box x=1 has no usable pixel
    task = make_task(stats__statistic="MEAN")
    imageSamples, skySamples = task.measureScaleArrays(pixels, bad, pixels)
    # min(4, 3) x min(4, 2) boxes of one pixel each, x outer.
    np.testing.assert_array_equal(skySamples, [0, 3, 1, 4, 2, 5])
    np.testing.assert_array_equal(imageSamples, [0, 3, np.nan, np.nan, 2, 5])


def test_measure_scale_rejects_mismatched_inputs() -> None:
    task = make_task()
    with pytest.raises(ValueError, match="shapes differ"):
        task.measureScaleArrays(np.zeros((10, 12), np.float32), np.zeros((10, 12), bool), np.zeros((10, 11)))
    with pytest.raises(TypeError, match="boolean"):
        task.measureScaleArrays(np.zeros((10, 12), np.float32), np.zeros((10, 12)), np.zeros((10, 12)))


def test_measure_scale_leaves_its_inputs_alone() -> None:
    rng = np.random.default_rng(5)
    image, backgrounds = scale_scene(rng, 64, 48, 1.5)
    before = image.clone()
    statsBefore = backgrounds[0][0].getStatsImage().image.array.copy()
    make_task().measureScale(image, backgrounds)
    np.testing.assert_array_equal(image.image.array, before.image.array)
    np.testing.assert_array_equal(image.mask.array, before.mask.array)
    np.testing.assert_array_equal(backgrounds[0][0].getStatsImage().image.array, statsBefore)


# --------------------------------------------------------------------------
# solveScales
# --------------------------------------------------------------------------
def naive_solve(
    imageSamples: list[float], skySamples: list[float], skyIter: int, skyRej: float, readmit: bool = False
) -> float:
    """The reference's fit with plain loops; ``readmit`` is the tempting wrong variant."""
    finite = [math.isfinite(a) and math.isfinite(b) for a, b in zip(imageSamples, skySamples, strict=True)]
    use = list(finite)

    def slope() -> float:
        sxy = sum(b * a for a, b, u in zip(imageSamples, skySamples, use, strict=True) if u)
        sxx = sum(b * b for b, u in zip(skySamples, use, strict=True) if u)
        return sxy / sxx

    for _ in range(skyIter):
        s = slope()
        residuals = [a - s * b for a, b in zip(imageSamples, skySamples, strict=True)]
        kept = sorted(r for r, u in zip(residuals, use, strict=True) if u)

        def quantile(q: float, kept: list[float] = kept) -> float:
            position = q * (len(kept) - 1)
            low = math.floor(position)
            high = min(low + 1, len(kept) - 1)
            return kept[low] + (position - low) * (kept[high] - kept[low])

        sigma = 0.741 * (quantile(0.75) - quantile(0.25))
        for i, r in enumerate(residuals):
            tooFar = math.isfinite(r) and abs(r) > skyRej * sigma
            if readmit:
                use[i] = finite[i] and not tooFar
            elif tooFar:
                use[i] = False
    return slope()


def rejection_samples() -> tuple[list[float], list[float]]:
    """Samples on image = 2 * sky with small scatter, plus one gross outlier at large sky.

    Twenty samples have sky in [1, 2) and four sky 20; the last of those is
    40 too high.  The outlier drags the first fit up to ~2.49, so the other
    sky-20 samples (and the low samples furthest from zero residual) fail
    the cut.  The next fit is close to 2 again and every sample but the
    outlier would pass the cut, but the rejected ones must stay rejected.
    """
    sky = [1.0 + 0.05 * i for i in range(20)] + [20.0, 20.0, 20.0, 20.0]
    scatter = [0.05 * ((i * 7) % 5 - 2) for i in range(24)]
    image = [2.0 * x + e for x, e in zip(sky, scatter, strict=True)]
    image[-1] += 40.0
    return image, sky


def test_rejected_samples_stay_rejected() -> None:
    image, sky = rejection_samples()
    task = make_task()
    got = task.solveScales([(np.array(image[:10]), np.array(sky[:10])), (image[10:], sky[10:])])
    expected = naive_solve(image, sky, 3, 3.0)
    readmitted = naive_solve(image, sky, 3, 3.0, readmit=True)
    noRejection = naive_solve(image, sky, 0, 3.0)
    # The case discriminates: re-admitting samples gives another answer.
    assert abs(readmitted - expected) > 0.01
    assert got == pytest.approx(expected, rel=1e-12, abs=0)
    # The outlier is out: the answer is near 2; without rejection it is far off.
    assert abs(got - 2.0) < 0.05
    assert abs(noRejection - 2.0) > 0.4


def test_robust_sigma_is_0_741_times_the_iqr() -> None:
    """A sample whose residual lies between 3 * 0.741 * IQR and 3 * 0.7413 * IQR is rejected."""
    base = np.linspace(-1.0, 1.0, 21)
    # With the extra sample v the largest, the residuals' IQR does not depend on v.
    lower, upper = np.percentile(np.append(base, 10.0), [25, 75])
    iqr = upper - lower
    # Residual of v is v - v / 22 (the fitted slope is the mean, the sky being 1).
    v = 3.0 * 0.74115 * iqr * 22.0 / 21.0
    image = np.append(base, v)
    sky = np.ones_like(image)
    got = make_task(skyIter=1).solveScales([(image, sky)])
    assert got == pytest.approx(0.0, abs=1e-12)  # v rejected: the mean of the symmetric base
    assert naive_solve(list(image), list(sky), 1, 3.0) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("skyIter", "skyRej"), [(0, 3.0), (1, 3.0), (3, 2.0), (5, 3.0)])
def test_solve_scales_matches_the_naive_fit(skyIter: int, skyRej: float) -> None:
    rng = np.random.default_rng(skyIter)
    sky = rng.uniform(-5.0, 10.0, 48)
    image = 3.7 * sky + rng.normal(0.0, 0.2, 48)
    image[[3, 17, 30]] += [15.0, -12.0, 30.0]
    image[8] = np.nan
    sky[21] = np.inf
    task = make_task(skyIter=skyIter, skyRej=skyRej)
    got = task.solveScales([(image[:16], sky[:16]), (image[16:], sky[16:])])
    assert got == pytest.approx(naive_solve(list(image), list(sky), skyIter, skyRej), rel=1e-12)


def test_solve_scales_errors() -> None:
    task = make_task()
    with pytest.raises(ValueError, match="no usable"):
        task.solveScales([(np.array([np.nan, 1.0]), np.array([1.0, np.nan]))])
    with pytest.raises(ValueError, match="all zero"):
        task.solveScales([(np.array([1.0, 2.0]), np.array([0.0, 0.0]))])
    with pytest.raises(ValueError, match="entry 1"):
        task.solveScales([([1.0], [1.0]), ([1.0, 2.0], [1.0])])


def test_scale_recovered_from_images_to_the_expected_precision() -> None:
    rng = np.random.default_rng(2024)
    trueScale = 2.5
    task = make_task()
    samples = []
    for _ in range(4):
        image, backgrounds = scale_scene(rng, 256, 200, trueScale)
        samples.append(task.measureScale(image, backgrounds))
    got = task.solveScales(samples)
    # Each sample averages ~3000 unit-noise pixels: sigma ~ 0.019 (a little
    # more for the clipped mean); the slope error is that over |sky|.
    skySamples = np.concatenate([s[1] for s in samples])
    predicted = 1.1 / math.sqrt(64 * 50) / math.sqrt(float(np.sum(skySamples**2)))
    assert abs(got - trueScale) < 5 * predicted
    assert predicted < 2e-3


def test_reference_unit_test_sky_frame_gives_scale_five() -> None:
    """The reference's sky frame at half size: 64 x 63 cells over 2048 x 2002 pixels.

    Like the reference (128 x 125 cells over 4096 x 4004, +1 on cells 32:64 x
    31:63), the frame is zero with +1 on a block of cells, N(0, 0.1) noise and
    its mean removed; each detector's image is 5 x the sky model plus N(0, 25).
    """
    bbox = Box2I(Point2I(0, 0), Extent2I(2048, 2002))
    assert makeDummyCamera()[0].getBBox().getDimensions() == Extent2I(4096, 4004)
    task = make_task()
    samples = []
    for detectorId in (0, 1):
        rng = np.random.default_rng(detectorId)
        grid = np.zeros((63, 64))
        grid[16:32, 16:32] += 1.0
        grid += rng.normal(0.0, 0.1, grid.shape)
        grid -= grid.mean()
        grid = grid.astype(np.float32)
        backgrounds = SkyMeasurementTask.exposureToBackground(sky_exposure(grid, bbox))
        sky = naturalSplineImage(grid, bbox.getWidth(), bbox.getHeight())  # the truth, built independently
        image = MaskedImageF(bbox.getWidth(), bbox.getHeight())
        noise = rng.normal(0.0, 25.0, (bbox.getHeight(), bbox.getWidth()))
        image.image.array[...] = (5.0 * sky + noise).astype(np.float32)
        samples.append(task.measureScale(image, backgrounds))
    assert task.solveScales(samples) == pytest.approx(5.0, abs=0.1)


# --------------------------------------------------------------------------
# subtractSkyFrame
# --------------------------------------------------------------------------
def test_subtract_sky_frame_subtracts_and_records_a_scaled_copy() -> None:
    rng = np.random.default_rng(8)
    width, height = 256, 200
    bbox = Box2I(Point2I(0, 0), Extent2I(width, height))
    grid = rng.normal(0.0, 2.0, (6, 8))
    skyExposure = sky_exposure(grid, bbox, algorithm="AKIMA_SPLINE")
    skyExposure.variance.array[...] = rng.uniform(0.5, 2.0, (6, 8)).astype(np.float32)
    backgrounds = SkyMeasurementTask.exposureToBackground(skyExposure)
    sky = backgrounds.getImage()
    assert sky is not None
    statsBefore = skyExposure.getMaskedImage().clone()

    image = MaskedImageF(width, height)
    image.image.array[...] = rng.normal(50.0, 3.0, (height, width)).astype(np.float32)
    image.mask.array[10:20, 30:40] = Mask.getPlaneBitMask("BAD")
    image.variance.array[...] = 7.0
    before = image.clone()
    bgList = BackgroundList(
        (BackgroundMI(bbox, stats_image(np.ones((2, 2)))), Interpolate.LINEAR, REDUCE_INTERP_ORDER,
         ApproximateControl.UNKNOWN, 0, 0, False)
    )  # fmt: skip
    scale = 2.75

    make_task().subtractSkyFrame(image, backgrounds, scale, bgList)

    expected = before.image.array.astype(np.float64) - scale * sky.array.astype(np.float64)
    np.testing.assert_allclose(image.image.array, expected, rtol=0, atol=1e-4)
    np.testing.assert_array_equal(image.mask.array, before.mask.array)
    np.testing.assert_array_equal(image.variance.array, before.variance.array)

    assert len(bgList) == 2
    added, interp, undersample, approx, orderX, orderY, weighting = bgList[1]
    assert (interp, undersample, approx, orderX, orderY, weighting) == (
        Interpolate.AKIMA_SPLINE,
        REDUCE_INTERP_ORDER,
        ApproximateControl.UNKNOWN,
        0,
        0,
        False,
    )
    assert added.getImageBBox() == bbox
    addedStats = added.getStatsImage()
    np.testing.assert_array_equal(addedStats.image.array, statsBefore.image.array * np.float32(scale))
    np.testing.assert_allclose(addedStats.variance.array, statsBefore.variance.array * scale**2, rtol=1e-6)
    addedImage = added.getImageF(interp, undersample)
    np.testing.assert_allclose(addedImage.array, scale * sky.array, rtol=1e-5, atol=1e-5)

    # The sky frame (and the exposure it came from) is untouched.
    assert len(backgrounds) == 1
    assert addedStats is not backgrounds[0][0].getStatsImage()
    np.testing.assert_array_equal(skyExposure.image.array, statsBefore.image.array)
    np.testing.assert_array_equal(skyExposure.variance.array, statsBefore.variance.array)


def test_subtract_sky_frame_accepts_exposures_and_images() -> None:
    bbox = Box2I(Point2I(0, 0), Extent2I(40, 30))
    backgrounds = SkyMeasurementTask.exposureToBackground(sky_exposure(np.full((3, 4), 2.0), bbox))
    exposure = ExposureF(MaskedImageF(40, 30))
    exposure.image.array[...] = 10.0
    make_task().subtractSkyFrame(exposure, backgrounds, 1.5)
    np.testing.assert_allclose(exposure.image.array, 10.0 - 1.5 * 2.0, rtol=1e-6)
    image = ImageF(np.full((30, 40), 1.0, dtype=np.float32))
    make_task().subtractSkyFrame(image, backgrounds, -0.5)
    np.testing.assert_allclose(image.array, 2.0, rtol=1e-6)
    with pytest.raises(ValueError, match="pixels"):
        make_task().subtractSkyFrame(ImageF(np.zeros((31, 40), np.float32)), backgrounds, 1.0)
