"""Box and point semantics of afwlite.geom, against lsst.geom's documented behaviour."""

from __future__ import annotations

import pytest

from lsst.sky.correction.afwlite.geom import Box2D, Box2I, Extent2D, Extent2I, Point2D, Point2I


def test_box2i_inclusive_bounds() -> None:
    box = Box2I(Point2I(2, 3), Extent2I(4, 6))
    assert (box.getMinX(), box.getMinY(), box.getMaxX(), box.getMaxY()) == (2, 3, 5, 8)
    assert (box.getEndX(), box.getEndY()) == (6, 9)
    assert (box.getWidth(), box.getHeight(), box.getArea()) == (4, 6, 24)
    assert box.getDimensions() == Extent2I(4, 6)
    assert box == Box2I(Point2I(2, 3), Point2I(5, 8))
    # Two corners in either order give the same box, as afw's Box2I(p1, p2).
    assert box == Box2I(Point2I(5, 8), Point2I(2, 3))
    assert box.slices == (slice(3, 9), slice(2, 6))


def test_box2i_contains_and_clip() -> None:
    box = Box2I(Point2I(0, 0), Extent2I(10, 5))
    assert box.contains(Point2I(9, 4))
    assert not box.contains(Point2I(10, 4))
    assert box.contains(Box2I(Point2I(1, 1), Extent2I(9, 4)))
    assert not box.contains(Box2I(Point2I(1, 1), Extent2I(10, 4)))
    other = Box2I(Point2I(7, 2), Extent2I(10, 10))
    box.clip(other)  # in place, as afw
    assert box == Box2I(Point2I(7, 2), Point2I(9, 4))
    box.clip(Box2I(Point2I(100, 100), Extent2I(1, 1)))
    assert box.isEmpty()
    assert box.getArea() == 0


def test_box2i_empty_and_nonpositive_dimensions() -> None:
    assert Box2I().isEmpty()
    assert Box2I(Point2I(3, 3), Extent2I(0, 5)).isEmpty()
    # lsst.geom Box2I(corner, dimensions, invert=True): a negative dimension extends the
    # box the other way from the corner (lsst/geom src/Box.cc); invert=False gives an empty box.
    assert Box2I(Point2I(3, 3), Extent2I(-1, 5)) == Box2I(Point2I(3, 3), Extent2I(1, 5))
    assert Box2I(Point2I(3, 3), Extent2I(-1, 5), invert=False).isEmpty()


def test_box2i_grow_shift_include() -> None:
    box = Box2I(Point2I(0, 0), Extent2I(2, 2))
    box.grow(3)
    assert box == Box2I(Point2I(-3, -3), Point2I(4, 4))
    box.shift(Extent2I(10, -1))
    assert box.getMin() == Point2I(7, -4)
    box.include(Point2I(20, 20))
    assert box.getMax() == Point2I(20, 20)
    box.grow(-100)
    assert box.isEmpty()


def test_box2d_from_box2i_covers_pixel_edges() -> None:
    box = Box2D(Box2I(Point2I(0, 0), Extent2I(4096, 4004)))
    assert (box.getMinX(), box.getMinY(), box.getMaxX(), box.getMaxY()) == (-0.5, -0.5, 4095.5, 4003.5)
    assert box.getCenter() == Point2D(2047.5, 2001.5)
    assert box.contains(Point2D(-0.5, -0.5))
    assert not box.contains(Point2D(4095.5, 0.0))  # half-open on the maximum side


def test_point_extent_arithmetic() -> None:
    assert Point2I(3, 4) + Extent2I(1, 2) == Point2I(4, 6)
    assert Point2I(3, 4) - Point2I(1, 1) == Extent2I(2, 3)
    assert Point2D(1.5, 2.0) - Point2D(0.5, 0.5) == Extent2D(1.0, 1.5)
    p = Point2I(7, 8)
    assert (p.getX(), p.getY(), p.x, p.y, p[0], p[1]) == (7, 8, 7, 8, 7, 8)
    assert list(Extent2I(2, 3)) == [2, 3]


def test_box_needs_corner() -> None:
    with pytest.raises(TypeError, match="dimensions or a maximum"):
        Box2I(Point2I(0, 0))


def test_point2i_from_point2d_rounds_half_up_like_lsst_geom() -> None:
    # lsst/geom Point.cc converts with floor(v + 0.5), not truncation.
    assert Point2I(Point2D(2.5, -2.5)) == Point2I(3, -2)
    assert Point2I(Point2D(2.49, -0.51)) == Point2I(2, -1)
    assert Point2I(Point2D(-0.2, 7.7)) == Point2I(0, 8)


def test_box2d_include_nudges_the_maximum_like_lsst_geom() -> None:
    # lsst.geom Box2D::include multiplies a new maximum by (1 + 2 DBL_EPSILON) so the
    # half-open box contains the point; including a box does not nudge.
    import sys

    eps = 2 * sys.float_info.epsilon
    box = Box2D()
    box.include(Point2D(-3.0, 10.0))
    assert (box.getMinX(), box.getMinY()) == (-3.0, 10.0)
    assert box.getMaxX() == -3.0 * (1 - eps) and box.getMaxY() == 10.0 * (1 + eps)
    box.include(Point2D(0.0, 12.0))
    assert box.getMaxX() == eps and box.getMaxY() == 12.0 * (1 + eps)
    assert box.contains(Point2D(0.0, 12.0))
    other = Box2D()
    other.include(Box2D(Point2D(1.0, 1.0), Point2D(2.0, 2.0)))
    assert other.getMax() == Point2D(2.0, 2.0)
