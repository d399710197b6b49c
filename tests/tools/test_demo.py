"""The demo's truth comparison (lsst.sky.correction.tools.demo)."""

from __future__ import annotations

import numpy as np

from lsst.sky.correction.afwlite.image import MaskedImageF
from lsst.sky.correction.afwlite.math import (
    ApproximateControl,
    BackgroundList,
    BackgroundMI,
    Interpolate,
    UndersampleStyle,
)
from lsst.sky.correction.simulation import SimulationConfig, VisitSimulator
from lsst.sky.correction.testing import makeConstantBackground
from lsst.sky.correction.tools.demo import ResidualSummary, residualSkySummary, truthSkyImage


def test_truth_sky_image_is_the_simulators_true_sky() -> None:
    simulator = VisitSimulator("HSC", SimulationConfig(detectors=(50,)), seed=4, visit=2)
    expected = simulator.makeDetector(50).truthSky.array
    image = truthSkyImage(simulator.truth(), simulator.camera[50])
    np.testing.assert_allclose(image, expected, rtol=0, atol=1e-3)


def test_residual_summary_measures_a_known_offset() -> None:
    """A new background = true sky + k x noise everywhere gives a residual RMS of k."""
    simulator = VisitSimulator("HSC", SimulationConfig(detectors=(50, 51)), seed=4, visit=2)
    truth = simulator.truth()
    skyCorrs, calexpBackgrounds = {}, {}
    k = 0.25
    for detectorId in (50, 51):
        detector = simulator.camera[detectorId]
        sky = truthSkyImage(truth, detector)
        noise = float(np.sqrt(np.mean(sky) / truth.gains[detectorId] + truth.readNoise**2))
        # calexpBackground: a constant 100 below the sky's mean; skyCorr adds the rest.
        base = float(np.mean(sky)) - 100.0
        calexpBackgrounds[detectorId] = makeConstantBackground(detector.getBBox(), base)
        skyCorr = BackgroundList()
        stats = MaskedImageF(detector.getBBox())
        stats.image.array[:] = sky - base + k * noise
        stats.variance.array[:] = 1.0
        skyCorr.append(
            (
                BackgroundMI(detector.getBBox(), stats),
                Interpolate.CONSTANT,
                UndersampleStyle.REDUCE_INTERP_ORDER,
                ApproximateControl.UNKNOWN,
                0,
                0,
                False,
            )
        )
        skyCorrs[detectorId] = skyCorr
    summary = residualSkySummary(
        skyCorrs, calexpBackgrounds, simulator.camera, truth, 1.1 * truth.skyFrameScale
    )
    assert summary.detectors == 2
    np.testing.assert_allclose(summary.residualRms, k, rtol=1e-3)
    assert summary.residualRmsBefore > 10 * k  # the constant 100 misses the sky's structure and level
    assert "(+10.00%)" in summary.line()


def test_summary_line_reports_every_figure() -> None:
    line = ResidualSummary(4.9, 5.0, 256, 0.05, 0.2, 104).line()
    assert line == (
        "sky-frame scale 4.9 vs true 5 (-2.00%); residual sky RMS vs truth in 256-px bins: "
        "0.050 x pixel noise (calexpBackground alone: 0.200) over 104 detectors"
    )


def test_step_seconds_line_from_task_metadata() -> None:
    from lsst.pipe.base import TaskMetadata
    from lsst.sky.correction.tools.demo import _stepSeconds

    metadata = TaskMetadata()
    metadata["skyCorr.detectorSeconds"] = {"fetch": 12.3, "maskObjects": 40.0}
    assert _stepSeconds(metadata["skyCorr"]) == "fetch 12 s, maskObjects 40 s"
    assert _stepSeconds(TaskMetadata()) == ""
