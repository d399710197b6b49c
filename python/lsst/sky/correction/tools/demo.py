"""The ``make demo`` workflow: simulate a visit into a repository, run ``pipetask``, look at it.

Run as ``python -m lsst.sky.correction.tools.demo`` (``make demo`` does).  Each
step is the command a user would type, run for real and echoed:

1. ``butler sky-correction-init-repo`` creates the repository;
2. ``butler sky-correction-simulate`` writes a simulated visit (HSC by
   default, every science detector) with its truth;
3. ``pipetask run`` runs ``pipelines/<camera>/SkyCorrection.yaml``;
4. the outputs are read back through the Butler: PNG previews of both
   mosaics and of the residual background vs truth, and a one-line summary
   (sky-frame scale found vs true, residual sky RMS vs truth in units of
   the per-pixel noise) also written to ``summary.txt``.

Steps already done (repository, visit) are reused, so a second run only
repeats ``pipetask run`` and the previews.
"""

from __future__ import annotations

__all__ = ["ResidualSummary", "main", "residualSkySummary", "truthSkyImage", "writePreviews"]

import argparse
import os
import re
import resource
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._parallel import usableCores
from ..afwlite.cameraGeom import Detector
from ..afwlite.image import ImageF

#: Where ``butler`` and ``pipetask`` are: beside this Python (the venv's bin).
_BIN = Path(sys.executable).parent


def truthSkyImage(truth: Any, detector: Detector) -> np.ndarray:
    """The true sky of one detector at every pixel (float32).

    Parameters
    ----------
    truth : `~lsst.sky.correction.simulation.VisitTruth`
        The simulation truth.
    detector : `~lsst.sky.correction.afwlite.cameraGeom.Detector`
        The detector.

    Returns
    -------
    sky : `numpy.ndarray`
        Smooth focal-plane sky + pedestal + scale x sky-frame pattern.
    """
    from ..simulation._sky import fillSky

    detectorId = detector.getId()
    bbox = detector.getBBox()
    out = np.empty((bbox.getHeight(), bbox.getWidth()), dtype=np.float32)
    fillSky(
        out,
        bbox,
        truth.smoothSky.pixelCoefficients(detector),
        truth.skyFramePatterns[detectorId],
        truth.skyFrameScale,
        truth.pedestals[detectorId],
    )
    return out


def _binMeans(array: np.ndarray, size: int) -> np.ndarray:
    """Means of the complete ``size`` x ``size`` blocks of ``array`` (partial edge blocks dropped)."""
    ny, nx = array.shape[0] // size, array.shape[1] // size
    blocks = array[: ny * size, : nx * size].reshape(ny, size, nx, size)
    return blocks.mean(axis=(1, 3), dtype=np.float64)


@dataclass
class ResidualSummary:
    """How well a sky correction matches the simulation truth.

    Attributes
    ----------
    scaleFound, scaleTrue : `float`
        The sky-frame scale the task fitted, and the simulated one.
    binSize : `int`
        Bin size (pixels) of the residual statistics.
    residualRms : `float`
        RMS over all bins of the visit of the binned (new background -
        true sky), in units of the per-pixel noise.
    residualRmsBefore : `float`
        The same for the input calexpBackground alone (before correction).
    detectors : `int`
        Detectors measured.
    """

    scaleFound: float
    scaleTrue: float
    binSize: int
    residualRms: float
    residualRmsBefore: float
    detectors: int

    def line(self) -> str:
        """The one-line summary."""
        error = 100.0 * (self.scaleFound / self.scaleTrue - 1.0)
        return (
            f"sky-frame scale {self.scaleFound:.4g} vs true {self.scaleTrue:.4g} ({error:+.2f}%); "
            f"residual sky RMS vs truth in {self.binSize}-px bins: {self.residualRms:.3f} x pixel noise "
            f"(calexpBackground alone: {self.residualRmsBefore:.3f}) over {self.detectors} detectors"
        )


def residualSkySummary(
    skyCorrs: dict[int, Any],
    calexpBackgrounds: dict[int, Any],
    camera: Any,
    truth: Any,
    scaleFound: float,
    binSize: int = 256,
) -> ResidualSummary:
    """Compare the background a sky correction leaves with the simulation truth.

    The new background of a detector is ``calexpBackground + skyCorr``
    (``skyCorr`` starts with the inverted calexpBackground); the corrected
    image still holds ``true sky - new background`` of sky.  Its
    ``binSize``-px block means are compared with the per-pixel noise
    ``sqrt(sky / gain + readNoise**2)``.

    Parameters
    ----------
    skyCorrs, calexpBackgrounds : `dict` [`int`, `BackgroundList`]
        By detector id.
    camera : `~lsst.sky.correction.afwlite.cameraGeom.Camera`
        The camera.
    truth : `~lsst.sky.correction.simulation.VisitTruth`
        The truth of the visit.
    scaleFound : `float`
        The sky-frame scale the task fitted.
    binSize : `int`, optional
        Block size in pixels.

    Returns
    -------
    summary : `ResidualSummary`
        The figures.
    """

    def residuals(detectorId: int) -> tuple[np.ndarray, np.ndarray]:
        detector = camera[detectorId]
        sky = truthSkyImage(truth, detector)
        old = calexpBackgrounds[detectorId].getImage().array
        new = old + skyCorrs[detectorId].getImage().array
        noise = float(np.sqrt(np.mean(sky) / truth.gains[detectorId] + truth.readNoise**2))
        return _binMeans(new - sky, binSize).ravel() / noise, _binMeans(old - sky, binSize).ravel() / noise

    # Whole-detector numpy work releases the GIL: one detector per core; results in detector order.
    with ThreadPoolExecutor(max_workers=usableCores()) as pool:
        pairs = list(pool.map(residuals, sorted(skyCorrs)))
    after = [pair[0] for pair in pairs]
    before = [pair[1] for pair in pairs]
    rms = float(np.sqrt(np.mean(np.concatenate(after) ** 2)))
    rmsBefore = float(np.sqrt(np.mean(np.concatenate(before) ** 2)))
    return ResidualSummary(scaleFound, truth.skyFrameScale, binSize, rms, rmsBefore, len(skyCorrs))


def writePreviews(
    calexpMosaic: ImageF, backgroundMosaic: ImageF, outputDir: Path, title: str
) -> dict[str, Path]:
    """Write PNG previews of the two focal-plane mosaics.

    Parameters
    ----------
    calexpMosaic, backgroundMosaic : `ImageF`
        ``calexp_skyCorr_visit_mosaic`` and
        ``calexpBackground_skyCorr_visit_mosaic`` (NaN off the detectors).
    outputDir : `pathlib.Path`
        Where to write.
    title : `str`
        Prefix of the figure titles.

    Returns
    -------
    paths : `dict` [`str`, `pathlib.Path`]
        ``"calexp"`` and ``"background"`` PNGs.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from astropy.visualization import AsinhStretch, ImageNormalize, LinearStretch, ZScaleInterval

    paths = {}
    panels = (
        ("calexp", calexpMosaic, AsinhStretch(0.1), "sky-corrected calexps"),
        ("background", backgroundMosaic, LinearStretch(), "new background (bgModel1 + sky frame + bgModel2)"),
    )
    for key, image, stretch, what in panels:
        array = image.array
        finite = array[np.isfinite(array)]
        norm = ImageNormalize(finite, interval=ZScaleInterval(), stretch=stretch)
        figure, axes = plt.subplots(figsize=(8, 8))
        shown = axes.imshow(array, origin="lower", cmap="gray" if key == "calexp" else "viridis", norm=norm)
        axes.set_title(f"{title}: {what}")
        axes.set_xlabel("mosaic x (binned pixels)")
        axes.set_ylabel("mosaic y (binned pixels)")
        figure.colorbar(shown, ax=axes, shrink=0.8, label="counts")
        path = outputDir / f"{key}_mosaic.png"
        figure.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(figure)
        paths[key] = path
    return paths


class _Steps:
    """Prints the demo's steps, each with the time since the demo started."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self._start

    def say(self, message: str) -> None:
        print(f"demo [{self.elapsed():6.1f} s] {message}", flush=True)


#: Lines of a logging subprocess worth showing while it runs: the progress lines
#: (`lsst.sky.correction._progress.Progress`) and the sky-frame scale.
_PROGRESS_LINE = re.compile(r"ETA \d+ s$| detectors in [0-9.]+ s$|Sky frame scale:")


def _run(steps: _Steps, what: str, command: list[str], log: Path | None = None) -> None:
    """Run one step's command, echoing it.

    Without ``log`` its output goes to the terminal; with ``log`` it goes to
    that file and only the progress lines are shown.
    """
    steps.say(what)
    print("  +", shlex.join(command), flush=True)
    start, cpuStart = time.perf_counter(), _childCpuSeconds()
    if log is None:
        returncode = subprocess.run(command).returncode
    else:
        with log.open("w") as stream:
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
            )
            assert process.stdout is not None
            for line in process.stdout:
                stream.write(line)
                if _PROGRESS_LINE.search(line.rstrip()):
                    print("  |", line.rstrip()[-150:], flush=True)
            returncode = process.wait()
    if returncode != 0:
        where = f"; see {log}" if log is not None else ""
        raise SystemExit(f"demo: {command[0]} failed with exit code {returncode}{where}")
    # CPU seconds say how much work it was on a machine shared with other jobs.
    cpu = _childCpuSeconds() - cpuStart
    steps.say(f"{what}: done in {time.perf_counter() - start:.1f} s (CPU {cpu:.1f} s with its workers)")


def _childCpuSeconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _stepSeconds(taskMetadata: Any) -> str:
    """The task's per-step seconds (its ``detectorSeconds`` metadata) as one line; empty if absent."""
    try:
        seconds = taskMetadata["detectorSeconds"]
        names = list(seconds.keys()) if hasattr(seconds, "keys") else []
        return ", ".join(f"{name} {float(seconds[name]):.0f} s" for name in names)
    except (KeyError, TypeError, ValueError):
        return ""


def _hasVisit(root: Path, instrument: str, visit: int) -> bool:
    from lsst.daf.butler import Butler

    if not (root / "butler.yaml").exists():
        return False
    butler = Butler.from_config(str(root))
    try:
        return bool(
            butler.query_datasets(
                "skyCorrTruth", collections=f"{instrument}/calexp", explain=False, instrument=instrument,
                visit=visit,
            )
        )  # fmt: skip
    finally:
        butler.close()


def main(argv: list[str] | None = None) -> int:
    """Run the demo (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, default=Path("demo"), help="output directory (default: demo)")
    parser.add_argument("--instrument", default="HSC", help="camera to simulate (default: HSC)")
    parser.add_argument("--visit", type=int, default=1, help="visit id (default: 1)")
    parser.add_argument("--seed", type=int, default=1, help="simulation seed (default: 1)")
    parser.add_argument(
        "--detectors", default=None, help="comma-separated subset of detectors (default: all)"
    )
    parser.add_argument(
        "--config", action="append", default=[], help="extra -c skyCorr:FIELD=VALUE overrides"
    )
    args = parser.parse_args(argv)

    from lsst.daf.butler import Butler

    from ..simulation import VisitTruth

    steps = _Steps()
    root: Path = args.root.resolve()
    repo = root / "repo"
    root.mkdir(parents=True, exist_ok=True)
    instrument, visit = args.instrument, args.visit
    pipeline = f"resource://lsst.sky.correction/data/pipelines/{instrument}/SkyCorrection.yaml"
    output = f"u/demo/skyCorr/visit{visit}"

    butlerCommand = [str(_BIN / "butler"), "--log-level", "lsst.sky.correction=INFO"]
    if not (repo / "butler.yaml").exists():
        _run(
            steps,
            "1/4 creating the repository",
            [*butlerCommand, "sky-correction-init-repo", str(repo), "-i", instrument],
        )
    else:
        steps.say(f"1/4 repository {repo} exists; reused")
    if not _hasVisit(repo, instrument, visit):
        command = [*butlerCommand, "sky-correction-simulate", str(repo), "-i", instrument]
        command += ["--visit", str(visit), "--seed", str(args.seed), "-j", str(len(os.sched_getaffinity(0)))]
        if args.detectors:
            command += ["--detectors", args.detectors]
        _run(steps, f"2/4 simulating {instrument} visit {visit} into the repository", command)
    else:
        steps.say(f"2/4 {instrument} visit {visit} already simulated; reused")
    command = [str(_BIN / "pipetask"), "--log-level", "lsst.sky.correction=INFO", "run", "-b", str(repo)]
    command += ["-i", f"{instrument}/defaults", "-o", output, "-p", pipeline]
    command += ["-d", f"instrument='{instrument}' AND visit={visit}", "--register-dataset-types"]
    for override in args.config:
        command += ["-c", f"skyCorr:{override}"]
    _run(steps, f"3/4 pipetask run (log: {root / 'pipetask.log'})", command, log=root / "pipetask.log")

    steps.say("4/4 reading the outputs back: summary and PNG previews")

    butler = Butler.from_config(str(repo), collections=[output, f"{instrument}/defaults"])
    try:
        dataId = {"instrument": instrument, "visit": visit}
        camera = butler.get("camera", instrument=instrument, collections=f"{instrument}/calib/unbounded")
        truth = VisitTruth.fromDict(butler.get("skyCorrTruth", dataId))
        refs = butler.query_datasets("skyCorr", collections=output, **dataId)
        skyCorrs = {int(ref.dataId["detector"]): butler.get(ref) for ref in refs}
        calexpBackgrounds = {
            d: butler.get("calexpBackground", dataId, detector=d) for d in skyCorrs
        }  # fmt: skip
        taskMetadata = butler.get("skyCorr_metadata", dataId)["skyCorr"]
        scale = float(taskMetadata["skyFrameScale"])
        stepSeconds = _stepSeconds(taskMetadata)
        summary = residualSkySummary(skyCorrs, calexpBackgrounds, camera, truth, scale)
        previews = writePreviews(
            butler.get("calexp_skyCorr_visit_mosaic", dataId),
            butler.get("calexpBackground_skyCorr_visit_mosaic", dataId),
            root,
            f"{instrument} visit {visit}",
        )
    finally:
        butler.close()
    line = summary.line()
    (root / "summary.txt").write_text(line + "\n")
    print(f"demo: {line}")
    if stepSeconds:
        print(f"demo: task time by step (summed over detectors and threads): {stepSeconds}")
    print(f"demo: repository {repo} (outputs in collection {output}), pipetask log {root / 'pipetask.log'}")
    print(f"demo: previews {previews['calexp']} and {previews['background']}; summary {root / 'summary.txt'}")
    steps.say("done")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
