"""The numpy formulation of detection's threshold test and peak count, as detection had it before
its compiled row runs: the independent expectation of tests/algorithms/test_runs.py and
tests/algorithms/test_detection_footprints.py."""

from __future__ import annotations

import numpy as np


def numpy_above(image: np.ndarray, variance: np.ndarray | None, level: float, positive: bool) -> np.ndarray:
    """The threshold test as the numpy detection wrote it (float32 cut, NaN never above)."""
    if variance is not None:
        with np.errstate(invalid="ignore"):
            cut = np.sqrt(variance)
        cut *= np.float32(level)
        return image >= cut if positive else image <= -cut
    return image >= np.float32(level) if positive else image <= np.float32(-level)


def numpy_peaks_per_label(image: np.ndarray, labels: np.ndarray, count: int, positive: bool) -> np.ndarray:
    """Per-label peaks by the numpy gathers of the old detection (before the one-per-footprint minimum)."""
    width = image.shape[1]
    rows, columns = np.nonzero(labels[1:-1, 1:-1] != 0)
    flat = (rows + 1) * width + (columns + 1)
    pixels = image.ravel()
    values = pixels[flat]
    blocked = np.zeros(flat.size, dtype=bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                neighbour = pixels[flat + (dy * width + dx)]
                blocked |= (neighbour > values) if positive else (neighbour < values)
    return np.bincount(labels.ravel()[flat[~blocked]], minlength=count + 1)[1:]
