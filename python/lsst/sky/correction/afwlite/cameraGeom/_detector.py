"""One detector of a camera (``lsst.afw.cameraGeom.Detector``), geometry only."""

from __future__ import annotations

__all__ = ["Detector", "DetectorType"]

import enum
import math
from collections.abc import Sequence
from typing import Any, NoReturn

from .._unsupported import notImplemented
from ..geom import Box2D, Box2I, Extent2D, Point2D
from ._camera_sys import FOCAL_PLANE, PIXELS, CameraSys, CameraSysError, CameraSysPrefix, checkModelled
from ._orientation import Orientation
from ._transform import PointsLike, TransformPoint2ToPoint2


class DetectorType(enum.IntEnum):
    """What a detector is for; the values are the integers afw persists."""

    SCIENCE = 0
    FOCUS = 1
    GUIDER = 2
    WAVEFRONT = 3


class Detector:
    """An immutable detector: identity, pixel grid and place in the focal plane.

    Parameters
    ----------
    name : `str`
        Unique name within the camera.
    id : `int`
        Unique integer id within the camera.
    bbox : `Box2I`
        The detector's pixels (inclusive), usually ``(0, 0)`` to ``(W-1, H-1)``.
    orientation : `Orientation`
        Where the detector sits in the focal plane.
    pixelSize : `Extent2D` or sequence of 2 `float`
        Pixel size in mm.
    type : `DetectorType` or `int`, optional
        SCIENCE by default.
    serial : `str`, optional
        The detector's serial "number".
    physicalType : `str`, optional
        The sensor technology or vendor (e.g. ``"ITL"``); may be empty.

    Notes
    -----
    Unlike afw's, this Detector has no amplifiers, crosstalk matrix or
    per-detector extra transforms: only the systems PIXELS and FOCAL_PLANE,
    related by `Orientation.makePixelFpTransform`.
    """

    __slots__ = (
        "_bbox",
        "_id",
        "_name",
        "_orientation",
        "_physicalType",
        "_pixelFp",
        "_pixelSize",
        "_serial",
        "_type",
    )

    def __init__(
        self,
        name: str,
        id: int,
        *,
        bbox: Box2I,
        orientation: Orientation,
        pixelSize: Extent2D | Sequence[float],
        type: DetectorType | int = DetectorType.SCIENCE,
        serial: str = "",
        physicalType: str = "",
    ) -> None:
        self._name = str(name)
        where = f"detector {self._name!r}"
        if not self._name:
            raise ValueError("a detector needs a non-empty name")
        if isinstance(id, bool) or int(id) != id:
            raise ValueError(f"{where}: id must be an integer, got {id!r}")
        self._id = int(id)
        try:
            self._type = DetectorType(int(type))
        except ValueError:
            raise ValueError(f"{where}: unknown detector type {type!r}") from None
        if not isinstance(bbox, Box2I) or bbox.isEmpty():
            raise ValueError(f"{where}: bbox must be a non-empty Box2I, got {bbox!r}")
        if not isinstance(orientation, Orientation):
            raise TypeError(f"{where}: orientation must be an Orientation, got {orientation!r}")
        size = Extent2D(float(pixelSize[0]), float(pixelSize[1]))
        if not all(math.isfinite(v) and v > 0.0 for v in size):
            raise ValueError(f"{where}: pixel size must be positive and finite (mm), got {pixelSize!r}")
        self._bbox = Box2I(bbox.getMin(), bbox.getMax())
        self._orientation = orientation
        self._pixelSize = size
        self._serial = str(serial)
        self._physicalType = str(physicalType)
        self._pixelFp = orientation.makePixelFpTransform(size)

    # Identity ----------------------------------------------------------------
    def getName(self) -> str:
        return self._name

    def getId(self) -> int:
        return self._id

    def getType(self) -> DetectorType:
        return self._type

    def getSerial(self) -> str:
        return self._serial

    def getPhysicalType(self) -> str:
        return self._physicalType

    # Geometry ----------------------------------------------------------------
    def getBBox(self) -> Box2I:
        """The pixel bounding box (a copy; Box2I is mutable)."""
        return Box2I(self._bbox.getMin(), self._bbox.getMax())

    def getPixelSize(self) -> Extent2D:
        """Pixel size in mm."""
        return self._pixelSize

    def getOrientation(self) -> Orientation:
        return self._orientation

    def getNativeCoordSys(self) -> CameraSys:
        """The detector's own PIXELS system."""
        return CameraSys(PIXELS, self._name)

    def makeCameraSys(self, cameraSys: CameraSys | CameraSysPrefix) -> CameraSys:
        """Tie a prefix such as PIXELS to this detector; pass a full system through."""
        if isinstance(cameraSys, CameraSysPrefix):
            return CameraSys(cameraSys, self._name)
        return cameraSys

    def hasTransform(self, cameraSys: CameraSys | CameraSysPrefix) -> bool:
        """Whether `getTransform` can reach ``cameraSys``.

        Raises
        ------
        CameraSysNotImplementedError
            For FIELD_ANGLE, TAN_PIXELS and ACTUAL_PIXELS, which afw cameras
            have and afwlite cannot model: answering False would be a
            different answer from afw's for the same camera.
        """
        checkModelled(cameraSys, f"detector {self._name!r}")
        try:
            self._isPixels(cameraSys)
        except CameraSysError:
            return False
        return True

    def getTransform(
        self, fromSys: CameraSys | CameraSysPrefix, toSys: CameraSys | CameraSysPrefix
    ) -> TransformPoint2ToPoint2:
        """The transform between two of this detector's systems.

        Parameters
        ----------
        fromSys, toSys : `CameraSys` or `CameraSysPrefix`
            PIXELS (the prefix, or ``CameraSys(PIXELS, <this name>)``) or
            FOCAL_PLANE.

        Raises
        ------
        CameraSysNotImplementedError
            For FIELD_ANGLE, TAN_PIXELS or ACTUAL_PIXELS (afwlite has no
            optical or pixel distortion model).
        CameraSysError
            For another detector's system, or a system afw does not know.
        """
        fromPixels, toPixels = self._isPixels(fromSys), self._isPixels(toSys)
        if fromPixels == toPixels:
            return TransformPoint2ToPoint2([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0])
        return self._pixelFp if fromPixels else self._pixelFp.inverted()

    def transform(
        self, points: PointsLike, fromSys: CameraSys | CameraSysPrefix, toSys: CameraSys | CameraSysPrefix
    ) -> Any:
        """Map points (any form `TransformPoint2ToPoint2` accepts) between systems."""
        return self.getTransform(fromSys, toSys).applyForward(points)

    def getCorners(self, cameraSys: CameraSys | CameraSysPrefix) -> list[Point2D]:
        """The corners of ``Box2D(bbox)`` (pixel edges) in ``cameraSys``.

        The order is afw's: (min, min), (max, min), (max, max), (min, max) in
        PIXELS.
        """
        corners = Box2D(self._bbox).getCorners()
        return self.transform(corners, PIXELS, cameraSys)

    def getCenter(self, cameraSys: CameraSys | CameraSysPrefix) -> Point2D:
        """The centre of the pixel bounding box, in ``cameraSys``."""
        return self.transform(Box2D(self._bbox).getCenter(), PIXELS, cameraSys)

    def _isPixels(self, cameraSys: CameraSys | CameraSysPrefix) -> bool:
        """True for this detector's PIXELS, False for FOCAL_PLANE; raise otherwise."""
        if cameraSys == PIXELS:
            return True
        if isinstance(cameraSys, CameraSys):
            if cameraSys == FOCAL_PLANE:
                return False
            if cameraSys.getSysName() == PIXELS.getSysName():
                if cameraSys.getDetectorName() in ("", self._name):
                    return True
                raise CameraSysError(
                    f"{cameraSys!r} belongs to another detector, not to detector {self._name!r}"
                )
        checkModelled(cameraSys, f"detector {self._name!r}")
        raise CameraSysError(
            f"unknown coordinate system {cameraSys!r} for detector {self._name!r}; "
            "afwlite supports PIXELS and FOCAL_PLANE"
        )

    # afw Detector surface afwlite does not model: amplifiers, crosstalk, the TransformMap.
    def getAmplifiers(self) -> NoReturn:
        notImplemented("amplifiers (Detector.getAmplifiers)", "lsst.afw.cameraGeom.Detector")

    def __getitem__(self, key: Any) -> NoReturn:
        notImplemented("amplifiers (Detector[name or index])", "lsst.afw.cameraGeom.Detector")

    def __iter__(self) -> NoReturn:
        notImplemented("amplifiers (iterating over a Detector)", "lsst.afw.cameraGeom.Detector")

    def __len__(self) -> int:
        notImplemented("amplifiers (len(Detector))", "lsst.afw.cameraGeom.Detector")

    def __bool__(self) -> bool:
        # Without this, truth testing would fall back on __len__ and raise.
        return True

    def getCrosstalk(self) -> NoReturn:
        notImplemented("crosstalk coefficients (Detector.getCrosstalk)", "lsst.afw.cameraGeom.Detector")

    def hasCrosstalk(self) -> NoReturn:
        notImplemented("crosstalk coefficients (Detector.hasCrosstalk)", "lsst.afw.cameraGeom.Detector")

    def getTransformMap(self) -> NoReturn:
        notImplemented("TransformMap (Detector.getTransformMap)", "lsst.afw.cameraGeom.Detector")

    def __repr__(self) -> str:
        return (
            f"Detector({self._name!r}, id={self._id}, type={self._type.name}, bbox={self._bbox!r}, "
            f"pixelSize={self._pixelSize!r})"
        )
