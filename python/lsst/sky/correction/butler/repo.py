"""Create and configure a data repository for `SkyCorrectionTask`.

The steps `initRepo` chains (each usable on its own):

1. `createRepo` makes a repository, or configures an existing one, so that it
   knows sky_correction's storage classes and formatters: ``butler.yaml``
   links ``resource://lsst.sky.correction/data/butler/...`` (or, with
   ``link=False``, a copy is written into it).
2. `registerInstrument` inserts the instrument, detector and physical filter
   records.
3. `registerInputDatasetTypes` registers ``calexp``, ``calexpBackground``,
   ``sky`` (calibration), ``camera`` (calibration) and ``skyCorrTruth``.
4. `setupCollections` creates the RUN for inputs, the CALIBRATION collection
   and the ``<instrument>/defaults`` CHAINED collection.
5. `writeCamera` puts the camera and certifies it for all times.

`lsst.sky.correction.butler.visits.writeVisit` then writes visits into it.
"""

from __future__ import annotations

__all__ = [
    "INCLUDE_URIS",
    "RepoCollections",
    "createRepo",
    "datasetTypeDefinitions",
    "ensureInChain",
    "initRepo",
    "registerInputDatasetTypes",
    "registerInstrument",
    "registerOutputDatasetTypes",
    "setupCollections",
    "writeCamera",
]

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lsst.daf.butler import (
    Butler,
    CollectionType,
    Config,
    DatasetRef,
    DatasetType,
    DimensionUniverse,
    Timespan,
)
from lsst.daf.butler.registry import ConflictingDefinitionError
from lsst.pipe.base import Instrument

from .._storage_classes import STORAGE_CLASSES
from .instrument import getInstrumentClass

_LOG = logging.getLogger(__name__)

#: Where a repository's butler.yaml points to sky_correction's definitions:
#: (config section, the resource URI included there).
INCLUDE_URIS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("storageClasses",), "resource://lsst.sky.correction/data/butler/storageClasses.yaml"),
    (("datastore", "formatters"), "resource://lsst.sky.correction/data/butler/formatters.yaml"),
)
_SEED_URI = "resource://lsst.sky.correction/data/butler/seed.yaml"

#: Default start of a visit written without an explicit ``begin``: visit N
#: starts N * _VISIT_SPACING after this.


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
        resource://lsst.sky.correction/data/butler/...`` directives, so the
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

    Storage classes come from `lsst.sky.correction._storage_classes.STORAGE_CLASSES`
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
            f"{datasetType} (storage classes are chosen in lsst.sky.correction._storage_classes)"
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
    ensureInChain(butler, names.defaults, [names.inputs, names.calibration])
    return names


def ensureInChain(butler: Butler, chain: str, children: list[str]) -> None:
    """Append ``children`` missing from the CHAINED collection ``chain`` to its end."""
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
