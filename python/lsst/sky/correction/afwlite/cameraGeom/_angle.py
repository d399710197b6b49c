"""A minimal stand-in for ``lsst.geom.Angle`` (what Orientation's getters return)."""

from __future__ import annotations

__all__ = ["Angle", "AngleUnit", "arcminutes", "arcseconds", "degrees", "hours", "radians"]

import math
import numbers
from typing import NoReturn

from .._unsupported import notImplemented


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
        if not _isNumber(value):
            return NotImplemented
        return Angle(value, self)

    def __mul__(self, value: float) -> Angle:
        return self.__rmul__(value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AngleUnit):
            return self._radiansPerUnit == other._radiansPerUnit
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("AngleUnit", self._radiansPerUnit))

    def __repr__(self) -> str:
        return f"AngleUnit({self._radiansPerUnit!r})"


# The constants are written as lsst/geom include/lsst/geom/Angle.h writes them, so conversions
# match lsst.geom bit for bit.
radians = AngleUnit(1.0)
degrees = AngleUnit(math.pi / 180.0)
hours = AngleUnit(math.pi * 15.0 / 180.0)
arcminutes = AngleUnit(math.pi / 60 / 180.0)
arcseconds = AngleUnit(math.pi / 180.0 / 3600.0)


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

    def asHours(self) -> float:
        """The angle in hours."""
        return self.asAngularUnits(hours)

    def asArcminutes(self) -> float:
        """The angle in arcminutes."""
        return self.asAngularUnits(arcminutes)

    def asArcseconds(self) -> float:
        """The angle in arcseconds."""
        return self.asAngularUnits(arcseconds)

    def asAngularUnits(self, unit: AngleUnit) -> float:
        """The angle in an arbitrary unit."""
        return self._radians / unit._radiansPerUnit

    def __float__(self) -> float:
        # afw's Angle converts to float as radians.
        return self._radians

    # Arithmetic, as lsst/geom python/lsst/geom/_angle.cc binds it: Angle +- Angle,
    # Angle * number (either side), Angle / number, unary minus and abs.  A bare number
    # is not an angle, so Angle + float and Angle / Angle are refused.
    def __add__(self, other: Angle) -> Angle:
        if not isinstance(other, Angle):
            return NotImplemented
        return Angle(self._radians + other._radians)

    def __sub__(self, other: Angle) -> Angle:
        if not isinstance(other, Angle):
            return NotImplemented
        return Angle(self._radians - other._radians)

    def __mul__(self, factor: float) -> Angle:
        if not _isNumber(factor):
            return NotImplemented
        return Angle(self._radians * factor)

    __rmul__ = __mul__

    def __truediv__(self, divisor: float) -> Angle:
        if not _isNumber(divisor):
            return NotImplemented
        return Angle(self._radians / divisor)

    def __neg__(self) -> Angle:
        return Angle(-self._radians)

    def __abs__(self) -> Angle:
        return Angle(abs(self._radians))

    # Comparisons: with another Angle, or (through afw's implicit conversion to double)
    # with a plain number taken as radians.
    def _otherRadians(self, other: object) -> float | None:
        if isinstance(other, Angle):
            return other._radians
        if _isNumber(other):
            return float(other)  # type: ignore[arg-type]
        return None

    def __eq__(self, other: object) -> bool:
        value = self._otherRadians(other)
        return NotImplemented if value is None else self._radians == value

    def __ne__(self, other: object) -> bool:
        value = self._otherRadians(other)
        return NotImplemented if value is None else self._radians != value

    def __lt__(self, other: object) -> bool:
        value = self._otherRadians(other)
        return NotImplemented if value is None else self._radians < value

    def __le__(self, other: object) -> bool:
        value = self._otherRadians(other)
        return NotImplemented if value is None else self._radians <= value

    def __gt__(self, other: object) -> bool:
        value = self._otherRadians(other)
        return NotImplemented if value is None else self._radians > value

    def __ge__(self, other: object) -> bool:
        value = self._otherRadians(other)
        return NotImplemented if value is None else self._radians >= value

    def __hash__(self) -> int:
        # Equal to a float of the same radians, so hash like one.
        return hash(self._radians)

    def wrap(self) -> NoReturn:
        notImplemented("Angle.wrap", "lsst.geom.Angle")

    def wrapCtr(self) -> NoReturn:
        notImplemented("Angle.wrapCtr", "lsst.geom.Angle")

    def wrapNear(self, refAng: Angle) -> NoReturn:
        notImplemented("Angle.wrapNear", "lsst.geom.Angle")

    def separation(self, other: Angle) -> NoReturn:
        notImplemented("Angle.separation", "lsst.geom.Angle")

    def __repr__(self) -> str:
        return f"Angle({self._radians!r}, radians)"


def _isNumber(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
