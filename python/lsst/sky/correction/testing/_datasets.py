"""Small inputs of the task for tests: constant backgrounds and sky frames with their BOX cards."""

from __future__ import annotations

__all__ = ["makeConstantBackground", "makeSkyFrame"]

import numpy as np

from ..afwlite.geom import Box2I
from ..afwlite.image import ExposureF, MaskedImageF
from ..afwlite.math import ApproximateControl, BackgroundList, BackgroundMI, Interpolate, UndersampleStyle


def makeConstantBackground(bbox: Box2I, value: float) -> BackgroundList:
    """A one-element background list whose image is ``value`` everywhere in ``bbox``.

    The element is a full-resolution statistics image with CONSTANT
    interpolation, as the reference task's unit test builds its
    calexpBackground.
    """
    stats = MaskedImageF(bbox)
    stats.image.array[:] = value
    stats.variance.array[:] = 1.0
    element = (
        BackgroundMI(bbox, stats),
        Interpolate.CONSTANT,
        UndersampleStyle.REDUCE_INTERP_ORDER,
        ApproximateControl.UNKNOWN,
        0,
        0,
        False,
    )
    return BackgroundList(element)


def makeSkyFrame(bbox: Box2I, pattern: np.ndarray) -> ExposureF:
    """A sky frame for a detector of ``bbox``: ``pattern`` as its binned samples.

    Parameters
    ----------
    bbox : `Box2I`
        The detector's bbox (written as the ``BOX.*`` cards the stack's sky
        frames carry).
    pattern : `numpy.ndarray`
        The samples (rows, columns), interpolated with NATURAL_SPLINE over
        the detector.

    Returns
    -------
    sky : `ExposureF`
        Image = ``pattern``, variance 1.
    """
    height, width = pattern.shape
    sky = ExposureF(width, height)
    sky.image.array[:] = pattern.astype(np.float32)
    sky.variance.array[:] = 1.0
    for key, value in (
        ("BOX.MINX", bbox.getMinX()),
        ("BOX.MINY", bbox.getMinY()),
        ("BOX.MAXX", bbox.getMaxX()),
        ("BOX.MAXY", bbox.getMaxY()),
        ("ALGORITHM", "NATURAL_SPLINE"),
    ):
        sky.getMetadata().set(key, value)
    return sky
