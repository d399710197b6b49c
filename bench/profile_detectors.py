"""Profile SkyCorrectionTask.run on a few simulated detectors with pyinstrument (one thread).

One thread, so that the profile reads as a per-detector cost.  Run from the
repository root::

    .venv/bin/python bench/profile_detectors.py --camera LSSTCam --detectors 2

Prints the call tree (frames under 2% of the run hidden) and a one-line
summary per pass, and writes the full text tree to
``bench/results/profile_<camera>.txt``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_visit import cameraAndSimulation, makeConfig
from harness import RESULTS_DIR, detectorsNearCentre, nestedMetadata, stageTimes

from lsst.sky.correction import SkyCorrectionTask
from lsst.sky.correction.simulation import VisitSimulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--camera", default="LSSTCam")
    parser.add_argument("--detectors", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="text tree (default bench/results/...)")
    args = parser.parse_args(argv)

    from pyinstrument import Profiler

    camera, simulation = cameraAndSimulation(args.camera)
    detectors = detectorsNearCentre(camera, args.detectors)
    simulator = VisitSimulator(camera, simulation.replace(detectors=detectors), seed=1, visit=1)
    simulator.truth()
    task = SkyCorrectionTask(config=makeConfig(args.camera, 1, []))
    profiler = Profiler(interval=0.002)
    cpu = time.process_time()
    with profiler:
        task.run(
            simulator.calexpHandles(),
            simulator.calexpBackgroundHandles(),
            simulator.skyFrameHandles(),
            camera,
        )
    cpu = time.process_time() - cpu
    text = profiler.output_text(unicode=True, color=False, show_all=False, time="seconds")
    out = args.out or RESULTS_DIR / f"profile_{args.camera}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(profiler.output_text(unicode=True, color=False, time="percent_of_total"))
    metadata = task.getFullMetadata()["skyCorr"]
    print(f"{args.camera}: {len(detectors)} detectors, one thread, {cpu:.1f} CPU s")
    for name, spent in stageTimes(metadata).items():
        print(f"  {name:14s} {spent['cpu']:7.2f} CPU s  {spent['cpu'] / len(detectors):6.2f} per detector")
    steps = nestedMetadata(metadata, "detectorSeconds")
    print(
        "  per-detector steps (s per detector):", {k: round(v / len(detectors), 2) for k, v in steps.items()}
    )
    print(f"full tree in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
