"""Smoke test of the benchmark harness (bench/): the commands run and write complete records.

TinyCam's four 256 x 200 detectors keep this to seconds.  No timing is
asserted (timings depend on the machine); what is asserted is what the
harness itself guarantees: every input is fetched once, each detector is
generated once, and the record carries the fields docs/benchmarks.md reads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module", autouse=True)
def benchOnPath() -> None:
    sys.path.insert(0, str(BENCH))


def test_visit_benchmark_writes_a_record(tmp_path: Path) -> None:
    import bench_visit

    results = tmp_path / "visit.jsonl"
    assert bench_visit.main(["--camera", "TinyCam", "--threads", "2", "--results", str(results)]) == 0
    (line,) = results.read_text().splitlines()
    record = json.loads(line)
    assert record["scenario"] == "visit" and record["camera"] == "TinyCam"
    assert record["detectors"] == 4 and record["numThreads"] == 2
    ours = record["ours"]
    for kind in ("calexp", "calexpBackground", "sky"):
        assert ours["fetchesPerDetector"][kind] == {"min": 1, "max": 1}, kind
        assert ours["handleGets"][kind] == 4, kind  # the task's own count agrees
    assert ours["generations"] == 4  # each detector simulated once for the whole run
    assert set(ours["stages"]) == {"restore+mask", "bgModel1", "sky frame", "bgModel2", "mosaics"}
    steps = {"fetch", "restore", "maskObjects", "bgModel1", "skyFrame", "bgModel2"}
    assert steps <= set(ours["detectorSeconds"])
    assert ours["wall"] > 0 and ours["cpu"] > 0 and ours["peakRssGiB"] >= ours["peakRssBeforeRunGiB"] > 0
    assert set(record["references"]) == {"generate", "mean", "restore", "sep", "photutils", "floor"}
    assert set(record["ratiosWall"]) >= {"ours/floor", "ours/sep", "ours/photutils"}
    assert record["machine"]["usableCores"] >= 1 and len(record["machine"]["loadAverage"]) == 3


def test_scaling_benchmark_runs_each_point_in_its_own_process(tmp_path: Path) -> None:
    import bench_scaling

    summary, points = tmp_path / "scaling.jsonl", tmp_path / "points.jsonl"
    command = ["--camera", "TinyCam", "--counts", "2,4", "--results", str(summary), "--points", str(points)]
    assert bench_scaling.main(command) == 0
    (line,) = summary.read_text().splitlines()
    record = json.loads(line)
    assert [point["detectors"] for point in record["points"]] == [2, 4]
    assert "secondsPerDetector" in record["fit"]
    perPoint = [json.loads(text) for text in points.read_text().splitlines()]
    assert [(p["scenario"], p["detectors"]) for p in perPoint] == [("scaling", 2), ("scaling", 4)]
    assert all(p["ours"]["fetchesPerDetector"]["calexp"] == {"min": 1, "max": 1} for p in perPoint)
