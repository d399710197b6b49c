"""cpSkyBin and cpSkyJointCombine: the joint sky-frame construction against the simulated truth.

The visits are sky_frame_visits.py's (``a_v (1 + P_d) + noise``, ``P_d`` a
plane per detector); one visit carries a bowl of its own on every detector,
which the template does not describe.  The expectations are the true
pattern's bin means and numpy block means.
"""

from __future__ import annotations

import numpy as np
import pytest
from sky_frame_builds import buildFrames, frameErrors, truePatternBins
from sky_frame_visits import CAMERA

from lsst.sky.correction._input_checks import skyFrameImage
from lsst.sky.correction.afwlite.geom import Box2I, Extent2I, Point2I
from lsst.sky.correction.afwlite.image import ExposureF, MaskedImageF
from lsst.sky.correction.afwlite.math import BackgroundList
from lsst.sky.correction.sky_frames import (
    CpSkyBinTask,
    CpSkyJointCombineConfig,
    CpSkyJointCombineTask,
    stackJointBins,
)
from lsst.sky.correction.sky_measurement import SkyMeasurementTask

DETECTORS = (0, 1, 2, 3)
VISITS = range(1, 13)
OUTLIER = 6


def bowl(detector: int) -> np.ndarray:
    """A bowl over a detector, 1 % RMS of the level: smooth, so object masking leaves it."""
    bbox = CAMERA[detector].getBBox()
    yy, xx = np.mgrid[0 : bbox.getHeight(), 0 : bbox.getWidth()].astype(float)
    radius2 = (xx / (bbox.getWidth() - 1) - 0.5) ** 2 + (yy / (bbox.getHeight() - 1) - 0.5) ** 2
    return 0.1 * (radius2 - radius2.mean())


@pytest.fixture(scope="module")
def built() -> object:
    """Frames built both ways from visits with additive gradients and pistons, and one outlier."""
    return buildFrames(
        VISITS,
        DETECTORS,
        gradient=0.004,
        piston=0.003,
        extraVisits={OUTLIER: {d: bowl(d) for d in DETECTORS}},
    )


def test_the_outlier_visit_is_rejected_and_the_joint_frame_beats_the_clipped_mean(built: object) -> None:
    summary = built.jointSummary  # type: ignore[attr-defined]
    assert summary["visits"] == list(VISITS)
    rejected = [visit for visit, r in zip(summary["visits"], summary["rejected"], strict=True) if r]
    assert rejected == [OUTLIER]
    rms = dict(zip(summary["visits"], summary["fractionalRms"], strict=True))
    assert rms[OUTLIER] > 0.005
    assert all(value < 0.002 for visit, value in rms.items() if visit != OUTLIER)
    joint = frameErrors(built.joint)  # type: ignore[attr-defined]
    clipped = frameErrors(built.clippedMean)  # type: ignore[attr-defined]
    # On what the joint construction determines (the pattern off the smooth focal-plane terms),
    # away from the edge bins both constructions share from object masking: within 7 % of that
    # part's RMS (the 11 visits' mean additive piston, 0.3 % / sqrt(11) ~ 0.09 %, cannot be told
    # from a sky-proportional offset and goes to the template), and closer than the clipped mean,
    # which the outlier visit pulls.
    assert joint["afterSmoothInterior"] < 0.07 * joint["smoothPatternRms"]
    assert joint["afterSmoothInterior"] < 0.8 * clipped["afterSmoothInterior"]


def test_frames_carry_the_cards_and_the_accepted_visits(built: object) -> None:
    inputs = {}
    for visit in VISITS:
        for detector in DETECTORS:
            array = truePatternBins(detector, (6, 8)) + 1.0
            if visit == OUTLIER:
                array = array + 0.05 * np.cos(np.arange(array.size).reshape(array.shape))
            inputs[(visit, detector)] = backgroundOf(array, detector)
    result = CpSkyJointCombineTask().run(inputs, CAMERA, physicalFilter="tiny_r")
    assert sorted(result.outputCalibs) == list(DETECTORS)
    for detector, frame in result.outputCalibs.items():
        metadata = frame.getMetadata()
        bbox = CAMERA[detector].getBBox()
        assert metadata.getScalar("BOX.MAXX") == bbox.getMaxX()
        assert metadata.getScalar("BOX.MAXY") == bbox.getMaxY()
        assert metadata.getScalar("ALGORITHM") == "NATURAL_SPLINE"
        assert metadata.getScalar("SKYMETH") == "joint"
        assert metadata.getScalar("FILTER") == "tiny_r"
        assert metadata.getScalar("CALIB_NINPUTS") == len(VISITS) - 1
        inputVisits = [metadata.getScalar(f"CPP_INPUT_{i}") for i in range(len(VISITS) - 1)]
        assert OUTLIER not in inputVisits
        assert frame.getDetector() is CAMERA[detector]
        _model, image = skyFrameImage(SkyMeasurementTask(), frame, detector, bbox)
        assert image.getBBox() == bbox
    assert result.outputSummary["rejected"] == [visit == OUTLIER for visit in VISITS]


def backgroundOf(array: np.ndarray, detector: int) -> BackgroundList:
    statsImage = MaskedImageF(array.shape[1], array.shape[0])
    statsImage.image.array[:] = array
    statsImage.variance.array[:] = 1.0
    task = SkyMeasurementTask()
    return task.exposureToBackground(task.backgroundToExposure(statsImage, CAMERA[detector].getBBox()))


def test_noise_free_bins_give_the_pattern_off_the_smooth_terms_and_fill_empty_bins() -> None:
    """Bins ``a_v (1 + P_d)`` exactly: the frame is ``P`` less its order-2 part, up to one scale."""
    inputs = {}
    for visit in VISITS:
        for detector in DETECTORS:
            array = (1.0 + 0.05 * visit) * (1.0 + truePatternBins(detector, (6, 8)))
            if detector == 2:
                array[0, 0] = np.nan  # empty in every visit
            inputs[(visit, detector)] = backgroundOf(array, detector)
    result = CpSkyJointCombineTask().run(inputs, CAMERA)
    bins = result.bins
    truth = np.concatenate([truePatternBins(d, (6, 8)).ravel() for d in DETECTORS])
    smooth = np.polynomial.chebyshev.chebvander2d(*_scaled(bins.focalPlaneX, bins.focalPlaneY), [2, 2])[
        :, [0, 1, 3, 2, 4, 6]
    ]
    determined = np.isfinite(result.fit.template)
    expected = truth - smooth @ np.linalg.lstsq(smooth[determined], truth[determined], rcond=None)[0]
    scale = np.mean(1.0 + 0.05 * np.asarray(VISITS))
    assert np.allclose(result.fit.template[determined], scale * expected[determined], rtol=0, atol=1e-6)
    frame = result.outputCalibs[2].image.array
    assert frame[0, 0] == pytest.approx(float(np.median(frame.ravel()[1:])), abs=1e-7)


def _scaled(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions onto [-1, 1] over their own box."""
    return (2 * x - (x.min() + x.max())) / (x.max() - x.min()), (2 * y - (y.min() + y.max())) / (
        y.max() - y.min()
    )


def test_stack_joint_bins_lays_out_visits_and_detectors() -> None:
    inputs = {
        (3, 1): backgroundOf(np.full((6, 8), 1.0), 1),
        (5, 1): backgroundOf(np.full((6, 8), 2.0), 1),
        (5, 0): backgroundOf(np.full((5, 4), 3.0), 0),
    }
    bins = stackJointBins(inputs, CAMERA)
    assert bins.visits == [3, 5] and bins.detectors == [0, 1]
    assert bins.values.shape == (2, 20 + 48)
    assert np.all(np.isnan(bins.values[0, :20]))  # visit 3 has no detector 0
    assert np.all(bins.values[1, :20] == 3.0) and np.all(bins.values[1, 20:] == 2.0)
    assert np.all(bins.values[0, 20:] == 1.0)
    assert np.array_equal(bins.detectorIndex, np.repeat([0, 1], [20, 48]))
    # Detector 1's bins lie where its pixels do on the focal plane.
    assert np.all(np.abs(bins.focalPlaneY[20:] + 2.975 - 1.28) < 1.3)

    with pytest.raises(ValueError, match="differ between visits"):
        stackJointBins({**inputs, (7, 0): backgroundOf(np.ones((6, 8)), 0)}, CAMERA)
    with pytest.raises(ValueError, match="expected one"):
        stackJointBins({(1, 0): BackgroundList()}, CAMERA)
    with pytest.raises(ValueError, match="no binned images"):
        stackJointBins({}, CAMERA)


def test_bin_task_bins_the_image_over_the_scale() -> None:
    detector = CAMERA[1]
    exposure = ExposureF(detector.getBBox())
    yy, xx = np.mgrid[0:200, 0:256].astype(float)
    exposure.image.array[:] = (400.0 + 0.5 * xx + 0.2 * yy).astype(np.float32)
    exposure.variance.array[:] = 1.0
    exposure.setDetector(detector)
    image = exposure.image.array.astype(np.float64)
    result = CpSkyBinTask().run(exposure, {"scale": 400.0})
    (element,) = result.outputBkg
    bins = element[0].getStatsImage().image.array
    # 32-pixel bins of a plane (nothing clipped): each bin's mean, over the scale.
    rows = [0, 33, 67, 100, 133, 167]  # afw's spread of 200 rows over 6 bins
    expected = np.add.reduceat(np.add.reduceat(image, rows, axis=0), np.arange(0, 256, 32), axis=1)
    sizes = np.outer(np.diff([0, 33, 67, 100, 133, 167, 200]), np.full(8, 32))
    assert bins.shape == (6, 8)
    assert np.allclose(bins, expected / sizes / 400.0, rtol=0, atol=1e-6)
    assert element[0].getImageBBox() == Box2I(Point2I(0, 0), Extent2I(256, 200))
    with pytest.raises(ValueError, match="positive and finite"):
        CpSkyBinTask().run(exposure, {"scale": 0.0})


def test_joint_config_validation_and_connections() -> None:
    config = CpSkyJointCombineConfig()
    assert (config.smoothOrder, config.clip, config.rejectRms) == (2, 4.0, 0.005)
    config.rejectRms = 0.0
    with pytest.raises(Exception, match="rejectRms"):
        config.validate()
    connections = CpSkyJointCombineConfig().connections.ConnectionsClass(config=CpSkyJointCombineConfig())
    assert set(connections.dimensions) == {"instrument", "physical_filter"}
    assert connections.outputCalibs.multiple and connections.outputCalibs.name == "sky"
