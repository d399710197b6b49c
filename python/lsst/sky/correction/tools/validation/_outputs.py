"""Figures of one sky-correction run, from `SkyCorrectionTask.run` outputs or from a Butler repository."""

from __future__ import annotations

__all__ = [
    "MARKER_NAMES",
    "figuresFromButler",
    "figuresFromRun",
    "loadTaskConfig",
    "restoredExposure",
    "targetMarkers",
    "taskModel",
]

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...afwlite.image import ExposureF, ImageF
from ...afwlite.math import BackgroundList
from ...sky_correction import SkyCorrectionConfig, SkyCorrectionTask
from ..demo import truthSkyImage
from ._coverage import SuperpixelCoverage
from ._figures import plotBackgroundMosaic, plotCorrectedMosaics, plotCoverage, plotResidualMaps
from ._metrics import ValidationAccumulator, perPixelNoise

_log = logging.getLogger("lsst.sky.correction.tools.validation")

#: Labels of the two targets drawn on residual maps.
MARKER_NAMES = ("LSB galaxy (4 r_e)", 'bright star (240")')


def loadTaskConfig(camera: str, doMaskObjects: bool = True) -> SkyCorrectionConfig:
    """The task's config with the camera's shipped overrides (``data/config/<camera>/skyCorr.py``)."""
    from importlib import resources

    config = SkyCorrectionConfig()
    override = resources.files("lsst.sky.correction").joinpath("data", "config", camera, "skyCorr.py")
    if override.is_file():
        with resources.as_file(override) as path:
            config.load(str(path))
    else:
        _log.warning("no shipped skyCorr overrides for camera %r: using the task's defaults", camera)
    config.doMaskObjects = doMaskObjects
    return config


def restoredExposure(calexp: ExposureF, calexpBackground: BackgroundList) -> ExposureF:
    """A copy of ``calexp`` with its background added back (what the task's first pass starts from)."""
    restored = calexp.clone()
    background = calexpBackground.getImage()
    assert background is not None
    restored.image.array += background.array
    return restored


def taskModel(calexpBackground: BackgroundList, skyCorr: BackgroundList) -> np.ndarray:
    """The whole background the task subtracted from the raw image: ``calexpBackground + skyCorr``.

    ``skyCorr`` starts with the inverted ``calexpBackground``, so the sum is
    the task's own components; ``calexp - skyCorr = raw - model``.
    """
    old, new = calexpBackground.getImage(), skyCorr.getImage()
    assert old is not None and new is not None
    return old.array + new.array


def targetMarkers(truth: Any) -> list[tuple[float, float, float, str]]:
    """Circles for the LSB galaxy (4 effective radii) and the bright star (240 arcsec)."""
    markers = []
    if truth.lsbGalaxy is not None:
        lsb = truth.lsbGalaxy
        markers.append((lsb.x, lsb.y, 4.0 * lsb.effectiveRadius, MARKER_NAMES[0]))
    if truth.brightStar is not None:
        star = truth.brightStar
        markers.append((star.x, star.y, 240.0 / truth.plateScale, MARKER_NAMES[1]))
    return markers


def _taskFigures(
    outputDir: Path,
    title: str,
    calExpMosaic: Any,
    calBkgMosaic: Any,
    detectors: Sequence[Any],
    calexpBackgrounds: Mapping[int, BackgroundList],
    skyCorrs: Mapping[int, BackgroundList],
    truth: Any | None,
    taskConfig: SkyCorrectionConfig | None,
    calexps: Mapping[int, Any] | None,
    camera: Any,
    skyFrameScale: float | None = None,
) -> dict[str, Path]:
    """The four pictures of one task run, and ``summary.json``; inputs are fetched one detector at a time.

    ``summary.json`` holds the sky-frame scale found (and the true one) and,
    with a truth, the metrics of the run and of its input calexps.
    """
    summary: dict[str, Any] = {"skyFrameScale": skyFrameScale}
    paths = {
        "corrected": plotCorrectedMosaics(
            {"SkyCorrectionTask": calExpMosaic}, outputDir / "corrected.png", title
        ),
        "background": plotBackgroundMosaic(calBkgMosaic, outputDir / "background.png", title),
    }
    if truth is not None:
        accumulator = ValidationAccumulator(truth)
        for detector in detectors:
            detectorId = detector.getId()
            sky = truthSkyImage(truth, detector)
            calexpBackground = calexpBackgrounds[detectorId]
            models = {
                "calexpBackground": calexpBackground.getImage().array,  # type: ignore[union-attr]
                "skyCorr": taskModel(calexpBackground, skyCorrs[detectorId]),
            }
            sigma = perPixelNoise(sky, truth.gains[detectorId], truth.readNoise)
            accumulator.addDetector(detector, sky, models, sigma)
        maps = {
            "calexp as is": accumulator.residualMap("calexpBackground", 256),
            "SkyCorrectionTask": accumulator.residualMap("skyCorr", 256),
        }
        paths["residual"] = plotResidualMaps(
            maps, outputDir / "residual.png", title, markers=targetMarkers(truth)
        )
        summary["trueSkyFrameScale"] = truth.skyFrameScale
        summary["metrics"] = {
            "calexpBackground": accumulator.metrics("calexpBackground").toDict(),
            "skyCorr": accumulator.metrics("skyCorr", skyFrameScale=skyFrameScale).toDict(),
        }
    else:
        _log.warning("no truth: the residual-vs-truth figure is not made")
    if calexps is not None and taskConfig is not None:
        task = SkyCorrectionTask(config=taskConfig)
        coverage = SuperpixelCoverage(taskConfig, camera)
        for detector in detectors:
            detectorId = detector.getId()
            source = calexps[detectorId]
            calexp = source.get() if hasattr(source, "get") else source
            exposure = restoredExposure(calexp, calexpBackgrounds[detectorId])
            if taskConfig.doMaskObjects:
                task.maskObjects.findObjects(exposure)
            coverage.add(exposure)
        paths["coverage"] = plotCoverage(coverage.maps(), outputDir / "coverage.png", title)
    paths["summary"] = outputDir / "summary.json"
    paths["summary"].write_text(json.dumps(summary, indent=1) + "\n")
    return paths


def figuresFromRun(
    result: Any,
    calExps: Sequence[Any],
    calBkgs: Sequence[BackgroundList],
    camera: Any,
    outputDir: Path,
    title: str,
    truth: Any | None = None,
    taskConfig: SkyCorrectionConfig | None = None,
) -> dict[str, Path]:
    """Write the figures of one `SkyCorrectionTask.run` call.

    Parameters
    ----------
    result : `lsst.pipe.base.Struct`
        What ``run`` returned (``skyCorr``, ``calExpMosaic``, ``calBkgMosaic``).
    calExps, calBkgs : `list`
        The inputs given to ``run`` (exposures or handles; background lists).
    camera : `~lsst.sky.correction.afwlite.cameraGeom.Camera`
        The camera.
    outputDir : `pathlib.Path`
        Where the PNGs go.
    title : `str`
        Figure title prefix.
    truth : `~lsst.sky.correction.simulation.VisitTruth`, optional
        For the residual-vs-truth figure (simulations only).
    taskConfig : `~lsst.sky.correction.SkyCorrectionConfig`, optional
        For the superpixel-coverage figure (the config ``run`` used).

    Returns
    -------
    paths : `dict` [`str`, `pathlib.Path`]
        ``"corrected"``, ``"background"``, ``"summary"`` (JSON), and
        ``"residual"`` (with ``truth``) and ``"coverage"`` (with
        ``taskConfig``).
    """
    detectorIds = []
    byDetector: dict[int, Any] = {}
    for source in calExps:
        exposure = source.get() if hasattr(source, "get") else source
        detectorIds.append(exposure.getDetector().getId())
        byDetector[detectorIds[-1]] = source
    detectors = [camera[d] for d in detectorIds]
    return _taskFigures(
        outputDir,
        title,
        result.calExpMosaic,
        result.calBkgMosaic,
        detectors,
        dict(zip(detectorIds, calBkgs, strict=True)),
        dict(zip(detectorIds, result.skyCorr, strict=True)),
        truth,
        taskConfig,
        byDetector if taskConfig is not None else None,
        camera,
        result.skyFrameScale,
    )


def figuresFromButler(
    repo: str,
    collections: Sequence[str],
    instrument: str,
    visit: int,
    outputDir: Path,
    coverage: bool = True,
) -> dict[str, Path]:
    """Write the figures of a sky-correction run stored in a Butler repository.

    Reads ``calexp_skyCorr_visit_mosaic``, ``calexpBackground_skyCorr_visit_mosaic``,
    ``skyCorr`` and ``calexpBackground`` (and ``calexp`` for the coverage);
    the residual-vs-truth figure needs ``skyCorrTruth`` (simulated visits),
    the coverage the run's ``skyCorr_config`` (the shipped camera config if
    absent).

    Parameters
    ----------
    repo : `str`
        The repository.
    collections : `list` [`str`]
        Collections holding the run's outputs and its inputs.
    instrument : `str`
        Instrument name.
    visit : `int`
        The visit.
    outputDir : `pathlib.Path`
        Where the PNGs go.
    coverage : `bool`
        Also the superpixel coverage (re-runs the object masking: slow).
    """
    from lsst.daf.butler import Butler, MissingDatasetTypeError
    from lsst.daf.butler.registry import DataIdError

    from ...cameras import getCamera
    from ...simulation import VisitTruth

    butler = Butler.from_config(repo, collections=list(collections))
    try:
        dataId: dict[str, Any] = {"instrument": instrument, "visit": visit}
        refs = butler.query_datasets("skyCorr", data_id=dataId)
        if not refs:
            raise LookupError(f"no skyCorr for {dataId} in collections {list(collections)}")
        try:
            camera = butler.get("camera", instrument=instrument, collections=f"{instrument}/calib/unbounded")
        except (LookupError, MissingDatasetTypeError, DataIdError):
            camera = getCamera(instrument)
        try:
            truth = VisitTruth.fromDict(butler.get("skyCorrTruth", dataId))
        except (LookupError, MissingDatasetTypeError):
            truth = None
        try:
            taskConfig = butler.get("skyCorr_config")
        except (LookupError, MissingDatasetTypeError):
            taskConfig = loadTaskConfig(instrument)
        try:
            scale = float(butler.get("skyCorr_metadata", dataId)["skyCorr"]["skyFrameScale"])
        except (LookupError, MissingDatasetTypeError):
            scale = None
        detectorIds = sorted(int(ref.dataId["detector"]) for ref in refs)
        skyCorrs = {int(ref.dataId["detector"]): butler.get(ref) for ref in refs}
        calexpBackgrounds = {d: butler.get("calexpBackground", dataId, detector=d) for d in detectorIds}
        calexps = (
            {d: butler.getDeferred("calexp", dataId, detector=d) for d in detectorIds} if coverage else None
        )
        return _taskFigures(
            outputDir,
            f"{instrument} visit {visit}",
            butler.get("calexp_skyCorr_visit_mosaic", dataId),
            butler.get("calexpBackground_skyCorr_visit_mosaic", dataId),
            [camera[d] for d in detectorIds],
            calexpBackgrounds,
            skyCorrs,
            truth,
            taskConfig if coverage else None,
            calexps,
            camera,
            scale,
        )
    finally:
        butler.close()


def binnedMosaicImage(image: np.ndarray, binning: int) -> ImageF:
    """Block means of a detector image for `makeCameraImage` (partial edge blocks dropped)."""
    from ...afwlite.math import binImage

    return binImage(ImageF(np.ascontiguousarray(image, dtype=np.float32)), binning)
