"""The sky_correction camera file: one ECSV table row per detector.

The format is documented in ``docs/cameras.md``.  Lengths are stored in
mm, pixel quantities in pixels and angles in degrees, each column carrying
its unit; on reading, any unit convertible to the expected one is accepted.
"""

from __future__ import annotations

__all__ = [
    "CAMERA_FILE_FORMAT",
    "CAMERA_FILE_VERSION",
    "CameraFileError",
    "readCameraFile",
    "writeCameraFile",
]

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.table import Column, MaskedColumn, Table

from ..afwlite.cameraGeom import Camera, Detector, DetectorType, Orientation, degrees
from ..afwlite.geom import Box2I, Extent2D, Point2D, Point2I

CAMERA_FILE_FORMAT = "lsst.sky.correction camera"
"""Value of the ``format`` metadata key that identifies a camera file."""

CAMERA_FILE_VERSION = 1
"""The version of the camera file format this module writes (and the newest it reads)."""

# (column, kind, unit, description).  kind: "int", "float" or "str".
_COLUMNS: tuple[tuple[str, str, u.UnitBase | None, str], ...] = (
    ("id", "int", None, "unique integer detector id"),
    ("name", "str", None, "unique detector name"),
    ("type", "str", None, "detector type: SCIENCE, FOCUS, GUIDER or WAVEFRONT"),
    ("physical_type", "str", None, "sensor technology or vendor; may be empty"),
    ("serial", "str", None, "detector serial; may be empty"),
    ("bbox_x0", "int", u.pix, "first pixel column of the detector bbox (inclusive)"),
    ("bbox_y0", "int", u.pix, "first pixel row of the detector bbox (inclusive)"),
    ("bbox_x1", "int", u.pix, "last pixel column of the detector bbox (inclusive)"),
    ("bbox_y1", "int", u.pix, "last pixel row of the detector bbox (inclusive)"),
    ("pixel_size_x", "float", u.mm, "pixel size along x"),
    ("pixel_size_y", "float", u.mm, "pixel size along y"),
    ("fp_x", "float", u.mm, "focal-plane x of the reference point"),
    ("fp_y", "float", u.mm, "focal-plane y of the reference point"),
    ("fp_z", "float", u.mm, "focal-plane z of the reference point (unused by the geometry)"),
    ("refpos_x", "float", u.pix, "reference point x in detector pixels"),
    ("refpos_y", "float", u.pix, "reference point y in detector pixels"),
    ("yaw", "float", u.deg, "rotation about the focal-plane z axis (1st rotation)"),
    ("pitch", "float", u.deg, "rotation about y' (2nd rotation)"),
    ("roll", "float", u.deg, "rotation about x'' (3rd rotation)"),
)
# Columns a file may leave out, with the value they then take.
_OPTIONAL_DEFAULTS: Mapping[str, Any] = {"physical_type": "", "serial": "", "fp_z": 0.0}


class CameraFileError(ValueError):
    """A camera file is missing, malformed, or of an unsupported version.

    Messages always name the file.
    """


def writeCameraFile(camera: Camera, path: str | os.PathLike[str], *, description: str = "") -> None:
    """Write ``camera`` as a camera file (ECSV), atomically.

    Parameters
    ----------
    camera : `~lsst.sky.correction.afwlite.cameraGeom.Camera`
        The camera to write; detectors are written in id order.
    path : `str` or path-like
        Destination; an existing file is replaced only once the new one is
        complete.
    description : `str`, optional
        Free text (e.g. provenance) stored as the ``description`` metadata.
    """
    destination = Path(path)
    detectors = list(camera)
    values: dict[str, list[Any]] = {name: [] for name, *_ in _COLUMNS}
    for detector in detectors:
        bbox = detector.getBBox()
        orientation = detector.getOrientation()
        fpX, fpY, fpZ = orientation.getFpPosition3()
        row = {
            "id": detector.getId(),
            "name": detector.getName(),
            "type": detector.getType().name,
            "physical_type": detector.getPhysicalType(),
            "serial": detector.getSerial(),
            "bbox_x0": bbox.getMinX(),
            "bbox_y0": bbox.getMinY(),
            "bbox_x1": bbox.getMaxX(),
            "bbox_y1": bbox.getMaxY(),
            "pixel_size_x": detector.getPixelSize().x,
            "pixel_size_y": detector.getPixelSize().y,
            "fp_x": fpX,
            "fp_y": fpY,
            "fp_z": fpZ,
            "refpos_x": orientation.getReferencePoint().x,
            "refpos_y": orientation.getReferencePoint().y,
            "yaw": orientation.getYaw().asDegrees(),
            "pitch": orientation.getPitch().asDegrees(),
            "roll": orientation.getRoll().asDegrees(),
        }
        for name, value in row.items():
            values[name].append(value)
    dtypes = {"int": np.int64, "float": np.float64, "str": str}
    columns = [
        Column(np.array(values[name], dtype=dtypes[kind]), name=name, unit=unit, description=text)
        for name, kind, unit, text in _COLUMNS
    ]
    meta: dict[str, Any] = {
        "format": CAMERA_FILE_FORMAT,
        "format_version": CAMERA_FILE_VERSION,
        "camera_name": camera.getName(),
    }
    if camera.getPupilFactoryName():
        meta["pupil_factory_name"] = camera.getPupilFactoryName()
    if description:
        meta["description"] = description
    table = Table(columns, meta=meta)
    # A fresh name in the same directory (so os.replace is atomic); astropy
    # creates it, so the file gets the usual umask permissions.
    temporary = destination.with_name(f".{destination.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    try:
        table.write(temporary, format="ascii.ecsv")
        os.replace(temporary, destination)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def readCameraFile(path: str | os.PathLike[str]) -> Camera:
    """Read a camera file written by `writeCameraFile` (or by hand, see docs/cameras.md).

    Parameters
    ----------
    path : `str` or path-like
        The ECSV camera file.

    Returns
    -------
    camera : `~lsst.sky.correction.afwlite.cameraGeom.Camera`

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    CameraFileError
        If it is not a camera file, has an unsupported version, lacks a
        column, has a value of the wrong type, unit or range, or repeats a
        detector id or name.
    """
    where = os.fspath(path)
    if not Path(path).is_file():
        raise FileNotFoundError(f"{where}: no such camera file")
    try:
        table = Table.read(path, format="ascii.ecsv")
    except Exception as error:  # astropy raises many kinds for a malformed ECSV.
        raise CameraFileError(f"{where}: not a readable ECSV camera file: {error}") from None
    name = _checkMeta(table.meta, where)
    columns = _readColumns(table, where)
    detectors = []
    for row in range(len(table)):
        detectorName = columns["name"][row]
        try:
            typeName = columns["type"][row]
            if typeName not in DetectorType.__members__:
                known = ", ".join(DetectorType.__members__)
                raise ValueError(f"unknown detector type {typeName!r} (expected one of {known})")
            orientation = Orientation(
                (columns["fp_x"][row], columns["fp_y"][row], columns["fp_z"][row]),
                Point2D(columns["refpos_x"][row], columns["refpos_y"][row]),
                columns["yaw"][row] * degrees,
                columns["pitch"][row] * degrees,
                columns["roll"][row] * degrees,
            )
            detectors.append(
                Detector(
                    detectorName,
                    columns["id"][row],
                    bbox=_makeBBox(columns, row),
                    orientation=orientation,
                    pixelSize=Extent2D(columns["pixel_size_x"][row], columns["pixel_size_y"][row]),
                    type=DetectorType[typeName],
                    serial=columns["serial"][row],
                    physicalType=columns["physical_type"][row],
                )
            )
        except (TypeError, ValueError) as error:
            raise CameraFileError(f"{where}: row {row} (detector {detectorName!r}): {error}") from None
    try:
        return Camera(name, detectors, pupilFactoryName=str(table.meta.get("pupil_factory_name", "")))
    except ValueError as error:
        raise CameraFileError(f"{where}: {error}") from None


def _makeBBox(columns: Mapping[str, list[Any]], row: int) -> Box2I:
    x0, y0, x1, y1 = (columns[c][row] for c in ("bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1"))
    if x1 < x0 or y1 < y0:
        raise ValueError(f"empty bbox ({x0}, {y0})-({x1}, {y1}); the maximum is inclusive")
    return Box2I(Point2I(x0, y0), Point2I(x1, y1))


def _checkMeta(meta: Mapping[str, Any], where: str) -> str:
    """Validate the metadata; return the camera name."""
    if meta.get("format") != CAMERA_FILE_FORMAT:
        raise CameraFileError(
            f"{where}: not a camera file (metadata 'format' is {meta.get('format')!r}, "
            f"expected {CAMERA_FILE_FORMAT!r})"
        )
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise CameraFileError(f"{where}: metadata 'format_version' must be an integer, got {version!r}")
    if not 1 <= version <= CAMERA_FILE_VERSION:
        raise CameraFileError(
            f"{where}: camera file format version {version} is not supported "
            f"(this reader knows 1..{CAMERA_FILE_VERSION})"
        )
    name = meta.get("camera_name")
    if not isinstance(name, str) or not name:
        raise CameraFileError(f"{where}: metadata 'camera_name' must be a non-empty string, got {name!r}")
    return name


def _readColumns(table: Table, where: str) -> dict[str, list[Any]]:
    """Every column as a list of Python values in the canonical unit."""
    missing = [name for name, *_ in _COLUMNS if name not in table.colnames and name not in _OPTIONAL_DEFAULTS]
    if missing:
        raise CameraFileError(f"{where}: missing column(s) {', '.join(missing)}")
    columns: dict[str, list[Any]] = {}
    for name, kind, unit, _ in _COLUMNS:
        if name not in table.colnames:
            columns[name] = [_OPTIONAL_DEFAULTS[name]] * len(table)
            continue
        column = table[name]
        if kind == "str":
            if column.dtype.kind not in "US":
                raise CameraFileError(f"{where}: column {name!r} must hold strings, not {column.dtype}")
            # ECSV reads empty strings back as masked entries.
            filled = column.filled("") if isinstance(column, MaskedColumn) else column
            columns[name] = [str(v) for v in filled]
            if name in ("name", "type") and not all(columns[name]):
                raise CameraFileError(f"{where}: column {name!r} has an empty value")
            continue
        if isinstance(column, MaskedColumn) and np.any(column.mask):
            row = int(np.flatnonzero(column.mask)[0])
            raise CameraFileError(f"{where}: column {name!r} has no value in row {row}")
        allowed = "iu" if kind == "int" else "iuf"
        if column.dtype.kind not in allowed:
            raise CameraFileError(f"{where}: column {name!r} must hold {kind}s, not {column.dtype}")
        values = np.asarray(column)
        if unit is not None:
            values = _toUnit(column, unit, name, where)
        if kind == "float" and not np.all(np.isfinite(values)):
            raise CameraFileError(f"{where}: column {name!r} has a non-finite value")
        columns[name] = [int(v) for v in values] if kind == "int" else [float(v) for v in values]
    return columns


def _toUnit(column: Column, unit: u.UnitBase, name: str, where: str) -> np.ndarray:
    if column.unit is None:
        raise CameraFileError(f"{where}: column {name!r} needs a unit ({unit})")
    if column.unit == unit:
        return np.asarray(column)
    try:
        return np.asarray(column.quantity.to_value(unit))
    except u.UnitConversionError:
        raise CameraFileError(
            f"{where}: column {name!r} is in {column.unit}, which does not convert to {unit}"
        ) from None
