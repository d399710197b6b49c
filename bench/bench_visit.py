"""Benchmark SkyCorrectionTask on one simulated visit, with the floor and two peers on the same pixels.

The visit is simulated on the fly: the task gets in-memory handles whose
``get()`` generates the detector, so nothing large is stored and every fetch
is counted.  Run from the repository root, e.g.::

    .venv/bin/python bench/bench_visit.py --camera LSSTCam            # 189 detectors + references
    .venv/bin/python bench/bench_visit.py --camera HSC                # 104 detectors + references
    .venv/bin/python bench/bench_visit.py --camera HSC --detectors 9 --references none

The table goes to stdout; one JSON record is appended to
``bench/results/visit.jsonl`` (``--results`` to change).
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections import Counter
from importlib.resources import files
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    RESULTS_DIR,
    Table,
    appendRecord,
    baseRecord,
    countingHandles,
    detectorsNearCentre,
    fetchesPerDetector,
    machine,
    measure,
    memoryBandwidth,
    nestedMetadata,
    peakRssGiB,
    stageFloors,
    stageTimes,
)

from lsst.sky.correction import SkyCorrectionConfig, SkyCorrectionTask
from lsst.sky.correction.cameras import getCamera
from lsst.sky.correction.simulation import SimulationConfig, VisitSimulator

# TinyCam (four 256 x 200 detectors) exists for the smoke test of this harness: its
# visit has no bright star or LSB galaxy (they would cover the whole 6 mm focal plane),
# and its superpixels are scaled to its size.
TINY = "TinyCam"
TINY_SIMULATION = {
    "lsbGalaxy.enabled": False,
    "brightStar.enabled": False,
    "skyFrame.binSize": 16,
    "background.binSize": 64,
}


def tinyConfig(config: SkyCorrectionConfig) -> None:
    config.binning = 4
    for model, size in ((config.bgModel1, 2.0), (config.bgModel2, 0.5)):
        model.xSize = size
        model.ySize = size
        model.pixelSize = 0.010
        model.binning = 16


def cameraAndSimulation(name: str) -> tuple[Any, SimulationConfig]:
    if name == TINY:
        from lsst.sky.correction.testing import makeTinyCamera

        return makeTinyCamera(), SimulationConfig().replace(**TINY_SIMULATION)
    return getCamera(name), SimulationConfig()


def makeConfig(camera: str, threads: int, overrides: list[str]) -> SkyCorrectionConfig:
    """The camera's shipped overrides (what its pipeline uses), then ``numThreads`` and any NAME=VALUE."""
    config = SkyCorrectionConfig()
    if camera == TINY:
        tinyConfig(config)
    else:
        config.load(str(files("lsst.sky.correction") / "data" / "config" / camera / "skyCorr.py"))
    config.numThreads = threads
    for override in overrides:
        name, value = override.split("=", 1)
        target: Any = config
        *parents, leaf = name.split(".")
        for parent in parents:
            target = getattr(target, parent)
        setattr(target, leaf, type(getattr(target, leaf))(eval(value, {})))
    config.validate()
    return config


def runVisit(args: argparse.Namespace) -> dict[str, Any]:
    """Run the task (and the references) and return the JSON record."""
    camera, simulation = cameraAndSimulation(args.camera)
    nScience = len(VisitSimulator(camera, simulation, seed=args.seed, visit=args.visit).detectorIds)
    detectors = detectorsNearCentre(camera, args.detectors or nScience)
    simulator = VisitSimulator(
        camera, simulation.replace(detectors=detectors), seed=args.seed, visit=args.visit
    )
    config = makeConfig(args.camera, args.threads, args.config)
    task = SkyCorrectionTask(config=config)
    counter: Counter[tuple[str, int]] = Counter()
    calExps = countingHandles(simulator.calexpHandles(), "calexp", counter)
    calBkgs = countingHandles(simulator.calexpBackgroundHandles(), "calexpBackground", counter)
    skyFrames = countingHandles(simulator.skyFrameHandles(), "sky", counter)
    simulator.truth()  # the visit-level truth (cheap) is not part of the run
    pixels = sum(camera[d].getBBox().getArea() for d in detectors)
    gc.collect()
    rssBefore = peakRssGiB()

    with measure() as ours:
        result = task.run(calExps, calBkgs, skyFrames, camera)
    rssOurs = peakRssGiB()
    bandwidth = memoryBandwidth()  # after the peak-RSS reading: its 1 GiB of buffers would count
    metadata = task.getFullMetadata()["skyCorr"]
    record = {
        "camera": args.camera,
        "detectors": len(detectors),
        "numThreads": int(metadata["numThreads"]),
        "config": args.config,
        "ours": {
            **ours.asDict(),
            "peakRssGiB": round(rssOurs, 3),
            "peakRssBeforeRunGiB": round(rssBefore, 3),
            "stages": stageTimes(metadata),
            "memoryBandwidthGBs": round(bandwidth / 1e9, 2),
            "stageFloors": {k: round(v, 3) for k, v in stageFloors(pixels, bandwidth).items()},
            "detectorSeconds": {
                k: round(v, 2) for k, v in nestedMetadata(metadata, "detectorSeconds").items()
            },
            "handleGets": nestedMetadata(metadata, "handleGets"),
            "fetchesPerDetector": fetchesPerDetector(counter, detectors),
            "generations": simulator.generationCount,
            "skyFrameScale": result.skyFrameScale,
            "skyFrameScaleTruth": simulator.config.skyFrame.scale,
        },
    }
    del result
    gc.collect()

    if args.references != "none":
        from references import measureReferences

        references = measureReferences(simulator, detectors, peers=args.references == "all")
        record["references"] = {name: spent.asDict() for name, spent in references.items()}
        record["peakRssWithReferencesGiB"] = round(peakRssGiB(), 3)
        ratios = {"ours/floor": ours.wall / references["floor"].wall}
        if args.references == "all":
            ratios["ours/sep"] = ours.wall / references["sep"].wall
            ratios["ours/photutils"] = ours.wall / references["photutils"].wall
            ratios["ours/(floor+photutils) cpu"] = ours.cpu / (
                references["floor"].cpu + references["photutils"].cpu
            )
        record["ratiosWall"] = {name: round(value, 3) for name, value in ratios.items()}
    record["loadAverageAfter"] = machine()["loadAverage"]
    return record


def printRecord(record: dict[str, Any]) -> None:
    ours = record["ours"]
    n = record["detectors"]
    print(
        f"\n{record['camera']}: {n} detectors, {record['numThreads']} threads "
        f"(load average before {record['machine']['loadAverage'][0]:.2f}, "
        f"after {record['loadAverageAfter'][0]:.2f})"
    )
    table = Table(["what", "wall s", "cpu s", "wall s / detector", "floor s (1 core)"])
    floors = ours.get("stageFloors", {})
    table.add("SkyCorrectionTask.run", ours["wall"], ours["cpu"], ours["wall"] / n, sum(floors.values()))
    for name, spent in ours["stages"].items():
        table.add(f"  {name}", spent["wall"], spent["cpu"], spent["wall"] / n, floors.get(name, "-"))
    for name, spent in record.get("references", {}).items():
        table.add(f"reference: {name}", spent["wall"], spent["cpu"], spent["wall"] / n, "-")
    print(table.render())
    print(
        f"peak RSS: {ours['peakRssGiB']:.2f} GiB during the run (before it {ours['peakRssBeforeRunGiB']:.2f})"
    )
    print(f"fetches per detector: {ours['fetchesPerDetector']}; detectors generated: {ours['generations']}")
    print("thread-seconds per step:", ours["detectorSeconds"])
    for name, value in record.get("ratiosWall", {}).items():
        print(f"{name}: {value:.2f}")
    print(f"sky frame scale {ours['skyFrameScale']:.4f} (truth {ours['skyFrameScaleTruth']})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--camera", default="HSC", help="shipped camera, or TinyCam (default HSC)")
    parser.add_argument("--detectors", type=int, default=0, help="N detectors nearest the centre (0: all)")
    parser.add_argument("--threads", type=int, default=0, help="config.numThreads (0: usable cores)")
    parser.add_argument(
        "--references", choices=("all", "floor", "none"), default="all", help="what to measure besides ours"
    )
    parser.add_argument("--config", action="append", default=[], help="extra NAME=VALUE config override")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--visit", type=int, default=1)
    parser.add_argument("--results", type=Path, default=RESULTS_DIR / "visit.jsonl")
    parser.add_argument("--scenario", default="visit", help="scenario name stored in the record")
    args = parser.parse_args(argv)
    record = baseRecord(args.scenario) | runVisit(args)
    printRecord(record)
    appendRecord(args.results, record)
    print(f"record appended to {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
