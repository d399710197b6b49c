"""The same simulated visit from a real on-disk Butler repository, through ``pipetask run``.

Builds the repository once (``butler sky-correction-init-repo`` and
``butler sky-correction-simulate``, not timed as part of the run), then times
``pipetask run`` of the camera's pipeline in a child process: wall, CPU and
peak RSS of that child (``os.wait4``), the task's per-pass times and handle
fetches (from ``skyCorr_metadata``).  Run from the repository root::

    .venv/bin/python bench/bench_pipetask.py --camera HSC --root /tmp/skycorr-bench

The table goes to stdout; one JSON record is appended to
``bench/results/pipetask.jsonl``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    GIB,
    RESULTS_DIR,
    Measured,
    Table,
    appendRecord,
    baseRecord,
    nestedMetadata,
    stageTimes,
)

BIN = Path(sys.executable).parent


def runChild(command: list[str], log: Path) -> tuple[Measured, float]:
    """Run a command; its wall and CPU seconds and peak RSS (GiB), from the child's own rusage."""
    print("+", " ".join(command), flush=True)
    start = time.perf_counter()
    with log.open("w") as stream:
        child = subprocess.Popen(command, stdout=stream, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    spent = Measured(time.perf_counter() - start, usage.ru_utime + usage.ru_stime)
    if child.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({child.returncode}); see {log}")
    return spent, usage.ru_maxrss * 1024 / GIB


def buildRepo(repo: Path, camera: str, visit: int, seed: int, processes: int, logs: Path) -> dict[str, Any]:
    """Create and fill the repository unless it already holds the visit."""
    if (repo / "butler.yaml").exists() and (logs / f"simulate-{visit}.done").exists():
        return {"reused": True}
    logs.mkdir(parents=True, exist_ok=True)
    init, _ = runChild(
        [str(BIN / "butler"), "sky-correction-init-repo", str(repo), "-i", camera], logs / "init-repo.log"
    )
    simulate, _ = runChild(
        [
            str(BIN / "butler"),
            "sky-correction-simulate",
            str(repo),
            "-i",
            camera,
            "--visit",
            str(visit),
            "--seed",
            str(seed),
            "-j",
            str(processes),
        ],
        logs / f"simulate-{visit}.log",
    )
    (logs / f"simulate-{visit}.done").touch()
    return {"reused": False, "initRepo": init.asDict(), "simulate": simulate.asDict()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--camera", default="HSC")
    parser.add_argument("--root", type=Path, default=Path("/tmp/skycorr-bench"))
    parser.add_argument("--visit", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--simulate-processes", type=int, default=2)
    parser.add_argument("--config", action="append", default=[], help="extra -c skyCorr:NAME=VALUE")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR / "pipetask.jsonl")
    args = parser.parse_args(argv)

    from lsst.daf.butler import Butler

    root = args.root.resolve() / args.camera
    repo, logs = root / "repo", root / "logs"
    record = baseRecord("pipetask") | {"camera": args.camera, "visit": args.visit, "seed": args.seed}
    record["setup"] = buildRepo(repo, args.camera, args.visit, args.seed, args.simulate_processes, logs)

    output = f"u/bench/skyCorr/{time.strftime('%Y%m%dT%H%M%S')}"
    pipeline = f"resource://lsst.sky.correction/data/pipelines/{args.camera}/SkyCorrection.yaml"
    command = [str(BIN / "pipetask"), "--log-level", "lsst.sky.correction=INFO", "run", "-b", str(repo)]
    command += ["-i", f"{args.camera}/defaults", "-o", output, "-p", pipeline, "--register-dataset-types"]
    command += ["-d", f"instrument='{args.camera}' AND visit={args.visit}"]
    for override in args.config:
        command += ["-c", f"skyCorr:{override}"]
    spent, peak = runChild(command, logs / "pipetask.log")

    butler = Butler.from_config(str(repo), collections=[output])
    try:
        dataId = {"instrument": args.camera, "visit": args.visit}
        metadata = butler.get("skyCorr_metadata", dataId)["skyCorr"]
        detectors = len(butler.query_datasets("skyCorr", collections=output, **dataId))
    finally:
        butler.close()
    gets = nestedMetadata(metadata, "handleGets")
    record |= {
        "output": output,
        "detectors": detectors,
        "numThreads": int(metadata["numThreads"]),
        "pipetask": {**spent.asDict(), "peakRssGiB": round(peak, 3)},
        "stages": stageTimes(metadata),
        "detectorSeconds": {k: round(v, 2) for k, v in nestedMetadata(metadata, "detectorSeconds").items()},
        "handleGetsPerDetector": {name: count / detectors for name, count in gets.items()},
        "skyFrameScale": float(metadata["skyFrameScale"]),
    }
    record["loadAverageAfter"] = os.getloadavg()

    print(f"\n{args.camera} visit {args.visit} through pipetask run: {detectors} detectors")
    table = Table(["what", "wall s", "cpu s"])
    table.add("pipetask run (whole process)", spent.wall, spent.cpu)
    for name, stage in record["stages"].items():
        table.add(f"  {name}", stage["wall"], stage["cpu"])
    print(table.render())
    print(
        f"peak RSS of pipetask: {peak:.2f} GiB; handle gets per detector: {record['handleGetsPerDetector']}"
    )
    print(f"setup: {record['setup']}")
    appendRecord(args.results, record)
    print(f"record appended to {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
