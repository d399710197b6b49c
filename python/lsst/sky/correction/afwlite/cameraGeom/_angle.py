"""A minimal stand-in for ``lsst.geom.Angle`` (what Orientation's getters return)."""

from __future__ import annotations

__all__ = ["Angle", "AngleUnit", "degrees", "radians"]

import math


class AngleUnit:
    """A unit of angle; multiply a number by it to get an `Angle` (``30.0 * degrees``).

    Parameters
    ----------
    radiansPerUnit : `float`
        How many radians one of this unit is.
    """

    __slots__ = ("_radiansPerUnit",)

    def __init__(self, radiansPerUnit: float) -> None:
        self._radiansPerUnit = float(radiansPerUnit)

    def __rmul__(self, value: float) -> Angle:
        return Angle(value, self)

    def __repr__(self) -> str:
        return f"AngleUnit({self._radiansPerUnit!r})"


radians = AngleUnit(1.0)
# The same constant lsst.geom uses, so degrees -> radians -> degrees matches afw bit for bit.
degrees = AngleUnit(math.pi / 180.0)


class Angle:
    """An immutable angle, stored in radians as ``lsst.geom.Angle`` is.

    Parameters
    ----------
    value : `float`
        The size of the angle in ``unit``.
    unit : `AngleUnit`, optional
        The unit of ``value``; radians by default, as in afw.
    """

    __slots__ = ("_radians",)

    def __init__(self, value: float, unit: AngleUnit = radians) -> None:
        self._radians = float(value) * unit._radiansPerUnit

    def asRadians(self) -> float:
        """The angle in radians."""
        return self._radians

    def asDegrees(self) -> float:
        """The angle in degrees."""
        return self.asAngularUnits(degrees)

    def asAngularUnits(self, unit: AngleUnit) -> float:
        """The angle in an arbitrary unit."""
        return self._radians / unit._radiansPerUnit

    def __float__(self) -> float:
        # afw's Angle converts to float as radians.
        return self._radians

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Angle):
            return self._radians == other._radians
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Angle", self._radians))

    def __repr__(self) -> str:
        return f"Angle({self._radians!r}, radians)"
