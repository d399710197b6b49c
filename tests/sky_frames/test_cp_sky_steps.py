"""The four cpSky steps, each against an expectation computed here with numpy.

The exposures are TinyCam detectors (256 x 200 pixels) made of known
patterns, so every expected value is a mean, a median or a sum of known
numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

from lsst.sky.correction._input_checks import skyFrameImage
from lsst.sky.correction.afwlite.geom import Box2I, Extent2I, Point2I
from lsst.sky.correction.afwlite.image import ExposureF, MaskedImageF
from lsst.sky.correction.afwlite.math import BackgroundList
from lsst.sky.correction.focal_plane_background import FocalPlaneBackground, FocalPlaneBackgroundConfig
from lsst.sky.correction.sky_frames import (
    CpSkyCombineConfig,
    CpSkyCombineTask,
    CpSkyImageConfig,
    CpSkyImageTask,
    CpSkyScaleMeasureTask,
    CpSkySubtractBackgroundConfig,
    CpSkySubtractBackgroundTask,
    combineBinnedFrames,
)
from lsst.sky.correction.sky_measurement import SkyMeasurementTask
from lsst.sky.correction.testing import makeConstantBackground, makeTinyCamera

CAMERA = makeTinyCamera()
PIXEL_MM = 0.010


def largeScaleConfig(superpixelPixels: float) -> FocalPlaneBackgroundConfig:
    config = CpSkyImageConfig().largeScaleBackground
    config.xSize = config.ySize = superpixelPixels * PIXEL_MM
    config.pixelSize = PIXEL_MM
    return config


def exposureOf(detectorId: int, image: np.ndarray) -> ExposureF:
    detector = CAMERA[detectorId]
    exposure = ExposureF(detector.getBBox())
    exposure.image.array[:] = image.astype(np.float32)
    exposure.variance.array[:] = 1.0
    exposure.setDetector(detector)
    return exposure


# CpSkyImageTask ---------------------------------------------------------------------------------


def imageTask(superpixelPixels: float = 100.0, minFrac: float = 0.1) -> CpSkyImageTask:
    config = CpSkyImageConfig()
    config.largeScaleBackground = largeScaleConfig(superpixelPixels)
    config.largeScaleBackground.minFrac = minFrac
    return CpSkyImageTask(config=config)


def test_image_restores_the_background_and_replaces_a_star() -> None:
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:200, 0:256]
    star = 5000.0 * np.exp(-((xx - 128.0) ** 2 + (yy - 100.0) ** 2) / (2 * 2.0**2))
    calexp = exposureOf(0, rng.normal(100.0, 1.0, (200, 256)) + star)
    before = calexp.image.array.copy()
    bbox = calexp.getBBox()
    # One 10-mm superpixel holds the whole 2.56 x 2 mm detector (3.7% of its area).
    result = imageTask(1000.0, minFrac=0.01).run(calexp, CAMERA, inputBkg=makeConstantBackground(bbox, 500.0))

    masked = result.maskedExp.image.array
    far = np.hypot(xx - 128.0, yy - 100.0) > 30
    # Away from the star a pixel either came back with the background only (up to the float32
    # rounding of object masking's subtract-and-restore passes), or lay in the grown footprint of a
    # 2.5-sigma noise peak and was replaced by the smooth 256-px background, 600 within its noise.
    unchanged = np.abs(masked - (before + 500.0)) < 1e-3
    replaced = np.abs(masked - 600.0) < 0.2
    assert np.all((unchanged | replaced)[far])
    assert unchanged[far].mean() > 0.8
    # The star's pixels were replaced by the smooth background: restored sky, not 5000 counts.
    assert np.all(np.abs(masked[np.hypot(xx - 128.0, yy - 100.0) < 3] - 600.0) < 5.0)

    # The detector's usable pixels all went into its one superpixel.
    mask = result.maskedExp.mask
    bits = mask.getPlaneBitMask(list(imageTask().config.largeScaleBackground.mask))
    usable = np.count_nonzero((mask.array & bits) == 0)
    counts = result.maskedBkg.getCounts().array
    assert counts.sum() == usable
    # And the background they measure is the restored sky.
    stats = result.maskedBkg.getStatsImage().array
    assert np.count_nonzero(counts) == 1
    assert np.allclose(stats, 600.0, atol=0.2)


def test_image_without_restoring_connection_and_all_masked_detector() -> None:
    config = CpSkyImageConfig()
    config.doRestoreBackground = False
    config.largeScaleBackground = largeScaleConfig(100.0)
    connections = config.connections.ConnectionsClass(config=config)
    assert "inputBkg" not in connections.inputs

    calexp = exposureOf(1, np.full((200, 256), 7.0))
    calexp.mask.array[:] = calexp.mask.getPlaneBitMask("BAD")
    result = CpSkyImageTask(config=config).run(calexp, CAMERA)
    assert np.all(result.maskedExp.image.array == 7.0)  # object masking skipped, image untouched
    assert result.maskedBkg.getCounts().array.sum() == 0


def test_image_rejects_a_background_of_another_size() -> None:
    calexp = exposureOf(0, np.zeros((200, 256)))
    other = makeConstantBackground(Box2I(Point2I(0, 0), Extent2I(100, 100)), 1.0)
    with pytest.raises(ValueError, match="background to restore"):
        imageTask().run(calexp, CAMERA, inputBkg=other)


# CpSkyScaleMeasureTask --------------------------------------------------------------------------


def filledModels(rng: np.random.Generator, nModels: int) -> list[FocalPlaneBackground]:
    """Per-detector models whose every superpixel has enough pixels (no interpolation)."""
    template = FocalPlaneBackground.fromCamera(largeScaleConfig(100.0), CAMERA)
    models = []
    for _ in range(nModels):
        model = template.clone()
        counts = rng.integers(2000, 5000, model.getCounts().array.shape).astype(np.float32)
        model.getCounts().array[:] = counts
        model.getValues().array[:] = (counts * rng.uniform(50.0, 150.0, counts.shape)).astype(np.float32)
        models.append(model)
    return models


def test_scale_is_the_median_of_the_merged_model() -> None:
    models = filledModels(np.random.default_rng(2), 4)
    originals = [model.getValues().array.copy() for model in models]
    result = CpSkyScaleMeasureTask().run(models)

    values = models[0].getValues().array.copy()
    counts = models[0].getCounts().array.copy()
    for model in models[1:]:
        values += model.getValues().array
        counts += model.getCounts().array
    expected = np.median(values / counts)
    assert result.outputScale["scale"] == pytest.approx(float(expected), rel=1e-6)
    assert np.array_equal(result.outputBkg.getCounts().array, counts)
    for model, original in zip(models, originals, strict=True):
        assert np.array_equal(model.getValues().array, original)  # the inputs are not merged into


def test_scale_refuses_a_non_positive_median() -> None:
    models = filledModels(np.random.default_rng(3), 2)
    for model in models:
        model.getValues().array[:] *= -1.0
    with pytest.raises(ValueError, match="must be positive"):
        CpSkyScaleMeasureTask().run(models)


# CpSkySubtractBackgroundTask -----------------------------------------------------------------------


def constantModel(value: float) -> FocalPlaneBackground:
    model = FocalPlaneBackground.fromCamera(largeScaleConfig(100.0), CAMERA)
    model.getCounts().array[:] = 1.0e4
    model.getValues().array[:] = value * 1.0e4
    return model


def blockMeans(image: np.ndarray, good: np.ndarray, height: int, width: int) -> np.ndarray:
    """Mean of the good pixels of each height x width block (NaN where none)."""
    ny, nx = image.shape[0] // height, image.shape[1] // width
    blocks = image.reshape(ny, height, nx, width).transpose(0, 2, 1, 3).reshape(ny, nx, -1)
    use = good.reshape(ny, height, nx, width).transpose(0, 2, 1, 3).reshape(ny, nx, -1)
    total = np.where(use, blocks, 0.0).sum(axis=-1)
    count = use.sum(axis=-1)
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def test_subtract_bins_the_normalised_residual() -> None:
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[0:200, 0:256].astype(float)
    pattern = 0.02 * np.sin(xx / 40.0) + 0.01 * (yy / 200.0)
    level, scale = 300.0, 250.0
    image = level + scale * pattern
    spikes = rng.random(image.shape) < 0.003
    image[spikes] = 1.0e4  # clipped out of each bin
    exposure = exposureOf(2, image)
    exposure.mask.array[:40, :32] = exposure.mask.getPlaneBitMask("DETECTED")  # one bin has no pixels
    exposure.mask.array[100:110, 100:140] |= exposure.mask.getPlaneBitMask("SAT")

    config = CpSkySubtractBackgroundConfig()
    config.sky.background.xBinSize = 32
    config.sky.background.yBinSize = 40
    result = CpSkySubtractBackgroundTask(config=config).run(exposure, constantModel(level), {"scale": scale})

    (element,) = result.outputBkg
    bins = element[0].getStatsImage().image.array
    good = ~spikes & ((exposure.mask.array & exposure.mask.getPlaneBitMask(["DETECTED", "SAT"])) == 0)
    expected = blockMeans(pattern, good, 40, 32)
    assert bins.shape == (5, 8)
    assert np.isnan(bins[0, 0]) and np.isnan(expected[0, 0])
    assert np.allclose(bins, expected, rtol=0, atol=2e-6, equal_nan=True)
    assert element[0].getImageBBox() == exposure.getBBox()


@pytest.mark.parametrize("scale", [0.0, -2.0, float("nan")])
def test_subtract_refuses_a_bad_scale(scale: float) -> None:
    exposure = exposureOf(2, np.ones((200, 256)))
    with pytest.raises(ValueError, match="positive and finite"):
        CpSkySubtractBackgroundTask().run(exposure, constantModel(1.0), {"scale": scale})


# CpSkyCombineTask -------------------------------------------------------------------------------------


def binnedFrames(rng: np.random.Generator, nVisits: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Per-visit bins: 20 spread values, 4 high ones, 1 wild one per bin, a few NaN; and the expectation.

    The high values make the mean differ from the median; the wild value is
    clipped.  The expectation is the plain mean of the values that are
    neither wild nor NaN; bin (0, 0) is NaN in every visit.
    """
    assert nVisits == 25
    truth = rng.normal(0.0, 1.0, (5, 8))
    offsets = np.concatenate([np.linspace(-0.1, 0.1, 20), np.full(4, 0.15), [1000.0]])
    stack = np.empty((nVisits, 5, 8))
    for index in np.ndindex(5, 8):
        stack[(slice(None), *index)] = truth[index] + rng.permutation(offsets)
    stack = stack.astype(np.float32)
    wild = np.abs(stack - truth) > 100
    holes = rng.random(stack.shape) < 0.05
    stack[holes] = np.nan
    stack[:, 0, 0] = np.nan
    keep = ~wild & ~np.isnan(stack)
    with np.errstate(invalid="ignore"):
        expected = np.where(keep, stack.astype(np.float64), 0.0).sum(axis=0) / keep.sum(axis=0)
    expected[0, 0] = np.median(expected.ravel()[1:])
    return list(stack), expected


def asStatsImage(array: np.ndarray) -> MaskedImageF:
    statsImage = MaskedImageF(array.shape[1], array.shape[0])
    statsImage.image.array[:] = array
    statsImage.variance.array[:] = 1.0
    return statsImage


def test_combine_is_a_clipped_mean_with_empty_bins_set_to_the_median() -> None:
    frames, expected = binnedFrames(np.random.default_rng(5), 25)
    combined = combineBinnedFrames([asStatsImage(frame) for frame in frames], 3.0, 3)
    assert np.allclose(combined.image.array, expected, rtol=0, atol=1e-6)
    assert np.all(np.isfinite(combined.variance.array))


def test_combine_refuses_empty_and_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="no binned frames"):
        combineBinnedFrames([], 3.0, 3)
    with pytest.raises(ValueError, match="bins, frame 0"):
        combineBinnedFrames([asStatsImage(np.zeros((5, 8))), asStatsImage(np.zeros((5, 7)))], 3.0, 3)
    with pytest.raises(ValueError, match="none of the"):
        combineBinnedFrames([asStatsImage(np.full((2, 2), np.nan))] * 3, 3.0, 3)


def backgroundOf(statsImage: MaskedImageF, detectorId: int) -> BackgroundList:
    task = SkyMeasurementTask()
    exposure = task.backgroundToExposure(statsImage, CAMERA[detectorId].getBBox())
    return task.exposureToBackground(exposure)


def test_combine_writes_a_sky_frame_the_correction_task_reads() -> None:
    frames, expected = binnedFrames(np.random.default_rng(6), 25)
    detector = CAMERA[3]
    inputs = [backgroundOf(asStatsImage(frame), 3) for frame in frames]
    result = CpSkyCombineTask().run(inputs, detector=detector, visits=range(25), physicalFilter="tiny_r")
    sky = result.outputCalib

    metadata = sky.getMetadata()
    bbox = detector.getBBox()
    cards = {card: metadata.getScalar(card) for card in ("BOX.MINX", "BOX.MINY", "BOX.MAXX", "BOX.MAXY")}
    assert cards == {
        "BOX.MINX": bbox.getMinX(),
        "BOX.MINY": bbox.getMinY(),
        "BOX.MAXX": bbox.getMaxX(),
        "BOX.MAXY": bbox.getMaxY(),
    }
    assert metadata.getScalar("ALGORITHM") == "NATURAL_SPLINE"
    assert metadata.getScalar("CALIB_NINPUTS") == 25
    assert sky.getDetector() is detector
    assert np.allclose(sky.image.array, expected, rtol=0, atol=1e-6)
    # What SkyCorrectionTask does with a sky frame: its checked model and full-resolution image.
    model, image = skyFrameImage(SkyMeasurementTask(), sky, 3, bbox)
    assert image.getBBox() == bbox
    assert np.array_equal(model[0][0].getStatsImage().image.array, sky.image.array)


def test_combine_refuses_frames_of_different_detectors() -> None:
    statsImage = asStatsImage(np.ones((5, 8)))
    task = SkyMeasurementTask()
    shifted = task.exposureToBackground(
        task.backgroundToExposure(statsImage, Box2I(Point2I(0, 0), Extent2I(300, 200)))
    )
    with pytest.raises(ValueError, match="different bboxes"):
        CpSkyCombineTask().run([backgroundOf(statsImage, 0), shifted])
    with pytest.raises(ValueError, match="holds 0 background elements"):
        CpSkyCombineTask().run([backgroundOf(statsImage, 0), BackgroundList()])


def test_combine_config_validation() -> None:
    config = CpSkyCombineConfig()
    config.nIter = 0
    with pytest.raises(Exception, match="nIter"):
        config.validate()
