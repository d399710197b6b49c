"""afwlite.math interpolation: afw's enums and tables, and the 1-d interpolators against real GSL."""

from __future__ import annotations

import numpy as np
import pytest
from gsl_oracle import GslAllocError, GslInitError, load_gsl
from scipy.interpolate import Akima1DInterpolator

from lsst.sky.correction.afwlite import math as afwMath
from lsst.sky.correction.afwlite.math import (
    ApproximateControl,
    Interpolate,
    InvalidParameterError,
    OutOfRangeError,
    UndersampleStyle,
    lookupMaxInterpStyle,
    lookupMinInterpPoints,
    makeInterpolate,
    stringToInterpStyle,
    stringToUndersampleStyle,
)

# afw's styles and the GSL type behind each (afw Interpolate.cc).
GSL_STYLES = {
    "LINEAR": "linear",
    "NATURAL_SPLINE": "cspline",
    "CUBIC_SPLINE": "cspline",
    "CUBIC_SPLINE_PERIODIC": "cspline_periodic",
    "AKIMA_SPLINE": "akima",
    "AKIMA_SPLINE_PERIODIC": "akima_periodic",
}


@pytest.fixture(scope="module")
def gsl():
    return load_gsl()


def afw_extrapolated(gsl_interp, x: float) -> float:
    """afw's InterpolateGsl::interpolate: GSL inside, quadratic Taylor step outside."""
    nodes, values = gsl_interp.x, gsl_interp.y
    if nodes[0] <= x <= nodes[-1]:
        return gsl_interp.eval(x)
    x0, y0 = (nodes[0], values[0]) if x < nodes[0] else (nodes[-1], values[-1])
    d = gsl_interp.eval_deriv(x0)
    d2 = gsl_interp.eval_deriv2(x0)
    return y0 + (x - x0) * d + 0.5 * (x - x0) * (x - x0) * d2


def datasets(n: int, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Random, step and plateau data on uneven nodes."""
    x = np.cumsum(rng.uniform(0.5, 3.0, n))
    index = np.arange(n)
    plateau = np.where(index < n // 2, 2.0, 5.0)
    plateau[(index % 4) == 3] += 1.0  # flat runs broken by bumps: equal consecutive slopes
    return {
        "random": (x, rng.normal(10.0, 3.0, n)),
        "step": (x, np.where(index < n // 2, 0.0, 1.0)),
        "plateau": (x, plateau),
    }


# Enums and tables -------------------------------------------------------------------------------------


def test_style_codes_are_afws():
    expected = {
        "UNKNOWN": -1,
        "CONSTANT": 0,
        "LINEAR": 1,
        "NATURAL_SPLINE": 2,
        "CUBIC_SPLINE": 3,
        "CUBIC_SPLINE_PERIODIC": 4,
        "AKIMA_SPLINE": 5,
        "AKIMA_SPLINE_PERIODIC": 6,
    }
    for name, code in expected.items():
        assert int(getattr(Interpolate.Style, name)) == code
        assert getattr(Interpolate, name) is getattr(Interpolate.Style, name)
    undersample = {"THROW_EXCEPTION": 0, "REDUCE_INTERP_ORDER": 1, "INCREASE_NXNYSAMPLE": 2}
    for name, code in undersample.items():
        assert int(getattr(UndersampleStyle, name)) == code
        assert getattr(afwMath, name) is getattr(UndersampleStyle, name)
        assert stringToUndersampleStyle(name) is getattr(UndersampleStyle, name)
    assert int(ApproximateControl.UNKNOWN) == -1
    assert int(ApproximateControl.CHEBYSHEV) == 0
    assert ApproximateControl.Style(0) is ApproximateControl.CHEBYSHEV


def test_string_to_interp_style():
    for name in ("CONSTANT", "LINEAR", *GSL_STYLES):
        assert stringToInterpStyle(name).name == name
    for bad in ("UNKNOWN", "NUM_STYLES", "akima_spline", "SPLINE"):
        with pytest.raises(InvalidParameterError, match="Interp style not found"):
            stringToInterpStyle(bad)
    with pytest.raises(InvalidParameterError):
        stringToUndersampleStyle("THROW")


def test_lookup_tables():
    # afw Interpolate.cc: 1 -> CONSTANT, 2 -> LINEAR, 3 and 4 -> CUBIC_SPLINE, else AKIMA_SPLINE.
    expected = ["CONSTANT", "LINEAR", "CUBIC_SPLINE", "CUBIC_SPLINE", "AKIMA_SPLINE", "AKIMA_SPLINE"]
    assert [lookupMaxInterpStyle(n).name for n in range(1, 7)] == expected
    assert lookupMaxInterpStyle(1000) is Interpolate.AKIMA_SPLINE
    with pytest.raises(InvalidParameterError):
        lookupMaxInterpStyle(0)
    minimum = {
        "CONSTANT": 1,
        "LINEAR": 2,
        "NATURAL_SPLINE": 3,
        "CUBIC_SPLINE": 3,
        "CUBIC_SPLINE_PERIODIC": 3,
        "AKIMA_SPLINE": 5,
        "AKIMA_SPLINE_PERIODIC": 5,
    }
    for name, count in minimum.items():
        assert lookupMinInterpPoints(Interpolate.Style[name]) == count
    for bad in (Interpolate.UNKNOWN, Interpolate.NUM_STYLES, 12):
        with pytest.raises(OutOfRangeError):
            lookupMinInterpPoints(bad)


# The interpolators against GSL --------------------------------------------------------------------------


@pytest.mark.parametrize("style_name", list(GSL_STYLES))
def test_matches_gsl_inside_and_afw_extrapolation_outside(gsl, style_name):
    kind = GSL_STYLES[style_name]
    rng = np.random.default_rng(list(GSL_STYLES).index(style_name))
    checked = 0
    for n in range(gsl.min_size(kind), 14):
        for label, (x, y) in datasets(n, rng).items():
            try:
                reference = gsl.interp(kind, x, y)
            except GslInitError:
                # GSL itself refuses (a periodic spline through 2 points); so must we.
                with pytest.raises(RuntimeError):
                    makeInterpolate(x, y, Interpolate.Style[style_name])
                continue
            queries = np.concatenate([np.linspace(x[0] - 7.5, x[-1] + 7.5, 211), x])
            expected = np.array([afw_extrapolated(reference, q) for q in queries])
            got = makeInterpolate(x, y, Interpolate.Style[style_name]).interpolate(queries)
            scale = 1.0 + np.abs(expected)
            np.testing.assert_array_less(
                np.abs(got - expected) / scale, 1e-12, err_msg=f"{style_name} n={n} {label}"
            )
            checked += 1
    assert checked > 20


def test_plateau_data_exercise_gsls_degenerate_akima_rule(gsl):
    """On plateaus SciPy's Akima differs from GSL; ours must follow GSL there."""
    x = np.arange(12, dtype=float) * 2.0
    y = np.array([1, 1, 1, 2, 3, 3, 3, 3, 5, 5, 4, 4], dtype=float)
    queries = np.linspace(x[0], x[-1], 301)
    reference = gsl.interp("akima", x, y)
    expected = np.array([reference.eval(q) for q in queries])
    scipy_values = Akima1DInterpolator(x, y)(queries)
    assert np.max(np.abs(scipy_values - expected)) > 1e-3  # the data do hit the special case
    got = makeInterpolate(x, y, Interpolate.AKIMA_SPLINE).interpolate(queries)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-13)


def test_min_sizes_are_gsls(gsl):
    """Fewer points than GSL's min_size raise OutOfRangeError, as afw reports the failed alloc."""
    for style_name, kind in GSL_STYLES.items():
        minimum = gsl.min_size(kind)
        x = np.arange(minimum - 1, dtype=float)
        with pytest.raises(GslAllocError):
            gsl.interp(kind, x, x)
        with pytest.raises(OutOfRangeError):
            makeInterpolate(x, x, Interpolate.Style[style_name])
        makeInterpolate(np.arange(minimum + 1.0), np.arange(minimum + 1.0), Interpolate.Style[style_name])
    with pytest.raises(OutOfRangeError):
        makeInterpolate([], [], Interpolate.CONSTANT)


def test_nan_values_propagate_as_in_gsl(gsl):
    x = np.arange(8, dtype=float)
    y = np.array([1.0, 2.0, 0.5, np.nan, 3.0, 2.0, 1.0, 4.0])
    queries = np.linspace(-2, 9, 45)
    for style_name, kind in GSL_STYLES.items():
        reference = gsl.interp(kind, x, y)
        expected = np.array([afw_extrapolated(reference, q) for q in queries])
        got = makeInterpolate(x, y, Interpolate.Style[style_name]).interpolate(queries)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected), err_msg=style_name)
        assert np.isnan(got).any()
        finite = ~np.isnan(expected)
        np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-12, atol=1e-12)
    interp = makeInterpolate(x, np.arange(8.0), Interpolate.AKIMA_SPLINE)
    assert np.isnan(interp.interpolate(np.nan))


# CONSTANT ---------------------------------------------------------------------------------------------


def test_constant_is_afws_recentred_staircase():
    # Steps start at -5, 5, 15 and 25 and carry 1, (1+3)/2, (3+7)/2 and 7.
    interp = makeInterpolate([0.0, 10.0, 20.0], [1.0, 3.0, 7.0], Interpolate.CONSTANT)
    cases = {
        -100.0: 1,
        -5.0: 1,
        0.0: 1,
        4.99: 1,
        5.0: 2,
        10.0: 2,
        14.99: 2,
        15.0: 5,
        20.0: 5,
        24.9: 5,
        25.0: 7,
    }
    for x, expected in cases.items():
        assert interp.interpolate(x) == expected, x
    # Not nearest-neighbour: the node at 10 does not get its own value 3.
    assert interp.interpolate(10.0) != 3.0


def test_constant_matches_a_naive_staircase():
    rng = np.random.default_rng(7)
    for n in range(1, 9):
        x = np.cumsum(rng.uniform(1.0, 4.0, n))
        y = rng.normal(size=n)
        if n == 1:
            starts, levels = [x[0]], [y[0]]
        else:
            starts = [x[0] - (x[1] - x[0]) / 2]
            levels = [y[0]]
            for k in range(1, n):
                starts.append((x[k - 1] + x[k]) / 2)
                levels.append((y[k - 1] + y[k]) / 2)
            starts.append(x[-1] + (x[-1] - x[-2]) / 2)
            levels.append(y[-1])
        queries = np.linspace(x[0] - 10, x[-1] + 10, 97)
        expected = []
        for q in queries:
            at_or_before = [k for k, s in enumerate(starts) if s <= q]
            expected.append(levels[at_or_before[-1]] if at_or_before else levels[0])
        got = makeInterpolate(x, y, Interpolate.CONSTANT).interpolate(queries)
        np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0, err_msg=f"n={n}")


# Analytic truths and argument handling ----------------------------------------------------------------


@pytest.mark.parametrize("style_name", ["LINEAR", "NATURAL_SPLINE", "AKIMA_SPLINE"])
def test_straight_lines_are_reproduced_everywhere(style_name):
    x = np.array([0.0, 1.5, 4.0, 4.5, 9.0, 12.0])
    line = lambda v: 3.0 - 0.75 * v  # noqa: E731
    queries = np.linspace(-20, 30, 101)
    got = makeInterpolate(x, line(x), Interpolate.Style[style_name]).interpolate(queries)
    np.testing.assert_allclose(got, line(queries), rtol=1e-13, atol=1e-12)


def test_interpolate_accepts_scalars_lists_and_arrays():
    interp = makeInterpolate([0.0, 1.0, 2.0], [0.0, 2.0, 4.0], Interpolate.LINEAR)
    assert isinstance(interp.interpolate(0.5), float)
    assert interp.interpolate(0.5) == 1.0
    np.testing.assert_array_equal(interp.interpolate([0.5, 3.0]), [1.0, 6.0])
    grid = interp.interpolate(np.array([[0.25, 0.5], [1.5, -1.0]]))
    np.testing.assert_array_equal(grid, [[0.5, 1.0], [3.0, -2.0]])
    assert interp.getStyle() is Interpolate.LINEAR


def test_bad_arguments_are_refused():
    with pytest.raises(RuntimeError, match="strictly increasing"):
        makeInterpolate([0.0, 2.0, 1.0], [1.0, 2.0, 3.0], Interpolate.LINEAR)
    with pytest.raises(InvalidParameterError, match="equal length"):
        makeInterpolate([0.0, 1.0], [1.0, 2.0, 3.0], Interpolate.LINEAR)
    with pytest.raises(InvalidParameterError, match="UNKNOWN"):
        makeInterpolate([0.0, 1.0], [1.0, 2.0], Interpolate.UNKNOWN)
