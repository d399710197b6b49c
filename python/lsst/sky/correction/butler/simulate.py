"""Write simulated visits into a repository, one detector at a time.

`writeSimulatedVisit` feeds `writeVisit` from a
`~lsst.sky.correction.simulation.VisitSimulator` through lazy mappings, so
a full visit is generated and written detector by detector and never held
in memory as a whole.
"""

from __future__ import annotations

__all__ = ["SimulatedDatasets", "writeSimulatedVisit"]

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lsst.daf.butler import Butler
from lsst.pipe.base import Instrument

from .repo import RepoCollections, VisitDatasets, writeVisit

if TYPE_CHECKING:
    from ..afwlite.cameraGeom import Camera
    from ..simulation import SimulationConfig, VisitSimulator


class SimulatedDatasets(Mapping[int, Any]):
    """One kind of simulated dataset by detector id, generated on access.

    Parameters
    ----------
    simulator : `~lsst.sky.correction.simulation.VisitSimulator`
        The visit.
    kind : `str`
        ``"calexp"``, ``"calexpBackground"`` or ``"sky"`` (see
        `VisitSimulator.produce`).
    """

    def __init__(self, simulator: VisitSimulator, kind: str) -> None:
        self._simulator = simulator
        self._kind = kind
        self._ids = tuple(int(d) for d in simulator.detectorIds)

    def __getitem__(self, detectorId: int) -> Any:
        if int(detectorId) not in self._ids:
            raise KeyError(detectorId)
        return self._simulator.produce(self._kind, int(detectorId))

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


def writeSimulatedVisit(
    butler: Butler,
    instrument: str | Instrument | type[Instrument],
    visit: int,
    physicalFilter: str,
    *,
    seed: int = 0,
    detectors: Sequence[int] | None = None,
    config: SimulationConfig | None = None,
    camera: Camera | None = None,
) -> tuple[VisitDatasets, VisitSimulator]:
    """Simulate one visit and write its inputs and truth into a repository.

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
        A writeable Butler on a repository prepared by `initRepo`.
    instrument : `str`, `~lsst.pipe.base.Instrument` or its class
        The instrument.
    visit : `int`
        The visit id.
    physicalFilter : `str`
        A registered physical filter of the instrument.
    seed : `int`, optional
        Simulation seed; the same seed and visit give the same pixels.
    detectors : sequence of `int`, optional
        Detectors to simulate; default every science detector.
    config : `~lsst.sky.correction.simulation.SimulationConfig`, optional
        What to simulate; ``detectors``, when given, replaces its detector
        list.
    camera : `~lsst.sky.correction.afwlite.cameraGeom.Camera`, optional
        The camera; default the one `initRepo` wrote (``<instrument>/calib/unbounded``).

    Returns
    -------
    datasets : `VisitDatasets`
        What was written (``calexp``, ``calexpBackground``, ``sky``
        certified for the visit, and ``skyCorrTruth``).
    simulator : `~lsst.sky.correction.simulation.VisitSimulator`
        The simulator, for in-memory access to the same visit.
    """
    from ..simulation import SimulationConfig, VisitSimulator

    names = RepoCollections.forInstrument(instrument)
    if camera is None:
        camera = butler.get("camera", instrument=names.instrument, collections=names.cameraRun)
    config = SimulationConfig() if config is None else config
    if detectors is not None:
        config = config.replace(detectors=tuple(int(d) for d in detectors))
    simulator = VisitSimulator(camera, config, seed=seed, visit=visit)
    written = writeVisit(
        butler,
        instrument,
        visit,
        physicalFilter,
        calexps=SimulatedDatasets(simulator, "calexp"),
        calexpBackgrounds=SimulatedDatasets(simulator, "calexpBackground"),
        skyFrames=SimulatedDatasets(simulator, "sky"),
        truth=simulator.truth().toDict(),
    )
    return written, simulator
