"""FocalPlaneBackground and the bilinear warpImage, against naive transcriptions of the reference.

The oracles here follow pipe_tasks' ``FocalPlaneBackground`` literally: a Python loop over every
superpixel with ``Box2I(Point2I(llc), Point2I(urc))`` and ``makeStatistics`` on the sub-image, a
row-then-column loop of 1-d interpolations, scipy's ``gaussian_filter`` for the smoothing, and a
per-cell bilinear evaluation for the warp.  Small (256 x 200 pixel) detectors keep them fast.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from lsst.sky.correction.afwlite.cameraGeom import (
    FOCAL_PLANE,
    PIXELS,
    Camera,
    Detector,
    Orientation,
    TransformPoint2ToPoint2,
    degrees,
)
from lsst.sky.correction.afwlite.geom import Box2D, Box2I, Extent2I, Point2D, Point2I
from lsst.sky.correction.afwlite.image import ExposureF, ImageD, ImageF, Mask, MaskedImageF, MaskPlaneDict
from lsst.sky.correction.afwlite.math import (
    MEANCLIP,
    NPOINT,
    REDUCE_INTERP_ORDER,
    ApproximateControl,
    Interpolate,
    InvalidParameterError,
    StatisticsControl,
    makeInterpolate,
    makeStatistics,
)
from lsst.sky.correction.afwlite.math._warp import WarpingControl, warpImage
from lsst.sky.correction.cameras import getCamera
from lsst.sky.correction.focal_plane_background import (
    FocalPlaneBackground,
    FocalPlaneBackgroundConfig,
    interpolateBadPixels,
    smoothArray,
)
from lsst.sky.correction.testing import makeDummyCamera

PIXEL_MM = 0.01
DETECTOR_DIMS = (256, 200)
DEFAULT_MASK = ["BAD", "SAT", "INTRP", "DETECTED", "DETECTED_NEGATIVE", "EDGE", "NO_DATA"]


# Cameras and images ---------------------------------------------------------------------------------


def make_detector(name: str, det_id: int, yaw_deg: float, centre_mm: tuple[float, float]) -> Detector:
    """A 256 x 200 detector of 10-micron pixels whose central pixel sits at ``centre_mm``."""
    width, height = DETECTOR_DIMS
    return Detector(
        name,
        det_id,
        bbox=Box2I(Point2I(0, 0), Extent2I(width, height)),
        orientation=Orientation(centre_mm, Point2D((width - 1) / 2, (height - 1) / 2), yaw_deg * degrees),
        pixelSize=(PIXEL_MM, PIXEL_MM),
    )


# Six detectors, 5 mm apart (well over two superpixels of gap), in every orientation that matters:
# square, a quarter and three quarters turn, HSC-like near-180 and near-270, and two odd angles
# whose superpixel boxes overlap and reach beyond the detector's footprint.
ROTATED_LAYOUT = [
    ("D0", 0, 0.0, (-5.0, -2.5)),
    ("D1", 1, 90.0, (0.0, -2.5)),
    ("D2", 2, 180.0042795, (5.0, -2.5)),
    ("D3", 3, 269.9887411, (-5.0, 2.5)),
    ("D4", 4, 30.0, (0.0, 2.5)),
    ("D5", 5, 45.0, (5.0, 2.5)),
]


@pytest.fixture(scope="module")
def rotated_camera() -> Camera:
    return Camera("Rotated", [make_detector(*row) for row in ROTATED_LAYOUT])


def make_config(size_px: float = 32, **overrides: object) -> FocalPlaneBackgroundConfig:
    config = FocalPlaneBackgroundConfig()
    config.xSize = size_px * PIXEL_MM
    config.ySize = size_px * PIXEL_MM
    config.pixelSize = PIXEL_MM
    for name, value in overrides.items():
        setattr(config, name, value)
    return config


def pixel_focal_plane(detector: Detector, bbox: Box2I) -> tuple[np.ndarray, np.ndarray]:
    """Focal-plane x and y (mm) of the centre of every pixel of ``bbox``."""
    xs = np.arange(bbox.getMinX(), bbox.getMaxX() + 1, dtype=float)
    ys = np.arange(bbox.getMinY(), bbox.getMaxY() + 1, dtype=float)
    grid_x, grid_y = np.meshgrid(xs, ys)
    return detector.getTransform(PIXELS, FOCAL_PLANE).applyForward((grid_x, grid_y))


def noisy_image(rng: np.random.Generator, bbox: Box2I, detector: Detector) -> np.ndarray:
    """A sloping sky with noise, outliers (to exercise the clipping) and a few NaNs."""
    fp_x, fp_y = pixel_focal_plane(detector, bbox)
    image = 1000.0 + 20.0 * fp_x - 15.0 * fp_y + rng.normal(0.0, 5.0, fp_x.shape)
    outliers = rng.random(image.shape) < 0.01
    image[outliers] += rng.uniform(100.0, 1000.0, int(outliers.sum()))
    image[rng.random(image.shape) < 0.002] = np.nan
    return image.astype(np.float32)


# The reference, naively ----------------------------------------------------------------------------


def naive_add_ccd(
    background: FocalPlaneBackground,
    detector: Detector,
    masked_image: MaskedImageF,
    and_mask: int,
    cells: tuple[range, range] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """pipe_tasks' addCcd loop: returns the (values, counts) it would add."""
    dims = background.dims
    values = np.zeros((dims.y, dims.x), dtype=np.float32)
    counts = np.zeros((dims.y, dims.x), dtype=np.float32)
    to_sample = detector.getTransform(PIXELS, FOCAL_PLANE).then(background.transform)
    sctrl = StatisticsControl()
    sctrl.setAndMask(and_mask)
    sctrl.setNanSafe(True)
    x_cells, y_cells = cells if cells is not None else (range(dims.x), range(dims.y))
    for xx in x_cells:
        for yy in y_cells:
            llc = to_sample.applyInverse(Point2D(xx - 0.5, yy - 0.5))
            urc = to_sample.applyInverse(Point2D(xx + 0.5, yy + 0.5))
            box = Box2I(Point2I(llc), Point2I(urc))
            box.clip(masked_image.getBBox())
            if box.isEmpty():
                continue
            result = makeStatistics(masked_image.subset(box), MEANCLIP | NPOINT, sctrl)
            mean, number = result.getValue(MEANCLIP), result.getValue(NPOINT)
            if not (math.isfinite(mean) and math.isfinite(number)):
                continue
            values[yy, xx] = mean * number
            counts[yy, xx] = number
    return values, counts


def naive_interpolate_1d(
    style: Interpolate.Style, x: np.ndarray, y: np.ndarray, at: np.ndarray
) -> np.ndarray:
    if len(x) == 0:
        return np.full(len(at), np.nan)
    try:
        return makeInterpolate(x.astype(float), y.astype(float), style).interpolate(at.astype(float))
    except Exception:
        if style == Interpolate.CONSTANT:
            return np.full(len(at), np.nan)
        fallback = {1: Interpolate.CONSTANT, 2: Interpolate.LINEAR}.get(
            len(x), Interpolate.CUBIC_SPLINE if len(x) < 5 else Interpolate.AKIMA_SPLINE
        )
        if fallback == style:
            fallback = Interpolate.CONSTANT
        return naive_interpolate_1d(fallback, x, y, at)


def naive_interpolate_bad(array: np.ndarray, is_bad: np.ndarray, style_name: str) -> None:
    style = Interpolate.Style[style_name]
    height, width = array.shape
    xs, ys = np.arange(width, dtype=float), np.arange(height, dtype=float)
    for y in range(height):
        bad, good = is_bad[y], ~is_bad[y]
        if bad.any() and good.any():
            array[y, bad] = naive_interpolate_1d(style, xs[good], array[y, good], xs[bad])
    is_bad = np.isnan(array)
    for x in range(width):
        bad, good = is_bad[:, x], ~is_bad[:, x]
        if bad.any() and good.any():
            array[bad, x] = naive_interpolate_1d(style, ys[good], array[good, x], ys[bad])


def naive_bilinear(stats: np.ndarray, sx: float, sy: float) -> float:
    ix, iy = math.floor(sx), math.floor(sy)
    if not (0 <= ix <= stats.shape[1] - 2 and 0 <= iy <= stats.shape[0] - 2):
        return math.nan
    fx, fy = sx - ix, sy - iy
    return (
        (1 - fx) * (1 - fy) * stats[iy, ix]
        + fx * (1 - fy) * stats[iy, ix + 1]
        + (1 - fx) * fy * stats[iy + 1, ix]
        + fx * fy * stats[iy + 1, ix + 1]
    )


def naive_ccd_grid(
    background: FocalPlaneBackground, stats: np.ndarray, detector: Detector, bbox: Box2I
) -> np.ndarray:
    """The binned model toCcdBackground should produce, before NaN filling."""
    binning = background.config.binning
    to_fp = detector.getTransform(PIXELS, FOCAL_PLANE)
    grid = np.empty((bbox.getHeight() // binning, bbox.getWidth() // binning))
    for by in range(grid.shape[0]):
        for bx in range(grid.shape[1]):
            focal = to_fp.applyForward(Point2D((bx + 0.5) * binning, (by + 0.5) * binning))
            sample = background.transform.applyForward(focal)
            grid[by, bx] = naive_bilinear(stats, sample.x, sample.y)
    return grid


# fromCamera -------------------------------------------------------------------------------------------


def test_from_camera_grid_covers_every_corner_with_a_buffer(rotated_camera):
    config = make_config(size_px=37)
    background = FocalPlaneBackground.fromCamera(config, rotated_camera)
    corners = np.array([(p.x, p.y) for det in rotated_camera for p in det.getCorners(FOCAL_PLANE)])
    low, high = corners.min(axis=0), corners.max(axis=0)
    assert background.dims == Extent2I(
        math.ceil((high[0] - low[0]) / config.xSize) + 2, math.ceil((high[1] - low[1]) / config.ySize) + 2
    )
    # s = (fp - boxMin) / size + 1: the box minimum is the centre of superpixel (1, 1) ...
    assert background.transform.applyForward(Point2D(low[0], low[1])) == pytest.approx((1.0, 1.0), abs=1e-12)
    far = background.transform.applyForward(Point2D(low[0] + 3 * config.xSize, low[1] + 2 * config.ySize))
    assert far == pytest.approx((4.0, 3.0), abs=1e-12)
    # ... and every detector corner lands between the centres of the first and last superpixels.
    samples = np.array([tuple(background.transform.applyForward(Point2D(*c))) for c in corners])
    assert samples.min() >= 1.0 - 1e-12
    assert (samples.max(axis=0) < np.array([background.dims.x - 1, background.dims.y - 1])).all()
    assert not background.getValues().array.any() and not background.getCounts().array.any()


def test_from_camera_width_exactly_a_whole_number_of_superpixels():
    # lsst.geom's Box2D.include nudges the maximum up by 2 eps (relative) so the half-open box holds
    # the point, so a width of exactly k superpixels gives ceil(k + tiny) + 2 = k + 3 cells.
    camera = Camera("One", [make_detector("D0", 0, 0.0, (1.0, 2.0))])
    corners = np.array([(p.x, p.y) for p in camera[0].getCorners(FOCAL_PLANE)])
    width = corners[:, 0].max() - corners[:, 0].min()
    config = FocalPlaneBackgroundConfig()
    config.xSize = width / 4
    config.ySize = 0.3
    config.pixelSize = PIXEL_MM
    assert (width / config.xSize) == 4.0
    assert FocalPlaneBackground.fromCamera(config, camera).dims.x == 4 + 3


def test_config_defaults_and_required_sizes():
    config = FocalPlaneBackgroundConfig()
    assert (config.pixelSize, config.minFrac, list(config.mask)) == (1.0, 0.1, DEFAULT_MASK)
    assert (config.interpolation, config.doSmooth, config.smoothScale, config.binning) == (
        "AKIMA_SPLINE",
        False,
        2.0,
        64,
    )
    assert config.xSize is None and config.ySize is None
    with pytest.raises(ValueError, match="xSize"):
        FocalPlaneBackground.fromCamera(config, makeDummyCamera())
    with pytest.raises(Exception, match="xSize"):
        config.validate()
    config.xSize, config.ySize = 1.0, 1.0
    config.validate()
    config.xSize = -1.0
    with pytest.raises(ValueError, match="xSize"):
        config.validate()


# addCcd ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size_x_px", "size_y_px"),
    [(32, 32), (41.3, 23.7), (96, 7), (300, 300)],
    ids=["square-32px", "oblong", "needle", "superpixel-bigger-than-detector"],
)
def test_add_ccd_arrays_matches_the_reference_loop_on_rotated_detectors(rotated_camera, size_x_px, size_y_px):
    config = make_config()
    config.xSize, config.ySize = size_x_px * PIXEL_MM, size_y_px * PIXEL_MM
    model = FocalPlaneBackground.fromCamera(config, rotated_camera)
    rng = np.random.default_rng(7)
    expected_values = np.zeros((model.dims.y, model.dims.x), dtype=np.float32)
    expected_counts = np.zeros_like(expected_values)
    for detector in rotated_camera:
        bbox = detector.getBBox()
        image = noisy_image(rng, bbox, detector)
        bad = rng.random(image.shape) < 0.1
        bad[60:90, 100:180] = True  # a masked object covering whole boxes
        masked = MaskedImageF(ImageF(image.copy()))
        masked.mask.array[bad] = Mask.getPlaneBitMask("DETECTED")
        values, counts = naive_add_ccd(model, detector, masked, Mask.getPlaneBitMask("DETECTED"))
        expected_values += values
        expected_counts += counts
        before = image.copy()
        model.addCcdArrays(detector, bbox, image, bad)
        np.testing.assert_array_equal(image, before)  # the input is not touched
    assert expected_counts.any()
    np.testing.assert_array_equal(model.getCounts().array, expected_counts)
    np.testing.assert_allclose(model.getValues().array, expected_values, rtol=2e-7, atol=0)


def test_add_ccd_arrays_on_crops_of_hsc_focus_and_science_detectors():
    hsc = getCamera("HSC")
    ids = [0, 100, 101, 102, 103]
    camera = Camera("HSC subset", [hsc[i] for i in ids])
    config = FocalPlaneBackgroundConfig()
    config.xSize = config.ySize = 64 * 0.015
    config.pixelSize = 0.015
    model = FocalPlaneBackground.fromCamera(config, camera)
    rng = np.random.default_rng(11)
    for det_id in ids:
        detector = hsc[det_id]
        crop = Box2I(Point2I(901, 2003), Extent2I(256, 200))  # PARENT pixels in the middle of the chip
        image = noisy_image(rng, crop, detector)
        bad = rng.random(image.shape) < 0.05
        masked = MaskedImageF(ImageF(image.copy(), xy0=crop.getMin()))
        masked.mask.array[bad] = Mask.getPlaneBitMask("BAD")
        # The naive loop runs over a window four superpixels wider than the crop on every side.
        to_sample = detector.getTransform(PIXELS, FOCAL_PLANE).then(model.transform)
        samples = np.array([tuple(to_sample.applyForward(c)) for c in Box2D(crop).getCorners()])
        lo = np.floor(samples.min(axis=0)).astype(int) - 4
        hi = np.ceil(samples.max(axis=0)).astype(int) + 4
        window = (range(lo[0], hi[0] + 1), range(lo[1], hi[1] + 1))
        values, counts = naive_add_ccd(model, detector, masked, Mask.getPlaneBitMask("BAD"), window)
        assert not counts[lo[1] : hi[1] + 1, [lo[0], hi[0]]].any()  # the window was wide enough
        assert not counts[[lo[1], hi[1]], lo[0] : hi[0] + 1].any()
        single = FocalPlaneBackground.fromCamera(config, camera)
        single.addCcdArrays(detector, crop, image, bad)
        np.testing.assert_array_equal(single.getCounts().array, counts)
        np.testing.assert_allclose(single.getValues().array, values, rtol=2e-7, atol=0)
        assert counts.sum() > 0.9 * (~bad).sum()


def test_add_ccd_uses_the_exposures_own_mask_planes(rotated_camera):
    # Old HSC data: CROSSTALK on bit 8 and NO_DATA on bit 9 (today's default has NO_DATA on 8).
    planes = MaskPlaneDict(
        {"BAD": 0, "SAT": 1, "INTRP": 2, "CR": 3, "EDGE": 4, "DETECTED": 5, "DETECTED_NEGATIVE": 6}
        | {"SUSPECT": 7, "CROSSTALK": 8, "NO_DATA": 9}
    )
    detector = rotated_camera[4]
    rng = np.random.default_rng(3)
    image = noisy_image(rng, detector.getBBox(), detector)
    masked = MaskedImageF(ImageF(image), planeDict=planes)
    bit_pattern = rng.integers(0, 10, image.shape)
    masked.mask.array[...] = np.where(rng.random(image.shape) < 0.3, 1 << bit_pattern, 0).astype(np.int32)
    exposure = ExposureF(masked)
    exposure.setDetector(detector)
    config = make_config()
    excluded_bits = (0, 1, 2, 5, 6, 4, 9)  # the default config.mask, by this file's bit numbers
    and_mask = sum(1 << bit for bit in excluded_bits)
    bad = (masked.mask.array & and_mask) != 0

    via_exposure = FocalPlaneBackground.fromCamera(config, rotated_camera)
    via_exposure.addCcd(exposure)
    via_arrays = FocalPlaneBackground.fromCamera(config, rotated_camera)
    via_arrays.addCcdArrays(detector, detector.getBBox(), image.copy(), bad)
    np.testing.assert_array_equal(via_exposure.getValues().array, via_arrays.getValues().array)
    np.testing.assert_array_equal(via_exposure.getCounts().array, via_arrays.getCounts().array)

    values, counts = naive_add_ccd(via_exposure, detector, masked, and_mask)
    np.testing.assert_array_equal(via_exposure.getCounts().array, counts)
    np.testing.assert_allclose(via_exposure.getValues().array, values, rtol=2e-7, atol=0)


def test_add_ccd_errors(rotated_camera):
    model = FocalPlaneBackground.fromCamera(make_config(), rotated_camera)
    detector = rotated_camera[0]
    exposure = ExposureF(detector.getBBox())
    with pytest.raises(ValueError, match="no detector"):
        model.addCcd(exposure)
    exposure.setDetector(detector)
    exposure.setMask(Mask(detector.getBBox(), planeDict={"BAD": 0, "SAT": 1}))
    with pytest.raises(ValueError, match=r"detector 0: mask planes \['INTRP'"):
        model.addCcd(exposure)
    image = np.zeros((200, 256), dtype=np.float32)
    with pytest.raises(ValueError, match="detector 0: image has shape"):
        model.addCcdArrays(detector, detector.getBBox(), image[:, :255], np.zeros((200, 255), bool))
    with pytest.raises(TypeError, match="detector 0: bad-pixel array must be bool"):
        model.addCcdArrays(detector, detector.getBBox(), image, np.zeros((200, 256), np.uint8))
    with pytest.raises(TypeError, match="float32 or float64"):
        model.addCcdArrays(detector, detector.getBBox(), image.astype(np.int32), np.zeros((200, 256), bool))


def test_counts_follow_the_rounded_inclusive_boxes():
    # One unrotated detector plus a helper whose lower-left corner sets the focal-plane minimum
    # 4 superpixels + 1/4 pixel left of and 12 superpixels + 1/4 pixel below the detector's, so
    # pixel x of the detector has sample x = (x + 0.75) / 32 + 1 + 4 and cell edges never fall on a
    # half pixel: cell xx spans pixels round(32 (xx - 5.5) - 0.75) to round(32 (xx - 4.5) - 0.75).
    main = make_detector("D0", 0, 0.0, (0.0, 0.0))
    corner = main.getCorners(FOCAL_PLANE)[0]
    cell_mm = 32 * PIXEL_MM
    helper = Detector(
        "D1",
        1,
        bbox=Box2I(Point2I(0, 0), Extent2I(256, 200)),
        orientation=Orientation(
            (corner.x - 0.25 * PIXEL_MM - 4 * cell_mm, corner.y - 0.25 * PIXEL_MM - 12 * cell_mm),
            Point2D(-0.5, -0.5),
        ),
        pixelSize=(PIXEL_MM, PIXEL_MM),
    )
    camera = Camera("Pair", [main, helper])
    model = FocalPlaneBackground.fromCamera(make_config(minFrac=0.5), camera)
    image = np.ones((200, 256), dtype=np.float32)
    bad = np.zeros(image.shape, dtype=bool)
    bad[:, 100] = True  # one masked pixel column
    model.addCcdArrays(main, main.getBBox(), image, bad)

    def box(cell: int, skip: int) -> tuple[int, int]:
        return (
            math.floor(32 * (cell - skip - 1.5) - 0.75 + 0.5),
            math.floor(32 * (cell - skip - 0.5) - 0.75 + 0.5),
        )

    def extent(cell: int, skip: int, length: int) -> int:
        low, high = box(cell, skip)
        return max(0, min(high, length - 1) - max(low, 0) + 1)

    def masked_in(cell: int) -> int:
        low, high = box(cell, 4)
        return 1 if low <= 100 <= high else 0

    expected = np.zeros((model.dims.y, model.dims.x), dtype=np.float32)
    for yy in range(model.dims.y):
        for xx in range(model.dims.x):
            width = extent(xx, 4, 256)
            expected[yy, xx] = (width - masked_in(xx) if width else 0) * extent(yy, 12, 200)
    np.testing.assert_array_equal(model.getCounts().array, expected)
    assert expected[15, 8] == 32 * 33 and expected[15, 9] == 33 * 33  # interior cells share their edges
    assert model.getCounts().array.sum() > (~bad).sum()
    np.testing.assert_allclose(model.getValues().array, expected)  # the mean is 1 everywhere
    # The task's validation: superpixels filled to less than minFrac of their area are unusable.
    area = (model.config.xSize / model.config.pixelSize) * (model.config.ySize / model.config.pixelSize)
    usable = model.getCounts().array >= model.config.minFrac * area
    np.testing.assert_array_equal(usable, expected >= 512)


# merge, clone, pickle ----------------------------------------------------------------------------------


def test_merge_sums_and_checks_geometry(rotated_camera):
    config = make_config()
    parent = FocalPlaneBackground.fromCamera(config, rotated_camera)
    rng = np.random.default_rng(5)
    first, second = parent.clone(), parent.clone()
    for clone, detector in ((first, rotated_camera[0]), (second, rotated_camera[5])):
        image = noisy_image(rng, detector.getBBox(), detector)
        clone.addCcdArrays(detector, detector.getBBox(), image, np.zeros(image.shape, bool))
    assert not parent.getCounts().array.any()  # clones do not share pixels with their parent
    total = parent.clone()
    assert total.merge(first) is total
    total += second
    np.testing.assert_array_equal(total.getValues().array, first.getValues().array + second.getValues().array)
    np.testing.assert_array_equal(total.getCounts().array, first.getCounts().array + second.getCounts().array)

    other_size = make_config(size_px=33)
    with pytest.raises(RuntimeError, match="superpixel sizes"):
        total.merge(FocalPlaneBackground.fromCamera(other_size, rotated_camera))
    other_dims = FocalPlaneBackground(config, Extent2I(3, 4), parent.transform)
    with pytest.raises(RuntimeError, match="dimensions"):
        total.merge(other_dims)

    restored = pickle.loads(pickle.dumps(total))
    np.testing.assert_array_equal(restored.getValues().array, total.getValues().array)
    np.testing.assert_array_equal(restored.getCounts().array, total.getCounts().array)
    assert restored.dims == total.dims and restored.config.xSize == config.xSize


def test_constructor_checks_its_images(rotated_camera):
    model = FocalPlaneBackground.fromCamera(make_config(), rotated_camera)
    with pytest.raises(ValueError, match="values image"):
        FocalPlaneBackground(model.config, model.dims, model.transform, values=ImageF(3, 3))
    values = ImageF(model.dims)
    values.array[...] = 2.0
    copy = FocalPlaneBackground(model.config, model.dims, model.transform, values=values)
    values.array[...] = 5.0
    assert (copy.getValues().array == 2.0).all()  # values are copied in


# getStatsImage ---------------------------------------------------------------------------------------


def model_from_cells(
    means: np.ndarray, counts: np.ndarray, **config_overrides: object
) -> FocalPlaneBackground:
    """A model holding the given per-superpixel means and counts (4 x 4 pixel superpixels)."""
    config = FocalPlaneBackgroundConfig()
    config.xSize = config.ySize = 4.0
    config.pixelSize = 1.0
    for name, value in config_overrides.items():
        setattr(config, name, value)
    height, width = means.shape
    transform = TransformPoint2ToPoint2([[0.25, 0.0], [0.0, 0.25]], [1.0, 1.0])
    values = ImageF((means * counts).astype(np.float32))
    numbers = ImageF(counts.astype(np.float32))
    return FocalPlaneBackground(config, Extent2I(width, height), transform, values, numbers)


def test_stats_image_masks_by_min_frac_and_interpolates_a_plane_exactly():
    rng = np.random.default_rng(2)
    jj, ii = np.mgrid[0:9, 0:12]
    plane = 3.0 + 0.5 * ii - 0.25 * jj
    counts = rng.integers(0, 17, plane.shape).astype(float)
    counts[:, [2, 7]] = 16  # every row keeps at least two good superpixels
    model = model_from_cells(plane, counts, minFrac=0.5, interpolation="LINEAR")  # threshold 8 pixels
    stats = model.getStatsImage().array
    good = counts >= 8
    np.testing.assert_array_equal(
        stats[good], (plane * counts).astype(np.float32)[good] / counts[good].astype(np.float32)
    )
    np.testing.assert_allclose(stats[~good], plane[~good], rtol=1e-6)
    # The accumulated images are untouched, and a second call gives the same answer.
    np.testing.assert_array_equal(model.getCounts().array, counts)
    np.testing.assert_array_equal(model.getStatsImage().array, stats)


@pytest.mark.parametrize("style", ["AKIMA_SPLINE", "NATURAL_SPLINE", "LINEAR", "CONSTANT"])
def test_stats_image_interpolation_matches_the_reference_loops(style):
    rng = np.random.default_rng(4)
    means = rng.normal(10.0, 2.0, (11, 14))
    counts = np.full(means.shape, 20.0)
    counts[rng.random(means.shape) < 0.3] = 0.0
    counts[1, :] = 0.0  # a row with nothing: left for the column pass
    counts[2, :] = 3.0  # a row with only under-filled superpixels: they keep their own values
    counts[3, :] = 0.0
    counts[3, [4]] = 20.0  # one good superpixel -> CONSTANT
    counts[4, :] = 0.0
    counts[4, [2, 9]] = 20.0  # two -> LINEAR
    counts[5, :] = 0.0
    counts[5, [1, 6, 12]] = 20.0  # three -> CUBIC_SPLINE for AKIMA
    model = model_from_cells(means, counts, minFrac=0.5, interpolation=style)
    stats = model.getStatsImage().array

    with np.errstate(divide="ignore", invalid="ignore"):
        expected = (means * counts).astype(np.float32) / counts.astype(np.float32)
    naive_interpolate_bad(expected, counts < 8, style)
    np.testing.assert_allclose(stats, expected, rtol=1e-6, atol=0)
    assert not np.isnan(stats).any()
    np.testing.assert_allclose(stats[2], means[2].astype(np.float32), rtol=1e-6)
    if style == "AKIMA_SPLINE":
        x = np.array([1.0, 6.0, 12.0])
        spline = makeInterpolate(x, stats[5, [1, 6, 12]].astype(float), Interpolate.CUBIC_SPLINE)
        np.testing.assert_allclose(stats[5], spline.interpolate(np.arange(14.0)), rtol=1e-6)
    if style != "CONSTANT":
        slope = (stats[4, 9] - stats[4, 2]) / 7
        np.testing.assert_allclose(stats[4], stats[4, 2] + slope * (np.arange(14) - 2), rtol=1e-5)
    np.testing.assert_array_equal(stats[3], np.float32(means[3, 4] * 20) / np.float32(20))


def test_smoothing_matches_gaussian_filter_and_fills_what_it_cannot_reach():
    rng = np.random.default_rng(6)
    means = rng.normal(50.0, 3.0, (20, 24))
    counts = np.zeros(means.shape)
    counts[2:9, 3:12] = rng.integers(10, 17, (7, 9))
    counts[14:18, 17:22] = 16.0
    model = model_from_cells(means, counts, minFrac=0.5, doSmooth=True, smoothScale=1.5)
    stats = model.getStatsImage().array

    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (means * counts).astype(np.float32) / counts.astype(np.float32)
    bad = counts < 8
    numerator = gaussian_filter(np.where(bad, 0.0, ratio), 1.5, mode="constant", cval=0.0)
    denominator = gaussian_filter(np.where(bad, 0.0, 1.0), 1.5, mode="constant", cval=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = (numerator / denominator).astype(np.float32)
    unreachable = np.isnan(expected)
    assert unreachable.any() and (~unreachable & bad).any()  # both kinds of bad superpixel exist
    np.testing.assert_allclose(stats[~unreachable], expected[~unreachable], rtol=1e-6)
    naive_interpolate_bad(expected, unreachable, "AKIMA_SPLINE")
    np.testing.assert_allclose(stats, expected, rtol=1e-6)
    smoothed = smoothArray(ratio, bad, 1.5)
    np.testing.assert_allclose(smoothed[~unreachable], expected[~unreachable], rtol=1e-6)


def test_stats_image_errors():
    means = np.ones((4, 5))
    with pytest.raises(RuntimeError, match="no superpixel"):
        model_from_cells(means, np.full(means.shape, 2.0), minFrac=0.5).getStatsImage()
    counts = np.full(means.shape, 16.0)
    counts[0, 0] = 0
    with pytest.raises(InvalidParameterError, match="NONE"):
        model_from_cells(means, counts, interpolation="NONE").getStatsImage()
    with pytest.raises(RuntimeError, match="all 20 values are bad"):
        interpolateBadPixels(np.zeros((4, 5)), np.ones((4, 5), bool), "LINEAR")


# toCcdBackground --------------------------------------------------------------------------------------


def test_to_ccd_background_matches_a_per_cell_bilinear_loop(rotated_camera):
    config = make_config(binning=16, interpolation="NATURAL_SPLINE")
    empty = FocalPlaneBackground.fromCamera(config, rotated_camera)
    rng = np.random.default_rng(8)
    means = rng.normal(100.0, 10.0, (empty.dims.y, empty.dims.x))
    model = FocalPlaneBackground(
        config,
        empty.dims,
        empty.transform,
        ImageF((means * 1000).astype(np.float32)),
        ImageF(np.full(means.shape, 1000, dtype=np.float32)),
    )
    stats = model.getStatsImage().array
    for detector in rotated_camera:
        bbox = detector.getBBox()
        background = model.toCcdBackground(detector, bbox)
        assert len(background) == 1
        bkgd, interp, undersample, approx, order_x, order_y, weighting = background[0]
        assert (interp, undersample, approx) == (
            Interpolate.NATURAL_SPLINE,
            REDUCE_INTERP_ORDER,
            ApproximateControl.UNKNOWN,
        )
        assert (order_x, order_y, weighting) == (0, 0, False)
        assert bkgd.getImageBBox() == bbox
        grid = bkgd.getStatsImage()
        assert grid.getDimensions() == Extent2I(16, 12)
        expected = naive_ccd_grid(model, stats, detector, bbox)
        assert not np.isnan(expected).any()
        np.testing.assert_allclose(grid.image.array, expected, rtol=2e-6)
        assert not grid.mask.array.any()


def test_to_ccd_background_flags_cells_outside_the_model(rotated_camera):
    config = make_config(binning=8)
    model = FocalPlaneBackground.fromCamera(config, rotated_camera)
    rng = np.random.default_rng(9)
    for detector in rotated_camera:
        image = noisy_image(rng, detector.getBBox(), detector)
        model.addCcdArrays(detector, detector.getBBox(), image, np.zeros(image.shape, bool))
    stats = model.getStatsImage().array
    # A detector hanging over the right edge of the modelled focal plane.
    corners = np.array([(p.x, p.y) for d in rotated_camera for p in d.getCorners(FOCAL_PLANE)])
    outside = make_detector("Out", 9, 10.0, (corners[:, 0].max() + 0.3, 0.0))
    bbox = outside.getBBox()
    grid = model.toCcdBackground(outside, bbox)[0][0].getStatsImage()
    expected = naive_ccd_grid(model, stats, outside, bbox)
    lost = np.isnan(expected)
    assert lost.any() and (~lost).any()
    np.testing.assert_allclose(grid.image.array[~lost], expected[~lost], rtol=2e-6)
    np.testing.assert_allclose(grid.image.array[lost], expected[~lost].astype(np.float32).mean(), rtol=1e-6)
    np.testing.assert_array_equal(grid.mask.array, np.where(lost, 1 << 0, 0))  # BAD is bit 0
    with pytest.raises(ValueError, match=r"detector 9: bbox .* smaller than one 8x8"):
        model.toCcdBackground(outside, Box2I(Point2I(0, 0), Extent2I(7, 100)))
    far = make_detector("Far", 10, 0.0, (500.0, 500.0))
    with pytest.raises(ValueError, match="detector 10 lies entirely outside"):
        model.toCcdBackground(far, far.getBBox())


# Analytic truth -----------------------------------------------------------------------------------


def clean_cells(model: FocalPlaneBackground, detector: Detector) -> np.ndarray:
    """Superpixels whose measuring box lies wholly inside the detector, a pixel from its edges."""
    to_sample = detector.getTransform(PIXELS, FOCAL_PLANE).then(model.transform)
    jj, ii = np.mgrid[0 : model.dims.y, 0 : model.dims.x].astype(float)
    inside = np.ones(ii.shape, dtype=bool)
    for dx, dy in ((-0.5, -0.5), (0.5, 0.5)):
        px, py = to_sample.applyInverse((ii + dx, jj + dy))
        inside &= (px >= 1) & (px <= 254) & (py >= 1) & (py <= 198)
    return inside


def checkable_pixels(
    model: FocalPlaneBackground, detector: Detector, binning: int, clean: np.ndarray
) -> np.ndarray:
    """Pixels whose interpolation only involves nodes built from ``clean`` superpixels.

    A node (binned cell) is clean when the four superpixels of its bilinear stencil are; a pixel is
    checkable when the nodes two before to three after it on both axes (what Akima uses) are clean.
    """
    to_sample = detector.getTransform(PIXELS, FOCAL_PLANE).then(model.transform)
    ny, nx = DETECTOR_DIMS[1] // binning, DETECTOR_DIMS[0] // binning
    by, bx = np.mgrid[0:ny, 0:nx].astype(float)
    sx, sy = to_sample.applyForward(((bx + 0.5) * binning, (by + 0.5) * binning))
    ix, iy = np.floor(sx).astype(int), np.floor(sy).astype(int)
    node_clean = clean[iy, ix] & clean[iy, ix + 1] & clean[iy + 1, ix] & clean[iy + 1, ix + 1]
    padded = np.zeros((ny + 6, nx + 6), dtype=bool)
    padded[3 : 3 + ny, 3 : 3 + nx] = node_clean
    ok_nodes = np.ones((ny, nx), dtype=bool)
    for dy in range(-2, 4):
        for dx in range(-2, 4):
            ok_nodes &= padded[3 + dy : 3 + dy + ny, 3 + dx : 3 + dx + nx]
    # Pixel p lies between nodes floor((p + 0.5) / binning - 0.5) and the next one.
    px = np.clip(np.floor((np.arange(DETECTOR_DIMS[0]) + 0.5) / binning - 0.5).astype(int), 0, nx - 1)
    py = np.clip(np.floor((np.arange(DETECTOR_DIMS[1]) + 0.5) / binning - 0.5).astype(int), 0, ny - 1)
    return ok_nodes[py[:, np.newaxis], px[np.newaxis, :]]


@pytest.mark.parametrize("kind", ["linear", "quadratic"])
def test_a_smooth_focal_plane_field_is_recovered_on_every_detector(rotated_camera, kind):
    linear = (50.0, 4.0, 3.0)  # f = a + b x + c y, mm
    curvature = (0.8, -0.5, 0.6) if kind == "quadratic" else (0.0, 0.0, 0.0)  # x^2, y^2, x y

    def field(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        a, b, c = linear
        d, e, g = curvature
        return a + b * x + c * y + d * x * x + e * y * y + g * x * y

    binning = 8
    model = FocalPlaneBackground.fromCamera(make_config(binning=binning), rotated_camera)
    for detector in rotated_camera:
        fp_x, fp_y = pixel_focal_plane(detector, detector.getBBox())
        exposure = ExposureF(MaskedImageF(ImageF(field(fp_x, fp_y).astype(np.float32))))
        exposure.setDetector(detector)
        model.addCcd(exposure)

    # Error budget of a pixel whose stencils only see clean superpixels, in units of the field:
    # * a superpixel's box centre is off the true centre by <= 0.5 px per axis (Point2I rounding);
    # * the reference samples binned cell b at pixel (b + 0.5) * binning, but BackgroundMI puts
    #   that node at (b + 0.5) * binning - 0.5, so the model at pixel p describes p + (0.5, 0.5):
    #   the truth is taken there, and the rounding error above may be amplified a little by Akima;
    # * for the quadratic: a box mean is off by Hessian x box variance (boxes are at most sqrt(2)
    #   superpixels across), bilinear interpolation is off by <= |f_xx| hx^2 / 8 + |f_yy| hy^2 / 8,
    #   and Akima between 8-px nodes by well under |H| (8 px)^2.
    # The detectors lie within 8 mm of the origin on both axes, which bounds the gradient.
    gradient_px = PIXEL_MM * math.hypot(
        linear[1] + 2 * abs(curvature[0]) * 8 + abs(curvature[2]) * 8,
        linear[2] + 2 * abs(curvature[1]) * 8 + abs(curvature[2]) * 8,
    )
    hessian = np.array([[2 * curvature[0], curvature[2]], [curvature[2], 2 * curvature[1]]])
    h_norm = float(np.linalg.norm(hessian, 2))
    cell = model.config.xSize
    tolerance = (
        1.5 * math.sqrt(2) * 0.5 * gradient_px
        + 0.5 * h_norm * (2 * cell**2 / 12) * 2
        + (abs(hessian[0, 0]) + abs(hessian[1, 1])) * cell**2 / 8
        + h_norm * (binning * PIXEL_MM) ** 2
        + 1e-5 * 200
    )
    filled = model.getCounts().array >= model.config.minFrac * (32 * 32)
    for detector in rotated_camera:
        own_cells = clean_cells(model, detector)
        if detector.getName() == "D5":
            # At 45 degrees the two corners that define a superpixel's box lie on one pixel row, so
            # the reference measures every superpixel on a one-pixel-high strip: none is filled
            # enough, and the detector's model is interpolated from elsewhere.
            assert own_cells.any() and not filled[own_cells].any()
            continue
        bbox = detector.getBBox()
        recovered = model.toCcdBackground(detector, bbox).getImage().array
        grid_x, grid_y = np.meshgrid(np.arange(256.0) + 0.5, np.arange(200.0) + 0.5)
        truth = field(*detector.getTransform(PIXELS, FOCAL_PLANE).applyForward((grid_x, grid_y)))
        checked = checkable_pixels(model, detector, binning, own_cells & filled)
        assert checked.sum() > 1000, detector.getName()
        error = np.abs(recovered - truth)
        assert error[checked].max() < tolerance, (detector.getName(), error[checked].max(), tolerance)
        # Where the stencils see superpixels that are merely filled enough (partly covered ones at the
        # detector edges), a superpixel measures the field at its covered part's centre, up to about
        # one superpixel from its own centre.
        near_edges = checkable_pixels(model, detector, binning, filled)
        assert near_edges.sum() > checked.sum()
        slope_mm = math.hypot(linear[1], linear[2]) + h_norm * 4.0
        assert error[near_edges].max() < 2 * slope_mm * cell + tolerance


# warpImage ---------------------------------------------------------------------------------------------


def test_warp_image_is_bilinear_with_afw_padding_and_area():
    rng = np.random.default_rng(10)
    source = ImageF(rng.normal(0.0, 1.0, (9, 11)).astype(np.float32), xy0=Point2I(5, 7))
    # dest = A src + t: a rotation-free stretch by 1.7 x 0.6 and a shift.
    src_to_dest = TransformPoint2ToPoint2([[1.7, 0.0], [0.0, 0.6]], [-3.2, 1.1])
    dest = ImageD(Extent2I(24, 9), xy0=Point2I(4, 3))
    good = warpImage(dest, source, src_to_dest, WarpingControl("bilinear"))
    area = 1 / (1.7 * 0.6)  # source pixels per destination pixel
    expected = np.empty(dest.array.shape)
    for row in range(dest.getHeight()):
        for col in range(dest.getWidth()):
            pos = src_to_dest.applyInverse(Point2D(col + 4, row + 3))
            value = naive_bilinear(source.array.astype(float), pos.x - 5, pos.y - 7)
            expected[row, col] = value * area
    assert good == np.count_nonzero(np.isfinite(expected)) > 0
    assert np.isnan(expected).any()
    np.testing.assert_array_equal(np.isnan(dest.array), np.isnan(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(dest.array[finite], expected[finite], rtol=1e-6, atol=1e-7)


def test_warp_image_zero_weights_do_not_spread_nan_and_errors():
    source = ImageF(np.arange(30, dtype=np.float32).reshape(5, 6))
    source.array[2, 3] = np.nan
    dest = ImageF(Extent2I(6, 5))
    shift = TransformPoint2ToPoint2([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0])
    assert warpImage(dest, source, shift, WarpingControl("bilinear")) == 5 * 4
    expected = source.array.copy()
    expected[:, 5] = np.nan  # the 2x2 kernel does not fit on the last column and row
    expected[4, :] = np.nan
    np.testing.assert_array_equal(dest.array, expected)
    with pytest.raises(InvalidParameterError, match="lanczos3"):
        WarpingControl("lanczos3")
    with pytest.raises(InvalidParameterError, match="unknown warping kernel"):
        WarpingControl("cubic")
    with pytest.raises(InvalidParameterError, match="in place"):
        warpImage(source, source, shift, WarpingControl("bilinear"))
