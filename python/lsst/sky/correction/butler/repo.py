"""Create and fill a data repository for `SkyCorrectionTask`.

The steps `initRepo` chains (each usable on its own):

1. `createRepo` makes a repository, or configures an existing one, so that it
   knows sky_correction's storage classes and formatters: ``butler.yaml``
   links ``resource://lsst.sky.correction/configs/...`` (or, with
   ``link=False``, a copy is written into it).
2. `registerInstrument` inserts the instrument, detector and physical filter
   records.
3. `registerInputDatasetTypes` registers ``calexp``, ``calexpBackground``,
   ``sky`` (calibration), ``camera`` (calibration) and ``skyCorrTruth``.
4. `setupCollections` creates the RUN for inputs, the CALIBRATION collection
   and the ``<instrument>/defaults`` CHAINED collection.
5. `writeCamera` puts the camera and certifies it for all times.

`writeVisit` then writes one visit from in-memory objects: dimension
records (day_obs, visit with its timespan, visit_detector_region), calexps,
backgrounds, sky frames certified for the visit's timespan, and an optional
truth dictionary.
"""

from __future__ import annotations

__all__ = [
    "INCLUDE_URIS",
    "RepoCollections",
    "VisitDatasets",
    "createRepo",
    "datasetTypeDefinitions",
    "initRepo",
    "registerInputDatasetTypes",
    "registerInstrument",
    "registerOutputDatasetTypes",
    "setupCollections",
    "visitTimespan",
    "writeCamera",
    "writeVisit",
]

import datetime
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import astropy.time
import astropy.units as u
import numpy as np
import yaml

from lsst.daf.butler import (
    Butler,
    CollectionType,
    Config,
    DatasetRef,
    DatasetType,
    DimensionUniverse,
    FileDataset,
    Timespan,
)
from lsst.daf.butler.registry import ConflictingDefinitionError
from lsst.pipe.base import Instrument

from ..progress import Progress
from ..storage_classes import STORAGE_CLASSES
from .instrument import getInstrumentClass

_LOG = logging.getLogger(__name__)

#: Where a repository's butler.yaml points to sky_correction's definitions:
#: (config section, the resource URI included there).
INCLUDE_URIS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("storageClasses",), "resource://lsst.sky.correction/configs/storageClasses.yaml"),
    (("datastore", "formatters"), "resource://lsst.sky.correction/configs/formatters.yaml"),
)
_SEED_URI = "resource://lsst.sky.correction/configs/seed.yaml"

#: Default start of a visit written without an explicit ``begin``: visit N
#: starts N * _VISIT_SPACING after this.
_DEFAULT_EPOCH = astropy.time.Time("2026-01-15T00:00:00", scale="tai")
_VISIT_SPACING = 600 * u.s


# Repository configuration -------------------------------------------------------------------------


def _butlerYaml(root: str | os.PathLike[str]) -> Path:
    return Path(root) / "butler.yaml"


def _linkConfigs(butlerYaml: Path) -> bool:
    """Add sky_correction's include directives to ``butler.yaml``; return whether it changed."""
    with butlerYaml.open() as stream:
        config = yaml.safe_load(stream) or {}
    changed = False
    for section, uri in INCLUDE_URIS:
        node = config
        for key in section:
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            elif not isinstance(child, dict):
                raise ValueError(f"{butlerYaml}: {'.'.join(section)} is not a mapping; cannot link {uri}")
            node = child
        includes = node.get("includeConfigs")
        present = [includes] if isinstance(includes, str) else list(includes or [])
        if uri not in present:
            node["includeConfigs"] = uri if not present else [*present, uri]
            changed = True
    if changed:
        temporary = butlerYaml.with_name(f".{butlerYaml.name}.{os.getpid()}.tmp")
        with temporary.open("w") as stream:
            yaml.safe_dump(config, stream, sort_keys=False)
        os.replace(temporary, butlerYaml)
    return changed


def createRepo(root: str | os.PathLike[str], *, link: bool = True) -> Config:
    """Create a file-based repository configured for sky_correction, or configure an existing one.

    Parameters
    ----------
    root : `str` or path-like
        The repository directory (a local path).
    link : `bool`, optional
        `True` (default): ``butler.yaml`` keeps ``includeConfigs:
        resource://lsst.sky.correction/configs/...`` directives, so the
        repository follows upgrades of sky_correction.  `False`: the
        definitions are expanded into ``butler.yaml`` (new repositories only).

    Returns
    -------
    config : `lsst.daf.butler.Config`
        The repository's configuration as written.

    Raises
    ------
    ValueError
        If ``link`` is `False` for an existing repository.
    """
    butlerYaml = _butlerYaml(root)
    if butlerYaml.exists():
        if not link:
            raise ValueError(f"{root} already exists: copying definitions is only possible at creation")
        if _linkConfigs(butlerYaml):
            _LOG.info("%s: linked sky_correction's storage classes and formatters", butlerYaml)
        return Config(str(butlerYaml))
    if link:
        Butler.makeRepo(str(root))
        _linkConfigs(butlerYaml)
    else:
        Butler.makeRepo(str(root), config=Config(_SEED_URI))
    return Config(str(butlerYaml))


# Instrument, dataset types, collections -------------------------------------------------------------


def _instrumentName(instrument: str | Instrument | type[Instrument]) -> str:
    if isinstance(instrument, str):
        return instrument
    return instrument.getName()


def _makeInstrument(instrument: str | Instrument | type[Instrument]) -> Instrument:
    if isinstance(instrument, Instrument):
        return instrument
    cls = getInstrumentClass(instrument) if isinstance(instrument, str) else instrument
    return cls()


def registerInstrument(
    butler: Butler, instrument: str | Instrument | type[Instrument], *, update: bool = False
) -> Instrument:
    """Register an instrument's dimension records, unless another class already did.

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
        A writeable Butler.
    instrument : `str`, `~lsst.pipe.base.Instrument` or its class
        The instrument (short names: see
        `~lsst.sky.correction.butler.instrument.getInstrumentClass`).
    update : `bool`, optional
        Replace differing records.

    Returns
    -------
    instrument : `~lsst.pipe.base.Instrument`
        The instrument that was registered.

    Notes
    -----
    A repository in which the instrument was registered by another class
    (an obs_* package) is left alone: its records are kept and a message is
    logged.
    """
    instrumentObj = _makeInstrument(instrument)
    name = instrumentObj.getName()
    className = f"{type(instrumentObj).__module__}.{type(instrumentObj).__qualname__}"
    existing = [r for r in butler.registry.queryDimensionRecords("instrument") if r.name == name]
    if existing and existing[0].class_name != className and not update:
        _LOG.warning(
            "Instrument %s is already registered by %s; keeping its records (not registering %s).",
            name,
            existing[0].class_name,
            className,
        )
        return instrumentObj
    instrumentObj.register(butler.registry, update=update)
    return instrumentObj


def datasetTypeDefinitions(universe: DimensionUniverse) -> dict[str, DatasetType]:
    """The input dataset types of `SkyCorrectionTask`, plus ``skyCorrTruth``.

    Storage classes come from `lsst.sky.correction.storage_classes.STORAGE_CLASSES`
    (``AfwliteExposureF`` etc. without afw).

    Parameters
    ----------
    universe : `lsst.daf.butler.DimensionUniverse`
        The repository's dimensions.

    Returns
    -------
    datasetTypes : `dict` [`str`, `lsst.daf.butler.DatasetType`]
        ``calexp``, ``calexpBackground``, ``sky`` and ``camera`` (the last
        two calibrations) and ``skyCorrTruth`` (``StructuredDataDict``).
    """
    visitDetector = ("instrument", "visit", "detector")
    definitions = [
        DatasetType("calexp", visitDetector, STORAGE_CLASSES.exposure, universe=universe),
        DatasetType("calexpBackground", visitDetector, STORAGE_CLASSES.background, universe=universe),
        DatasetType(
            "sky",
            ("instrument", "physical_filter", "detector"),
            STORAGE_CLASSES.exposure,
            universe=universe,
            isCalibration=True,
        ),
        DatasetType("camera", ("instrument",), STORAGE_CLASSES.camera, universe=universe, isCalibration=True),
        DatasetType("skyCorrTruth", ("instrument", "visit"), "StructuredDataDict", universe=universe),
    ]
    return {datasetType.name: datasetType for datasetType in definitions}


def registerInputDatasetTypes(butler: Butler) -> dict[str, DatasetType]:
    """Register the input dataset types (see `datasetTypeDefinitions`).

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
        A writeable Butler.

    Returns
    -------
    datasetTypes : `dict` [`str`, `lsst.daf.butler.DatasetType`]
        What was registered (or was already there, identical).

    Raises
    ------
    lsst.daf.butler.registry.ConflictingDefinitionError
        If a dataset type of that name exists with another definition (for
        example ``calexp`` as afw's ``ExposureF``); the message says which.
    """
    definitions = datasetTypeDefinitions(butler.dimensions)
    for datasetType in definitions.values():
        _registerDatasetType(butler, datasetType)
    return definitions


def _registerDatasetType(butler: Butler, datasetType: DatasetType) -> None:
    """Register ``datasetType``; a conflicting existing definition is named in the error."""
    try:
        butler.registry.registerDatasetType(datasetType)
    except ConflictingDefinitionError as error:
        existing = butler.registry.getDatasetType(datasetType.name)
        raise ConflictingDefinitionError(
            f"dataset type {datasetType.name!r} already exists as {existing}; sky_correction needs "
            f"{datasetType} (storage classes are chosen in lsst.sky.correction.storage_classes)"
        ) from error


@dataclass(frozen=True)
class RepoCollections:
    """The collections sky_correction's repository layout uses for one instrument.

    Attributes
    ----------
    inputs : `str`
        RUN of ``calexp``, ``calexpBackground`` and ``skyCorrTruth``
        (``<instrument>/calexp``).
    calibration : `str`
        CALIBRATION collection of ``camera`` and ``sky``
        (``<instrument>/calib``).
    cameraRun : `str`
        RUN holding the camera (``<instrument>/calib/unbounded``).
    defaults : `str`
        CHAINED collection of ``inputs`` and ``calibration``
        (``<instrument>/defaults``): the ``-i`` of ``pipetask run``.
    """

    instrument: str
    inputs: str
    calibration: str
    cameraRun: str
    defaults: str

    @classmethod
    def forInstrument(cls, instrument: str | Instrument | type[Instrument]) -> RepoCollections:
        """The collection names for an instrument (name, instance or class)."""
        name = _instrumentName(instrument)
        return cls(
            instrument=name,
            inputs=f"{name}/calexp",
            calibration=f"{name}/calib",
            cameraRun=f"{name}/calib/unbounded",
            defaults=f"{name}/defaults",
        )

    def skyRun(self, visit: int) -> str:
        """The RUN of the sky frames `writeVisit` writes for ``visit``."""
        return f"{self.calibration}/sky/visit{visit}"


def registerOutputDatasetTypes(butler: Butler, config: Any = None) -> dict[str, DatasetType]:
    """Register the output dataset types of `SkyCorrectionTask`, as ``--register-dataset-types`` does.

    ``pipetask run --register-dataset-types`` registers them itself; a
    mocked quantum (``lsst.pipe.base.testUtils.makeQuantum``) needs them
    registered first.

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
        A writeable Butler.
    config : `SkyCorrectionConfig`, optional
        The task's config, whose connections name the outputs (default
        config when `None`).

    Returns
    -------
    datasetTypes : `dict` [`str`, `lsst.daf.butler.DatasetType`]
        ``skyCorr`` and the two mosaics (or their renamed connections), by name.

    Raises
    ------
    lsst.daf.butler.registry.ConflictingDefinitionError
        If a dataset type of that name exists with another definition; the
        message says which.
    """
    from ..sky_correction import SkyCorrectionConfig, SkyCorrectionConnections

    connections = SkyCorrectionConnections(config=SkyCorrectionConfig() if config is None else config)
    registered = {}
    for attribute in sorted(connections.outputs):
        connection = getattr(connections, attribute)
        datasetType = DatasetType(
            connection.name, connection.dimensions, connection.storageClass, universe=butler.dimensions
        )
        _registerDatasetType(butler, datasetType)
        registered[datasetType.name] = datasetType
    return registered


def setupCollections(butler: Butler, instrument: str | Instrument | type[Instrument]) -> RepoCollections:
    """Create the input RUN, the CALIBRATION collection and the defaults chain.

    The chain ``<instrument>/defaults`` gets ``<instrument>/calexp`` and
    ``<instrument>/calib`` appended if missing; other children are kept.

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
        A writeable Butler.
    instrument : `str`, `~lsst.pipe.base.Instrument` or its class
        The instrument.

    Returns
    -------
    collections : `RepoCollections`
        The names.
    """
    names = RepoCollections.forInstrument(instrument)
    butler.collections.register(names.inputs, CollectionType.RUN)
    butler.collections.register(names.cameraRun, CollectionType.RUN)
    butler.collections.register(names.calibration, CollectionType.CALIBRATION)
    butler.collections.register(names.defaults, CollectionType.CHAINED)
    _ensureInChain(butler, names.defaults, [names.inputs, names.calibration])
    return names


def _ensureInChain(butler: Butler, chain: str, children: list[str]) -> None:
    present = set(butler.collections.get_info(chain).children)
    missing = [child for child in children if child not in present]
    if missing:
        butler.collections.extend_chain(chain, missing)


def writeCamera(
    butler: Butler, instrument: str | Instrument | type[Instrument], camera: Any = None
) -> DatasetRef:
    """Put the camera in ``<instrument>/calib/unbounded`` and certify it for all times.

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
        A writeable Butler.
    instrument : `str`, `~lsst.pipe.base.Instrument` or its class
        The instrument.
    camera : `~lsst.sky.correction.afwlite.cameraGeom.Camera`, optional
        The camera; by default the instrument's ``getCamera()``.

    Returns
    -------
    ref : `lsst.daf.butler.DatasetRef`
        The camera dataset (the existing one if the run already has it).
    """
    names = RepoCollections.forInstrument(instrument)
    existing = butler.find_dataset("camera", instrument=names.instrument, collections=names.cameraRun)
    if existing is not None:
        return existing
    if camera is None:
        camera = _makeInstrument(instrument).getCamera()  # type: ignore[attr-defined]
    with butler.transaction():
        ref = butler.put(camera, "camera", instrument=names.instrument, run=names.cameraRun)
        butler.registry.certify(names.calibration, [ref], Timespan(None, None))
    return ref


def initRepo(
    root: str | os.PathLike[str],
    instrument: str | Instrument | type[Instrument],
    *,
    link: bool = True,
    update: bool = False,
) -> Butler:
    """Create (or configure) a repository and prepare it for one instrument.

    Runs `createRepo`, `registerInstrument`, `registerInputDatasetTypes`,
    `setupCollections` and `writeCamera`; every step is idempotent, so
    running it again (or for a second instrument) is safe.

    Parameters
    ----------
    root : `str` or path-like
        The repository directory.
    instrument : `str`, `~lsst.pipe.base.Instrument` or its class
        The instrument (``"LSSTCam"``, ``"HSC"``, ``"TinyCam"``...).
    link : `bool`, optional
        Link sky_correction's configs (default) instead of copying them.
    update : `bool`, optional
        Update differing instrument records.

    Returns
    -------
    butler : `lsst.daf.butler.Butler`
        A writeable Butler on the repository.
    """
    createRepo(root, link=link)
    butler = Butler.from_config(str(root), writeable=True)
    instrumentObj = registerInstrument(butler, instrument, update=update)
    registerInputDatasetTypes(butler)
    setupCollections(butler, instrumentObj)
    writeCamera(butler, instrumentObj)
    return butler


# Visits ------------------------------------------------------------------------------------------


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
        _ensureInChain(butler, names.defaults, [run, names.calibration])
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
