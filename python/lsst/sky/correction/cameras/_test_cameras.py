"""Two small cameras for tests: obs_base's two-detector DummyCam and the four-detector TinyCam.

Neither is a real instrument; `lsst.sky.correction.testing` exports both
builders and Butler instruments around them.
"""

from __future__ import annotations

__all__ = ["TINY_DIMENSIONS", "TINY_PIXEL_SIZE_MM", "makeDummyCamera", "makeTinyCamera"]

from ..afwlite.cameraGeom import Camera, Detector, DetectorType, Orientation, degrees
from ..afwlite.geom import Box2I, Extent2D, Extent2I, Point2D, Point2I

# obs_base's DummyCam: two 4096 x 4004 detectors of 10 micron pixels, unrotated.
_DIMENSIONS = Extent2I(4096, 4004)
_PIXEL_SIZE_MM = Extent2D(0.010, 0.010)
# (id, name, reference pixel, focal-plane position of that pixel in mm)
_LAYOUT = (
    (0, "RXX_S00", Point2D(2036.5, 2000.5), (-0.515, -0.055)),
    (1, "RXX_S01", Point2D(20.5, 20.5), (0.0, 0.0)),
)


def makeDummyCamera() -> Camera:
    """Build the two-detector ``DummyCam`` camera.

    Returns
    -------
    camera : `~lsst.sky.correction.afwlite.cameraGeom.Camera`
        Camera ``"DummyCam"`` with SCIENCE detectors 0 (``"RXX_S00"``) and 1
        (``"RXX_S01"``), each with bbox (0, 0)-(4095, 4003) and 0.010 mm
        pixels.  Detector 0 has reference pixel (2036.5, 2000.5) at focal-plane
        (-0.515, -0.055) mm; detector 1 has (20.5, 20.5) at (0, 0) mm; yaw,
        pitch and roll are zero.  The two detectors overlap in the focal plane,
        as in obs_base.
    """
    detectors = [
        Detector(
            name,
            detectorId,
            bbox=Box2I(Point2I(0, 0), _DIMENSIONS),
            orientation=Orientation(fpPosition, refPoint),
            pixelSize=_PIXEL_SIZE_MM,
            type=DetectorType.SCIENCE,
        )
        for detectorId, name, refPoint, fpPosition in _LAYOUT
    ]
    return Camera("DummyCam", detectors)


# TinyCam: four 256 x 200 detectors of 10 micron pixels around the focal-plane
# origin, rotated by 0, 90, 180 and 270 degrees: (id, name, centre in mm, yaw).
TINY_DIMENSIONS = Extent2I(256, 200)
TINY_PIXEL_SIZE_MM = 0.010
_TINY_LAYOUT = (
    (0, "R00_S00", (-1.7, -1.7), 0.0),
    (1, "R00_S01", (1.7, -1.7), 90.0),
    (2, "R00_S11", (1.7, 1.7), 180.0),
    (3, "R00_S10", (-1.7, 1.7), 270.0),
)


def makeTinyCamera() -> Camera:
    """Build ``TinyCam``: four small rotated detectors, for fast end-to-end tests.

    Returns
    -------
    camera : `~lsst.sky.correction.afwlite.cameraGeom.Camera`
        Camera ``"TinyCam"``: SCIENCE detectors 0-3 (``R00_S00``,
        ``R00_S01``, ``R00_S11``, ``R00_S10``), each 256 x 200 pixels of
        0.010 mm, centred at (-1.7, -1.7), (1.7, -1.7), (1.7, 1.7) and
        (-1.7, 1.7) mm with yaw 0, 90, 180 and 270 degrees.  The focal plane
        is about 6 x 6 mm.
    """
    centre = Point2D((TINY_DIMENSIONS.x - 1) / 2, (TINY_DIMENSIONS.y - 1) / 2)
    detectors = [
        Detector(
            name,
            detectorId,
            bbox=Box2I(Point2I(0, 0), TINY_DIMENSIONS),
            orientation=Orientation((x, y, 0.0), centre, yaw * degrees),
            pixelSize=Extent2D(TINY_PIXEL_SIZE_MM, TINY_PIXEL_SIZE_MM),
            type=DetectorType.SCIENCE,
        )
        for detectorId, name, (x, y), yaw in _TINY_LAYOUT
    ]
    return Camera("TinyCam", detectors)
