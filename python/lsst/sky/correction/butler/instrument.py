"""Butler instruments for sky correction, without any obs_* package.

Each class is an `lsst.pipe.base.Instrument` whose camera is an afwlite
`~lsst.sky.correction.afwlite.cameraGeom.Camera`: the four shipped cameras
(`LSSTCam`, `LSSTComCam`, `HSC`, `DECam`, from
`lsst.sky.correction.cameras.getCamera`).  The test instruments
(``DummyCam``, ``TinyCam``) live in `lsst.sky.correction.testing`;
`getInstrumentClass` knows their short names.

``register`` inserts the instrument, its detectors (id, full_name, purpose,
and raft/name_in_raft where the names have them) and a few physical filters.
``applyConfigOverrides`` loads the camera's ``skyCorr.py`` overrides shipped
in ``lsst.sky.correction``'s ``data/config/<camera>/`` when a pipeline
declares the instrument.
"""

from __future__ import annotations

__all__ = [
    "HSC",
    "INSTRUMENTS",
    "TEST_INSTRUMENTS",
    "DECam",
    "LSSTCam",
    "LSSTComCam",
    "SkyCorrectionInstrument",
    "getInstrumentClass",
]

import re
from collections.abc import Sequence
from typing import Any, ClassVar

from lsst.daf.butler import DataId, FormatterV2, Registry
from lsst.pipe.base import Instrument

from ..afwlite.cameraGeom import Camera, Detector, DetectorType
from ..cameras import getCamera
from ._instrument_names import INSTRUMENT_CLASS_NAMES
from .formatters import AfwliteExposureFormatter

# LSST-style detector names: raft and sensor, e.g. "R22_S11" or "R00_SG0".
_RAFT_NAME = re.compile(r"^(R[0-9X]{2})_(S[0-9A-Z]{2,3})$")


class SkyCorrectionInstrument(Instrument):
    """An instrument whose geometry is an afwlite camera.

    Subclasses set `cameraName` (the ``instrument`` dimension value),
    `filterDefinitions` and the id maxima, and may override `makeCamera`.
    """

    cameraName: ClassVar[str]
    """The instrument name, also the name of its camera."""

    filterDefinitions: ClassVar[Sequence[tuple[str, str]]] = ()
    """Physical filters registered with the instrument, as (physical_filter, band)."""

    visitMax: ClassVar[int] = 1_000_000
    """``visit_max`` of the instrument record (exclusive)."""

    exposureMax: ClassVar[int] = 1_000_000
    """``exposure_max`` of the instrument record (exclusive)."""

    raftNames: ClassVar[bool] = False
    """Whether detector names are ``<raft>_<sensor>`` (fills raft/name_in_raft)."""

    configPaths: Sequence[str] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "cameraName" in cls.__dict__:
            # The task overrides shipped with sky_correction for this camera, if any.
            cls.configPaths = (f"resource://lsst.sky.correction/data/config/{cls.cameraName}/",)

    @classmethod
    def getName(cls) -> str:
        return cls.cameraName

    @classmethod
    def makeCamera(cls) -> Camera:
        """Build the camera (the shipped camera of the same name by default)."""
        return getCamera(cls.cameraName)

    def getCamera(self) -> Camera:
        """The instrument's afwlite camera."""
        return self.makeCamera()

    def getRawFormatter(self, dataId: DataId) -> type[FormatterV2]:
        """The formatter of raw-like images: afwlite's Exposure formatter.

        There is no raw ingest in sky_correction; this only satisfies the
        `~lsst.pipe.base.Instrument` interface.
        """
        return AfwliteExposureFormatter

    @classmethod
    def detectorRecord(cls, detector: Detector) -> dict[str, Any]:
        """The ``detector`` dimension record of one camera detector.

        Parameters
        ----------
        detector : `~lsst.sky.correction.afwlite.cameraGeom.Detector`
            The detector.

        Returns
        -------
        record : `dict`
            ``instrument``, ``id``, ``full_name``, ``purpose`` (the
            detector type's name: SCIENCE, FOCUS, GUIDER or WAVEFRONT) and,
            for ``<raft>_<sensor>`` names, ``raft`` and ``name_in_raft``.
        """
        record: dict[str, Any] = {
            "instrument": cls.getName(),
            "id": detector.getId(),
            "full_name": detector.getName(),
            "purpose": DetectorType(detector.getType()).name,
        }
        match = _RAFT_NAME.match(detector.getName()) if cls.raftNames else None
        if match:
            record["raft"], record["name_in_raft"] = match.groups()
        return record

    def register(self, registry: Registry, *, update: bool = False) -> None:
        """Insert the instrument, its detectors, physical filters and visit system.

        Parameters
        ----------
        registry : `lsst.daf.butler.Registry`
            The registry of a writeable repository.
        update : `bool`, optional
            Replace existing records that differ (else they raise
            `~lsst.daf.butler.registry.ConflictingDefinitionError`).
        """
        name = self.getName()
        camera = self.getCamera()
        className = f"{type(self).__module__}.{type(self).__qualname__}"
        with registry.transaction():
            registry.syncDimensionData(
                "instrument",
                {
                    "name": name,
                    "detector_max": max(camera.getIdIter()) + 1,
                    "visit_max": self.visitMax,
                    "exposure_max": self.exposureMax,
                    "visit_system": 0,
                    "class_name": className,
                },
                update=update,
            )
            for detector in camera:
                registry.syncDimensionData("detector", self.detectorRecord(detector), update=update)
            for physicalFilter, band in self.filterDefinitions:
                registry.syncDimensionData(
                    "physical_filter",
                    {"instrument": name, "name": physicalFilter, "band": band},
                    update=update,
                )
            registry.syncDimensionData(
                "visit_system", {"instrument": name, "id": 0, "name": "one-to-one"}, update=update
            )


class LSSTCam(SkyCorrectionInstrument):
    """The Rubin Observatory LSST Camera (189 science, 8 wavefront, 8 guider detectors)."""

    cameraName = "LSSTCam"
    raftNames = True
    # Rubin visit and exposure ids are YYYYMMDDnnnnn.
    visitMax = 10**13
    exposureMax = 10**13
    filterDefinitions = (
        ("u_24", "u"),
        ("g_6", "g"),
        ("r_57", "r"),
        ("i_39", "i"),
        ("z_20", "z"),
        ("y_10", "y"),
    )


class LSSTComCam(SkyCorrectionInstrument):
    """Rubin's commissioning camera: one 3x3 raft (R22)."""

    cameraName = "LSSTComCam"
    raftNames = True
    visitMax = 10**13
    exposureMax = 10**13
    filterDefinitions = (
        ("u_02", "u"),
        ("g_01", "g"),
        ("r_03", "r"),
        ("i_06", "i"),
        ("z_03", "z"),
        ("y_04", "y"),
    )


class HSC(SkyCorrectionInstrument):
    """Subaru Hyper Suprime-Cam (104 science and 8 focus detectors)."""

    cameraName = "HSC"
    visitMax = 21_474_800
    exposureMax = 21_474_800
    filterDefinitions = (
        ("HSC-G", "g"),
        ("HSC-R", "r"),
        ("HSC-R2", "r"),
        ("HSC-I", "i"),
        ("HSC-I2", "i"),
        ("HSC-Z", "z"),
        ("HSC-Y", "y"),
        ("NB0387", "N387"),
        ("NB0816", "N816"),
        ("NB0921", "N921"),
    )


class DECam(SkyCorrectionInstrument):
    """The Dark Energy Camera (62 science detectors)."""

    cameraName = "DECam"
    visitMax = 2**25
    exposureMax = 2**25
    filterDefinitions = (
        ("u DECam c0006 3500.0 1000.0", "u"),
        ("g DECam SDSS c0001 4720.0 1520.0", "g"),
        ("r DECam SDSS c0002 6415.0 1480.0", "r"),
        ("i DECam SDSS c0003 7835.0 1470.0", "i"),
        ("z DECam SDSS c0004 9260.0 1520.0", "z"),
        ("Y DECam c0005 10095.0 1130.0", "y"),
        ("VR DECam c0007 6300.0 2600.0", "VR"),
    )


#: The instruments sky_correction provides, by name.
INSTRUMENTS: dict[str, type[SkyCorrectionInstrument]] = {
    cls.cameraName: cls for cls in (LSSTCam, LSSTComCam, HSC, DECam)
}

#: The test instruments (`lsst.sky.correction.testing`), by name, as dotted class names.
TEST_INSTRUMENTS: dict[str, str] = {
    name: className for name, className in INSTRUMENT_CLASS_NAMES.items() if name not in INSTRUMENTS
}


def getInstrumentClass(name: str) -> type[Instrument]:
    """The instrument class for a short name or a fully-qualified class name.

    Parameters
    ----------
    name : `str`
        ``"LSSTCam"``, ``"LSSTComCam"``, ``"HSC"``, ``"DECam"``,
        ``"DummyCam"`` or ``"TinyCam"``, or the dotted path of any
        `~lsst.pipe.base.Instrument` subclass.

    Raises
    ------
    KeyError
        If the name is neither; the message lists the known names.
    """
    if name in INSTRUMENTS:
        return INSTRUMENTS[name]
    name = INSTRUMENT_CLASS_NAMES.get(name, name)
    if "." in name:
        from lsst.utils import doImportType

        cls = doImportType(name)
        if not (isinstance(cls, type) and issubclass(cls, Instrument)):
            raise TypeError(f"{name} is not an lsst.pipe.base.Instrument subclass")
        return cls
    known = ", ".join([*INSTRUMENTS, *TEST_INSTRUMENTS])
    raise KeyError(f"unknown instrument {name!r}; known: {known} (or a dotted class name)")
