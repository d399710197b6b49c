"""A small camera for tests: the geometry of obs_base's two-detector DummyCam."""

from __future__ import annotations

__all__ = ["makeDummyCamera"]

from ..afwlite.cameraGeom import Camera, Detector, DetectorType, Orientation
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
