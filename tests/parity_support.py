"""Inputs, runs and golden outputs of the real-reference parity cases (``tests/data/reference-runs``).

The six cases are runs of the real ``lsst.pipe.tasks`` ``SkyCorrectionTask``
on real ``lsst.afw`` (provenance in ``tests/data/README.md``).  Their inputs
are not stored: ``make_inputs.py`` (numpy only, seeded ``RandomState``)
regenerates them from each ``case.json``; this module wraps those arrays in
afwlite objects exactly as the reference run wrapped them in afw objects,
runs our task with the case's config overrides and reads the golden outputs
back (skyCorr files whole, mosaics as the compact summaries written by
``derive_compact.py``).
"""

from __future__ import annotations

import importlib.util
import json
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from lsst.pipe.base import InMemoryDatasetHandle
from lsst.sky.correction import SkyCorrectionConfig, SkyCorrectionTask
from lsst.sky.correction.afwlite.cameraGeom import Camera
from lsst.sky.correction.afwlite.geom import Box2I, Point2I
from lsst.sky.correction.afwlite.image import ExposureF, ImageF, MaskedImageF
from lsst.sky.correction.afwlite.math import (
    ApproximateControl,
    BackgroundList,
    BackgroundMI,
    Interpolate,
    UndersampleStyle,
)
from lsst.sky.correction.cameras import readAfwCameraFits
from lsst.sky.correction.testing import makeDummyCamera

TESTS_DATA = Path(__file__).parent / "data"
REFERENCE_RUNS = TESTS_DATA / "reference-runs"
LSSTCAM_CASES = ("lsstcam_r22_default", "lsstcam_r22_nomask", "lsstcam_r22_undo")
DUMMYCAM_CASES = ("dummycam_default", "dummycam_skyframeonly", "dummycam_illumination")
MOSAICS = ("calExpMosaic", "calBkgMosaic")


def load_case_info(case: str) -> dict[str, Any]:
    """The case's ``case.json`` (byte-identical to the reference run's)."""
    with open(REFERENCE_RUNS / case / "case.json") as stream:
        info: dict[str, Any] = json.load(stream)
    return info


def load_make_inputs() -> ModuleType:
    """The reference runs' input generator, imported from ``tests/data/reference-runs``."""
    spec = importlib.util.spec_from_file_location("reference_make_inputs", REFERENCE_RUNS / "make_inputs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generator_kwargs(info: dict[str, Any]) -> dict[str, Any]:
    """The generator's arguments, with the camera CSV taken from ``tests/data/cameras``.

    ``case.json`` names the CSV by its path in the shared data tree it was
    made from (``shared/data/cameras/lsstcam.csv``); the byte-identical copy
    in ``tests/data/cameras`` is used instead, so nothing outside the
    repository is read.
    """
    kwargs = dict(info["generator"]["kwargs"])
    if "csv_path" in kwargs:
        local = TESTS_DATA / "cameras" / Path(kwargs["csv_path"]).name
        if not local.is_file():
            raise FileNotFoundError(f"{info['case']}: camera CSV {local} is missing")
        kwargs["csv_path"] = str(local)
    return kwargs


def generate_inputs(info: dict[str, Any]) -> dict[str, Any]:
    """Per-detector numpy arrays of the case, from ``make_inputs.py``."""
    make_inputs = load_make_inputs()
    inputs: dict[str, Any] = getattr(make_inputs, info["generator"]["function"])(**generator_kwargs(info))
    return inputs


@dataclass
class Visit:
    """The task's inputs for one generated input set."""

    camera: Camera
    calExps: list[ExposureF]
    calBkgs: list[BackgroundList]
    skyFrames: list[ExposureF]
    ratios: list[ImageF] = field(default_factory=list)


def _bbox(corners: tuple[int, int, int, int]) -> Box2I:
    x0, y0, x1, y1 = corners
    return Box2I(Point2I(x0, y0), Point2I(x1, y1))


def build_visit(inputs: dict[str, Any], camera: Camera) -> Visit:
    """Wrap the generated arrays as the reference run did (README of the reference runs)."""
    visit = Visit(camera=camera, calExps=[], calBkgs=[], skyFrames=[])
    for det in inputs["detectors"]:
        bbox = _bbox(det["bbox"])
        calExp = ExposureF(bbox)
        calExp.image.array[:] = det["image"]
        calExp.mask.array[:] = det["mask"]
        calExp.variance.array[:] = det["variance"]
        calExp.setDetector(camera[det["id"]])
        visit.calExps.append(calExp)

        ny, nx = det["bkg_stats"].shape
        stats = MaskedImageF(nx, ny)
        stats.image.array[:] = det["bkg_stats"]
        stats.variance.array[:] = det["bkg_stats_var"]
        element = (
            BackgroundMI(bbox, stats),
            getattr(Interpolate, det["bkg_interp"]),
            getattr(UndersampleStyle, det["bkg_undersample"]),
            ApproximateControl.UNKNOWN,
            0,
            0,
            False,
        )
        visit.calBkgs.append(BackgroundList(element))

        nys, nxs = det["sky_image"].shape
        sky = ExposureF(nxs, nys)
        sky.image.array[:] = det["sky_image"]
        sky.variance.array[:] = det["sky_variance"]
        for key, value in det["sky_header"].items():
            sky.getMetadata().set(key, value)
        visit.skyFrames.append(sky)

        if det.get("ratio") is not None:
            ratio = ImageF(bbox)
            ratio.array[:] = det["ratio"]
            visit.ratios.append(ratio)
    return visit


def camera_for(info: dict[str, Any]) -> Camera:
    """The camera the reference run used: afw's persisted LSSTCam, or DummyCam."""
    if info["case"].startswith("lsstcam"):
        return readAfwCameraFits(TESTS_DATA / "cameras" / "camera_LSSTCam.fits")
    return makeDummyCamera()


def _setDotted(config: Any, name: str, value: Any) -> None:
    *parents, leaf = name.split(".")
    target = config
    for parent in parents:
        target = getattr(target, parent)
    setattr(target, leaf, value)


def config_for(info: dict[str, Any], **extra: Any) -> SkyCorrectionConfig:
    """``SkyCorrectionConfig()`` with the case's override dict (and ``extra``) applied."""
    config = SkyCorrectionConfig()
    for name, value in {**info["config_overrides"], **extra}.items():
        _setDotted(config, name, value)
    config.validate()
    return config


@dataclass
class CaseRun:
    """Our task's result on a case, with the cost of ``run()``."""

    result: Any
    wall_s: float
    cpu_s: float


def run_case(info: dict[str, Any], visit: Visit, **extra: Any) -> CaseRun:
    """Run our task as the reference ran its own (``run()`` on in-memory objects)."""
    task = SkyCorrectionTask(config=config_for(info, **extra))
    args: list[Any] = [visit.calExps, visit.calBkgs, visit.skyFrames, visit.camera]
    if task.config.doApplyFlatBackgroundRatio:
        detectorIds = [calExp.getDetector().getId() for calExp in visit.calExps]
        args.append(
            [
                InMemoryDatasetHandle(ratio, detector=detectorId, visit=0)
                for detectorId, ratio in zip(detectorIds, visit.ratios, strict=True)
            ]
        )
    wall, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    result = task.run(*args)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (after.ru_utime + after.ru_stime) - (cpu.ru_utime + cpu.ru_stime)
    return CaseRun(result=result, wall_s=time.perf_counter() - wall, cpu_s=cpu_s)


def read_reference_skyCorr(case: str, detectorId: int) -> BackgroundList:
    """The real task's skyCorr of a detector (afw's file, gzip-compressed byte for byte)."""
    return BackgroundList.readFits(REFERENCE_RUNS / case / f"skyCorr_{detectorId}.fits.gz")


def read_reference_mosaics(case: str) -> dict[str, np.ndarray]:
    """The compact form of the real mosaics written by ``derive_compact.py``."""
    with np.load(REFERENCE_RUNS / case / "mosaics.npz") as stored:
        return {key: stored[key] for key in stored.files}


def peak_rss_mb() -> float:
    """The process's resident-memory high-water mark (VmHWM), in MiB."""
    with open("/proc/self/status") as stream:
        for line in stream:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmHWM in /proc/self/status")


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux ``clear_refs`` 5), as the reference's harness did."""
    try:
        with open("/proc/self/clear_refs", "w") as stream:
            stream.write("5")
    except OSError:
        return False
    return True


# Comparison ------------------------------------------------------------------------------------------
def element_styles(element: Any) -> tuple[Any, ...]:
    """An element's (interpStyle, undersampleStyle, approxStyle, orderX, orderY, weighting) as names."""
    return tuple(getattr(item, "name", item) for item in element[1:])


def max_abs_diff(ours: np.ndarray, real: np.ndarray) -> float:
    """Largest |ours - real| over the pixels finite in both (0 when there are none)."""
    both = np.isfinite(ours) & np.isfinite(real)
    if not both.any():
        return 0.0
    return float(np.max(np.abs(ours[both].astype(np.float64) - real[both].astype(np.float64))))


def block_mean(mosaic: np.ndarray, block: int) -> np.ndarray:
    """Mean of the finite pixels of each block (the reduction ``derive_compact.py`` applied)."""
    rows = -(-mosaic.shape[0] // block) * block
    cols = -(-mosaic.shape[1] // block) * block
    padded = np.full((rows, cols), np.nan)
    padded[: mosaic.shape[0], : mosaic.shape[1]] = mosaic
    finite = np.isfinite(padded)
    values = np.where(finite, padded, 0.0).reshape(rows // block, block, cols // block, block)
    counts = finite.reshape(rows // block, block, cols // block, block).sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, values.sum(axis=(1, 3)) / np.maximum(counts, 1), np.nan)


def compare_mosaic(ours: np.ndarray, stored: dict[str, np.ndarray], name: str) -> dict[str, Any]:
    """Our full mosaic against the compact summary of the real one."""
    shape = tuple(int(n) for n in stored[f"{name}_shape"])
    out: dict[str, Any] = {"shape_equal": ours.shape == shape}
    if not out["shape_equal"]:
        return out
    finite = np.unpackbits(stored[f"{name}_finite"], count=ours.size).reshape(shape).astype(bool)
    out["finite_mismatch"] = int(np.count_nonzero(finite != np.isfinite(ours)))
    block = int(stored[f"{name}_block"])
    ourBlocks, realBlocks = block_mean(ours, block), stored[f"{name}_blockmean"]
    out["blockmean_nan_equal"] = bool(np.array_equal(np.isnan(ourBlocks), np.isnan(realBlocks)))
    out["blockmean"] = max_abs_diff(ourBlocks, realBlocks)
    size = stored[f"{name}_cutouts"].shape[1]
    cutouts = np.stack([ours[r : r + size, c : c + size] for r, c in stored[f"{name}_cutout_origins"]])
    out["cutouts_nan_equal"] = bool(np.array_equal(np.isnan(cutouts), np.isnan(stored[f"{name}_cutouts"])))
    out["cutouts"] = max_abs_diff(cutouts, stored[f"{name}_cutouts"])
    row = ours[int(stored[f"{name}_row_index"])]
    column = ours[:, int(stored[f"{name}_column_index"])]
    out["transects"] = max(
        max_abs_diff(row, stored[f"{name}_row"]), max_abs_diff(column, stored[f"{name}_column"])
    )
    values = ours[np.isfinite(ours)].astype(np.float64)
    realCount, _, realMean, realStd, _, _ = stored[f"{name}_stats"]
    out["count_equal"] = values.size == int(realCount)
    out["mean"] = abs(values.mean() - realMean)
    out["std_rel"] = abs(values.std() / realStd - 1.0)
    return out
