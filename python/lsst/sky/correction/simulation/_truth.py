"""What a simulated visit really contains, in a JSON-serialisable form."""

from __future__ import annotations

__all__ = ["BrightStarTruth", "LsbGalaxyTruth", "VisitTruth"]

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._profiles import moffatEnclosedFraction, moffatProfile, sersicProfile
from ._sky import SkyFramePattern, SmoothSky


def _positionsToJson(positions: dict[int, tuple[float, float]]) -> dict[str, list[float]]:
    return {str(k): [float(v[0]), float(v[1])] for k, v in positions.items()}


def _positionsFromJson(data: dict[str, Any]) -> dict[int, tuple[float, float]]:
    return {int(k): (float(v[0]), float(v[1])) for k, v in data.items()}


@dataclass(frozen=True)
class LsbGalaxyTruth:
    """The LSB galaxy: an elliptical Sérsic profile in focal-plane units.

    Attributes
    ----------
    x, y : `float`
        Centre, focal-plane mm.
    sersicIndex : `float`
        Sérsic ``n``.
    effectiveRadius : `float`
        Major-axis effective radius, mm.
    axisRatio : `float`
        Minor/major axis ratio.
    positionAngle : `float`
        Degrees from the focal-plane x axis towards y.
    intensity : `float`
        Surface brightness at the effective radius, counts per mm².
    truncation : `float`
        Cut radius, effective radii.
    flux : `float`
        Analytic flux of the truncated profile (what the images contain),
        counts.
    untruncatedFlux : `float`
        Analytic flux of the untruncated profile, counts.
    pixelPositions : `dict` [`int`, `tuple`]
        Centre in the PARENT pixel coordinates of each simulated detector the
        profile reaches.
    """

    x: float
    y: float
    sersicIndex: float
    effectiveRadius: float
    axisRatio: float
    positionAngle: float
    intensity: float
    truncation: float
    flux: float
    untruncatedFlux: float
    pixelPositions: dict[int, tuple[float, float]] = field(default_factory=dict)

    def metric(self) -> np.ndarray:
        """2x2 matrix ``Q``: ``(r / r_e)² = dfᵀ Q df`` for a focal-plane offset ``df`` (mm)."""
        angle = math.radians(self.positionAngle)
        rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        major, minor = self.effectiveRadius, self.axisRatio * self.effectiveRadius
        return rotation @ np.diag([1.0 / major**2, 1.0 / minor**2]) @ rotation.T

    def evaluate(self, fx: Any, fy: Any) -> Any:
        """Surface brightness (counts per mm²) at focal-plane positions (mm)."""
        dx = np.asarray(fx, dtype=np.float64) - self.x
        dy = np.asarray(fy, dtype=np.float64) - self.y
        q = self.metric()
        m2 = q[0, 0] * dx * dx + 2.0 * q[0, 1] * dx * dy + q[1, 1] * dy * dy
        return sersicProfile(np.asarray(m2), self.sersicIndex, self.intensity, self.truncation)

    def toDict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "pixelPositions"}
        data["pixelPositions"] = _positionsToJson(self.pixelPositions)
        return data

    @classmethod
    def fromDict(cls, data: dict[str, Any]) -> LsbGalaxyTruth:
        values = dict(data)
        values["pixelPositions"] = _positionsFromJson(values.get("pixelPositions", {}))
        return cls(**values)


@dataclass(frozen=True)
class BrightStarTruth:
    """The bright star: a Gaussian PSF core plus a Moffat halo cut at ``maxRadius``.

    Attributes
    ----------
    x, y : `float`
        Focal-plane position, mm.
    magnitude : `float`
        Total magnitude (core + untruncated halo).
    flux : `float`
        ``10**(-0.4 (magnitude - zeroPoint))``, counts.
    coreFlux : `float`
        Flux of the PSF core, counts.
    haloFlux : `float`
        Flux of the halo inside ``maxRadius`` (what the images contain).
    haloCoreRadius : `float`
        Moffat ``alpha``, mm.
    haloIndex : `float`
        Moffat ``beta``.
    maxRadius : `float`
        Halo cut radius, mm.
    pixelPositions : `dict` [`int`, `tuple`]
        Position in the PARENT pixel coordinates of each simulated detector
        the halo reaches.
    """

    x: float
    y: float
    magnitude: float
    flux: float
    coreFlux: float
    haloFlux: float
    haloCoreRadius: float
    haloIndex: float
    maxRadius: float
    pixelPositions: dict[int, tuple[float, float]] = field(default_factory=dict)

    @property
    def untruncatedHaloFlux(self) -> float:
        """The halo's flux if it were not cut."""
        return self.flux - self.coreFlux

    def evaluateHalo(self, fx: Any, fy: Any) -> Any:
        """Halo surface brightness (counts per mm²) at focal-plane positions (mm)."""
        dx = np.asarray(fx, dtype=np.float64) - self.x
        dy = np.asarray(fy, dtype=np.float64) - self.y
        return moffatProfile(
            np.asarray(dx * dx + dy * dy),
            self.untruncatedHaloFlux,
            self.haloCoreRadius,
            self.haloIndex,
            self.maxRadius,
        )

    def haloEnclosedFraction(self, radius: float) -> float:
        """Fraction of the untruncated halo inside ``radius`` (mm)."""
        return moffatEnclosedFraction(self.haloCoreRadius, self.haloIndex, radius)

    def toDict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "pixelPositions"}
        data["pixelPositions"] = _positionsToJson(self.pixelPositions)
        return data

    @classmethod
    def fromDict(cls, data: dict[str, Any]) -> BrightStarTruth:
        values = dict(data)
        values["pixelPositions"] = _positionsFromJson(values.get("pixelPositions", {}))
        return cls(**values)


@dataclass(frozen=True)
class VisitTruth:
    """Visit-level truth of a simulation.

    The true sky of detector ``d`` at pixel ``(x, y)`` (focal plane
    ``(fx, fy)``) is ``smoothSky.evaluate(fx, fy) + pedestals[d] +
    skyFrameScale * skyFramePatterns[d].evaluate(x, y)``.

    Attributes
    ----------
    camera : `str`
        Camera name.
    visit, seed : `int`
        The simulation's identity.
    detectors : `tuple` [`int`, ...]
        Simulated detector ids.
    skyFrameScale : `float`
        The scale of the sky-frame pattern in this visit.
    smoothSky : `SmoothSky`
        The smooth focal-plane sky.
    pedestals : `dict` [`int`, `float`]
        Per-detector pedestal, counts.
    gains : `dict` [`int`, `float`]
        Per-detector (effective) gain, e-/ADU.
    readNoise : `float`
        ADU.
    psfSigma : `float`
        Pixels.
    plateScale : `float`
        arcsec per mm.
    zeroPoint : `float`
        Magnitude of one count.
    skyFramePatterns : `dict` [`int`, `SkyFramePattern`]
        Unit-scale pattern of each simulated detector.
    lsbGalaxy : `LsbGalaxyTruth` or `None`
    brightStar : `BrightStarTruth` or `None`
    config : `dict`
        The resolved `SimulationConfig` (``toDict()``).
    """

    camera: str
    visit: int
    seed: int
    detectors: tuple[int, ...]
    skyFrameScale: float
    smoothSky: SmoothSky
    pedestals: dict[int, float]
    gains: dict[int, float]
    readNoise: float
    psfSigma: float
    plateScale: float
    zeroPoint: float
    skyFramePatterns: dict[int, SkyFramePattern]
    lsbGalaxy: LsbGalaxyTruth | None
    brightStar: BrightStarTruth | None
    config: dict[str, Any]

    def evaluateSmoothSky(self, fx: Any, fy: Any) -> Any:
        """The smooth sky (no pedestal, no pattern), counts per pixel, at focal-plane mm."""
        return self.smoothSky.evaluate(fx, fy)

    def evaluateSky(self, fx: Any, fy: Any, detectorId: int | None = None) -> Any:
        """The smooth sky plus, for a detector, its pedestal (no sky-frame pattern)."""
        sky = self.smoothSky.evaluate(fx, fy)
        return sky if detectorId is None else sky + self.pedestals[int(detectorId)]

    def toDict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (dict keys become strings)."""
        return {
            "camera": self.camera,
            "visit": self.visit,
            "seed": self.seed,
            "detectors": list(self.detectors),
            "skyFrameScale": self.skyFrameScale,
            "smoothSky": {k: getattr(self.smoothSky, k) for k in self.smoothSky.__dataclass_fields__},
            "pedestals": {str(k): v for k, v in self.pedestals.items()},
            "gains": {str(k): v for k, v in self.gains.items()},
            "readNoise": self.readNoise,
            "psfSigma": self.psfSigma,
            "plateScale": self.plateScale,
            "zeroPoint": self.zeroPoint,
            "skyFramePatterns": {str(k): v.toDict() for k, v in self.skyFramePatterns.items()},
            "lsbGalaxy": None if self.lsbGalaxy is None else self.lsbGalaxy.toDict(),
            "brightStar": None if self.brightStar is None else self.brightStar.toDict(),
            "config": self.config,
        }

    @classmethod
    def fromDict(cls, data: dict[str, Any]) -> VisitTruth:
        """The inverse of `toDict`."""
        patterns = {}
        for key, value in data["skyFramePatterns"].items():
            values = dict(value)
            values["waves"] = tuple(tuple(float(x) for x in wave) for wave in values["waves"])
            patterns[int(key)] = SkyFramePattern(**values)
        return cls(
            camera=data["camera"],
            visit=int(data["visit"]),
            seed=int(data["seed"]),
            detectors=tuple(int(d) for d in data["detectors"]),
            skyFrameScale=float(data["skyFrameScale"]),
            smoothSky=SmoothSky(**data["smoothSky"]),
            pedestals={int(k): float(v) for k, v in data["pedestals"].items()},
            gains={int(k): float(v) for k, v in data["gains"].items()},
            readNoise=float(data["readNoise"]),
            psfSigma=float(data["psfSigma"]),
            plateScale=float(data["plateScale"]),
            zeroPoint=float(data["zeroPoint"]),
            skyFramePatterns=patterns,
            lsbGalaxy=None if data["lsbGalaxy"] is None else LsbGalaxyTruth.fromDict(data["lsbGalaxy"]),
            brightStar=None if data["brightStar"] is None else BrightStarTruth.fromDict(data["brightStar"]),
            config=data["config"],
        )
