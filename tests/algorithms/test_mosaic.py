"""Tests of the focal-plane mosaic against afw's makeImageFromCamera written out with loops."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsst.sky.correction.afwlite.cameraGeom import FOCAL_PLANE, Camera, Detector, Orientation
from lsst.sky.correction.afwlite.geom import Box2I, Extent2I, Point2D, Point2I
from lsst.sky.correction.afwlite.image import ImageF, Mask, MaskedImageF
from lsst.sky.correction.afwlite.math import binImage
from lsst.sky.correction.cameras import getCamera
from lsst.sky.correction.mosaic import binMaskedImageForMosaic, makeCameraImage, rotateBBoxBy90
from lsst.sky.correction.testing import makeDummyCamera

BUFFER = 10


# --------------------------------------------------------------------------
# afw's placement, naively (lsst/afw cameraGeom/utils.py and rotateBBoxBy90.py)
# --------------------------------------------------------------------------
def naive_rotate_box(
    x0: int, y0: int, width: int, height: int, n90: int, gridW: int, gridH: int
) -> tuple[int, int, int, int]:
    """rotateBBoxBy90: turn the four corners about the grid's centre pixel, then afw's fix-ups."""
    n = n90 % 4
    s, c = {0: (0, 1), 1: (1, 0), 2: (0, -1), 3: (-1, 0)}[n]
    cx, cy = int(gridW / 2), int(gridH / 2)
    xs, ys = [], []
    for px, py in [(x0, y0), (x0 + width - 1, y0), (x0 + width - 1, y0 + height - 1), (x0, y0 + height - 1)]:
        dx, dy = px - cx, py - cy
        xs.append(c * dx - s * dy)
        ys.append(s * dx + c * dy)
    minX, maxX, minY, maxY = min(xs), max(xs), min(ys), max(ys)
    if n == 1 and gridW % 2 == 0:
        minX, maxX = minX - 1, maxX - 1
    if n == 2:
        if gridW % 2 == 0:
            minX, maxX = minX - 1, maxX - 1
        if gridH % 2 == 0:
            minY, maxY = minY - 1, maxY - 1
    if n == 3 and gridH % 2 == 0:
        minY, maxY = minY - 1, maxY - 1
    minX, maxX, minY, maxY = minX + cx, maxX + cx, minY + cy, maxY + cy
    d = cx - cy
    if n % 2 == 1 and d != 0:
        minX, maxX, minY, maxY = minX - d, maxX - d, minY + d, maxY + d
    return minX, minY, maxX, maxY


def naive_rotate_pixels(pixels: np.ndarray, n90: int) -> np.ndarray:
    """afw rotateImage.cc loops (array[y, x] indexing, y up, counter-clockwise turns)."""
    n = n90 % 4
    h, w = pixels.shape
    out = np.empty((w, h) if n % 2 else (h, w), dtype=pixels.dtype)
    for y in range(h):
        for x in range(w):
            if n == 0:
                out[y, x] = pixels[y, x]
            elif n == 1:
                out[x, h - 1 - y] = pixels[y, x]
            elif n == 2:
                out[h - 1 - y, w - 1 - x] = pixels[y, x]
            else:
                out[w - 1 - x, y] = pixels[y, x]
    return out


def naive_camera_box(camera: Camera, binning: int) -> tuple[int, int, int, int]:
    """getCameraImageBBox: floor of fp / pixel size, grown by bufferSize * binning."""
    ps = camera[next(camera.getNameIter())].getPixelSize()
    fp = camera.getFpBBox()
    grow = BUFFER * binning
    return (
        int(fp.getMinX() // ps.getX()) - grow,
        int(fp.getMinY() // ps.getY()) - grow,
        int(fp.getMaxX() // ps.getX()) + grow,
        int(fp.getMaxY() // ps.getY()) + grow,
    )


def naive_detector_box(detector: Detector, binning: int, originX: int, originY: int) -> tuple[int, int]:
    """getCcdInCamBBoxList: the binned, rotated box's minimum in mosaic pixels."""
    ps = detector.getPixelSize()
    corners = detector.getCorners(FOCAL_PLANE)
    llcX, llcY = min(p.x for p in corners), min(p.y for p in corners)
    bbox = detector.getBBox()
    ex, ey = bbox.getWidth() // binning, bbox.getHeight() // binning
    nq = detector.getOrientation().getNQuarter()
    minX, minY, _, _ = naive_rotate_box(bbox.getMinX(), bbox.getMinY(), ex, ey, nq, ex, ey)
    minX += int(llcX // ps.getX() / binning)
    minY += int(llcY // ps.getY() / binning)
    minX += -int(originX // binning)
    minY += -int(originY) // binning
    return minX, minY


def naive_mosaic(camera: Camera, images: dict[int, np.ndarray], binning: int) -> np.ndarray:
    """makeImageFromCamera with ImageSource: NaN background, NaN for missing detectors."""
    x0, y0, x1, y1 = naive_camera_box(camera, binning)
    width = math.ceil((x1 - x0 + 1) / binning)
    height = math.ceil((y1 - y0 + 1) / binning)
    out = np.full((height, width), np.nan, dtype=np.float32)
    for detector in camera:
        bbox = detector.getBBox()
        pixels = images.get(detector.getId())
        if pixels is None:
            pixels = np.full((bbox.getHeight() // binning, bbox.getWidth() // binning), np.nan, np.float32)
        rotated = naive_rotate_pixels(pixels, detector.getOrientation().getNQuarter())
        minX, minY = naive_detector_box(detector, binning, x0, y0)
        for row in range(rotated.shape[0]):
            for col in range(rotated.shape[1]):
                out[minY + row, minX + col] = rotated[row, col]
    return out


def random_images(
    camera: Camera, binning: int, seed: int, skip: tuple[int, ...] = ()
) -> dict[int, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = {}
    for detector in camera:
        if detector.getId() in skip:
            continue
        bbox = detector.getBBox()
        shape = (bbox.getHeight() // binning, bbox.getWidth() // binning)
        pixels = rng.normal(detector.getId(), 0.25, shape).astype(np.float32)
        pixels[rng.random(shape) < 0.05] = np.nan
        images[detector.getId()] = pixels
    return images


def assert_same_mosaic(got: ImageF, expected: np.ndarray) -> None:
    assert got.array.dtype == np.float32
    assert got.getXY0() == Point2I(0, 0)
    np.testing.assert_array_equal(got.array, expected)


# --------------------------------------------------------------------------
# Placement against the naive version
# --------------------------------------------------------------------------
@pytest.mark.parametrize("binning", [256, 512, 100])
def test_dummy_camera_mosaic_matches_afw_loops(binning: int) -> None:
    camera = makeDummyCamera()
    images = random_images(camera, binning, binning)
    got = makeCameraImage(camera, {k: ImageF(v) for k, v in images.items()}, binning)
    assert_same_mosaic(got, naive_mosaic(camera, images, binning))


@pytest.mark.parametrize(
    ("name", "binning", "skip"),
    [("HSC", 256, ()), ("HSC", 64, (0, 5, 100, 104, 111)), ("LSSTCam", 512, (1, 94, 189, 204))],
)
def test_real_camera_mosaic_matches_afw_loops(name: str, binning: int, skip: tuple[int, ...]) -> None:
    camera = getCamera(name)
    quarters = {d.getOrientation().getNQuarter() % 4 for d in camera}
    assert quarters == {0, 1, 2, 3}  # the rotations are really exercised
    images = random_images(camera, binning, 7, skip)
    got = makeCameraImage(camera, {k: ImageF(v) for k, v in images.items()}, binning)
    assert_same_mosaic(got, naive_mosaic(camera, images, binning))
    # Missing detectors are NaN: their boxes hold no value.
    for detectorId in skip:
        detector = camera[detectorId]
        x0, y0, _, _ = naive_camera_box(camera, binning)
        minX, minY = naive_detector_box(detector, binning, x0, y0)
        ex, ey = detector.getBBox().getWidth() // binning, detector.getBBox().getHeight() // binning
        if detector.getOrientation().getNQuarter() % 2:
            ex, ey = ey, ex
        assert np.all(np.isnan(got.array[minY : minY + ey, minX : minX + ex]))


def test_odd_parity_grids_are_placed_one_pixel_off_as_afw_does() -> None:
    # A 25 x 16 grid turned once lands at x = 1, turned three times at y = -1.
    assert rotateBBoxBy90(Box2I(Point2I(0, 0), Extent2I(25, 16)), 1, Extent2I(25, 16)) == Box2I(
        Point2I(1, 0), Extent2I(16, 25)
    )
    assert rotateBBoxBy90(Box2I(Point2I(0, 0), Extent2I(25, 16)), 3, Extent2I(25, 16)) == Box2I(
        Point2I(0, -1), Extent2I(16, 25)
    )
    for w in (7, 8, 15, 16):
        for h in (7, 8, 13, 32):
            for n90 in range(-4, 8):
                got = rotateBBoxBy90(Box2I(Point2I(0, 0), Extent2I(w, h)), n90, Extent2I(w, h))
                minX, minY, maxX, maxY = naive_rotate_box(0, 0, w, h, n90, w, h)
                assert got == Box2I(Point2I(minX, minY), Point2I(maxX, maxY)), (w, h, n90)


def test_overlapping_detectors_are_written_in_id_order() -> None:
    # DummyCam's two detectors overlap: detector 1 is written last.
    camera = makeDummyCamera()
    binning = 256
    x0, y0, _, _ = naive_camera_box(camera, binning)
    ones = {0: np.full((15, 16), 1.0, np.float32), 1: np.full((15, 16), 2.0, np.float32)}
    got = makeCameraImage(camera, {k: ImageF(v) for k, v in ones.items()}, binning).array
    box0 = naive_detector_box(camera[0], binning, x0, y0)
    box1 = naive_detector_box(camera[1], binning, x0, y0)
    overlap = got[
        max(box0[1], box1[1]) : min(box0[1], box1[1]) + 15, max(box0[0], box1[0]) : min(box0[0], box1[0]) + 16
    ]
    assert overlap.size > 0
    assert np.all(overlap == 2.0)
    # Without detector 1, its NaN image still covers the overlap, as the reference's image source does.
    only0 = makeCameraImage(camera, {0: ImageF(ones[0])}, binning).array
    assert np.count_nonzero(np.isfinite(only0)) == 15 * 16 - overlap.size


# --------------------------------------------------------------------------
# Orientation and position, from the geometry alone
# --------------------------------------------------------------------------
def rotated_camera(width: int, height: int) -> Camera:
    """Four detectors turned 0, 90, 180 and 270 degrees, far apart."""
    detectors = []
    for index, yawDeg in enumerate((0.0, 90.0, 180.0, 270.0)):
        detectors.append(
            Detector(
                f"D{index}",
                index,
                bbox=Box2I(Point2I(0, 0), Extent2I(width, height)),
                orientation=Orientation(
                    (60.0 * (index % 2) - 17.0, 70.0 * (index // 2) + 3.0),
                    (width / 2 - 0.5, height / 2 - 0.5),
                    math.radians(yawDeg),
                ),
                pixelSize=(0.01, 0.01),
            )
        )
    return Camera("Turned", detectors)


@pytest.mark.parametrize(("width", "height", "binning"), [(400, 240, 8), (400, 256, 16)])
def test_detectors_point_the_way_the_focal_plane_says(width: int, height: int, binning: int) -> None:
    camera = rotated_camera(width, height)
    ex, ey = width // binning, height // binning
    ramp = 1000.0 * np.arange(ey)[:, np.newaxis] + np.arange(ex)[np.newaxis, :]
    images = {d.getId(): ImageF((ramp + 1e6 * d.getId()).astype(np.float32)) for d in camera}
    mosaic = makeCameraImage(camera, images, binning).array
    ps = 0.01
    fp = camera.getFpBBox()
    originX = math.floor(fp.getMinX() / ps) - BUFFER * binning
    originY = math.floor(fp.getMinY() / ps) - BUFFER * binning
    for detector in camera:
        rows, cols = np.nonzero(np.floor(mosaic / 1e6) == detector.getId())
        block = mosaic[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] - 1e6 * detector.getId()
        assert rows.size == ex * ey == block.size
        # Detector +x and +y in the mosaic: where does one step along each go?
        center = detector.getCenter(FOCAL_PLANE)
        stepX = detector.transform(Point2D(1.0, 0.0), detector.getNativeCoordSys(), FOCAL_PLANE)
        origin = detector.transform(Point2D(0.0, 0.0), detector.getNativeCoordSys(), FOCAL_PLANE)
        dirX = (round((stepX.x - origin.x) / ps), round((stepX.y - origin.y) / ps))
        # A ramp of +1 per detector column and +1000 per detector row, seen in the mosaic.
        colStep = float(np.median(np.diff(block, axis=1)))
        rowStep = float(np.median(np.diff(block, axis=0)))
        expected = {
            (1, 0): (1.0, 1000.0),
            (0, 1): (-1000.0, 1.0),
            (-1, 0): (-1.0, -1000.0),
            (0, -1): (1000.0, -1.0),
        }
        assert (colStep, rowStep) == expected[dirX], detector.getName()
        # The block sits where the detector is, up to afw's roundings: the truncated
        # corner, the origin's floor and the odd-parity shift, each up to one binned
        # pixel (the exact placement is checked against the loops above).
        centreCol = (center.x / ps - originX) / binning - 0.5
        centreRow = (center.y / ps - originY) / binning - 0.5
        assert abs((cols.min() + cols.max()) / 2 - centreCol) <= 3
        assert abs((rows.min() + rows.max()) / 2 - centreRow) <= 3
    assert np.all(np.isnan(mosaic[: BUFFER - 1])) and np.all(np.isnan(mosaic[-(BUFFER - 1) :]))
    assert np.all(np.isnan(mosaic[:, : BUFFER - 1])) and np.all(np.isnan(mosaic[:, -(BUFFER - 1) :]))


# --------------------------------------------------------------------------
# Output size
# --------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "expected"), [("HSC", (4523, 4431)), ("LSSTCam", (7939, 7927))])
def test_binning_8_mosaic_dimensions(name: str, expected: tuple[int, int]) -> None:
    camera = getCamera(name)
    binning = 8
    fp = camera.getFpBBox()
    ps = next(iter(camera)).getPixelSize()
    width = math.floor(fp.getMaxX() / ps.getX()) - math.floor(fp.getMinX() / ps.getX()) + 1
    height = math.floor(fp.getMaxY() / ps.getY()) - math.floor(fp.getMinY() / ps.getY()) + 1
    dims = (
        math.ceil((width + 2 * BUFFER * binning) / binning),
        math.ceil((height + 2 * BUFFER * binning) / binning),
    )
    assert dims == expected
    got = makeCameraImage(camera, {}, binning)
    assert (got.getWidth(), got.getHeight()) == dims
    assert np.all(np.isnan(got.array))


# --------------------------------------------------------------------------
# Binning and NO_DATA
# --------------------------------------------------------------------------
@pytest.mark.parametrize("binning", [8, 24])
def test_bin_for_mosaic_is_block_mean_with_no_data_as_nan(binning: int) -> None:
    rng = np.random.default_rng(binning)
    width, height = 256, 200
    masked = MaskedImageF(width, height)
    masked.setXY0(Point2I(13, -4))
    masked.image.array[...] = rng.normal(10.0, 2.0, (height, width)).astype(np.float32)
    masked.variance.array[...] = 3.0
    noData = rng.random((height, width)) < 0.002
    masked.mask.array[noData] |= Mask.getPlaneBitMask("NO_DATA")
    masked.mask.array[rng.random((height, width)) < 0.05] |= Mask.getPlaneBitMask("BAD")
    before = masked.clone()

    got = binMaskedImageForMosaic(masked, binning)

    outH, outW = height // binning, width // binning
    assert got.array.shape == (outH, outW)
    assert got.getXY0() == Point2I(13, -4)
    reference = binImage(masked, binning).image.array
    for oy in range(outH):
        for ox in range(outW):
            block = masked.image.array[oy * binning : (oy + 1) * binning, ox * binning : (ox + 1) * binning]
            blockNoData = noData[oy * binning : (oy + 1) * binning, ox * binning : (ox + 1) * binning].any()
            if blockNoData:
                assert np.isnan(got.array[oy, ox])
            else:
                assert got.array[oy, ox] == reference[oy, ox]
                assert got.array[oy, ox] == pytest.approx(float(block.astype(np.float64).mean()), rel=1e-6)
    assert 0 < np.count_nonzero(np.isnan(got.array)) < got.array.size
    np.testing.assert_array_equal(masked.image.array, before.image.array)
    np.testing.assert_array_equal(masked.mask.array, before.mask.array)


def test_masked_images_in_the_mosaic_have_no_data_as_nan() -> None:
    camera = makeDummyCamera()
    binning = 256
    rng = np.random.default_rng(1)
    binned = MaskedImageF(16, 15)
    binned.image.array[...] = rng.normal(0.0, 1.0, (15, 16)).astype(np.float32)
    binned.mask.array[3, 4] = Mask.getPlaneBitMask("NO_DATA")
    binned.mask.array[5, 6] = Mask.getPlaneBitMask("SAT")
    expectedPixels = binned.image.array.copy()
    expectedPixels[3, 4] = np.nan
    got = makeCameraImage(camera, {1: binned}, binning)
    assert_same_mosaic(got, naive_mosaic(camera, {1: expectedPixels}, binning))
    assert np.isfinite(binned.image.array[3, 4])  # the input is not modified


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
def test_a_wrongly_sized_image_names_its_detector() -> None:
    camera = getCamera("HSC")
    binning = 256
    images = {k: ImageF(v) for k, v in random_images(camera, binning, 3).items()}
    images[101] = ImageF(np.zeros((8, 16), np.float32))  # nQuarter 1: the unrotated image is 16 high, 8 wide
    with pytest.raises(ValueError, match=r"detector 101 .*16x8 pixels.*gives 8x16"):
        makeCameraImage(camera, images, binning)


def test_bad_requests_are_rejected() -> None:
    camera = makeDummyCamera()
    with pytest.raises(ValueError, match=r"no detectors with ids \[7\]"):
        makeCameraImage(camera, {7: ImageF(np.zeros((15, 16), np.float32))}, 256)
    with pytest.raises(ValueError, match="binning"):
        makeCameraImage(camera, {}, 0)
    with pytest.raises(ValueError, match="detector 0"):
        makeCameraImage(camera, {}, 8192)
    square = Box2I(Point2I(0, 0), Extent2I(64, 64))
    mixed = Camera(
        "Mixed",
        [
            Detector("A", 0, bbox=square, orientation=Orientation(), pixelSize=(0.01, 0.01)),
            Detector("B", 1, bbox=square, orientation=Orientation((1.0, 0.0)), pixelSize=(0.015, 0.015)),
        ],
    )
    with pytest.raises(RuntimeError, match=r"detector 1 \('B'\)"):
        makeCameraImage(mixed, {}, 8)
