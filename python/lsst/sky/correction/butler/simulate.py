"""Write simulated visits into a repository, one detector at a time.

`writeSimulatedVisit` feeds `writeVisit` from a
`~lsst.sky.correction.simulation.VisitSimulator` through lazy mappings, so
a full visit is generated and written detector by detector and never held
in memory as a whole.  With ``processes > 1``, worker processes generate
detectors and write their files (compression is most of the cost) into a
staging directory while the main process ingests them, in detector order,
inside the one transaction of `writeVisit`.
"""

from __future__ import annotations

__all__ = ["SimulatedDatasets", "writeSimulatedVisit"]

import concurrent.futures
import multiprocessing
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsst.daf.butler import Butler
from lsst.pipe.base import Instrument

from .repo import RepoCollections
from .visits import VisitDatasets, writeVisit

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


# Worker processes ---------------------------------------------------------------------------------

_workerSimulator: VisitSimulator | None = None


def _initWorker(simulator: VisitSimulator) -> None:
    global _workerSimulator
    _workerSimulator = simulator


def _writeDetectorFiles(detectorId: int, directory: str) -> tuple[Path, Path, Path]:
    """Generate one detector in a worker; write its calexp, background and sky frame files.

    The files are what the repository's formatters would write (lossless
    compression for the exposures), so they can be ingested as they are.
    """
    assert _workerSimulator is not None
    simulated = _workerSimulator.makeDetector(detectorId)
    base = Path(directory)
    paths = (
        base / f"calexp_{detectorId}.fits",
        base / f"bkg_{detectorId}.fits",
        base / f"sky_{detectorId}.fits",
    )
    simulated.calexp.writeFits(str(paths[0]), compression="lossless")
    simulated.calexpBackground.writeFits(str(paths[1]))
    _workerSimulator.makeSkyFrame(detectorId).writeFits(str(paths[2]), compression="lossless")
    return paths


class _StagedFiles:
    """Files of every detector, written by a process pool in detector order, on demand."""

    def __init__(self, simulator: VisitSimulator, processes: int, directory: str) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process holding a registry
        self._pool = concurrent.futures.ProcessPoolExecutor(
            processes, mp_context=context, initializer=_initWorker, initargs=(simulator,)
        )
        self._futures = {
            d: self._pool.submit(_writeDetectorFiles, d, directory) for d in simulator.detectorIds
        }

    def close(self) -> None:
        for future in self._futures.values():
            future.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)


class _StagedMapping(Mapping[int, Path]):
    """One kind of staged file by detector id; waits for the worker on access."""

    def __init__(self, files: _StagedFiles, index: int) -> None:
        self._files = files
        self._index = index

    def __getitem__(self, detectorId: int) -> Path:
        return self._files._futures[int(detectorId)].result()[self._index]

    def __iter__(self) -> Iterator[int]:
        return iter(self._files._futures)

    def __len__(self) -> int:
        return len(self._files._futures)


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
    processes: int = 1,
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
    processes : `int`, optional
        Worker processes generating and writing detectors (default 1: all
        in this process).  The files and pixels are the same either way.

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
    truth = simulator.truth().toDict()
    if processes <= 1:
        written = writeVisit(
            butler,
            instrument,
            visit,
            physicalFilter,
            calexps=SimulatedDatasets(simulator, "calexp"),
            calexpBackgrounds=SimulatedDatasets(simulator, "calexpBackground"),
            skyFrames=SimulatedDatasets(simulator, "sky"),
            truth=truth,
            progress="Simulated and ingested",
        )
        return written, simulator
    staging = tempfile.mkdtemp(prefix="sky-correction-simulate-")
    files = _StagedFiles(simulator, processes, staging)
    try:
        written = writeVisit(
            butler,
            instrument,
            visit,
            physicalFilter,
            calexps=_StagedMapping(files, 0),
            calexpBackgrounds=_StagedMapping(files, 1),
            skyFrames=_StagedMapping(files, 2),
            truth=truth,
            progress=f"Simulated ({processes} processes) and ingested",
        )
    finally:
        files.close()
        shutil.rmtree(staging, ignore_errors=True)
    return written, simulator
