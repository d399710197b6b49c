"""Tests of SubtractBackgroundTask against independent computations."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import lsst.pipe.base as pipeBase
from lsst.sky.correction.afwlite import math as afwMath
from lsst.sky.correction.afwlite.geom import Box2I, Extent2I, Point2I
from lsst.sky.correction.afwlite.image import LOCAL, ExposureF, ImageF, Mask, MaskedImageF
from lsst.sky.correction.subtract_background import SubtractBackgroundConfig, SubtractBackgroundTask

WIDTH, HEIGHT = 256, 200
IGNORED = ["BAD", "EDGE", "DETECTED", "DETECTED_NEGATIVE", "NO_DATA"]


def make_exposure(pixels: np.ndarray, xy0: Point2I | None = None) -> ExposureF:
    image = ImageF(pixels.astype(np.float32), xy0=xy0)
    exposure = ExposureF(MaskedImageF(image))
    exposure.variance.array[:] = 1.0
    return exposure


def make_task(**overrides: object) -> SubtractBackgroundTask:
    config = SubtractBackgroundConfig()
    for name, value in overrides.items():
        setattr(config, name, value)
    return SubtractBackgroundTask(config=config)


def plane(a: float, b: float, c: float) -> np.ndarray:
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    return a + b * x + c * y


def afw_cells(length: int, nbins: int) -> list[tuple[int, int]]:
    """(origin, size) of afw's background cells along one axis, written out with a loop."""
    cells = []
    start = 0
    for i in range(nbins):
        end = min(((i + 1) * length + nbins // 2) // nbins, length)
        cells.append((start, end - start))
        start = end
    return cells


def test_config_defaults_match_meas_algorithms() -> None:
    config = SubtractBackgroundConfig()
    assert config.statisticsProperty == "MEANCLIP"
    assert config.undersampleStyle == "REDUCE_INTERP_ORDER"
    assert (config.binSize, config.binSizeX, config.binSizeY) == (128, 0, 0)
    assert config.algorithm == "AKIMA_SPLINE"
    assert list(config.ignoredPixelMask) == IGNORED
    assert config.isNanSafe is False
    assert config.useApprox is True
    assert (config.approxOrderX, config.approxOrderY, config.weighting) == (6, -1, True)
    assert config.doApplyFlatBackgroundRatio is False


@pytest.mark.parametrize(
    ("width", "height", "binSize", "binSizeX", "binSizeY"),
    [
        (256, 200, 128, 0, 0),  # 2.0 and 1.5625 cells
        (192, 191, 128, 0, 0),  # exactly 1.5 rounds up; 1.49 rounds down
        (100, 60, 1024, 0, 0),  # fewer pixels than one bin: one cell
        (256, 200, 64, 0, 0),
        (256, 200, 128, 40, 0),  # binSizeX overrides binSize in x only
        (256, 200, 128, 0, 33),
    ],
)
def test_bin_count_rule(width: int, height: int, binSize: int, binSizeX: int, binSizeY: int) -> None:
    rng = np.random.default_rng(1)
    maskedImage = MaskedImageF(ImageF(rng.normal(10, 1, (height, width)).astype(np.float32)))
    task = make_task(binSize=binSize, binSizeX=binSizeX, binSizeY=binSizeY, useApprox=False)
    background = task.fitBackground(maskedImage)
    sizeX = binSizeX or binSize
    sizeY = binSizeY or binSize
    # Round half up in integer arithmetic, at least one cell.
    expectedNx = max((2 * width + sizeX) // (2 * sizeX), 1)
    expectedNy = max((2 * height + sizeY) // (2 * sizeY), 1)
    stats = background.getStatsImage()
    assert (stats.getWidth(), stats.getHeight()) == (expectedNx, expectedNy)


def test_explicit_cell_counts_override_the_bin_size() -> None:
    maskedImage = MaskedImageF(ImageF(np.ones((HEIGHT, WIDTH), dtype=np.float32)))
    background = make_task(useApprox=False).fitBackground(maskedImage, nx=5, ny=3)
    assert background.getStatsImage().getDimensions() == Extent2I(5, 3)


def test_planar_background_is_recovered_everywhere() -> None:
    # Two cells per axis: AKIMA falls back to LINEAR, which reproduces a plane
    # exactly, extrapolation band included (cell means of a plane are the
    # plane at the cell centres, and a 3-sigma clip keeps every pixel).
    truth = plane(1000.0, 0.25, -0.4)
    exposure = make_exposure(truth)
    task = make_task(useApprox=False)
    result = task.run(exposure)
    np.testing.assert_allclose(exposure.image.array, 0.0, atol=2e-3)
    (element,) = list(result.background)
    assert element[1] == afwMath.Interpolate.AKIMA_SPLINE
    assert element[2] == afwMath.UndersampleStyle.REDUCE_INTERP_ORDER
    assert element[3] == afwMath.ApproximateControl.UNKNOWN
    np.testing.assert_allclose(result.background.getImage().array, truth, rtol=0, atol=2e-3)


def test_planar_background_with_chebyshev_approximation() -> None:
    # A plane is a first-order Chebyshev polynomial, so any order >= 1 fits it exactly.
    truth = plane(500.0, -0.1, 0.3)
    exposure = make_exposure(truth)
    task = make_task(binSize=16)  # 16 x 13 cells: order 6 is allowed
    result = task.run(exposure)
    np.testing.assert_allclose(exposure.image.array, 0.0, atol=2e-3)
    element = result.background[0]
    assert element[3] == afwMath.ApproximateControl.CHEBYSHEV
    assert (element[4], element[5], element[6]) == (6, 6, True)


def test_matches_cell_statistics_and_interpolation_built_independently() -> None:
    rng = np.random.default_rng(7)
    truth = plane(300.0, 0.05, 0.02) + 20 * np.sin(np.mgrid[0:HEIGHT, 0:WIDTH][1] / 40.0)
    pixels = truth + rng.normal(0, 5, truth.shape)
    exposure = make_exposure(pixels, xy0=Point2I(30, -12))
    mask = exposure.mask
    detected = rng.random(pixels.shape) < 0.05
    bad = rng.random(pixels.shape) < 0.02
    saturated = rng.random(pixels.shape) < 0.02  # SAT is not ignored by default
    exposure.image.array[detected] += 1e4
    exposure.image.array[bad] -= 1e4
    exposure.image.array[saturated] += 50
    mask.array[detected] |= mask.getPlaneBitMask("DETECTED")
    mask.array[bad] |= mask.getPlaneBitMask("BAD")
    mask.array[saturated] |= mask.getPlaneBitMask("SAT")
    before = exposure.maskedImage.clone()

    task = make_task(binSize=64, useApprox=False)
    result = task.run(exposure, stats=False)

    # Cell statistics, one makeStatistics call per cell.
    sctrl = afwMath.StatisticsControl()
    sctrl.setAndMask(mask.getPlaneBitMask(IGNORED))
    sctrl.setNanSafe(False)
    xCells, yCells = afw_cells(WIDTH, 4), afw_cells(HEIGHT, 3)  # 256/64 = 4, 200/64 + 0.5 -> 3
    expectedStats = MaskedImageF(len(xCells), len(yCells))
    for iy, (y0, ny) in enumerate(yCells):
        for ix, (x0, nx) in enumerate(xCells):
            local = Box2I(Point2I(x0, y0), Extent2I(nx, ny))
            cell = MaskedImageF(before, bbox=local, origin=LOCAL)
            value = afwMath.makeStatistics(cell, afwMath.MEANCLIP, sctrl).getValue()
            expectedStats.image.array[iy, ix] = value
    stats = result.background[0][0].getStatsImage()
    np.testing.assert_allclose(stats.image.array, expectedStats.image.array, rtol=1e-6)

    model = afwMath.BackgroundMI(exposure.getBBox(), expectedStats)
    expectedImage = model.getImageF("AKIMA_SPLINE", "REDUCE_INTERP_ORDER").array
    np.testing.assert_allclose(exposure.image.array, before.image.array - expectedImage, rtol=0, atol=1e-3)
    # The interpolated background follows the smooth truth, not the masked outliers.
    assert np.abs(expectedImage - truth).max() < 10


def test_masked_pixel_values_do_not_matter() -> None:
    rng = np.random.default_rng(3)
    pixels = plane(100.0, 0.1, 0.1) + rng.normal(0, 2, (HEIGHT, WIDTH))
    masked = rng.random(pixels.shape) < 0.1
    outputs = []
    for garbage in (0.0, 1e6):
        exposure = make_exposure(np.where(masked, garbage, pixels))
        exposure.mask.array[masked] = exposure.mask.getPlaneBitMask("NO_DATA")
        result = make_task(binSize=64, useApprox=False).run(exposure)
        outputs.append(result.background.getImage().array)
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_only_the_image_changes_and_stats_go_to_the_metadata() -> None:
    rng = np.random.default_rng(5)
    exposure = make_exposure(plane(50.0, 0.3, 0.0) + rng.normal(0, 1, (HEIGHT, WIDTH)))
    exposure.variance.array[:] = rng.uniform(1, 2, (HEIGHT, WIDTH))
    exposure.mask.array[::7, ::5] = exposure.mask.getPlaneBitMask("SAT")
    original = exposure.maskedImage.clone()
    make_task(binSize=64, useApprox=False).run(exposure)
    np.testing.assert_array_equal(exposure.mask.array, original.mask.array)
    np.testing.assert_array_equal(exposure.variance.array, original.variance.array)
    subtracted = original.image.array.astype(np.float64) - exposure.image.array
    metadata = exposure.getMetadata()
    assert metadata.getScalar("BGMEAN") == pytest.approx(subtracted.mean(), abs=1e-3)
    assert metadata.getScalar("BGVAR") == pytest.approx(subtracted.var(ddof=1), rel=1e-3)


def test_stats_keys_and_appending_to_an_existing_list() -> None:
    rng = np.random.default_rng(6)
    exposure = make_exposure(plane(10.0, 0.0, 0.05) + rng.normal(0, 1, (HEIGHT, WIDTH)))
    original = exposure.image.array.astype(np.float64)
    task = make_task(binSize=64, useApprox=False)
    first = task.run(exposure, stats=False).background
    second = task.run(exposure, background=first, statsKeys=("MYMEAN", "MYVAR")).background
    assert second is first and len(second) == 2
    total = original - exposure.image.array  # both subtracted backgrounds
    assert exposure.getMetadata().getScalar("MYMEAN") == pytest.approx(total.mean(), abs=1e-3)
    assert "BGMEAN" not in exposure.getMetadata()


def test_approximation_order_is_reduced_for_a_coarse_grid(caplog: pytest.LogCaptureFixture) -> None:
    exposure = make_exposure(plane(5.0, 0.01, 0.02))
    task = make_task(binSize=32)  # 8 x 6 cells: order 6 needs 7 per axis
    with caplog.at_level(logging.WARNING):
        result = task.run(exposure)
    element = result.background[0]
    assert (element[3], element[4], element[5]) == (afwMath.ApproximateControl.CHEBYSHEV, 5, 5)
    assert any("Reducing approxOrder to 5" in record.getMessage() for record in caplog.records)


def test_approximation_with_too_coarse_grid_can_raise_or_grow_the_grid() -> None:
    exposure = make_exposure(plane(5.0, 0.01, 0.02))
    with pytest.raises(ValueError, match="Too few points in grid"):
        make_task(undersampleStyle="THROW_EXCEPTION").run(exposure)
    # INCREASE_NXNYSAMPLE: bins of min(256, 200) // 6 = 33 pixels.
    background = make_task(undersampleStyle="INCREASE_NXNYSAMPLE").fitBackground(exposure.maskedImage)
    assert background.getStatsImage().getDimensions() == Extent2I(256 // 33 + 1, 200 // 33 + 1)


def test_unknown_mask_planes_are_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    pixels = plane(20.0, 0.0, 0.0).astype(np.float32)
    planes = {"BAD": 0, "EDGE": 1}
    maskedImage = MaskedImageF(ImageF(pixels), mask=Mask(WIDTH, HEIGHT, planeDict=planes))
    maskedImage.mask.array[:10] = 1  # BAD
    maskedImage.image.array[:10] = 1e5
    exposure = ExposureF(maskedImage)
    with caplog.at_level(logging.WARNING):
        make_task(useApprox=False).run(exposure)
    np.testing.assert_allclose(exposure.image.array[10:], 0.0, atol=1e-3)
    assert any("DETECTED" in record.getMessage() for record in caplog.records)


def test_bad_inputs_raise_clear_errors() -> None:
    exposure = make_exposure(plane(1.0, 0.0, 0.0))
    exposure.mask.array[:] = exposure.mask.getPlaneBitMask("NO_DATA")
    with pytest.raises(pipeBase.TaskError, match="All pixels"):
        make_task().run(exposure)
    exposure = make_exposure(plane(1.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="approxOrderY"):
        make_task(approxOrderY=3).run(exposure)
    with pytest.raises(ValueError, match="algorithm"):
        make_task(algorithm="NONE").run(exposure)
    with pytest.raises(NotImplementedError, match="doApplyFlatBackgroundRatio"):
        make_task(doApplyFlatBackgroundRatio=True).run(exposure)
