"""The compiled row-run kernels (`lsst.sky.correction._runs`) against scipy.ndimage and numpy formulations."""

from __future__ import annotations

import numpy as np
import pytest
from detection_oracle import numpy_above, numpy_peaks_per_label
from scipy import ndimage

from lsst.sky.correction._dilation import stencilHalfWidths
from lsst.sky.correction._runs import (
    RowRuns,
    growRuns,
    orRuns,
    paintRuns,
    runComponents,
    runsOfMask,
    thresholdRuns,
)

EIGHT = np.ones((3, 3), dtype=bool)


# Independent expectations ---------------------------------------------------------------------------
def stencil_structure(halfWidths: np.ndarray) -> np.ndarray:
    reach, widest = halfWidths.size - 1, int(halfWidths.max())
    structure = np.zeros((2 * reach + 1, 2 * widest + 1), dtype=bool)
    for dy in range(-reach, reach + 1):
        w = halfWidths[abs(dy)]
        structure[dy + reach, widest - w : widest + w + 1] = True
    return structure


def run_labels(runs: RowRuns, component: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A label image (component + 1) painted from the runs, pixel by pixel from the run list."""
    labels = np.zeros(shape, dtype=np.int64)
    for y in range(runs.height):
        for run in range(runs.rowStart[y], runs.rowStart[y + 1]):
            labels[y, runs.x0[run] : runs.x1[run] + 1] = component[run] + 1
    return labels


def random_masks() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    masks = [rng.random((37, 70)) < p for p in (0.0, 0.05, 0.3, 0.6, 1.0)]
    blobs = ndimage.gaussian_filter(rng.normal(size=(90, 130)), 2.0) > 0.08
    masks.append(blobs)
    diagonal = np.zeros((6, 6), dtype=bool)
    diagonal[[0, 1, 2, 3], [0, 1, 2, 3]] = True  # touching only at corners
    diagonal[0, 5] = diagonal[1, 4] = True  # an anti-diagonal pair
    masks.append(diagonal)
    masks.append(np.ones((1, 1), dtype=bool))
    masks.append(np.zeros((0, 5), dtype=bool))
    return masks


# Extraction and painting ------------------------------------------------------------------------------
@pytest.mark.parametrize("index", range(len(random_masks())))
def test_runs_round_trip(index: int) -> None:
    mask = random_masks()[index]
    runs = runsOfMask(mask)
    np.testing.assert_array_equal(paintRuns(runs, mask.shape), mask)
    # Runs are maximal: two runs of a row never touch.
    for y in range(runs.height):
        first, last = runs.rowStart[y], runs.rowStart[y + 1]
        assert np.all(runs.x0[first + 1 : last] > runs.x1[first : last - 1] + 1)


def test_runs_of_mask_bits_including_bit_31() -> None:
    rng = np.random.default_rng(5)
    planes = rng.integers(0, 4, (40, 50)).astype(np.int32)
    planes[planes == 3] = np.int32(-(2**31))  # bit 31 alone, as a negative int32
    for bits in (1, 2, 3, 1 << 31, (1 << 31) | 1):
        expected = (planes.view(np.uint32) & np.uint32(bits)) != 0
        np.testing.assert_array_equal(paintRuns(runsOfMask(planes, bits), planes.shape), expected)


def test_or_runs_sets_bit_31_and_keeps_other_bits() -> None:
    mask = np.zeros((5, 8), dtype=bool)
    mask[1, 2:6] = mask[3, 0] = mask[4, 7] = True
    array = np.full((5, 8), 4, dtype=np.int32)
    orRuns(array, runsOfMask(mask), 1 << 31)
    expected = np.where(mask, np.int32(4 | -(2**31)), np.int32(4)).astype(np.int32)
    np.testing.assert_array_equal(array, expected)


def test_paint_with_offsets_clips() -> None:
    mask = np.zeros((6, 6), dtype=bool)
    mask[0, :] = mask[:, 5] = mask[3, 2] = True
    painted = paintRuns(runsOfMask(mask), (4, 4), -1, -2)
    np.testing.assert_array_equal(painted, mask[1:5, 2:6])


# Connected components ---------------------------------------------------------------------------------
@pytest.mark.parametrize("index", range(len(random_masks())))
def test_components_match_ndimage_label(index: int) -> None:
    mask = random_masks()[index]
    runs = runsOfMask(mask)
    component, count = runComponents(runs)
    labels, expected = ndimage.label(mask, structure=EIGHT) if mask.size else (np.zeros(mask.shape, int), 0)
    assert count == expected
    # Both number components in raster order of their first pixel.
    np.testing.assert_array_equal(run_labels(runs, component, mask.shape), labels)


def test_components_touching_diagonally_and_across_gaps() -> None:
    mask = np.zeros((4, 12), dtype=bool)
    mask[0, 0:3] = True
    mask[1, 3:5] = True  # diagonal to the run above: joined
    mask[0, 6:8] = True
    mask[1, 9:11] = True  # one column of gap: separate
    mask[3, 0:12] = True  # row 2 is empty: separate
    assert runComponents(runsOfMask(mask))[1] == 4


# Growth -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("isotropic", [True, False])
@pytest.mark.parametrize("radius", [0, 1, 3, 12])
@pytest.mark.parametrize("index", [1, 2, 5, 6, 7])
def test_growth_matches_binary_dilation(index: int, radius: int, isotropic: bool) -> None:
    mask = random_masks()[index]
    widths = stencilHalfWidths(radius, isotropic)
    grown = growRuns(runsOfMask(mask), widths, mask.shape[1])
    expected = ndimage.binary_dilation(mask, structure=stencil_structure(widths))
    np.testing.assert_array_equal(paintRuns(grown, mask.shape), expected)
    # The grown runs are maximal, so components can be counted on them.
    assert runComponents(grown)[1] == ndimage.label(expected, structure=EIGHT)[1]


def test_box_growth_merges_footprints() -> None:
    mask = np.zeros((20, 40), dtype=bool)
    mask[5, 5] = mask[5, 12] = mask[15, 30] = True
    grown = growRuns(runsOfMask(mask), np.full(4, 3), mask.shape[1])
    assert runComponents(runsOfMask(mask))[1] == 3
    assert runComponents(grown)[1] == 2  # boxes of 7 pixels: 5 and 12 touch, 30 stays alone


# Threshold runs ---------------------------------------------------------------------------------------
def smoothed_field(seed: int, shape: tuple[int, int] = (80, 120)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.normal(size=shape), 1.5) * 10
    # Quantised values make plateaus, where "strictly brighter" matters.
    return (np.round(field * 4) / 4).astype(np.float32)


@pytest.mark.parametrize("positive", [True, False])
@pytest.mark.parametrize("perPixel", [False, True])
@pytest.mark.parametrize("includeLevel", [None, 1.6, 0.5])
def test_threshold_runs_match_numpy(positive: bool, perPixel: bool, includeLevel: float | None) -> None:
    image = smoothed_field(7)
    image[10, 10:20] = np.nan
    image[40, 0] = np.nan
    rng = np.random.default_rng(8)
    variance = rng.uniform(0.5, 2.0, image.shape).astype(np.float32) if perPixel else None
    if variance is not None:
        variance[20, 5:9] = -1.0  # a NaN cut: never above
        variance[21, 5] = np.nan
    level = 1.1
    runs, included, peaks = thresholdRuns(image, variance, level, includeLevel, positive)

    above = numpy_above(image, variance, level, positive)
    np.testing.assert_array_equal(paintRuns(runs, image.shape), above)
    component, count = runComponents(runs)
    labels, expectedCount = ndimage.label(above, structure=EIGHT)
    assert count == expectedCount > 5
    np.testing.assert_array_equal(run_labels(runs, component, image.shape), labels)

    includedPerLabel = np.bincount(component, weights=included, minlength=count) > 0
    if includeLevel is None:
        assert included.all()
    else:
        include = numpy_above(image, variance, includeLevel, positive)
        expectedIncluded = np.bincount(labels[include], minlength=count + 1)[1:] > 0
        np.testing.assert_array_equal(includedPerLabel, expectedIncluded)
    peaksPerLabel = np.bincount(component, weights=peaks, minlength=count)
    np.testing.assert_array_equal(peaksPerLabel, numpy_peaks_per_label(image, labels, count, positive))


def test_threshold_runs_whole_image_and_border_peaks() -> None:
    # A single bright pixel on the border is not a peak; the whole image is one footprint.
    image = np.full((5, 7), 3.0, dtype=np.float32)
    image[0, 3] = 9.0
    runs, included, peaks = thresholdRuns(image, None, 1.0, None, True)
    assert included.all()
    assert len(runs) == 5 and runComponents(runs)[1] == 1
    assert np.all(paintRuns(runs, image.shape))
    # Inner pixels with no brighter neighbour: every inner pixel not next to (0, 3).
    assert peaks.sum() == 3 * 5 - 3


def test_threshold_runs_empty_and_all_nan() -> None:
    for image in (np.zeros((0, 0), dtype=np.float32), np.full((4, 4), np.nan, dtype=np.float32)):
        runs, included, peaks = thresholdRuns(image, None, 0.0, None, True)
        assert len(runs) == 0 and included.size == peaks.size == 0
        assert runComponents(runs)[1] == 0


def test_threshold_runs_reject_wrong_types() -> None:
    with pytest.raises(TypeError):
        thresholdRuns(np.zeros((3, 3)), None, 1.0, None, True)
    with pytest.raises(TypeError):
        thresholdRuns(np.zeros((3, 3), np.float32), np.zeros((3, 4), np.float32), 1.0, None, True)
