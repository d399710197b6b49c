"""Write visits into a repository made by `~lsst.sky.correction.butler.repo.initRepo`.

`writeVisit` writes one visit from in-memory objects (or mappings that
produce them on access): dimension records (day_obs, visit with its
timespan, visit_detector_region), calexps, backgrounds, sky frames certified
for the visit's timespan, and an optional truth dictionary.
"""

from __future__ import annotations

__all__ = ["VisitDatasets", "visitTimespan", "writeVisit"]

import datetime
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import astropy.time
import astropy.units as u
import numpy as np

from lsst.daf.butler import Butler, CollectionType, DatasetRef, FileDataset, Timespan
from lsst.pipe.base import Instrument

from .._progress import Progress
from .repo import RepoCollections, ensureInChain

_LOG = logging.getLogger(__name__)

_DEFAULT_EPOCH = astropy.time.Time("2026-01-15T00:00:00", scale="tai")
_VISIT_SPACING = 600 * u.s


def visitTimespan(visit: int, begin: astropy.time.Time | None = None, exposureTime: float = 30.0) -> Timespan:
    """The timespan `writeVisit` gives a visit.

    Parameters
    ----------
    visit : `int`
        The visit id.
    begin : `astropy.time.Time`, optional
        Start of the exposure; by default 2026-01-15T00:00:00 TAI plus
        ``visit`` x 10 minutes (distinct visits never overlap in time).
    exposureTime : `float`, optional
        Exposure time in seconds.

    Returns
    -------
    timespan : `lsst.daf.butler.Timespan`
        ``[begin, begin + exposureTime)``.
    """
    if begin is None:
        begin = _DEFAULT_EPOCH + visit * _VISIT_SPACING
    begin = astropy.time.Time(begin, scale="tai")
    return Timespan(begin, begin + exposureTime * u.s)


def _dayObs(begin: astropy.time.Time) -> tuple[int, Timespan]:
    """The day_obs (YYYYMMDD, rolling over at 12:00 TAI) of a time, and its timespan."""
    shifted = (begin.tai - 12 * u.hour).to_datetime()
    day = datetime.date(shifted.year, shifted.month, shifted.day)
    noon = astropy.time.Time(f"{day.isoformat()}T12:00:00", scale="tai")
    return int(day.strftime("%Y%m%d")), Timespan(noon, noon + 1 * u.day)


def _jsonable(value: Any) -> Any:
    """A copy of ``value`` made of plain Python types (numpy scalars and arrays converted)."""
    if isinstance(value, Mapping):
        return {_jsonable(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    raise TypeError(
        f"truth values must be JSON-like (dict, list, numbers, strings), got {type(value).__name__}"
    )


@dataclass
class VisitDatasets:
    """What `writeVisit` wrote.

    Attributes
    ----------
    calexps, calexpBackgrounds, skyFrames : `dict` [`int`, `DatasetRef`]
        By detector id.
    truth : `lsst.daf.butler.DatasetRef` or `None`
        The ``skyCorrTruth`` dataset, if a truth was given.
    timespan : `lsst.daf.butler.Timespan`
        The visit's timespan (the sky frames' validity range by default).
    """

    calexps: dict[int, DatasetRef] = field(default_factory=dict)
    calexpBackgrounds: dict[int, DatasetRef] = field(default_factory=dict)
    skyFrames: dict[int, DatasetRef] = field(default_factory=dict)
    truth: DatasetRef | None = None
    timespan: Timespan | None = None


def writeVisit(
    butler: Butler,
    instrument: str | Instrument | type[Instrument],
    visit: int,
    physicalFilter: str,
    calexps: Mapping[int, Any],
    calexpBackgrounds: Mapping[int, Any],
    skyFrames: Mapping[int, Any] | None = None,
    truth: Mapping[str, Any] | None = None,
    *,
    begin: astropy.time.Time | None = None,
    exposureTime: float = 30.0,
    run: str | None = None,
    skyRun: str | None = None,
    skyValidity: Timespan | None = None,
    progress: str = "Stored",
) -> VisitDatasets:
    """Write one visit's inputs of `SkyCorrectionTask` into a repository.

    Inserts the ``day_obs``, ``visit`` (with its timespan) and
    ``visit_detector_region`` records, puts ``calexp`` and
    ``calexpBackground`` per detector (and ``skyCorrTruth``) in ``run``,
    puts the sky frames in ``skyRun`` and certifies them in
    ``<instrument>/calib`` for ``skyValidity``.  Everything happens in one
    Butler transaction.

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
        A writeable Butler on a repository prepared by `initRepo`.
    instrument : `str`, `~lsst.pipe.base.Instrument` or its class
        The instrument (its records must be registered).
    visit : `int`
        The visit id.
    physicalFilter : `str`
        A registered physical filter of the instrument.
    calexps : `~collections.abc.Mapping` [`int`, `ExposureF` or `pathlib.Path`]
        Background-subtracted exposures by detector id.  A `pathlib.Path`
        value is a file already written in the dataset's format: it is
        ingested (moved into the datastore) instead of written.
    calexpBackgrounds : `~collections.abc.Mapping` [`int`, `BackgroundList` or `pathlib.Path`]
        The backgrounds subtracted from them; same detectors.
    skyFrames : `~collections.abc.Mapping` [`int`, `ExposureF` or `pathlib.Path`], optional
        Sky frames by detector id (usually the same detectors).
    truth : `~collections.abc.Mapping`, optional
        JSON-like simulation truth, stored as ``skyCorrTruth``
        (``StructuredDataDict``, YAML file); numpy scalars and arrays are
        converted to plain numbers and lists.
    begin : `astropy.time.Time`, optional
        Start of the visit (see `visitTimespan` for the default).
    exposureTime : `float`, optional
        Exposure time in seconds (default 30).
    run : `str`, optional
        RUN for the calexps, backgrounds and truth; default
        ``<instrument>/calexp``.  It is added to ``<instrument>/defaults``
        if missing.
    skyRun : `str`, optional
        RUN for the sky frames; default ``<instrument>/calib/sky/visit<N>``
        (a RUN holds one dataset per data ID, so each visit's sky frames
        get their own).
    skyValidity : `lsst.daf.butler.Timespan`, optional
        Validity range of the sky frames; default the visit's timespan.
    progress : `str`, optional
        What the progress lines (INFO, at most every few seconds, with a
        count and an ETA) call the per-detector work, e.g. ``"Simulated
        and ingested"`` when the mappings generate detectors on access.

    Returns
    -------
    datasets : `VisitDatasets`
        The references written.

    Raises
    ------
    ValueError
        If the detectors of the calexps and backgrounds differ, or the
        physical filter or a detector is not registered.
    """
    names = RepoCollections.forInstrument(instrument)
    instrumentName = names.instrument
    detectors = sorted(int(d) for d in calexps)
    if sorted(int(d) for d in calexpBackgrounds) != detectors:
        raise ValueError(
            f"visit {visit}: calexps cover detectors {detectors}, calexpBackgrounds "
            f"{sorted(int(d) for d in calexpBackgrounds)}"
        )
    _checkRegistered(butler, instrumentName, physicalFilter, detectors, skyFrames)

    timespan = visitTimespan(visit, begin, exposureTime)
    assert timespan.begin is not None
    dayObs, dayObsTimespan = _dayObs(timespan.begin)
    run = run or names.inputs
    skyRun = skyRun or names.skyRun(visit)
    result = VisitDatasets(timespan=timespan)

    registry = butler.registry
    with butler.transaction():
        registry.syncDimensionData(
            "day_obs", {"instrument": instrumentName, "id": dayObs, "timespan": dayObsTimespan}
        )
        registry.syncDimensionData(
            "visit",
            {
                "instrument": instrumentName,
                "id": visit,
                "name": f"{instrumentName}_{visit}",
                "physical_filter": physicalFilter,
                "day_obs": dayObs,
                "seq_num": visit,
                "exposure_time": exposureTime,
                "timespan": timespan,
                "observation_reason": "science",
            },
        )
        for detector in detectors:
            registry.syncDimensionData(
                "visit_detector_region", {"instrument": instrumentName, "visit": visit, "detector": detector}
            )
        butler.collections.register(run, CollectionType.RUN)
        counter = Progress(_LOG, f"{progress} {instrumentName} visit {visit}", len(detectors))
        for detector in detectors:
            dataId = {"instrument": instrumentName, "visit": visit, "detector": detector}
            result.calexps[detector] = _store(butler, calexps[detector], "calexp", dataId, run)
            result.calexpBackgrounds[detector] = _store(
                butler, calexpBackgrounds[detector], "calexpBackground", dataId, run
            )
            counter.update()
        counter.finish()
        if truth is not None:
            result.truth = butler.put(
                _jsonable(truth), "skyCorrTruth", instrument=instrumentName, visit=visit, run=run
            )
        if skyFrames:
            butler.collections.register(skyRun, CollectionType.RUN)
            butler.collections.register(names.calibration, CollectionType.CALIBRATION)
            for detector in sorted(int(d) for d in skyFrames):
                skyDataId = {
                    "instrument": instrumentName,
                    "physical_filter": physicalFilter,
                    "detector": detector,
                }
                result.skyFrames[detector] = _store(butler, skyFrames[detector], "sky", skyDataId, skyRun)
            registry.certify(names.calibration, list(result.skyFrames.values()), skyValidity or timespan)
        butler.collections.register(names.defaults, CollectionType.CHAINED)
        ensureInChain(butler, names.defaults, [run, names.calibration])
    return result


def _store(butler: Butler, dataset: Any, datasetType: str, dataId: dict[str, Any], run: str) -> DatasetRef:
    """Put an in-memory dataset, or ingest (move) a file already written in the dataset's format."""
    if not isinstance(dataset, Path):
        return butler.put(dataset, datasetType, dataId, run=run)
    ref = DatasetRef(butler.get_dataset_type(datasetType), butler.registry.expandDataId(dataId), run=run)
    butler.ingest(FileDataset(path=str(dataset), refs=[ref]), transfer="move")
    return ref


def _checkRegistered(
    butler: Butler,
    instrument: str,
    physicalFilter: str,
    detectors: list[int],
    skyFrames: Mapping[int, Any] | None,
) -> None:
    """Raise a clear error for an unknown physical filter or detector."""
    filters = {
        r.name for r in butler.registry.queryDimensionRecords("physical_filter", instrument=instrument)
    }
    if physicalFilter not in filters:
        raise ValueError(
            f"physical filter {physicalFilter!r} is not registered for {instrument}; known: {sorted(filters)}"
        )
    known = {r.id for r in butler.registry.queryDimensionRecords("detector", instrument=instrument)}
    wanted = set(detectors) | {int(d) for d in (skyFrames or {})}
    unknown = sorted(wanted - known)
    if unknown:
        raise ValueError(f"detectors {unknown} are not registered for {instrument}")
