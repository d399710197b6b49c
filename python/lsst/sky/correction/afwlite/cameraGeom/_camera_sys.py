"""Camera coordinate systems (``lsst.afw.cameraGeom.CameraSys``) and their errors."""

from __future__ import annotations

__all__ = ["FIELD_ANGLE", "FOCAL_PLANE", "PIXELS", "CameraSys", "CameraSysError", "CameraSysPrefix"]


class CameraSysError(ValueError):
    """A coordinate system is unknown to, or unsupported by, a detector or camera."""


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


# The names are the ones afw writes into TransformMap records.
FOCAL_PLANE = CameraSys("FocalPlane")
FIELD_ANGLE = CameraSys("FieldAngle")
PIXELS = CameraSysPrefix("Pixels")
