"""How the sky correction scales with the number of detectors (one fresh process per point).

Each point runs ``bench_visit.py`` on the N detectors nearest the focal-plane
centre, in its own process, so that its peak RSS is its own.  Run from the
repository root::

    .venv/bin/python bench/bench_scaling.py --camera LSSTCam --counts 9,25,50,104,189

Prints one row per point (wall, CPU and peak RSS, per detector too) and a
linear fit of wall time against detector count; every point's record is
appended to ``bench/results/visit.jsonl`` (scenario ``scaling``) and the
summary to ``bench/results/scaling.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import RESULTS_DIR, Table, appendRecord, baseRecord, peakRssGiB


def runPoint(camera: str, count: int, extra: list[str], results: Path) -> dict[str, Any]:
    """Run one point in a child process; return its record (read back from a private file)."""
    with tempfile.TemporaryDirectory() as scratch:
        pointFile = Path(scratch) / "point.jsonl"
        command = [
            sys.executable,
            str(Path(__file__).resolve().parent / "bench_visit.py"),
            "--camera",
            camera,
            "--detectors",
            str(count),
            "--scenario",
            "scaling",
            "--results",
            str(pointFile),
            *extra,
        ]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        record = json.loads(pointFile.read_text().splitlines()[-1])
    appendRecord(results, record)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--camera", default="LSSTCam")
    parser.add_argument("--counts", default="9,25,50,104,189", help="comma-separated detector counts")
    parser.add_argument("--references", choices=("all", "floor", "none"), default="none")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--results", type=Path, default=RESULTS_DIR / "scaling.jsonl")
    parser.add_argument(
        "--points", type=Path, default=RESULTS_DIR / "visit.jsonl", help="where point records go"
    )
    args = parser.parse_args(argv)
    counts = [int(value) for value in args.counts.split(",")]
    extra = ["--references", args.references, "--threads", str(args.threads)]
    summary = baseRecord("scaling")
    points = []
    table = Table(["detectors", "wall s", "cpu s", "wall s/det", "cpu s/det", "peak RSS GiB"])
    for count in counts:
        record = runPoint(args.camera, count, extra, args.points)
        ours = record["ours"]
        point = {
            "detectors": count,
            "wall": ours["wall"],
            "cpu": ours["cpu"],
            "peakRssGiB": ours["peakRssGiB"],
            "loadAverage": record["machine"]["loadAverage"],
        }
        points.append(point)
        table.add(
            count, ours["wall"], ours["cpu"], ours["wall"] / count, ours["cpu"] / count, ours["peakRssGiB"]
        )
        print(table.render().splitlines()[-1] if len(points) > 1 else table.render(), flush=True)
    n = np.array([p["detectors"] for p in points], dtype=float)
    wall = np.array([p["wall"] for p in points])
    slope, intercept = np.polyfit(n, wall, 1) if len(points) > 1 else (wall[0] / n[0], 0.0)
    print()
    print(table.render())
    print(f"wall = {intercept:.1f} s + {slope:.2f} s x detectors (least squares over {len(points)} points)")
    summary |= {
        "camera": args.camera,
        "points": points,
        "fit": {"secondsPerDetector": round(float(slope), 3), "interceptSeconds": round(float(intercept), 2)},
        "childrenPeakRssGiB": round(peakRssGiB(resource.RUSAGE_CHILDREN), 3),
    }
    appendRecord(args.results, summary)
    print(f"summary appended to {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
