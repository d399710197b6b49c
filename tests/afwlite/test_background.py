"""afwlite.math.BackgroundMI against a loop transcription of afw's doGetImage that calls real GSL."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gsl_oracle import GslAllocError, GslInitError, load_gsl
from numpy.polynomial import chebyshev

from lsst.sky.correction.afwlite.geom import Box2I, Extent2I, Point2I
from lsst.sky.correction.afwlite.image import ImageF, MaskedImageF
from lsst.sky.correction.afwlite.math import (
    MEAN,
    MEANCLIP,
    REDUCE_INTERP_ORDER,
    THROW_EXCEPTION,
    ApproximateControl,
    BackgroundControl,
    BackgroundMI,
    Interpolate,
    InvalidParameterError,
    LengthError,
    OutOfRangeError,
    StatisticsControl,
    UndersampleStyle,
    makeBackground,
)

STYLES = [s for s in Interpolate.Style if 0 <= s < Interpolate.NUM_STYLES]

# afw Interpolate.cc, written out again here so the oracle does not lean on the code under test.
MIN_POINTS = {"CONSTANT": 1, "LINEAR": 2, "NATURAL_SPLINE": 3, "CUBIC_SPLINE": 3}
MIN_POINTS |= {"CUBIC_SPLINE_PERIODIC": 3, "AKIMA_SPLINE": 5, "AKIMA_SPLINE_PERIODIC": 5}
GSL_KIND = {"LINEAR": "linear", "NATURAL_SPLINE": "cspline", "CUBIC_SPLINE": "cspline"}
GSL_KIND |= {"CUBIC_SPLINE_PERIODIC": "cspline_periodic", "AKIMA_SPLINE": "akima"}
GSL_KIND |= {"AKIMA_SPLINE_PERIODIC": "akima_periodic"}


def max_style(n: int) -> str:
    return {1: "CONSTANT", 2: "LINEAR", 3: "CUBIC_SPLINE", 4: "CUBIC_SPLINE"}.get(n, "AKIMA_SPLINE")


@pytest.fixture(scope="module")
def gsl():
    return load_gsl()


# The oracle: afw's BackgroundMI::doGetImage, one interpolant per column and per row --------------------


class GlobalUndersamplingError(Exception):
    """afw's InvalidParameterError from the global check."""


class TooFewPointsError(Exception):
    """afw's OutOfRangeError from makeInterpolate."""


def naive_centres(length: int, nbins: int) -> list[float]:
    """afw Background::_setCenOrigSize, one bin at a time."""
    centres, origin = [], 0
    for i in range(nbins):
        end = min(((i + 1) * length + nbins // 2) // nbins, length)
        size = end - origin
        centres.append(origin + 0.5 * size - 0.5)
        origin = end
    return centres


def naive_interpolant(style: str, x: list[float], y: list[float], gsl):
    """afw makeInterpolate(x, y, style) as a function of one position."""
    if style == "CONSTANT":
        if not x:
            raise TooFewPointsError
        if len(x) == 1:
            return lambda q: y[0]
        starts = [0.5 * (3 * x[0] - x[1])] + [0.5 * (x[i] + x[i + 1]) for i in range(len(x) - 1)]
        starts.append(0.5 * (3 * x[-1] - x[-2]))
        levels = [y[0]] + [0.5 * (y[i] + y[i + 1]) for i in range(len(y) - 1)] + [y[-1]]

        def staircase(q):
            value = levels[0]
            for start, level in zip(starts, levels, strict=True):
                if start <= q:
                    value = level
            return value

        return staircase
    try:
        interp = gsl.interp(GSL_KIND[style], x, y)
    except GslAllocError:
        raise TooFewPointsError from None

    def afw_gsl(q):
        if x[0] <= q <= x[-1]:
            return interp.eval(q)
        x0, y0 = (x[0], y[0]) if q < x[0] else (x[-1], y[-1])
        d, d2 = interp.eval_deriv(x0), interp.eval_deriv2(x0)
        return y0 + (q - x0) * d + 0.5 * (q - x0) * (q - x0) * d2

    return afw_gsl


def naive_background(values: np.ndarray, width: int, height: int, style: str, undersample: str, gsl):
    """The whole background image, float32, exactly in afw's order of operations."""
    ny, nx = values.shape
    xcen, ycen = naive_centres(width, nx), naive_centres(height, ny)
    needed = MIN_POINTS[style]
    if nx < needed or ny < needed:
        if undersample != "REDUCE_INTERP_ORDER":
            raise GlobalUndersamplingError
        style = max_style(nx) if nx < ny else max_style(ny)

    def column(ix, column_style):
        good = [iy for iy in range(ny) if not math.isnan(values[iy, ix])]
        nodes, vals = [ycen[iy] for iy in good], [float(values[iy, ix]) for iy in good]
        try:
            f = naive_interpolant(column_style, nodes, vals, gsl)
        except TooFewPointsError:
            if undersample != "REDUCE_INTERP_ORDER":
                raise
            if not vals:
                return [math.nan] * height
            return column(ix, max_style(len(vals)))
        return [f(float(y)) for y in range(height)]

    columns = [column(ix, style) for ix in range(nx)]
    result = np.empty((height, width), dtype=np.float32)
    for y in range(height):
        good = [ix for ix in range(nx) if not math.isnan(columns[ix][y])]
        nodes, vals = [xcen[ix] for ix in good], [columns[ix][y] for ix in good]
        try:
            f = naive_interpolant(style, nodes, vals, gsl)
        except TooFewPointsError:
            if undersample != "REDUCE_INTERP_ORDER":
                raise
            f = (
                (lambda q: math.nan)
                if not vals
                else naive_interpolant(max_style(len(vals)), nodes, vals, gsl)
            )
        for x in range(width):
            result[y, x] = f(float(x))
    return result


def assert_float32_equal(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Equal NaN positions, finite values within one float32 rounding step."""
    assert got.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected), err_msg=what)
    finite = ~np.isnan(expected)
    tolerance = np.spacing(np.abs(expected[finite]).astype(np.float32))
    excess = np.abs(got[finite].astype(np.float64) - expected[finite]) - tolerance
    assert excess.size == 0 or excess.max() <= 0, f"{what}: off by more than 1 ulp"


def make_grid(nx: int, ny: int, nan_pattern: str, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:ny, 0:nx]
    values = (100.0 + 3.0 * xx - 2.0 * yy + rng.normal(0.0, 4.0, (ny, nx))).astype(np.float32)
    if nan_pattern == "isolated":
        values[ny // 2, nx // 2] = np.nan
        values[0, -1] = np.nan
    elif nan_pattern == "column":
        values[:, nx // 3] = np.nan
    elif nan_pattern == "row":
        values[ny // 2, :] = np.nan
    return values


def background(values: np.ndarray, bbox: Box2I) -> BackgroundMI:
    stats = MaskedImageF(ImageF(values))
    return BackgroundMI(bbox, stats)


# getImageF against the oracle ---------------------------------------------------------------------------

WIDTH, HEIGHT = 17, 13
XY0 = Point2I(5, -3)
SUB_BBOX = Box2I(Point2I(8, 1), Extent2I(9, 6))  # PARENT, inside (5..21, -3..9), touching the right edge


@pytest.mark.parametrize("nan_pattern", ["none", "isolated", "column", "row"])
@pytest.mark.parametrize("undersample", ["THROW_EXCEPTION", "REDUCE_INTERP_ORDER"])
@pytest.mark.parametrize("style", STYLES, ids=lambda s: s.name)
def test_get_image_matches_afw_loop_with_gsl(gsl, style, undersample, nan_pattern):
    rng = np.random.default_rng(int(style) * 10 + len(nan_pattern))
    bbox = Box2I(XY0, Extent2I(WIDTH, HEIGHT))
    outcomes = set()
    for nx in range(1, 7):
        for ny in range(1, 7):
            values = make_grid(nx, ny, nan_pattern, rng)
            bg = background(values, bbox)
            what = f"{style.name} {undersample} {nan_pattern} {nx}x{ny}"
            try:
                expected = naive_background(values, WIDTH, HEIGHT, style.name, undersample, gsl)
            except GlobalUndersamplingError:
                outcomes.add("global")
                with pytest.raises(InvalidParameterError):
                    bg.getImageF(style, UndersampleStyle[undersample])
                continue
            except TooFewPointsError:
                outcomes.add("too few")
                with pytest.raises(OutOfRangeError):
                    bg.getImageF(style, UndersampleStyle[undersample])
                continue
            except GslInitError:
                outcomes.add("gsl init")
                with pytest.raises(RuntimeError):
                    bg.getImageF(style, UndersampleStyle[undersample])
                continue
            outcomes.add("image")
            full = bg.getImageF(style, UndersampleStyle[undersample])
            assert full.getXY0() == XY0
            assert_float32_equal(full.array, expected, what)
            sub = bg.getImageF(SUB_BBOX, style, UndersampleStyle[undersample])
            assert sub.getBBox() == SUB_BBOX
            crop = expected[SUB_BBOX.getMinY() - XY0.y :, SUB_BBOX.getMinX() - XY0.x :][
                : SUB_BBOX.height, : SUB_BBOX.width
            ]
            assert_float32_equal(sub.array, crop, what + " sub-bbox")
    if undersample == "THROW_EXCEPTION" and nan_pattern == "column":
        assert outcomes <= {"global", "too few"}  # an all-NaN column cannot be interpolated
    else:
        assert "image" in outcomes
    if undersample == "THROW_EXCEPTION" and style.name != "CONSTANT":
        assert "global" in outcomes
    if style is Interpolate.CUBIC_SPLINE_PERIODIC and nan_pattern in ("isolated", "row"):
        assert "gsl init" in outcomes  # some column or row is left with exactly 2 cells


def test_larger_grid_with_scattered_nan_matches_the_oracle(gsl):
    rng = np.random.default_rng(3)
    values = make_grid(9, 7, "none", rng)
    values[rng.random(values.shape) < 0.25] = np.nan
    values[:, 4] = np.nan
    width, height = 61, 47
    bg = background(values, Box2I(Point2I(-30, 100), Extent2I(width, height)))
    for style in (
        Interpolate.CONSTANT,
        Interpolate.LINEAR,
        Interpolate.NATURAL_SPLINE,
        Interpolate.AKIMA_SPLINE,
    ):
        expected = naive_background(values, width, height, style.name, "REDUCE_INTERP_ORDER", gsl)
        assert_float32_equal(bg.getImageF(style, REDUCE_INTERP_ORDER).array, expected, style.name)


# Geometry -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "nbins", "first", "last"),
    [
        (2048, 16, [63.5, 191.5, 319.5], 1983.5),
        (4176, 33, [63.0, 189.5, 316.0], 4112.0),
        (4072, 32, [63.0, 190.5, 318.0], 4008.0),
        (4000, 32, [62.0, 187.0, 312.0], 3937.0),
    ],
)
def test_bin_centres_follow_afws_table(length, nbins, first, last):
    bg = BackgroundMI(Box2I(Point2I(0, 0), Extent2I(length, 8)), MaskedImageF(nbins, 1))
    centres = bg.getBinCentersX()
    np.testing.assert_array_equal(centres[:3], first)
    assert centres[-1] == last


def test_bin_centres_are_parent_coordinates():
    # afw's testXY0 example: bbox (2, 3) + (4 x 6) with a 2 x 3 grid.
    bg = BackgroundMI(Box2I(Point2I(2, 3), Extent2I(4, 6)), MaskedImageF(2, 3))
    np.testing.assert_array_equal(bg.getBinCentersX(), [2.5, 4.5])
    np.testing.assert_array_equal(bg.getBinCentersY(), [3.5, 5.5, 7.5])


# Styles, overloads and errors ---------------------------------------------------------------------------


def test_control_defaults():
    bctrl = BackgroundControl(4, 5)
    assert (bctrl.getNxSample(), bctrl.getNySample()) == (4, 5)
    assert bctrl.getInterpStyle() is Interpolate.AKIMA_SPLINE
    assert bctrl.getUndersampleStyle() is THROW_EXCEPTION
    assert bctrl.getStatisticsProperty() == MEANCLIP == bctrl.statistic
    actrl = bctrl.getApproximateControl()
    assert (actrl.getStyle(), actrl.getOrderX(), actrl.getOrderY(), actrl.getWeighting()) == (
        ApproximateControl.UNKNOWN,
        1,
        1,
        True,
    )
    styled = BackgroundControl("NATURAL_SPLINE", 3, 2, "REDUCE_INTERP_ORDER", StatisticsControl(), "MEDIAN")
    assert styled.getInterpStyle() is Interpolate.NATURAL_SPLINE
    assert styled.getUndersampleStyle() is REDUCE_INTERP_ORDER
    assert styled.getStatisticsProperty().name == "MEDIAN"
    styled.setInterpStyle(Interpolate.LINEAR)
    styled.setUndersampleStyle("THROW_EXCEPTION")
    styled.statistic = "MEAN"
    assert (styled.getInterpStyle(), styled.getUndersampleStyle(), styled.getStatisticsProperty()) == (
        Interpolate.LINEAR,
        THROW_EXCEPTION,
        MEAN,
    )
    with pytest.raises(InvalidParameterError):
        BackgroundControl(0, 3)


def test_overloads_and_as_used_styles():
    values = make_grid(3, 6, "none", np.random.default_rng(1))
    bbox = Box2I(Point2I(0, 0), Extent2I(30, 40))
    bg = background(values, bbox)
    assert bg.getAsUsedInterpStyle() is Interpolate.UNKNOWN
    assert bg.getAsUsedUndersampleStyle() is THROW_EXCEPTION
    # nx=3 < 5: REDUCE takes the style for min(nx, ny) = 3 points on both axes.
    reduced = bg.getImageF(Interpolate.AKIMA_SPLINE, REDUCE_INTERP_ORDER)
    assert bg.getAsUsedInterpStyle() is Interpolate.CUBIC_SPLINE
    assert bg.getAsUsedUndersampleStyle() is REDUCE_INTERP_ORDER
    np.testing.assert_array_equal(reduced.array, bg.getImageF("CUBIC_SPLINE").array)
    np.testing.assert_array_equal(
        reduced.array, bg.getImageF(bbox, "AKIMA_SPLINE", "REDUCE_INTERP_ORDER").array
    )
    # getImageF() uses the control's styles.
    bg.getBackgroundControl().setInterpStyle(Interpolate.LINEAR)
    np.testing.assert_array_equal(bg.getImageF().array, bg.getImageF(Interpolate.LINEAR).array)
    with pytest.raises(InvalidParameterError, match="nxSample has too few points"):
        bg.getImageF(Interpolate.AKIMA_SPLINE)
    with pytest.raises(InvalidParameterError, match="not supported"):
        bg.getImageF(Interpolate.AKIMA_SPLINE, UndersampleStyle.INCREASE_NXNYSAMPLE)
    with pytest.raises(LengthError):
        bg.getImageF(Box2I(Point2I(-1, 0), Extent2I(5, 5)), Interpolate.LINEAR)


def test_too_few_good_cells_in_a_column_raise_under_throw():
    # afw testBadAreaFailsSpline: NaN cells leave a column with 4 < 5 values.
    values = make_grid(5, 5, "none", np.random.default_rng(2))
    values[2, 1] = np.nan
    bg = background(values, Box2I(Point2I(0, 0), Extent2I(50, 50)))
    with pytest.raises(OutOfRangeError, match="bin column 1"):
        bg.getImageF(Interpolate.AKIMA_SPLINE, THROW_EXCEPTION)
    image = bg.getImageF(Interpolate.AKIMA_SPLINE, REDUCE_INTERP_ORDER)
    assert np.isfinite(image.array).all()


def test_periodic_spline_through_two_cells_fails_as_gsl_does(gsl):
    with pytest.raises(GslInitError):
        gsl.interp("cspline_periodic", [0.0, 1.0], [1.0, 2.0])
    values = make_grid(4, 3, "none", np.random.default_rng(4))
    values[0, 2] = np.nan  # column 2 keeps 2 cells
    bg = background(values, Box2I(Point2I(0, 0), Extent2I(20, 20)))
    with pytest.raises(RuntimeError, match="2 points"):
        bg.getImageF(Interpolate.CUBIC_SPLINE_PERIODIC, REDUCE_INTERP_ORDER)


# The stats image is the model ---------------------------------------------------------------------------


def test_stats_image_is_live_and_arithmetic_changes_the_model():
    values = make_grid(4, 4, "none", np.random.default_rng(5))
    bg = background(values, Box2I(Point2I(0, 0), Extent2I(20, 24)))
    before = bg.getImageF(Interpolate.LINEAR).array.copy()

    stats = bg.getStatsImage()
    stats *= -1.0
    np.testing.assert_array_equal(bg.getImageF(Interpolate.LINEAR).array, -before)
    bg.getStatsImage().image *= -2.0
    np.testing.assert_allclose(bg.getImageF(Interpolate.LINEAR).array, 2 * before, rtol=1e-6)

    bg /= 2.0
    variance_before = bg.getStatsImage().variance.array.copy()
    bg += 10.0
    np.testing.assert_allclose(bg.getImageF(Interpolate.LINEAR).array, before + 10, rtol=1e-6)
    np.testing.assert_array_equal(bg.getStatsImage().variance.array, variance_before)
    bg -= 10.0
    bg *= 3.0
    np.testing.assert_allclose(bg.getImageF(Interpolate.LINEAR).array, 3 * before, rtol=1e-6)


def test_background_from_an_image_reproduces_a_plane():
    """Cell means of a plane are its values at the cell centres, so a linear model is the plane."""
    width, height = 64, 48
    yy, xx = np.mgrid[0:height, 0:width]
    plane = lambda x, y: 50.0 + 0.25 * x - 0.125 * y  # noqa: E731
    image = ImageF(plane(xx, yy).astype(np.float32), xy0=Point2I(100, 200))
    masked = MaskedImageF(image)
    bctrl = BackgroundControl(6, 4, StatisticsControl(), MEAN)
    for bg in (BackgroundMI(masked, bctrl), makeBackground(image, bctrl)):
        assert bg.getImageBBox() == image.getBBox()
        for style in (Interpolate.LINEAR, Interpolate.NATURAL_SPLINE, Interpolate.AKIMA_SPLINE):
            model = bg.getImageF(style, REDUCE_INTERP_ORDER)
            assert model.getXY0() == Point2I(100, 200)
            np.testing.assert_allclose(model.array, plane(xx, yy), rtol=2e-6, err_msg=style.name)
        centres = np.array(naive_centres(width, 6))
        np.testing.assert_allclose(
            bg.getStatsImage().image.array[0], plane(centres, naive_centres(height, 4)[0])
        )
    # The control is copied: changing the caller's afterwards does not change the model.
    bg = BackgroundMI(masked, bctrl)
    bctrl.setInterpStyle(Interpolate.CONSTANT)
    assert bg.getBackgroundControl().getInterpStyle() is Interpolate.AKIMA_SPLINE


# Chebyshev approximation --------------------------------------------------------------------------------


def chebyshev_surface(width: int, height: int, grid_x: np.ndarray, grid_y: np.ndarray, coeffs: np.ndarray):
    """Evaluate sum c[i, j] T_i(y') T_j(x') with afw's mapping of the pixel edges onto [-1, 1]."""
    xs = (np.asarray(grid_x) - (width - 1) / 2) * 2 / width
    ys = (np.asarray(grid_y) - (height - 1) / 2) * 2 / height
    return chebyshev.chebgrid2d(ys, xs, coeffs)


def test_chebyshev_reproduces_a_polynomial_surface():
    width, height, order = 80, 60, 2
    truth = np.zeros((order + 1, order + 1))
    truth[0, 0], truth[0, 1], truth[1, 0], truth[1, 1], truth[0, 2], truth[2, 0] = 100, 4, -3, 2, 1.5, -0.5
    xcen, ycen = naive_centres(width, 8), naive_centres(height, 6)
    stats = MaskedImageF(ImageF(chebyshev_surface(width, height, xcen, ycen, truth).astype(np.float32)))
    stats.variance.array[:] = 1.0
    bg = BackgroundMI(Box2I(Point2I(7, 9), Extent2I(width, height)), stats)
    bg.getBackgroundControl().setApproximateControl(ApproximateControl(ApproximateControl.CHEBYSHEV, order))
    image = bg.getImageF(Interpolate.AKIMA_SPLINE, THROW_EXCEPTION)
    assert image.getXY0() == Point2I(0, 0)  # afw: approximations ignore xy0
    expected = chebyshev_surface(width, height, np.arange(width), np.arange(height), truth)
    np.testing.assert_allclose(image.array, expected, rtol=1e-6)
    # The bbox argument is ignored too.
    sub = bg.getImageF(Box2I(Point2I(10, 10), Extent2I(5, 5)), Interpolate.AKIMA_SPLINE, THROW_EXCEPTION)
    np.testing.assert_array_equal(sub.array, image.array)


def test_chebyshev_matches_an_independent_weighted_least_squares_fit():
    width, height, nx, ny, order = 90, 70, 9, 7, 3
    rng = np.random.default_rng(11)
    xcen, ycen = naive_centres(width, nx), naive_centres(height, ny)
    yy, xx = np.meshgrid(ycen, xcen, indexing="ij")
    sigma = rng.uniform(0.5, 2.0, (ny, nx))
    values = 20 + 0.1 * xx - 0.05 * yy + 1e-3 * xx * yy + rng.normal(0, sigma)
    values[2, 3] = np.nan
    sigma[4, 5] = 0.0  # 1/0 is infinite: left out when weighting
    stats = MaskedImageF(ImageF(values.astype(np.float32)))
    stats.variance.array[:] = sigma.astype(np.float32)

    # Independent fit: total-degree <= order Chebyshev terms, rows scaled by sqrt(weight).
    xs = (xx - (width - 1) / 2) * 2 / width
    ys = (yy - (height - 1) / 2) * 2 / height
    vander = chebyshev.chebvander2d(
        ys.ravel(), xs.ravel(), [order, order]
    )  # column i*(order+1)+j = T_i(y)T_j(x)
    keep_terms = [i * (order + 1) + j for i in range(order + 1) for j in range(order + 1) if i + j <= order]
    for weighting in (True, False):
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = (
                (np.float32(1) / sigma.astype(np.float32)).astype(np.float64)
                if weighting
                else np.ones_like(sigma)
            )
            used = np.isfinite(stats.image.array.astype(np.float64) + weight).ravel()
        a = vander[used][:, keep_terms] * np.sqrt(weight.ravel()[used])[:, np.newaxis]
        b = stats.image.array.astype(np.float64).ravel()[used] * np.sqrt(weight.ravel()[used])
        solution = np.linalg.lstsq(a, b, rcond=None)[0]
        coeffs = np.zeros((order + 1) ** 2)
        coeffs[keep_terms] = solution
        coeffs = coeffs.reshape(order + 1, order + 1)
        expected = chebyshev_surface(width, height, np.arange(width), np.arange(height), coeffs)

        bg = BackgroundMI(Box2I(Point2I(0, 0), Extent2I(width, height)), stats)
        actrl = ApproximateControl(ApproximateControl.CHEBYSHEV, order, -1, weighting)
        bg.getBackgroundControl().setApproximateControl(actrl)
        np.testing.assert_allclose(
            bg.getImageF().array, expected, rtol=2e-6, err_msg=f"weighting={weighting}"
        )
        # Truncating the fit to order 1 keeps its three lowest terms.
        truncated = np.zeros_like(coeffs)
        truncated[0, 0], truncated[0, 1], truncated[1, 0] = coeffs[0, 0], coeffs[0, 1], coeffs[1, 0]
        low = bg.getApproximate(actrl).getImage(1, 1)
        expected_low = chebyshev_surface(width, height, np.arange(width), np.arange(height), truncated)
        np.testing.assert_allclose(low.array, expected_low, rtol=2e-6)


def test_chebyshev_errors():
    stats = MaskedImageF(ImageF(np.full((5, 6), np.nan, dtype=np.float32)))
    bg = BackgroundMI(Box2I(Point2I(0, 0), Extent2I(60, 50)), stats)
    bg.getBackgroundControl().setApproximateControl(
        ApproximateControl(ApproximateControl.CHEBYSHEV, 1, 1, False)
    )
    with pytest.raises(RuntimeError, match="No valid points to fit"):
        bg.getImageF()
    stats.image.array[:] = 1.0  # variance plane is 0: every weight is infinite
    bg.getBackgroundControl().getApproximateControl().setWeighting(True)
    with pytest.raises(RuntimeError, match="Variance is likely zero"):
        bg.getImageF()
    # The global undersampling check still runs first (afw): 5 rows suffice, 4 columns do not.
    small = BackgroundMI(Box2I(Point2I(0, 0), Extent2I(60, 50)), MaskedImageF(4, 5))
    small.getBackgroundControl().setApproximateControl(ApproximateControl(ApproximateControl.CHEBYSHEV, 1))
    with pytest.raises(InvalidParameterError):
        small.getImageF(Interpolate.AKIMA_SPLINE, THROW_EXCEPTION)
    with pytest.raises(InvalidParameterError, match="must be equal"):
        ApproximateControl(ApproximateControl.CHEBYSHEV, 2, 3)
    assert ApproximateControl(ApproximateControl.CHEBYSHEV, 4).getOrderY() == 4
