"""The per-detector pixel cache: exact round trips, memory budget, spilling, clean-up."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from lsst.sky.correction._pixel_cache import DetectorPixelCache, PixelCacheError

RNG = np.random.default_rng(7)


def make_detector(shape: tuple[int, int] = (37, 53)) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    image = RNG.normal(1000.0, 30.0, shape).astype(np.float32)
    image[3, 4] = np.nan
    planes = {"bgModel": RNG.random(shape) < 0.2, "sky": RNG.random(shape) < 0.5}
    return image, planes


@pytest.mark.parametrize("budget", [0, 10**9])
def test_round_trip_is_exact_in_memory_and_spilled(tmp_path: Path, budget: int) -> None:
    stored = {det: make_detector() for det in (5, 1, 9)}
    with DetectorPixelCache(budget, spillDirectory=str(tmp_path)) as cache:
        for det, (image, planes) in stored.items():
            cache.put(det, image, planes)
        assert list(cache) == [1, 5, 9]
        assert cache.spilledDetectors == ([1, 5, 9] if budget == 0 else [])
        for det, (image, planes) in stored.items():
            got = cache.get(det)
            np.testing.assert_array_equal(got.image, image)
            assert set(got.badPlanes) == set(planes)
            for name in planes:
                np.testing.assert_array_equal(got.badPlanes[name], planes[name])
            got.image[:] = 0.0  # a private copy: the cache keeps its pixels
            np.testing.assert_array_equal(cache.get(det).image, image)
    assert list(tmp_path.iterdir()) == []  # the spill directory is gone


def test_budget_splits_between_memory_and_disk(tmp_path: Path) -> None:
    image, planes = make_detector((100, 100))
    per_detector = 4 * 100 * 100 + 2 * (100 * 100 // 8)
    cache = DetectorPixelCache(2 * per_detector, spillDirectory=str(tmp_path))
    for det in range(4):
        cache.put(det, image, planes)
    assert cache.bytesInMemory == 2 * per_detector
    assert cache.spilledDetectors == [2, 3]
    spill_dir = cache.spillDirectory
    assert spill_dir is not None and len(os.listdir(spill_dir)) == 2
    cache.close()
    assert not os.path.exists(spill_dir)
    with pytest.raises(PixelCacheError, match="closed"):
        cache.get(0)


def test_caller_array_is_copied() -> None:
    image, planes = make_detector()
    cache = DetectorPixelCache(10**9)
    cache.put(0, image, planes)
    image[:] = -1.0
    assert np.all(cache.get(0).image[np.isfinite(cache.get(0).image)] != -1.0)


def test_clear_errors() -> None:
    image, planes = make_detector()
    cache = DetectorPixelCache(10**9)
    cache.put(3, image, planes)
    with pytest.raises(PixelCacheError, match="detector 3 is already"):
        cache.put(3, image, planes)
    with pytest.raises(PixelCacheError, match="detector 4 is not"):
        cache.get(4)
    with pytest.raises(PixelCacheError, match="float32"):
        cache.put(5, image.astype(np.float64), planes)
    with pytest.raises(PixelCacheError, match="plane 'sky'"):
        cache.put(6, image, {"sky": np.zeros((2, 2), dtype=bool)})
    with pytest.raises(ValueError, match=">= 0"):
        DetectorPixelCache(-1)


def test_unwritable_spill_directory_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist"
    cache = DetectorPixelCache(0, spillDirectory=str(missing))
    image, planes = make_detector()
    with pytest.raises(PixelCacheError, match="does-not-exist"):
        cache.put(0, image, planes)
    cache.close()
