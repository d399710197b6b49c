"""Footprints, peaks, growth and statsBad of SourceDetectionTask against the numpy/scipy formulation.

The expectation is the formulation detection used before its compiled row
runs: the threshold test as whole boolean arrays, `scipy.ndimage.label`
(8-connected), footprint filtering by ``bincount``, peaks by neighbour
gathers, growth by `scipy.ndimage.binary_dilation` with the stencil, and
the merged count by labelling the grown mask again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from detection_oracle import numpy_above, numpy_peaks_per_label
from scipy import ndimage

from lsst.sky.correction.afwlite.geom import Point2I
from lsst.sky.correction.afwlite.image import ExposureF, ImageF, MaskedImageF
from lsst.sky.correction.detection import SourceDetectionConfig, SourceDetectionTask, stencilHalfWidths

EIGHT = np.ones((3, 3), dtype=bool)
SIGMA = 1.5


# The numpy formulation ---------------------------------------------------------------------------------
def numpy_label(above: np.ndarray, include: np.ndarray | None, minPixels: int) -> tuple[np.ndarray, int]:
    labels, count = ndimage.label(above, structure=EIGHT)
    if count == 0:
        return labels, 0
    keep = np.ones(count + 1, dtype=bool)
    if minPixels > 1:
        keep &= np.bincount(labels.ravel(), minlength=count + 1) >= minPixels
    if include is not None:
        keep &= np.bincount(labels[include], minlength=count + 1) > 0
    keep[0] = False
    newIds = (np.cumsum(keep) * keep).astype(labels.dtype)
    return newIds[labels], int(keep.sum())


def numpy_peaks(image: np.ndarray, labels: np.ndarray, count: int, positive: bool) -> int:
    if count == 0:
        return 0
    return int(np.maximum(numpy_peaks_per_label(image, labels, count, positive), 1).sum())


def stencil_structure(radius: int, isotropic: bool) -> np.ndarray:
    offsets = np.arange(-radius, radius + 1)
    dy, dx = np.meshgrid(offsets, offsets, indexing="ij")
    return dx * dx + dy * dy <= radius * radius if isotropic else np.abs(dx) + np.abs(dy) <= radius


def expected_detection(config: SourceDetectionConfig, exposure: ExposureF) -> dict[str, Any]:
    """Masks and counts of ``detectFootprints`` by the numpy formulation, on a copy of ``exposure``."""
    task = SourceDetectionTask(config=config)
    copy = ExposureF(exposure, deep=True)
    task.clearMask(copy.mask)
    searched = task.convolveImage(copy.maskedImage, SIGMA)
    level = task._thresholdLevel(searched, 1.0)
    variance = searched.variance if config.thresholdType == "pixel_stdev" else None
    height, width = copy.getHeight(), copy.getWidth()
    half = (width - searched.image.shape[1]) // 2
    nGrow = int(config.nSigmaToGrow * SIGMA + 0.5) if config.nSigmaToGrow > 0 else 0
    out: dict[str, Any] = {}
    for positive, name in ((True, "positive"), (False, "negative")):
        if config.thresholdPolarity == ("negative" if positive else "positive"):
            out[name] = None
            continue
        above = numpy_above(searched.image, variance, level, positive)
        multiplier = config.includeThresholdMultiplier
        include = None
        if multiplier != 1.0:
            include = numpy_above(searched.image, variance, level * multiplier, positive)
        labels, count = numpy_label(above, include, config.minPixels)
        peaks = numpy_peaks(searched.image, labels, count, positive)
        original = np.zeros((height, width), dtype=bool)
        original[half : height - half, half : width - half] = labels != 0
        grown, numFootprints = original, count
        if nGrow > 0 and count > 0:
            structure = stencil_structure(nGrow, config.isotropicGrow)
            grown = ndimage.binary_dilation(original, structure=structure)
            if config.combinedGrow:
                numFootprints = ndimage.label(grown, structure=EIGHT)[1]
        out[name] = (original if config.returnOriginalFootprints else grown, grown, numFootprints, peaks)
    return out


# Inputs -----------------------------------------------------------------------------------------------
def make_exposure(seed: int, width: int = 150, height: int = 110) -> ExposureF:
    """Noise with bright and dark blobs, a few NaN pixels and BAD/SAT pixels, at a non-zero xy0."""
    rng = np.random.default_rng(seed)
    pixels = rng.normal(0, 1, (height, width))
    y, x = np.mgrid[0:height, 0:width]
    for _ in range(12):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        size, amplitude = rng.uniform(0.7, 4), rng.choice([-1, 1]) * rng.uniform(2, 15)
        pixels += amplitude * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * size**2))
    pixels[rng.integers(0, height, 6), rng.integers(0, width, 6)] = np.nan
    exposure = ExposureF(MaskedImageF(ImageF(pixels.astype(np.float32), xy0=Point2I(-20, 300))))
    exposure.variance.array[:] = rng.uniform(0.8, 1.2, (height, width)).astype(np.float32)
    mask = exposure.mask
    mask.array[rng.integers(0, height, 30), rng.integers(0, width, 30)] |= mask.getPlaneBitMask("BAD")
    mask.array[50:54, 70:73] |= mask.getPlaneBitMask("SAT")
    return exposure


def make_config(**overrides: object) -> SourceDetectionConfig:
    config = SourceDetectionConfig()
    config.reEstimateBackground = False
    config.doTempLocalBackground = False
    # About 2.5 times the noise of the smoothed image for every threshold type.
    config.thresholdValue = 0.5 if overrides.get("thresholdType") == "value" else 2.5
    for name, value in overrides.items():
        setattr(config, name, value)
    return config


def check_detection(config: SourceDetectionConfig, exposure: ExposureF) -> Any:
    expected = expected_detection(config, exposure)
    ours = ExposureF(exposure, deep=True)
    results = SourceDetectionTask(config=config).detectFootprints(ours, sigma=SIGMA)
    for name, plane, count, peaks in (
        ("positive", "DETECTED", results.numPos, results.numPosPeaks),
        ("negative", "DETECTED_NEGATIVE", results.numNeg, results.numNegPeaks),
    ):
        found, want = getattr(results, name), expected[name]
        if want is None:
            assert found is None and count == peaks == 0
            continue
        kept, grown, numFootprints, numPeaks = want
        np.testing.assert_array_equal(found.mask, kept)
        np.testing.assert_array_equal((ours.mask.array & ours.mask.getPlaneBitMask(plane)) != 0, grown)
        assert (count, peaks) == (len(found), found.numPeaks) == (numFootprints, numPeaks)
        assert found.getRegion() == exposure.getBBox()
    return results


# Tests ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("thresholdType", ["value", "stdev", "variance", "pixel_stdev"])
@pytest.mark.parametrize("polarity", ["positive", "negative", "both"])
def test_threshold_types_and_polarities(thresholdType: str, polarity: str) -> None:
    config = make_config(thresholdType=thresholdType, thresholdPolarity=polarity)
    results = check_detection(config, make_exposure(1))
    assert results.numPos + results.numNeg > 3


@pytest.mark.parametrize(
    "overrides",
    [
        {"minPixels": 6},
        {"minPixels": 40, "isotropicGrow": False},
        {"includeThresholdMultiplier": 2.5},
        {"includeThresholdMultiplier": 0.5, "minPixels": 3},
        {"combinedGrow": False},
        {"returnOriginalFootprints": True, "isotropicGrow": False},
        {"nSigmaToGrow": 0.0},
        {"nSigmaToGrow": 8.0},  # growth wide enough to merge most footprints
    ],
)
def test_filtering_and_growth(overrides: dict[str, object]) -> None:
    config = make_config(thresholdPolarity="both", **overrides)
    check_detection(config, make_exposure(2))


def test_growth_merges_footprints() -> None:
    exposure = make_exposure(3)
    config = make_config(nSigmaToGrow=6.0)
    merged = check_detection(config, exposure)
    config.combinedGrow = False
    separate = check_detection(config, exposure)
    assert merged.numPos < separate.numPos


def test_empty_and_whole_image() -> None:
    exposure = make_exposure(4)
    exposure.image.array[:] = 0.0
    empty = check_detection(make_config(thresholdType="value", thresholdPolarity="both"), exposure)
    assert empty.numPos == empty.numNeg == empty.numPosPeaks == 0
    assert not empty.positive.mask.any()
    exposure.image.array[:] = 5.0
    exposure.image.array[40, 60] = 50.0  # a bump on a plateau, whose pixels are all peaks too
    whole = check_detection(make_config(thresholdType="value", nSigmaToGrow=0.0), exposure)
    assert whole.numPos == 1
    half = 5  # the 11-pixel kernel of sigma 1.5
    assert whole.positive.mask[half:-half, half:-half].all()
    assert whole.positive.mask.sum() == (110 - 2 * half) * (150 - 2 * half)


def test_footprints_on_the_border_and_touching_diagonally() -> None:
    exposure = make_exposure(5, width=40, height=30)
    image = exposure.image.array
    image[:] = 0.0
    image[:6, :6] = 10.0  # reaches the searched area's corner (where peaks are not counted)
    image[12, 12] = image[13, 13] = image[14, 14] = 10.0  # a diagonal chain: one footprint
    image[12, 20] = image[13, 19] = 10.0
    config = make_config(thresholdType="value", nSigmaToGrow=0.0)
    results = check_detection(config, exposure)
    assert results.numPos >= 2


def test_stats_bad_matches_box_dilation() -> None:
    exposure = make_exposure(6)
    task = SourceDetectionTask(config=make_config(thresholdType="stdev"))
    bits = exposure.mask.getPlaneBitMask(["BAD", "SAT", "EDGE", "NO_DATA"])
    bad = (exposure.mask.array & bits) != 0
    for half in (0, 1, 5):
        expected = ndimage.binary_dilation(bad, structure=np.ones((2 * half + 1,) * 2, dtype=bool))
        expected = expected[half : bad.shape[0] - half, half : bad.shape[1] - half]
        np.testing.assert_array_equal(task._statsBad(exposure.mask, half), expected)
    assert SourceDetectionTask(config=make_config(thresholdType="value"))._statsBad(exposure.mask, 3) is None


def test_stencil_structure_matches_half_widths() -> None:
    for radius in (0, 3, 7):
        for isotropic in (True, False):
            structure = stencil_structure(radius, isotropic)
            widths = stencilHalfWidths(radius, isotropic)
            np.testing.assert_array_equal(structure[radius:].sum(axis=1), 2 * widths + 1)
