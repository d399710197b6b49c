"""Butler instruments around the test cameras, for repositories made by tests and demos.

They are found by their dotted names (``lsst.sky.correction.testing.TinyCam``)
or by the short names ``DummyCam`` and ``TinyCam`` that
`~lsst.sky.correction.butler.getInstrumentClass` maps to those.
"""

from __future__ import annotations

__all__ = ["DummyCam", "TinyCam"]

from ..afwlite.cameraGeom import Camera
from ..butler.instrument import SkyCorrectionInstrument
from ..cameras import makeDummyCamera, makeTinyCamera


class DummyCam(SkyCorrectionInstrument):
    """obs_base's two-detector test camera (`lsst.sky.correction.testing.makeDummyCamera`)."""

    cameraName = "DummyCam"
    raftNames = True
    filterDefinitions = (("dummy_g", "g"), ("dummy_r", "r"), ("dummy_i", "i"))

    @classmethod
    def makeCamera(cls) -> Camera:
        return makeDummyCamera()


class TinyCam(SkyCorrectionInstrument):
    """Four 256 x 200 rotated detectors (`makeTinyCamera`), for fast tests and demos."""

    cameraName = "TinyCam"
    raftNames = True
    filterDefinitions = (("tiny_g", "g"), ("tiny_r", "r"), ("tiny_i", "i"))

    @classmethod
    def makeCamera(cls) -> Camera:
        return makeTinyCamera()
