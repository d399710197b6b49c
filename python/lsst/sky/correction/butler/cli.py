"""``butler`` subcommands of sky_correction (the ``butler.cli`` entry point).

* ``butler sky-correction-init-repo REPO --instrument NAME``: create or
  configure a repository (`lsst.sky.correction.butler.repo.initRepo`).
* ``butler sky-correction-simulate REPO --instrument NAME --visit N ...``:
  write simulated visits (`lsst.sky.correction.butler.simulate.writeSimulatedVisit`).

Everything beyond click is imported when a command runs, so listing the
``butler`` commands stays cheap.
"""

from __future__ import annotations

__all__ = ["get_cli_subcommands", "init_repo", "simulate"]

import time
from collections.abc import Sequence
from typing import Any

import click

from lsst.daf.butler.cli.utils import ButlerCommand

#: Instruments the commands accept by short name (see butler/instrument.py).
_INSTRUMENT_HELP = (
    "Instrument: LSSTCam, LSSTComCam, HSC, DECam, DummyCam, TinyCam, "
    "or the dotted name of an lsst.pipe.base.Instrument subclass."
)


@click.command("sky-correction-init-repo", cls=ButlerCommand, short_help="Prepare a repo for sky_correction.")
@click.argument("repo")
@click.option("--instrument", "-i", "instruments", required=True, multiple=True, help=_INSTRUMENT_HELP)
@click.option(
    "--link/--copy",
    default=True,
    show_default=True,
    help="Link sky_correction's storage classes and formatters from butler.yaml (the repo follows "
    "upgrades), or copy them in (new repos only).",
)
@click.option("--update", is_flag=True, help="Update instrument records that differ.")
def init_repo(repo: str, instruments: Sequence[str], link: bool, update: bool) -> None:
    """Create REPO (or configure an existing one) for sky_correction.

    Links sky_correction's storage classes and formatters, registers each
    instrument (detectors, physical filters), the input dataset types
    calexp, calexpBackground, sky and camera (calibrations) and
    skyCorrTruth, the collections <instrument>/calexp (RUN),
    <instrument>/calib (CALIBRATION) and <instrument>/defaults (CHAINED),
    and writes and certifies the camera.
    """
    from .repo import RepoCollections, initRepo

    for name in instruments:
        try:
            butler = initRepo(repo, name, link=link, update=update)
        except (KeyError, TypeError, ValueError) as error:
            raise click.ClickException(str(error)) from error
        link = True  # a second instrument configures the repository just made
        names = RepoCollections.forInstrument(name)
        butler.close()
        click.echo(
            f"{repo}: ready for {name} (inputs: {names.inputs}, calibrations: {names.calibration}, "
            f"use -i {names.defaults})"
        )


@click.command(
    "sky-correction-simulate", cls=ButlerCommand, short_help="Write simulated visits for sky_correction."
)
@click.argument("repo")
@click.option("--instrument", "-i", required=True, help=_INSTRUMENT_HELP)
@click.option("--visit", "visits", required=True, multiple=True, type=int, help="Visit id (repeatable).")
@click.option(
    "--physical-filter",
    "physicalFilter",
    default=None,
    help="A physical filter of the instrument (default: its first registered filter).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed of the simulation.")
@click.option(
    "--detectors",
    default=None,
    help="Comma-separated detector ids to simulate (default: every science detector).",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Change a SimulationConfig field, e.g. --set lsbGalaxy.enabled=false --set sky.level=500 "
    "(values are YAML: numbers, true/false, [x, y]). Repeatable.",
)
@click.option(
    "--processes",
    "-j",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes generating and writing detectors (the output is the same for any number).",
)
def simulate(
    repo: str,
    instrument: str,
    visits: Sequence[int],
    physicalFilter: str | None,
    seed: int,
    detectors: str | None,
    settings: Sequence[str],
    processes: int,
) -> None:
    """Simulate visits of INSTRUMENT and write them into REPO.

    Prepares REPO like `butler sky-correction-init-repo` if needed, then
    generates each visit detector by detector
    (`lsst.sky.correction.simulation.VisitSimulator`) and writes its
    calexps and calexpBackgrounds to <instrument>/calexp, its sky frames
    certified for the visit in <instrument>/calib, and the truth as
    skyCorrTruth.  The same seed and visit always give the same pixels.
    """
    from .instrument import getInstrumentClass
    from .repo import initRepo
    from .simulate import writeSimulatedVisit

    try:
        instrumentClass = getInstrumentClass(instrument)
    except (KeyError, TypeError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    if physicalFilter is None:
        filters = getattr(instrumentClass, "filterDefinitions", ())
        if not filters:
            raise click.ClickException(f"{instrument} has no physical filters; give --physical-filter")
        physicalFilter = filters[0][0]
    try:
        detectorIds = None if detectors is None else [int(d) for d in detectors.split(",") if d.strip()]
    except ValueError as error:
        raise click.ClickException(
            f"--detectors must be comma-separated integers, got {detectors!r}"
        ) from error

    config = _simulationConfig(settings)

    butler = initRepo(repo, instrument)
    try:
        for visit in visits:
            start = time.perf_counter()
            try:
                written, _ = writeSimulatedVisit(
                    butler,
                    instrument,
                    visit,
                    physicalFilter,
                    seed=seed,
                    detectors=detectorIds,
                    config=config,
                    processes=processes,
                )
            except (KeyError, ValueError) as error:
                raise click.ClickException(f"visit {visit}: {error}") from error
            click.echo(
                f"{repo}: wrote visit {visit} of {instrument} ({physicalFilter}, seed {seed}): "
                f"{len(written.calexps)} detectors in {time.perf_counter() - start:.1f} s"
            )
    finally:
        butler.close()


def _simulationConfig(settings: Sequence[str]) -> Any:
    """The `SimulationConfig` with the ``--set FIELD=VALUE`` changes applied."""
    from ..simulation import SimulationConfig

    try:
        return SimulationConfig().withSettings(settings)
    except ValueError as error:
        raise click.ClickException(f"--set: {error}") from error


def get_cli_subcommands() -> list[click.Command]:
    """The ``butler`` subcommands this package provides (``butler.cli`` entry point).

    Returns
    -------
    commands : `list` [`click.Command`]
        ``sky-correction-init-repo`` and ``sky-correction-simulate``.
    """
    return [init_repo, simulate]
