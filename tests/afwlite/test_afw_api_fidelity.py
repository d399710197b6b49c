"""afw calls that must mean on afwlite what they mean on lsst.afw / lsst.geom (issue 13, part 3).

Each test names one afw behaviour and cites the public upstream source it follows; the
expectations are worked out by hand from that source, not taken from afwlite's output.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsst.sky.correction.afwlite import image as afwImage
from lsst.sky.correction.afwlite import math as afwMath
from lsst.sky.correction.afwlite.cameraGeom import (
    ACTUAL_PIXELS,
    FIELD_ANGLE,
    FOCAL_PLANE,
    PIXELS,
    TAN_PIXELS,
    Angle,
    Camera,
    Detector,
    Orientation,
    TransformPoint2ToPoint2,
    arcminutes,
    arcseconds,
    degrees,
    radians,
)
from lsst.sky.correction.afwlite.geom import (
    EXPAND,
    SHRINK,
    Box2D,
    Box2I,
    Extent2D,
    Extent2I,
    Point2D,
    Point2I,
)
from lsst.sky.correction.afwlite.image import LOCAL, PARENT, ExposureF, ImageF, MaskedImageF
from lsst.sky.correction.afwlite.math import InvalidParameterError

# x' = 2x + 1, y' = 3y - 4: easy to check by hand.
SCALE = TransformPoint2ToPoint2([[2.0, 0.0], [0.0, 3.0]], [1.0, -4.0])


def test_apply_forward_takes_afw_nAxes_nPoints_layout() -> None:
    """lsst/afw include/lsst/afw/geom/Transform.h, ``applyForward(FromArray const &array)``:
    "The first dimension of the array must match the number of input axes, and the data
    order is values for the first axis, then values for the next axis, and so on, e.g. for
    2 axes: x0, x1, x2, ..., y0, y1, y2..."."""
    # A (2, 2) array is the case a row-major reading would silently get wrong.
    points = np.array([[10.0, 20.0], [1.0, 2.0]])  # x = (10, 20), y = (1, 2)
    out = SCALE.applyForward(points)
    np.testing.assert_array_equal(out, [[21.0, 41.0], [-1.0, 2.0]])
    np.testing.assert_array_equal(SCALE.applyInverse(out), points)
    three = np.array([[0.0, 1.0, 2.0], [5.0, 6.0, 7.0]])
    np.testing.assert_array_equal(SCALE.applyForward(three), [[1.0, 3.0, 5.0], [11.0, 14.0, 17.0]])


def test_apply_forward_refuses_arrays_not_in_nAxes_nPoints_layout() -> None:
    """lsst/afw include/lsst/afw/geom/Endpoint.h: array data is "a 2-D ndarray array
    [nAxes, nPoints]" and a wrong nAxes dimension raises InvalidParameterError."""
    with pytest.raises(ValueError, match=r"\(nAxes, nPoints\)"):
        SCALE.applyForward(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"\(nAxes, nPoints\)"):
        SCALE.applyInverse(np.zeros((2, 3, 4)))


def test_apply_forward_list_of_points_returns_list_of_point2d() -> None:
    """lsst/afw include/lsst/afw/geom/Endpoint.h: ``Point2Endpoint`` is a
    ``BaseVectorEndpoint<Point2D>`` whose Array is ``std::vector<Point2D>``; a single
    ``Point2D`` maps to a ``Point2D`` (``ToPoint applyForward(FromPoint const &point)``)."""
    out = SCALE.applyForward([Point2D(10.0, 1.0), Point2D(20.0, 2.0)])
    assert out == [Point2D(21.0, -1.0), Point2D(41.0, 2.0)]
    assert all(isinstance(p, Point2D) for p in out)
    single = SCALE.applyInverse(Point2D(21.0, -1.0))
    assert isinstance(single, Point2D) and single == Point2D(10.0, 1.0)
    # [x-array, y-array] is not a list of points: refused, never read as two points.
    with pytest.raises(TypeError, match="one per point"):
        SCALE.applyForward([np.array([10.0, 20.0, 30.0]), np.array([1.0, 2.0, 3.0])])


def test_transform_get_inverse_is_inverted() -> None:
    """lsst/afw include/lsst/afw/geom/Transform.h: ``getInverse()`` "returns a Transform
    whose applyForward is equivalent to this Transform's applyInverse"."""
    assert SCALE.getInverse().applyForward(Point2D(21.0, -1.0)) == Point2D(10.0, 1.0)


def test_extent2i_times_float_is_extent2d() -> None:
    """lsst/geom python/lsst/geom/_coordinates.cc: Extent ``__mul__`` is declared for an
    ``int`` and a ``double`` factor; ``Extent<int> * double`` is an ``Extent<double>``
    (lsst/geom include/lsst/geom/Extent.h), so nothing is truncated."""
    scaled = Extent2I(3, 5) * 0.5
    assert isinstance(scaled, Extent2D) and scaled == Extent2D(1.5, 2.5)
    assert 2 * Extent2I(3, 5) == Extent2I(6, 10)
    halved = Extent2I(3, 5) / 2
    assert isinstance(halved, Extent2D) and halved == Extent2D(1.5, 2.5)
    mixed = Extent2I(1, 1) + Extent2D(0.25, 0.5)
    assert isinstance(mixed, Extent2D) and mixed == Extent2D(1.25, 1.5)


def test_point2i_plus_extent2d_is_point2d_without_rounding() -> None:
    """lsst/geom include/lsst/geom/Point.h: ``Point<int>`` plus ``Extent<double>`` (and a
    ``Point<int>`` minus a ``Point<double>``) promote to double; no rounding happens."""
    moved = Point2I(3, 4) + Extent2D(0.25, 0.75)
    assert isinstance(moved, Point2D) and moved == Point2D(3.25, 4.75)
    offset = Point2I(3, 4) - Point2D(0.5, 0.5)
    assert isinstance(offset, Extent2D) and offset == Extent2D(2.5, 3.5)
    with pytest.raises(TypeError):
        Point2D(1.0, 2.0) + Point2D(3.0, 4.0)  # lsst.geom defines no Point + Point


def test_one_value_constructor_sets_every_component() -> None:
    """lsst/geom python/lsst/geom/_coordinates.cc: ``cls.def(nb::init<T>(), "value"_a = 0)``
    for Extents, and ``Extent(T val)`` fills every component (include/lsst/geom/Extent.h)."""
    assert Extent2I(3) == Extent2I(3, 3)
    assert Extent2D(0.5) == Extent2D(0.5, 0.5)


def test_extent2i_from_extent2d_is_refused() -> None:
    """lsst/geom python/lsst/geom/_coordinates.cc declares ``Extent<T>`` constructors from
    ``Extent<int>`` and ``Extent<T>`` only: an Extent2I cannot be built from an Extent2D."""
    with pytest.raises(TypeError, match="Extent2I"):
        Extent2I(Extent2D(1.6, 2.4))


def test_box2i_from_box2d_expand_and_shrink() -> None:
    """lsst/geom src/Box.cc ``Box2I::Box2I(Box2D const& other, EdgeHandlingEnum)``: with
    ``fpMin = min + 0.5`` and ``fpMax = max - 0.5``, EXPAND takes ``floor(fpMin)`` to
    ``ceil(fpMax)`` and SHRINK ``ceil(fpMin)`` to ``floor(fpMax)``; EXPAND is the default."""
    box = Box2D(Point2D(0.2, -0.7), Point2D(4.6, 3.1))
    # fpMin = (0.7, -0.2), fpMax = (4.1, 2.6)
    assert Box2I(box) == Box2I(Point2I(0, -1), Point2I(5, 3))
    assert Box2I(box, EXPAND) == Box2I(Point2I(0, -1), Point2I(5, 3))
    assert Box2I(box, SHRINK) == Box2I(Point2I(1, 0), Point2I(4, 2))
    assert Box2I(box, Box2I.SHRINK) == Box2I(box, SHRINK)
    # Box2D(Box2I) covers the pixel edges, and converting back returns the same pixels.
    pixels = Box2I(Point2I(2, 3), Extent2I(4, 5))
    assert Box2D(pixels) == Box2D(Point2D(1.5, 2.5), Point2D(5.5, 7.5))
    assert Box2I(Box2D(pixels), SHRINK) == pixels


def test_box2i_negative_dimensions_extend_the_other_way() -> None:
    """lsst/geom src/Box.cc ``Box2I(Point2I const& minimum, Extent2I const& dimensions,
    bool invert)``: a negative dimension with ``invert`` (the default) sets
    ``minimum += dimensions + 1`` and flips the sign; zero gives an empty box."""
    assert Box2I(Point2I(10, 10), Extent2I(-3, 2)) == Box2I(Point2I(8, 10), Point2I(10, 11))
    assert Box2I(Point2I(10, 10), Extent2I(-3, 2), invert=False).isEmpty()
    assert Box2I(Point2I(10, 10), Extent2I(0, 2)).isEmpty()


def _ramp(xy0: Point2I) -> ImageF:
    array = np.arange(20, dtype=np.float32).reshape(4, 5)  # value = 5 * row + column
    return ImageF(array, xy0=xy0)


def test_positional_subimage_constructor_takes_bbox_in_parent() -> None:
    """lsst/afw python/lsst/afw/image/_image/_image.cc: ``Image(rhs, bbox, origin=PARENT,
    deep=False)`` and ``Image(rhs, deep=False)``; the same for MaskedImage and Exposure."""
    image = _ramp(Point2I(100, 200))
    bbox = Box2I(Point2I(101, 201), Extent2I(2, 2))
    sub = ImageF(image, bbox)
    assert sub.getBBox() == bbox
    np.testing.assert_array_equal(sub.array, [[6.0, 7.0], [11.0, 12.0]])
    copy = ImageF(image, True)
    copy.array[0, 0] = -1.0
    assert image.array[0, 0] == 0.0  # deep: the parent is untouched
    masked = MaskedImageF(image)
    assert MaskedImageF(masked, bbox).getBBox() == bbox
    exposure = ExposureF(masked)
    assert ExposureF(exposure, bbox).getBBox() == bbox
    filled = ImageF(Extent2I(2, 3), 7.5)  # Image(dimensions, initialValue)
    assert filled.array.shape == (3, 2) and np.all(filled.array == 7.5)


def test_image_index_defaults_to_parent_and_takes_an_origin() -> None:
    """lsst/afw python/lsst/afw/image/_slicing.py: an index may end with an ImageOrigin;
    ``x0:x1, y0:y1`` slices make a box; negative indices count from the end only in LOCAL;
    the box form gives ``subset(box, origin)``."""
    image = _ramp(Point2I(100, 200))
    assert image[101, 202] == 11.0  # PARENT: column 1, row 2
    assert image[1, 2, LOCAL] == 11.0
    assert image[Point2I(101, 202), PARENT] == 11.0
    assert image[-1, -1, LOCAL] == 19.0
    window = image[101:103, 201:203]
    assert window.getBBox() == Box2I(Point2I(101, 201), Extent2I(2, 2))
    local = image[1:3, 1:3, LOCAL]
    np.testing.assert_array_equal(local.array, window.array)
    assert image[:].getBBox() == image.getBBox()
    with pytest.raises(TypeError, match="mixed"):
        image[1:3, 2]
    with pytest.raises(IndexError):
        image[1, 2]  # PARENT (1, 2) lies outside an image whose xy0 is (100, 200)


def test_masked_image_pixel_index_returns_image_mask_variance_triple() -> None:
    """lsst/afw ``MaskedImage._get`` (python/lsst/afw/image, the MaskedImage Python layer):
    "Return a triple (value, mask, variance) at the given index"."""
    masked = MaskedImageF(_ramp(Point2I(10, 20)))
    masked.variance.array[:] = 2.0
    masked.mask.array[1, 2] = 4
    assert masked[12, 21] == (7.0, 4, 2.0)
    assert ExposureF(masked)[2, 1, LOCAL] == (7.0, 4, 2.0)
    masked[10, 20, PARENT] = (1.5, 1, 0.5)
    assert (masked.image.array[0, 0], masked.mask.array[0, 0], masked.variance.array[0, 0]) == (1.5, 1, 0.5)


# Statistics (lsst/afw include/lsst/afw/math/Statistics.h, src/math/Statistics.cc,
# python/lsst/afw/math/_statistics.cc) ----------------------------------------------------------


def test_statistics_control_defaults_and_weights_switch() -> None:
    """lsst/afw python/lsst/afw/math/_statistics.cc: ``StatisticsControl(numSigmaClip=3.0,
    numIter=3, andMask=0x0, isNanSafe=true, useWeights=WEIGHTS_NONE)``; Statistics.h:
    ``getWeighted()`` is ``useWeights == WEIGHTS_TRUE`` and ``getWeightedIsSet()`` is
    ``useWeights != WEIGHTS_NONE``."""
    sctrl = afwMath.StatisticsControl()
    assert (sctrl.getNumSigmaClip(), sctrl.getNumIter(), sctrl.getAndMask(), sctrl.getNanSafe()) == (
        3.0,
        3,
        0,
        True,
    )
    assert not sctrl.getWeighted() and not sctrl.getWeightedIsSet()
    assert not sctrl.getCalcErrorFromInputVariance()
    off = afwMath.StatisticsControl(3.0, 3, 0x0, True, afwMath.StatisticsControl.WEIGHTS_FALSE)
    assert not off.getWeighted() and off.getWeightedIsSet()
    sctrl.setWeighted(True)
    assert sctrl.getWeighted() and sctrl.getWeightedIsSet()


def test_weighted_statistics_raise_not_implemented() -> None:
    """lsst/afw Statistics.h ``makeStatistics(MaskedImage, flags, sctrl)`` passes the variance
    plane when ``getWeighted() || getCalcErrorFromInputVariance()``, and the
    ``(mimg, weights, flags, sctrl)`` overload weights the pixels: afwlite computes neither."""
    masked = MaskedImageF(_ramp(Point2I(0, 0)))
    weighted = afwMath.StatisticsControl()
    weighted.setWeighted(True)
    with pytest.raises(NotImplementedError, match="weighted statistics"):
        afwMath.makeStatistics(masked, afwMath.MEAN, weighted)
    fromVariance = afwMath.StatisticsControl()
    fromVariance.setCalcErrorFromInputVariance(True)
    with pytest.raises(NotImplementedError, match="input variance"):
        afwMath.makeStatistics(masked, afwMath.MEAN | afwMath.ERRORS, fromVariance)
    with pytest.raises(NotImplementedError, match="weights"):
        afwMath.makeStatistics(masked, masked.variance, afwMath.MEAN)
    with pytest.raises(NotImplementedError, match="mask propagation"):
        afwMath.StatisticsControl().setMaskPropagationThreshold(3, 0.5)


def test_get_value_of_a_property_not_computed_raises() -> None:
    """lsst/afw src/math/Statistics.cc ``getResult``: "You didn't ask me to calculate" unless
    ``prop & _flags``; with ``NOTHING`` and several properties: "getValue() may only be called
    without a parameter if you asked for only one statistic"."""
    stats = afwMath.makeStatistics(_ramp(Point2I(0, 0)), afwMath.MEAN | afwMath.NPOINT)
    with pytest.raises(InvalidParameterError):
        stats.getValue(afwMath.MEDIAN)
    with pytest.raises(InvalidParameterError):
        stats.getValue()
    single = afwMath.makeStatistics(_ramp(Point2I(0, 0)), afwMath.MEDIAN | afwMath.ERRORS)
    assert single.getValue() == 9.5  # NOTHING: the one property asked for (ERRORS aside)


def test_get_result_error_is_nan_unless_errors_requested() -> None:
    """lsst/afw src/math/Statistics.cc ``getResult``: ``Value ret(NaN, NaN)`` and the error is
    filled only ``if (_flags & ERRORS)``; ``MEAN`` error is ``sqrt(variance / n)``, ``NPOINT``
    error 0."""
    values = np.array([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32)  # mean 2.5, variance 5/3
    plain = afwMath.makeStatistics(ImageF(values), afwMath.MEAN | afwMath.NPOINT)
    value, error = plain.getResult(afwMath.MEAN)
    assert value == 2.5 and np.isnan(error) and np.isnan(plain.getError(afwMath.NPOINT))
    withErrors = afwMath.makeStatistics(ImageF(values), afwMath.MEAN | afwMath.NPOINT | afwMath.ERRORS)
    assert withErrors.getResult(afwMath.MEAN) == pytest.approx((2.5, np.sqrt(5.0 / 3.0 / 4.0)), rel=1e-12)
    assert withErrors.getError(afwMath.NPOINT) == 0.0
    # Asking with ERRORS or'ed in names the same property.
    assert withErrors.getValue(afwMath.MEAN | afwMath.ERRORS) == 2.5


def test_masked_image_statistics_use_mask_and_ignore_variance() -> None:
    """lsst/afw Statistics.h: for a MaskedImage without weighting the variance is replaced by
    a ``MaskImposter``; pixels with ``mask & andMask`` are skipped (``andMask`` defaults to 0,
    so nothing is skipped), NaNs are skipped when ``isNanSafe``."""
    image = ImageF(np.array([[1.0, 2.0, np.nan, 100.0]], dtype=np.float32))
    masked = MaskedImageF(image)
    masked.mask.array[0, 3] = 4
    masked.variance.array[:] = [[1.0, 1e6, 1.0, 1.0]]
    everything = afwMath.makeStatistics(masked, afwMath.MEAN | afwMath.NPOINT)
    assert everything.getValue(afwMath.NPOINT) == 3 and everything.getValue(afwMath.MEAN) == pytest.approx(
        103.0 / 3.0
    )
    masked4 = afwMath.makeStatistics(masked, afwMath.MEAN | afwMath.SUM, afwMath.StatisticsControl(andMask=4))
    assert masked4.getValue(afwMath.MEAN) == 1.5 and masked4.getValue(afwMath.SUM) == 3.0
    unsafe = afwMath.makeStatistics(image, afwMath.MEAN, afwMath.StatisticsControl(isNanSafe=False))
    assert np.isnan(unsafe.getValue())
    # src/math/Statistics.cc getStandard: the MIN/MAX pass forces the finiteness test on while
    # the crude-mean pass before it honours isNanSafe, so afw's MIN depends on where the NaN
    # sits relative to the crude pass's stride: afwlite refuses rather than pick one answer.
    with pytest.raises(NotImplementedError, match="isNanSafe=False"):
        afwMath.makeStatistics(image, afwMath.MIN, afwMath.StatisticsControl(isNanSafe=False))


def test_meanclip_clips_first_at_median_with_iqr_then_at_mean_with_stdev() -> None:
    """lsst/afw include/lsst/afw/math/Statistics.h: "The first clip (ie. the first iteration)
    is performed at: median +/- numSigmaClip*IQ_TO_STDEV*IQR ... All subsequent iterations
    perform clips at mean +/- numSigmaClip*stdev"; NCLIPPED counts what the last pass left out."""
    values = np.array([[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 100.0]], dtype=np.float32)
    flags = afwMath.MEANCLIP | afwMath.NCLIPPED | afwMath.NPOINT
    # One pass: median 4.5, IQR 6.75 - 2.25 = 4.5, half-width 3 * 0.7413... * 4.5 = 10.0: 100 goes.
    once = afwMath.makeStatistics(ImageF(values), flags, afwMath.StatisticsControl(3.0, 1))
    assert once.getValue(afwMath.MEANCLIP) == 4.0 and once.getValue(afwMath.NCLIPPED) == 1
    # numSigmaClip 1: pass 1 keeps |v - 4.5| <= 3.34, i.e. 2..7 (mean 4.5, variance 3.5);
    # pass 2 re-clips all ten at 4.5 +- sqrt(3.5) = 1.87 and keeps 3..6.
    twice = afwMath.makeStatistics(ImageF(values), flags, afwMath.StatisticsControl(1.0, 2))
    assert twice.getValue(afwMath.MEANCLIP) == 4.5 and twice.getValue(afwMath.NCLIPPED) == 6
    stdevClip = afwMath.makeStatistics(ImageF(values), afwMath.STDEVCLIP, afwMath.StatisticsControl(1.0, 2))
    assert stdevClip.getValue() == pytest.approx(np.std([3.0, 4.0, 5.0, 6.0], ddof=1), rel=1e-12)


def test_statistics_of_a_mask_refuse_errors() -> None:
    """lsst/afw src/math/Statistics.cc ``Statistics<Mask>``: ``(flags & ~(NPOINT | SUM)) != 0``
    raises "Statistics<Mask> only supports NPOINT and SUM", so ERRORS is refused too."""
    mask = afwImage.Mask(np.array([[1, 2], [0, 8]], dtype=np.int32))
    assert afwMath.makeStatistics(mask, afwMath.SUM).getValue() == 11
    with pytest.raises(InvalidParameterError, match="only NPOINT and SUM"):
        afwMath.makeStatistics(mask, afwMath.SUM | afwMath.ERRORS)


def test_make_statistics_keyword_and_sequence_overloads() -> None:
    """lsst/afw python/lsst/afw/math/_statistics.cc: overloads ``(img, flags, sctrl)``,
    ``(img, msk, flags, sctrl)``, ``(mimg, flags, sctrl)`` and ``(v, flags, sctrl)`` for a
    ``std::vector`` of values, with those keyword names."""
    image = _ramp(Point2I(0, 0))
    sctrl = afwMath.StatisticsControl(andMask=1)
    mask = afwImage.Mask(np.where(image.array > 9, 1, 0).astype(np.int32))
    assert afwMath.makeStatistics(img=image, flags=afwMath.MEAN).getValue() == 9.5
    assert afwMath.makeStatistics(img=image, msk=mask, flags=afwMath.MEAN, sctrl=sctrl).getValue() == 4.5
    assert afwMath.makeStatistics(image, afwMath.MEAN, sctrl=sctrl).getValue() == 9.5
    assert afwMath.makeStatistics(v=[1.0, 2.0, 6.0], flags=afwMath.MEDIAN).getValue() == 2.0
    assert afwMath.makeStatistics([1.0, 2.0, 6.0], afwMath.MEAN).getValue() == 3.0


def test_string_to_statistics_property() -> None:
    """lsst/afw src/math/Statistics.cc ``stringToStatisticsProperty`` maps each name to its
    Property; an unknown name gives afw's default (NOTHING), which afwlite refuses instead."""
    assert afwMath.stringToStatisticsProperty("MEANCLIP") == afwMath.MEANCLIP == 0x80
    assert afwMath.stringToStatisticsProperty("NPOINT") | afwMath.MEAN == 0x6
    with pytest.raises(InvalidParameterError, match="unknown statistics property"):
        afwMath.stringToStatisticsProperty("MEANCLIPPED")


# Backgrounds (lsst/afw python/lsst/afw/math/_backgroundList.py, _background.cc,
# include/lsst/afw/math/Background.h) ---------------------------------------------------------------


def _flatBackground(value: float, grid: tuple[int, int] = (3, 2)) -> afwMath.BackgroundMI:
    stats = MaskedImageF(ImageF(np.full(grid[::-1], value, dtype=np.float32)))
    return afwMath.BackgroundMI(Box2I(Point2I(10, 20), Extent2I(30, 20)), stats)


def test_background_control_constructor_overloads_and_defaults() -> None:
    """lsst/afw python/lsst/afw/math/_background.cc: ``BackgroundControl(nxSample, nySample,
    sctrl=StatisticsControl(), prop=MEANCLIP, actrl=ApproximateControl(UNKNOWN, 1))`` and
    ``BackgroundControl(style, nxSample=10, nySample=10, undersampleStyle=THROW_EXCEPTION, ...)``,
    each also with string styles; the first form interpolates with AKIMA_SPLINE."""
    plain = afwMath.BackgroundControl(4, 3)
    assert (plain.getNxSample(), plain.getNySample()) == (4, 3)
    assert plain.getInterpStyle() == afwMath.Interpolate.AKIMA_SPLINE
    assert plain.getUndersampleStyle() == afwMath.THROW_EXCEPTION
    assert plain.getStatisticsProperty() == afwMath.MEANCLIP
    assert plain.getApproximateControl().getStyle() == afwMath.ApproximateControl.UNKNOWN
    styled = afwMath.BackgroundControl(afwMath.Interpolate.LINEAR)
    assert (styled.getNxSample(), styled.getNySample()) == (10, 10)
    named = afwMath.BackgroundControl(
        "NATURAL_SPLINE", 5, 6, "REDUCE_INTERP_ORDER", afwMath.StatisticsControl(), "MEAN"
    )
    assert named.getInterpStyle() == afwMath.Interpolate.NATURAL_SPLINE
    assert named.getUndersampleStyle() == afwMath.REDUCE_INTERP_ORDER
    assert named.getStatisticsProperty() == afwMath.MEAN
    named.setUndersampleStyle("THROW_EXCEPTION")
    assert named.getUndersampleStyle() == afwMath.UndersampleStyle.THROW_EXCEPTION
    # The binding takes C++ ints: a float sample count is refused, never truncated.
    with pytest.raises(TypeError, match="nxSample"):
        plain.setNxSample(2.7)  # type: ignore[arg-type]


def test_string_to_undersample_style_names_afw_styles() -> None:
    """lsst/afw src/math/Background.cc ``stringToUndersampleStyle``: THROW_EXCEPTION,
    REDUCE_INTERP_ORDER, INCREASE_NXNYSAMPLE; other names raise InvalidParameterError
    ("Understample style not defined")."""
    assert afwMath.stringToUndersampleStyle("REDUCE_INTERP_ORDER") == afwMath.REDUCE_INTERP_ORDER == 1
    assert int(afwMath.stringToUndersampleStyle("INCREASE_NXNYSAMPLE")) == 2
    with pytest.raises(InvalidParameterError, match="not defined"):
        afwMath.stringToUndersampleStyle("REDUCE")


def test_background_list_elements_are_afw_seven_tuples() -> None:
    """lsst/afw python/lsst/afw/math/_backgroundList.py: each element is ``(bkgd, interpStyle,
    undersampleStyle, approxStyle, approxOrderX, approxOrderY, approxWeighting)``; a bare
    background is appended with None styles, which ``__getitem__`` fills from
    ``getAsUsedInterpStyle()``, ``getAsUsedUndersampleStyle()`` and the ApproximateControl."""
    bare = _flatBackground(1.0)
    bare.getImageF(afwMath.Interpolate.LINEAR, afwMath.REDUCE_INTERP_ORDER)
    styled = _flatBackground(2.0)
    backgrounds = afwMath.BackgroundList(
        bare,
        (
            styled,
            afwMath.Interpolate.CONSTANT,
            afwMath.THROW_EXCEPTION,
            afwMath.ApproximateControl.UNKNOWN,
            1,
            -1,
            True,
        ),
    )
    assert len(backgrounds) == 2
    first = backgrounds[0]
    assert first[0] is bare
    # LINEAR needs 2 cells per axis, so the 3x2 grid uses it as asked.  The default
    # ApproximateControl(UNKNOWN, 1) stores orderY = orderX (src/math/Approximate.cc:
    # ``_orderY(orderY < 0 ? orderX : orderY)``).
    expected = (afwMath.Interpolate.LINEAR, afwMath.REDUCE_INTERP_ORDER, afwMath.ApproximateControl.UNKNOWN)
    assert first[1:] == (*expected, 1, 1, True)
    assert [element[0] for element in backgrounds] == [bare, styled]


def test_background_list_get_image_sums_elements_in_order() -> None:
    """lsst/afw python/lsst/afw/math/_backgroundList.py ``getImage``: each element's
    ``getImageF(interpStyle, undersampleStyle)`` (``getImageF()`` for an approximation), added
    in list order onto the first; an empty list gives None."""
    backgrounds = afwMath.BackgroundList()
    assert backgrounds.getImage() is None
    for value in (1.0, 2.5):
        bkgd = _flatBackground(value)
        backgrounds.append(
            (
                bkgd,
                afwMath.Interpolate.LINEAR,
                afwMath.THROW_EXCEPTION,
                afwMath.ApproximateControl.UNKNOWN,
                1,
                -1,
                True,
            )
        )
    total = backgrounds.getImage()
    assert total is not None and total.getBBox() == Box2I(Point2I(10, 20), Extent2I(30, 20))
    assert np.all(total.array == np.float32(3.5))


def test_get_image_f_without_arguments_uses_the_control_styles() -> None:
    """lsst/afw include/lsst/afw/math/Background.h: ``getImage()`` is ``getImage(
    _bctrl->getInterpStyle(), _bctrl->getUndersampleStyle())``; the stats image of a
    ``BackgroundMI(bbox, statsImage)`` is shared, not copied (``getStatsImage``)."""
    bkgd = _flatBackground(1.0, grid=(2, 2))  # too few cells for the default AKIMA_SPLINE
    with pytest.raises(InvalidParameterError, match="too few points"):
        bkgd.getImageF()
    bkgd.getBackgroundControl().setUndersampleStyle(afwMath.REDUCE_INTERP_ORDER)
    assert np.all(bkgd.getImageF().array == 1.0)
    assert bkgd.getAsUsedInterpStyle() == afwMath.Interpolate.LINEAR
    bkgd.getStatsImage().image.array[:] = 4.0
    assert np.all(bkgd.getImageF("LINEAR", "THROW_EXCEPTION").array == 4.0)


# cameraGeom and lsst.geom.Angle (lsst/afw python/lsst/afw/cameraGeom, src/cameraGeom;
# lsst/geom include/lsst/geom/Angle.h, python/lsst/geom/_angle.cc) -----------------------------------


def _detector(name: str, detectorId: int, x: float, yawDeg: float = 0.0) -> Detector:
    return Detector(
        name,
        detectorId,
        bbox=Box2I(Point2I(0, 0), Extent2I(100, 50)),
        orientation=Orientation((x, 0.0, 0.0), Point2D(-0.5, -0.5), yawDeg * degrees),
        pixelSize=Extent2D(0.01, 0.01),
    )


# Ids deliberately out of name order and out of construction order.
CAMERA = Camera("Toy", [_detector("B", 7, 0.0), _detector("C", 2, 5.0, 90.0), _detector("A", 4, -5.0)])


def test_camera_lookup_iteration_and_maps() -> None:
    """lsst/afw python/lsst/afw/cameraGeom (DetectorCollection bindings): ``camera[id]`` and
    ``camera[name]``, ``in`` by either, ``len``; iteration follows the ``std::map`` keyed by id,
    ``getNameMap()``/``getIdMap()`` convert ``std::map``s, so they come sorted by key."""
    assert CAMERA[2].getName() == "C" and CAMERA["A"].getId() == 4
    assert 7 in CAMERA and "B" in CAMERA and "Z" not in CAMERA and 3 not in CAMERA
    assert len(CAMERA) == 3
    assert [d.getId() for d in CAMERA] == [2, 4, 7]
    assert list(CAMERA.getIdMap()) == [2, 4, 7]
    assert list(CAMERA.getNameMap()) == ["A", "B", "C"]
    with pytest.raises(KeyError):
        CAMERA["Z"]


def test_detector_corners_center_and_quarter_turns() -> None:
    """lsst/afw src/cameraGeom/Detector.cc ``getCorners``: the corners of ``Box2D(getBBox())``
    (min-0.5 to max+0.5) in ``Box2D::getCorners`` order, transformed; Orientation.cc
    ``getNQuarter``: ``floor((yawDeg + 45) / 90)`` after adding 360 to negative yaws."""
    rotated = CAMERA["C"]  # yaw 90 degrees: pixel +x runs along focal-plane +y
    assert rotated.getCorners(PIXELS) == [
        Point2D(-0.5, -0.5),
        Point2D(99.5, -0.5),
        Point2D(99.5, 49.5),
        Point2D(-0.5, 49.5),
    ]
    fp = rotated.getCorners(FOCAL_PLANE)
    np.testing.assert_allclose(
        [(p.getX(), p.getY()) for p in fp], [(5.0, 0.0), (5.0, 1.0), (4.5, 1.0), (4.5, 0.0)], atol=1e-12
    )
    center = rotated.getCenter(FOCAL_PLANE)
    assert center.getX() == pytest.approx(4.75) and center.getY() == pytest.approx(0.5)
    assert rotated.getOrientation().getNQuarter() == 1
    assert _detector("D", 9, 0.0, -90.0).getOrientation().getNQuarter() == 3
    assert _detector("D", 9, 0.0, 320.0).getOrientation().getNQuarter() == 4  # callers take % 4


def test_find_detectors_returns_those_containing_the_point() -> None:
    """lsst/afw src/cameraGeom/Camera.cc ``findDetectors``: the point goes to FOCAL_PLANE,
    then to each detector's PIXELS, and detectors whose ``Box2D(bbox)`` contains it are kept."""
    assert [d.getName() for d in CAMERA.findDetectors(Point2D(0.5, 0.25), FOCAL_PLANE)] == ["B"]
    assert CAMERA.findDetectors(Point2D(2.5, 0.0), FOCAL_PLANE) == []


def test_unmodelled_camera_systems_raise_not_implemented() -> None:
    """lsst/afw src/cameraGeom/CameraSys.cc defines FIELD_ANGLE, TAN_PIXELS and ACTUAL_PIXELS,
    which afw cameras transform; afwlite has no optical model, so it must say so, not answer."""
    detector = CAMERA["B"]
    with pytest.raises(NotImplementedError, match=r"FIELD_ANGLE transforms .*lsst.afw.cameraGeom"):
        detector.getCorners(FIELD_ANGLE)
    with pytest.raises(NotImplementedError, match="FIELD_ANGLE"):
        CAMERA.getTransform(FOCAL_PLANE, FIELD_ANGLE)
    with pytest.raises(NotImplementedError, match="TAN_PIXELS"):
        detector.getTransform(TAN_PIXELS, FOCAL_PLANE)
    with pytest.raises(NotImplementedError, match="ACTUAL_PIXELS"):
        detector.hasTransform(ACTUAL_PIXELS)
    with pytest.raises(NotImplementedError, match="amplifiers"):
        detector.getAmplifiers()
    with pytest.raises(NotImplementedError, match="amplifiers"):
        list(detector)
    assert detector  # truth testing does not reach the amplifier count
    with pytest.raises(NotImplementedError, match="TransformMap"):
        CAMERA.getTransformMap()


def test_angle_units_arithmetic_and_comparison() -> None:
    """lsst/geom include/lsst/geom/Angle.h: ``hours = PI * 15.0 / 180.0``, ``arcminutes =
    PI / 60 / 180.0``, ``arcseconds = PI / 180.0 / 3600.0``; python/lsst/geom/_angle.cc binds
    Angle +- Angle, Angle * number (both sides), Angle / number, ``-``, ``abs``, comparisons
    with Angles and with plain numbers (radians), and refuses Angle / Angle."""
    assert (3600.0 * arcseconds).asDegrees() == pytest.approx(1.0, rel=1e-15)
    assert (1.0 * arcseconds).asRadians() == math.pi / 180.0 / 3600.0
    assert (60.0 * arcminutes).asDegrees() == pytest.approx(1.0, rel=1e-15)
    assert (15.0 * degrees).asHours() == pytest.approx(1.0, rel=1e-15)
    assert Angle(1.0, degrees).asArcseconds() == pytest.approx(3600.0, rel=1e-15)
    total = 30.0 * degrees + 15.0 * degrees - 5.0 * degrees
    assert isinstance(total, Angle) and total.asDegrees() == pytest.approx(40.0, rel=1e-15)
    assert (2 * (10.0 * degrees)).asDegrees() == pytest.approx(20.0) == ((10.0 * degrees) * 2.0).asDegrees()
    assert ((90.0 * degrees) / 2).asDegrees() == pytest.approx(45.0)
    assert (-(1.0 * radians)).asRadians() == -1.0 and abs(-1.0 * radians) == 1.0 * radians
    assert 1.0 * radians == 1.0 and 0.5 * radians < 1 and 2.0 * radians > 1.0 * radians
    with pytest.raises(TypeError):
        (1.0 * radians) / (1.0 * radians)
    with pytest.raises(TypeError):
        (1.0 * radians) + 1.0  # type: ignore[operator]
