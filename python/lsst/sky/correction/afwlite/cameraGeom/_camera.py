"""A collection of detectors sharing a focal plane (``lsst.afw.cameraGeom.Camera``)."""

from __future__ import annotations

__all__ = ["Camera"]

from collections.abc import Iterable, Iterator
from typing import Any, NoReturn

import numpy as np

from .._unsupported import notImplemented
from ..geom import Box2D, Point2D
from ._camera_sys import FOCAL_PLANE, CameraSys, CameraSysError, CameraSysPrefix, checkModelled
from ._detector import Detector
from ._transform import PointsLike, TransformPoint2ToPoint2


class Camera:
    """An immutable camera: a name and detectors keyed by id and by name.

    Parameters
    ----------
    name : `str`
        The camera (instrument) name, e.g. ``"LSSTCam"``.
    detectors : iterable of `Detector`
        The detectors; ids and names must each be unique.
    pupilFactoryName : `str`, optional
        Carried for afw compatibility; unused.

    Notes
    -----
    Iteration, `getIdIter` and `getNameIter` go in increasing id order, as
    afw's do.  Indexing takes an id or a name and raises `KeyError` for
    neither, as afw's ``DetectorCollection`` does.
    """

    __slots__ = ("_byId", "_byName", "_fpBBox", "_name", "_pupilFactoryName")

    def __init__(self, name: str, detectors: Iterable[Detector], pupilFactoryName: str = "") -> None:
        self._name = str(name)
        self._pupilFactoryName = str(pupilFactoryName)
        byId: dict[int, Detector] = {}
        byName: dict[str, Detector] = {}
        for detector in detectors:
            if not isinstance(detector, Detector):
                raise TypeError(f"camera {self._name!r}: {detector!r} is not a Detector")
            if detector.getId() in byId:
                raise ValueError(
                    f"camera {self._name!r}: detectors {byId[detector.getId()].getName()!r} and "
                    f"{detector.getName()!r} share id {detector.getId()}"
                )
            if detector.getName() in byName:
                raise ValueError(f"camera {self._name!r}: two detectors are named {detector.getName()!r}")
            byId[detector.getId()] = detector
            byName[detector.getName()] = detector
        self._byId = dict(sorted(byId.items()))
        self._byName = byName
        self._fpBBox: Box2D | None = None

    def getName(self) -> str:
        return self._name

    def getPupilFactoryName(self) -> str:
        return self._pupilFactoryName

    # Detector access -----------------------------------------------------------
    def __len__(self) -> int:
        return len(self._byId)

    def __iter__(self) -> Iterator[Detector]:
        return iter(self._byId.values())

    def get(self, key: int | str | np.integer, default: Any = None) -> Any:
        """The detector with id or name ``key``, or ``default``."""
        if isinstance(key, str):
            return self._byName.get(key, default)
        if isinstance(key, int | np.integer) and not isinstance(key, bool):
            return self._byId.get(int(key), default)
        return default

    def __getitem__(self, key: int | str | np.integer) -> Detector:
        detector = self.get(key)
        if detector is None:
            kind = "name" if isinstance(key, str) else "id"
            raise KeyError(f"camera {self._name!r} has no detector with {kind} {key!r}")
        return detector

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int | str | np.integer) and self.get(key) is not None

    def getIdIter(self) -> Iterator[int]:
        return iter(self._byId.keys())

    def getNameIter(self) -> Iterator[str]:
        return (detector.getName() for detector in self._byId.values())

    def getIdMap(self) -> dict[int, Detector]:
        return dict(self._byId)

    def getNameMap(self) -> dict[str, Detector]:
        """Detectors by name, in name order (afw converts a ``std::map`` keyed by name)."""
        return dict(sorted(self._byName.items()))

    # Geometry ------------------------------------------------------------------
    def getFpBBox(self) -> Box2D:
        """The focal-plane box (mm) holding every detector's corners."""
        if self._fpBBox is None:
            if not self._byId:
                return Box2D()
            # Point by point, as afw does: Box2D.include nudges the maximum.
            box = Box2D()
            for detector in self:
                for corner in detector.getCorners(FOCAL_PLANE):
                    box.include(corner)
            self._fpBBox = box
        # Box2D is mutable: hand out a copy.
        return Box2D(self._fpBBox.getMin(), self._fpBBox.getMax())

    def getTransform(
        self, fromSys: CameraSys | CameraSysPrefix, toSys: CameraSys | CameraSysPrefix
    ) -> TransformPoint2ToPoint2:
        """The transform between FOCAL_PLANE and detectors' PIXELS systems.

        Detector systems must name their detector, e.g.
        ``CameraSys(PIXELS, "R22_S11")``; PIXELS of one detector to PIXELS of
        another goes through the focal plane.
        """
        toFp = self._toFocalPlane(fromSys)
        fromFp = self._toFocalPlane(toSys).inverted()
        return toFp.then(fromFp)

    def transform(
        self, points: PointsLike, fromSys: CameraSys | CameraSysPrefix, toSys: CameraSys | CameraSysPrefix
    ) -> Any:
        """Map points (any form `TransformPoint2ToPoint2` accepts) between camera systems."""
        return self.getTransform(fromSys, toSys).applyForward(points)

    def _toFocalPlane(self, cameraSys: CameraSys | CameraSysPrefix) -> TransformPoint2ToPoint2:
        if isinstance(cameraSys, CameraSysPrefix):
            raise CameraSysError(
                f"{cameraSys!r} is ambiguous for camera {self._name!r}: name the detector, "
                f"e.g. CameraSys(PIXELS, {next(iter(self._byName), 'name')!r})"
            )
        if cameraSys == FOCAL_PLANE:
            return TransformPoint2ToPoint2([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0])
        detectorName = cameraSys.getDetectorName()
        checkModelled(cameraSys, f"camera {self._name!r}")
        if not detectorName:
            raise CameraSysError(
                f"unknown coordinate system {cameraSys!r} for camera {self._name!r}; "
                "afwlite supports FOCAL_PLANE and CameraSys(PIXELS, detectorName)"
            )
        if detectorName not in self._byName:
            raise CameraSysError(f"camera {self._name!r} has no detector named {detectorName!r}")
        return self._byName[detectorName].getTransform(cameraSys, FOCAL_PLANE)

    def findDetectors(self, point: Point2D, cameraSys: CameraSys | CameraSysPrefix) -> list[Detector]:
        """The detectors whose pixel area holds ``point`` (afw ``Camera.findDetectors``).

        As afw does, the point is taken to FOCAL_PLANE, then to each
        detector's PIXELS, and kept where ``Box2D(bbox)`` contains it; the
        detectors come in id order.
        """
        if isinstance(cameraSys, CameraSysPrefix):
            raise CameraSysError(f"{cameraSys!r} is ambiguous for camera {self._name!r}: name the detector")
        focalPlane = self._toFocalPlane(cameraSys).applyForward(point)
        return [
            detector
            for detector in self
            if Box2D(detector.getBBox()).contains(
                detector.getTransform(FOCAL_PLANE, detector.getNativeCoordSys()).applyForward(focalPlane)
            )
        ]

    # afw Camera surface afwlite does not model.
    def getTransformMap(self) -> NoReturn:
        notImplemented("TransformMap (Camera.getTransformMap)", "lsst.afw.cameraGeom.Camera")

    def getPupilFactory(self) -> NoReturn:
        notImplemented("pupil factories (Camera.getPupilFactory)", "lsst.afw.cameraGeom.Camera")

    def getFocalPlaneParity(self) -> NoReturn:
        notImplemented("focal-plane parity (Camera.getFocalPlaneParity)", "lsst.afw.cameraGeom.Camera")

    def __repr__(self) -> str:
        return f"Camera({self._name!r}, {len(self)} detectors)"
