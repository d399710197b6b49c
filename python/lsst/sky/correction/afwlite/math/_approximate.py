"""Chebyshev approximation of a background grid (``lsst.afw.math.Approximate``).

afw (``Approximate.cc``) fits a ``Chebyshev1Function2`` of total order ``N``
to the cells of a statistics image by weighted linear least squares and
evaluates it on every pixel.  The terms are ordered by total degree and,
within a degree, by decreasing power of x::

    T0(x')T0(y'), T1(x')T0(y'), T0(x')T1(y'), T2(x')T0(y'), T1(x')T1(y'), ...

where ``x'`` maps the box edges ``[minX - 0.5, maxX + 0.5]`` onto ``[-1, 1]``.
"""

from __future__ import annotations

__all__ = ["ApproximateControl", "ApproximateF", "makeApproximate"]

import enum
from collections.abc import Sequence

import numpy as np

from ..geom import Box2D, Box2I
from ..image import ImageF, MaskedImageF
from ._errors import InvalidParameterError

# Rows of output evaluated per matrix product (about 8 MB of float64 at a time).
_BLOCK_ELEMENTS = 1 << 20

# Eigen's MatrixXd::isZero() tolerance (dummy_precision for double), which afw
# uses to decide that no cell took part in the fit.
_EIGEN_ZERO = 1e-12


class ApproximateControl:
    """How to approximate a background (``lsst.afw.math.ApproximateControl``).

    Parameters
    ----------
    style : `ApproximateControl.Style`
        ``CHEBYSHEV``, or ``UNKNOWN`` for "interpolate instead".
    orderX : `int`
        The total order of the polynomial.
    orderY : `int`, optional
        Must equal ``orderX``; a negative value means "the same as orderX".
    weighting : `bool`
        Weight each cell by the inverse of its stats-image variance plane.

    Raises
    ------
    InvalidParameterError
        If the two orders differ (afw's ``Chebyshev1Function2`` has one order).
    """

    class Style(enum.IntEnum):
        """afw's approximation styles, with afw's integer codes (stored in FITS)."""

        UNKNOWN = -1
        CHEBYSHEV = 0
        NUM_STYLES = 1

    UNKNOWN = Style.UNKNOWN
    CHEBYSHEV = Style.CHEBYSHEV
    NUM_STYLES = Style.NUM_STYLES

    def __init__(self, style: Style | int, orderX: int, orderY: int = -1, weighting: bool = True) -> None:
        self._style = ApproximateControl.Style(style)
        self._orderX = int(orderX)
        self._orderY = self._orderX if orderY < 0 else int(orderY)
        self._weighting = bool(weighting)
        if self._orderX != self._orderY:
            raise InvalidParameterError(
                f"X- and Y-orders must be equal ({self._orderX} != {self._orderY}) "
                "due to a limitation in math::Chebyshev1Function2"
            )

    def getStyle(self) -> ApproximateControl.Style:
        return self._style

    def setStyle(self, style: Style | int) -> None:
        self._style = ApproximateControl.Style(style)

    def getOrderX(self) -> int:
        return self._orderX

    def setOrderX(self, orderX: int) -> None:
        self._orderX = int(orderX)

    def getOrderY(self) -> int:
        return self._orderY

    def setOrderY(self, orderY: int) -> None:
        self._orderY = int(orderY)

    def getWeighting(self) -> bool:
        return self._weighting

    def setWeighting(self, weighting: bool) -> None:
        self._weighting = bool(weighting)

    def __repr__(self) -> str:
        return (
            f"ApproximateControl({self._style.name}, orderX={self._orderX}, "
            f"orderY={self._orderY}, weighting={self._weighting})"
        )


def _chebyshevTerms(order: int) -> tuple[np.ndarray, np.ndarray]:
    """The x and y powers of each ``Chebyshev1Function2`` term, in afw's order."""
    xPowers = [px for degree in range(order + 1) for px in range(degree, -1, -1)]
    yPowers = [degree - px for degree in range(order + 1) for px in range(degree, -1, -1)]
    return np.array(xPowers, dtype=np.intp), np.array(yPowers, dtype=np.intp)


def _chebyshevValues(positions: np.ndarray, lo: float, hi: float, order: int) -> np.ndarray:
    """``T_k(x')`` for ``k = 0..order`` at every position, shape ``(npos, order + 1)``.

    ``x' = (x - (lo + hi) / 2) * 2 / (hi - lo)`` maps ``[lo, hi]`` onto ``[-1, 1]``.
    """
    scaled = (np.asarray(positions, dtype=np.float64) - 0.5 * (lo + hi)) * (2.0 / (hi - lo))
    values = np.empty((scaled.size, order + 1))
    values[:, 0] = 1.0
    if order >= 1:
        values[:, 1] = scaled
    for k in range(2, order + 1):
        values[:, k] = 2.0 * scaled * values[:, k - 1] - values[:, k - 2]
    return values


class ApproximateF:
    """A Chebyshev fit to a grid of values (``lsst.afw.math.ApproximateF``).

    Make one with `makeApproximate`.
    """

    def __init__(
        self,
        x: Sequence[float] | np.ndarray,
        y: Sequence[float] | np.ndarray,
        im: MaskedImageF,
        bbox: Box2I,
        ctrl: ApproximateControl,
    ) -> None:
        xs = np.asarray(x, dtype=np.float64)
        ys = np.asarray(y, dtype=np.float64)
        if xs.shape != (im.getWidth(),) or ys.shape != (im.getHeight(),):
            raise InvalidParameterError(
                f"makeApproximate: {xs.size} x and {ys.size} y positions do not match the "
                f"{im.getWidth()}x{im.getHeight()} grid of values"
            )
        if ctrl.getOrderX() < 0:
            raise InvalidParameterError(f"makeApproximate: the order must be >= 0, got {ctrl.getOrderX()}")
        self._bbox = Box2I(bbox)
        self._ctrl = ctrl
        self._domain = Box2D(bbox)
        self._order = ctrl.getOrderX()
        self._coefficients = self._fit(xs, ys, im)

    def _fit(self, xs: np.ndarray, ys: np.ndarray, im: MaskedImageF) -> np.ndarray:
        """Solve afw's normal equations ``A c = b``; return the term coefficients."""
        xPowers, yPowers = _chebyshevTerms(self._order)
        tx = _chebyshevValues(xs, self._domain.getMinX(), self._domain.getMaxX(), self._order)
        ty = _chebyshevValues(ys, self._domain.getMinY(), self._domain.getMaxY(), self._order)
        # One row per cell, in the stats image's (row, column) order.
        design = (ty[:, np.newaxis, yPowers] * tx[np.newaxis, :, xPowers]).reshape(-1, xPowers.size)
        values = im.image.array.astype(np.float64).reshape(-1)
        if self._ctrl.getWeighting():
            # afw's ``1/ptr.variance()`` divides in float (the variance pixel type).
            with np.errstate(divide="ignore"):
                weights = (np.float32(1.0) / im.variance.array).astype(np.float64).reshape(-1)
        else:
            weights = np.ones_like(values)
        with np.errstate(invalid="ignore"):
            used = np.isfinite(values + weights)
        design, values, weights = design[used], values[used], weights[used]
        normal = (design * weights[:, np.newaxis]).T @ design
        if np.all(np.abs(normal) <= _EIGEN_ZERO):
            if self._ctrl.getWeighting():
                raise RuntimeError("No valid points to fit. Variance is likely zero. Try weighting=False")
            raise RuntimeError(
                "No valid points to fit (even though weighting is False). "
                "Check that binSize & approxOrderX settings are appropriate for image size."
            )
        try:
            return np.linalg.solve(normal, design.T @ (weights * values))
        except np.linalg.LinAlgError:
            raise RuntimeError(
                f"the Chebyshev fit of order {self._order} is singular: {values.size} usable cells "
                f"for {xPowers.size} terms"
            ) from None

    def _evaluate(self, order: int) -> np.ndarray:
        """The polynomial truncated to ``order`` at every LOCAL pixel, as float32."""
        nTerms = (order + 1) * (order + 2) // 2
        xPowers, yPowers = _chebyshevTerms(order)
        grid = np.zeros((order + 1, order + 1))
        grid[yPowers, xPowers] = self._coefficients[:nTerms]
        width, height = self._bbox.getWidth(), self._bbox.getHeight()
        # afw evaluates at x = 0..W-1, y = 0..H-1 whatever the box origin.
        tx = _chebyshevValues(np.arange(width), self._domain.getMinX(), self._domain.getMaxX(), order)
        ty = _chebyshevValues(np.arange(height), self._domain.getMinY(), self._domain.getMaxY(), order)
        rowFactors = ty @ grid
        result = np.empty((height, width), dtype=np.float32)
        rows = max(1, _BLOCK_ELEMENTS // max(width, 1))
        for start in range(0, height, rows):
            result[start : start + rows] = rowFactors[start : start + rows] @ tx.T
        return result

    def _checkedOrder(self, orderX: int, orderY: int) -> int:
        orderX = self._ctrl.getOrderX() if orderX < 0 else orderX
        orderY = self._ctrl.getOrderY() if orderY < 0 else orderY
        if orderX != orderY:
            raise InvalidParameterError(f"X- and Y-orders must be equal ({orderX} != {orderY})")
        if orderX > self._order:
            raise InvalidParameterError(
                f"cannot truncate a Chebyshev fit of order {self._order} to order {orderX}"
            )
        return orderX

    def getImage(self, orderX: int = -1, orderY: int = -1) -> ImageF:
        """The approximation on every pixel of the box (xy0 = the box minimum).

        Parameters
        ----------
        orderX, orderY : `int`, optional
            Truncate the fitted polynomial to this (equal) order; negative
            means the fitted order.
        """
        order = self._checkedOrder(orderX, orderY)
        return ImageF(self._evaluate(order), xy0=self._bbox.getMin())

    def getMaskedImage(self, orderX: int = -1, orderY: int = -1) -> MaskedImageF:
        """`getImage` as the image plane of a `MaskedImageF` (zero mask and variance).

        As in afw, the full fitted order is used whatever the arguments.
        """
        self._checkedOrder(orderX, orderY)
        return MaskedImageF(ImageF(self._evaluate(self._order), xy0=self._bbox.getMin()))


def makeApproximate(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    im: MaskedImageF,
    bbox: Box2I,
    ctrl: ApproximateControl,
) -> ApproximateF:
    """Fit a Chebyshev polynomial to the grid ``im`` sampled at ``x`` by ``y``.

    Parameters
    ----------
    x, y : array-like
        The positions of the grid columns and rows (``im`` is ``len(y)`` by
        ``len(x)``), in the pixel coordinates of ``bbox``.
    im : `MaskedImageF`
        The values (image plane) and, when weighting, their errors (the
        variance plane; each cell is weighted by its inverse).  Cells whose
        value or weight is not finite are left out.
    bbox : `Box2I`
        The region the polynomial is defined on and evaluated over.
    ctrl : `ApproximateControl`
        Style (must be CHEBYSHEV), order and weighting.

    Raises
    ------
    InvalidParameterError
        If the style is not CHEBYSHEV or the shapes disagree.
    RuntimeError
        If no cell can be used, or the fit is singular.
    """
    if ctrl.getStyle() != ApproximateControl.CHEBYSHEV:
        raise InvalidParameterError(f"Unknown ApproximationStyle: {int(ctrl.getStyle())}")
    return ApproximateF(x, y, im, bbox, ctrl)
