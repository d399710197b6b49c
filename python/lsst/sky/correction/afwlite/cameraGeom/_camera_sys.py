"""Camera coordinate systems (``lsst.afw.cameraGeom.CameraSys``) and their errors."""

from __future__ import annotations

__all__ = [
    "ACTUAL_PIXELS",
    "FIELD_ANGLE",
    "FOCAL_PLANE",
    "PIXELS",
    "TAN_PIXELS",
    "CameraSys",
    "CameraSysError",
    "CameraSysNotImplementedError",
    "CameraSysPrefix",
]

from .._unsupported import AfwFeatureNotImplementedError, afwFeatureMessage


class CameraSysError(ValueError):
    """A coordinate system is unknown to, or unsupported by, a detector or camera."""


class CameraSysNotImplementedError(CameraSysError, AfwFeatureNotImplementedError):
    """A coordinate system afw has (FIELD_ANGLE, TAN_PIXELS, ACTUAL_PIXELS) that afwlite cannot model."""


class CameraSysPrefix:
    """A detector coordinate system not yet tied to a detector (afw's ``PIXELS``).

    Parameters
    ----------
    sysName : `str`
        The system name afw uses, e.g. ``"Pixels"``.
    """

    __slots__ = ("_sysName",)

    def __init__(self, sysName: str) -> None:
        self._sysName = str(sysName)

    def getSysName(self) -> str:
        return self._sysName

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CameraSysPrefix):
            return self._sysName == other._sysName
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("CameraSysPrefix", self._sysName))

    def __repr__(self) -> str:
        return f"CameraSysPrefix({self._sysName!r})"


class CameraSys:
    """A coordinate system: camera-wide, or belonging to one named detector.

    Parameters
    ----------
    sysName : `str` or `CameraSysPrefix`
        The system name (``"FocalPlane"``, ``"Pixels"``...) or a prefix.
    detectorName : `str`, optional
        The detector the system belongs to; empty for camera-wide systems.
    """

    __slots__ = ("_detectorName", "_sysName")

    def __init__(self, sysName: str | CameraSysPrefix, detectorName: str = "") -> None:
        self._sysName = sysName.getSysName() if isinstance(sysName, CameraSysPrefix) else str(sysName)
        self._detectorName = str(detectorName)

    def getSysName(self) -> str:
        return self._sysName

    def getDetectorName(self) -> str:
        return self._detectorName

    def hasDetectorName(self) -> bool:
        return bool(self._detectorName)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CameraSys):
            return (self._sysName, self._detectorName) == (other._sysName, other._detectorName)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("CameraSys", self._sysName, self._detectorName))

    def __repr__(self) -> str:
        if self._detectorName:
            return f"CameraSys({self._sysName!r}, {self._detectorName!r})"
        return f"CameraSys({self._sysName!r})"


# The names are the ones afw writes into TransformMap records (lsst/afw
# src/cameraGeom/CameraSys.cc).
FOCAL_PLANE = CameraSys("FocalPlane")
FIELD_ANGLE = CameraSys("FieldAngle")
PIXELS = CameraSysPrefix("Pixels")
TAN_PIXELS = CameraSysPrefix("TanPixels")
ACTUAL_PIXELS = CameraSysPrefix("ActualPixels")

# afw systems afwlite has no model for, by system name.
_UNMODELLED = {
    FIELD_ANGLE.getSysName(): "FIELD_ANGLE transforms (no optical distortion model)",
    TAN_PIXELS.getSysName(): "TAN_PIXELS transforms (no optical distortion model)",
    ACTUAL_PIXELS.getSysName(): "ACTUAL_PIXELS transforms (no pixel-level distortion model)",
}


def checkModelled(cameraSys: CameraSys | CameraSysPrefix, where: str) -> None:
    """Raise `CameraSysNotImplementedError` for an afw system afwlite cannot transform.

    Parameters
    ----------
    cameraSys : `CameraSys` or `CameraSysPrefix`
        The system asked for.
    where : `str`
        The camera or detector asked, for the message.
    """
    feature = _UNMODELLED.get(cameraSys.getSysName())
    if feature is not None:
        raise CameraSysNotImplementedError(
            f"{afwFeatureMessage(feature, 'lsst.afw.cameraGeom')}; {where} supports only PIXELS and "
            "FOCAL_PLANE"
        )
