"""``fitMode="joint"`` of `SkyCorrectionTask` on a simulated visit with known truth.

The simulated visit has a smooth focal-plane sky, per-detector pedestals and
a sky-frame pattern of scale 5; the joint fit must find the scale closer to
the truth than the reference sequence (whose bgModel1 absorbs part of the
pattern first) and take the pedestals into its pistons.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from lsst.sky.correction import SkyCorrectionConfig, SkyCorrectionTask
from lsst.sky.correction.afwlite.cameraGeom import (
    FOCAL_PLANE,
    Camera,
    Detector,
    DetectorType,
    Orientation,
    degrees,
)
from lsst.sky.correction.afwlite.geom import Box2I, Extent2D, Extent2I, Point2D, Point2I
from lsst.sky.correction.afwlite.math import BackgroundList, Interpolate
from lsst.sky.correction.simulation import SimulatedDetector, SimulationConfig, VisitSimulator

PIXEL_MM = 0.015
TRUE_SCALE = 5.0
PEDESTAL_SCATTER = 4.0


def grid_camera(columns: int = 4, rows: int = 3, width: int = 192, height: int = 160) -> Camera:
    """``columns`` x ``rows`` detectors on a regular grid, rotated by 0, 90, 180 and 270 degrees in turn."""
    pitch = max(width, height) * PIXEL_MM + 0.3
    centre = Point2D((width - 1) / 2, (height - 1) / 2)
    detectors = []
    for index in range(columns * rows):
        x = (index % columns - (columns - 1) / 2) * pitch
        y = (index // columns - (rows - 1) / 2) * pitch
        detectors.append(
            Detector(
                f"G{index}",
                index,
                bbox=Box2I(Point2I(0, 0), Extent2I(width, height)),
                orientation=Orientation((x, y, 0.0), centre, 90.0 * (index % 4) * degrees),
                pixelSize=Extent2D(PIXEL_MM, PIXEL_MM),
                type=DetectorType.SCIENCE,
            )
        )
    return Camera("JointGrid", detectors)


def task_config(fitMode: str, **joint: Any) -> SkyCorrectionConfig:
    config = SkyCorrectionConfig()
    config.fitMode = fitMode
    config.binning = 4
    config.doMaskObjects = False  # its 1024-px background would mask most of these small detectors
    for model, size in ((config.bgModel1, 2.0), (config.bgModel2, 0.5)):
        model.xSize = model.ySize = size
        model.pixelSize = PIXEL_MM
    config.joint.binSize = 32
    config.joint.order = 2
    for name, value in joint.items():
        setattr(config.joint, name, value)
    config.validate()
    return config


@pytest.fixture(scope="module")
def simulated() -> tuple[Camera, VisitSimulator, list[SimulatedDetector]]:
    camera = grid_camera()
    simulation = SimulationConfig(plateScale=11.2, zeroPoint=30.0, psfSigma=1.5).replace(
        **{
            "sky.level": 800.0,
            "sky.pedestalScatter": PEDESTAL_SCATTER,
            "skyFrame.scale": TRUE_SCALE,
            "skyFrame.minWavelength": 80.0,
            "skyFrame.maxWavelength": 200.0,
            "skyFrame.stepWidth": 25.0,
            "skyFrame.binSize": 16,
            "background.binSize": 32,
            "brightStar.enabled": False,
            "lsbGalaxy.enabled": False,
        }
    )
    simulator = VisitSimulator(camera, simulation, seed=1, visit=1)
    return camera, simulator, [simulator.makeDetector(d) for d in simulator.detectorIds]


def run_task(
    simulated: tuple[Camera, VisitSimulator, list[SimulatedDetector]], config: SkyCorrectionConfig
) -> tuple[Any, SkyCorrectionTask]:
    camera, simulator, detectors = simulated
    task = SkyCorrectionTask(config=config)
    result = task.run(
        [d.calexp for d in detectors], simulator.backgroundLists(), simulator.skyFrameHandles(), camera
    )
    return result, task


def detector_offsets(detectors: list[SimulatedDetector], skyCorr: list[BackgroundList]) -> np.ndarray:
    """Per detector, the mean of (the task's new background - the true sky)."""
    offsets = []
    for detector, background in zip(detectors, skyCorr, strict=True):
        model = BackgroundList(*background[1:]).getImage()
        assert model is not None
        offsets.append(float(np.mean(model.array - detector.truthSky.array)))
    return np.array(offsets)


def test_joint_scale_is_closer_to_the_truth_and_pistons_take_the_pedestals(
    simulated: tuple[Camera, VisitSimulator, list[SimulatedDetector]],
) -> None:
    camera, _, detectors = simulated
    reference, _ = run_task(simulated, task_config("reference"))
    joint, task = run_task(simulated, task_config("joint", doPistons=True))

    assert abs(joint.skyFrameScale - TRUE_SCALE) < 0.5 * abs(reference.skyFrameScale - TRUE_SCALE)
    assert joint.skyFrameScale == pytest.approx(TRUE_SCALE, rel=0.05)
    assert task.metadata["skyFrameScale"] == joint.skyFrameScale

    # The layout: inverted calexpBackground, smooth model, scaled sky frame, one-cell piston.
    for background in joint.skyCorr:
        assert len(background) == 4
        piston = background[3]
        assert piston[0].getStatsImage().getDimensions() == Extent2I(1, 1)
        assert piston[1] == Interpolate.CONSTANT
    pistons = np.array([float(b[3][0].getStatsImage().image.array[0, 0]) for b in joint.skyCorr])
    assert task.metadata["jointPistonRms"] == pytest.approx(np.sqrt(np.mean(pistons**2)))
    assert task.metadata["jointDof"] > 0 and task.metadata["jointChi2"] > 0

    # The pistons are the pedestals less their constant and tilt (which the polynomial takes):
    # project the true pedestals onto the constraint's null space (equal pixel weights; the
    # detectors are the same size and equally masked to a few per cent).
    truth = np.array([d.pedestal for d in detectors])
    assert truth.std() > 0.5 * PEDESTAL_SCATTER  # the test needs real offsets
    centres = [camera[d.detectorId].getCenter(FOCAL_PLANE) for d in detectors]
    constraint = np.array([[1.0] * len(centres), [c.getX() for c in centres], [c.getY() for c in centres]])
    projected = truth - constraint.T @ np.linalg.solve(constraint @ constraint.T, constraint @ truth)
    np.testing.assert_allclose(pistons, projected, atol=0.15 * PEDESTAL_SCATTER)

    # What counts: the per-detector offsets against the true sky all but vanish in joint mode.
    jointOffsets = detector_offsets(detectors, joint.skyCorr)
    referenceOffsets = detector_offsets(detectors, reference.skyCorr)
    jointSpread = np.std(jointOffsets - jointOffsets.mean())
    referenceSpread = np.std(referenceOffsets - referenceOffsets.mean())
    assert jointSpread < 0.1 * PEDESTAL_SCATTER
    assert jointSpread < 0.5 * referenceSpread


def test_joint_without_pistons_or_sky_frame(
    simulated: tuple[Camera, VisitSimulator, list[SimulatedDetector]],
) -> None:
    camera, simulator, detectors = simulated
    config = task_config("joint")
    config.doSky = False
    config.validate()
    result = SkyCorrectionTask(config=config).run(
        [d.calexp for d in detectors], simulator.backgroundLists(), None, camera
    )
    assert result.skyFrameScale is None
    # Only the smooth model follows the inverted calexpBackground.
    assert all(len(background) == 2 for background in result.skyCorr)
    assert result.calExpMosaic.getDimensions() == result.calBkgMosaic.getDimensions()
