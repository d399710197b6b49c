"""Integer and floating-point points, extents and boxes with ``lsst.geom`` semantics.

``Box2I`` is an *inclusive* integer box: ``getMax()`` is the last pixel inside
it, ``getEnd()`` one past it.  ``Box2D`` is a floating-point box; converting a
``Box2I`` to a ``Box2D`` covers the pixel edges (``min - 0.5`` to
``max + 0.5``), as in afw.
"""

from __future__ import annotations

__all__ = ["EXPAND", "SHRINK", "Box2D", "Box2I", "EdgeHandling", "Extent2D", "Extent2I", "Point2D", "Point2I"]

import enum
import math
import sys
from collections.abc import Iterator
from typing import Any, Self


class _Pair:
    """Common behaviour of the two-component value types."""

    __slots__ = ("_x", "_y")
    _cast: Any = float

    def __init__(self, x: Any = 0, y: Any = None) -> None:
        if y is None:
            if isinstance(x, _Pair | tuple | list):
                if isinstance(self, Extent2I | Point2I) and isinstance(x, Extent2D | Point2D):
                    # lsst.geom converts float coordinates to integers only explicitly
                    # (Point2I(Point2D) rounds; Extent2I has no float constructor).
                    if isinstance(self, Extent2I):
                        raise TypeError(
                            "lsst.geom has no Extent2I(Extent2D); use floor/ceil/truncate explicitly"
                        )
                x, y = x[0], x[1]
            else:
                # lsst.geom's one-value constructor sets every component: Extent2I(3) == (3, 3).
                y = x
        self._x = self._cast(x)
        self._y = self._cast(y)

    @property
    def x(self) -> Any:
        return self._x

    @property
    def y(self) -> Any:
        return self._y

    def getX(self) -> Any:
        return self._x

    def getY(self) -> Any:
        return self._y

    def __getitem__(self, index: int) -> Any:
        return (self._x, self._y)[index]

    def __iter__(self) -> Iterator[Any]:
        yield self._x
        yield self._y

    def __len__(self) -> int:
        return 2

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Pair | tuple | list) and len(other) == 2:
            return bool(self._x == other[0] and self._y == other[1])
        return NotImplemented

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._x, self._y))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._x!r}, {self._y!r})"

    def clone(self) -> Self:
        return type(self)(self._x, self._y)


class Extent2I(_Pair):
    """An integer 2-d offset or size (``lsst.geom.Extent2I``)."""

    __slots__ = ()
    _cast = int

    def __add__(self, other: Any) -> Any:
        # lsst.geom: Extent2I + Extent2D is an Extent2D, Extent + Point a Point.
        if isinstance(other, Extent2I):
            return Extent2I(self._x + other.x, self._y + other.y)
        if isinstance(other, Extent2D):
            return Extent2D(self._x + other.x, self._y + other.y)
        if isinstance(other, Point2I):
            return Point2I(self._x + other.x, self._y + other.y)
        if isinstance(other, Point2D):
            return Point2D(self._x + other.x, self._y + other.y)
        return NotImplemented

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, Extent2I):
            return Extent2I(self._x - other.x, self._y - other.y)
        if isinstance(other, Extent2D):
            return Extent2D(self._x - other.x, self._y - other.y)
        return NotImplemented

    def __neg__(self) -> Extent2I:
        return Extent2I(-self._x, -self._y)

    def __mul__(self, factor: Any) -> Any:
        # lsst.geom: an integer factor keeps Extent2I, a float one gives Extent2D.
        if isinstance(factor, int):
            return Extent2I(self._x * factor, self._y * factor)
        if isinstance(factor, float):
            return Extent2D(self._x * factor, self._y * factor)
        return NotImplemented

    __rmul__ = __mul__

    def __floordiv__(self, divisor: int) -> Extent2I:
        return Extent2I(self._x // divisor, self._y // divisor)

    def __truediv__(self, divisor: float) -> Extent2D:
        return Extent2D(self._x / divisor, self._y / divisor)

    def computeSize(self) -> int:
        return self._x * self._y


class Extent2D(_Pair):
    """A floating-point 2-d offset or size (``lsst.geom.Extent2D``)."""

    __slots__ = ()

    def __add__(self, other: Any) -> Any:
        if isinstance(other, Extent2D | Extent2I):
            return Extent2D(self._x + other.x, self._y + other.y)
        if isinstance(other, Point2D | Point2I):
            return Point2D(self._x + other.x, self._y + other.y)
        return NotImplemented

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, Extent2D | Extent2I):
            return Extent2D(self._x - other.x, self._y - other.y)
        return NotImplemented

    def __neg__(self) -> Extent2D:
        return Extent2D(-self._x, -self._y)

    def __mul__(self, factor: float) -> Extent2D:
        if not isinstance(factor, int | float):
            return NotImplemented
        return Extent2D(self._x * factor, self._y * factor)

    __rmul__ = __mul__

    def __truediv__(self, divisor: float) -> Extent2D:
        return Extent2D(self._x / divisor, self._y / divisor)


def _round_half_up(value: Any) -> int:
    """lsst.geom's float-to-int point conversion: ``floor(v + 0.5)``."""
    if isinstance(value, int):
        return value
    return math.floor(value + 0.5)


class Point2I(_Pair):
    """An integer pixel position (``lsst.geom.Point2I``).

    Built from floating-point values (e.g. ``Point2I(Point2D(...))``), it rounds
    half up, ``floor(v + 0.5)``, exactly as lsst.geom does.
    """

    __slots__ = ()
    _cast = staticmethod(_round_half_up)

    def __add__(self, other: Any) -> Any:
        # lsst.geom: Point2I + Extent2D is a Point2D (no rounding); Point + Point is undefined.
        if isinstance(other, Extent2I):
            return Point2I(self._x + other.x, self._y + other.y)
        if isinstance(other, Extent2D):
            return Point2D(self._x + other.x, self._y + other.y)
        return NotImplemented

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, Point2I):
            return Extent2I(self._x - other.x, self._y - other.y)
        if isinstance(other, Point2D):
            return Extent2D(self._x - other.x, self._y - other.y)
        if isinstance(other, Extent2I):
            return Point2I(self._x - other.x, self._y - other.y)
        if isinstance(other, Extent2D):
            return Point2D(self._x - other.x, self._y - other.y)
        return NotImplemented


class Point2D(_Pair):
    """A floating-point position (``lsst.geom.Point2D``)."""

    __slots__ = ()

    def __add__(self, other: Any) -> Any:
        if isinstance(other, Extent2D | Extent2I):
            return Point2D(self._x + other.x, self._y + other.y)
        return NotImplemented

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, Point2D | Point2I):
            return Extent2D(self._x - other.x, self._y - other.y)
        if isinstance(other, Extent2D | Extent2I):
            return Point2D(self._x - other.x, self._y - other.y)
        return NotImplemented

    def distanceSquared(self, other: Point2D) -> float:
        return (self._x - other.x) ** 2 + (self._y - other.y) ** 2


class EdgeHandling(enum.Enum):
    """How ``Box2I(Box2D)`` treats partial pixels (``lsst.geom.Box2I.EdgeHandlingEnum``)."""

    EXPAND = 0
    SHRINK = 1


EXPAND = EdgeHandling.EXPAND
SHRINK = EdgeHandling.SHRINK


class Box2I:
    """An integer box with inclusive bounds (``lsst.geom.Box2I``).

    Parameters
    ----------
    minimum : `Point2I` or `Box2I`, optional
        The first pixel of the box, or a box to copy.  With no arguments the
        box is empty.
    corner : `Extent2I` or `Point2I`, optional
        Either the dimensions of the box (an `Extent2I`) or its inclusive
        maximum pixel (a `Point2I`).  When a maximum is given the box spans
        the two points whatever their order, as afw's ``Box2I(p1, p2)`` does.
    """

    __slots__ = ("_maxX", "_maxY", "_minX", "_minY")
    EXPAND = EdgeHandling.EXPAND
    SHRINK = EdgeHandling.SHRINK
    _minX: int
    _minY: int
    _maxX: int
    _maxY: int

    def __init__(
        self,
        minimum: Point2I | Box2I | Box2D | None = None,
        corner: Extent2I | Point2I | EdgeHandling | None = None,
        invert: bool = True,
    ) -> None:
        if minimum is None:
            self._set_empty()
            return
        if isinstance(minimum, Box2D):
            self._from_box2d(minimum, EXPAND if corner is None else corner)
            return
        if isinstance(minimum, Box2I):
            self._minX, self._minY, self._maxX, self._maxY = (
                minimum._minX,
                minimum._minY,
                minimum._maxX,
                minimum._maxY,
            )
            return
        if corner is None:
            raise TypeError("Box2I needs a minimum point and either dimensions or a maximum point")
        if isinstance(minimum, Point2D) or isinstance(corner, Point2D | Extent2D):
            raise TypeError(
                "Box2I needs integer points and extents; use Box2D, or Box2I(Box2D, EXPAND|SHRINK)"
            )
        x0, y0 = int(minimum[0]), int(minimum[1])
        if isinstance(corner, Extent2I):
            width, height = corner.x, corner.y
            if width == 0 or height == 0 or (not invert and (width < 0 or height < 0)):
                self._set_empty()
                return
            # lsst.geom's Box2I(corner, dimensions, invert=True): a negative dimension
            # extends the box the other way from the corner.
            if width < 0:
                x0, width = x0 + width + 1, -width
            if height < 0:
                y0, height = y0 + height + 1, -height
            self._minX, self._minY = x0, y0
            self._maxX, self._maxY = x0 + width - 1, y0 + height - 1
        else:
            x1, y1 = int(corner[0]), int(corner[1])  # type: ignore[index]
            self._minX, self._maxX = min(x0, x1), max(x0, x1)
            self._minY, self._maxY = min(y0, y1), max(y0, y1)

    def _from_box2d(self, box: Box2D, edge: Any) -> None:
        """lsst.geom's ``Box2I(Box2D, edgeHandling)``: pixels whose centres the box covers.

        EXPAND keeps every pixel the box touches, SHRINK only those it covers
        entirely; pixel ``i`` spans ``[i - 0.5, i + 0.5)``.
        """
        if not isinstance(edge, EdgeHandling):
            raise TypeError(f"Box2I(Box2D, edgeHandling) needs Box2I.EXPAND or Box2I.SHRINK, not {edge!r}")
        if box.isEmpty():
            self._set_empty()
            return
        bounds = (box.getMinX(), box.getMinY(), box.getMaxX(), box.getMaxY())
        if not all(math.isfinite(v) for v in bounds):
            raise ValueError(f"cannot convert the non-finite box {box!r} to a Box2I")
        lowX, lowY = bounds[0] + 0.5, bounds[1] + 0.5
        highX, highY = bounds[2] - 0.5, bounds[3] - 0.5
        if edge is EXPAND:
            self._minX, self._minY = math.floor(lowX), math.floor(lowY)
            self._maxX, self._maxY = math.ceil(highX), math.ceil(highY)
        else:
            self._minX, self._minY = math.ceil(lowX), math.ceil(lowY)
            self._maxX, self._maxY = math.floor(highX), math.floor(highY)
        if self._maxX < self._minX or self._maxY < self._minY:
            self._set_empty()

    def _set_empty(self) -> None:
        self._minX, self._minY, self._maxX, self._maxY = 0, 0, -1, -1

    @classmethod
    def makeCenteredBox(cls, center: Point2D, size: Extent2I) -> Box2I:
        """Return the box of ``size`` whose centre is closest to ``center``."""
        x0 = math.floor(center.x - (size.x - 1) / 2.0 + 0.5)
        y0 = math.floor(center.y - (size.y - 1) / 2.0 + 0.5)
        return cls(Point2I(x0, y0), size)

    # Accessors -----------------------------------------------------------
    def getMinX(self) -> int:
        return self._minX

    def getMinY(self) -> int:
        return self._minY

    def getMaxX(self) -> int:
        return self._maxX

    def getMaxY(self) -> int:
        return self._maxY

    def getBeginX(self) -> int:
        return self._minX

    def getBeginY(self) -> int:
        return self._minY

    def getEndX(self) -> int:
        return self._maxX + 1

    def getEndY(self) -> int:
        return self._maxY + 1

    def getMin(self) -> Point2I:
        return Point2I(self._minX, self._minY)

    def getMax(self) -> Point2I:
        return Point2I(self._maxX, self._maxY)

    def getBegin(self) -> Point2I:
        return self.getMin()

    def getEnd(self) -> Point2I:
        return Point2I(self._maxX + 1, self._maxY + 1)

    def getWidth(self) -> int:
        return max(self._maxX - self._minX + 1, 0)

    def getHeight(self) -> int:
        return max(self._maxY - self._minY + 1, 0)

    def getDimensions(self) -> Extent2I:
        return Extent2I(self.getWidth(), self.getHeight())

    def getArea(self) -> int:
        return self.getWidth() * self.getHeight()

    def getCenter(self) -> Point2D:
        return Point2D(0.5 * (self._minX + self._maxX), 0.5 * (self._minY + self._maxY))

    def getCenterX(self) -> float:
        return 0.5 * (self._minX + self._maxX)

    def getCenterY(self) -> float:
        return 0.5 * (self._minY + self._maxY)

    minX = property(getMinX)
    minY = property(getMinY)
    maxX = property(getMaxX)
    maxY = property(getMaxY)
    width = property(getWidth)
    height = property(getHeight)

    @property
    def x(self) -> range:
        """The x pixel indices inside the box (PARENT)."""
        return range(self._minX, self._maxX + 1)

    @property
    def y(self) -> range:
        """The y pixel indices inside the box (PARENT)."""
        return range(self._minY, self._maxY + 1)

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(y, x)`` slices of this box relative to the origin (0, 0)."""
        return (slice(self._minY, self._maxY + 1), slice(self._minX, self._maxX + 1))

    def getCorners(self) -> list[Point2I]:
        """The four corner pixels, counter-clockwise from the minimum."""
        return [
            Point2I(self._minX, self._minY),
            Point2I(self._maxX, self._minY),
            Point2I(self._maxX, self._maxY),
            Point2I(self._minX, self._maxY),
        ]

    # Predicates ----------------------------------------------------------
    def isEmpty(self) -> bool:
        return self._maxX < self._minX or self._maxY < self._minY

    def contains(self, other: Point2I | Box2I) -> bool:
        """Whether a point or a whole box lies inside this box."""
        if isinstance(other, Box2I):
            if other.isEmpty():
                return True
            return (
                other._minX >= self._minX
                and other._maxX <= self._maxX
                and other._minY >= self._minY
                and other._maxY <= self._maxY
            )
        x, y = other[0], other[1]
        return bool(self._minX <= x <= self._maxX and self._minY <= y <= self._maxY)

    def overlaps(self, other: Box2I) -> bool:
        return not (
            self.isEmpty()
            or other.isEmpty()
            or other._maxX < self._minX
            or other._minX > self._maxX
            or other._maxY < self._minY
            or other._minY > self._maxY
        )

    # In-place modifiers, as in afw -----------------------------------------
    def clip(self, other: Box2I) -> None:
        """Shrink this box in place to its intersection with ``other``."""
        if self.isEmpty():
            return
        if not self.overlaps(other):
            self._set_empty()
            return
        self._minX = max(self._minX, other._minX)
        self._minY = max(self._minY, other._minY)
        self._maxX = min(self._maxX, other._maxX)
        self._maxY = min(self._maxY, other._maxY)

    def clippedTo(self, other: Box2I) -> Box2I:
        """Return the intersection with ``other`` as a new box."""
        result = Box2I(self)
        result.clip(other)
        return result

    def include(self, other: Point2I | Box2I) -> None:
        """Grow this box in place so that it contains ``other``."""
        if isinstance(other, Box2I):
            if other.isEmpty():
                return
            if self.isEmpty():
                self._minX, self._minY, self._maxX, self._maxY = (
                    other._minX,
                    other._minY,
                    other._maxX,
                    other._maxY,
                )
                return
            self._minX = min(self._minX, other._minX)
            self._minY = min(self._minY, other._minY)
            self._maxX = max(self._maxX, other._maxX)
            self._maxY = max(self._maxY, other._maxY)
            return
        x, y = int(other[0]), int(other[1])
        if self.isEmpty():
            self._minX = self._maxX = x
            self._minY = self._maxY = y
            return
        self._minX, self._maxX = min(self._minX, x), max(self._maxX, x)
        self._minY, self._maxY = min(self._minY, y), max(self._maxY, y)

    def grow(self, amount: int | Extent2I) -> None:
        """Grow (or shrink, if negative) the box in place on every side."""
        if self.isEmpty():
            return
        dx, dy = (amount, amount) if isinstance(amount, int) else (amount.x, amount.y)
        self._minX -= dx
        self._minY -= dy
        self._maxX += dx
        self._maxY += dy
        if self._maxX < self._minX or self._maxY < self._minY:
            self._set_empty()

    def shift(self, offset: Extent2I) -> None:
        """Move the box in place by an integer offset."""
        if self.isEmpty():
            return
        self._minX += int(offset[0])
        self._maxX += int(offset[0])
        self._minY += int(offset[1])
        self._maxY += int(offset[1])

    def shiftedBy(self, offset: Extent2I) -> Box2I:
        result = Box2I(self)
        result.shift(offset)
        return result

    def dilatedBy(self, amount: int | Extent2I) -> Box2I:
        result = Box2I(self)
        result.grow(amount)
        return result

    def flipLR(self, xExtent: int) -> None:
        """Mirror the box left-right within ``[0, xExtent)``, in place."""
        self._minX, self._maxX = xExtent - 1 - self._maxX, xExtent - 1 - self._minX

    def flipTB(self, yExtent: int) -> None:
        """Mirror the box top-bottom within ``[0, yExtent)``, in place."""
        self._minY, self._maxY = yExtent - 1 - self._maxY, yExtent - 1 - self._minY

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Box2I):
            return NotImplemented
        if self.isEmpty() and other.isEmpty():
            return True
        return (self._minX, self._minY, self._maxX, self._maxY) == (
            other._minX,
            other._minY,
            other._maxX,
            other._maxY,
        )

    def __hash__(self) -> int:
        return hash(("Box2I", self._minX, self._minY, self._maxX, self._maxY))

    def __repr__(self) -> str:
        if self.isEmpty():
            return "Box2I()"
        return f"Box2I(minimum={self.getMin()!r}, dimensions={self.getDimensions()!r})"


_BOX2D_EPSILON = 2 * sys.float_info.epsilon  # lsst.geom Box2D::EPSILON


def _tweakMax(value: float) -> float:
    """lsst.geom's nudge of a Box2D maximum so that the half-open box contains it."""
    if value < 0.0:
        return value * (1.0 - _BOX2D_EPSILON)
    if value > 0.0:
        return value * (1.0 + _BOX2D_EPSILON)
    return _BOX2D_EPSILON


class Box2D:
    """A floating-point box (``lsst.geom.Box2D``).

    Parameters
    ----------
    minimum : `Point2D`, `Box2I`, `Box2D` or `None`
        The minimum corner, an integer box whose pixel edges the new box
        covers, or a box to copy.  With no arguments the box is empty.
    corner : `Point2D` or `Extent2D`, optional
        The maximum corner or the dimensions.
    """

    __slots__ = ("_maxX", "_maxY", "_minX", "_minY")
    _minX: float
    _minY: float
    _maxX: float
    _maxY: float

    def __init__(
        self, minimum: Point2D | Box2I | Box2D | None = None, corner: Point2D | Extent2D | None = None
    ) -> None:
        if minimum is None:
            self._minX = self._minY = math.nan
            self._maxX = self._maxY = math.nan
            return
        if isinstance(minimum, Box2I):
            if minimum.isEmpty():
                self._minX = self._minY = self._maxX = self._maxY = math.nan
                return
            self._minX = minimum.getMinX() - 0.5
            self._minY = minimum.getMinY() - 0.5
            self._maxX = minimum.getMaxX() + 0.5
            self._maxY = minimum.getMaxY() + 0.5
            return
        if isinstance(minimum, Box2D):
            self._minX, self._minY, self._maxX, self._maxY = (
                minimum._minX,
                minimum._minY,
                minimum._maxX,
                minimum._maxY,
            )
            return
        if corner is None:
            raise TypeError("Box2D needs a minimum point and either dimensions or a maximum point")
        x0, y0 = float(minimum[0]), float(minimum[1])
        if isinstance(corner, Extent2D | Extent2I):
            x1, y1 = x0 + corner.x, y0 + corner.y
        else:
            x1, y1 = float(corner[0]), float(corner[1])
        self._minX, self._maxX = min(x0, x1), max(x0, x1)
        self._minY, self._maxY = min(y0, y1), max(y0, y1)

    def isEmpty(self) -> bool:
        return not (self._maxX > self._minX and self._maxY > self._minY)

    def getMinX(self) -> float:
        return self._minX

    def getMinY(self) -> float:
        return self._minY

    def getMaxX(self) -> float:
        return self._maxX

    def getMaxY(self) -> float:
        return self._maxY

    def getMin(self) -> Point2D:
        return Point2D(self._minX, self._minY)

    def getMax(self) -> Point2D:
        return Point2D(self._maxX, self._maxY)

    def getWidth(self) -> float:
        return self._maxX - self._minX if not self.isEmpty() else 0.0

    def getHeight(self) -> float:
        return self._maxY - self._minY if not self.isEmpty() else 0.0

    def getDimensions(self) -> Extent2D:
        return Extent2D(self.getWidth(), self.getHeight())

    def getArea(self) -> float:
        return self.getWidth() * self.getHeight()

    def getCenter(self) -> Point2D:
        return Point2D(0.5 * (self._minX + self._maxX), 0.5 * (self._minY + self._maxY))

    def getCorners(self) -> list[Point2D]:
        return [
            Point2D(self._minX, self._minY),
            Point2D(self._maxX, self._minY),
            Point2D(self._maxX, self._maxY),
            Point2D(self._minX, self._maxY),
        ]

    minX = property(getMinX)
    minY = property(getMinY)
    maxX = property(getMaxX)
    maxY = property(getMaxY)

    def contains(self, point: Point2D | Box2D) -> bool:
        """Whether a point (half-open on the maximum side, as afw) or box lies inside."""
        if isinstance(point, Box2D):
            return (
                point._minX >= self._minX
                and point._maxX <= self._maxX
                and point._minY >= self._minY
                and point._maxY <= self._maxY
            )
        x, y = point[0], point[1]
        return bool(self._minX <= x < self._maxX and self._minY <= y < self._maxY)

    def include(self, other: Point2D | Box2D) -> None:
        """Grow this box in place so that it contains ``other``.

        As in lsst.geom, including a point that becomes the maximum nudges
        that maximum up by a relative ``2 * DBL_EPSILON`` (``DBL_EPSILON`` at 0),
        so that the half-open box really contains the point.  Including a box
        does not nudge.
        """
        if isinstance(other, Box2D):
            if other.isEmpty():
                return
            if math.isnan(self._minX):
                self._minX, self._minY, self._maxX, self._maxY = (
                    other._minX,
                    other._minY,
                    other._maxX,
                    other._maxY,
                )
                return
            self._minX, self._minY = min(self._minX, other._minX), min(self._minY, other._minY)
            self._maxX, self._maxY = max(self._maxX, other._maxX), max(self._maxY, other._maxY)
            return
        x, y = float(other[0]), float(other[1])
        if math.isnan(self._minX):
            self._minX, self._minY = x, y
            self._maxX, self._maxY = _tweakMax(x), _tweakMax(y)
            return
        if x < self._minX:
            self._minX = x
        elif x >= self._maxX:
            self._maxX = _tweakMax(x)
        if y < self._minY:
            self._minY = y
        elif y >= self._maxY:
            self._maxY = _tweakMax(y)

    def grow(self, amount: float) -> None:
        self._minX -= amount
        self._minY -= amount
        self._maxX += amount
        self._maxY += amount

    def shift(self, offset: Extent2D) -> None:
        self._minX += offset[0]
        self._maxX += offset[0]
        self._minY += offset[1]
        self._maxY += offset[1]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Box2D):
            return NotImplemented
        if self.isEmpty() and other.isEmpty():
            return True
        return (self._minX, self._minY, self._maxX, self._maxY) == (
            other._minX,
            other._minY,
            other._maxX,
            other._maxY,
        )

    def __hash__(self) -> int:
        return hash(("Box2D", self._minX, self._minY, self._maxX, self._maxY))

    def __repr__(self) -> str:
        return f"Box2D(minimum={self.getMin()!r}, maximum={self.getMax()!r})"
