"""The smooth focal-plane sky and the per-detector sky-frame patterns."""

from __future__ import annotations

__all__ = ["SkyFramePattern", "SmoothSky", "drawSkyFramePattern", "pixelGrid"]

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..afwlite.cameraGeom import FOCAL_PLANE, PIXELS, Detector
from ..afwlite.geom import Box2I

#: Rows evaluated at a time when filling a detector (keeps temporaries in cache).
_CHUNK_ROWS = 256


def pixelGrid(bbox: Box2I) -> tuple[np.ndarray, np.ndarray]:
    """PARENT pixel-centre coordinates of a bbox: ``x`` (width,) and ``y`` (height,), float64."""
    x = np.arange(bbox.getMinX(), bbox.getMaxX() + 1, dtype=np.float64)
    y = np.arange(bbox.getMinY(), bbox.getMaxY() + 1, dtype=np.float64)
    return x, y


@dataclass(frozen=True)
class SmoothSky:
    """The smooth sky: ``level + gx fx + gy fy + radialAmplitude level (fx² + fy²) / radialScale²``.

    Attributes
    ----------
    level : `float`
        Counts per pixel at the focal-plane origin.
    gradientX, gradientY : `float`
        Counts per pixel per mm.
    radialAmplitude : `float`
        Fraction of ``level`` added at radius ``radialScale``.
    radialScale : `float`
        mm.
    """

    level: float
    gradientX: float
    gradientY: float
    radialAmplitude: float
    radialScale: float

    @property
    def _radialCoefficient(self) -> float:
        return self.radialAmplitude * self.level / self.radialScale**2

    def evaluate(self, fx: Any, fy: Any) -> Any:
        """The sky (counts per pixel) at focal-plane coordinates (mm); float64, broadcast shape."""
        fx = np.asarray(fx, dtype=np.float64)
        fy = np.asarray(fy, dtype=np.float64)
        return (
            self.level
            + self.gradientX * fx
            + self.gradientY * fy
            + self._radialCoefficient * (fx * fx + fy * fy)
        )

    def pixelCoefficients(self, detector: Detector) -> tuple[float, float, float, float, float, float]:
        """The sky as a quadratic in the detector's pixel coordinates.

        Returns
        -------
        c00, c10, c01, c20, c11, c02 : `float`
            ``sky(x, y) = c00 + c10 x + c01 y + c20 x² + c11 x y + c02 y²``.
        """
        transform = detector.getTransform(PIXELS, FOCAL_PLANE)
        (a, b), (d, e) = transform.getJacobian()
        c, f = transform.getTranslation()
        k = self._radialCoefficient
        gx, gy = self.gradientX, self.gradientY
        return (
            self.level + gx * c + gy * f + k * (c * c + f * f),
            gx * a + gy * d + 2.0 * k * (a * c + d * f),
            gx * b + gy * e + 2.0 * k * (b * c + e * f),
            k * (a * a + d * d),
            2.0 * k * (a * b + d * e),
            k * (b * b + e * e),
        )


@dataclass(frozen=True)
class SkyFramePattern:
    """A detector's unit-scale sky-frame pattern (counts per unit scale), in its pixel coordinates.

    ``amplitude * (sum_k a_k sin(kx_k x + ky_k y + phi_k)
    + step * tanh((x - stepCentre) / stepWidth) + offset - cameraMean)``.

    Attributes
    ----------
    amplitude : `float`
        Counts per unit of the dimensionless shape.
    waves : `tuple` of (`float`, `float`, `float`, `float`)
        ``(a, kx, ky, phi)`` of each plane wave (k in radians per pixel).
    step, stepCentre, stepWidth : `float`
        The smoothed step (dimensionless height, pixel centre, pixel width).
    offset : `float`
        Constant (dimensionless).
    cameraMean : `float`
        Mean of the dimensionless shape over the stored cells of all the
        camera's science detectors (subtracted).
    """

    amplitude: float
    waves: tuple[tuple[float, float, float, float], ...]
    step: float
    stepCentre: float
    stepWidth: float
    offset: float
    cameraMean: float = 0.0

    def shapeOnGrid(self, x: np.ndarray, y: np.ndarray, dtype: type = np.float64) -> np.ndarray:
        """The dimensionless shape (before the camera mean) on the grid ``y[:, None], x[None, :]``."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        along = self.step * np.tanh((x - self.stepCentre) / self.stepWidth) + self.offset
        out: np.ndarray = np.empty((y.size, x.size), dtype=dtype)
        out[...] = along.astype(dtype)[None, :]
        for a, kx, ky, phi in self.waves:
            # sin(kx x + ky y + phi), split into products of 1-d factors.
            out += np.multiply.outer(np.cos(ky * y).astype(dtype), (a * np.sin(kx * x + phi)).astype(dtype))
            out += np.multiply.outer(np.sin(ky * y).astype(dtype), (a * np.cos(kx * x + phi)).astype(dtype))
        return out

    def evaluateGrid(self, x: np.ndarray, y: np.ndarray, dtype: type = np.float64) -> np.ndarray:
        """The pattern (counts per unit scale) on the grid ``y[:, None], x[None, :]``."""
        out = self.shapeOnGrid(x, y, dtype)
        out -= dtype(self.cameraMean)  # type: ignore[call-arg]
        out *= dtype(self.amplitude)  # type: ignore[call-arg]
        return out

    def evaluate(self, x: Any, y: Any) -> Any:
        """The pattern at arbitrary pixel positions (float64, broadcast shape)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        shape = self.step * np.tanh((x - self.stepCentre) / self.stepWidth) + self.offset
        for a, kx, ky, phi in self.waves:
            shape = shape + a * np.sin(kx * x + ky * y + phi)
        return self.amplitude * (shape - self.cameraMean)

    def toDict(self) -> dict[str, Any]:
        """JSON-serialisable parameters."""
        return {
            "amplitude": self.amplitude,
            "waves": [list(w) for w in self.waves],
            "step": self.step,
            "stepCentre": self.stepCentre,
            "stepWidth": self.stepWidth,
            "offset": self.offset,
            "cameraMean": self.cameraMean,
        }


def drawSkyFramePattern(
    rng: np.random.Generator,
    bbox: Box2I,
    amplitude: float,
    minWavelength: float,
    maxWavelength: float,
    stepWidth: float,
    stepHeight: float = 0.5,
    offsetScatter: float = 0.3,
) -> SkyFramePattern:
    """Draw a detector's pattern (before the camera mean is known).

    Two plane waves of amplitude U(0.4, 0.8), wavelength U(min, max) pixels,
    random direction and phase; a tanh step of height
    U(-stepHeight, stepHeight) across the middle column; an offset
    N(0, offsetScatter).  The same random numbers are drawn whatever the
    step height and offset scatter, so changing them changes nothing else.
    """
    waves = []
    for _ in range(2):
        a = float(rng.uniform(0.4, 0.8))
        wavelength = float(rng.uniform(minWavelength, maxWavelength))
        direction = float(rng.uniform(0.0, math.pi))
        phase = float(rng.uniform(0.0, 2.0 * math.pi))
        k = 2.0 * math.pi / wavelength
        waves.append((a, k * math.cos(direction), k * math.sin(direction), phase))
    step = float(rng.uniform(-stepHeight, stepHeight))
    offset = float(rng.normal(0.0, offsetScatter))
    centre = bbox.getMinX() + (bbox.getWidth() - 1) / 2.0
    return SkyFramePattern(
        amplitude=amplitude,
        waves=tuple(waves),
        step=step,
        stepCentre=centre,
        stepWidth=stepWidth,
        offset=offset,
    )


def fillSky(
    out: np.ndarray,
    bbox: Box2I,
    coefficients: tuple[float, float, float, float, float, float],
    pattern: SkyFramePattern,
    scale: float,
    pedestal: float,
) -> None:
    """Fill ``out`` (float32, bbox-shaped) with smooth sky + pedestal + scale x pattern."""
    c00, c10, c01, c20, c11, c02 = coefficients
    x, y = pixelGrid(bbox)
    along = (c10 * x + c20 * x * x).astype(np.float32)
    across = c00 + pedestal + c01 * y + c02 * y * y
    xf = x.astype(np.float32)
    for start in range(0, y.size, _CHUNK_ROWS):
        rows = slice(start, min(start + _CHUNK_ROWS, y.size))
        block = out[rows]
        block[...] = pattern.shapeOnGrid(x, y[rows], np.float32)
        block -= np.float32(pattern.cameraMean)
        block *= np.float32(scale * pattern.amplitude)
        block += along[None, :]
        block += across[rows].astype(np.float32)[:, None]
        if c11 != 0.0:
            block += np.multiply.outer((c11 * y[rows]).astype(np.float32), xf)
