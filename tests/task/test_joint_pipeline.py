"""The two-step joint pipeline (`SkyBinsTask` per detector, `SkyJointFitTask` per visit) at ``run()`` level.

The expectation is `SkyCorrectionTask` with ``fitMode="joint"`` on the same
simulated visit: the two steps call its functions on the same inputs, in
the same detector order, so every ``skyCorr`` element, the mosaics, the
sky-frame scale and the fit's figures must agree bit for bit, also after the
per-detector datasets go through their file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lsst.sky.correction import (
    SkyBinsConfig,
    SkyBinsTask,
    SkyCorrectionConfig,
    SkyCorrectionTask,
    SkyJointFitConfig,
    SkyJointFitTask,
)
from lsst.sky.correction._sky_bins import DetectorSkyBins
from lsst.sky.correction.afwlite.cameraGeom import Camera, Detector, DetectorType, Orientation, degrees
from lsst.sky.correction.afwlite.geom import Box2I, Extent2D, Extent2I, Point2D, Point2I
from lsst.sky.correction.afwlite.math import BackgroundList
from lsst.sky.correction.simulation import SimulationConfig, VisitSimulator

PIXEL_MM = 0.015


def small_camera(columns: int = 3, rows: int = 2, width: int = 160, height: int = 128) -> Camera:
    """A grid of detectors rotated by 0, 90, 180 and 270 degrees in turn."""
    pitch = max(width, height) * PIXEL_MM + 0.3
    centre = Point2D((width - 1) / 2, (height - 1) / 2)
    detectors = [
        Detector(
            f"S{index}",
            index,
            bbox=Box2I(Point2I(0, 0), Extent2I(width, height)),
            orientation=Orientation(
                (
                    (index % columns - (columns - 1) / 2) * pitch,
                    (index // columns - (rows - 1) / 2) * pitch,
                    0.0,
                ),
                centre,
                90.0 * (index % 4) * degrees,
            ),
            pixelSize=Extent2D(PIXEL_MM, PIXEL_MM),
            type=DetectorType.SCIENCE,
        )
        for index in range(columns * rows)
    ]
    return Camera("JointPipelineGrid", detectors)


@pytest.fixture(scope="module")
def simulated() -> tuple[Camera, VisitSimulator]:
    camera = small_camera()
    simulation = SimulationConfig(plateScale=11.2, zeroPoint=30.0, psfSigma=1.5).replace(
        **{
            "sky.level": 800.0,
            "sky.pedestalScatter": 4.0,
            "skyFrame.scale": 5.0,
            "skyFrame.minWavelength": 80.0,
            "skyFrame.maxWavelength": 200.0,
            "skyFrame.stepWidth": 25.0,
            "skyFrame.binSize": 16,
            "background.binSize": 32,
            "brightStar.enabled": False,
            "lsbGalaxy.enabled": False,
        }
    )
    return camera, VisitSimulator(camera, simulation, seed=3, visit=1)


# Shared settings of the three tasks: (field, value) pairs on each config's own names.
SHARED = {"binning": 4, "joint.binSize": 32, "joint.order": 2, "joint.doPistons": True}


def configure(config: Any, settings: dict[str, Any]) -> Any:
    for name, value in settings.items():
        target = config
        *path, field = name.split(".")
        for part in path:
            target = getattr(target, part)
        setattr(target, field, value)
    config.validate()
    return config


def masking(doMaskObjects: bool) -> dict[str, Any]:
    """Object masking on or off; on, with backgrounds small enough for these detectors."""
    if not doMaskObjects:
        return {"doMaskObjects": False}
    return {
        "doMaskObjects": True,
        "maskObjects.nIter": 2,
        "maskObjects.subtractBackground.binSize": 32,
        "maskObjects.interpolate.binSize": 32,
    }


def run_one_task(simulated: tuple[Camera, VisitSimulator], settings: dict[str, Any]) -> tuple[Any, Any]:
    camera, simulator = simulated
    config = SkyCorrectionConfig()
    for model in (config.bgModel1, config.bgModel2):  # required fields, unused in joint mode
        model.xSize = model.ySize = 2.0
        model.pixelSize = PIXEL_MM
    config = configure(config, {"fitMode": "joint", "numThreads": 1, **settings})
    task = SkyCorrectionTask(config=config)
    result = task.run(
        simulator.calexpHandles(), simulator.backgroundLists(), simulator.skyFrameHandles(), camera
    )
    return result, task.metadata


def run_bins(
    simulated: tuple[Camera, VisitSimulator], settings: dict[str, Any], tmp_path: Path
) -> list[DetectorSkyBins]:
    """One SkyBinsTask run per detector, each result written to its file and read back."""
    camera, simulator = simulated
    task = SkyBinsTask(config=configure(SkyBinsConfig(), settings))
    bins = []
    for calExp, calBkg, skyFrame in zip(
        simulator.calexpHandles(), simulator.backgroundLists(), simulator.skyFrameHandles(), strict=True
    ):
        entry = task.run(calExp, calBkg, skyFrame if task.config.doSky else None, camera).skyBins
        path = tmp_path / f"bins-{entry.detectorId}.npz"
        entry.writeFile(path)
        bins.append(DetectorSkyBins.readFile(path))
    return bins


def assert_same_backgrounds(got: BackgroundList, expected: BackgroundList) -> None:
    assert len(got) == len(expected)
    for gotElement, expectedElement in zip(got, expected, strict=True):
        assert gotElement[1:] == expectedElement[1:]  # the styles
        assert gotElement[0].getImageBBox() == expectedElement[0].getImageBBox()
        gotStats, expectedStats = gotElement[0].getStatsImage(), expectedElement[0].getStatsImage()
        for plane in ("image", "mask", "variance"):
            np.testing.assert_array_equal(getattr(gotStats, plane).array, getattr(expectedStats, plane).array)


@pytest.mark.parametrize("doMaskObjects", [False, True])
def test_two_steps_equal_the_one_task_joint_mode(
    simulated: tuple[Camera, VisitSimulator], tmp_path: Path, doMaskObjects: bool
) -> None:
    camera, simulator = simulated
    settings = {**SHARED, **masking(doMaskObjects)}
    expected, expectedMetadata = run_one_task(simulated, settings)

    bins = run_bins(simulated, settings, tmp_path)
    fitSettings = dict(SHARED)
    fitTask = SkyJointFitTask(config=configure(SkyJointFitConfig(), fitSettings))
    shuffled = [bins[i] for i in (4, 1, 5, 0, 3, 2)]  # the order of the inputs must not matter
    got = fitTask.run(shuffled, camera)

    assert got.detectorIds == [entry.detectorId for entry in shuffled]
    byDetector = dict(zip(got.detectorIds, got.skyCorr, strict=True))
    for detectorId, background in zip(simulator.detectorIds, expected.skyCorr, strict=True):
        assert len(background) == 4  # inverted calexpBackground, smooth model, sky frame, piston
        assert_same_backgrounds(byDetector[detectorId], background)
    assert got.skyFrameScale == expected.skyFrameScale
    np.testing.assert_array_equal(got.calExpMosaic.array, expected.calExpMosaic.array)
    np.testing.assert_array_equal(got.calBkgMosaic.array, expected.calBkgMosaic.array)
    for key in (
        "skyFrameScale",
        "jointChi2",
        "jointDof",
        "jointBinsUsed",
        "jointIterations",
        "jointPistonRms",
    ):
        assert fitTask.metadata[key] == expectedMetadata[key], key
    # The persisted bins were not modified by the fit (it appends to copies of their lists).
    assert all(len(entry.skyCorr) == 1 for entry in bins)


def test_two_steps_without_sky_frame(simulated: tuple[Camera, VisitSimulator], tmp_path: Path) -> None:
    camera, _ = simulated
    settings = {**SHARED, "doSky": False, "joint.doPistons": False, **masking(False)}
    expected, _ = run_one_task(simulated, settings)
    bins = run_bins(simulated, settings, tmp_path)
    assert all(entry.bins.skyFrame is None and entry.skyBackground is None for entry in bins)
    fitSettings = {"doSky": False, **{k: v for k, v in SHARED.items() if k != "joint.doPistons"}}
    got = SkyJointFitTask(config=configure(SkyJointFitConfig(), fitSettings)).run(bins, camera)
    assert got.skyFrameScale is None and expected.skyFrameScale is None
    for background, reference in zip(got.skyCorr, expected.skyCorr, strict=True):
        assert len(background) == 2
        assert_same_backgrounds(background, reference)


def test_bins_file_round_trips_exactly(simulated: tuple[Camera, VisitSimulator], tmp_path: Path) -> None:
    camera, simulator = simulated
    task = SkyBinsTask(config=configure(SkyBinsConfig(), {**SHARED, **masking(False)}))
    entry = task.run(
        simulator.calexpHandles()[2], simulator.backgroundLists()[2], simulator.skyFrameHandles()[2], camera
    )
    entry = entry.skyBins
    entry.bins.values[3] = np.nan  # a bin with no usable pixel
    entry.binnedNoData[0, :2] = True
    path = tmp_path / "entry.npz"
    entry.writeFile(path)
    back = DetectorSkyBins.readFile(path)
    assert back.detectorId == entry.detectorId == 2
    for name in ("values", "errors", "counts", "areas", "focalPlaneX", "focalPlaneY", "skyFrame"):
        original, read = getattr(entry.bins, name), getattr(back.bins, name)
        assert read.dtype == original.dtype
        np.testing.assert_array_equal(read, original)
    assert back.bins.shape == entry.bins.shape
    assert back.bbox == entry.bbox
    for name in ("binnedRestored", "binnedNoData"):
        assert getattr(back, name).dtype == getattr(entry, name).dtype
        np.testing.assert_array_equal(getattr(back, name), getattr(entry, name))
    assert (back.binning, back.binSize, back.family) == (4, 32, "afwlite")
    assert_same_backgrounds(back.skyCorr, entry.skyCorr)
    assert entry.skyBackground is not None and back.skyBackground is not None
    assert_same_backgrounds(back.skyBackground, entry.skyBackground)


def test_bins_file_of_another_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    np.savez(path, header=np.array('{"version": 99}'))
    with pytest.raises(ValueError, match="layout version 99"):
        DetectorSkyBins.readFile(path)


def test_fit_refuses_bins_it_cannot_use(simulated: tuple[Camera, VisitSimulator], tmp_path: Path) -> None:
    camera, _ = simulated
    bins = run_bins(simulated, {**SHARED, **masking(False)}, tmp_path)
    fit = SkyJointFitTask(config=configure(SkyJointFitConfig(), SHARED))
    with pytest.raises(ValueError, match="no detector's bins"):
        fit.run([], camera)
    with pytest.raises(ValueError, match="more than once"):
        fit.run([bins[0], bins[1], bins[0]], camera)
    for field, value, message in (
        ("binning", 8, "binned by 4"),
        ("joint.binSize", 64, "joint.binSize 32"),
        ("doSky", False, "have sky-frame bins"),
    ):
        other = SkyJointFitTask(config=configure(SkyJointFitConfig(), {**SHARED, field: value}))
        with pytest.raises(ValueError, match=message):
            other.run(bins, camera)
