#!/usr/bin/env python
"""Regenerate the camera files shipped in lsst/sky/correction/data/cameras.

The detector layouts come from the per-detector CSV tables in
``tests/data/cameras`` (one row per detector: id, name, detector_type,
physical_type, serial, inclusive bbox, pixel size in mm, focal-plane
position of the reference pixel in mm, reference pixel, yaw/pitch/roll in
degrees).  Each is turned into a Camera and written with
`lsst.sky.correction.cameras.writeCameraFile`.

Usage::

    python scripts/make_camera_files.py            # rewrite the shipped files
    python scripts/make_camera_files.py --check    # fail if they are stale
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

from lsst.sky.correction.afwlite.cameraGeom import Camera, Detector, DetectorType, Orientation, degrees
from lsst.sky.correction.afwlite.geom import Box2I, Extent2D, Point2D, Point2I
from lsst.sky.correction.cameras import writeCameraFile

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO / "tests" / "data" / "cameras"
DEFAULT_OUTPUT = REPO / "python" / "lsst" / "sky" / "correction" / "data" / "cameras"

# Camera name -> (source CSV, provenance written into the file's metadata).
CAMERAS = {
    "LSSTCam": ("lsstcam.csv", "Rubin LSSTCam detector layout (obs_lsst camera description)."),
    "LSSTComCam": ("lsstcomcam.csv", "Rubin LSSTComCam detector layout (obs_lsst camera description)."),
    "HSC": ("hsc.csv", "Subaru Hyper Suprime-Cam detector layout (obs_subaru camera description)."),
    "DECam": ("decam.csv", "CTIO Dark Energy Camera detector layout (obs_decam camera description)."),
}


def cameraFromCsv(name: str, path: Path) -> Camera:
    """Build a Camera from one of the per-detector CSV tables."""
    detectors = []
    with path.open(newline="") as stream:
        for row in csv.DictReader(stream):
            orientation = Orientation(
                (float(row["fp_x_mm"]), float(row["fp_y_mm"]), 0.0),
                Point2D(float(row["refpos_x"]), float(row["refpos_y"])),
                float(row["yaw_deg"]) * degrees,
                float(row["pitch_deg"]) * degrees,
                float(row["roll_deg"]) * degrees,
            )
            detectors.append(
                Detector(
                    row["name"],
                    int(row["id"]),
                    bbox=Box2I(
                        Point2I(int(row["bbox_x0"]), int(row["bbox_y0"])),
                        Point2I(int(row["bbox_x1"]), int(row["bbox_y1"])),
                    ),
                    orientation=orientation,
                    pixelSize=Extent2D(float(row["pixel_size_x_mm"]), float(row["pixel_size_y_mm"])),
                    type=DetectorType(int(row["detector_type"])),
                    serial=row["serial"],
                    physicalType=row["physical_type"],
                )
            )
    return Camera(name, detectors)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="directory of the CSV tables")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="directory to write to")
    parser.add_argument("--check", action="store_true", help="compare with the existing files, write nothing")
    args = parser.parse_args()

    stale = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, (csvName, provenance) in CAMERAS.items():
            camera = cameraFromCsv(name, args.source / csvName)
            target = args.output / f"{name}.ecsv"
            written = Path(scratch) / target.name if args.check else target
            writeCameraFile(camera, written, description=provenance)
            if args.check and (not target.exists() or target.read_bytes() != written.read_bytes()):
                stale.append(target)
            print(f"{name}: {len(camera)} detectors -> {target}{' (checked)' if args.check else ''}")
    if stale:
        print("out of date: " + ", ".join(str(p) for p in stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
