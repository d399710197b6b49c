"""The visit simulator (lsst.sky.correction.simulation) against independent expectations.

Expectations come from outside the simulator's own code: the config's numbers
put through the model equations written out here, the camera's own
PIXELS -> FOCAL_PLANE transforms, numerical integrals of the profiles, the
real HSC visit summary read with astropy, and the sky-measurement and
sky-correction tasks consuming what the simulator writes.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.table import Table
from scipy import integrate, special

from lsst.sky.correction import SkyCorrectionConfig, SkyCorrectionTask
from lsst.sky.correction.afwlite.cameraGeom import (
    FOCAL_PLANE,
    PIXELS,
    Camera,
    Detector,
    DetectorType,
    Orientation,
    degrees,
)
from lsst.sky.correction.afwlite.geom import Box2I, Extent2D, Extent2I, Point2D, Point2I
from lsst.sky.correction.afwlite.image import MaskedImageF
from lsst.sky.correction.cameras import getCamera
from lsst.sky.correction.simulation import (
    BrightStarConfig,
    CalexpBackgroundConfig,
    GalaxyConfig,
    LsbGalaxyConfig,
    NoiseConfig,
    SimulatedDetector,
    SimulationConfig,
    SkyConfig,
    SkyFrameConfig,
    SourceCountsConfig,
    VisitSimulator,
    VisitTruth,
    drawMagnitudes,
    moffatEnclosedFraction,
    moffatProfile,
    sersicB,
    sersicEnclosedFraction,
    sersicProfile,
    sersicTotalFlux,
    shippedSkyLevelTablePath,
)
from lsst.sky.correction.sky_measurement import SkyMeasurementConfig, SkyMeasurementTask

REPO = Path(__file__).resolve().parents[2]
PIXEL_MM = 0.015
PLATE_SCALE = 11.2  # arcsec per mm: 0.168 arcsec pixels, as HSC
READ_NOISE = 3.0  # NoiseConfig's default

# Small detectors and features scaled to them: a few hundredths of a second per detector.
SMALL = SimulationConfig(plateScale=PLATE_SCALE, zeroPoint=30.0, psfSigma=1.5).replace(
    **{
        "sky.level": 800.0,
        "sky.pedestalScatter": 4.0,
        "skyFrame.minWavelength": 80.0,
        "skyFrame.maxWavelength": 200.0,
        "skyFrame.stepWidth": 25.0,
        "skyFrame.binSize": 16,
        "background.binSize": 32,
        "lsbGalaxy.effectiveRadius": 4.0,
        "brightStar.magnitude": 12.0,
        "brightStar.maxRadius": 25.0,
    }
)

# Nothing but the sky: each test switches on what it looks at.
QUIET = SMALL.replace(
    **{
        "sky.pedestalScatter": 0.0,
        "stars.density": 0.0,
        "galaxies.density": 0.0,
        "lsbGalaxy.enabled": False,
        "brightStar.enabled": False,
        "defects.badColumns": 0,
    }
)


# Cameras ---------------------------------------------------------------------------------------------
def gridCamera(width: int = 192, height: int = 160, name: str = "GridCam") -> Camera:
    """Six detectors in a 3 x 2 grid, rotated by 0, 90, 180, 270, 0 and 180 degrees."""
    pitch = max(width, height) * PIXEL_MM + 0.3
    centre = Point2D((width - 1) / 2, (height - 1) / 2)
    yaws = (0.0, 90.0, 180.0, 270.0, 0.0, 180.0)
    detectors = [
        Detector(
            f"D{index}",
            index,
            bbox=Box2I(Point2I(0, 0), Extent2I(width, height)),
            orientation=Orientation(
                ((index % 3 - 1) * pitch, (index // 3 - 0.5) * pitch, 0.0), centre, yaw * degrees
            ),
            pixelSize=Extent2D(PIXEL_MM, PIXEL_MM),
            type=DetectorType.SCIENCE,
        )
        for index, yaw in enumerate(yaws)
    ]
    return Camera(name, detectors)


def oneDetectorCamera(
    size: int = 420, yaw: float = 30.0, position: tuple[float, float] = (1.0, -2.0)
) -> Camera:
    """One square detector whose centre is at ``position`` (mm), rotated by ``yaw`` degrees."""
    detector = Detector(
        "ONE",
        0,
        bbox=Box2I(Point2I(0, 0), Extent2I(size, size)),
        orientation=Orientation((*position, 0.0), Point2D((size - 1) / 2, (size - 1) / 2), yaw * degrees),
        pixelSize=Extent2D(PIXEL_MM, PIXEL_MM),
        type=DetectorType.SCIENCE,
    )
    return Camera("OneCam", [detector])


def focalPlaneGrid(detector: Detector) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (x, y) of a detector and their focal-plane positions (fx, fy), mm."""
    bbox = detector.getBBox()
    y, x = np.mgrid[bbox.getMinY() : bbox.getMaxY() + 1, bbox.getMinX() : bbox.getMaxX() + 1].astype(float)
    fx, fy = detector.getTransform(PIXELS, FOCAL_PLANE).applyForward((x, y))
    return x, y, fx, fy


def pixelAreaMm2(detector: Detector) -> float:
    """Focal-plane area of one pixel, from where the transform sends a pixel's neighbours."""
    transform = detector.getTransform(PIXELS, FOCAL_PLANE)
    origin, right, up = (transform.applyForward(Point2D(*p)) for p in ((0, 0), (1, 0), (0, 1)))
    ax, ay = right.getX() - origin.getX(), right.getY() - origin.getY()
    bx, by = up.getX() - origin.getX(), up.getY() - origin.getY()
    return abs(ax * by - ay * bx)


def goodPixels(simulated: SimulatedDetector) -> np.ndarray:
    mask = simulated.calexp.mask
    return (mask.array & mask.getPlaneBitMask(["SAT", "BAD", "NO_DATA"])) == 0


def restoredResidual(simulated: SimulatedDetector) -> np.ndarray:
    """calexp + calexpBackground minus the noiseless truth: the noise that was added."""
    background = simulated.calexpBackground.getImage()
    assert background is not None
    restored = simulated.calexp.image.array.astype(np.float64) + background.array
    return restored - simulated.truthSky.array - simulated.truthSources.array


def assertSameDetector(a: SimulatedDetector, b: SimulatedDetector) -> None:
    for name in ("image", "mask", "variance"):
        np.testing.assert_array_equal(getattr(a.calexp, name).array, getattr(b.calexp, name).array)
    backgroundA, backgroundB = a.calexpBackground.getImage(), b.calexpBackground.getImage()
    assert backgroundA is not None and backgroundB is not None
    np.testing.assert_array_equal(backgroundA.array, backgroundB.array)
    np.testing.assert_array_equal(a.truthSky.array, b.truthSky.array)
    np.testing.assert_array_equal(a.truthSources.array, b.truthSources.array)
    np.testing.assert_array_equal(a.sources, b.sources)
    assert (a.pedestal, a.gain) == (b.pedestal, b.gain)


def visitSummary(testData: Path) -> Table:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # afw archive HDUs astropy does not understand
        return Table.read(testData / "hsc_visitSummary_1176.fits", hdu=1)


def brightStarDetector(camera: str) -> int:
    """The detector of a shipped camera on which the default bright star's centre falls."""
    truth = VisitSimulator(camera).truth()  # no pixels are generated for the truth
    assert truth.brightStar is not None
    (detectorId,) = (
        d
        for d, (x, y) in truth.brightStar.pixelPositions.items()
        if getCamera(camera)[d].getBBox().contains(Point2I(round(x), round(y)))
    )
    return detectorId


@pytest.fixture(scope="module")
def hsc() -> tuple[VisitSimulator, SimulatedDetector]:
    """The real-size HSC detector with the bright star, with the shipped visit-1176 sky levels (~1 s)."""
    detectorId = brightStarDetector("HSC")
    simulator = VisitSimulator("HSC", SimulationConfig(detectors=(detectorId,)), seed=11, visit=5)
    return simulator, simulator.makeDetector(detectorId)


# Determinism -----------------------------------------------------------------------------------------
def test_same_seed_and_visit_give_identical_detectors_in_any_order() -> None:
    camera = gridCamera()
    first = VisitSimulator(camera, SMALL, seed=7, visit=3)
    second = VisitSimulator(camera, SMALL, seed=7, visit=3)
    # The second simulator generates in reverse order, and only some detectors.
    later = {d: second.makeDetector(d) for d in (5, 2, 0)}
    for detectorId in (0, 2, 5):
        assertSameDetector(first.makeDetector(detectorId), later[detectorId])
        np.testing.assert_array_equal(
            first.makeSkyFrame(detectorId).image.array, second.makeSkyFrame(detectorId).image.array
        )
    assert first.truth() == second.truth()


def test_other_visit_or_seed_changes_what_it_should() -> None:
    camera = gridCamera()
    config = SMALL.replace(**{"defects.badColumns": 3})
    base = VisitSimulator(camera, config, seed=7, visit=3).makeDetector(1)
    otherVisit = VisitSimulator(camera, config, seed=7, visit=4)
    otherSeed = VisitSimulator(camera, config, seed=8, visit=3)
    nextVisit, nextSeed = otherVisit.makeDetector(1), otherSeed.makeDetector(1)
    for other in (nextVisit, nextSeed):
        assert not np.array_equal(base.calexp.image.array, other.calexp.image.array)
        assert not np.array_equal(base.truthSources.array, other.truthSources.array)
        assert base.pedestal != other.pedestal  # pedestalScatter is drawn per visit
    # The sky frame and the bad columns belong to the detector: shared by the visits of a seed.
    bad = base.calexp.mask.getPlaneBitMask("BAD")
    np.testing.assert_array_equal(base.calexp.mask.array & bad, nextVisit.calexp.mask.array & bad)
    baseSky = VisitSimulator(camera, config, seed=7, visit=3).makeSkyFrame(1).image.array
    np.testing.assert_array_equal(baseSky, otherVisit.makeSkyFrame(1).image.array)
    assert not np.array_equal(baseSky, otherSeed.makeSkyFrame(1).image.array)
    assert not np.array_equal(base.calexp.mask.array & bad, nextSeed.calexp.mask.array & bad)


# Pixels: sky, noise, variance, background -----------------------------------------------------------
def test_hsc_calexp_plus_background_is_the_truth_plus_the_expected_noise(
    hsc: tuple[VisitSimulator, SimulatedDetector], test_data: Path
) -> None:
    simulator, simulated = hsc
    summary = visitSummary(test_data)
    row = summary[np.flatnonzero(np.asarray(summary["id"]) == simulated.detectorId)[0]]
    skyBg, skyNoise = float(row["skyBg"]), float(row["skyNoise"])
    # The effective gain that gives the summary's sky noise at its sky level.
    gain = skyBg / (skyNoise**2 - READ_NOISE**2)
    assert simulated.gain == pytest.approx(gain, rel=1e-12)

    good = goodPixels(simulated)
    assert good.mean() > 0.99
    residual = restoredResidual(simulated)[good]
    expectedSigma = np.sqrt(
        np.maximum(simulated.truthSky.array + simulated.truthSources.array, 0) / gain + 9.0
    )
    assert abs(residual.mean()) < 5 * residual.std() / math.sqrt(residual.size)
    assert (residual / expectedSigma[good]).std() == pytest.approx(1.0, abs=0.003)
    # Where the sky dominates, the noise is the visit summary's own sky noise.
    skyOnly = good & (simulated.truthSources.array < 1.0)
    skyNoiseHere = math.sqrt(float(simulated.truthSky.array[skyOnly].mean()) / gain + READ_NOISE**2)
    assert restoredResidual(simulated)[skyOnly].std() == pytest.approx(skyNoiseHere, rel=0.005)
    assert skyNoiseHere == pytest.approx(skyNoise, rel=0.02)

    # The variance plane is the noise model of the noiseless pixels.
    unsaturated = (simulated.calexp.mask.array & simulated.calexp.mask.getPlaneBitMask("SAT")) == 0
    np.testing.assert_allclose(
        simulated.calexp.variance.array[unsaturated], expectedSigma[unsaturated] ** 2, rtol=1e-5
    )

    # The calexpBackground is a binned model of the sky (not of the sources): within a few
    # counts of the true sky on average, far from the ~3000 counts it removed.
    background = simulated.calexpBackground.getImage()
    assert background is not None
    offset = background.array - simulated.truthSky.array
    assert abs(float(np.median(offset))) < 2.0
    assert len(simulated.calexpBackground) == 1
    assert float(np.median(simulated.calexp.image.array)) == pytest.approx(0.0, abs=3.0)
    assert simulated.calexp.getDetector().getId() == simulated.detectorId
    assert simulated.calexp.getBBox() == simulator.camera[simulated.detectorId].getBBox()


def test_noiseless_calexp_plus_background_is_exactly_the_truth() -> None:
    camera = gridCamera()
    config = SMALL.replace(**{"noise.enabled": False})
    simulator = VisitSimulator(camera, config, seed=2)
    for detectorId in simulator.detectorIds:
        simulated = simulator.makeDetector(detectorId)
        good = goodPixels(simulated)
        np.testing.assert_allclose(restoredResidual(simulated)[good], 0.0, atol=2e-3 * 800.0)
        expected = np.maximum(simulated.truthSky.array + simulated.truthSources.array, 0) / 1.5 + 9.0
        np.testing.assert_allclose(simulated.calexp.variance.array[good], expected[good], rtol=1e-5)


def test_truth_sky_is_smooth_sky_plus_pedestal_plus_scaled_pattern() -> None:
    camera = gridCamera()
    config = QUIET.replace(**{"sky.pedestalScatter": 4.0, "sky.gradientX": 2.0, "sky.gradientY": -1.5})
    simulator = VisitSimulator(camera, config, seed=3, visit=1)
    truth = simulator.truth()
    # radialScale defaults to the largest distance of a detector corner from the origin.
    corners = []
    for detector in camera:
        bbox = detector.getBBox()
        xs = np.array([bbox.getMinX(), bbox.getMaxX(), bbox.getMinX(), bbox.getMaxX()], dtype=float)
        ys = np.array([bbox.getMinY(), bbox.getMinY(), bbox.getMaxY(), bbox.getMaxY()], dtype=float)
        corners.append(np.hypot(*detector.getTransform(PIXELS, FOCAL_PLANE).applyForward((xs, ys))))
    # Pixel centres or outer pixel edges: the two differ by under a pixel.
    assert simulator.config.sky.radialScale == pytest.approx(np.max(corners), abs=PIXEL_MM)
    radius = simulator.config.sky.radialScale
    for detectorId in (0, 1, 3):
        detector = camera[detectorId]
        x, y, fx, fy = focalPlaneGrid(detector)
        smooth = 800.0 + 2.0 * fx - 1.5 * fy - 0.03 * 800.0 * (fx**2 + fy**2) / radius**2
        p = truth.skyFramePatterns[detectorId]
        shape = p.step * np.tanh((x - p.stepCentre) / p.stepWidth) + p.offset
        for amplitude, kx, ky, phase in p.waves:
            shape += amplitude * np.sin(kx * x + ky * y + phase)
        pattern = p.amplitude * (shape - p.cameraMean)
        simulated = simulator.makeDetector(detectorId)
        expected = smooth + truth.pedestals[detectorId] + truth.skyFrameScale * pattern
        np.testing.assert_allclose(simulated.truthSky.array, expected, rtol=0, atol=0.02)
        np.testing.assert_array_equal(simulated.truthSources.array, 0.0)
        assert truth.pedestals[detectorId] == simulated.pedestal
        # The pattern is a few per cent of the sky: 0.006 x level per unit scale.
        assert p.amplitude == pytest.approx(0.006 * 800.0)
        assert 0.005 < np.std(truth.skyFrameScale * pattern) / 800.0 < 0.05


def test_pattern_step_and_offset_scale_with_their_config_and_leave_the_waves_alone() -> None:
    camera = gridCamera()
    plain = VisitSimulator(camera, QUIET, seed=3, visit=1).truth().skyFramePatterns
    wavesOnly = QUIET.replace(**{"skyFrame.stepHeight": 0.0, "skyFrame.offsetScatter": 0.0})
    doubled = QUIET.replace(**{"skyFrame.stepHeight": 1.0, "skyFrame.offsetScatter": 0.6})
    for changed, factor in (
        (VisitSimulator(camera, wavesOnly, seed=3, visit=1).truth().skyFramePatterns, 0.0),
        (VisitSimulator(camera, doubled, seed=3, visit=1).truth().skyFramePatterns, 2.0),
    ):
        for detectorId, pattern in plain.items():
            other = changed[detectorId]
            assert other.waves == pattern.waves
            assert other.step == pytest.approx(factor * pattern.step, rel=1e-12, abs=1e-15)
            assert other.offset == pytest.approx(factor * pattern.offset, rel=1e-12, abs=1e-15)
    with pytest.raises(ValueError, match="stepHeight and offsetScatter must be >= 0"):
        QUIET.replace(**{"skyFrame.offsetScatter": -0.1})


def test_settings_parse_yaml_values_and_name_what_is_wrong() -> None:
    config = SimulationConfig().withSettings(
        ["skyFrame.offsetScatter=0", "lsbGalaxy.enabled=false", "detectors=[1, 2]", "psfSigma=2.5"]
    )
    assert config.skyFrame.offsetScatter == 0.0
    assert config.lsbGalaxy.enabled is False
    assert config.detectors == (1, 2)
    assert config.psfSigma == 2.5
    assert config.sky == SimulationConfig().sky
    with pytest.raises(ValueError, match="FIELD=VALUE, got 'psfSigma'"):
        SimulationConfig().withSettings(["psfSigma"])
    with pytest.raises(ValueError, match="no part 'nosuch'"):
        SimulationConfig().withSettings(["nosuch.field=1"])
    with pytest.raises(ValueError, match="noSuchField"):
        SimulationConfig().withSettings(["skyFrame.noSuchField=1"])


@pytest.mark.parametrize(("noisy", "tolerance"), [(False, 0.002), (True, 0.03)])
def test_stack_scale_measurement_finds_the_true_scale_once_the_smooth_sky_is_removed(
    noisy: bool, tolerance: float
) -> None:
    """SkyMeasurementTask.measureScale + solveScales on calexp + background - smooth sky - pedestal.

    What is left is the scaled pattern (and, when noisy, noise and unmasked galaxies), so the
    stack's own scale fit of the simulated sky frames must give the simulated scale.
    """
    camera = gridCamera(256, 224)
    config = QUIET.replace(
        **{"noise.enabled": noisy, "galaxies.density": 14.0 if noisy else 0.0, "skyFrame.scale": 3.0}
    )
    simulator = VisitSimulator(camera, config, seed=4, visit=1)
    truth = simulator.truth()
    task = SkyMeasurementTask(config=SkyMeasurementConfig())
    samples = []
    for detectorId in simulator.detectorIds:
        simulated = simulator.makeDetector(detectorId)
        background = simulated.calexpBackground.getImage()
        assert background is not None
        _, _, fx, fy = focalPlaneGrid(camera[detectorId])
        image = simulated.calexp.getMaskedImage().clone()
        image.image.array[:] += background.array - truth.evaluateSky(fx, fy, detectorId)
        skyFrame = task.exposureToBackground(simulator.makeSkyFrame(detectorId))
        samples.append(task.measureScale(image, skyFrame))
    assert task.solveScales(samples) == pytest.approx(3.0, rel=tolerance)


def test_sky_frames_average_to_zero_over_the_camera() -> None:
    """The unit-scale pattern has the camera mean of its stored cells removed."""
    camera = gridCamera()
    # Simulating two detectors still uses the whole camera's mean.
    simulator = VisitSimulator(camera, QUIET.replace(detectors=(0, 4)), seed=5)
    everyDetector = VisitSimulator(camera, QUIET, seed=5)
    cells = np.concatenate([everyDetector.makeSkyFrame(d).image.array.ravel() for d in range(6)])
    assert abs(cells.mean()) < 1e-5 * np.abs(cells).max()
    np.testing.assert_array_equal(
        simulator.makeSkyFrame(4).image.array, everyDetector.makeSkyFrame(4).image.array
    )


def test_hsc_sky_frame_is_what_the_stack_would_measure_and_matches_the_truth(
    hsc: tuple[VisitSimulator, SimulatedDetector],
) -> None:
    simulator, simulated = hsc
    detector = simulator.camera[simulated.detectorId]
    skyFrame = simulator.makeSkyFrame(simulated.detectorId)
    metadata = skyFrame.getMetadata()
    bbox = detector.getBBox()
    assert [metadata.getScalar(c) for c in ("BOX.MINX", "BOX.MINY", "BOX.MAXX", "BOX.MAXY")] == [
        bbox.getMinX(),
        bbox.getMinY(),
        bbox.getMaxX(),
        bbox.getMaxY(),
    ]
    assert metadata.getScalar("ALGORITHM") == "NATURAL_SPLINE"
    assert skyFrame.getDetector().getId() == simulated.detectorId

    truth = simulator.truth()
    _, _, fx, fy = focalPlaneGrid(detector)
    patternPart = simulated.truthSky.array - truth.evaluateSky(fx, fy, simulated.detectorId)

    # SkyMeasurementTask measuring an image of the unit pattern gives the stored cells.
    unit = MaskedImageF(bbox)
    unit.image.array[:] = patternPart / truth.skyFrameScale
    measured = SkyMeasurementTask(config=SkyMeasurementConfig()).measureBackground(unit)
    cells = measured[0][0].getStatsImage().image.array
    assert (
        cells.shape
        == skyFrame.image.array.shape
        == (
            int(bbox.getHeight() / 32 + 0.5),
            int(bbox.getWidth() / 32 + 0.5),
        )
    )
    amplitude = truth.skyFramePatterns[simulated.detectorId].amplitude
    np.testing.assert_allclose(skyFrame.image.array, cells, rtol=0, atol=0.02 * amplitude)

    # The sky frame, interpolated as the sky correction does, times the true scale is the
    # pattern part of the true sky.
    model = SkyMeasurementTask.exposureToBackground(skyFrame).getImage()
    assert model is not None
    difference = truth.skyFrameScale * model.array - patternPart
    assert np.abs(difference).max() < 0.05 * truth.skyFrameScale * amplitude
    assert difference.std() < 0.005 * truth.skyFrameScale * amplitude


# Pedestals and levels from the HSC visit summary ----------------------------------------------------
def test_hsc_pedestals_gains_and_levels_come_from_the_visit_summary(test_data: Path) -> None:
    summary = visitSummary(test_data)
    skyBg = {int(i): float(v) for i, v in zip(summary["id"], summary["skyBg"], strict=True)}
    skyNoise = {int(i): float(v) for i, v in zip(summary["id"], summary["skyNoise"], strict=True)}
    median = float(np.median(list(skyBg.values())))
    simulator = VisitSimulator("HSC", seed=1)  # resolving and the truth generate no pixels
    assert len(simulator.detectorIds) == 104 and 9 not in skyBg
    for detectorId in simulator.detectorIds:
        level = skyBg.get(detectorId, median)
        assert simulator.pedestal(detectorId) == pytest.approx(level - median, abs=1e-9)
        noise = skyNoise.get(detectorId, float(np.median(list(skyNoise.values()))))
        assert simulator.gain(detectorId) == pytest.approx(level / (noise**2 - READ_NOISE**2), rel=1e-12)
    assert simulator.pedestal(9) == 0.0
    truth = simulator.truth()
    assert truth.pedestals == {d: simulator.pedestal(d) for d in simulator.detectorIds}
    assert truth.smoothSky.level == pytest.approx(median)
    assert truth.psfSigma == pytest.approx(float(np.median(summary["psfSigma"])))
    assert truth.zeroPoint == pytest.approx(float(np.median(summary["zeroPoint"])))
    assert np.ptp([truth.pedestals[d] for d in skyBg]) > 20  # real detector-to-detector offsets

    # The visit summary itself can be the table, and gives the same numbers as the shipped one.
    direct = VisitSimulator(
        "HSC",
        SimulationConfig().replace(**{"sky.pedestalTable": str(test_data / "hsc_visitSummary_1176.fits")}),
    )
    assert direct.truth().pedestals == truth.pedestals
    assert direct.truth().gains == truth.gains
    # Other cameras have no table by default: flat pedestals, the default level.
    assert set(VisitSimulator("DECam").truth().pedestals.values()) == {0.0}


def test_shipped_sky_level_table_is_up_to_date(test_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location(
        "make_hsc_sky_levels", REPO / "scripts" / "make_hsc_sky_levels.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    source = test_data / "hsc_visitSummary_1176.fits"
    assert script.main(["--check", "--source", str(source), "--output", str(shippedSkyLevelTablePath())]) == 0
    assert "up to date" in capsys.readouterr().out


def test_pedestal_scatter_adds_a_per_visit_random_offset() -> None:
    pedestals = [
        VisitSimulator("HSC", SimulationConfig().replace(**{"sky.pedestalScatter": 5.0}), seed=1, visit=v)
        .truth()
        .pedestals
        for v in (1, 2)
    ]
    table = VisitSimulator("HSC", seed=1).truth().pedestals
    extra = np.array([[p[d] - table[d] for d in table] for p in pedestals])
    assert 4.0 < extra.std() < 6.0 and abs(extra.mean()) < 1.5
    assert not np.array_equal(extra[0], extra[1])


# Sources ---------------------------------------------------------------------------------------------
def fittedCountsSlope(magnitudes: np.ndarray, bright: float, faint: float) -> float:
    """``d log10 N / dm`` of the differential counts, a weighted line fit over 0.25-mag bins."""
    counts, edges = np.histogram(magnitudes, bins=np.arange(bright, faint + 1e-9, 0.25))
    centres = 0.5 * (edges[1:] + edges[:-1])
    use = counts > 0
    slope, _ = np.polyfit(centres[use], np.log10(counts[use]), 1, w=np.sqrt(counts[use]))
    return float(slope)


def test_number_counts_follow_the_configured_power_law() -> None:
    counts = GalaxyConfig(
        density=20.0, refMagnitude=24.0, slope=0.32, brightMagnitude=18.0, faintMagnitude=26.0
    )
    area = 2000.0  # arcmin²
    magnitudes = drawMagnitudes(np.random.default_rng(4), counts, area)
    mean = area * 20.0 * (10 ** (0.32 * 2.0) - 10 ** (0.32 * -6.0))
    assert abs(magnitudes.size - mean) < 5 * math.sqrt(mean)
    assert magnitudes.min() >= 18.0 and magnitudes.max() <= 26.0
    assert fittedCountsSlope(magnitudes, 18.0, 26.0) == pytest.approx(0.32, abs=0.005)
    # The cumulative count to the reference magnitude is the configured density.
    brighterThanRef = np.count_nonzero(magnitudes < 24.0) / area
    expected = 20.0 * (1 - 10 ** (0.32 * -6.0))
    assert brighterThanRef == pytest.approx(expected, rel=5 / math.sqrt(expected * area))


def test_hsc_detector_catalogue_has_realistic_counts_and_fluxes(
    hsc: tuple[VisitSimulator, SimulatedDetector],
) -> None:
    simulator, simulated = hsc
    sources = simulated.sources
    config = simulator.config
    bbox = simulator.camera[simulated.detectorId].getBBox()
    margin = 16  # sources are drawn over the detector grown by this many pixels
    area = (
        (bbox.getWidth() + 2 * margin)
        * (bbox.getHeight() + 2 * margin)
        * (PLATE_SCALE * PIXEL_MM) ** 2
        / 3600
    )
    for isStar, counts in ((True, config.stars), (False, config.galaxies)):
        part = sources[sources["isStar"] == isStar]
        low, high = (
            10 ** (counts.slope * (m - counts.refMagnitude))
            for m in (counts.brightMagnitude, counts.faintMagnitude)
        )
        mean = area * counts.density * (high - low)
        assert abs(part.size - mean) < 5 * math.sqrt(mean)
        assert part["magnitude"].min() >= counts.brightMagnitude
        assert part["magnitude"].max() <= counts.faintMagnitude
    galaxies = sources[~sources["isStar"]]
    assert galaxies.size > 4000  # ~75 per arcmin² to 26.5
    assert fittedCountsSlope(galaxies["magnitude"], 18.0, 26.5) == pytest.approx(0.30, abs=0.03)
    assert config.zeroPoint is not None
    np.testing.assert_allclose(
        sources["flux"], 10 ** (-0.4 * (sources["magnitude"] - config.zeroPoint)), rtol=1e-12
    )
    assert sources["x"].min() >= bbox.getMinX() - margin - 0.5
    assert sources["x"].max() <= bbox.getMaxX() + margin + 0.5
    assert sources["y"].min() >= bbox.getMinY() - margin - 0.5
    assert sources["y"].max() <= bbox.getMaxY() + margin + 0.5


def test_compact_sources_are_rendered_as_catalogued() -> None:
    camera = oneDetectorCamera(size=96, yaw=0.0)
    config = QUIET.replace(
        **{
            "stars.density": 100.0,
            "galaxies.density": 150.0,
            "galaxies.halfLightRadius": 1.0,
            "psfSigma": 1.8,
        }
    )
    simulated = VisitSimulator(camera, config, seed=9).makeDetector(0)
    sources = simulated.sources
    assert 20 < sources.size < 300 and sources["isStar"].any() and (~sources["isStar"]).any()
    psf2 = 1.8**2
    # The catalogue's moments: the PSF plus a Gaussian of the half-light radius along the axes.
    pixelScale = PLATE_SCALE * PIXEL_MM
    galaxies = sources[~sources["isStar"]]
    major = galaxies["halfLightRadius"] / pixelScale / math.sqrt(2 * math.log(2))
    moments = np.stack(
        [
            np.stack([galaxies["sigmaXX"], galaxies["sigmaXY"]], -1),
            np.stack([galaxies["sigmaXY"], galaxies["sigmaYY"]], -1),
        ],
        -2,
    )
    eigen = np.linalg.eigvalsh(moments)
    np.testing.assert_allclose(eigen[:, 1], psf2 + major**2, rtol=1e-9)
    np.testing.assert_allclose(eigen[:, 0], psf2 + (galaxies["axisRatio"] * major) ** 2, rtol=1e-9)
    stars = sources[sources["isStar"]]
    np.testing.assert_allclose(stars["sigmaXX"], psf2)
    np.testing.assert_allclose(stars["sigmaXY"], 0.0)

    # Every catalogued Gaussian evaluated at every pixel centre, the brute-force way.
    y, x = np.mgrid[0:96, 0:96].astype(float)
    covariance = np.stack(
        [
            np.stack([sources["sigmaXX"], sources["sigmaXY"]], -1),
            np.stack([sources["sigmaXY"], sources["sigmaYY"]], -1),
        ],
        -2,
    )
    inverse = np.linalg.inv(covariance)
    dx = x[None] - sources["x"][:, None, None]
    dy = y[None] - sources["y"][:, None, None]
    chi2 = inverse[:, 0, 0, None, None] * dx**2 + 2 * inverse[:, 0, 1, None, None] * dx * dy
    chi2 += inverse[:, 1, 1, None, None] * dy**2
    norm = sources["flux"] / (2 * math.pi * np.sqrt(np.linalg.det(covariance)))
    expected = np.sum(norm[:, None, None] * np.exp(-0.5 * chi2), axis=0)
    # Stamps stop where a profile falls below 0.02 counts.
    np.testing.assert_allclose(simulated.truthSources.array, expected, rtol=1e-4, atol=0.1)


@pytest.mark.parametrize("n", [0.5, 1.0, 2.0])
def test_lsb_galaxy_image_and_flux_are_the_analytic_sersic(n: float) -> None:
    camera = oneDetectorCamera(size=420, yaw=30.0, position=(1.0, -2.0))
    effectiveRadius, truncation, axisRatio, angle, sb = 5.0, 5.0, 0.7, 40.0, 22.0
    config = QUIET.replace(
        **{
            "lsbGalaxy.enabled": True,
            "lsbGalaxy.position": (1.2, -1.9),
            "lsbGalaxy.sersicIndex": n,
            "lsbGalaxy.effectiveRadius": effectiveRadius,
            "lsbGalaxy.truncation": truncation,
            "lsbGalaxy.axisRatio": axisRatio,
            "lsbGalaxy.positionAngle": angle,
            "lsbGalaxy.surfaceBrightness": sb,
        }
    )
    simulator = VisitSimulator(camera, config, seed=1)
    image = simulator.makeDetector(0).truthSources.array
    lsb = simulator.truth().lsbGalaxy
    assert lsb is not None
    # Surface brightness at r_e (counts per arcsec²) and the profile, from the config alone.
    intensity = 10 ** (-0.4 * (sb - 30.0))
    b = special.gammaincinv(2 * n, 0.5)

    def profile(m: Any) -> Any:
        return intensity * np.exp(-b * (m ** (1 / n) - 1))

    _, _, fx, fy = focalPlaneGrid(camera[0])
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    along = ((fx - 1.2) * cos + (fy + 1.9) * sin) * PLATE_SCALE
    across = (-(fx - 1.2) * sin + (fy + 1.9) * cos) * PLATE_SCALE
    m = np.hypot(along / effectiveRadius, across / (axisRatio * effectiveRadius))
    pixelArcsec2 = pixelAreaMm2(camera[0]) * PLATE_SCALE**2
    expected = np.where(m <= truncation, profile(m) * pixelArcsec2, 0.0)
    edge = np.abs(m - truncation) < 0.02  # pixels on the cut may fall either side in float32
    np.testing.assert_allclose(image[~edge], expected[~edge], rtol=2e-4, atol=1e-6 * intensity)

    # The total flux: a numerical integral of the truncated profile over the ellipse.
    numeric, _ = integrate.quad(
        lambda r: 2 * math.pi * axisRatio * r * profile(r / effectiveRadius),
        0,
        truncation * effectiveRadius,
        points=[effectiveRadius],
    )
    assert lsb.flux == pytest.approx(numeric, rel=1e-8)
    assert image.sum(dtype=np.float64) == pytest.approx(numeric, rel=2e-3)
    assert lsb.pixelPositions[0] == pytest.approx(
        tuple(camera[0].getTransform(FOCAL_PLANE, PIXELS).applyForward(Point2D(1.2, -1.9))), abs=1e-9
    )


def test_bright_star_is_a_psf_core_plus_a_cut_moffat_halo() -> None:
    camera = oneDetectorCamera(size=300, yaw=-20.0, position=(0.5, 0.5))
    magnitude, fraction, alphaArcsec, beta, cut = 14.0, 0.2, 1.0, 1.6, 20.0
    config = QUIET.replace(
        **{
            "brightStar.enabled": True,
            "brightStar.position": (0.55, 0.45),
            "brightStar.magnitude": magnitude,
            "brightStar.haloFraction": fraction,
            "brightStar.haloCoreRadius": alphaArcsec,
            "brightStar.haloIndex": beta,
            "brightStar.maxRadius": cut,
        }
    )
    simulator = VisitSimulator(camera, config, seed=1)
    image = simulator.makeDetector(0).truthSources.array
    star = simulator.truth().brightStar
    assert star is not None
    flux = 10 ** (-0.4 * (magnitude - 30.0))
    assert star.flux == pytest.approx(flux, rel=1e-12)
    assert star.coreFlux == pytest.approx((1 - fraction) * flux)

    def halo(r: float) -> float:  # arcsec -> counts per arcsec², the uncut halo
        return (
            fraction * flux * (beta - 1) / (math.pi * alphaArcsec**2) * (1 + (r / alphaArcsec) ** 2) ** -beta
        )

    inside, _ = integrate.quad(lambda r: 2 * math.pi * r * halo(r), 0, cut, points=[alphaArcsec])
    assert star.haloFlux == pytest.approx(inside, rel=1e-8)
    assert image.sum(dtype=np.float64) == pytest.approx(star.coreFlux + inside, rel=1e-3)

    x, y, fx, fy = focalPlaneGrid(camera[0])
    radius = np.hypot(fx - 0.55, fy - 0.45) * PLATE_SCALE
    pixelArcsec2 = pixelAreaMm2(camera[0]) * PLATE_SCALE**2
    expected = np.where(radius <= cut, np.vectorize(halo)(radius) * pixelArcsec2, 0.0)
    cx, cy = star.pixelPositions[0]
    expected += (
        star.coreFlux / (2 * math.pi * 1.5**2) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 1.5**2))
    )
    edge = np.abs(radius - cut) < 0.05
    np.testing.assert_allclose(image[~edge], expected[~edge], rtol=2e-4, atol=0.05)


@pytest.mark.parametrize("n", [0.5, 1.0, 2.0, 4.0])
def test_sersic_functions_match_numerical_integration(n: float) -> None:
    b = sersicB(n)
    intensity, radius, q = 3.0, 7.0, 0.6

    def ring(r: float) -> float:
        return 2 * math.pi * q * r * intensity * math.exp(-b * ((r / radius) ** (1 / n) - 1))

    total = integrate.quad(ring, 0, radius)[0] + integrate.quad(ring, radius, np.inf)[0]
    assert sersicTotalFlux(n, intensity, radius, q) == pytest.approx(total, rel=1e-7)
    # Half the light inside r_e is what defines b_n.
    assert integrate.quad(ring, 0, radius)[0] == pytest.approx(0.5 * total, rel=1e-7)
    assert sersicEnclosedFraction(n, 1.0) == pytest.approx(0.5, rel=1e-12)
    for m in (0.3, 2.0, 5.0):
        assert sersicEnclosedFraction(n, m) == pytest.approx(
            integrate.quad(ring, 0, m * radius, points=[radius] if m > 1 else None)[0] / total, rel=1e-7
        )
    m2 = np.array([0.0, 0.25, 1.0, 4.0, 36.1], dtype=np.float32)
    values = sersicProfile(m2, n, intensity, truncation=6.0)
    assert values.dtype == np.float32
    np.testing.assert_allclose(
        values[:4], intensity * np.exp(-b * (np.sqrt(m2[:4]) ** (1 / n) - 1)), rtol=1e-5
    )
    assert values[2] == pytest.approx(intensity, rel=1e-6) and values[4] == 0.0


def test_sersic_b_has_its_known_values() -> None:
    # Ciotti & Bertin (1999): b_1 = 1.67834699, b_4 = 7.66924944.
    assert sersicB(1.0) == pytest.approx(1.67834699, abs=1e-8)
    assert sersicB(4.0) == pytest.approx(7.66924944, abs=1e-8)
    with pytest.raises(ValueError, match="Sérsic index"):
        sersicB(0.0)


@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 1.4), (2.5, 2.0), (0.7, 4.765)])
def test_moffat_functions_match_numerical_integration(alpha: float, beta: float) -> None:
    flux = 50.0

    def ring(r: float) -> float:
        return 2 * math.pi * r * float(moffatProfile(np.array([r * r]), flux, alpha, beta, np.inf)[0])

    total = integrate.quad(ring, 0, alpha)[0] + integrate.quad(ring, alpha, np.inf)[0]
    assert total == pytest.approx(flux, rel=1e-7)
    for radius in (0.5 * alpha, alpha, 10 * alpha):
        assert moffatEnclosedFraction(alpha, beta, radius) == pytest.approx(
            integrate.quad(ring, 0, radius)[0] / flux, rel=1e-7
        )
    cut = moffatProfile(np.array([0.0, 9.0, 9.01]), flux, alpha, beta, 3.0)
    assert cut[0] == pytest.approx(flux * (beta - 1) / (math.pi * alpha**2)) and cut[1] > 0 and cut[2] == 0.0
    with pytest.raises(ValueError, match="Moffat index"):
        moffatProfile(np.array([1.0]), flux, alpha, 1.0, 3.0)


def test_every_camera_places_the_lsb_galaxy_across_detectors_and_the_star_on_one() -> None:
    for name in ("LSSTCam", "LSSTComCam", "HSC", "DECam"):
        truth = VisitSimulator(name, seed=1).truth()
        assert truth.lsbGalaxy is not None and truth.brightStar is not None
        assert len(truth.lsbGalaxy.pixelPositions) >= 2, name
        camera = getCamera(name)
        onDetector = [
            d
            for d, (x, y) in truth.brightStar.pixelPositions.items()
            if camera[d].getBBox().contains(Point2I(round(x), round(y)))
        ]
        assert len(onDetector) == 1, name


def checkBrightStarDetector(simulator: VisitSimulator, simulated: SimulatedDetector) -> None:
    """A full-size detector of a shipped camera: geometry, noise, and the saturated star."""
    detector = simulator.camera[simulated.detectorId]
    assert simulated.calexp.getBBox() == detector.getBBox()
    assert simulated.calexp.getDetector().getName() == detector.getName()
    good = goodPixels(simulated)
    residual = restoredResidual(simulated)[good]
    chi = residual / np.sqrt(simulated.calexp.variance.array[good])
    assert abs(chi.mean()) < 5 / math.sqrt(chi.size) and chi.std() == pytest.approx(1.0, abs=0.005)
    # The star's core saturates, and the SAT plane says so.
    star = simulator.truth().brightStar
    assert star is not None
    x, y = star.pixelPositions[simulated.detectorId]
    mask = simulated.calexp.mask
    saturated = (mask.array & mask.getPlaneBitMask("SAT")) != 0
    assert saturated[round(y), round(x)]
    background = simulated.calexpBackground.getImage()
    assert background is not None
    restored = simulated.calexp.image.array[saturated] + background.array[saturated]
    np.testing.assert_allclose(restored, simulator.config.noise.saturation, rtol=1e-6)


@pytest.mark.parametrize("name", ["LSSTCam", "LSSTComCam", "DECam"])
def test_every_shipped_camera_simulates_its_bright_star_detector(name: str) -> None:
    detectorId = brightStarDetector(name)
    simulator = VisitSimulator(name, SimulationConfig(detectors=(detectorId,)), seed=2, visit=3)
    checkBrightStarDetector(simulator, simulator.makeDetector(detectorId))


def test_hsc_simulates_its_bright_star_detector(hsc: tuple[VisitSimulator, SimulatedDetector]) -> None:
    checkBrightStarDetector(*hsc)


# Masks -----------------------------------------------------------------------------------------------
def test_mask_planes_mark_defects_borders_saturation_and_optionally_detections() -> None:
    camera = oneDetectorCamera(size=200, yaw=0.0)
    config = QUIET.replace(
        **{
            "galaxies.density": 100.0,
            "defects.badColumns": 3,
            "defects.noDataBorder": 4,
            "defects.badColumnOffset": 500.0,
        }
    )
    simulated = VisitSimulator(camera, config, seed=4).makeDetector(0)
    mask = simulated.calexp.mask
    bad = (mask.array & mask.getPlaneBitMask("BAD")) != 0
    columns = np.flatnonzero(bad.any(axis=0))
    assert columns.size == 3 and (bad.sum(axis=0)[columns] >= 100).all()
    # Hot columns: 500 counts above what the truth explains.
    assert np.median(restoredResidual(simulated)[bad]) == pytest.approx(500.0, abs=5.0)
    noData = (mask.array & mask.getPlaneBitMask("NO_DATA")) != 0
    ring = np.ones((200, 200), dtype=bool)
    ring[4:-4, 4:-4] = False
    np.testing.assert_array_equal(noData, ring)
    assert not (mask.array & mask.getPlaneBitMask("DETECTED")).any()

    # Without hot columns (which the threshold would find), with the DETECTED plane kept.
    keep = {"background.keepDetected": True, "defects.badColumnOffset": 0.0}
    kept = VisitSimulator(camera, config.replace(**keep), seed=4).makeDetector(0)
    detected = (kept.calexp.mask.array & mask.getPlaneBitMask("DETECTED")) != 0
    # Bright sources (peak over 20 sigma of the noise) are detected, and empty sky mostly is not.
    noise = np.sqrt(kept.calexp.variance.array)
    assert detected[kept.truthSources.array > 20 * noise].all()
    assert detected[kept.truthSources.array < 0.01].mean() < 0.05
    # The same pixels before background subtraction, away from the hot columns.
    np.testing.assert_allclose(restoredResidual(kept)[~bad], restoredResidual(simulated)[~bad], atol=1e-2)


# Truth -----------------------------------------------------------------------------------------------
def test_truth_round_trips_through_dicts_and_json() -> None:
    simulator = VisitSimulator(gridCamera(), SMALL, seed=6, visit=2)
    truth = simulator.truth()
    assert truth.lsbGalaxy is not None and truth.lsbGalaxy.pixelPositions
    assert truth.brightStar is not None and truth.brightStar.pixelPositions
    text = json.dumps(truth.toDict())
    again = VisitTruth.fromDict(json.loads(text))
    assert again == truth
    assert json.dumps(again.toDict()) == text
    assert (again.camera, again.visit, again.seed, again.detectors) == ("GridCam", 2, 6, tuple(range(6)))
    assert SimulationConfig.fromDict(json.loads(json.dumps(truth.config))) == simulator.config
    # The recorded config rebuilds the same visit.
    rebuilt = VisitSimulator(gridCamera(), SimulationConfig.fromDict(truth.config), seed=6, visit=2)
    assertSameDetector(rebuilt.makeDetector(3), simulator.makeDetector(3))


def test_resolved_config_fills_every_camera_dependent_field() -> None:
    config = VisitSimulator("LSSTCam").config
    assert config.plateScale == pytest.approx(20.0, rel=1e-3)  # 0.2 arcsec per 10 micron pixel
    assert config.zeroPoint == 31.5 and config.sky.level == 1000.0
    # 0.8 arcsec FWHM in 0.2 arcsec pixels.
    assert config.psfSigma == pytest.approx(
        0.8 / (2 * math.sqrt(2 * math.log(2))) / (config.plateScale * 0.01)
    )
    assert config.skyFrame.amplitude == pytest.approx(6.0)
    assert config.lsbGalaxy.position is not None and config.brightStar.position is not None
    assert config.detectors is not None and len(config.detectors) == 189
    # Fields already set are kept.
    assert VisitSimulator("LSSTCam", SimulationConfig(psfSigma=2.5)).config.psfSigma == 2.5


# In-memory handles -----------------------------------------------------------------------------------
def test_handles_generate_the_same_datasets_as_make_detector_and_count_generations() -> None:
    camera = gridCamera()
    simulator = VisitSimulator(camera, SMALL, seed=3, visit=9)
    calexps = simulator.calexpHandles()
    assert [h.dataId for h in calexps] == [
        {"instrument": "GridCam", "visit": 9, "detector": d} for d in range(6)
    ]
    assert simulator.generationCount == 0

    reference = VisitSimulator(camera, SMALL, seed=3, visit=9).makeDetector(2)
    calexp = calexps[2].get()
    assert simulator.generationCount == 1
    np.testing.assert_array_equal(calexp.image.array, reference.calexp.image.array)
    np.testing.assert_array_equal(calexps[2].get(component="mask").array, reference.calexp.mask.array)
    assert simulator.generationCount == 2  # every get() generates afresh: nothing large is kept

    # The background of a generated detector is kept (it is small): no new generation.
    backgrounds = simulator.calexpBackgroundHandles()
    first = backgrounds[2].get()
    assert simulator.generationCount == 2
    np.testing.assert_array_equal(first.getImage().array, reference.calexpBackground.getImage().array)
    # A detector not generated yet is generated once for its background.
    backgrounds[4].get()
    backgrounds[4].get()
    assert simulator.generationCount == 3
    # Copies: changing one does not change the next.
    first[0][0].getStatsImage().image.array[:] = 0.0
    assert backgrounds[2].get().getImage().array.mean() > 100.0

    skyFrames = simulator.skyFrameHandles()
    np.testing.assert_array_equal(skyFrames[5].get().image.array, simulator.makeSkyFrame(5).image.array)
    assert simulator.generationCount == 3  # sky frames need no pixels of the visit

    np.testing.assert_array_equal(simulator.truthSkyHandles()[2].get().array, reference.truthSky.array)
    np.testing.assert_array_equal(
        simulator.truthSourcesHandles()[2].get().array, reference.truthSources.array
    )
    box = Box2I(Point2I(10, 20), Extent2I(30, 40))
    cut = calexps[2].get(parameters={"bbox": box}, component="image")
    np.testing.assert_array_equal(cut.array, reference.calexp.image.array[20:60, 10:40])
    with pytest.raises(ValueError, match="component 'psf'"):
        calexps[0].get(component="psf")
    with pytest.raises(ValueError, match="parameter 'region'"):
        calexps[0].get(parameters={"region": box})
    with pytest.raises(ValueError, match="kind 'raw'"):
        simulator.produce("raw", 0)
    assert [d.detectorId for d in simulator.iterDetectors()] == list(range(6))


# Errors ----------------------------------------------------------------------------------------------
BAD_INPUTS: list[tuple[Callable[[], Any], type[Exception], str]] = [
    (lambda: SkyConfig(radialScale=0.0), ValueError, "radialScale"),
    (lambda: SkyConfig(level=-5.0), ValueError, "level must be > 0"),
    (lambda: SkyConfig(gradientX=math.nan), ValueError, "finite"),
    (lambda: SkyFrameConfig(binSize=0), ValueError, "binSize"),
    (lambda: SkyFrameConfig(algorithm="CUBIC"), ValueError, "algorithm must be one of"),
    (lambda: SkyFrameConfig(minWavelength=500.0, maxWavelength=100.0), ValueError, "minWavelength"),
    (lambda: NoiseConfig(gain=0.0), ValueError, "gain > 0"),
    (
        lambda: SourceCountsConfig(brightMagnitude=27.0),
        ValueError,
        "brightMagnitude must be < faintMagnitude",
    ),
    (lambda: GalaxyConfig(minAxisRatio=0.0), ValueError, "minAxisRatio"),
    (lambda: LsbGalaxyConfig(axisRatio=1.5), ValueError, "axisRatio"),
    (lambda: BrightStarConfig(haloIndex=1.0), ValueError, "haloIndex must be > 1"),
    (lambda: CalexpBackgroundConfig(statistic="MODE"), ValueError, "statistic"),
    (lambda: SimulationConfig(sky=NoiseConfig()), TypeError, "SimulationConfig.sky must be a SkyConfig"),
    (lambda: SimulationConfig(detectors=()), ValueError, "detectors is empty"),
    (lambda: SimulationConfig(detectors=(1.5,)), ValueError, "integer detector ids"),
    (lambda: SimulationConfig().replace(**{"clouds.cover": 1.0}), KeyError, "no part 'clouds'"),
    (
        lambda: VisitSimulator(gridCamera(), SimulationConfig(detectors=(1, 99))),
        ValueError,
        r"\[99\] are not in camera 'GridCam'",
    ),
    (lambda: VisitSimulator(gridCamera(), SimulationConfig(detectors=(1, 1))), ValueError, "repeat"),
    (lambda: VisitSimulator(gridCamera(), seed=-1), ValueError, "seed must be a non-negative integer"),
    (lambda: VisitSimulator(gridCamera(), visit=1.5), ValueError, "visit must be a non-negative integer"),
    (lambda: VisitSimulator(gridCamera(), seed=None), ValueError, "seed must be a non-negative integer"),  # type: ignore[arg-type]
    (lambda: VisitSimulator("NoSuchCam"), Exception, "NoSuchCam"),
    (
        lambda: VisitSimulator(gridCamera(), SimulationConfig(detectors=(1,))).makeDetector(2),
        KeyError,
        "detector 2 is not simulated",
    ),
    (
        lambda: VisitSimulator(gridCamera(), SimulationConfig(detectors=(1,))).makeSkyFrame(2),
        KeyError,
        "detector 2 is not simulated",
    ),
    (
        lambda: VisitSimulator(
            gridCamera(), SimulationConfig().replace(**{"sky.pedestalTable": "/no/such/table.ecsv"})
        ),
        FileNotFoundError,
        "/no/such/table.ecsv",
    ),
    (
        lambda: VisitSimulator("HSC", SimulationConfig().replace(**{"noise.readNoise": 40.0})).gain(50),
        ValueError,
        "detector 50: skyNoise .* is not above the read noise 40",
    ),
]


@pytest.mark.parametrize(("make", "error", "message"), BAD_INPUTS)
def test_bad_inputs_raise_clear_errors(make: Callable[[], Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        make()


def test_a_sky_level_table_without_sky_levels_is_refused(tmp_path: Path) -> None:
    table = Table({"id": [0, 1], "skyNoise": [30.0, 31.0]})
    path = tmp_path / "levels.ecsv"
    table.write(path, format="ascii.ecsv")
    with pytest.raises(ValueError, match=f"{path}: the sky-level table has no 'skyBg' column"):
        VisitSimulator(gridCamera(), SimulationConfig().replace(**{"sky.pedestalTable": str(path)}))
    Table({"id": [0, 0], "skyBg": [3.0, 3.0]}).write(tmp_path / "twice.ecsv", format="ascii.ecsv")
    with pytest.raises(ValueError, match="detector ids repeat"):
        VisitSimulator(
            gridCamera(), SimulationConfig().replace(**{"sky.pedestalTable": str(tmp_path / "twice.ecsv")})
        )


def test_config_and_inputs_are_not_modified() -> None:
    config = SMALL.replace(detectors=[0, 1])  # a list becomes a tuple
    assert config.detectors == (0, 1)
    before = config.toDict()
    camera = gridCamera()
    simulator = VisitSimulator(camera, config, seed=1)
    simulator.makeDetector(0)
    assert config.toDict() == before
    assert config.sky.level == 800.0 and SMALL.lsbGalaxy.position is None  # resolution made a new config
    assert simulator.config.lsbGalaxy.position is not None


# The sky correction on a simulated visit --------------------------------------------------------------
def test_sky_correction_recovers_the_sky_frame_scale_of_a_small_visit() -> None:
    """SkyCorrectionTask fits the sky frames the simulator made to the calexps it made.

    Six 512-pixel detectors with HSC-like pixels, features scaled to them;
    bgModel1 superpixels larger than the focal plane as on HSC.  On six
    detectors bgModel1 absorbs part of the per-detector pattern offsets, so
    the fit is a few per cent low (HSC's central six detectors, full size:
    within 1-2 %; see docs/simulation.md).
    """
    size = 512
    camera = gridCamera(size, size, name="GridCam512")
    config = SimulationConfig(plateScale=PLATE_SCALE).replace(
        **{
            "skyFrame.minWavelength": size / 3,
            "skyFrame.maxWavelength": size,
            "skyFrame.stepWidth": size / 20,
            "lsbGalaxy.effectiveRadius": 15.0,
            "brightStar.maxRadius": 40.0,
        }
    )
    simulator = VisitSimulator(camera, config, seed=0, visit=1)
    taskConfig = SkyCorrectionConfig()
    taskConfig.doMaskObjects = False
    taskConfig.binning = 4
    for model, superpixel in ((taskConfig.bgModel1, 4 * size), (taskConfig.bgModel2, size / 4)):
        model.xSize = model.ySize = superpixel * PIXEL_MM
        model.pixelSize = PIXEL_MM
    calexpBackgrounds = [handle.get() for handle in simulator.calexpBackgroundHandles()]
    result = SkyCorrectionTask(config=taskConfig).run(
        simulator.calexpHandles(), calexpBackgrounds, simulator.skyFrameHandles(), camera
    )
    assert result.skyFrameScale == pytest.approx(simulator.truth().skyFrameScale, rel=0.15)
    assert simulator.generationCount == 12  # backgrounds, then the task's calexp fetches


# The documentation ------------------------------------------------------------------------------------
def test_documentation_examples_run_and_print_what_they_claim(capsys: pytest.CaptureFixture[str]) -> None:
    """The ```python blocks of docs/simulation.md, executed in order in one namespace."""
    text = (REPO / "docs" / "simulation.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) == 2
    namespace: dict[str, Any] = {}
    for index, block in enumerate(blocks):
        exec(compile(block, f"simulation.md[block {index}]", "exec"), namespace)
    printed = capsys.readouterr().out
    match = re.search(r"noise / sigma: ([0-9.]+)", printed)
    assert match is not None and float(match.group(1)) == pytest.approx(1.0, abs=0.01)
    simulator = namespace["simulator"]
    assert f"scale 5.0, pedestal {simulator.pedestal(50):.1f}, gain {simulator.gain(50):.2f}" in printed
    result = namespace["result"]
    assert f"fitted scale {result.skyFrameScale:.3f} (true 5.0); 4 detector generations" in printed
    assert result.skyFrameScale == pytest.approx(5.0, rel=0.2)
