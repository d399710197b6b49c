"""An affine 2-d transform shaped like ``lsst.afw.geom.TransformPoint2ToPoint2``."""

from __future__ import annotations

__all__ = ["TransformPoint2ToPoint2"]

from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

from ..geom import Point2D, Point2I

# Points as afw's Python API accepts them, plus the vectorised forms.
PointsLike = Any


class TransformPoint2ToPoint2:
    """An affine map ``out = matrix @ in + offset`` between two 2-d systems.

    afw's transforms are general AST mappings; every transform cameraGeom
    needs here (PIXELS <-> FOCAL_PLANE) is affine, so this class holds the
    matrix and offset directly and computes the inverse in closed form.

    Parameters
    ----------
    matrix : array-like, shape (2, 2)
        The linear part (the Jacobian).
    offset : array-like, shape (2,)
        The translation.

    Notes
    -----
    ``applyForward`` and ``applyInverse`` take the forms afw's do
    (lsst/afw ``include/lsst/afw/geom/Transform.h``):

    * a `Point2D` (or `Point2I`): returns a `Point2D`;
    * a list of points (afw's ``std::vector<Point2D>``): returns a `list`
      of `Point2D`.  Every element must be one point of exactly two
      coordinates;
    * a numpy array in afw's layout, shape ``(nAxes, nPoints)`` = ``(2, N)``
      ("values for the first axis, then values for the next axis"):
      returns a float64 array of the same ``(2, N)`` shape.  Any other
      array shape is refused, so an ``(N, 2)`` array is never read with
      the axes swapped.

    As an afwlite extension, a tuple ``(x, y)`` of numbers or numpy arrays
    of any (broadcastable) shape returns a tuple ``(x, y)`` of float64
    arrays; it indexes and unpacks exactly like afw's ``(2, N)`` result.
    """

    __slots__ = ("_inverse", "_matrix", "_offset")

    def __init__(self, matrix: Any, offset: Any) -> None:
        m = np.array(matrix, dtype=np.float64)
        t = np.array(offset, dtype=np.float64)
        if m.shape != (2, 2) or t.shape != (2,):
            raise ValueError(
                f"an affine transform needs a 2x2 matrix and a 2-vector, got {m.shape} and {t.shape}"
            )
        det = m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]
        if not np.isfinite(det) or det == 0.0 or not np.all(np.isfinite(t)):
            raise ValueError(
                f"the affine transform matrix {m.tolist()} / offset {t.tolist()} is not invertible"
            )
        m.flags.writeable = False
        t.flags.writeable = False
        self._matrix = m
        self._offset = t
        self._inverse: TransformPoint2ToPoint2 | None = None

    # Evaluation ------------------------------------------------------------
    def applyForward(self, points: PointsLike) -> Any:
        """Map points from the input system to the output system."""
        return _apply(self._matrix, self._offset, points)

    def applyInverse(self, points: PointsLike) -> Any:
        """Map points from the output system back to the input system."""
        inverse = self.inverted()
        return _apply(inverse._matrix, inverse._offset, points)

    # Algebra ---------------------------------------------------------------
    def inverted(self) -> TransformPoint2ToPoint2:
        """The inverse transform (computed once, in closed form)."""
        if self._inverse is None:
            (a, b), (c, d) = self._matrix
            det = a * d - b * c
            inverse_matrix = np.array([[d, -b], [-c, a]]) / det
            inverse = TransformPoint2ToPoint2(inverse_matrix, -(inverse_matrix @ self._offset))
            inverse._inverse = self
            self._inverse = inverse
        return self._inverse

    def getInverse(self) -> TransformPoint2ToPoint2:
        """The inverse transform (the older afw name of `inverted`)."""
        return self.inverted()

    def then(self, next: TransformPoint2ToPoint2) -> TransformPoint2ToPoint2:
        """The transform that applies ``self`` and then ``next``."""
        return TransformPoint2ToPoint2(
            next._matrix @ self._matrix, next._matrix @ self._offset + next._offset
        )

    def getJacobian(self, point: PointsLike = None) -> np.ndarray:
        """The 2x2 Jacobian (the same everywhere, as the map is affine)."""
        return self._matrix.copy()

    def getTranslation(self) -> np.ndarray:
        """Where the input origin lands in the output system."""
        return self._offset.copy()

    def __repr__(self) -> str:
        return f"TransformPoint2ToPoint2(matrix={self._matrix.tolist()}, offset={self._offset.tolist()})"


def _affine(matrix: np.ndarray, offset: np.ndarray, x: Any, y: Any) -> tuple[Any, Any]:
    """One formula for every input form, so scalars and arrays agree bit for bit."""
    (a, b), (c, d) = matrix
    return a * x + b * y + offset[0], c * x + d * y + offset[1]


def _is_number_or_array(value: Any) -> bool:
    return isinstance(value, np.ndarray | Real)


def _is_point_like(value: Any) -> bool:
    """Whether ``value`` is one 2-d point: a geom point or two scalars."""
    if isinstance(value, Point2D | Point2I):
        return True
    if isinstance(value, np.ndarray):
        return value.shape == (2,)
    return isinstance(value, tuple | list) and len(value) == 2 and all(isinstance(v, Real) for v in value)


def _apply(matrix: np.ndarray, offset: np.ndarray, points: PointsLike) -> Any:
    if isinstance(points, Point2D | Point2I):
        x, y = _affine(matrix, offset, float(points[0]), float(points[1]))
        return Point2D(float(x), float(y))
    if isinstance(points, np.ndarray):
        array = np.asarray(points, dtype=np.float64)
        if array.ndim != 2 or array.shape[0] != 2:
            raise ValueError(
                f"an array of points must have afw's shape (nAxes, nPoints) = (2, N), got {array.shape}; "
                "an (N, 2) array of rows must be transposed first (array.T)"
            )
        out = np.empty_like(array)
        out[0], out[1] = _affine(matrix, offset, array[0], array[1])
        return out
    if isinstance(points, tuple) and len(points) == 2 and all(_is_number_or_array(v) for v in points):
        x, y = np.broadcast_arrays(
            np.asarray(points[0], dtype=np.float64), np.asarray(points[1], dtype=np.float64)
        )
        return _affine(matrix, offset, x, y)
    if isinstance(points, Sequence) and not isinstance(points, str):
        if len(points) == 0:
            return []
        if not all(_is_point_like(p) for p in points):
            raise TypeError(
                "a list of points must hold Point2D (or (x, y) pairs of numbers), one per point, "
                "as afw's std::vector<Point2D>; pass a (2, N) numpy array for x and y arrays"
            )
        array = np.array([(float(p[0]), float(p[1])) for p in points], dtype=np.float64)
        xs, ys = _affine(matrix, offset, array[:, 0], array[:, 1])
        return [Point2D(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
    raise TypeError(
        f"cannot transform {type(points).__name__}: expected a Point2D, a list of Point2D, "
        "a (2, N) numpy array (afw's layout) or a tuple (x, y) of arrays"
    )
