"""Task inputs for tests: constant backgrounds, sky frames, a visit put into a Butler for a quantum."""

from __future__ import annotations

__all__ = ["makeConstantBackground", "makeSkyFrame", "putQuantumInputs"]

from collections.abc import Mapping
from typing import Any

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


def putQuantumInputs(
    butler: Any,
    instrument: str,
    visit: int,
    physicalFilter: str,
    calexps: Mapping[int, ExposureF],
    calexpBackgrounds: Mapping[int, BackgroundList],
    skyFrames: Mapping[int, ExposureF],
    camera: Any,
) -> None:
    """Put one visit's inputs into a Butler's default run, for a mocked quantum.

    ``lsst.pipe.base.testUtils.makeQuantum`` finds its inputs in the
    Butler's default run; unlike `lsst.sky.correction.butler.writeVisit`,
    nothing is certified or ingested: ``calexp``, ``calexpBackground`` and
    ``sky`` per detector and ``camera`` are put as they are.  The input
    and output dataset types must be registered already
    (`~lsst.sky.correction.butler.registerInputDatasetTypes`,
    `~lsst.sky.correction.butler.registerOutputDatasetTypes`).

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
        A writeable Butler with a default run.
    instrument : `str`
        Instrument name.
    visit : `int`
        Visit id.
    physicalFilter : `str`
        The sky frames' physical filter.
    calexps, calexpBackgrounds, skyFrames : `Mapping` [`int`, ...]
        The datasets by detector id (the same ids in all three).
    camera : `Camera`
        The camera.
    """
    if not (set(calexps) == set(calexpBackgrounds) == set(skyFrames)):
        raise ValueError(
            f"visit {visit}: calexps, calexpBackgrounds and skyFrames cover different detectors: "
            f"{sorted(calexps)}, {sorted(calexpBackgrounds)}, {sorted(skyFrames)}"
        )
    for detector, calexp in calexps.items():
        dataId = {"instrument": instrument, "visit": visit, "detector": detector}
        butler.put(calexp, "calexp", dataId)
        butler.put(calexpBackgrounds[detector], "calexpBackground", dataId)
        butler.put(skyFrames[detector], "sky", dataId, physical_filter=physicalFilter)
    butler.put(camera, "camera", instrument=instrument)
