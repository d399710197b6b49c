"""GSL-equivalent 1-d interpolants for many curves that share their nodes.

afw interpolates with GNU GSL (``gsl_interp_*``) plus two afw-specific rules:
outside the outermost nodes it takes a quadratic Taylor step from the end node
using GSL's first and second derivative there, and its ``CONSTANT`` style is
a recentred staircase.  This module builds the same interpolants for a whole
batch of curves at once (all columns of a background grid, or all rows of an
image) as piecewise polynomials, and evaluates them with one compiled pass
(`._kernels.evaluatePieces`).

A batch with ``n`` nodes has ``n + 1`` pieces: piece 0 extrapolates to the
left of ``x[0]``, piece ``k`` (``1 <= k <= n - 1``) is GSL's segment
``[x[k-1], x[k])`` and piece ``n`` extrapolates beyond ``x[n-1]``.  Each piece
is a polynomial in ``t = x - origin``, evaluated in Horner form exactly as
GSL evaluates its segments.

The kinds are GSL's names: ``linear``, ``cspline`` (natural), ``cspline_periodic``,
``akima``, ``akima_periodic``, plus ``constant`` for afw's staircase.
"""

from __future__ import annotations

# Internal: nothing here is part of afwlite.math's API.
__all__: list[str] = []

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.linalg import lapack

from ._errors import InvalidParameterError, OutOfRangeError
from ._kernels import evaluatePieces

#: The fewest nodes each kind accepts (GSL's ``min_size``; 1 for the staircase).
#: Fewer make ``gsl_interp_alloc`` fail, which afw reports as `OutOfRangeError`.
MIN_SIZE: dict[str, int] = {
    "constant": 1,
    "linear": 2,
    "cspline": 3,
    "cspline_periodic": 2,
    "akima": 5,
    "akima_periodic": 5,
}


@dataclass(frozen=True)
class PiecewisePolynomials:
    """Curves ``y_k(x) = sum_j coeffs[j][k, p] * (x - origins[p])**j`` on pieces ``p``.

    Attributes
    ----------
    nodes : `numpy.ndarray`
        Where the pieces start: the interpolation nodes (GSL kinds) or the
        recentred step positions (``staircase``).
    origins : `numpy.ndarray`
        The ``t = 0`` position of every piece.
    coeffs : `tuple` [`numpy.ndarray`, ...]
        Polynomial coefficients by increasing power, each ``(ncurves, npieces)``.
    staircase : `bool`
        Pieces are located as afw's ``InterpolateConstant`` does (the last
        step at or before ``x``, else the first) rather than as GSL does.
    """

    nodes: np.ndarray
    origins: np.ndarray
    coeffs: tuple[np.ndarray, ...]
    staircase: bool = False

    @property
    def ncurves(self) -> int:
        return int(self.coeffs[0].shape[0])

    def locate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The piece index and the offset ``t`` of every position in ``x``."""
        n = self.nodes.size
        piece = np.searchsorted(self.nodes, x, side="right")
        if self.staircase:
            piece = np.clip(piece - 1, 0, n - 1)
        else:
            # GSL evaluates the last node on the last segment, not by extrapolation.
            piece[(piece == n) & (x == self.nodes[-1])] = n - 1
        return piece, x - self.origins[piece]

    def evaluate(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Evaluate every curve at the positions ``x``.

        Parameters
        ----------
        x : `numpy.ndarray`
            1-d float64 positions, shared by all curves.
        out : `numpy.ndarray`, optional
            A ``(ncurves, x.size)`` array of any float type to fill (the
            float64 values are rounded to its type, as a C++ cast does).

        Returns
        -------
        values : `numpy.ndarray`
            ``out``, or a new float64 ``(ncurves, x.size)`` array.
        """
        x = np.asarray(x, dtype=np.float64)
        if out is None:
            out = np.empty((self.ncurves, x.size), dtype=np.float64)
        if x.size == 0 or self.ncurves == 0:
            return out
        piece, t = self.locate(x)
        evaluatePieces(self._stacked, piece, t, out)
        return out

    @cached_property
    def _stacked(self) -> np.ndarray:
        """The coefficients as one ``(nterms, ncurves, npieces)`` float64 array (the kernel's layout)."""
        return np.ascontiguousarray(np.stack(self.coeffs), dtype=np.float64)


def fitPiecewise(kind: str, nodes: np.ndarray, values: np.ndarray) -> PiecewisePolynomials:
    """Build the interpolants of ``kind`` through ``values`` at ``nodes``.

    Parameters
    ----------
    kind : `str`
        A key of `MIN_SIZE`.
    nodes : `numpy.ndarray`
        ``n`` strictly increasing float64 positions (not checked here).
    values : `numpy.ndarray`
        ``(ncurves, n)`` float64 values; NaN propagates as it does in GSL.

    Raises
    ------
    OutOfRangeError
        If ``n`` is below the kind's minimum (GSL's ``gsl_interp_alloc`` fails).
    RuntimeError
        For a periodic cubic spline through exactly 2 points, which GSL's
        ``gsl_interp_init`` rejects (its cyclic system needs 3 or more).
    InvalidParameterError
        If ``kind`` is unknown.
    """
    if kind not in MIN_SIZE:
        raise InvalidParameterError(
            f"unknown interpolation kind {kind!r}; expected one of {sorted(MIN_SIZE)}"
        )
    n = nodes.size
    if n < MIN_SIZE[kind]:
        raise OutOfRangeError(f"{kind} interpolation needs at least {MIN_SIZE[kind]} points, got {n}")
    if kind == "constant":
        return _staircase(nodes, values)
    h = np.diff(nodes)
    slopes = np.diff(values, axis=1) / h
    if kind == "linear":
        return _with_extrapolation(nodes, values, (slopes,))
    if kind == "cspline":
        c = _natural_second_derivatives(h, values)
    elif kind == "cspline_periodic":
        c = _periodic_second_derivatives(h, values)
    else:
        return _with_extrapolation(nodes, values, _akima(h, slopes, periodic=kind == "akima_periodic"))
    return _with_extrapolation(nodes, values, _cubic_from_curvature(h, values, c))


# Pieces ---------------------------------------------------------------------------------------------


def _staircase(nodes: np.ndarray, values: np.ndarray) -> PiecewisePolynomials:
    """The staircase of afw's ``InterpolateConstant``: mean values between midpoints.

    With ``n >= 2`` nodes the steps start at ``(3 x0 - x1) / 2``, at every
    midpoint and at ``(3 x[n-1] - x[n-2]) / 2``; they carry ``y0``, the means
    of neighbouring values and ``y[n-1]``.  One node is a constant.
    """
    if nodes.size == 1:
        return PiecewisePolynomials(nodes.copy(), nodes.copy(), (values.copy(),), staircase=True)
    steps = np.concatenate(
        (
            [0.5 * (3 * nodes[0] - nodes[1])],
            0.5 * (nodes[:-1] + nodes[1:]),
            [0.5 * (3 * nodes[-1] - nodes[-2])],
        )
    )
    levels = np.concatenate((values[:, :1], 0.5 * (values[:, :-1] + values[:, 1:]), values[:, -1:]), axis=1)
    return PiecewisePolynomials(steps, steps, (levels,), staircase=True)


def _with_extrapolation(
    nodes: np.ndarray, values: np.ndarray, segment: tuple[np.ndarray, ...]
) -> PiecewisePolynomials:
    """Add afw's extrapolation pieces to GSL's segments.

    ``segment`` holds the coefficients of ``t``, ``t**2``, ... on the ``n - 1``
    segments (the constant term is the left node's value).  Beyond an end node
    afw returns ``y0 + t * d + 0.5 * t**2 * d2`` with GSL's first and second
    derivative at that node; GSL evaluates the right end node on the last
    segment, at ``t = h``.
    """
    zero = np.zeros_like(values[:, :1])
    b, c, d = (*segment, zero, zero)[:3]
    slope_left, curvature_left = _gsl_derivatives(b[:, :1], c[:, :1], d[:, :1], 0.0)
    slope_right, curvature_right = _gsl_derivatives(b[:, -1:], c[:, -1:], d[:, -1:], nodes[-1] - nodes[-2])

    origins = np.concatenate((nodes[:1], nodes[:-1], nodes[-1:]))
    coeffs = [
        np.concatenate((values[:, :1], values[:, :-1], values[:, -1:]), axis=1),
        np.concatenate((slope_left, b, slope_right), axis=1),
    ]
    if len(segment) > 1:
        coeffs.append(np.concatenate((0.5 * curvature_left, c, 0.5 * curvature_right), axis=1))
        coeffs.append(np.concatenate((zero, d, zero), axis=1))
    return PiecewisePolynomials(nodes.copy(), origins, tuple(coeffs))


def _gsl_derivatives(b: np.ndarray, c: np.ndarray, d: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """GSL's ``eval_deriv`` and ``eval_deriv2`` of ``b t + c t² + d t³`` at ``t``."""
    return b + t * (2.0 * c + 3.0 * d * t), 2.0 * c + 6.0 * d * t


# Cubic splines (GSL interpolation/cspline.c) --------------------------------------------------------


def _curvature_rhs(
    h_left: np.ndarray, h_right: np.ndarray, dy_left: np.ndarray, dy_right: np.ndarray
) -> np.ndarray:
    """GSL's right-hand side ``3 (dy_{i+1} / h_{i+1} - dy_i / h_i)`` (via reciprocals, as GSL)."""
    return 3.0 * (dy_right * (1.0 / h_right) - dy_left * (1.0 / h_left))


def _natural_second_derivatives(h: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Half the second derivative at every node of a natural spline (GSL's ``c``).

    The interior values solve GSL's symmetric tridiagonal system; LAPACK's
    ``dptsv`` performs the same LDLᵀ recurrences as GSL's
    ``gsl_linalg_solve_symm_tridiag``, for all curves at once.
    """
    dy = np.diff(values, axis=1)
    rhs = _curvature_rhs(h[:-1], h[1:], dy[:, :-1], dy[:, 1:])
    diag = 2.0 * (h[1:] + h[:-1])
    c = np.zeros_like(values)
    if diag.size == 1:
        c[:, 1] = rhs[:, 0] / diag[0]
        return c
    _, _, solution, info = lapack.dptsv(diag, h[1:-1], np.asfortranarray(rhs.T))
    if info != 0:
        raise RuntimeError(f"the natural-spline system is singular (LAPACK dptsv info={info})")
    c[:, 1:-1] = solution.T
    return c


def _periodic_second_derivatives(h: np.ndarray, values: np.ndarray) -> np.ndarray:
    """GSL's ``c`` for a periodic spline (``cspline_init_periodic``).

    The system couples the last node back to the first; GSL solves it with a
    cyclic tridiagonal solver (3 or more unknowns) or a 2x2 formula.
    """
    n = values.shape[1]
    if n == 2:
        raise RuntimeError(
            "gsl_interp_init failed for cspline-periodic with 2 points: "
            "GSL's cyclic tridiagonal system needs 3 or more (GSL_EBADLEN)"
        )
    c = np.empty_like(values)
    if n == 3:
        h0, h1 = h
        y0, y1, y2 = values[:, 0], values[:, 1], values[:, 2]
        diag, off = 2.0 * (h0 + h1), h0 + h1
        g0 = 3.0 * ((y2 - y1) / h1 - (y1 - y0) / h0)
        # GSL's 2x2 branch wraps with y2 where the general branch uses y0.
        g1 = 3.0 * ((y1 - y2) / h0 - (y2 - y1) / h1)
        det = 3.0 * (h0 + h1) * (h0 + h1)
        c[:, 1] = (diag * g0 - off * g1) / det
        c[:, 2] = (-off * g0 + diag * g1) / det
        c[:, 0] = c[:, 2]
        return c
    dy = np.diff(values, axis=1)
    h_next = np.roll(h, -1)
    rhs = _curvature_rhs(h, h_next, dy, np.roll(dy, -1, axis=1))
    size = n - 1
    system = np.diag(2.0 * (h_next + h))
    index = np.arange(size)
    system[index, (index + 1) % size] = h_next
    system[(index + 1) % size, index] = h_next
    c[:, 1:] = np.linalg.solve(system, rhs.T).T
    c[:, 0] = c[:, -1]
    return c


def _cubic_from_curvature(
    h: np.ndarray, values: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment coefficients from GSL's ``c`` (``coeff_calc`` in cspline.c)."""
    c_lo, c_hi = c[:, :-1], c[:, 1:]
    dy = np.diff(values, axis=1)
    b = dy / h - h * (c_hi + 2.0 * c_lo) / 3.0
    d = (c_hi - c_lo) / (3.0 * h)
    return b, c_lo.copy(), d


# Akima (GSL interpolation/akima.c) ------------------------------------------------------------------


def _akima(h: np.ndarray, slopes: np.ndarray, *, periodic: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GSL's Akima segment coefficients for all curves at once.

    Two ghost slopes are added at each end: ``2 m0 - m1`` and ``3 m0 - 2 m1``
    (mirrored on the right), or the wrapped slopes when periodic.  Where the
    Akima weights are 0/0 GSL makes the segment linear with slope ``m[i]``,
    and takes ``m[i]`` as the right tangent when only the next weight is 0/0.
    """
    m = slopes
    if periodic:
        ghosts_left = (m[:, -2:-1], m[:, -1:])
        ghosts_right = (m[:, :1], m[:, 1:2])
    else:
        ghosts_left = (3.0 * m[:, :1] - 2.0 * m[:, 1:2], 2.0 * m[:, :1] - m[:, 1:2])
        ghosts_right = (2.0 * m[:, -1:] - m[:, -2:-1], 3.0 * m[:, -1:] - 2.0 * m[:, -2:-1])
    ext = np.concatenate((*ghosts_left, m, *ghosts_right), axis=1)
    # For segment i (0 <= i <= n-2), ext[:, i + 2 + k] is GSL's m[i + k].
    nseg = m.shape[1]
    m_m2, m_m1, m_0, m_p1, m_p2 = (ext[:, k : k + nseg] for k in range(5))

    left_weight = np.abs(m_m1 - m_m2)
    ne = np.abs(m_p1 - m_0) + left_weight
    ne_next = np.abs(m_p2 - m_p1) + np.abs(m_0 - m_m1)
    flat = ne == 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = left_weight / ne
        alpha_next = np.abs(m_0 - m_m1) / ne_next
        tangent_right = np.where(ne_next == 0.0, m_0, (1.0 - alpha_next) * m_0 + alpha_next * m_p1)
        b = np.where(flat, m_0, (1.0 - alpha) * m_m1 + alpha * m_0)
        c = np.where(flat, 0.0, (3.0 * m_0 - 2.0 * b - tangent_right) / h)
        d = np.where(flat, 0.0, (b + tangent_right - 2.0 * m_0) / (h * h))
    return b, c, d
