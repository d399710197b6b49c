"""Tests of afwlite.cameraGeom and the afw table-archive reader (afwlite.fits._archive)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from lsst.sky.correction.afwlite.cameraGeom import (
    FIELD_ANGLE,
    FOCAL_PLANE,
    PIXELS,
    Angle,
    Camera,
    CameraSys,
    CameraSysError,
    Detector,
    DetectorType,
    Orientation,
    TransformPoint2ToPoint2,
    degrees,
    radians,
)
from lsst.sky.correction.afwlite.fits._archive import (
    TableArchive,
    cameraFromArchive,
    detectorFromArchive,
    detectorFromExposureHdus,
    readDetectorFromExposureFits,
)
from lsst.sky.correction.afwlite.fits._errors import FitsError
from lsst.sky.correction.afwlite.geom import Box2D, Box2I, Extent2D, Extent2I, Point2D, Point2I

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURES = DATA / "afw-fixtures"
EXPOSURE_V2 = FIXTURES / "exposure-version-2.fits"
EXPOSURE_NOVERSION = FIXTURES / "exposure-noversion.fits"
CAMERA_LSSTCAM = DATA / "cameras" / "camera_LSSTCam.fits"


# Independent helpers ---------------------------------------------------------------


def rotation3(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Tait-Bryan Z1Y2X3: rotate about z by yaw, then y' by pitch, then x'' by roll."""
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    rz = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
    ry = np.array([[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cr, -sr], [0.0, sr, cr]])
    return rz @ ry @ rx


def naive_pixels_to_fp(x, y, *, fp, ref, size, yaw, pitch, roll):
    """Offset from the reference pixel in mm, rotated in 3-d, z dropped."""
    offset = np.stack([size[0] * (np.asarray(x) - ref[0]), size[1] * (np.asarray(y) - ref[1]), 0 * x])
    rotated = np.tensordot(rotation3(yaw, pitch, roll), offset, axes=1)
    return fp[0] + rotated[0], fp[1] + rotated[1]


def afw_nquarter(yaw_degrees: float) -> int:
    """afw Orientation::getNQuarter: float degrees, += 360 while negative, floor((d+45)/90)."""
    value = np.float32(yaw_degrees)
    while value < 0:
        value = np.float32(np.float64(value) + 360.0)
    return math.floor((np.float64(value) + 45.0) / 90.0)


def vla_string(value) -> str:
    """An afw variable-length string cell (astropy gives per-character arrays)."""
    return "".join(np.asarray(value).tolist())


def parse_ast(text: str):
    """Parse an AST Channel dump into nested (className, {key: value}) tuples."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]

    def parse(i):
        name = lines[i].split("Begin", 1)[1].strip()
        attributes = {}
        i += 1
        while not lines[i].startswith("End"):
            if lines[i].startswith("IsA"):
                i += 1
                continue
            key, _, value = lines[i].partition("=")
            if value.strip():
                attributes[key.strip()] = value.strip().strip('"')
                i += 1
            else:
                attributes[key.strip()], i = parse(i + 1)
        return (name, attributes), i + 1

    return parse(0)[0]


def ast_affine(node):
    """(matrix, offset) of the AST mappings afw writes for affine transforms."""
    name, a = node
    if name == "WinMap":
        matrix = np.diag([float(a.get("Scl1", 1)), float(a.get("Scl2", 1))])
        offset = np.array([float(a.get("Sft1", 0)), float(a.get("Sft2", 0))])
    elif name == "ShiftMap":
        matrix, offset = np.eye(2), np.array([float(a["Sft1"]), float(a["Sft2"])])
    elif name == "MatrixMap":
        assert a["Form"] == "Full", a
        matrix = np.array([[float(a["M0"]), float(a["M1"])], [float(a["M2"]), float(a["M3"])]])
        offset = np.zeros(2)
    elif name == "CmpMap":
        assert a.get("Series", "1") == "1", "only series CmpMaps are affine here"
        first, second = ast_affine(a["MapA"]), ast_affine(a["MapB"])
        if a.get("InvA", "0") == "1":
            first = invert_affine(*first)
        if a.get("InvB", "0") == "1":
            second = invert_affine(*second)
        matrix, offset = second[0] @ first[0], second[0] @ first[1] + second[1]
    else:
        raise AssertionError(f"unexpected AST mapping {name}")
    if a.get("Invert", "0") == "1":
        return invert_affine(matrix, offset)
    return matrix, offset


def invert_affine(matrix, offset):
    inverse = np.linalg.inv(matrix)
    return inverse, -inverse @ offset


def archived_fp_to_pixels(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """FocalPlane -> Pixels affine maps from a file's TransformMap + AST rows, by detector.

    Handles both TransformMap layouts: one row per connection (fromSysName,
    toSysName, ...), and the old pair of catalogs (systems; from/to/transform).
    """
    result = {}
    with fits.open(path) as hdus:
        index_hdu = next(i for i, h in enumerate(hdus) if h.header.get("EXTTYPE") == "ARCHIVE_INDEX")
        index = hdus[index_hdu].data
        hdu_of = {h.header.get("AR_CATN"): h for h in hdus[index_hdu:]}

        def ast_map(transform_id):
            entry = index[index["id"] == transform_id][0]
            blob = hdu_of[entry["cat.archive"]].data["bytes"][entry["row0"]]
            return ast_affine(parse_ast(np.asarray(blob, dtype=np.uint8).tobytes().decode()))

        tables = [h.data for h in hdus if h.header.get("AR_NAME") == "TransformMap"]
        if "fromSysName" in tables[0].names:
            for row in tables[0]:
                if (
                    vla_string(row["fromSysName"]) == "FocalPlane"
                    and vla_string(row["toSysName"]) == "Pixels"
                ):
                    result[vla_string(row["toSysDetectorName"])] = ast_map(row["transform"])
        else:
            systems = {
                int(r["id"]): (vla_string(r["sysName"]), vla_string(r["detectorName"])) for r in tables[0]
            }
            for row in tables[1]:
                source, target = systems[int(row["from"])], systems[int(row["to"])]
                if source[0] == "Pixels" and target[0] == "FocalPlane":
                    result[source[1]] = invert_affine(*ast_map(row["transform"]))
    return result


def make_detector(**overrides) -> Detector:
    settings = {
        "name": "D0",
        "id": 0,
        "bbox": Box2I(Point2I(0, 0), Extent2I(100, 50)),
        "orientation": Orientation((10.0, -5.0, 0.0), Point2D(49.5, 24.5), 30.0 * degrees),
        "pixelSize": Extent2D(0.01, 0.012),
    }
    settings.update(overrides)
    name, detector_id = settings.pop("name"), settings.pop("id")
    return Detector(name, detector_id, **settings)


# Angle and Orientation ---------------------------------------------------------------------


def test_angle_units():
    assert (180.0 * degrees).asRadians() == math.pi
    assert Angle(math.pi / 2).asDegrees() == pytest.approx(90.0, abs=1e-13)
    assert Angle(1.5, radians) == Angle(1.5)
    assert float(Angle(90.0, degrees)) == pytest.approx(math.pi / 2, abs=1e-15)


def test_orientation_defaults_and_accessors():
    default = Orientation()
    assert default.getFpPosition() == Point2D(0.0, 0.0)
    assert default.getReferencePoint() == Point2D(-0.5, -0.5)
    assert default.getYaw().asRadians() == 0.0
    o = Orientation(Point2D(1.0, 2.0), Point2D(3.0, 4.0), 0.1, 0.2 * radians, 0.3)
    assert o.getFpPosition3() == (1.0, 2.0, 0.0)
    assert (o.getYaw().asRadians(), o.getPitch().asRadians(), o.getRoll().asRadians()) == (0.1, 0.2, 0.3)
    assert Orientation((1.0, 2.0, 7.5)).getHeight() == 7.5
    with pytest.raises(ValueError, match="fpPosition"):
        Orientation((1.0,))
    with pytest.raises(ValueError, match="yaw must be finite"):
        Orientation(yaw=math.nan)


@pytest.mark.parametrize("seed", range(5))
def test_pixel_to_focal_plane_matches_3d_rotation(seed):
    rng = np.random.default_rng(seed)
    fp = rng.uniform(-300, 300, 2)
    ref = rng.uniform(-10, 4000, 2)
    size = rng.uniform(0.005, 0.02, 2)
    yaw, pitch, roll = rng.uniform(-np.pi, np.pi), rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3)
    transform = Orientation(
        (fp[0], fp[1], rng.uniform(-1, 1)), Point2D(*ref), yaw, pitch, roll
    ).makePixelFpTransform(Extent2D(*size))
    x, y = rng.uniform(-100, 4200, (2, 1000))
    expected = naive_pixels_to_fp(x, y, fp=fp, ref=ref, size=size, yaw=yaw, pitch=pitch, roll=roll)
    got = transform.applyForward((x, y))
    np.testing.assert_allclose(got[0], expected[0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(got[1], expected[1], rtol=0, atol=1e-10)
    back = transform.applyInverse(got)
    np.testing.assert_allclose(back[0], x, rtol=0, atol=1e-9)
    np.testing.assert_allclose(back[1], y, rtol=0, atol=1e-9)


def test_reference_point_lands_on_fp_position():
    o = Orientation((12.5, -3.25, 0.0), Point2D(100.0, 200.0), 77.0 * degrees, 0.01, -0.02)
    p = o.makePixelFpTransform(Extent2D(0.015, 0.015)).applyForward(Point2D(100.0, 200.0))
    assert p.x == pytest.approx(12.5, abs=1e-12) and p.y == pytest.approx(-3.25, abs=1e-12)


YAWS = [
    0.0,
    44.999,
    44.9999999,
    45.0,
    90.0,
    134.9,
    180.0043,
    269.9887,
    314.9999,
    314.99999999,
    315.0,
    359.9,
    360.0,
    450.0,
    540.0,
]
YAWS += [-0.0178983, -45.0, -90.0, -181.0, -720.5]


@pytest.mark.parametrize("yaw_deg", YAWS)
def test_nquarter_follows_afw_rule(yaw_deg):
    assert Orientation(yaw=yaw_deg * degrees).getNQuarter() == afw_nquarter(yaw_deg)


def test_nquarter_documented_examples():
    examples = {180.0043: 2, 269.9887: 3, 0.0: 0, 90.0: 1, 315.0: 4, 359.0: 4, -90.0: 3}
    for yaw_deg, expected in examples.items():
        assert Orientation(yaw=yaw_deg * degrees).getNQuarter() == expected, yaw_deg


# Transforms --------------------------------------------------------------------------------


def test_transform_input_forms_agree():
    transform = TransformPoint2ToPoint2([[0.0, -2.0], [3.0, 0.5]], [10.0, -1.0])
    rng = np.random.default_rng(3)
    xy = rng.normal(size=(2, 7))  # afw's (nAxes, nPoints) layout
    expected = np.array([[0.0, -2.0], [3.0, 0.5]]) @ xy + np.array([[10.0], [-1.0]])
    np.testing.assert_allclose(transform.applyForward(xy), expected, rtol=1e-15)
    x, y = transform.applyForward((xy[0], xy[1]))
    np.testing.assert_array_equal(np.stack([x, y]), transform.applyForward(xy))
    points = transform.applyForward([Point2D(*p) for p in xy.T])
    assert all(isinstance(p, Point2D) for p in points)
    np.testing.assert_array_equal(np.array([tuple(p) for p in points]).T, transform.applyForward(xy))
    single = transform.applyForward(Point2D(*xy[:, 0]))
    assert isinstance(single, Point2D) and tuple(single) == tuple(transform.applyForward(xy)[:, 0])
    grid = rng.normal(size=(3, 4))
    gx, gy = transform.applyForward((grid, grid + 1.0))
    assert gx.shape == gy.shape == (3, 4)
    assert transform.applyForward([]) == []
    with pytest.raises(ValueError, match=r"\(nAxes, nPoints\)"):
        transform.applyForward(np.zeros((3, 2)))
    with pytest.raises(TypeError, match="cannot transform"):
        transform.applyForward("points")


def test_transform_inverse_and_composition():
    a = TransformPoint2ToPoint2([[2.0, 1.0], [0.5, 3.0]], [1.0, 2.0])
    b = TransformPoint2ToPoint2([[0.0, 1.0], [-1.0, 0.0]], [-4.0, 0.25])
    p = Point2D(0.3, -7.0)
    via = b.applyForward(a.applyForward(p))
    composed = a.then(b).applyForward(p)
    assert composed.x == pytest.approx(via.x, abs=1e-13) and composed.y == pytest.approx(via.y, abs=1e-13)
    back = a.inverted().applyForward(a.applyForward(p))
    assert back.x == pytest.approx(p.x, abs=1e-14) and back.y == pytest.approx(p.y, abs=1e-14)
    assert a.inverted().inverted() is a
    with pytest.raises(ValueError, match="not invertible"):
        TransformPoint2ToPoint2([[1.0, 2.0], [2.0, 4.0]], [0.0, 0.0])


# Detector and Camera ----------------------------------------------------------------------------


def test_detector_corners_and_center():
    detector = make_detector()
    assert detector.getCorners(PIXELS) == [
        Point2D(-0.5, -0.5),
        Point2D(99.5, -0.5),
        Point2D(99.5, 49.5),
        Point2D(-0.5, 49.5),
    ]
    fp = detector.getCorners(FOCAL_PLANE)
    xs = np.array([-0.5, 99.5, 99.5, -0.5])
    ys = np.array([-0.5, -0.5, 49.5, 49.5])
    ex, ey = naive_pixels_to_fp(
        xs, ys, fp=(10.0, -5.0), ref=(49.5, 24.5), size=(0.01, 0.012), yaw=math.radians(30), pitch=0, roll=0
    )
    np.testing.assert_allclose([(p.x, p.y) for p in fp], np.stack([ex, ey], 1), rtol=0, atol=1e-12)
    centre = detector.getCenter(FOCAL_PLANE)
    assert (centre.x, centre.y) == pytest.approx((10.0, -5.0), abs=1e-12)
    assert detector.getCenter(PIXELS) == Point2D(49.5, 24.5)


def test_detector_systems_and_errors():
    detector = make_detector(name="R22_S11")
    own = CameraSys(PIXELS, "R22_S11")
    assert detector.getNativeCoordSys() == own and detector.makeCameraSys(PIXELS) == own
    p = Point2D(3.0, 4.0)
    assert detector.transform(p, own, FOCAL_PLANE) == detector.transform(p, PIXELS, FOCAL_PLANE)
    assert detector.transform(p, FOCAL_PLANE, FOCAL_PLANE) == p
    assert detector.hasTransform(FOCAL_PLANE) and not detector.hasTransform(CameraSys("Bogus"))
    # afw cameras do have FIELD_ANGLE: afwlite refuses to answer rather than say False.
    with pytest.raises(NotImplementedError, match="FIELD_ANGLE"):
        detector.hasTransform(FIELD_ANGLE)
    with pytest.raises(CameraSysError, match="does not implement FIELD_ANGLE"):
        detector.getTransform(PIXELS, FIELD_ANGLE)
    with pytest.raises(CameraSysError, match="another detector"):
        detector.getTransform(CameraSys(PIXELS, "R22_S12"), FOCAL_PLANE)
    with pytest.raises(NotImplementedError, match="TAN_PIXELS"):
        detector.getTransform(CameraSys("TanPixels", "R22_S11"), FOCAL_PLANE)
    with pytest.raises(CameraSysError, match="unknown coordinate system"):
        detector.getTransform(CameraSys("Bogus", "R22_S11"), FOCAL_PLANE)
    bbox = detector.getBBox()
    bbox.grow(5)
    assert detector.getBBox() == Box2I(Point2I(0, 0), Extent2I(100, 50)), "getBBox must return a copy"


def test_detector_validation():
    with pytest.raises(ValueError, match="pixel size"):
        make_detector(pixelSize=Extent2D(0.0, 0.01))
    with pytest.raises(ValueError, match="bbox"):
        make_detector(bbox=Box2I())
    with pytest.raises(ValueError, match="unknown detector type"):
        make_detector(type=7)
    assert make_detector(type=3).getType() is DetectorType.WAVEFRONT


def test_camera_collection_behaviour():
    detectors = [
        make_detector(name="B", id=5, orientation=Orientation((20.0, 0.0, 0.0), Point2D(0.0, 0.0), 0.5)),
        make_detector(name="A", id=2),
        make_detector(name="C", id=9, orientation=Orientation((-20.0, 8.0, 0.0), Point2D(10.0, 5.0), -2.0)),
    ]
    camera = Camera("Toy", detectors)
    assert camera.getName() == "Toy" and len(camera) == 3
    assert [d.getId() for d in camera] == [2, 5, 9]
    assert list(camera.getIdIter()) == [2, 5, 9] and list(camera.getNameIter()) == ["A", "B", "C"]
    assert camera[5] is detectors[0] and camera["C"] is detectors[2] and camera[np.int32(2)] is detectors[1]
    assert 9 in camera and "A" in camera and 3 not in camera and "Z" not in camera
    with pytest.raises(KeyError, match="no detector with id 3"):
        camera[3]
    with pytest.raises(KeyError, match="no detector with name 'Z'"):
        camera["Z"]
    corners = np.array([tuple(p) for d in detectors for p in d.getCorners(FOCAL_PLANE)])
    box = camera.getFpBBox()
    assert isinstance(box, Box2D)
    assert (box.getMinX(), box.getMinY()) == tuple(corners.min(axis=0))
    # lsst.geom's Box2D.include nudges the maximum by a relative 2*DBL_EPSILON.
    nudged = tuple(
        v * (1 + 2 * np.finfo(float).eps) if v > 0 else v * (1 - 2 * np.finfo(float).eps)
        for v in corners.max(axis=0)
    )
    assert (box.getMaxX(), box.getMaxY()) == nudged
    with pytest.raises(ValueError, match="share id 5"):
        Camera("Bad", [detectors[0], make_detector(name="X", id=5)])
    with pytest.raises(ValueError, match="two detectors are named 'A'"):
        Camera("Bad", [detectors[1], make_detector(name="A", id=6)])


def test_camera_transforms_between_detectors():
    a = make_detector(name="A", id=0)
    b = make_detector(name="B", id=1, orientation=Orientation((3.0, 1.0, 0.0), Point2D(0.0, 0.0), 1.0, 0.1))
    camera = Camera("Toy", [a, b])
    pa, pb = CameraSys(PIXELS, "A"), CameraSys(PIXELS, "B")
    rng = np.random.default_rng(11)
    xy = rng.uniform(0, 100, (2, 50))
    expected = b.transform(a.transform(xy, PIXELS, FOCAL_PLANE), FOCAL_PLANE, PIXELS)
    np.testing.assert_allclose(camera.transform(xy, pa, pb), expected, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(camera.transform(xy, pa, FOCAL_PLANE), a.transform(xy, PIXELS, FOCAL_PLANE))
    with pytest.raises(CameraSysError, match="ambiguous"):
        camera.getTransform(PIXELS, FOCAL_PLANE)
    with pytest.raises(CameraSysError, match="FIELD_ANGLE"):
        camera.getTransform(FOCAL_PLANE, FIELD_ANGLE)
    with pytest.raises(CameraSysError, match="no detector named 'Q'"):
        camera.getTransform(CameraSys(PIXELS, "Q"), FOCAL_PLANE)


# Archive reading ----------------------------------------------------------------------------------


def test_archive_index_lookup_matches_fixture_table():
    with fits.open(EXPOSURE_V2) as hdus:
        archive = TableArchive.fromHduList(hdus)
        assert archive.indexHdu == 4  # AR_HDU = 5 is 1-based
        assert archive.getIds() == list(range(1, 10))
        assert archive.getClassName(9) == "FilterLabel"
        assert archive.findIds("TransformPoint2ToPoint2") == [6, 7, 8]
        catalogs = archive.getCatalogs(4)
        assert [c.hduIndex for c in catalogs] == [8, 11]  # index HDU + cat.archive (4, 7)
        assert [len(c) for c in catalogs] == [1, 3]
        assert catalogs[1].get("name") == ["amp 1", "amp 2", "amp 3"]
        assert catalogs[0].getScalar("name") == "detector 1"  # the blank survives decoding
        transforms = archive.getCatalogs(7)
        assert len(transforms) == 1 and transforms[0].hduIndex == 10 and len(transforms[0]) == 1
        with pytest.raises(FitsError, match="no object with archive id 42"):
            archive.getCatalogs(42)
        with pytest.raises(FitsError, match="no column 'nope'"):
            catalogs[0].get("nope")


def test_archive_only_file_is_found_by_exttype():
    with fits.open(CAMERA_LSSTCAM) as hdus:
        archive = TableArchive.fromHduList(hdus)
        assert archive.indexHdu == 1
        assert archive.findIds("Camera") == [1]


def test_no_archive_is_a_clear_error():
    hdus = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((2, 2), np.float32))])
    with pytest.raises(FitsError, match="no afw table archive"):
        TableArchive.fromHduList(hdus)
    assert detectorFromExposureHdus(hdus) is None


def test_detector_from_exposure_version_2():
    detector = readDetectorFromExposureFits(EXPOSURE_V2)
    assert detector.getName() == "detector 1"
    assert detector.getId() == 1
    assert detector.getSerial() == "xkcd722"
    assert detector.getType() is DetectorType.SCIENCE
    assert detector.getPhysicalType() == "CCD"
    assert detector.getBBox() == Box2I(Point2I(0, 0), Point2I(9, 9))
    assert detector.getPixelSize() == Extent2D(0.02, 0.02)
    orientation = detector.getOrientation()
    assert orientation.getReferencePoint() == Point2D(-0.5, -0.5)
    assert orientation.getFpPosition3() == (0.0, 0.0, 0.0)
    assert orientation.getNQuarter() == 0


def test_detector_from_exposure_noversion_has_no_physical_type():
    with fits.open(EXPOSURE_NOVERSION) as hdus:
        assert (
            "physicalType" not in next(h for h in hdus if h.header.get("AR_NAME") == "Detector").columns.names
        )
        assert "ARCHIVE_ID_DETECTOR" not in hdus[0].header  # found through the old DETECTOR_ID key
        detector = detectorFromExposureHdus(hdus)
    assert (detector.getName(), detector.getId(), detector.getSerial()) == ("detector 1", 1, "xkcd722")
    assert detector.getPhysicalType() == ""
    assert detector.getBBox() == Box2I(Point2I(0, 0), Point2I(9, 9))


@pytest.mark.parametrize("path", [EXPOSURE_V2, EXPOSURE_NOVERSION])
def test_fixture_detector_agrees_with_archived_ast_winmap(path):
    # The archived FocalPlane->Pixels map is an inverted WinMap with Scl 0.02 and
    # Sft 0.01, i.e. fp = 0.02 * pixel + 0.01 on both axes.
    detector = readDetectorFromExposureFits(path)
    matrix, offset = archived_fp_to_pixels(path)["detector 1"]
    np.testing.assert_allclose(invert_affine(matrix, offset)[0], np.diag([0.02, 0.02]), rtol=1e-15)
    np.testing.assert_allclose(invert_affine(matrix, offset)[1], [0.01, 0.01], rtol=1e-15)
    rng = np.random.default_rng(5)
    fp = rng.uniform(-0.1, 0.3, (2, 200))
    ours = detector.transform(fp, FOCAL_PLANE, PIXELS)
    np.testing.assert_allclose(ours, matrix @ fp + offset[:, np.newaxis], rtol=0, atol=1e-12)
    pixels = rng.uniform(-0.5, 9.5, (2, 200))
    np.testing.assert_allclose(
        detector.transform(pixels, PIXELS, FOCAL_PLANE), 0.02 * pixels + 0.01, atol=1e-15
    )
    corners = detector.getCorners(FOCAL_PLANE)
    np.testing.assert_allclose(
        [tuple(p) for p in corners], [(0, 0), (0.2, 0), (0.2, 0.2), (0, 0.2)], atol=1e-15
    )


def test_persisted_lsstcam_agrees_with_its_archived_ast_transforms():
    maps = archived_fp_to_pixels(CAMERA_LSSTCAM)
    with fits.open(CAMERA_LSSTCAM) as hdus:
        camera = cameraFromArchive(hdus)
    assert camera.getName() == "LSSTCam" and len(camera) == 205 and set(maps) == set(camera.getNameIter())
    for detector in camera:
        matrix, offset = maps[detector.getName()]
        corners_px = np.array([tuple(p) for p in detector.getCorners(PIXELS)])
        corners_fp = np.array([tuple(p) for p in detector.getCorners(FOCAL_PLANE)])
        np.testing.assert_allclose(corners_fp @ matrix.T + offset, corners_px, rtol=0, atol=1e-9)


def test_detector_from_archive_rejects_wrong_ids():
    with fits.open(EXPOSURE_V2) as hdus:
        with pytest.raises(FitsError, match="archive id 9 is a FilterLabel, not a Detector"):
            detectorFromArchive(hdus, 9)
        with pytest.raises(FitsError, match="no object with archive id 77"):
            detectorFromArchive(hdus, 77)


def _corrupt_copy(tmp_path: Path, edit) -> Path:
    path = tmp_path / "corrupt.fits"
    shutil.copy(EXPOSURE_V2, path)
    with fits.open(path, mode="update") as hdus:
        edit(hdus)
    return path


def test_corrupt_index_pointing_past_the_file(tmp_path):
    def edit(hdus):
        index = hdus[4].data
        index["cat.archive"][index["id"] == 4] = 40

    path = _corrupt_copy(tmp_path, edit)
    with pytest.raises(FitsError, match=r"corrupt\.fits.*points to catalog 40"):
        readDetectorFromExposureFits(path)


def test_corrupt_catalog_number_mismatch(tmp_path):
    path = _corrupt_copy(tmp_path, lambda hdus: hdus[8].header.set("AR_CATN", 6))
    with pytest.raises(FitsError, match=r"\[HDU 8\]: AR_CATN = 6"):
        readDetectorFromExposureFits(path)


def test_corrupt_row_range(tmp_path):
    def edit(hdus):
        index = hdus[4].data
        index["row0"][(index["id"] == 4) & (index["cat.persistable"] == 0)] = 3

    path = _corrupt_copy(tmp_path, edit)
    with pytest.raises(FitsError, match=r"owns rows \[3, 4\) but the table has 1 rows"):
        readDetectorFromExposureFits(path)


def test_not_fits_is_a_fits_error(tmp_path):
    path = tmp_path / "junk.fits"
    path.write_bytes(b"this is not a FITS file" * 200)
    with pytest.raises(FitsError, match=r"junk\.fits"):
        readDetectorFromExposureFits(path)


def _synthetic_detector_archive(path: Path, version: int) -> None:
    """A version-2 style Detector archive as afw lays it out (fixed-width strings here)."""
    yaw, pitch, roll = math.radians(93.0), 0.002, -0.001
    columns = [
        fits.Column("name", "16A", array=["R9_S9"]),
        fits.Column("id", "J", array=[17]),
        fits.Column("type", "J", array=[2]),
        fits.Column("serial", "16A", array=["SN 42"]),
        *(fits.Column(n, "J", array=[v]) for n, v in [("bbox_min_x", 0), ("bbox_min_y", 0)]),
        *(fits.Column(n, "J", array=[v]) for n, v in [("bbox_max_x", 511), ("bbox_max_y", 255)]),
        *(fits.Column(n, "D", array=[0.01]) for n in ("pixelSize_x", "pixelSize_y")),
        fits.Column("fpPosition_x", "D", array=[-12.0]),
        fits.Column("fpPosition_y", "D", array=[40.0]),
        fits.Column("fpPosition_z", "D", array=[0.25]),
        fits.Column("refPoint_x", "D", array=[255.5]),
        fits.Column("refPoint_y", "D", array=[127.5]),
        fits.Column("yaw", "D", array=[yaw]),
        fits.Column("pitch", "D", array=[pitch]),
        fits.Column("roll", "D", array=[roll]),
        fits.Column("transformMap", "J", array=[0]),
        fits.Column("physicalType", "8A", array=["ITL_G"]),
        fits.Column("version", "J", array=[version]),
    ]
    data = fits.BinTableHDU.from_columns(columns)
    data.header["EXTTYPE"] = "ARCHIVE_DATA"
    data.header["AR_CATN"] = 1
    data.header["AR_NAME"] = "Detector"
    index = fits.BinTableHDU.from_columns(
        [
            *(
                fits.Column(n, "J", array=[v])
                for n, v in [("id", 3), ("cat.archive", 1), ("cat.persistable", 0)]
            ),
            *(fits.Column(n, "J", array=[v]) for n, v in [("row0", 0), ("nrows", 1)]),
            fits.Column("name", "64A", array=["Detector"]),
            fits.Column("module", "64A", array=["lsst.afw.cameraGeom"]),
        ]
    )
    index.header["EXTTYPE"] = "ARCHIVE_INDEX"
    index.header["AR_CATN"] = 0
    primary = fits.PrimaryHDU()
    primary.header["HIERARCH ARCHIVE_ID_DETECTOR"] = 3
    fits.HDUList([primary, index, data]).writeto(path)


def test_version_2_detector_with_3d_position(tmp_path):
    path = tmp_path / "v2.fits"
    _synthetic_detector_archive(path, version=2)
    detector = readDetectorFromExposureFits(path)
    assert (detector.getName(), detector.getId(), detector.getSerial()) == ("R9_S9", 17, "SN 42")
    assert detector.getType() is DetectorType.GUIDER and detector.getPhysicalType() == "ITL_G"
    orientation = detector.getOrientation()
    assert orientation.getFpPosition3() == (-12.0, 40.0, 0.25)
    assert orientation.getYaw().asDegrees() == pytest.approx(93.0, abs=1e-12)
    assert orientation.getNQuarter() == 1
    x, y = np.array([0.0, 511.0, 100.0]), np.array([0.0, 255.0, 7.0])
    expected = naive_pixels_to_fp(
        x,
        y,
        fp=(-12.0, 40.0),
        ref=(255.5, 127.5),
        size=(0.01, 0.01),
        yaw=math.radians(93.0),
        pitch=0.002,
        roll=-0.001,
    )
    got = detector.transform((x, y), PIXELS, FOCAL_PLANE)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_unknown_detector_version_is_rejected(tmp_path):
    path = tmp_path / "v3.fits"
    _synthetic_detector_archive(path, version=3)
    with pytest.raises(FitsError, match="unsupported Detector serialization version 3"):
        readDetectorFromExposureFits(path)


def test_exposure_without_detector_gives_none():
    assert readDetectorFromExposureFits(FIXTURES / "HSC-0908120-056-small.fits") is None
