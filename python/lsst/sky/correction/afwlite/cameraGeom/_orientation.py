"""Where a detector sits in the focal plane (``lsst.afw.cameraGeom.Orientation``)."""

from __future__ import annotations

__all__ = ["Orientation"]

import math
from collections.abc import Sequence

import numpy as np

from ..geom import Extent2D, Point2D
from ._angle import Angle
from ._transform import TransformPoint2ToPoint2


def _as_angle(value: Angle | float, what: str) -> Angle:
    if not isinstance(value, Angle):
        try:
            value = Angle(float(value))
        except (TypeError, ValueError):
            raise TypeError(
                f"Orientation {what} must be an Angle or a number of radians, got {value!r}"
            ) from None
    if not math.isfinite(value.asRadians()):
        raise ValueError(f"Orientation {what} must be finite, got {value!r}")
    return value


class Orientation:
    """The position and rotation of a detector in the focal plane.

    Parameters
    ----------
    fpPosition : `Point2D` or sequence of 2 or 3 `float`, optional
        Focal-plane position (mm) of the reference point; a 2-d value has
        ``z = 0``.  ``z`` is carried but never used by PIXELS <-> FOCAL_PLANE.
    refPoint : `Point2D`, optional
        The reference point in PIXELS; afw's default (-0.5, -0.5) is the
        outer corner of pixel (0, 0).
    yaw, pitch, roll : `Angle` or `float`, optional
        Tait-Bryan Z1Y2X3 rotation angles: yaw about Z first, then pitch about
        Y', then roll about X''.  Numbers are radians.
    """

    __slots__ = ("_fpPosition", "_pitch", "_refPoint", "_roll", "_rotation", "_yaw")

    def __init__(
        self,
        fpPosition: Point2D | Sequence[float] = (0.0, 0.0, 0.0),
        refPoint: Point2D | Sequence[float] = (-0.5, -0.5),
        yaw: Angle | float = 0.0,
        pitch: Angle | float = 0.0,
        roll: Angle | float = 0.0,
    ) -> None:
        position = [float(v) for v in fpPosition]
        if len(position) == 2:
            position.append(0.0)
        if len(position) != 3 or not all(math.isfinite(v) for v in position):
            raise ValueError(f"Orientation fpPosition must be 2 or 3 finite numbers (mm), got {fpPosition!r}")
        reference = [float(v) for v in refPoint]
        if len(reference) != 2 or not all(math.isfinite(v) for v in reference):
            raise ValueError(f"Orientation refPoint must be 2 finite numbers (pixels), got {refPoint!r}")
        self._fpPosition = (position[0], position[1], position[2])
        self._refPoint = Point2D(reference[0], reference[1])
        self._yaw = _as_angle(yaw, "yaw")
        self._pitch = _as_angle(pitch, "pitch")
        self._roll = _as_angle(roll, "roll")
        self._rotation = self._makeRotation()

    def _makeRotation(self) -> np.ndarray:
        """The top-left 2x2 block of the Z1Y2X3 rotation matrix (afw ``Orientation.cc``)."""
        cosYaw, sinYaw = math.cos(self._yaw.asRadians()), math.sin(self._yaw.asRadians())
        cosPitch, sinPitch = math.cos(self._pitch.asRadians()), math.sin(self._pitch.asRadians())
        cosRoll, sinRoll = math.cos(self._roll.asRadians()), math.sin(self._roll.asRadians())
        rotation = np.array(
            [
                [cosYaw * cosPitch, cosYaw * sinPitch * sinRoll - cosRoll * sinYaw],
                [cosPitch * sinYaw, cosYaw * cosRoll + sinYaw * sinPitch * sinRoll],
            ]
        )
        rotation.flags.writeable = False
        return rotation

    # Accessors -------------------------------------------------------------
    def getFpPosition(self) -> Point2D:
        """Focal-plane position (mm) of the reference point, x and y."""
        return Point2D(self._fpPosition[0], self._fpPosition[1])

    def getFpPosition3(self) -> tuple[float, float, float]:
        """Focal-plane position (mm) of the reference point, x, y and z."""
        return self._fpPosition

    def getHeight(self) -> float:
        """The z of the reference point (mm)."""
        return self._fpPosition[2]

    def getReferencePoint(self) -> Point2D:
        """The reference point in PIXELS."""
        return self._refPoint

    def getYaw(self) -> Angle:
        return self._yaw

    def getPitch(self) -> Angle:
        return self._pitch

    def getRoll(self) -> Angle:
        return self._roll

    def getNQuarter(self) -> int:
        """The number of quarter turns nearest the yaw, by afw's exact rule.

        afw converts the yaw to a single-precision number of degrees, adds 360
        while it is negative and returns ``floor((yawDeg + 45) / 90)``; the
        result is 4 (or more) for yaws of 315 degrees and up, so callers take
        it modulo 4.
        """
        yawDeg = np.float32(self._yaw.asDegrees())
        while yawDeg < 0.0:
            yawDeg = np.float32(float(yawDeg) + 360.0)
        return math.floor((float(yawDeg) + 45.0) / 90.0)

    # Transforms --------------------------------------------------------------
    def makePixelFpTransform(self, pixelSizeMm: Extent2D | Sequence[float]) -> TransformPoint2ToPoint2:
        """The affine PIXELS -> FOCAL_PLANE transform for pixels of ``pixelSizeMm``.

        ``fp = fpPosition.xy + R @ (pixelSize * (pixel - refPoint))``, i.e.
        Jacobian ``R @ diag(pixelSize)`` and translation
        ``fpPosition.xy - R @ (pixelSize * refPoint)``, as in afw.
        """
        size = np.array([float(pixelSizeMm[0]), float(pixelSizeMm[1])])
        jacobian = self._rotation * size[np.newaxis, :]
        refMm = size * np.array([self._refPoint.x, self._refPoint.y])
        translation = np.array(self._fpPosition[:2]) - self._rotation @ refMm
        return TransformPoint2ToPoint2(jacobian, translation)

    def makeFpPixelTransform(self, pixelSizeMm: Extent2D | Sequence[float]) -> TransformPoint2ToPoint2:
        """The FOCAL_PLANE -> PIXELS transform, the exact inverse of `makePixelFpTransform`."""
        return self.makePixelFpTransform(pixelSizeMm).inverted()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Orientation):
            return NotImplemented
        return (
            self._fpPosition == other._fpPosition
            and self._refPoint == other._refPoint
            and (self._yaw, self._pitch, self._roll) == (other._yaw, other._pitch, other._roll)
        )

    def __hash__(self) -> int:
        return hash((self._fpPosition, tuple(self._refPoint), self._yaw, self._pitch, self._roll))

    def __repr__(self) -> str:
        return (
            f"Orientation(fpPosition={self._fpPosition!r}, refPoint={self._refPoint!r}, "
            f"yaw={self._yaw.asDegrees()!r} deg, pitch={self._pitch.asDegrees()!r} deg, "
            f"roll={self._roll.asDegrees()!r} deg)"
        )
