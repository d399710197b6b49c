"""Tests of lsst.sky.correction.cameras (shipped cameras, camera files, afw cameras) and testing."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np
import pytest

from lsst.sky.correction.afwlite.cameraGeom import FOCAL_PLANE, PIXELS, Camera, DetectorType
from lsst.sky.correction.afwlite.fits._errors import FitsError
from lsst.sky.correction.afwlite.geom import Box2I, Extent2D, Point2D, Point2I
from lsst.sky.correction.cameras import (
    CAMERA_FILE_VERSION,
    CameraFileError,
    getCamera,
    getCameraNames,
    readAfwCameraFits,
    readCameraFile,
    writeCameraFile,
)
from lsst.sky.correction.testing import makeDummyCamera

DATA = Path(__file__).resolve().parents[1] / "data"
CSV_FILES = {
    "LSSTCam": "lsstcam.csv",
    "LSSTComCam": "lsstcomcam.csv",
    "HSC": "hsc.csv",
    "DECam": "decam.csv",
}


def load_csv(name: str) -> list[dict[str, str]]:
    with (DATA / "cameras" / CSV_FILES[name]).open(newline="") as stream:
        return list(csv.DictReader(stream))


def csv_corners(row: dict[str, str]) -> list[tuple[float, float]]:
    """Focal-plane corners of Box2D(bbox), one point at a time, straight from the CSV columns.

    Corner order: (min, min), (max, min), (max, max), (min, max).
    """
    yaw, pitch, roll = (math.radians(float(row[k])) for k in ("yaw_deg", "pitch_deg", "roll_deg"))
    cy, sy, cp, sp, cr, sr = (
        math.cos(yaw),
        math.sin(yaw),
        math.cos(pitch),
        math.sin(pitch),
        math.cos(roll),
        math.sin(roll),
    )
    a, b = cy * cp, cy * sp * sr - cr * sy
    c, d = cp * sy, cy * cr + sy * sp * sr
    x0, x1 = int(row["bbox_x0"]) - 0.5, int(row["bbox_x1"]) + 0.5
    y0, y1 = int(row["bbox_y0"]) - 0.5, int(row["bbox_y1"]) + 0.5
    corners = []
    for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
        u = float(row["pixel_size_x_mm"]) * (x - float(row["refpos_x"]))
        v = float(row["pixel_size_y_mm"]) * (y - float(row["refpos_y"]))
        corners.append((float(row["fp_x_mm"]) + a * u + b * v, float(row["fp_y_mm"]) + c * u + d * v))
    return corners


def afw_nquarter(yaw_degrees: float) -> int:
    value = np.float32(yaw_degrees)
    while value < 0:
        value = np.float32(np.float64(value) + 360.0)
    return math.floor((np.float64(value) + 45.0) / 90.0)


def assert_matches_csv(camera: Camera, rows: list[dict[str, str]]) -> None:
    assert len(camera) == len(rows)
    assert list(camera.getIdIter()) == sorted(int(r["id"]) for r in rows)
    for row in rows:
        detector = camera[int(row["id"])]
        assert camera[row["name"]] is detector
        assert detector.getName() == row["name"]
        assert detector.getType() == DetectorType(int(row["detector_type"]))
        assert detector.getPhysicalType() == row["physical_type"]
        assert detector.getSerial() == row["serial"]
        bbox = Box2I(
            Point2I(int(row["bbox_x0"]), int(row["bbox_y0"])),
            Point2I(int(row["bbox_x1"]), int(row["bbox_y1"])),
        )
        assert detector.getBBox() == bbox
        assert detector.getPixelSize() == Extent2D(
            float(row["pixel_size_x_mm"]), float(row["pixel_size_y_mm"])
        )
        ours = np.array([tuple(p) for p in detector.getCorners(FOCAL_PLANE)])
        np.testing.assert_allclose(ours, csv_corners(row), rtol=0, atol=1e-9, err_msg=row["name"])


# Shipped cameras ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CSV_FILES))
def test_shipped_camera_matches_csv_layout(name):
    camera = getCamera(name)
    assert camera.getName() == name
    assert_matches_csv(camera, load_csv(name))


@pytest.mark.parametrize(
    ("name", "count", "science", "pixel_mm"),
    [
        ("LSSTCam", 205, 189, 0.010),
        ("LSSTComCam", 9, 9, 0.010),
        ("HSC", 112, 104, 0.015),
        ("DECam", 62, 62, 0.015),
    ],
)
def test_shipped_camera_counts(name, count, science, pixel_mm):
    camera = getCamera(name)
    assert len(camera) == count
    assert sum(d.getType() == DetectorType.SCIENCE for d in camera) == science
    assert {d.getPixelSize() for d in camera} == {Extent2D(pixel_mm, pixel_mm)}


def test_hsc_known_values():
    hsc = getCamera("HSC")
    detector = hsc[0]
    assert detector.getName() == "1_53" and hsc["1_53"] is detector
    assert detector.getBBox() == Box2I(Point2I(0, 0), Point2I(2047, 4175))
    assert detector.getPixelSize() == Extent2D(0.015, 0.015)
    orientation = detector.getOrientation()
    assert orientation.getReferencePoint() == Point2D(1023.5, 2087.5)
    assert orientation.getYaw().asDegrees() == pytest.approx(180.0042795, abs=1e-12)
    fp = orientation.getFpPosition()
    assert (fp.x, fp.y) == pytest.approx((0.015 * 14861.08, 0.015 * -6629.29), abs=1e-9)
    assert orientation.getNQuarter() == 2
    assert {hsc[i].getName() for i in range(100, 104)} == {"0_31", "1_35", "0_35", "1_31"}
    assert sum(d.getType() == DetectorType.FOCUS for d in hsc) == 8


def test_lsstcam_known_values():
    cam = getCamera("LSSTCam")
    assert cam["R22_S11"].getCenter(FOCAL_PLANE).distanceSquared(Point2D(0.0, 0.0)) < 0.05**2
    assert (
        cam["R00_SG0"].getType() is DetectorType.GUIDER and cam["R00_SW0"].getType() is DetectorType.WAVEFRONT
    )
    assert cam["R00_SW0"].getBBox() == Box2I(Point2I(0, 0), Point2I(4071, 1999))
    assert {cam[i].getPhysicalType() for i in range(189)} == {"E2V", "ITL"}


def test_rotated_detectors_nquarter_follows_afw_rule():
    hsc_rows = {int(r["id"]): r for r in load_csv("HSC")}
    hsc = getCamera("HSC")
    for detector_id in (100, 101, 102, 103):
        yaw_deg = float(hsc_rows[detector_id]["yaw_deg"])
        assert hsc[detector_id].getOrientation().getNQuarter() == afw_nquarter(yaw_deg)
    assert [hsc[i].getOrientation().getNQuarter() for i in (100, 101, 102, 103)] == [3, 3, 1, 1]
    lsst = getCamera("LSSTCam")
    corner = [r for r in load_csv("LSSTCam") if r["detector_type"] in ("2", "3")]
    assert len(corner) == 16 and any(float(r["yaw_deg"]) >= 360 for r in corner)
    for row in corner:
        assert lsst[row["name"]].getOrientation().getNQuarter() == afw_nquarter(float(row["yaw_deg"])), row[
            "name"
        ]
    # Yaws of 360/450/540 degrees give 4/5/6 quarters, as in afw; consumers take % 4.
    assert lsst["R00_SG0"].getOrientation().getNQuarter() == 5


@pytest.mark.parametrize("name", list(CSV_FILES))
def test_forward_inverse_identity_every_detector(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    camera = getCamera(name)
    for detector in camera:
        bbox = detector.getBBox()
        pixels = rng.uniform(
            (bbox.getMinX() - 100, bbox.getMinY() - 100),
            (bbox.getMaxX() + 100, bbox.getMaxY() + 100),
            (500, 2),
        ).T
        fp = detector.transform(pixels, PIXELS, FOCAL_PLANE)
        np.testing.assert_allclose(detector.transform(fp, FOCAL_PLANE, PIXELS), pixels, rtol=0, atol=1e-9)
        transform = detector.getTransform(FOCAL_PLANE, PIXELS)
        np.testing.assert_allclose(
            transform.applyForward(transform.applyInverse(pixels)), pixels, rtol=0, atol=1e-9
        )


def test_get_camera_is_cached_and_validates_names():
    assert getCameraNames() == ("LSSTCam", "LSSTComCam", "HSC", "DECam")
    assert getCamera("HSC") is getCamera("HSC")
    with pytest.raises(KeyError, match=r"unknown camera 'Nope'.*LSSTCam, LSSTComCam, HSC, DECam"):
        getCamera("Nope")
    with pytest.raises(KeyError, match="did you mean 'LSSTCam'"):
        getCamera("lsstcam")


# afw-persisted cameras -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["LSSTCam", "LSSTComCam"])
def test_afw_camera_fits_matches_csv_layout(name):
    camera = readAfwCameraFits(DATA / "cameras" / f"camera_{name}.fits")
    assert camera.getName() == name
    assert_matches_csv(camera, load_csv(name))


def test_afw_camera_fits_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        readAfwCameraFits(tmp_path / "missing.fits")
    with pytest.raises(FitsError, match=r"exposure-version-2\.fits.*expected one Camera.*found 0"):
        readAfwCameraFits(DATA / "afw-fixtures" / "exposure-version-2.fits")
    junk = tmp_path / "junk.fits"
    junk.write_text("no FITS here\n" * 300)
    with pytest.raises(FitsError, match=r"junk\.fits"):
        readAfwCameraFits(junk)


# Camera files -----------------------------------------------------------------------------------


def assert_same_camera(a: Camera, b: Camera) -> None:
    assert a.getName() == b.getName() and list(a.getIdIter()) == list(b.getIdIter())
    for x in a:
        y = b[x.getId()]
        assert (x.getName(), x.getType(), x.getSerial(), x.getPhysicalType()) == (
            y.getName(),
            y.getType(),
            y.getSerial(),
            y.getPhysicalType(),
        )
        assert x.getBBox() == y.getBBox() and x.getPixelSize() == y.getPixelSize()
        assert x.getOrientation() == y.getOrientation()


@pytest.mark.parametrize("name", list(CSV_FILES))
def test_camera_file_round_trip(tmp_path, name):
    camera = getCamera(name)
    path = tmp_path / f"{name}.ecsv"
    writeCameraFile(camera, path, description="round trip")
    assert_same_camera(readCameraFile(path), camera)
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "no temporary file may be left behind"


def test_camera_file_round_trip_dummy_and_overwrite(tmp_path):
    path = tmp_path / "dummy.ecsv"
    path.write_text("stale content")
    writeCameraFile(makeDummyCamera(), path)
    assert_same_camera(readCameraFile(path), makeDummyCamera())
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask, "the file gets ordinary permissions"


def test_failed_write_leaves_existing_file(tmp_path):
    path = tmp_path / "camera.ecsv"
    writeCameraFile(makeDummyCamera(), path)
    before = path.read_bytes()
    with pytest.raises(AttributeError):
        writeCameraFile("not a camera", path)  # type: ignore[arg-type]
    assert path.read_bytes() == before and len(list(tmp_path.iterdir())) == 1


def test_camera_file_accepts_other_units(tmp_path):
    text = _dummy_text(tmp_path)
    text = text.replace(
        "unit: mm, datatype: float64, description: pixel size along x",
        "unit: um, datatype: float64, description: pixel size along x",
    )
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    columns = lines[header].split()
    for i in range(header + 1, len(lines)):
        fields = lines[i].split()
        fields[columns.index("pixel_size_x")] = "10.0"
        lines[i] = " ".join(fields)
    path = tmp_path / "um.ecsv"
    path.write_text("\n".join(lines) + "\n")
    camera = readCameraFile(path)
    assert camera[0].getPixelSize().x == pytest.approx(0.010, rel=1e-15)


def _dummy_text(tmp_path: Path) -> str:
    path = tmp_path / "template.ecsv"
    writeCameraFile(makeDummyCamera(), path)
    return path.read_text()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("lsst.sky.correction camera", "something else"), "not a camera file"),
        (
            lambda t: t.replace(f"format_version: {CAMERA_FILE_VERSION}", "format_version: 99"),
            "version 99 is not supported",
        ),
        (lambda t: t.replace("camera_name: DummyCam", "camera_name: ''"), "camera_name"),
        (
            lambda t: t.replace(
                "unit: mm, datatype: float64, description: pixel size along y",
                "unit: s, datatype: float64, description: pixel size along y",
            ),
            "pixel_size_y.*does not convert",
        ),
        (lambda t: t.replace("{name: yaw, unit: deg,", "{name: yaw,"), "'yaw' needs a unit"),
        (lambda t: t.replace(" SCIENCE ", " SCIENTIFIC ", 1), "unknown detector type 'SCIENTIFIC'"),
        (lambda t: t.replace("\n1 RXX_S01", "\n0 RXX_S01"), "share id 0"),
        (lambda t: t.replace("RXX_S01 SCIENCE", "RXX_S00 SCIENCE"), "two detectors are named 'RXX_S00'"),
        (lambda t: t.replace(" 4095 4003 ", " -5 4003 ", 1), "empty bbox"),
        (lambda t: t.replace(" 0.01 0.01 ", " 0.0 0.01 ", 1), "pixel size must be positive"),
        (lambda t: t.replace("# %ECSV 1.0", "%PDF-1.4"), "not a readable ECSV camera file"),
    ],
)
def test_malformed_camera_files(tmp_path, edit, message):
    original = _dummy_text(tmp_path)
    edited = edit(original)
    assert edited != original, "the edit must change the file"
    path = tmp_path / "bad.ecsv"
    path.write_text(edited)
    with pytest.raises(CameraFileError, match=message) as info:
        readCameraFile(path)
    assert "bad.ecsv" in str(info.value)


def test_missing_column_and_missing_file(tmp_path):
    from astropy.table import Table

    table = Table.read(_dummy_text(tmp_path), format="ascii.ecsv")
    table.remove_column("refpos_y")
    path = tmp_path / "nocol.ecsv"
    table.write(path, format="ascii.ecsv")
    with pytest.raises(CameraFileError, match=r"nocol\.ecsv: missing column\(s\) refpos_y"):
        readCameraFile(path)
    table = Table.read(_dummy_text(tmp_path), format="ascii.ecsv")
    table.remove_columns(["fp_z", "serial", "physical_type"])  # optional columns
    path = tmp_path / "optional.ecsv"
    table.write(path, format="ascii.ecsv")
    camera = readCameraFile(path)
    assert camera[0].getOrientation().getHeight() == 0.0 and camera[0].getSerial() == ""
    with pytest.raises(FileNotFoundError, match=r"missing\.ecsv"):
        readCameraFile(tmp_path / "missing.ecsv")


# testing.makeDummyCamera --------------------------------------------------------------------------


def test_dummy_camera_geometry():
    camera = makeDummyCamera()
    assert camera.getName() == "DummyCam" and list(camera.getNameIter()) == ["RXX_S00", "RXX_S01"]
    for detector in camera:
        assert detector.getBBox() == Box2I(Point2I(0, 0), Point2I(4095, 4003))
        assert detector.getPixelSize() == Extent2D(0.010, 0.010)
        assert detector.getOrientation().getNQuarter() == 0
    # Reference pixels land on the documented focal-plane offsets; pixels are 10 microns.
    p0 = camera[0].transform(Point2D(2036.5, 2000.5), PIXELS, FOCAL_PLANE)
    assert (p0.x, p0.y) == pytest.approx((-0.515, -0.055), abs=1e-12)
    p1 = camera[1].transform(Point2D(20.5, 20.5), PIXELS, FOCAL_PLANE)
    assert (p1.x, p1.y) == pytest.approx((0.0, 0.0), abs=1e-12)
    corner = camera[1].getCorners(FOCAL_PLANE)[0]
    assert (corner.x, corner.y) == pytest.approx((-0.21, -0.21), abs=1e-12)
    box = camera.getFpBBox()
    assert (box.getMinX(), box.getMinY()) == pytest.approx(
        (-0.01 * 2037 - 0.515, -0.01 * 2001 - 0.055), abs=1e-12
    )
    assert (box.getMaxX(), box.getMaxY()) == pytest.approx((0.01 * 4075.0, 0.01 * 3983.0), abs=1e-12)
