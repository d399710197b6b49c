"""Sky frames built both ways from the simulated TinyCam visits, and their errors against the truth.

`buildFrames` runs the tasks' ``run`` methods in order (no Butler):
cpSkyImage and cpSkyScaleMeasure, then either cpSkySubtractBackground and
cpSkyCombine (cp_pipe's clipped mean) or cpSkyBin and cpSkyJointCombine.
`frameErrors` measures a built frame against the true pattern after removing
what a construction cannot determine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sky_frame_visits import BUILDER_CONFIG, CAMERA, pattern, visitDatasets

from lsst.sky.correction.afwlite.math import binGeometry
from lsst.sky.correction.joint_fit import ChebyshevBasis, binCentres
from lsst.sky.correction.sky_frames import (
    CpSkyBinTask,
    CpSkyCombineTask,
    CpSkyImageConfig,
    CpSkyImageTask,
    CpSkyJointCombineConfig,
    CpSkyJointCombineTask,
    CpSkyScaleMeasureTask,
    CpSkySubtractBackgroundTask,
)


@dataclass
class BuiltFrames:
    """Per detector, the bins of the frame each construction built, and the joint fit's summary."""

    clippedMean: dict[int, np.ndarray]
    joint: dict[int, np.ndarray]
    jointSummary: dict[str, Any]


def buildFrames(
    visits: Sequence[int],
    detectors: Sequence[int],
    gradient: float = 0.0,
    piston: float = 0.0,
    extraVisits: Mapping[int, Mapping[int, np.ndarray]] | None = None,
    jointConfig: CpSkyJointCombineConfig | None = None,
) -> BuiltFrames:
    """Build the frames of ``detectors`` from ``visits`` both ways.

    ``extraVisits`` adds, per visit and detector, an image (in units of the
    visit's level) to the restored image: a visit the template does not
    describe.
    """
    imageConfig = CpSkyImageConfig()
    imageConfig.loadFromString(BUILDER_CONFIG)
    imageTask = CpSkyImageTask(config=imageConfig)
    scaleTask, subtractTask, binTask = CpSkyScaleMeasureTask(), CpSkySubtractBackgroundTask(), CpSkyBinTask()
    perDetector: dict[int, list[Any]] = {detector: [] for detector in detectors}
    jointInputs = {}
    for visit in visits:
        calexps, backgrounds = visitDatasets(visit, detectors, gradient, piston)
        if extraVisits and visit in extraVisits:
            for detector, extra in extraVisits[visit].items():
                level = backgrounds[detector].getImage().array.mean()
                calexps[detector].image.array[:] += (level * extra).astype(np.float32)
        images = {d: imageTask.run(calexps[d], CAMERA, inputBkg=backgrounds[d]) for d in detectors}
        scaled = scaleTask.run([images[d].maskedBkg for d in detectors])
        for detector in detectors:
            masked = images[detector].maskedExp
            jointInputs[(visit, detector)] = binTask.run(masked.clone(), scaled.outputScale).outputBkg
            perDetector[detector].append(
                subtractTask.run(masked, scaled.outputBkg, scaled.outputScale).outputBkg
            )
    combineTask = CpSkyCombineTask()
    clipped = {
        d: combineTask.run(perDetector[d], detector=CAMERA[d]).outputCalib.image.array.astype(np.float64)
        for d in detectors
    }
    joint = CpSkyJointCombineTask(config=jointConfig).run(jointInputs, CAMERA)
    return BuiltFrames(
        clippedMean=clipped,
        joint={d: frame.image.array.astype(np.float64) for d, frame in joint.outputCalibs.items()},
        jointSummary=joint.outputSummary,
    )


def truePatternBins(detector: int, shape: tuple[int, int]) -> np.ndarray:
    """The pattern ``P_d`` averaged over each bin of a ``shape`` grid."""
    image = pattern(detector)
    xGeometry = binGeometry(image.shape[1], shape[1])
    yGeometry = binGeometry(image.shape[0], shape[0])
    rowMeans = np.add.reduceat(image, yGeometry.origin, axis=0) / yGeometry.size[:, None]
    return np.add.reduceat(rowMeans, xGeometry.origin, axis=1) / xGeometry.size[None, :]


def frameErrors(frames: Mapping[int, np.ndarray], smoothOrder: int = 2) -> dict[str, float]:
    """RMS of built minus truth, in units of the sky level, after removing undeterminable parts.

    Returns
    -------
    errors : `dict`
        ``patternRms``: the true pattern's RMS about its mean;
        ``afterConstant``: the RMS of ``built - (s * truth + c)`` with the
        scale ``s`` and constant ``c`` fitted (what cp_pipe's construction
        cannot determine); ``afterSmooth``: the same with the smooth
        focal-plane basis of ``smoothOrder`` in place of ``c`` (what the
        joint construction cannot determine); ``smoothPatternRms``: the
        pattern's RMS after removing the smooth basis;
        ``afterConstantInterior``, ``afterSmoothInterior``: the same over the
        bins off the detectors' edges.
    """
    detectors = sorted(frames)
    built = np.concatenate([frames[d].ravel() for d in detectors])
    truth = np.concatenate([truePatternBins(d, frames[d].shape).ravel() for d in detectors])
    xs, ys = zip(
        *(
            binCentres(CAMERA[d], CAMERA[d].getBBox(), frames[d].shape[1], frames[d].shape[0])
            for d in detectors
        ),
        strict=True,
    )
    x, y = np.concatenate(xs), np.concatenate(ys)
    smooth = ChebyshevBasis(smoothOrder, x.min(), x.max(), y.min(), y.max()).design(x, y)

    # Bins off each detector's edge: the edge bins of both constructions carry the shared
    # object-masking step's edge effects.
    interior = np.concatenate([_interiorBins(frames[d].shape).ravel() for d in detectors])

    def residualRms(columns: np.ndarray, use: np.ndarray | None = None) -> float:
        use = np.ones(truth.size, dtype=bool) if use is None else use
        design = np.column_stack([truth, columns])[use]
        coefficients = np.linalg.lstsq(design, built[use], rcond=None)[0]
        return float(np.sqrt(np.mean((built[use] - design @ coefficients) ** 2)))

    smoothTruth = truth - smooth @ np.linalg.lstsq(smooth, truth, rcond=None)[0]
    return {
        "patternRms": float(np.std(truth)),
        "smoothPatternRms": float(np.sqrt(np.mean(smoothTruth**2))),
        "afterConstant": residualRms(np.ones((truth.size, 1))),
        "afterSmooth": residualRms(smooth),
        "afterConstantInterior": residualRms(np.ones((truth.size, 1)), interior),
        "afterSmoothInterior": residualRms(smooth, interior),
    }


def _interiorBins(shape: tuple[int, int]) -> np.ndarray:
    """True for the bins not on the grid's outer ring."""
    inside = np.zeros(shape, dtype=bool)
    inside[1:-1, 1:-1] = True
    return inside
