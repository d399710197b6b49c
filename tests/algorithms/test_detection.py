"""Tests of the SourceDetectionTask subset against a naive re-implementation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from lsst.sky.correction.afwlite import math as afwMath
from lsst.sky.correction.afwlite.geom import Point2I
from lsst.sky.correction.afwlite.image import ExposureF, ImageF, MaskedImageF
from lsst.sky.correction.detection import (
    SourceDetectionConfig,
    SourceDetectionTask,
    calculateKernelSize,
    dilateMask,
    gaussianKernel,
    smoothImage,
    smoothVariance,
    stencilHalfWidths,
)
from lsst.sky.correction.testing import makeDummyCamera

WIDTH, HEIGHT = 256, 200
NOISE = 10.0


# Naive reference ------------------------------------------------------------------------------------
def naive_kernel(sigma: float, nSigmaForKernel: float = 7.0) -> np.ndarray:
    """The 2-d normalised Gaussian kernel, built from its definition."""
    width = int(sigma * nSigmaForKernel + 0.5)
    if width % 2 == 0:
        width += 1
    half = width // 2
    kernel = np.zeros((width, width))
    for j in range(width):
        for i in range(width):
            kernel[j, i] = np.exp(-((i - half) ** 2 + (j - half) ** 2) / (2 * sigma**2))
    return kernel / kernel.sum()


def naive_correlate_middle(array: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Explicit 2-d correlation over the pixels where the kernel fits (float64)."""
    size = kernel.shape[0]
    height, width = array.shape[0] - size + 1, array.shape[1] - size + 1
    out = np.zeros((height, width))
    for dy in range(size):
        for dx in range(size):
            out += kernel[dy, dx] * array[dy : dy + height, dx : dx + width].astype(np.float64)
    return out


def naive_stencil(radius: int, isotropic: bool) -> list[tuple[int, int]]:
    offsets = []
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            inside = dx * dx + dy * dy <= radius * radius if isotropic else abs(dx) + abs(dy) <= radius
            if inside:
                offsets.append((dy, dx))
    return offsets


def naive_grow(mask: np.ndarray, radius: int, isotropic: bool) -> np.ndarray:
    grown = mask.copy()
    height, width = mask.shape
    for dy, dx in naive_stencil(radius, isotropic):
        shifted = np.zeros_like(mask)
        shifted[max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = mask[
            max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)
        ]
        grown |= shifted
    return grown


def naive_footprints(above: np.ndarray, minPixels: int) -> np.ndarray:
    labels, count = ndimage.label(above, structure=np.ones((3, 3)))
    kept = np.zeros_like(above)
    for label in range(1, count + 1):
        members = labels == label
        if members.sum() >= minPixels:
            kept |= members
    return kept


def naive_peak_count(image: np.ndarray, footprints: np.ndarray) -> int:
    """afw's rule, pixel by pixel: no strictly brighter 8-neighbour, not on the border; >= 1 per footprint."""
    labels, count = ndimage.label(footprints, structure=np.ones((3, 3)))
    peaks = np.zeros(count + 1, dtype=int)
    height, width = image.shape
    for y in range(1, height - 1):
        for x in range(1, width - 1):
            if labels[y, x] and not (image[y - 1 : y + 2, x - 1 : x + 2] > image[y, x]).any():
                peaks[labels[y, x]] += 1
    return int(np.maximum(peaks[1:], 1).sum())


# Fixtures -------------------------------------------------------------------------------------------
def make_config(**overrides: object) -> SourceDetectionConfig:
    config = SourceDetectionConfig()
    config.reEstimateBackground = False
    config.doTempLocalBackground = False
    config.thresholdValue = 2.5
    for name, value in overrides.items():
        setattr(config, name, value)
    return config


def make_task(**overrides: object) -> SourceDetectionTask:
    return SourceDetectionTask(config=make_config(**overrides))


def gaussian_sources(seed: int, xy0: Point2I | None = None) -> ExposureF:
    """Flat noise plus a few Gaussian sources of various sizes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    pixels = rng.normal(0, NOISE, (HEIGHT, WIDTH))
    for cx, cy, width, amplitude in [
        (60, 50, 2.0, 200),
        (180, 140, 6.0, 30),
        (120, 100, 1.0, 400),
        (30, 170, 3, 8),
    ]:
        pixels += amplitude * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width**2))
    exposure = ExposureF(MaskedImageF(ImageF(pixels.astype(np.float32), xy0=xy0)))
    exposure.variance.array[:] = rng.uniform(0.8, 1.2, (HEIGHT, WIDTH)).astype(np.float32) * NOISE**2
    return exposure


def plane_bits(exposure: ExposureF, name: str) -> np.ndarray:
    return (exposure.mask.array & exposure.mask.getPlaneBitMask(name)) != 0


def blank_exposure(width: int = 64, height: int = 64) -> ExposureF:
    exposure = ExposureF(MaskedImageF(width, height))
    exposure.variance.array[:] = 1.0
    return exposure


# Building blocks ------------------------------------------------------------------------------------
def test_kernel_size_and_taps() -> None:
    assert calculateKernelSize(5.0, 7.0) == 35
    assert calculateKernelSize(2.0, 7.0) == 15  # 14 rounded up to odd
    assert calculateKernelSize(1.0, 7.0) == 7
    taps = gaussianKernel(5.0, 35)
    np.testing.assert_allclose(np.outer(taps, taps), naive_kernel(5.0), rtol=1e-12)


def test_smoothing_matches_explicit_convolution() -> None:
    rng = np.random.default_rng(11)
    image = rng.normal(0, 1, (60, 80)).astype(np.float32)
    variance = rng.uniform(1, 3, (60, 80)).astype(np.float32)
    kernel2d = naive_kernel(2.0)
    taps = gaussianKernel(2.0, 15)
    np.testing.assert_allclose(smoothImage(image, taps), naive_correlate_middle(image, kernel2d), atol=1e-6)
    np.testing.assert_allclose(
        smoothVariance(variance, taps), naive_correlate_middle(variance, kernel2d**2), rtol=1e-6
    )
    # A NaN spoils exactly the outputs whose kernel window covers it.
    image[30, 40] = np.nan
    smoothed = smoothImage(image, taps)
    spoiled = np.isnan(smoothed)
    expected = np.zeros_like(spoiled)
    expected[30 - 14 : 30 + 1, 40 - 14 : 40 + 1] = True
    np.testing.assert_array_equal(spoiled, expected)


@pytest.mark.parametrize("isotropic", [True, False])
@pytest.mark.parametrize("radius", [0, 1, 4, 12])
def test_dilation_matches_explicit_stencil(radius: int, isotropic: bool) -> None:
    rng = np.random.default_rng(radius)
    mask = rng.random((47, 61)) < 0.01
    mask[0, 0] = mask[-1, 30] = True  # seeds on the border
    np.testing.assert_array_equal(
        dilateMask(mask, stencilHalfWidths(radius, isotropic)), naive_grow(mask, radius, isotropic)
    )


@pytest.mark.parametrize("isotropic", [True, False])
@pytest.mark.parametrize("radius", [12, 70])
def test_dilation_across_packed_words(radius: int, isotropic: bool) -> None:
    # Rows of 64-pixel words: seeds on word boundaries and growth across several words.
    rng = np.random.default_rng(radius + 1)
    mask = rng.random((150, 300)) < 0.002
    mask[75, [0, 63, 64, 127, 128, 299]] = True
    np.testing.assert_array_equal(
        dilateMask(mask, stencilHalfWidths(radius, isotropic)), naive_grow(mask, radius, isotropic)
    )


def test_box_dilation() -> None:
    mask = np.zeros((30, 30), dtype=bool)
    mask[10, 20] = True
    expected = np.zeros_like(mask)
    expected[7:14, 17:24] = True
    np.testing.assert_array_equal(dilateMask(mask, [3] * 4), expected)


# detectFootprints -----------------------------------------------------------------------------------
def test_detected_mask_matches_naive_detection() -> None:
    exposure = gaussian_sources(1, xy0=Point2I(100, -40))
    image, variance = exposure.image.array.copy(), exposure.variance.array.copy()
    task = make_task()
    results = task.detectFootprints(exposure, sigma=5.0)

    kernel = naive_kernel(5.0)
    half = kernel.shape[0] // 2
    smoothed = naive_correlate_middle(image, kernel)
    cut = 2.5 * np.sqrt(naive_correlate_middle(variance, kernel**2))
    # The implementation compares in float32: no pixel may sit that close to the cut.
    assert not np.any(np.abs(smoothed - cut) < 1e-4 * cut)
    above = np.zeros((HEIGHT, WIDTH), dtype=bool)
    above[half:-half, half:-half] = naive_footprints(smoothed >= cut, 1)
    grown = naive_grow(above, int(2.4 * 5.0 + 0.5), isotropic=True)

    np.testing.assert_array_equal(plane_bits(exposure, "DETECTED"), grown)
    assert not plane_bits(exposure, "DETECTED_NEGATIVE").any()
    np.testing.assert_array_equal(results.positive.mask, grown)
    assert results.negative is None and results.numNeg == 0
    assert results.numPos == ndimage.label(grown, structure=np.ones((3, 3)))[1]
    assert results.numPos >= 3  # the three bright sources at least
    smoothed32 = smoothed.astype(np.float32)  # peaks compare the float32 smoothed image
    assert results.numPosPeaks == naive_peak_count(smoothed32, above[half:-half, half:-half])
    # Image and variance are left alone; only the mask changes.
    np.testing.assert_array_equal(exposure.image.array, image)
    np.testing.assert_array_equal(exposure.variance.array, variance)
    assert task.metadata["nGrow"] == 12 and task.metadata["smoothingKernelWidth"] == 35


def test_edge_border_is_the_kernel_half_width() -> None:
    exposure = gaussian_sources(2)
    make_task().detectFootprints(exposure, sigma=5.0)
    edge = plane_bits(exposure, "EDGE")
    expected = np.ones((HEIGHT, WIDTH), dtype=bool)
    expected[17:-17, 17:-17] = False
    np.testing.assert_array_equal(edge, expected)

    exposure = gaussian_sources(2)
    make_task().detectFootprints(exposure, sigma=2.0)  # 15-pixel kernel
    expected = np.ones((HEIGHT, WIDTH), dtype=bool)
    expected[7:-7, 7:-7] = False
    np.testing.assert_array_equal(plane_bits(exposure, "EDGE"), expected)


def test_return_original_footprints() -> None:
    exposure = gaussian_sources(3)
    results = make_task(returnOriginalFootprints=True).detectFootprints(exposure, sigma=5.0)
    detected = plane_bits(exposure, "DETECTED")
    assert results.positive.mask.sum() < detected.sum()
    np.testing.assert_array_equal(naive_grow(results.positive.mask, 12, True), detected)


def test_stdev_threshold_uses_clipped_stdev_of_unmasked_smoothed_pixels() -> None:
    exposure = gaussian_sources(4)
    rng = np.random.default_rng(4)
    bad = np.zeros((HEIGHT, WIDTH), dtype=bool)
    bad[rng.integers(0, HEIGHT, 15), rng.integers(0, WIDTH, 15)] = True
    exposure.mask.array[bad] |= exposure.mask.getPlaneBitMask("BAD")
    exposure.image.array[bad] += 500  # would inflate the stdev if not excluded
    image = exposure.image.array.copy()
    make_task(thresholdType="stdev").detectFootprints(exposure, sigma=3.0)

    kernel = naive_kernel(3.0)
    half = kernel.shape[0] // 2
    smoothed = naive_correlate_middle(image, kernel)
    # afw ORs the mask over each kernel window: a BAD pixel taints every output whose window holds it.
    tainted = naive_correlate_middle(bad.astype(np.float64), np.ones_like(kernel)) > 0
    sctrl = afwMath.StatisticsControl()
    sctrl.setAndMask(1)
    stdev = afwMath.makeStatistics(smoothed, tainted.astype(np.int32), afwMath.STDEVCLIP, sctrl).getValue()
    cut = 2.5 * stdev
    assert not np.any(np.abs(smoothed - cut) < 1e-5 * cut)
    above = np.zeros((HEIGHT, WIDTH), dtype=bool)
    above[half:-half, half:-half] = smoothed >= cut
    expected = naive_grow(above, int(2.4 * 3.0 + 0.5), isotropic=True)
    np.testing.assert_array_equal(plane_bits(exposure, "DETECTED"), expected)


def test_variance_threshold_uses_clipped_stdev_of_all_smoothed_pixels() -> None:
    # afw's "variance" threshold is value * sqrt(clipped variance) of the
    # whole searched image, with no mask planes excluded.
    exposure = gaussian_sources(6)
    exposure.mask.array[100:110, 100:110] |= exposure.mask.getPlaneBitMask("BAD")
    image = exposure.image.array.copy()
    make_task(thresholdType="variance").detectFootprints(exposure, sigma=3.0)
    kernel = naive_kernel(3.0)
    half = kernel.shape[0] // 2
    smoothed = naive_correlate_middle(image, kernel)
    cut = 2.5 * afwMath.makeStatistics(smoothed, afwMath.STDEVCLIP).getValue()
    assert not np.any(np.abs(smoothed - cut) < 1e-5 * cut)
    above = np.zeros((HEIGHT, WIDTH), dtype=bool)
    above[half:-half, half:-half] = smoothed >= cut
    np.testing.assert_array_equal(plane_bits(exposure, "DETECTED"), naive_grow(above, 7, isotropic=True))


def test_value_threshold_and_min_pixels() -> None:
    exposure = blank_exposure()
    image = exposure.image.array
    image[5, 5] = 10  # 1 pixel, exactly at the threshold: afw's comparison is >=
    image[10:12, 10:12] = 20  # 4 pixels
    image[20:23, 20:23] = 20  # 9 pixels
    image[40, 40] = image[41, 41] = 20  # diagonal neighbours: one 8-connected footprint of 2
    image[50, 50] = 9.99  # below the threshold
    config = {"thresholdType": "value", "thresholdValue": 10.0, "nSigmaToGrow": 0.0}
    results = make_task(**config).detectFootprints(exposure, doSmooth=False, sigma=1.0)
    assert results.numPos == 4
    np.testing.assert_array_equal(plane_bits(exposure, "DETECTED"), image >= 10)
    assert not plane_bits(exposure, "EDGE").any()  # no smoothing, no border

    for minPixels, expectedCount in [(2, 3), (4, 2), (5, 1), (10, 0)]:
        exposure.mask.array[:] = 0
        results = make_task(minPixels=minPixels, **config).detectFootprints(
            exposure, doSmooth=False, sigma=1.0
        )
        assert results.numPos == expectedCount
        expected = naive_footprints(image >= 10, minPixels)
        np.testing.assert_array_equal(plane_bits(exposure, "DETECTED"), expected)


def test_include_threshold_multiplier_drops_faint_footprints() -> None:
    exposure = blank_exposure()
    image = exposure.image.array
    image[10:14, 10:14] = 15  # above 10 but never above 2 x 10
    image[30:34, 30:34] = 12
    image[31, 31] = 25  # one pixel above 20 keeps this footprint
    config = {"thresholdType": "value", "thresholdValue": 10.0, "nSigmaToGrow": 0.0}
    results = make_task(includeThresholdMultiplier=2.0, **config).detectFootprints(
        exposure, doSmooth=False, sigma=1.0
    )
    assert results.numPos == 1
    expected = np.zeros_like(image, dtype=bool)
    expected[30:34, 30:34] = True
    np.testing.assert_array_equal(plane_bits(exposure, "DETECTED"), expected)


@pytest.mark.parametrize("isotropic", [True, False])
def test_grow_shape_is_disc_or_diamond(isotropic: bool) -> None:
    exposure = blank_exposure()
    exposure.image.array[32, 32] = 100
    task = make_task(thresholdType="value", thresholdValue=10.0, isotropicGrow=isotropic)
    task.detectFootprints(exposure, doSmooth=False, sigma=2.5)  # grow by int(2.4 * 2.5 + 0.5) = 6
    expected = np.zeros((64, 64), dtype=bool)
    for y in range(64):
        for x in range(64):
            dx, dy = x - 32, y - 32
            expected[y, x] = (dx * dx + dy * dy <= 36) if isotropic else (abs(dx) + abs(dy) <= 6)
    np.testing.assert_array_equal(plane_bits(exposure, "DETECTED"), expected)


@pytest.mark.parametrize(("combined", "expectedCount"), [(True, 1), (False, 2)])
def test_combined_grow_merges_footprints(combined: bool, expectedCount: int) -> None:
    exposure = blank_exposure()
    exposure.image.array[32, 20] = exposure.image.array[32, 30] = 100  # grown discs overlap
    task = make_task(thresholdType="value", thresholdValue=10.0, combinedGrow=combined)
    results = task.detectFootprints(exposure, doSmooth=False, sigma=2.5)
    assert results.numPos == expectedCount
    seeds = exposure.image.array >= 10
    np.testing.assert_array_equal(plane_bits(exposure, "DETECTED"), naive_grow(seeds, 6, True))


def test_clear_mask_semantics() -> None:
    for clearMask in (True, False):
        exposure = blank_exposure()
        exposure.image.array[40, 40] = 100
        mask = exposure.mask
        mask.array[2:5, 2:5] |= mask.getPlaneBitMask("DETECTED")
        mask.array[60:62, 2:5] |= mask.getPlaneBitMask("DETECTED_NEGATIVE")
        mask.array[10, 10] |= mask.getPlaneBitMask("SAT")
        task = make_task(thresholdType="value", thresholdValue=10.0, nSigmaToGrow=0.0)
        task.detectFootprints(exposure, doSmooth=False, sigma=1.0, clearMask=clearMask)
        expected = np.zeros((64, 64), dtype=bool)
        expected[40, 40] = True
        if not clearMask:
            expected[2:5, 2:5] = True
        np.testing.assert_array_equal(plane_bits(exposure, "DETECTED"), expected)
        assert plane_bits(exposure, "DETECTED_NEGATIVE").any() == (not clearMask)
        assert plane_bits(exposure, "SAT")[10, 10]  # other planes are never touched


def test_negative_and_both_polarities() -> None:
    exposure = blank_exposure()
    exposure.image.array[20, 20] = 100
    exposure.image.array[40:42, 40:43] = -100
    config = {"thresholdType": "pixel_stdev", "thresholdValue": 10.0, "nSigmaToGrow": 0.0}
    results = make_task(thresholdPolarity="negative", **config).detectFootprints(
        exposure, doSmooth=False, sigma=1.0
    )
    assert results.positive is None and (results.numNeg, results.numPos) == (1, 0)
    assert not plane_bits(exposure, "DETECTED").any()
    np.testing.assert_array_equal(plane_bits(exposure, "DETECTED_NEGATIVE"), exposure.image.array <= -10)

    results = make_task(thresholdPolarity="both", **config).detectFootprints(
        exposure, doSmooth=False, sigma=1.0
    )
    assert (results.numPos, results.numNeg) == (1, 1)
    np.testing.assert_array_equal(plane_bits(exposure, "DETECTED"), exposure.image.array >= 10)
    np.testing.assert_array_equal(plane_bits(exposure, "DETECTED_NEGATIVE"), exposure.image.array <= -10)


def test_peak_counts_follow_afw() -> None:
    exposure = blank_exposure()
    image = exposure.image.array
    x = np.arange(10, 30)
    # One footprint along a row with two strict maxima, at x = 14 and x = 25.
    image[20, 10:30] = 20 + 10 * np.exp(-((x - 14) ** 2) / 4) + 10 * np.exp(-((x - 25) ** 2) / 4)
    image[40:42, 40:42] = 50  # a plateau: all four pixels count as peaks
    image[10:12, 50:52] = 40
    image[10, 50] = 45  # one strict maximum
    task = make_task(thresholdType="value", thresholdValue=10.0, nSigmaToGrow=0.0)
    results = task.detectFootprints(exposure, doSmooth=False, sigma=1.0)
    assert results.numPos == 3
    assert results.numPosPeaks == 2 + 4 + 1


def test_bad_calls_raise_clear_errors() -> None:
    exposure = gaussian_sources(5)
    with pytest.raises(RuntimeError, match="sigma"):
        make_task().detectFootprints(exposure)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        make_task().detectFootprints(exposure, sigma=0.0)
    for flag in ("reEstimateBackground", "doTempLocalBackground", "doTempWideBackground"):
        with pytest.raises(NotImplementedError, match=flag):
            make_task(**{flag: True}).detectFootprints(exposure, sigma=5.0)
    small = blank_exposure(30, 30)
    small.setDetector(makeDummyCamera()[1])
    with pytest.raises(ValueError, match=r"detector 1: .* too small"):
        make_task().detectFootprints(small, sigma=5.0)


def test_config_defaults_match_meas_algorithms() -> None:
    config = SourceDetectionConfig()
    assert (config.thresholdValue, config.thresholdType, config.thresholdPolarity) == (
        5.0,
        "pixel_stdev",
        "positive",
    )
    assert (config.includeThresholdMultiplier, config.minPixels, config.nSigmaToGrow) == (1.0, 1, 2.4)
    assert (config.isotropicGrow, config.combinedGrow, config.nSigmaForKernel) == (True, True, 7.0)
    assert list(config.statsMask) == ["BAD", "SAT", "EDGE", "NO_DATA"]
    assert (config.reEstimateBackground, config.doTempLocalBackground, config.doTempWideBackground) == (
        True,
        True,
        False,
    )
    assert config.tempWideBackground.binSize == 512
    assert "DETECTED" not in config.tempWideBackground.ignoredPixelMask
    assert config.tempLocalBackground.binSize == 64
