"""Command line: ``python -m lsst.sky.correction.tools.validation {run,figures} ...``.

``run`` simulates a visit, runs every method and writes ``results.json``,
``tables.md`` and the PNG figures; ``figures`` writes the figures of a
sky-correction run stored in a Butler repository.
"""

from __future__ import annotations

import argparse
import ast
import logging
import sys
import time
from pathlib import Path

from ..peers import PeerConfig


def _intList(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(",") if v.strip())


def _override(text: str) -> tuple[str, object]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE, got {text!r}")
    try:
        return name.strip(), ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        return name.strip(), value.strip()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lsst.sky.correction.tools.validation", description=__doc__
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="simulate a visit, run every method, write tables and figures")
    run.add_argument("--camera", default="HSC", help="shipped camera (default HSC)")
    run.add_argument("--seed", type=int, default=1)
    run.add_argument("--visit", type=int, default=1)
    where = run.add_mutually_exclusive_group()
    where.add_argument("--detectors", type=_intList, default=None, help="comma-separated detector ids")
    where.add_argument(
        "--near-targets",
        type=float,
        default=None,
        metavar="MM",
        help="only detectors whose centres are within MM of the LSB galaxy or the bright star",
    )
    run.add_argument("--methods", default=None, help="comma-separated subset of the methods")
    run.add_argument("--peer-box", type=int, default=PeerConfig.boxSize, help="peers' box size, pixels")
    run.add_argument("--no-coverage", action="store_true", help="skip the superpixel-coverage measurement")
    run.add_argument(
        "--task-config",
        action="append",
        default=[],
        type=_override,
        metavar="FIELD=VALUE",
        help="set a SkyCorrectionTask config field after the camera's overrides (repeatable), "
        "e.g. bgModel2.xSize=7.68",
    )
    run.add_argument(
        "--set",
        action="append",
        default=[],
        dest="simulation",
        metavar="FIELD=VALUE",
        help="change a SimulationConfig field (YAML value, repeatable), e.g. skyFrame.offsetScatter=0",
    )
    run.add_argument("--out", type=Path, required=True, help="output directory")
    run.add_argument("--prefix", default="", help="prefix of the PNG file names")

    replot = commands.add_parser("replot", help="redraw the figures of a 'run' output directory")
    replot.add_argument("out", type=Path, help="the directory 'run' wrote")
    replot.add_argument("--prefix", default="", help="prefix of the PNG file names")

    figures = commands.add_parser("figures", help="figures of a run stored in a Butler repository")
    figures.add_argument("repo")
    figures.add_argument("--collections", required=True, help="comma-separated collections")
    figures.add_argument("--instrument", required=True)
    figures.add_argument("--visit", type=int, required=True)
    figures.add_argument("--no-coverage", action="store_true", help="skip the superpixel coverage (slow)")
    figures.add_argument("--out", type=Path, required=True, help="output directory")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    logging.getLogger("lsst.sky.correction").setLevel(logging.WARNING)
    logging.getLogger("lsst.sky.correction.tools.validation").setLevel(logging.INFO)
    start = time.perf_counter()
    if args.command == "run":
        from ...simulation import SimulationConfig, VisitSimulator
        from ._runner import (
            METHOD_LABELS,
            ValidationRunConfig,
            detectorsNearTargets,
            runValidation,
            writeValidation,
        )

        try:
            simulation = SimulationConfig().withSettings(args.simulation)
        except ValueError as error:
            print(f"--set: {error}", file=sys.stderr)
            return 2
        detectors = args.detectors
        if args.near_targets is not None:
            simulator = VisitSimulator(args.camera, simulation, seed=args.seed, visit=args.visit)
            detectors = detectorsNearTargets(simulator, args.near_targets)
        methods = tuple(args.methods.split(",")) if args.methods else tuple(METHOD_LABELS)
        config = ValidationRunConfig(
            camera=args.camera,
            seed=args.seed,
            visit=args.visit,
            detectors=detectors,
            simulation=simulation,
            methods=methods,
            peer=PeerConfig(boxSize=args.peer_box),
            coverage=not args.no_coverage,
            taskConfigOverrides=tuple(args.task_config),
        )
        result = runValidation(config)
        paths = writeValidation(result, args.out, args.prefix)
        print(result.markdown())
    elif args.command == "replot":
        from ._runner import replotValidation

        paths = replotValidation(args.out, args.prefix)
    else:
        from ._outputs import figuresFromButler

        paths = figuresFromButler(
            args.repo,
            [c for c in args.collections.split(",") if c],
            args.instrument,
            args.visit,
            args.out,
            coverage=not args.no_coverage,
        )
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
