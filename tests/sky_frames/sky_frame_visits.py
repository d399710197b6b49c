"""Simulated TinyCam visits for the sky-frame builder: a known linear pattern per detector.

The restored image of visit ``v`` on detector ``d`` is
``a_v * (1 + P_d(x, y)) + noise``, with ``P_d`` a plane of its own offset and
slopes; the calexpBackground is the constant ``a_v`` and the calexp the
rest.  A plane is reproduced exactly by bin means and by the natural
spline between them, so the built frame must equal ``P_d`` up to the one
constant the construction removes (the focal-plane mean of ``P``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lsst.sky.correction.afwlite.cameraGeom import FOCAL_PLANE, PIXELS
from lsst.sky.correction.afwlite.image import ExposureF
from lsst.sky.correction.afwlite.math import BackgroundList
from lsst.sky.correction.testing import makeConstantBackground, makeTinyCamera

CAMERA = makeTinyCamera()

#: Offset, x slope and y slope (over the detector) of each detector's pattern.
PATTERN_COEFFICIENTS = {
    0: (0.010, 0.020, -0.010),
    1: (-0.005, -0.015, 0.020),
    2: (0.0, 0.010, 0.010),
    3: (0.004, -0.020, -0.015),
}

#: Relative noise of the restored images (per pixel, of the amplitude).
RELATIVE_NOISE = 0.01

#: The large-scale superpixel of the builder: 20 mm, so the ~6 mm TinyCam focal plane lies in one.
BUILDER_CONFIG = """
config.largeScaleBackground.xSize = 20.0
config.largeScaleBackground.ySize = 20.0
config.largeScaleBackground.pixelSize = 0.010
config.largeScaleBackground.minFrac = 0.01
# 32-pixel backgrounds under the detection, so that the pattern itself is not detected on these small
# detectors (the stack's 1024 pixels suit 4k detectors).
config.maskTask.subtractBackground.binSize = 32
config.maskTask.interpolate.binSize = 32
"""


def amplitude(visit: int) -> float:
    """The sky level of a visit."""
    return 200.0 + 15.0 * visit


def pattern(detectorId: int) -> np.ndarray:
    """``P_d`` at every pixel of the detector (rows y, columns x)."""
    bbox = CAMERA[detectorId].getBBox()
    yy, xx = np.mgrid[0 : bbox.getHeight(), 0 : bbox.getWidth()].astype(float)
    offset, xSlope, ySlope = PATTERN_COEFFICIENTS[detectorId]
    return offset + xSlope * (xx / (bbox.getWidth() - 1) - 0.5) + ySlope * (yy / (bbox.getHeight() - 1) - 0.5)


def focalPlaneMean(detectors: Sequence[int] = tuple(PATTERN_COEFFICIENTS)) -> float:
    """The mean of ``P`` over all pixels of ``detectors`` (equal-size detectors)."""
    return float(np.mean([pattern(detectorId).mean() for detectorId in detectors]))


def additiveSky(visit: int, detectorId: int, gradient: float, piston: float) -> np.ndarray:
    """A visit's additive sky on a detector: a focal-plane gradient plus a detector piston.

    The gradient has a random direction per visit and rises by ``gradient``
    times the visit's level per mm of focal plane; the piston is drawn from
    ``N(0, (piston * level)**2)`` per visit and detector.  Neither follows the
    amplitude, so neither belongs in a sky frame.
    """
    rng = np.random.default_rng(5000 + visit)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    pistons = rng.normal(0.0, piston, len(PATTERN_COEFFICIENTS))
    detector = CAMERA[detectorId]
    bbox = detector.getBBox()
    yy, xx = np.mgrid[0 : bbox.getHeight(), 0 : bbox.getWidth()].astype(float)
    fpX, fpY = detector.getTransform(PIXELS, FOCAL_PLANE).applyForward((xx.ravel(), yy.ravel()))
    along = np.cos(angle) * np.asarray(fpX) + np.sin(angle) * np.asarray(fpY)
    level = amplitude(visit)
    return level * (gradient * along.reshape(xx.shape) + pistons[detectorId])


def visitDatasets(
    visit: int,
    detectors: Sequence[int] = tuple(PATTERN_COEFFICIENTS),
    gradient: float = 0.0,
    piston: float = 0.0,
) -> tuple[dict[int, ExposureF], dict[int, BackgroundList]]:
    """The calexps and calexpBackgrounds of one visit's ``detectors``, by detector.

    ``gradient`` and ``piston`` add `additiveSky` (none by default).
    """
    rng = np.random.default_rng(1000 + visit)
    level = amplitude(visit)
    calexps, backgrounds = {}, {}
    for detectorId in detectors:
        bbox = CAMERA[detectorId].getBBox()
        calexp = ExposureF(bbox)
        noise = rng.normal(0.0, RELATIVE_NOISE * level, (bbox.getHeight(), bbox.getWidth()))
        image = level * pattern(detectorId) + noise
        if gradient or piston:
            image += additiveSky(visit, detectorId, gradient, piston)
        calexp.image.array[:] = image.astype(np.float32)
        calexp.variance.array[:] = (RELATIVE_NOISE * level) ** 2
        calexp.setDetector(CAMERA[detectorId])
        calexps[detectorId] = calexp
        backgrounds[detectorId] = makeConstantBackground(bbox, level)
    return calexps, backgrounds
