"""Shared pieces of the benchmarks: machine facts, resource usage, handles that count, records.

Every benchmark command prints a table and appends one JSON record per run
to a ``.jsonl`` file under ``bench/results`` (or ``--results``).  A record
holds the command line, the git commit, the machine (cores, CPU model,
memory, load average before and after) and the measurements.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lsst.sky.correction.afwlite.cameraGeom import FOCAL_PLANE, Camera, DetectorType

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "bench" / "results"
GIB = 1024**3


# Machine and resources -------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    """The facts a reader needs to compare timings: cores, CPU model, memory, load."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    return {
        "hostname": platform.node(),
        "usableCores": len(os.sched_getaffinity(0)),
        "cpuModel": model,
        "memoryGiB": round(memory, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "loadAverage": os.getloadavg(),
    }


def gitCommit() -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()


def peakRssGiB(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size so far (Linux reports KiB), of this process or of its waited children."""
    return resource.getrusage(who).ru_maxrss * 1024 / GIB


def cpuSeconds(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Measured:
    """Wall and CPU seconds of a block (`measure`)."""

    wall: float = 0.0
    cpu: float = 0.0

    def add(self, other: Measured) -> None:
        self.wall += other.wall
        self.cpu += other.cpu

    def asDict(self) -> dict[str, float]:
        return {"wall": round(self.wall, 3), "cpu": round(self.cpu, 3)}


@contextmanager
def measure(who: int = resource.RUSAGE_SELF) -> Iterator[Measured]:
    """Time the ``with`` block: wall (perf_counter) and CPU (getrusage of ``who``)."""
    result = Measured()
    wall, cpu = time.perf_counter(), cpuSeconds(who)
    try:
        yield result
    finally:
        result.wall = time.perf_counter() - wall
        result.cpu = cpuSeconds(who) - cpu


# Inputs -----------------------------------------------------------------------------------------------
def detectorsNearCentre(camera: Camera, count: int) -> tuple[int, ...]:
    """The ``count`` science detectors whose centres are nearest the focal-plane centre, in id order.

    A compact patch, so that a subset still fills the focal-plane superpixels.
    """
    science = [d for d in camera if d.getType() == DetectorType.SCIENCE]
    if not 0 < count <= len(science):
        raise ValueError(f"asked for {count} detectors; {camera.getName()} has {len(science)} science ones")

    def radius(detector: Any) -> float:
        centre = detector.getCenter(FOCAL_PLANE)
        return float(np.hypot(centre.getX(), centre.getY()))

    return tuple(sorted(d.getId() for d in sorted(science, key=lambda d: (radius(d), d.getId()))[:count]))


class CountingHandle:
    """Wrap a dataset handle and count its ``get()`` calls per (dataset kind, detector)."""

    def __init__(self, handle: Any, kind: str, counter: Counter[tuple[str, int]]) -> None:
        self._handle = handle
        self._kind = kind
        self._counter = counter
        self.dataId = handle.dataId

    def get(self, **kwargs: Any) -> Any:
        self._counter[(self._kind, int(self.dataId["detector"]))] += 1
        return self._handle.get(**kwargs)


def countingHandles(handles: Sequence[Any], kind: str, counter: Counter[tuple[str, int]]) -> list[Any]:
    return [CountingHandle(handle, kind, counter) for handle in handles]


def fetchesPerDetector(counter: Counter[tuple[str, int]], detectors: Sequence[int]) -> dict[str, Any]:
    """Per dataset kind, the fewest and most ``get()`` calls any detector saw."""
    kinds = sorted({kind for kind, _ in counter})
    return {
        kind: {
            "min": min(counter[(kind, d)] for d in detectors),
            "max": max(counter[(kind, d)] for d in detectors),
        }
        for kind in kinds
    }


# Task metadata ------------------------------------------------------------------------------------------
STAGES = (
    ("restore+mask", "restoreAndMaskObjects"),
    ("bgModel1", "fitBgModel1"),
    ("sky frame", "subtractSkyFrames"),
    ("bgModel2", "fitBgModel2"),
    ("mosaics", "makeMosaics"),
)


#: Bytes per detector pixel that one fused pass of each stage must move at the least: every
#: input plane read once and every output written once, nothing re-read.
#:
#: * restore+mask: restore (read and write the float32 image, 8 B), three object-masking
#:   passes (each reads the image and reads and writes the int32 mask: 12 B), the bgModel1
#:   statistics (image and mask, 8 B), the pixel cache (image 4 B, bad-pixel bits 0.25 B),
#:   the mosaic binning (image and mask, 8 B): 64.25 B;
#: * sky frame: the cached image and its bad bits read, the image written (8.125 B);
#: * bgModel2: the same (8.125 B);
#: * mosaics: the evaluated background read once (4 B).
#: bgModel1 is a fit to the binned superpixels: no per-pixel floor.
STAGE_BYTES_PER_PIXEL = {
    "restore+mask": 8 + 3 * 12 + 8 + 4.25 + 8,
    "sky frame": 8.125,
    "bgModel2": 8.125,
    "mosaics": 4.0,
}


def memoryBandwidth(megabytes: int = 512, repeats: int = 3) -> float:
    """Copy bandwidth in bytes per second (read + write), best of ``repeats`` numpy copies."""
    source = np.ones(megabytes * 1024**2 // 8)
    target = np.empty_like(source)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - start)
    return 2 * source.nbytes / best


def stageFloors(pixels: int, bandwidth: float) -> dict[str, float]:
    """Seconds each stage's bytes (`STAGE_BYTES_PER_PIXEL`) take at ``bandwidth``, for ``pixels``."""
    return {stage: pixels * perPixel / bandwidth for stage, perPixel in STAGE_BYTES_PER_PIXEL.items()}


def stageTimes(metadata: Any) -> dict[str, dict[str, float]]:
    """Wall and CPU seconds of each pass, from the task's ``timeMethod`` entries."""
    from lsst.utils.timer import duration_from_timeMethod

    stages = {}
    for label, method in STAGES:
        if f"{method}StartCpuTime" not in metadata:
            continue
        wall = duration_from_timeMethod(metadata, method, "Utc")
        cpu = duration_from_timeMethod(metadata, method, "Cpu")
        stages[label] = {"wall": round(float(wall or 0.0), 3), "cpu": round(float(cpu or 0.0), 3)}
    return stages


def nestedMetadata(metadata: Any, key: str) -> dict[str, Any]:
    """A nested metadata entry as a plain dict (empty if absent)."""
    if key not in metadata:
        return {}
    value = metadata[key]
    return dict(value.to_dict()) if hasattr(value, "to_dict") else dict(value)


# Output -----------------------------------------------------------------------------------------------
@dataclass
class Table:
    """A plain-text table, printed with aligned columns."""

    columns: Sequence[str]
    rows: list[Sequence[Any]] = field(default_factory=list)

    def add(self, *row: Any) -> None:
        self.rows.append(row)

    def render(self) -> str:
        cells = [list(self.columns)] + [[_cell(value) for value in row] for row in self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]
        lines = [
            "  ".join(value.rjust(width) for value, width in zip(row, widths, strict=True)) for row in cells
        ]
        lines.insert(1, "  ".join("-" * width for width in widths))
        return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def appendRecord(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON record (one line) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as stream:
        stream.write(json.dumps(record, sort_keys=True) + "\n")


def baseRecord(scenario: str) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "commit": gitCommit(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
    }


def timed[R](func: Callable[[], R]) -> tuple[R, Measured]:
    with measure() as spent:
        result = func()
    return result, spent
