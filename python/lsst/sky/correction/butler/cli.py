"""``butler`` subcommands of sky_correction (the ``butler.cli`` entry point).

* ``butler sky-correction-init-repo REPO --instrument NAME``: create or
  configure a repository (`lsst.sky.correction.butler.repo.initRepo`).
* ``butler sky-correction-simulate REPO --instrument NAME --visit N ...``:
  write simulated visits with `lsst.sky.correction.butler.repo.writeVisit`;
  it needs ``lsst.sky.correction.simulation`` and says so clearly when that
  module is not installed.

Everything beyond click is imported when a command runs, so listing the
``butler`` commands stays cheap.
"""

from __future__ import annotations

__all__ = ["get_cli_subcommands", "init_repo", "simulate"]

import importlib
from collections.abc import Sequence
from types import ModuleType
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


def _loadSimulation() -> ModuleType:
    """Import ``lsst.sky.correction.simulation`` or fail with a message that says what is missing."""
    try:
        return importlib.import_module("lsst.sky.correction.simulation")
    except ModuleNotFoundError as error:
        if error.name not in ("lsst.sky.correction.simulation",):
            raise
        raise click.ClickException(
            "sky-correction-simulate needs lsst.sky.correction.simulation, which is not available in this "
            "installation of lsst-sky-correction yet. Write visits from Python with "
            "lsst.sky.correction.butler.writeVisit instead."
        ) from error


def _simulate(module: ModuleType, camera: Any, visit: int, physicalFilter: str, seed: int) -> Any:
    """Call the simulator; the one place that knows its interface."""
    simulateVisit = getattr(module, "simulateVisit", None)
    if simulateVisit is None:
        raise click.ClickException(
            "lsst.sky.correction.simulation has no simulateVisit(); sky-correction-simulate is not wired to "
            "this version of the simulator."
        )
    return simulateVisit(camera, visit=visit, physicalFilter=physicalFilter, seed=seed)


def _part(simulated: Any, name: str) -> Any:
    """A part of the simulator's result, by attribute or key."""
    if isinstance(simulated, dict):
        return simulated.get(name)
    return getattr(simulated, name, None)


@click.command(
    "sky-correction-simulate", cls=ButlerCommand, short_help="Write simulated visits for sky_correction."
)
@click.argument("repo")
@click.option("--instrument", "-i", required=True, help=_INSTRUMENT_HELP)
@click.option("--visit", "visits", required=True, multiple=True, type=int, help="Visit id (repeatable).")
@click.option(
    "--physical-filter", "physicalFilter", required=True, help="A physical filter of the instrument."
)
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed of the first visit.")
def simulate(repo: str, instrument: str, visits: Sequence[int], physicalFilter: str, seed: int) -> None:
    """Simulate visits of INSTRUMENT and write them into REPO.

    REPO must have been prepared with `butler sky-correction-init-repo`.
    Each visit's calexps, calexpBackgrounds, sky frames (certified for the
    visit) and truth (skyCorrTruth) go where writeVisit puts them.
    """
    module = _loadSimulation()
    from .repo import initRepo, writeVisit

    butler = initRepo(repo, instrument)
    try:
        camera = butler.get("camera", instrument=instrument, collections=f"{instrument}/calib/unbounded")
        for index, visit in enumerate(visits):
            simulated = _simulate(module, camera, visit, physicalFilter, seed + index)
            writeVisit(
                butler,
                instrument,
                visit,
                physicalFilter,
                calexps=_part(simulated, "calexps"),
                calexpBackgrounds=_part(simulated, "calexpBackgrounds"),
                skyFrames=_part(simulated, "skyFrames"),
                truth=_part(simulated, "truth"),
            )
            click.echo(f"{repo}: wrote visit {visit} of {instrument}")
    finally:
        butler.close()


def get_cli_subcommands() -> list[click.Command]:
    """The ``butler`` subcommands this package provides (``butler.cli`` entry point).

    Returns
    -------
    commands : `list` [`click.Command`]
        ``sky-correction-init-repo`` and ``sky-correction-simulate``.
    """
    return [init_repo, simulate]
