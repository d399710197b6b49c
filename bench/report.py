"""Markdown tables for docs/benchmarks.md from the JSON records in bench/results.

Run from the repository root after the benchmark commands::

    .venv/bin/python bench/report.py            # the latest record of each scenario
    .venv/bin/python bench/report.py --all      # every visit record, one row each
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import RESULTS_DIR, STAGES


def records(name: str) -> list[dict[str, Any]]:
    path = RESULTS_DIR / name
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def latest(items: list[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    chosen = [r for r in items if all(r.get(k) == v for k, v in match.items())]
    return chosen[-1] if chosen else None


def row(*cells: Any) -> str:
    return "| " + " | ".join(_fmt(c) for c in cells) + " |"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def visitTable(record: dict[str, Any]) -> list[str]:
    n = record["detectors"]
    ours = record["ours"]
    load = record["machine"]["loadAverage"]
    lines = [
        f"**{record['camera']}**, {n} detectors, {record['numThreads']} threads, commit "
        f"`{record['commit']}`, {record['time']}; load average {load[0]:.1f} before, "
        f"{record['loadAverageAfter'][0]:.1f} after.",
        "",
        row("what", "wall s", "CPU s", "wall s / detector", "CPU s / detector"),
        row("---", "---:", "---:", "---:", "---:"),
        row("**SkyCorrectionTask.run**", ours["wall"], ours["cpu"], ours["wall"] / n, ours["cpu"] / n),
    ]
    for name, _ in STAGES:
        if name not in ours["stages"]:
            continue
        spent = ours["stages"][name]
        lines.append(row(f"pass: {name}", spent["wall"], spent["cpu"], spent["wall"] / n, spent["cpu"] / n))
    labels = {
        "floor": "floor (generate + mean)",
        "generate": "generate (part of floor)",
        "sep": "sep Background + back()",
        "photutils": "photutils Background2D",
    }
    for name, label in labels.items():
        if name in record.get("references", {}):
            spent = record["references"][name]
            lines.append(row(label, spent["wall"], spent["cpu"], spent["wall"] / n, spent["cpu"] / n))
    lines.append("")
    fetches = ", ".join(
        f"{kind} {v['min']}" + ("" if v["min"] == v["max"] else f"-{v['max']}")
        for kind, v in sorted(ours["fetchesPerDetector"].items())
    )
    lines.append(
        f"Peak RSS {ours['peakRssGiB']:.2f} GiB (process before the run: "
        f"{ours['peakRssBeforeRunGiB']:.2f} GiB); fetches per detector: {fetches}; "
        f"detectors generated: {ours['generations']}."
    )
    if "ratiosWall" in record:
        ratios = ", ".join(f"{k} = {v:.2f}" for k, v in record["ratiosWall"].items())
        lines.append(f"Ratios: {ratios}.")
    steps = ", ".join(f"{k} {v / n:.2f}" for k, v in ours["detectorSeconds"].items())
    lines.append(f"Thread-seconds per detector by step: {steps}.")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--all", action="store_true", help="one summary row per visit record")
    args = parser.parse_args(argv)
    visits = records("visit.jsonl")
    if args.all:
        print(row("time", "camera", "detectors", "threads", "wall s", "CPU s", "peak RSS GiB", "load before"))
        print(row("---", "---", "---:", "---:", "---:", "---:", "---:", "---:"))
        for r in visits:
            o = r["ours"]
            print(
                row(
                    r["time"], r["camera"], r["detectors"], r["numThreads"], o["wall"], o["cpu"],
                    o["peakRssGiB"], r["machine"]["loadAverage"][0],
                )
            )  # fmt: skip
        return 0
    for camera in ("LSSTCam", "HSC"):
        record = latest(visits, scenario="visit", camera=camera)
        if record is not None:
            print("\n".join(visitTable(record)) + "\n")
    scaling = latest(records("scaling.jsonl"), scenario="scaling")
    if scaling is not None:
        print(f"**Scaling**, {scaling['camera']}, commit `{scaling['commit']}`, {scaling['time']}:\n")
        print(row("detectors", "wall s", "CPU s", "wall s / det", "CPU s / det", "peak RSS GiB", "load avg"))
        print(row("---:", "---:", "---:", "---:", "---:", "---:", "---:"))
        for p in scaling["points"]:
            n = p["detectors"]
            print(
                row(n, p["wall"], p["cpu"], p["wall"] / n, p["cpu"] / n, p["peakRssGiB"], p["loadAverage"][0])
            )
        fit = scaling["fit"]
        print(
            f"\nLeast-squares line: wall = {fit['interceptSeconds']:.1f} s + "
            f"{fit['secondsPerDetector']:.2f} s x N.\n"
        )
    pipetask = latest(records("pipetask.jsonl"), scenario="pipetask")
    if pipetask is not None:
        p = pipetask["pipetask"]
        print(
            f"**pipetask run**, {pipetask['camera']} visit {pipetask['visit']}, "
            f"{pipetask['detectors']} detectors, {pipetask['numThreads']} threads, "
            f"commit `{pipetask['commit']}`, {pipetask['time']}; load average "
            f"{pipetask['machine']['loadAverage'][0]:.1f} before, "
            f"{pipetask['loadAverageAfter'][0]:.1f} after.\n"
        )
        print(row("what", "wall s", "CPU s"))
        print(row("---", "---:", "---:"))
        print(row("pipetask run (whole process)", p["wall"], p["cpu"]))
        for name, _ in STAGES:
            if name in pipetask["stages"]:
                spent = pipetask["stages"][name]
                print(row(f"pass: {name}", spent["wall"], spent["cpu"]))
        gets = ", ".join(f"{k} {v:.0f}" for k, v in pipetask["handleGetsPerDetector"].items())
        print(
            f"\nPeak RSS of the pipetask process {p['peakRssGiB']:.2f} GiB; "
            f"task handle gets per detector: {gets}."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
