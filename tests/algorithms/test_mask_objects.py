"""Tests of MaskObjectsTask: iterative object masking and object removal."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from lsst.sky.correction.afwlite import math as afwMath
from lsst.sky.correction.afwlite.image import ExposureF, ImageF, MaskedImageF
from lsst.sky.correction.mask_objects import MaskObjectsConfig, MaskObjectsTask

WIDTH, HEIGHT = 512, 384
NOISE = 10.0
SOURCE_X, SOURCE_Y, SOURCE_SIGMA, SOURCE_AMPLITUDE = 250.0, 190.0, 12.0, 300.0
EDGE_WIDTH = 17  # half of the 35-pixel kernel for detectSigma = 5
SKY = 1000.0
# About 9 counts across the image: with 128-pixel cells the model follows it,
# while masking part of a cell biases that cell's mean by much less than the
# ~1.4-count threshold of the smoothed image.
SLOPE = (0.012, -0.009)


def source_profile() -> np.ndarray:
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    r2 = (x - SOURCE_X) ** 2 + (y - SOURCE_Y) ** 2
    return SOURCE_AMPLITUDE * np.exp(-r2 / (2 * SOURCE_SIGMA**2))


def distance_from_source() -> np.ndarray:
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    return np.hypot(x - SOURCE_X, y - SOURCE_Y)


def make_exposure(seed: int, slope: tuple[float, float] = SLOPE, withSource: bool = True) -> ExposureF:
    """A bright extended source on a sloped sky with Gaussian noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    sky = SKY + slope[0] * x + slope[1] * y
    pixels = sky + rng.normal(0, NOISE, (HEIGHT, WIDTH))
    if withSource:
        pixels += source_profile()
    exposure = ExposureF(MaskedImageF(ImageF(pixels.astype(np.float32))))
    exposure.variance.array[:] = NOISE**2
    return exposure


def plane_bits(exposure: ExposureF, name: str) -> np.ndarray:
    return (exposure.mask.array & exposure.mask.getPlaneBitMask(name)) != 0


def sloped_sky_config() -> MaskObjectsConfig:
    config = MaskObjectsConfig()
    config.subtractBackground.binSize = 128  # 4 x 3 cells: the slope is modelled on this small image
    return config


# Config -------------------------------------------------------------------------------------------
def test_config_defaults_and_set_defaults() -> None:
    config = MaskObjectsConfig()
    assert (config.nIter, config.detectSigma, config.doInterpolate) == (3, 5.0, True)
    assert config.detection.thresholdValue == 2.5
    assert not config.detection.reEstimateBackground
    assert not config.detection.doTempLocalBackground
    assert not config.detection.doTempWideBackground
    assert (config.subtractBackground.binSize, config.subtractBackground.useApprox) == (1024, False)
    assert (config.interpolate.binSize, config.interpolate.useApprox) == (256, False)
    # Fields setDefaults does not touch keep meas_algorithms' defaults.
    assert config.detection.thresholdType == "pixel_stdev"
    assert config.subtractBackground.algorithm == "AKIMA_SPLINE"
    config.validate()


@pytest.mark.parametrize("flag", ["reEstimateBackground", "doTempLocalBackground", "doTempWideBackground"])
def test_validate_rejects_background_steps_inside_detection(flag: str) -> None:
    config = MaskObjectsConfig()
    setattr(config.detection, flag, True)
    with pytest.raises(RuntimeError, match=f"detection.{flag}"):
        config.validate()
    with pytest.raises(RuntimeError, match=flag):
        MaskObjectsTask(config=config)


def test_config_round_trips_through_pex_config_persistence() -> None:
    config = MaskObjectsConfig()
    config.nIter = 2
    config.detectSigma = 4.0
    config.detection.isotropicGrow = False
    config.detection.thresholdType = "stdev"
    config.interpolate.binSize = 128
    config.subtractBackground.ignoredPixelMask = ["BAD", "DETECTED"]
    text = config.saveToString()
    loaded = MaskObjectsConfig()
    loaded.loadFromString(text)
    assert loaded.compare(config)
    assert (loaded.nIter, loaded.detectSigma, loaded.interpolate.binSize) == (2, 4.0, 128)
    assert loaded.detection.thresholdType == "stdev" and loaded.detection.isotropicGrow is False
    assert list(loaded.subtractBackground.ignoredPixelMask) == ["BAD", "DETECTED"]
    assert not MaskObjectsConfig().compare(config)


# findObjects --------------------------------------------------------------------------------------
def test_find_objects_masks_the_source_on_a_sloped_sky() -> None:
    exposure = make_exposure(seed=1)
    before = exposure.maskedImage.clone()
    task = MaskObjectsTask(config=sloped_sky_config())
    task.findObjects(exposure)

    detected = plane_bits(exposure, "DETECTED")
    # Every pixel where the source is brighter than one noise sigma is masked
    # (the smoothed source there is ~10 times the 2.5-sigma smoothed threshold).
    assert detected[source_profile() > NOISE].all()
    # Empty sky far from the source: a 2.5-sigma cut of the sigma-5 smoothed
    # noise, grown by 12 pixels, masks some 10 % of pure noise; the sloped sky
    # and the source must add (almost) nothing to that.
    inner = np.zeros_like(detected)
    inner[EDGE_WIDTH:-EDGE_WIDTH, EDGE_WIDTH:-EDGE_WIDTH] = True
    sky = inner & (distance_from_source() > 100)
    noiseOnly = make_exposure(seed=1, slope=(0.0, 0.0), withSource=False)
    MaskObjectsTask(config=sloped_sky_config()).findObjects(noiseOnly)
    noiseFraction = plane_bits(noiseOnly, "DETECTED")[sky].mean()
    assert noiseFraction < 0.2
    assert detected[sky].mean() < noiseFraction + 0.03
    # The image comes back up to float32 rounding; the variance is untouched.
    np.testing.assert_allclose(exposure.image.array, before.image.array, rtol=0, atol=5e-4)
    np.testing.assert_array_equal(exposure.variance.array, before.variance.array)
    # Side effects the reference has too: EDGE border, no DETECTED_NEGATIVE, one BGMEAN per pass.
    assert plane_bits(exposure, "EDGE").sum() == WIDTH * HEIGHT - inner.sum()
    assert not plane_bits(exposure, "EDGE")[inner].any()
    assert not plane_bits(exposure, "DETECTED_NEGATIVE").any()
    assert exposure.getMetadata().valueCount("BGMEAN") == 3


def test_later_passes_fit_the_sky_under_the_masked_source(monkeypatch: pytest.MonkeyPatch) -> None:
    # The point of iterating: the first background is pulled up by the
    # source's wings; once the source is masked the fit follows the sky.
    exposure = make_exposure(seed=2)
    task = MaskObjectsTask(config=sloped_sky_config())
    backgrounds: list[np.ndarray] = []
    subtract = task.subtractBackground.run

    def recordingRun(exposure: ExposureF, **kwargs: Any) -> Any:
        result = subtract(exposure, **kwargs)
        backgrounds.append(result.background.getImage().array.copy())
        return result

    monkeypatch.setattr(task.subtractBackground, "run", recordingRun)
    task.findObjects(exposure)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    truth = SKY + SLOPE[0] * x + SLOPE[1] * y
    near = distance_from_source() < 60
    biases = [float((background - truth)[near].mean()) for background in backgrounds]
    assert len(biases) == 3
    assert biases[0] > 0.5  # the wings of a 300-count source
    assert abs(biases[1]) < 0.3 and abs(biases[2]) < 0.3


def test_find_objects_with_default_config() -> None:
    exposure = make_exposure(seed=3, slope=(0.0, 0.0))
    before = exposure.image.array.copy()
    MaskObjectsTask().findObjects(exposure)
    detected = plane_bits(exposure, "DETECTED")
    assert detected[source_profile() > NOISE].all()
    np.testing.assert_allclose(exposure.image.array, before, rtol=0, atol=5e-4)


def test_stale_detections_are_cleared() -> None:
    exposure = make_exposure(seed=4)
    stale = np.zeros((HEIGHT, WIDTH), dtype=bool)
    stale[300:340, 30:90] = True  # empty sky, far from the source
    exposure.mask.array[stale] |= exposure.mask.getPlaneBitMask("DETECTED")
    MaskObjectsTask(config=sloped_sky_config()).findObjects(exposure)
    assert plane_bits(exposure, "DETECTED")[stale].mean() < 0.5


# removeObjects ------------------------------------------------------------------------------------
def independent_interpolation(exposure: ExposureF) -> np.ndarray:
    """The 256-pixel AKIMA background of the masked image, built directly with afwMath."""
    mask = exposure.mask
    sctrl = afwMath.StatisticsControl()
    sctrl.setAndMask(mask.getPlaneBitMask(["BAD", "EDGE", "DETECTED", "DETECTED_NEGATIVE", "NO_DATA"]))
    sctrl.setNanSafe(False)
    nx, ny = max(int(WIDTH / 256 + 0.5), 1), max(int(HEIGHT / 256 + 0.5), 1)
    bctrl = afwMath.BackgroundControl("AKIMA_SPLINE", nx, ny, "REDUCE_INTERP_ORDER", sctrl, "MEANCLIP")
    return afwMath.makeBackground(exposure.maskedImage, bctrl).getImageF().array


def test_run_replaces_detected_pixels_by_the_interpolated_background() -> None:
    exposure = make_exposure(seed=5)
    saturated = np.zeros((HEIGHT, WIDTH), dtype=bool)
    saturated[50:53, 400:405] = True
    exposure.mask.array[saturated] |= exposure.mask.getPlaneBitMask("SAT")
    task = MaskObjectsTask(config=sloped_sky_config())

    found = exposure.clone()
    task.findObjects(found)
    replaced = plane_bits(found, "DETECTED") | saturated
    expected = np.where(replaced, independent_interpolation(found), found.image.array)

    task.run(exposure, maskPlanes=["SAT"])
    np.testing.assert_allclose(exposure.image.array, expected, rtol=0, atol=1e-3)
    assert not plane_bits(exposure, "DETECTED").any()
    np.testing.assert_array_equal(plane_bits(exposure, "SAT"), saturated)
    # The source is gone: what is left near it is the sky model.
    near = distance_from_source() < 20
    assert np.abs(exposure.image.array[near] - SKY - SLOPE[0] * SOURCE_X - SLOPE[1] * SOURCE_Y).max() < 15


def test_remove_objects_without_interpolation_uses_the_median() -> None:
    exposure = make_exposure(seed=6)
    config = sloped_sky_config()
    config.doInterpolate = False
    task = MaskObjectsTask(config=config)
    task.findObjects(exposure)
    detected = plane_bits(exposure, "DETECTED")
    median = np.median(exposure.image.array[~detected])
    others = exposure.image.array[~detected].copy()
    task.removeObjects(exposure)
    np.testing.assert_array_equal(exposure.image.array[detected], np.float32(median))
    np.testing.assert_array_equal(exposure.image.array[~detected], others)
    np.testing.assert_array_equal(plane_bits(exposure, "DETECTED"), detected)  # the mask stays
