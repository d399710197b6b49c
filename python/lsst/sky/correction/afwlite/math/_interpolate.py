"""1-d interpolation with afw's styles (``lsst.afw.math.Interpolate``).

afw wraps GNU GSL; `makeInterpolate` builds the same curves in numpy (see
`._piecewise`), including afw's own quadratic extrapolation past the end
nodes and its recentred ``CONSTANT`` staircase.
"""

from __future__ import annotations

__all__ = [
    "Interpolate",
    "lookupMaxInterpStyle",
    "lookupMinInterpPoints",
    "makeInterpolate",
    "stringToInterpStyle",
]

import enum
from collections.abc import Sequence
from typing import overload

import numpy as np

from ._errors import InvalidParameterError, OutOfRangeError
from ._piecewise import PiecewisePolynomials, fitPiecewise


class Interpolate:
    """An interpolant through ``(x, y)``; make one with `makeInterpolate`.

    The styles are the nested enum ``Interpolate.Style``, also reachable as
    class attributes (``Interpolate.AKIMA_SPLINE``), as in afw.
    """

    class Style(enum.IntEnum):
        """afw's interpolation styles, with afw's integer codes (stored in FITS)."""

        UNKNOWN = -1
        CONSTANT = 0
        LINEAR = 1
        NATURAL_SPLINE = 2
        CUBIC_SPLINE = 3
        CUBIC_SPLINE_PERIODIC = 4
        AKIMA_SPLINE = 5
        AKIMA_SPLINE_PERIODIC = 6
        NUM_STYLES = 7

    UNKNOWN = Style.UNKNOWN
    CONSTANT = Style.CONSTANT
    LINEAR = Style.LINEAR
    NATURAL_SPLINE = Style.NATURAL_SPLINE
    CUBIC_SPLINE = Style.CUBIC_SPLINE
    CUBIC_SPLINE_PERIODIC = Style.CUBIC_SPLINE_PERIODIC
    AKIMA_SPLINE = Style.AKIMA_SPLINE
    AKIMA_SPLINE_PERIODIC = Style.AKIMA_SPLINE_PERIODIC
    NUM_STYLES = Style.NUM_STYLES

    def __init__(self, x: np.ndarray, y: np.ndarray, style: Interpolate.Style, curve: PiecewisePolynomials):
        self._x = x
        self._y = y
        self._style = style
        self._curve = curve

    def getStyle(self) -> Interpolate.Style:
        """The style this interpolant was made with."""
        return self._style

    @overload
    def interpolate(self, x: float) -> float: ...

    @overload
    def interpolate(self, x: Sequence[float] | np.ndarray) -> np.ndarray: ...

    def interpolate(self, x: float | Sequence[float] | np.ndarray) -> float | np.ndarray:
        """The interpolated value at ``x`` (a number, or an array of positions)."""
        positions = np.asarray(x, dtype=np.float64)
        values = self._curve.evaluate(positions.reshape(-1))[0]
        if positions.ndim == 0:
            return float(values[0])
        return values.reshape(positions.shape)

    def __repr__(self) -> str:
        return f"Interpolate({self._style.name}, {self._x.size} points)"


# GSL's interpolation type behind each style; CUBIC_SPLINE is GSL's natural cspline too.
_GSL_KIND: dict[Interpolate.Style, str] = {
    Interpolate.CONSTANT: "constant",
    Interpolate.LINEAR: "linear",
    Interpolate.NATURAL_SPLINE: "cspline",
    Interpolate.CUBIC_SPLINE: "cspline",
    Interpolate.CUBIC_SPLINE_PERIODIC: "cspline_periodic",
    Interpolate.AKIMA_SPLINE: "akima",
    Interpolate.AKIMA_SPLINE_PERIODIC: "akima_periodic",
}

# afw's Interpolate.cc table; note CUBIC_SPLINE_PERIODIC asks for 3 although GSL accepts 2.
_MIN_INTERP_POINTS: dict[Interpolate.Style, int] = {
    Interpolate.CONSTANT: 1,
    Interpolate.LINEAR: 2,
    Interpolate.NATURAL_SPLINE: 3,
    Interpolate.CUBIC_SPLINE: 3,
    Interpolate.CUBIC_SPLINE_PERIODIC: 3,
    Interpolate.AKIMA_SPLINE: 5,
    Interpolate.AKIMA_SPLINE_PERIODIC: 5,
}


def gslKind(style: Interpolate.Style | int) -> str:
    """The `._piecewise` kind implementing ``style``; raise for UNKNOWN and NUM_STYLES."""
    try:
        return _GSL_KIND[Interpolate.Style(style)]
    except (KeyError, ValueError):
        raise InvalidParameterError(f"I am unable to make an interpolator of type {style!r}") from None


def stringToInterpStyle(style: str) -> Interpolate.Style:
    """The style named ``style`` (e.g. ``"AKIMA_SPLINE"``).

    Raises
    ------
    InvalidParameterError
        If the name is not one of afw's seven interpolation styles.
    """
    try:
        value = Interpolate.Style[style]
    except KeyError:
        value = None
    if value is None or value not in _GSL_KIND:
        raise InvalidParameterError(f"Interp style not found: {style!r}")
    return value


def lookupMaxInterpStyle(n: int) -> Interpolate.Style:
    """The highest-order style usable with ``n`` points.

    1 → CONSTANT, 2 → LINEAR, 3 and 4 → CUBIC_SPLINE, 5 or more → AKIMA_SPLINE.

    Raises
    ------
    InvalidParameterError
        If ``n < 1``.
    """
    if n < 1:
        raise InvalidParameterError(f"n must be greater than 0, got {n}")
    if n == 1:
        return Interpolate.CONSTANT
    if n == 2:
        return Interpolate.LINEAR
    if n <= 4:
        return Interpolate.CUBIC_SPLINE
    return Interpolate.AKIMA_SPLINE


def lookupMinInterpPoints(style: Interpolate.Style | int) -> int:
    """The fewest points afw asks for before using ``style``.

    Raises
    ------
    OutOfRangeError
        For UNKNOWN, NUM_STYLES or any other code outside 0..6.
    """
    try:
        return _MIN_INTERP_POINTS[Interpolate.Style(style)]
    except (KeyError, ValueError):
        raise OutOfRangeError(f"Style {int(style)} is out of range 0..6") from None


def makeInterpolate(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    style: Interpolate.Style | int = Interpolate.AKIMA_SPLINE,
) -> Interpolate:
    """Make an interpolant through the points ``(x, y)``.

    Parameters
    ----------
    x : array-like
        Strictly increasing positions.
    y : array-like
        The values at ``x``; NaN values propagate (to every position for the
        splines, as in GSL).
    style : `Interpolate.Style`
        The interpolation style (default AKIMA_SPLINE, as in afw).

    Raises
    ------
    OutOfRangeError
        If there are fewer points than GSL accepts for the style (afw falls
        back to a lower order on this error).
    RuntimeError
        If ``x`` is not strictly increasing, or for CUBIC_SPLINE_PERIODIC with
        exactly 2 points (GSL fails to initialise both).
    InvalidParameterError
        For UNKNOWN or a mismatch in the lengths of ``x`` and ``y``.
    """
    nodes = np.asarray(x, dtype=np.float64)
    values = np.asarray(y, dtype=np.float64)
    if nodes.ndim != 1 or nodes.shape != values.shape:
        raise InvalidParameterError(
            f"x and y must be 1-d and of equal length; got shapes {nodes.shape} and {values.shape}"
        )
    kind = gslKind(style)
    if not np.all(nodes[1:] > nodes[:-1]):
        raise RuntimeError("gsl_interp_init failed: x values must be strictly increasing")
    curve = fitPiecewise(kind, nodes, values[np.newaxis, :])
    return Interpolate(nodes, values, Interpolate.Style(style), curve)
