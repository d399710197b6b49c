"""`VisitSimulator`: one visit of a camera, generated detector by detector."""

from __future__ import annotations

__all__ = ["SimulatedDetector", "VisitSimulator", "resolveConfig"]

import dataclasses
import functools
import math
import numbers
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from ..afwlite.cameraGeom import FOCAL_PLANE, PIXELS, Camera, Detector, DetectorType
from ..afwlite.geom import Point2D
from ..afwlite.image import ExposureF, ImageF, Mask, MaskedImageF
from ..afwlite.math import BackgroundList, binGeometry
from ..cameras import getCamera
from ..detection import dilateMask, stencilHalfWidths
from ..sky_measurement import SkyMeasurementConfig, SkyMeasurementTask
from ..subtract_background import SubtractBackgroundConfig, SubtractBackgroundTask
from ._config import SimulationConfig
from ._handles import SimulatedDatasetHandle
from ._profiles import (
    moffatEnclosedFraction,
    moffatProfile,
    sersicEnclosedFraction,
    sersicProfile,
    sersicTotalFlux,
)
from ._sky import SkyFramePattern, SmoothSky, drawSkyFramePattern, fillSky
from ._sky_levels import SkyLevelTable, readSkyLevelTable, shippedSkyLevelTablePath
from ._sources import drawSources, renderGaussians, renderProfile
from ._truth import BrightStarTruth, LsbGalaxyTruth, VisitTruth

#: Plate scales (arcsec per mm) of the shipped cameras; others default to 20.
PLATE_SCALES = {"LSSTCam": 20.005867576692737, "LSSTComCam": 20.005867576692737, "HSC": 11.2, "DECam": 17.575}
_DEFAULT_PLATE_SCALE = 20.0
_DEFAULT_ZERO_POINT = 31.5
_DEFAULT_SKY_LEVEL = 1000.0
_DEFAULT_SEEING = 0.8  # arcsec FWHM
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))

# Independent random streams, each seeded by (seed, stream, detector[, visit]).
_STREAM_SOURCES = 1
_STREAM_NOISE = 2
_STREAM_PEDESTAL = 3
_STREAM_DEFECTS = 11  # detector properties: shared by all visits
_STREAM_PATTERN = 12
_STREAM_SKY_FRAME_NOISE = 13

# Sources are drawn over the detector grown by this many pixels on each side.
_SOURCE_MARGIN = 16
_NOISE_CHUNK_ROWS = 256


@dataclass
class SimulatedDetector:
    """One generated detector: the stack's inputs and the truth behind them.

    Attributes
    ----------
    detectorId : `int`
        The detector id.
    calexp : `ExposureF`
        Background-subtracted image with variance, mask (BAD, SAT, NO_DATA;
        DETECTED only if ``background.keepDetected``) and the detector.
    calexpBackground : `BackgroundList`
        The background that was subtracted (one element).
    truthSky : `ImageF`
        The true sky at every pixel: smooth sky + pedestal + scale x pattern.
    truthSources : `ImageF`
        Noiseless sources: stars, galaxies, and the LSB galaxy and bright
        star where they reach.
    sources : `numpy.ndarray`
        The drawn stars and galaxies (`SOURCE_DTYPE`).
    pedestal : `float`
        The detector's pedestal, counts.
    gain : `float`
        The detector's (effective) gain, e-/ADU.
    """

    detectorId: int
    calexp: ExposureF
    calexpBackground: BackgroundList
    truthSky: ImageF
    truthSources: ImageF
    sources: np.ndarray
    pedestal: float
    gain: float


def _scienceDetectors(camera: Camera) -> list[Detector]:
    return sorted((d for d in camera if d.getType() == DetectorType.SCIENCE), key=lambda d: d.getId())


def _focalPlaneRadius(detectors: list[Detector]) -> float:
    return max(math.hypot(c.getX(), c.getY()) for d in detectors for c in d.getCorners(FOCAL_PLANE))


def _nearestCentres(detectors: list[Detector], target: tuple[float, float], count: int) -> list[Point2D]:
    centres = [d.getCenter(FOCAL_PLANE) for d in detectors]
    centres.sort(key=lambda c: math.hypot(c.getX() - target[0], c.getY() - target[1]))
    return centres[:count]


def _skyLevelTable(camera: Camera, config: SimulationConfig) -> SkyLevelTable | None:
    name = config.sky.pedestalTable
    if name == "auto":
        return readSkyLevelTable(shippedSkyLevelTablePath()) if camera.getName() == "HSC" else None
    if name.strip().lower() in ("", "none"):
        return None
    return readSkyLevelTable(name)


def resolveConfig(camera: Camera, config: SimulationConfig) -> SimulationConfig:
    """Fill the camera-dependent `None` fields of a config.

    Parameters
    ----------
    camera : `Camera`
        The camera.
    config : `SimulationConfig`
        The config; fields already set are kept.

    Returns
    -------
    resolved : `SimulationConfig`
        No `None` left in ``detectors``, ``plateScale``, ``zeroPoint``,
        ``psfSigma``, ``sky.level``, ``sky.radialScale``,
        ``skyFrame.amplitude``, ``lsbGalaxy.position``,
        ``brightStar.position``.

    Raises
    ------
    ValueError
        If the camera has no science detector or ``detectors`` names one
        the camera lacks.
    """
    science = _scienceDetectors(camera)
    if not science:
        raise ValueError(f"camera {camera.getName()!r} has no science detector to simulate")
    table = _skyLevelTable(camera, config)
    detectors = config.detectors if config.detectors is not None else tuple(d.getId() for d in science)
    missing = [d for d in detectors if d not in camera]
    if missing:
        raise ValueError(f"detectors {missing} are not in camera {camera.getName()!r}")
    if len(set(detectors)) != len(detectors):
        raise ValueError(f"detectors {list(detectors)} repeat")
    plateScale = config.plateScale or PLATE_SCALES.get(camera.getName(), _DEFAULT_PLATE_SCALE)
    zeroPoint = config.zeroPoint
    if zeroPoint is None:
        zeroPoint = (
            table.zeroPoint if table is not None and table.zeroPoint is not None else _DEFAULT_ZERO_POINT
        )
    psfSigma = config.psfSigma
    if psfSigma is None:
        if table is not None and table.psfSigma is not None:
            psfSigma = table.psfSigma
        else:
            pixelScale = plateScale * science[0].getPixelSize()[0]
            psfSigma = _DEFAULT_SEEING / _FWHM_PER_SIGMA / pixelScale
    level = config.sky.level
    if level is None:
        level = table.medianSkyBg if table is not None else _DEFAULT_SKY_LEVEL
    radius = _focalPlaneRadius(science)
    radialScale = config.sky.radialScale or radius
    amplitude = config.skyFrame.amplitude if config.skyFrame.amplitude is not None else 0.006 * level
    lsbPosition = config.lsbGalaxy.position
    if lsbPosition is None:
        pair = _nearestCentres(science, (0.35 * radius, 0.15 * radius), 2)
        lsbPosition = (
            sum(c.getX() for c in pair) / len(pair),
            sum(c.getY() for c in pair) / len(pair),
        )
    starPosition = config.brightStar.position
    if starPosition is None:
        (centre,) = _nearestCentres(science, (-0.3 * radius, -0.25 * radius), 1)
        starPosition = (centre.getX(), centre.getY())
    return config.replace(
        detectors=tuple(detectors),
        plateScale=float(plateScale),
        zeroPoint=float(zeroPoint),
        psfSigma=float(psfSigma),
        **{
            "sky.level": float(level),
            "sky.radialScale": float(radialScale),
            "skyFrame.amplitude": float(amplitude),
            "lsbGalaxy.position": (float(lsbPosition[0]), float(lsbPosition[1])),
            "brightStar.position": (float(starPosition[0]), float(starPosition[1])),
        },
    )


class VisitSimulator:
    """A simulated visit of a camera with known truth, generated one detector at a time.

    Every detector is generated from its own random streams, seeded by
    ``(seed, stream, detector id, visit)`` through `numpy.random.SeedSequence`
    (the sky-frame pattern and the bad columns leave out the visit: they are
    properties of the detector), so a detector's pixels do not depend on
    which other detectors were generated, or in which order.  Nothing large
    is kept: each call generates afresh.

    Parameters
    ----------
    camera : `Camera` or `str`
        The camera, or the name of a shipped one (`getCamera`).
    config : `SimulationConfig`, optional
        What to simulate; `None` field values are filled per camera
        (`resolveConfig`).
    seed : `int`
        Non-negative seed.
    visit : `int`
        Non-negative visit id (also part of every per-visit stream).
    """

    def __init__(
        self, camera: Camera | str, config: SimulationConfig | None = None, seed: int = 0, visit: int = 0
    ) -> None:
        for name, value in (("seed", seed), ("visit", visit)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
                raise ValueError(f"VisitSimulator: {name} must be a non-negative integer, got {value!r}")
        self._camera = getCamera(camera) if isinstance(camera, str) else camera
        self._seed = int(seed)
        self._visit = int(visit)
        config = SimulationConfig() if config is None else config
        self._table = _skyLevelTable(self._camera, config)
        self._config = resolveConfig(self._camera, config)
        self._science = _scienceDetectors(self._camera)
        sky = self._config.sky
        assert sky.level is not None and sky.radialScale is not None
        self._smoothSky = SmoothSky(
            sky.level, sky.gradientX, sky.gradientY, sky.radialAmplitude, sky.radialScale
        )
        self._backgrounds: dict[int, BackgroundList] = {}
        self._truth: VisitTruth | None = None
        #: Number of detectors generated so far (each `makeDetector` call, direct or through a handle).
        self.generationCount = 0

        background = self._config.background
        bgConfig = SubtractBackgroundConfig()
        bgConfig.binSize = background.binSize
        bgConfig.algorithm = background.algorithm
        bgConfig.useApprox = background.useApprox
        bgConfig.approxOrderX = background.approxOrder
        bgConfig.statisticsProperty = background.statistic
        self._subtractBackground = SubtractBackgroundTask(config=bgConfig)
        skyConfig = SkyMeasurementConfig()
        skyConfig.background.xBinSize = self._config.skyFrame.binSize
        skyConfig.background.yBinSize = self._config.skyFrame.binSize
        skyConfig.background.algorithm = self._config.skyFrame.algorithm
        self._skyMeasurement = SkyMeasurementTask(config=skyConfig)

    # Identity ------------------------------------------------------------------------------------
    @property
    def camera(self) -> Camera:
        return self._camera

    @property
    def config(self) -> SimulationConfig:
        """The resolved config."""
        return self._config

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def visit(self) -> int:
        return self._visit

    @property
    def detectorIds(self) -> tuple[int, ...]:
        """The simulated detectors, in config order."""
        assert self._config.detectors is not None
        return self._config.detectors

    def dataId(self, detectorId: int) -> dict[str, Any]:
        """The data ID of a detector's datasets: instrument, visit, detector."""
        return {"instrument": self._camera.getName(), "visit": self._visit, "detector": int(detectorId)}

    # Per-detector parameters -----------------------------------------------------------------------
    def _rng(self, stream: int, detectorId: int, perVisit: bool = True) -> np.random.Generator:
        key = [self._seed, stream, int(detectorId)] + ([self._visit] if perVisit else [])
        return np.random.default_rng(np.random.SeedSequence(key))

    def _detector(self, detectorId: int) -> Detector:
        if detectorId not in self.detectorIds:
            raise KeyError(f"detector {detectorId} is not simulated (simulated: {list(self.detectorIds)})")
        return self._camera[detectorId]

    def pixelScale(self, detectorId: int) -> float:
        """Arcsec per pixel of a detector."""
        assert self._config.plateScale is not None
        return self._config.plateScale * self._camera[detectorId].getPixelSize()[0]

    def pedestal(self, detectorId: int) -> float:
        """A detector's sky pedestal (counts): table ``skyBg`` minus its median, plus any random scatter."""
        value = 0.0
        if self._table is not None:
            value = self._table.level(detectorId) - self._table.medianSkyBg
        scatter = self._config.sky.pedestalScatter
        if scatter > 0:
            value += float(self._rng(_STREAM_PEDESTAL, detectorId).normal(0.0, scatter))
        return value

    def gain(self, detectorId: int) -> float:
        """A detector's gain (e-/ADU): from the table's ``skyNoise`` when used, else the config's."""
        noise = self._config.noise
        if self._table is not None and noise.useTableNoise:
            skyNoise = self._table.noise(detectorId)
            if skyNoise is not None:
                excess = skyNoise**2 - noise.readNoise**2
                if excess <= 0:
                    raise ValueError(
                        f"detector {detectorId}: skyNoise {skyNoise} is not above the read noise "
                        f"{noise.readNoise}; lower NoiseConfig.readNoise or set useTableNoise=False"
                    )
                return self._table.level(detectorId) / excess
        return noise.gain

    @functools.cached_property
    def _cameraPatternMean(self) -> float:
        """Mean of the dimensionless pattern over the stored cells of all science detectors."""
        total, count = 0.0, 0
        for detector in self._science:
            pattern = self._drawPattern(detector.getId())
            x, y = self._skyFrameCellCentres(detector)
            total += float(pattern.shapeOnGrid(x, y).sum())
            count += x.size * y.size
        return total / count

    def _drawPattern(self, detectorId: int) -> SkyFramePattern:
        frame = self._config.skyFrame
        assert frame.amplitude is not None
        return drawSkyFramePattern(
            self._rng(_STREAM_PATTERN, detectorId, perVisit=False),
            self._camera[detectorId].getBBox(),
            frame.amplitude,
            frame.minWavelength,
            frame.maxWavelength,
            frame.stepWidth,
            frame.stepHeight,
            frame.offsetScatter,
        )

    def skyFramePattern(self, detectorId: int) -> SkyFramePattern:
        """The unit-scale sky-frame pattern of a detector (camera mean removed)."""
        return dataclasses.replace(self._drawPattern(detectorId), cameraMean=self._cameraPatternMean)

    def _skyFrameCellCentres(self, detector: Detector) -> tuple[np.ndarray, np.ndarray]:
        bbox = detector.getBBox()
        binSize = self._config.skyFrame.binSize
        nx = max(int(bbox.getWidth() / binSize + 0.5), 1)
        ny = max(int(bbox.getHeight() / binSize + 0.5), 1)
        x = binGeometry(bbox.getWidth(), nx).center + bbox.getMinX()
        y = binGeometry(bbox.getHeight(), ny).center + bbox.getMinY()
        return x, y

    # Sky frames ----------------------------------------------------------------------------------
    def makeSkyFrame(self, detectorId: int) -> ExposureF:
        """The detector's sky frame, as the stack stores it.

        A stats image of ``skyFrame.binSize``-pixel cells (afw's cell layout)
        holding the unit-scale pattern at the cell centres (plus
        ``skyFrame.noise``), wrapped by `SkyMeasurementTask.backgroundToExposure`
        (``BOX.MINX/MINY/MAXX/MAXY`` and ``ALGORITHM`` cards), with the
        detector attached.  The variance plane is ``noise**2`` (1 when the
        frame is noiseless).
        """
        detector = self._detector(detectorId)
        x, y = self._skyFrameCellCentres(detector)
        cells = self.skyFramePattern(detectorId).evaluateGrid(x, y, np.float32)
        noise = self._config.skyFrame.noise
        if noise > 0:
            rng = self._rng(_STREAM_SKY_FRAME_NOISE, detectorId, perVisit=False)
            cells += rng.normal(0.0, noise, cells.shape).astype(np.float32)
        stats = MaskedImageF(ImageF(cells))
        stats.variance.array[:] = noise**2 if noise > 0 else 1.0
        exposure = self._skyMeasurement.backgroundToExposure(stats, detector.getBBox())
        exposure.setDetector(detector)
        return exposure

    # Visit truth ---------------------------------------------------------------------------------
    def _lsbTruth(self) -> LsbGalaxyTruth | None:
        lsb = self._config.lsbGalaxy
        if not lsb.enabled:
            return None
        assert lsb.position is not None and self._config.plateScale is not None
        plateScale = self._config.plateScale
        assert self._config.zeroPoint is not None
        intensity = 10.0 ** (-0.4 * (lsb.surfaceBrightness - self._config.zeroPoint)) * plateScale**2
        radius = lsb.effectiveRadius / plateScale
        untruncated = sersicTotalFlux(lsb.sersicIndex, intensity, radius, lsb.axisRatio)
        truth = LsbGalaxyTruth(
            x=lsb.position[0],
            y=lsb.position[1],
            sersicIndex=lsb.sersicIndex,
            effectiveRadius=radius,
            axisRatio=lsb.axisRatio,
            positionAngle=lsb.positionAngle,
            intensity=intensity,
            truncation=lsb.truncation,
            flux=untruncated * sersicEnclosedFraction(lsb.sersicIndex, lsb.truncation),
            untruncatedFlux=untruncated,
        )
        positions = {}
        for detectorId in self.detectorIds:
            placement = self._lsbPlacement(truth, self._camera[detectorId])
            if placement is not None:
                positions[detectorId] = placement[0]
        return dataclasses.replace(truth, pixelPositions=positions)

    def _brightStarTruth(self) -> BrightStarTruth | None:
        star = self._config.brightStar
        if not star.enabled:
            return None
        assert star.position is not None and self._config.plateScale is not None
        assert self._config.zeroPoint is not None
        plateScale = self._config.plateScale
        flux = 10.0 ** (-0.4 * (star.magnitude - self._config.zeroPoint))
        alpha, maxRadius = star.haloCoreRadius / plateScale, star.maxRadius / plateScale
        haloFlux = star.haloFraction * flux * moffatEnclosedFraction(alpha, star.haloIndex, maxRadius)
        truth = BrightStarTruth(
            x=star.position[0],
            y=star.position[1],
            magnitude=star.magnitude,
            flux=flux,
            coreFlux=(1.0 - star.haloFraction) * flux,
            haloFlux=haloFlux,
            haloCoreRadius=alpha,
            haloIndex=star.haloIndex,
            maxRadius=maxRadius,
        )
        positions = {}
        for detectorId in self.detectorIds:
            placement = self._starPlacement(truth, self._camera[detectorId])
            if placement is not None:
                positions[detectorId] = placement[0]
        return dataclasses.replace(truth, pixelPositions=positions)

    @staticmethod
    def _pixelFrame(detector: Detector, x: float, y: float) -> tuple[tuple[float, float], np.ndarray, float]:
        """Pixel position of a focal-plane point, the pixel->mm Jacobian and the pixel area (mm²)."""
        toPixels = detector.getTransform(FOCAL_PLANE, PIXELS)
        point = toPixels.applyForward(Point2D(x, y))
        jacobian = detector.getTransform(PIXELS, FOCAL_PLANE).getJacobian()
        return (point.getX(), point.getY()), jacobian, abs(float(np.linalg.det(jacobian)))

    @classmethod
    def _lsbPlacement(
        cls, truth: LsbGalaxyTruth, detector: Detector
    ) -> tuple[tuple[float, float], np.ndarray, float] | None:
        centre, jacobian, area = cls._pixelFrame(detector, truth.x, truth.y)
        metric = jacobian.T @ truth.metric() @ jacobian
        return (centre, metric, area) if _reaches(detector, centre, metric, truth.truncation) else None

    @classmethod
    def _starPlacement(
        cls, truth: BrightStarTruth, detector: Detector
    ) -> tuple[tuple[float, float], np.ndarray, float] | None:
        centre, jacobian, area = cls._pixelFrame(detector, truth.x, truth.y)
        metric = jacobian.T @ jacobian
        return (centre, metric, area) if _reaches(detector, centre, metric, truth.maxRadius) else None

    def truth(self) -> VisitTruth:
        """The visit-level truth (computed once; small)."""
        if self._truth is None:
            config = self._config
            assert config.psfSigma is not None and config.plateScale is not None
            assert config.zeroPoint is not None and config.skyFrame is not None
            self._truth = VisitTruth(
                camera=self._camera.getName(),
                visit=self._visit,
                seed=self._seed,
                detectors=self.detectorIds,
                skyFrameScale=config.skyFrame.scale,
                smoothSky=self._smoothSky,
                pedestals={d: self.pedestal(d) for d in self.detectorIds},
                gains={d: self.gain(d) for d in self.detectorIds},
                readNoise=config.noise.readNoise,
                psfSigma=config.psfSigma,
                plateScale=config.plateScale,
                zeroPoint=config.zeroPoint,
                skyFramePatterns={d: self.skyFramePattern(d) for d in self.detectorIds},
                lsbGalaxy=self._lsbTruth(),
                brightStar=self._brightStarTruth(),
                config=config.toDict(),
            )
        return self._truth

    # Detectors -----------------------------------------------------------------------------------
    def makeDetector(self, detectorId: int) -> SimulatedDetector:
        """Generate one detector: calexp, calexpBackground and truth.

        Cost: about 1 s and 0.4 GB of temporaries for a 4k x 4k detector.
        """
        detector = self._detector(detectorId)
        config = self._config
        assert config.psfSigma is not None and config.zeroPoint is not None
        bbox = detector.getBBox()
        shape = (bbox.getHeight(), bbox.getWidth())
        self.generationCount += 1

        pedestal, gain = self.pedestal(detectorId), self.gain(detectorId)
        sky = np.empty(shape, dtype=np.float32)
        fillSky(
            sky,
            bbox,
            self._smoothSky.pixelCoefficients(detector),
            self.skyFramePattern(detectorId),
            config.skyFrame.scale,
            pedestal,
        )

        sources = drawSources(
            self._rng(_STREAM_SOURCES, detectorId),
            bbox,
            _SOURCE_MARGIN,
            self.pixelScale(detectorId),
            config.zeroPoint,
            config.psfSigma,
            config.stars,
            config.galaxies,
        )
        truthSources = np.zeros(shape, dtype=np.float32)
        renderGaussians(
            truthSources,
            bbox,
            sources["x"],
            sources["y"],
            sources["flux"],
            sources["sigmaXX"],
            sources["sigmaYY"],
            sources["sigmaXY"],
        )
        self._renderExtended(truthSources, detector)

        image = sky + truthSources
        saturated = image >= config.noise.saturation
        variance = np.multiply(image, np.float32(1.0 / gain))
        np.maximum(variance, 0.0, out=variance)
        variance += np.float32(config.noise.readNoise**2)
        if config.noise.enabled:
            rng = self._rng(_STREAM_NOISE, detectorId)
            for start in range(0, shape[0], _NOISE_CHUNK_ROWS):
                rows = slice(start, min(start + _NOISE_CHUNK_ROWS, shape[0]))
                noise = rng.standard_normal((rows.stop - start, shape[1]), dtype=np.float32)
                noise *= np.sqrt(variance[rows])
                image[rows] += noise
            saturated |= image >= config.noise.saturation
        image[saturated] = np.float32(config.noise.saturation)

        mask = Mask(bbox)
        bits = {name: mask.getPlaneBitMask(name) for name in ("BAD", "SAT", "NO_DATA", "DETECTED")}
        mask.array[saturated] |= bits["SAT"]
        self._addDefects(image, mask.array, bits, detectorId)

        detected = self._detectSources(image, sky, variance, saturated)
        mask.array[detected] |= bits["DETECTED"]
        del detected, saturated

        xy0 = bbox.getMin()
        maskedImage = MaskedImageF(ImageF(image, xy0=xy0), mask, ImageF(variance, xy0=xy0))
        calexp = ExposureF(maskedImage)
        calexp.setDetector(detector)
        background = self._subtractBackground.run(calexp).background
        if not config.background.keepDetected:
            mask.array &= ~np.int32(bits["DETECTED"])
        self._backgrounds[detectorId] = background.clone()

        return SimulatedDetector(
            detectorId=detectorId,
            calexp=calexp,
            calexpBackground=background,
            truthSky=ImageF(sky, xy0=xy0),
            truthSources=ImageF(truthSources, xy0=xy0),
            sources=sources,
            pedestal=pedestal,
            gain=gain,
        )

    def _renderExtended(self, image: np.ndarray, detector: Detector) -> None:
        """Add the LSB galaxy and the bright star (core and halo) where they reach this detector."""
        truth = self.truth()
        bbox = detector.getBBox()
        if truth.lsbGalaxy is not None:
            lsb = truth.lsbGalaxy
            placement = self._lsbPlacement(lsb, detector)
            if placement is not None:
                centre, metric, area = placement
                intensity = lsb.intensity * area
                renderProfile(
                    image,
                    bbox,
                    centre,
                    metric,
                    lsb.truncation,
                    lambda m2: sersicProfile(m2, lsb.sersicIndex, intensity, lsb.truncation),
                )
        if truth.brightStar is not None:
            star = truth.brightStar
            placement = self._starPlacement(star, detector)
            if placement is not None:
                centre, metric, area = placement
                haloFlux = star.untruncatedHaloFlux * area
                renderProfile(
                    image,
                    bbox,
                    centre,
                    metric,
                    star.maxRadius,
                    lambda r2: moffatProfile(
                        r2, haloFlux, star.haloCoreRadius, star.haloIndex, star.maxRadius
                    ),
                )
                variance = truth.psfSigma**2
                one = np.ones(1)
                renderGaussians(
                    image,
                    bbox,
                    one * centre[0],
                    one * centre[1],
                    one * star.coreFlux,
                    one * variance,
                    one * variance,
                    one * 0.0,
                )

    def _addDefects(self, image: np.ndarray, mask: np.ndarray, bits: dict[str, int], detectorId: int) -> None:
        defects = self._config.defects
        height, width = image.shape
        if defects.badColumns:
            rng = self._rng(_STREAM_DEFECTS, detectorId, perVisit=False)
            columns = rng.choice(width, size=min(defects.badColumns, width), replace=False)
            for column in columns:
                length = int(rng.integers(height // 2, height + 1))
                start = int(rng.integers(0, height - length + 1))
                rows = slice(start, start + length)
                mask[rows, column] |= bits["BAD"]
                if defects.badColumnOffset:
                    image[rows, column] += np.float32(defects.badColumnOffset)
        border = defects.noDataBorder
        if border:
            edge = np.ones((height, width), dtype=bool)
            edge[border:-border, border:-border] = False
            mask[edge] |= bits["NO_DATA"]

    def _detectSources(
        self, image: np.ndarray, sky: np.ndarray, variance: np.ndarray, saturated: np.ndarray
    ) -> np.ndarray:
        """The stack-like source mask used for the background fit.

        ``image - sky`` (the true sky standing in for the stack's preliminary
        background) is binned 2x2 (when the PSF is at least 1.5 pixels),
        smoothed with the PSF, and compared with ``detectionThreshold`` times
        its noise; the footprints are grown by ``nSigmaToGrow`` PSF sigmas
        (a circle), and saturated pixels are added.
        """
        background = self._config.background
        psfSigma = self._config.psfSigma
        assert psfSigma is not None
        factor = 2 if psfSigma >= 1.5 else 1
        height, width = image.shape
        h, w = height // factor, width // factor
        if h == 0 or w == 0:
            factor, h, w = 1, height, width
        residual = _binSum(image, factor, h, w)
        residual -= _binSum(sky, factor, h, w)
        binnedVariance = _binSum(variance, factor, h, w)
        sigma = psfSigma / factor
        smoothed = ndimage.gaussian_filter(residual, sigma, mode="nearest", truncate=4.0, output=np.float32)
        radius = int(4.0 * sigma + 0.5)
        taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
        taps /= taps.sum()
        kernelPower = float(np.sum(taps * taps)) ** 2
        # The binned sums' noise is sqrt(binnedVariance); compare squares to avoid a square root.
        threshold2 = np.float32(background.detectionThreshold**2 * kernelPower)
        above = smoothed > 0
        np.multiply(smoothed, smoothed, out=smoothed)
        above &= smoothed >= threshold2 * binnedVariance
        detected = np.zeros((height, width), dtype=bool)
        if factor == 1:
            detected[:] = above
        else:
            full = np.repeat(np.repeat(above, factor, axis=0), factor, axis=1)
            detected[: h * factor, : w * factor] = full
            detected[h * factor :, : w * factor] = full[-1:, :]
            detected[:, w * factor :] = detected[:, w * factor - 1 : w * factor]
        grow = int(background.nSigmaToGrow * psfSigma + 0.5)
        detected = dilateMask(detected, stencilHalfWidths(grow, True))
        detected |= saturated
        return detected

    # Streaming -----------------------------------------------------------------------------------
    def iterDetectors(self) -> Iterator[SimulatedDetector]:
        """Generate the simulated detectors one after another (one in memory at a time if not kept)."""
        for detectorId in self.detectorIds:
            yield self.makeDetector(detectorId)

    def backgroundList(self, detectorId: int) -> BackgroundList:
        """A detector's calexpBackground (a copy).

        The first call for a detector generates it (a full `makeDetector`,
        about 1 s for a 4k x 4k detector) and keeps only the background
        (tens of kB); later calls, and any `makeDetector` of that detector,
        reuse it.
        """
        self._detector(detectorId)
        if detectorId not in self._backgrounds:
            self.makeDetector(detectorId)
        return self._backgrounds[detectorId].clone()

    def backgroundLists(self) -> list[BackgroundList]:
        """The calexpBackground of every simulated detector (see `backgroundList` for the cost)."""
        return [self.backgroundList(d) for d in self.detectorIds]

    def _handles(self, kind: str) -> list[SimulatedDatasetHandle]:
        return [SimulatedDatasetHandle(self, kind, d) for d in self.detectorIds]

    def calexpHandles(self) -> list[SimulatedDatasetHandle]:
        """Handles whose ``get()`` generates the detector and returns its calexp."""
        return self._handles("calexp")

    def calexpBackgroundHandles(self) -> list[SimulatedDatasetHandle]:
        """Handles whose ``get()`` returns the detector's calexpBackground (`backgroundList`)."""
        return self._handles("calexpBackground")

    def skyFrameHandles(self) -> list[SimulatedDatasetHandle]:
        """Handles whose ``get()`` returns the detector's sky frame (`makeSkyFrame`)."""
        return self._handles("sky")

    def truthSkyHandles(self) -> list[SimulatedDatasetHandle]:
        """Handles whose ``get()`` generates the detector and returns its true sky image."""
        return self._handles("truthSky")

    def truthSourcesHandles(self) -> list[SimulatedDatasetHandle]:
        """Handles whose ``get()`` generates the detector and returns its noiseless sources image."""
        return self._handles("truthSources")

    def produce(self, kind: str, detectorId: int) -> Any:
        """Generate one dataset of a detector.

        Parameters
        ----------
        kind : `str`
            ``"calexp"``, ``"calexpBackground"``, ``"sky"``, ``"truthSky"``
            or ``"truthSources"``.
        detectorId : `int`
            The detector.
        """
        if kind == "sky":
            return self.makeSkyFrame(detectorId)
        if kind == "calexpBackground":
            return self.backgroundList(detectorId)
        if kind in ("calexp", "truthSky", "truthSources"):
            return getattr(self.makeDetector(detectorId), kind)
        raise ValueError(f"unknown simulated dataset kind {kind!r}")


def _reaches(detector: Detector, centre: tuple[float, float], metric: np.ndarray, maxRadius: float) -> bool:
    """Whether the ellipse ``dpᵀ metric dp <= maxRadius²`` around ``centre`` overlaps the bbox."""
    inverse = np.linalg.inv(metric)
    halfX, halfY = maxRadius * math.sqrt(inverse[0, 0]), maxRadius * math.sqrt(inverse[1, 1])
    bbox = detector.getBBox()
    return (
        centre[0] + halfX >= bbox.getMinX()
        and centre[0] - halfX <= bbox.getMaxX()
        and centre[1] + halfY >= bbox.getMinY()
        and centre[1] - halfY <= bbox.getMaxY()
    )


def _binSum(array: np.ndarray, factor: int, h: int, w: int) -> np.ndarray:
    """Sum of ``factor`` x ``factor`` blocks of the first ``h * factor`` rows and ``w * factor`` columns."""
    if factor == 1:
        return array[:h, :w].astype(np.float32, copy=True)
    total = array[0 : h * factor : factor, 0 : w * factor : factor].astype(np.float32, copy=True)
    for dy in range(factor):
        for dx in range(factor):
            if dx or dy:
                total += array[dy : h * factor : factor, dx : w * factor : factor]
    return total
