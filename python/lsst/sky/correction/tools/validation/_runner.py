"""Run every method on one simulated visit and measure it against the truth."""

from __future__ import annotations

__all__ = [
    "METHOD_LABELS",
    "ValidationResult",
    "ValidationRunConfig",
    "detectorsNearTargets",
    "plotValidation",
    "replotValidation",
    "runValidation",
    "writeValidation",
]

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...afwlite.cameraGeom import FOCAL_PLANE
from ...afwlite.image import ImageF
from ...mosaic import makeCameraImage
from ...simulation import SimulationConfig, VisitSimulator, VisitTruth
from ...sky_correction import SkyCorrectionConfig, SkyCorrectionTask
from ..peers import PeerConfig, photutilsBackground, sepBackground
from ._coverage import CoverageMap, SuperpixelCoverage
from ._figures import plotBackgroundMosaic, plotCorrectedMosaics, plotCoverage, plotResidualMaps
from ._metrics import MethodMetrics, ResidualMap, ValidationAccumulator, perPixelNoise
from ._outputs import binnedMosaicImage, loadTaskConfig, restoredExposure, targetMarkers, taskModel

_log = logging.getLogger("lsst.sky.correction.tools.validation")

#: The methods, in table order, and how tables and figures name them.
METHOD_LABELS = {
    "calexp": "calexp as is",
    "sep": "sep per detector",
    "photutils": "photutils per detector",
    "skyCorr": "skyCorr default",
    "skyCorrNoMask": "skyCorr doMaskObjects=False",
}
_TASK_METHODS = {"skyCorr": True, "skyCorrNoMask": False}  # method -> doMaskObjects
_PEERS: dict[str, Callable[..., np.ndarray]] = {"sep": sepBackground, "photutils": photutilsBackground}
_BAD_PLANES = ("BAD", "SAT", "NO_DATA")


@dataclass(frozen=True)
class ValidationRunConfig:
    """What to simulate, which methods to run and how to measure them.

    Attributes
    ----------
    camera : `str` or `~lsst.sky.correction.afwlite.cameraGeom.Camera`
        Shipped camera name, or a camera.
    seed, visit : `int`
        The simulation's identity.
    detectors : `tuple` [`int`, ...] or `None`
        Detectors to simulate (`None`: every science detector).
    simulation : `SimulationConfig`
        The simulated visit (its ``detectors`` is replaced by ``detectors``).
    methods : `tuple` [`str`, ...]
        Keys of `METHOD_LABELS`.
    binSizes : `tuple` [`int`, ...]
        Focal-plane bin sizes of the residual RMS, pixels (multiples of the first).
    minCoverage : `float`
        Fraction of a bin's pixels that must be simulated for it to count.
    peer : `PeerConfig`
        Settings of the per-detector peers.
    mosaicBinning : `int`
        Binning of the corrected mosaics (figures) and of the task's mosaics.
    coverage : `bool`
        Measure the superpixel coverage (re-runs the object masking once).
    taskConfigOverrides : `tuple` [`tuple` [`str`, `object`], ...]
        ``(field, value)`` pairs set on the task's config after the
        camera's shipped overrides, e.g. ``("bgModel2.xSize", 7.68)``.
    """

    camera: Any = "HSC"
    seed: int = 1
    visit: int = 1
    detectors: tuple[int, ...] | None = None
    simulation: SimulationConfig = field(default_factory=SimulationConfig)
    methods: tuple[str, ...] = tuple(METHOD_LABELS)
    binSizes: tuple[int, ...] = (64, 256, 1024)
    minCoverage: float = 0.5
    peer: PeerConfig = field(default_factory=PeerConfig)
    mosaicBinning: int = 16
    coverage: bool = True
    taskConfigOverrides: tuple[tuple[str, Any], ...] = ()

    @property
    def cameraName(self) -> str:
        """The camera's name."""
        return self.camera if isinstance(self.camera, str) else str(self.camera.getName())

    def taskConfig(self, doMaskObjects: bool) -> SkyCorrectionConfig:
        """The task's config: the camera's shipped overrides, then `taskConfigOverrides`."""
        config = loadTaskConfig(self.cameraName, doMaskObjects=doMaskObjects)
        for name, value in self.taskConfigOverrides:
            *parents, leaf = name.split(".")
            target = config
            for parent in parents:
                target = getattr(target, parent)
            setattr(target, leaf, value)
        config.binning = self.mosaicBinning
        return config

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHOD_LABELS]
        if unknown:
            raise ValueError(f"unknown methods {unknown}; known: {list(METHOD_LABELS)}")


@dataclass
class ValidationResult:
    """Everything one validation run measured.

    Attributes
    ----------
    config : `ValidationRunConfig`
        What was run.
    truth : `VisitTruth`
        The simulation's truth.
    metrics : `dict` [`str`, `MethodMetrics`]
        By method.
    residualMaps : `dict` [`str`, `ResidualMap`]
        256-px residual maps by method.
    correctedMosaics : `dict` [`str`, `ImageF`]
        Binned corrected mosaics by method.
    backgroundMosaic : `ImageF` or `None`
        The default task's ``calBkgMosaic``.
    coverage : `list` [`CoverageMap`]
        Superpixel coverage of the default task's models.
    timings : `dict` [`str`, `float`]
        Wall-clock seconds per step.
    """

    config: ValidationRunConfig
    truth: VisitTruth
    metrics: dict[str, MethodMetrics]
    residualMaps: dict[str, ResidualMap]
    correctedMosaics: dict[str, ImageF]
    backgroundMosaic: ImageF | None
    coverage: list[CoverageMap]
    timings: dict[str, float]

    @property
    def title(self) -> str:
        n = len(self.truth.detectors)
        return f"{self.config.cameraName} simulated visit {self.config.visit} ({n} detectors)"

    def toDict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (no images)."""
        config = self.config
        return {
            "camera": config.cameraName,
            "seed": config.seed,
            "visit": config.visit,
            "detectors": list(self.truth.detectors),
            "trueSkyFrameScale": self.truth.skyFrameScale,
            "peer": vars(config.peer),
            "binSizes": list(config.binSizes),
            "minCoverage": config.minCoverage,
            "metrics": {name: m.toDict() for name, m in self.metrics.items()},
            "timings": self.timings,
        }

    def markdown(self) -> str:
        """The result tables, in Markdown."""
        return formatTables(self.toDict())


def formatTables(summary: dict[str, Any]) -> str:
    """Markdown tables of a `ValidationResult.toDict` summary."""
    metrics = summary["metrics"]
    methods = list(metrics)
    header = "| metric | " + " | ".join(METHOD_LABELS.get(m, m) for m in methods) + " |"
    rule = "|---|" + "---:|" * len(methods)
    rows = [header, rule]

    def row(name: str, values: list[Any], fmt: str) -> None:
        cells = [
            "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt) for v in values
        ]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")

    for index, size in enumerate(summary["binSizes"]):
        row(
            f"residual RMS, {size}-px bins (sigma)",
            [metrics[m]["binned"][index]["rms"] for m in methods],
            ".4f",
        )
    for index, size in enumerate(summary["binSizes"]):
        if size == 256:
            row(
                "mean residual, 256-px bins (sigma)",
                [metrics[m]["binned"][index]["mean"] for m in methods],
                "+.4f",
            )
            row(
                "max abs, 256-px bins (sigma)",
                [metrics[m]["binned"][index]["maxAbs"] for m in methods],
                ".3f",
            )
    lsb = [metrics[m]["lsbFlux"] for m in methods]
    for index in range(len(lsb[0]) if lsb and lsb[0] else 0):
        radius = lsb[0][index]["radius"]
        row(f"LSB flux kept within {radius:g} r_e", [x[index]["ratio"] for x in lsb], ".3f")
    stars = [metrics[m]["starAnnuli"] for m in methods]
    for index in range(len(stars[0]) if stars and stars[0] else 0):
        a = stars[0][index]
        row(
            f'star annulus {a["inner"]:g}-{a["outer"]:g}" mean residual (sigma)',
            [x[index]["meanResidual"] for x in stars],
            "+.4f",
        )
        row(
            f'star annulus {a["inner"]:g}-{a["outer"]:g}" halo kept - 1',
            [x[index]["haloFraction"] for x in stars],
            "+.3f",
        )
    row("detector offsets, RMS over pairs (sigma)", [metrics[m]["offsets"]["rms"] for m in methods], ".4f")
    row("detector offsets, max (sigma)", [metrics[m]["offsets"]["maxAbs"] for m in methods], ".4f")
    row(
        "per-detector mean residual, RMS (sigma)",
        [metrics[m]["offsets"]["perDetectorRms"] for m in methods],
        ".4f",
    )
    true = summary["trueSkyFrameScale"]
    row(
        "sky-frame scale (true " + format(true, "g") + ")",
        [metrics[m]["skyFrameScale"] for m in methods],
        ".4f",
    )
    row(
        "sky-frame scale error (%)",
        [
            None if metrics[m]["skyFrameScale"] is None else 100 * (metrics[m]["skyFrameScale"] / true - 1)
            for m in methods
        ],
        "+.2f",
    )
    return "\n".join(rows) + "\n"


def detectorsNearTargets(simulator: VisitSimulator, radius: float) -> tuple[int, ...]:
    """Simulated detectors whose centres lie within ``radius`` mm of the LSB galaxy or the bright star."""
    truth = simulator.truth()
    targets = [(t.x, t.y) for t in (truth.lsbGalaxy, truth.brightStar) if t is not None]
    chosen = []
    for detectorId in simulator.detectorIds:
        centre = simulator.camera[detectorId].getCenter(FOCAL_PLANE)
        if any(math.hypot(centre.getX() - x, centre.getY() - y) <= radius for x, y in targets):
            chosen.append(detectorId)
    return tuple(chosen)


def _badPixels(exposure: Any) -> np.ndarray:
    mask = exposure.mask
    return (mask.array & mask.getPlaneBitMask(list(_BAD_PLANES))) != 0


def runValidation(config: ValidationRunConfig) -> ValidationResult:
    """Simulate a visit, run every method, measure each against the truth.

    The task methods run first, on lazy handles of the simulator (each
    detector is generated as the task asks for it); then one pass over the
    detectors regenerates each, runs the per-detector peers on it and adds
    every method's residual to the metrics.

    Parameters
    ----------
    config : `ValidationRunConfig`
        What to run.

    Returns
    -------
    result : `ValidationResult`
        Metrics, maps and mosaics.
    """
    simulation = config.simulation
    if config.detectors is not None:
        simulation = simulation.replace(detectors=tuple(config.detectors))
    simulator = VisitSimulator(config.camera, simulation, seed=config.seed, visit=config.visit)
    camera, truth = simulator.camera, simulator.truth()
    timings: dict[str, float] = {}
    _log.info("%s visit %d: %d detectors", config.cameraName, config.visit, len(simulator.detectorIds))

    start = time.perf_counter()
    calexpBackgrounds = simulator.backgroundLists()
    timings["simulate calexpBackgrounds"] = time.perf_counter() - start

    taskResults: dict[str, Any] = {}
    taskConfigs = {}
    for method, doMask in _TASK_METHODS.items():
        if method not in config.methods:
            continue
        taskConfig = config.taskConfig(doMaskObjects=doMask)
        taskConfigs[method] = taskConfig
        start = time.perf_counter()
        taskResults[method] = SkyCorrectionTask(config=taskConfig).run(
            simulator.calexpHandles(), calexpBackgrounds, simulator.skyFrameHandles(), camera
        )
        timings[f"task {method} (incl. simulation)"] = time.perf_counter() - start
        _log.info(
            "%s: sky-frame scale %s (true %g)", method, taskResults[method].skyFrameScale, truth.skyFrameScale
        )

    accumulator = ValidationAccumulator(truth, baseBinSize=config.binSizes[0])
    binnedCorrected: dict[str, dict[int, ImageF]] = {m: {} for m in config.methods if m not in taskResults}
    coverage = None
    coverageTask = None
    if config.coverage and "skyCorr" in taskConfigs:
        coverage = SuperpixelCoverage(taskConfigs["skyCorr"], camera)
        coverageTask = SkyCorrectionTask(config=taskConfigs["skyCorr"])
    peerTime = dict.fromkeys(_PEERS, 0.0)
    start = time.perf_counter()
    for index, detectorId in enumerate(simulator.detectorIds):
        simulated = simulator.makeDetector(detectorId)
        calexp, background = simulated.calexp, calexpBackgrounds[index]
        backgroundImage = background.getImage()
        assert backgroundImage is not None
        restored = calexp.image.array + backgroundImage.array
        bad = _badPixels(calexp)
        models: dict[str, np.ndarray] = {}
        for method in config.methods:
            if method == "calexp":
                models[method] = backgroundImage.array
            elif method in _PEERS:
                peerStart = time.perf_counter()
                models[method] = _PEERS[method](restored, bad, config.peer, f"detector {detectorId}")
                peerTime[method] += time.perf_counter() - peerStart
            else:
                models[method] = taskModel(background, taskResults[method].skyCorr[index])
            if method in binnedCorrected:
                binnedCorrected[method][detectorId] = binnedMosaicImage(
                    np.where(_noData(calexp), np.nan, restored - models[method]), config.mosaicBinning
                )
        sky = simulated.truthSky.array
        sigma = perPixelNoise(sky, simulated.gain, truth.readNoise)
        accumulator.addDetector(camera[detectorId], sky, models, sigma)
        if coverage is not None and coverageTask is not None:
            exposure = restoredExposure(calexp, background)
            coverageTask.maskObjects.findObjects(exposure)
            coverage.add(exposure)
        _log.info("measured detector %d (%d/%d)", detectorId, index + 1, len(simulator.detectorIds))
    timings["measure (simulation, peers, metrics, coverage)"] = time.perf_counter() - start
    timings.update(
        {f"peer {name} total": seconds for name, seconds in peerTime.items() if name in config.methods}
    )

    metrics = {
        method: accumulator.metrics(
            method,
            config.binSizes,
            config.minCoverage,
            skyFrameScale=taskResults[method].skyFrameScale if method in taskResults else None,
        )
        for method in config.methods
    }
    residualMaps = {
        method: accumulator.residualMap(method, 256, config.minCoverage) for method in config.methods
    }
    mosaics: dict[str, ImageF] = {}
    for method in config.methods:
        if method in taskResults:
            mosaics[method] = taskResults[method].calExpMosaic
        else:
            mosaics[method] = makeCameraImage(camera, binnedCorrected[method], config.mosaicBinning)
    return ValidationResult(
        config=config,
        truth=truth,
        metrics=metrics,
        residualMaps=residualMaps,
        correctedMosaics=mosaics,
        backgroundMosaic=taskResults["skyCorr"].calBkgMosaic if "skyCorr" in taskResults else None,
        coverage=coverage.maps() if coverage is not None else [],
        timings=timings,
    )


def _noData(exposure: Any) -> np.ndarray:
    mask = exposure.mask
    return (mask.array & mask.getPlaneBitMask("NO_DATA")) != 0


def _cropToData(mosaics: dict[str, ImageF]) -> dict[str, np.ndarray]:
    """The mosaics cut to the rows and columns where any of them has data."""
    arrays = {k: np.asarray(v.array) for k, v in mosaics.items()}
    finite = np.any([np.isfinite(a) for a in arrays.values()], axis=0)
    rows, columns = np.flatnonzero(finite.any(axis=1)), np.flatnonzero(finite.any(axis=0))
    if rows.size == 0:
        return arrays
    window = (slice(rows[0], rows[-1] + 1), slice(columns[0], columns[-1] + 1))
    return {k: a[window] for k, a in arrays.items()}


def writeValidation(result: ValidationResult, outputDir: Path, figurePrefix: str = "") -> dict[str, Path]:
    """Write ``results.json``, ``tables.md`` and the figures of a run.

    Parameters
    ----------
    result : `ValidationResult`
        The run.
    outputDir : `pathlib.Path`
        Where to write (created).
    figurePrefix : `str`
        Prefix of the PNG names (e.g. ``"hsc_"``).

    Returns
    -------
    paths : `dict` [`str`, `pathlib.Path`]
        What was written, by kind.
    """
    outputDir.mkdir(parents=True, exist_ok=True)
    paths = {"json": outputDir / "results.json", "tables": outputDir / "tables.md"}
    summary = result.toDict()
    summary["truth"] = result.truth.toDict()
    paths["json"].write_text(json.dumps(summary, indent=1) + "\n")
    paths["tables"].write_text(result.markdown())
    paths["arrays"] = _saveArrays(result, outputDir / "arrays.npz")
    return paths | plotValidation(result, outputDir, figurePrefix)


def _saveArrays(result: ValidationResult, path: Path) -> Path:
    """The maps, mosaics and coverage of a run, so that `replotValidation` can redraw the figures."""
    arrays: dict[str, np.ndarray] = {}
    for method, residualMap in result.residualMaps.items():
        arrays[f"residual/{method}"] = residualMap.values
        arrays[f"residualExtent/{method}"] = np.array([*residualMap.extent, residualMap.binSize])
    for method, mosaic in result.correctedMosaics.items():
        arrays[f"corrected/{method}"] = np.asarray(mosaic.array)
    if result.backgroundMosaic is not None:
        arrays["background"] = np.asarray(result.backgroundMosaic.array)
    for coverage in result.coverage:
        arrays[f"coverage/{coverage.name}"] = coverage.fraction
        arrays[f"coverageExtent/{coverage.name}"] = np.array([*coverage.extent, coverage.minFrac])
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
    return path


def _extent(values: np.ndarray) -> tuple[float, float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]), float(values[3]))


def replotValidation(outputDir: Path, figurePrefix: str = "") -> dict[str, Path]:
    """Redraw the figures of a run from its ``results.json`` and ``arrays.npz``."""
    summary = json.loads((outputDir / "results.json").read_text())
    truth = VisitTruth.fromDict(summary["truth"])
    config = ValidationRunConfig(
        camera=summary["camera"],
        seed=summary["seed"],
        visit=summary["visit"],
        detectors=tuple(summary["detectors"]),
        methods=tuple(summary["metrics"]),
    )
    with np.load(outputDir / "arrays.npz") as stored:
        arrays = {key: stored[key] for key in stored.files}
    residualMaps = {}
    mosaics = {}
    for method in config.methods:
        extent = arrays[f"residualExtent/{method}"]
        residualMaps[method] = ResidualMap(
            arrays[f"residual/{method}"],
            _extent(extent),
            int(extent[4]),
        )
        mosaics[method] = ImageF(arrays[f"corrected/{method}"].astype(np.float32))
    coverage = []
    for name in ("bgModel1", "bgModel2"):
        if f"coverage/{name}" in arrays:
            extent = arrays[f"coverageExtent/{name}"]
            coverage.append(
                CoverageMap(name, arrays[f"coverage/{name}"], _extent(extent), float(extent[4]))  # type: ignore[arg-type]
            )
    background = arrays.get("background")
    result = ValidationResult(
        config=config,
        truth=truth,
        metrics={},
        residualMaps=residualMaps,
        correctedMosaics=mosaics,
        backgroundMosaic=None if background is None else ImageF(background.astype(np.float32)),
        coverage=coverage,
        timings=summary["timings"],
    )
    return plotValidation(result, outputDir, figurePrefix)


def plotValidation(result: ValidationResult, outputDir: Path, figurePrefix: str = "") -> dict[str, Path]:
    """Draw the figures of a run (see `writeValidation`)."""
    paths: dict[str, Path] = {}
    title = result.title
    labels = {METHOD_LABELS[m]: result.correctedMosaics[m] for m in result.correctedMosaics}
    paths["corrected"] = plotCorrectedMosaics(
        _cropToData({k: ImageF(np.asarray(v.array, dtype=np.float32)) for k, v in labels.items()}),
        outputDir / f"{figurePrefix}corrected.png",
        title,
    )
    paths["residual"] = plotResidualMaps(
        {METHOD_LABELS[m]: v for m, v in result.residualMaps.items()},
        outputDir / f"{figurePrefix}residual.png",
        title,
        markers=targetMarkers(result.truth),
    )
    if result.backgroundMosaic is not None:
        cropped = _cropToData({"background": result.backgroundMosaic})["background"]
        paths["background"] = plotBackgroundMosaic(
            cropped, outputDir / f"{figurePrefix}background.png", title
        )
    if result.coverage:
        paths["coverage"] = plotCoverage(result.coverage, outputDir / f"{figurePrefix}coverage.png", title)
    return paths
