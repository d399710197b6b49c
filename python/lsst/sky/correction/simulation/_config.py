"""Configuration of a simulated visit: frozen dataclasses with documented units.

Every quantity is in the units the stack uses for a calexp: image values in
counts (ADU) per pixel, focal-plane positions in mm, angles on the sky in
arcsec, magnitudes on the AB-like scale set by `SimulationConfig.zeroPoint`
(the magnitude of a source giving one count).  Fields left at `None` are
filled per camera by `SimulationConfig.resolve`; the resolved config is what
a `VisitSimulator` uses and what its truth records.
"""

from __future__ import annotations

__all__ = [
    "BrightStarConfig",
    "CalexpBackgroundConfig",
    "DefectConfig",
    "GalaxyConfig",
    "LsbGalaxyConfig",
    "NoiseConfig",
    "SimulationConfig",
    "SkyConfig",
    "SkyFrameConfig",
    "SourceCountsConfig",
]

import dataclasses
import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Self

_INTERP_STYLES = ("CONSTANT", "LINEAR", "NATURAL_SPLINE", "AKIMA_SPLINE")
_STATISTICS = ("MEANCLIP", "MEAN", "MEDIAN")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _finite(value: float | None) -> bool:
    return value is None or math.isfinite(value)


def _isInteger(value: Any) -> bool:
    """Whether a value is an integer (Python or numpy), not a bool or a float."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclass(frozen=True)
class SkyConfig:
    """The smooth focal-plane sky and the per-detector pedestals.

    At focal-plane position ``(fx, fy)`` (mm) of detector ``d`` the sky is::

        level + gradientX * fx + gradientY * fy
              + radialAmplitude * level * (fx**2 + fy**2) / radialScale**2
              + pedestal[d]

    Attributes
    ----------
    level : `float` or `None`
        Sky at the focal-plane origin, counts per pixel.  `None`: the median
        ``skyBg`` of the sky-level table when one is in use (3179 counts for
        the shipped HSC visit 1176), else 1000.
    gradientX, gradientY : `float`
        Linear gradient, counts per pixel per mm of focal plane.
    radialAmplitude : `float`
        Vignetting-like radial term, as a fraction of ``level`` reached at
        ``radialScale`` (negative: the sky falls off towards the edge).
    radialScale : `float` or `None`
        mm; `None`: the focal-plane radius (largest distance of a science
        detector corner from the origin).
    pedestalTable : `str`
        Per-detector sky levels: ``"auto"`` (the shipped HSC visit 1176
        table for ``HSC``, none for other cameras), ``"none"``, or the path
        of a table with an ``id`` column (detector id) and a ``skyBg`` column
        (ECSV, or a visit summary FITS).  A detector's pedestal is its
        ``skyBg`` minus the median ``skyBg``; missing detectors get 0.
    pedestalScatter : `float`
        rms (counts) of an extra random pedestal drawn per detector (0: none);
        models detector-to-detector offsets.
    """

    level: float | None = None
    gradientX: float = 0.15
    gradientY: float = -0.08
    radialAmplitude: float = -0.03
    radialScale: float | None = None
    pedestalTable: str = "auto"
    pedestalScatter: float = 0.0

    def __post_init__(self) -> None:
        _require(
            all(_finite(v) for v in (self.level, self.gradientX, self.gradientY, self.radialAmplitude)),
            "SkyConfig: level, gradients and radialAmplitude must be finite",
        )
        _require(self.level is None or self.level > 0, "SkyConfig.level must be > 0 (counts per pixel)")
        _require(self.radialScale is None or self.radialScale > 0, "SkyConfig.radialScale must be > 0")
        _require(self.pedestalScatter >= 0, "SkyConfig.pedestalScatter must be >= 0")


@dataclass(frozen=True)
class SkyFrameConfig:
    """The sky-frame pattern: its storage, its amplitude and its scale in this visit.

    The unit-scale pattern of a detector is ``amplitude * p(x, y) - mean``,
    with ``p`` a sum of two fringe-like plane waves, a smoothed step across
    the middle column (an amplifier-boundary-like offset) and a constant,
    all drawn per detector from the seed (not the visit: a sky frame is a
    calibration shared by visits), and ``mean`` the mean of the stored cells
    over all science detectors of the camera.  The visit's sky contains
    ``scale`` times that pattern.

    Attributes
    ----------
    scale : `float`
        The visit's sky-frame scale (what `SkyCorrectionTask` should fit).
    amplitude : `float` or `None`
        Counts per unit scale for ``p`` of order one; `None`: 0.006 x the sky
        level (so ``scale`` 5 gives a pattern of about 3 % of the sky).
    binSize : `int`
        Cell size in pixels of the stored sky frame (SkyMeasurementTask's
        ``background.xBinSize``/``yBinSize``, 32).
    algorithm : `str`
        Interpolation style written to ``ALGORITHM`` (``NATURAL_SPLINE``).
    minWavelength, maxWavelength : `float`
        Range of the fringe wavelengths, pixels.
    stepWidth : `float`
        Width (pixels) of the tanh step.
    stepHeight : `float`
        The step's dimensionless height is drawn from U(-stepHeight, stepHeight).
    offsetScatter : `float`
        Standard deviation of the dimensionless per-detector constant.
    noise : `float`
        rms noise (counts per unit scale) added to the stored cells only; the
        truth pattern stays noiseless.
    """

    scale: float = 5.0
    amplitude: float | None = None
    binSize: int = 32
    algorithm: str = "NATURAL_SPLINE"
    minWavelength: float = 800.0
    maxWavelength: float = 2000.0
    stepWidth: float = 100.0
    stepHeight: float = 0.5
    offsetScatter: float = 0.3
    noise: float = 0.0

    def __post_init__(self) -> None:
        _require(_finite(self.scale) and _finite(self.amplitude), "SkyFrameConfig: scale/amplitude finite")
        _require(self.binSize >= 1, "SkyFrameConfig.binSize must be >= 1")
        _require(
            self.algorithm in _INTERP_STYLES, f"SkyFrameConfig.algorithm must be one of {_INTERP_STYLES}"
        )
        _require(
            0 < self.minWavelength <= self.maxWavelength,
            "SkyFrameConfig: need 0 < minWavelength <= maxWavelength",
        )
        _require(self.stepWidth > 0 and self.noise >= 0, "SkyFrameConfig: stepWidth > 0 and noise >= 0")
        _require(
            self.stepHeight >= 0 and self.offsetScatter >= 0,
            "SkyFrameConfig: stepHeight and offsetScatter must be >= 0",
        )


@dataclass(frozen=True)
class NoiseConfig:
    """Poisson-like noise and saturation.

    The variance of a pixel whose noiseless value (sky + sources) is ``v``
    is ``max(v, 0) / gain + readNoise**2``; the noise is Gaussian with that
    variance (accurate at sky levels of hundreds of counts), and the
    variance plane holds it.

    Attributes
    ----------
    gain : `float`
        e-/ADU, used unless ``useTableNoise`` applies.
    readNoise : `float`
        ADU.
    useTableNoise : `bool`
        With a sky-level table that has ``skyNoise``: give each detector the
        effective gain ``skyBg / (skyNoise**2 - readNoise**2)``, so that the
        simulated noise at its pedestal equals the table's ``skyNoise``.
    saturation : `float`
        Counts (before background subtraction) at and above which a pixel is
        clipped and flagged ``SAT``.
    enabled : `bool`
        `False` for a noiseless image (the variance plane is still the model).
    """

    gain: float = 1.5
    readNoise: float = 3.0
    useTableNoise: bool = True
    saturation: float = 60000.0
    enabled: bool = True

    def __post_init__(self) -> None:
        _require(self.gain > 0 and self.readNoise >= 0, "NoiseConfig: gain > 0 and readNoise >= 0")
        _require(self.saturation > 0, "NoiseConfig.saturation must be > 0")


@dataclass(frozen=True)
class SourceCountsConfig:
    """Power-law number counts: ``log10 N(< m) = log10(density) + slope * (m - refMagnitude)``.

    Attributes
    ----------
    density : `float`
        Sources per arcmin² brighter than ``refMagnitude``.
    refMagnitude : `float`
        Reference magnitude of ``density``.
    slope : `float`
        ``d log10 N / dm`` (differential counts have the same slope).
    brightMagnitude, faintMagnitude : `float`
        Magnitude range drawn.
    """

    density: float = 1.0
    refMagnitude: float = 24.0
    slope: float = 0.12
    brightMagnitude: float = 16.0
    faintMagnitude: float = 26.0

    def __post_init__(self) -> None:
        _require(self.density >= 0 and self.slope > 0, "SourceCountsConfig: density >= 0 and slope > 0")
        _require(
            self.brightMagnitude < self.faintMagnitude,
            "SourceCountsConfig: brightMagnitude must be < faintMagnitude",
        )


@dataclass(frozen=True)
class GalaxyConfig(SourceCountsConfig):
    """Galaxy counts and shapes (elliptical Gaussians convolved with the PSF).

    Attributes
    ----------
    halfLightRadius : `float`
        Median half-light radius (arcsec) at ``refMagnitude``.
    sizeSlope : `float`
        ``d log10 r / dm``: radii grow by ``10**(-sizeSlope)`` per magnitude
        brighter.
    sizeScatter : `float`
        Log-normal scatter of the radius, dex.
    minAxisRatio : `float`
        Axis ratios are uniform in ``[minAxisRatio, 1]``.
    """

    density: float = 14.0
    refMagnitude: float = 24.0
    slope: float = 0.30
    brightMagnitude: float = 18.0
    faintMagnitude: float = 26.5
    halfLightRadius: float = 0.5
    sizeSlope: float = 0.1
    sizeScatter: float = 0.15
    minAxisRatio: float = 0.3

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self.halfLightRadius > 0 and self.sizeScatter >= 0, "GalaxyConfig: bad size parameters")
        _require(0 < self.minAxisRatio <= 1, "GalaxyConfig.minAxisRatio must be in (0, 1]")


@dataclass(frozen=True)
class LsbGalaxyConfig:
    """One large low-surface-brightness galaxy: a Sérsic profile, not PSF-convolved.

    Attributes
    ----------
    enabled : `bool`
        Whether to add it.
    position : `tuple` [`float`, `float`] or `None`
        Focal-plane centre, mm; `None`: midway between the centres of the two
        science detectors nearest to ``(0.35 R, 0.15 R)`` (R: focal-plane
        radius), so that it spans both.
    sersicIndex : `float`
        Sérsic ``n``.
    effectiveRadius : `float`
        Half-light radius along the major axis, arcsec.
    surfaceBrightness : `float`
        Surface brightness at the effective radius, mag/arcsec².
    axisRatio : `float`
        Minor/major axis ratio.
    positionAngle : `float`
        Degrees, from the focal-plane x axis towards y.
    truncation : `float`
        The profile is cut at this many effective radii (elliptical radius).
    """

    enabled: bool = True
    position: tuple[float, float] | None = None
    sersicIndex: float = 1.0
    effectiveRadius: float = 60.0
    surfaceBrightness: float = 25.5
    axisRatio: float = 0.8
    positionAngle: float = 30.0
    truncation: float = 6.0

    def __post_init__(self) -> None:
        _require(self.sersicIndex > 0 and self.effectiveRadius > 0, "LsbGalaxyConfig: n, r_e must be > 0")
        _require(0 < self.axisRatio <= 1 and self.truncation > 0, "LsbGalaxyConfig: bad axisRatio/truncation")


@dataclass(frozen=True)
class BrightStarConfig:
    """One bright star: a PSF core plus a Moffat-like power-law halo.

    The halo's surface brightness is ``F_halo (beta - 1) / (pi alpha**2) *
    (1 + r**2 / alpha**2)**(-beta)`` (``r**(-2 beta)`` far out), cut at
    ``maxRadius``; ``F_halo = haloFraction * F``.

    Attributes
    ----------
    enabled : `bool`
        Whether to add it.
    position : `tuple` [`float`, `float`] or `None`
        Focal-plane position, mm; `None`: the centre of the science detector
        nearest to ``(-0.3 R, -0.25 R)``.
    magnitude : `float`
        Total magnitude.
    haloFraction : `float`
        Fraction of the flux in the halo (the rest is in the PSF core).
    haloCoreRadius : `float`
        ``alpha``, arcsec.
    haloIndex : `float`
        ``beta`` (> 1).
    maxRadius : `float`
        Radius (arcsec) where the halo is cut.
    """

    enabled: bool = True
    position: tuple[float, float] | None = None
    magnitude: float = 8.5
    haloFraction: float = 0.1
    haloCoreRadius: float = 2.0
    haloIndex: float = 1.4
    maxRadius: float = 300.0

    def __post_init__(self) -> None:
        _require(0 <= self.haloFraction <= 1, "BrightStarConfig.haloFraction must be in [0, 1]")
        _require(self.haloIndex > 1, "BrightStarConfig.haloIndex must be > 1 (finite total flux)")
        _require(self.haloCoreRadius > 0 and self.maxRadius > 0, "BrightStarConfig: radii must be > 0")


@dataclass(frozen=True)
class DefectConfig:
    """Cosmetic defects and borders.

    Attributes
    ----------
    badColumns : `int`
        Number of BAD columns per detector (random columns, each spanning at
        least half the height).
    badColumnOffset : `float`
        Counts added to BAD pixels (0: they hold ordinary sky values, as
        after the stack's defect interpolation; > 0: hot columns).
    noDataBorder : `int`
        Width in pixels of a NO_DATA border (0: none).
    """

    badColumns: int = 2
    badColumnOffset: float = 0.0
    noDataBorder: int = 0

    def __post_init__(self) -> None:
        _require(self.badColumns >= 0 and self.noDataBorder >= 0, "DefectConfig: counts must be >= 0")


@dataclass(frozen=True)
class CalexpBackgroundConfig:
    """How the calexp's background is fitted (the ``calexpBackground``).

    Sources are first masked with a simple threshold: the image minus the
    true sky, binned 2x2, smoothed with the PSF, above
    ``detectionThreshold`` times its noise, grown by ``nSigmaToGrow`` PSF
    sigmas.  `SubtractBackgroundTask` then fits the background with these
    settings, ignoring the masked pixels, and subtracts it.

    Attributes
    ----------
    binSize : `int`
        Background cell size, pixels (128).
    algorithm : `str`
        Interpolation style (``AKIMA_SPLINE``).
    useApprox : `bool`
        Chebyshev approximation instead of interpolation.  `False` by
        default: the calexp-stage background of the detection task; `True`
        gives SubtractBackgroundTask's standalone default (order 6).
    approxOrder : `int`
        Chebyshev order when ``useApprox``.
    statistic : `str`
        Cell statistic (``MEANCLIP``).
    detectionThreshold : `float`
        Detection threshold in sigma of the smoothed image.
    nSigmaToGrow : `float`
        Footprint growth in PSF sigmas.
    keepDetected : `bool`
        Leave the DETECTED plane in the calexp's mask (`False`: cleared, the
        sky correction's object masking sets it).
    """

    binSize: int = 128
    algorithm: str = "AKIMA_SPLINE"
    useApprox: bool = False
    approxOrder: int = 6
    statistic: str = "MEANCLIP"
    detectionThreshold: float = 5.0
    nSigmaToGrow: float = 2.4
    keepDetected: bool = False

    def __post_init__(self) -> None:
        _require(self.binSize >= 1 and self.approxOrder >= 0, "CalexpBackgroundConfig: bad binSize/order")
        _require(
            self.algorithm in _INTERP_STYLES, f"CalexpBackgroundConfig.algorithm: one of {_INTERP_STYLES}"
        )
        _require(self.statistic in _STATISTICS, f"CalexpBackgroundConfig.statistic: one of {_STATISTICS}")
        _require(self.detectionThreshold > 0 and self.nSigmaToGrow >= 0, "CalexpBackgroundConfig: thresholds")


_NESTED: dict[str, type] = {
    "sky": SkyConfig,
    "skyFrame": SkyFrameConfig,
    "noise": NoiseConfig,
    "stars": SourceCountsConfig,
    "galaxies": GalaxyConfig,
    "lsbGalaxy": LsbGalaxyConfig,
    "brightStar": BrightStarConfig,
    "defects": DefectConfig,
    "background": CalexpBackgroundConfig,
}


@dataclass(frozen=True)
class SimulationConfig:
    """Everything that defines a simulated visit (with the camera, seed and visit id).

    Attributes
    ----------
    sky, skyFrame, noise, stars, galaxies, lsbGalaxy, brightStar, defects, background
        The parts; see their classes.
    detectors : `tuple` [`int`, ...] or `None`
        Detector ids to simulate; `None`: the camera's science detectors.
    plateScale : `float` or `None`
        arcsec per mm; `None`: the camera's (LSSTCam/LSSTComCam 20.006,
        HSC 11.2, DECam 17.575), else 20.
    zeroPoint : `float` or `None`
        Magnitude of a one-count source; `None`: the table's median
        ``zeroPoint`` when a sky-level table has one (HSC visit 1176: 32.2),
        else 31.5.
    psfSigma : `float` or `None`
        Gaussian PSF sigma in pixels; `None`: the table's median ``psfSigma``
        when it has one (HSC visit 1176: 2.9), else 0.8 arcsec FWHM at the
        camera's pixel scale.
    """

    sky: SkyConfig = field(default_factory=SkyConfig)
    skyFrame: SkyFrameConfig = field(default_factory=SkyFrameConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    stars: SourceCountsConfig = field(default_factory=SourceCountsConfig)
    galaxies: GalaxyConfig = field(default_factory=GalaxyConfig)
    lsbGalaxy: LsbGalaxyConfig = field(default_factory=LsbGalaxyConfig)
    brightStar: BrightStarConfig = field(default_factory=BrightStarConfig)
    defects: DefectConfig = field(default_factory=DefectConfig)
    background: CalexpBackgroundConfig = field(default_factory=CalexpBackgroundConfig)
    detectors: tuple[int, ...] | None = None
    plateScale: float | None = None
    zeroPoint: float | None = None
    psfSigma: float | None = None

    def __post_init__(self) -> None:
        for name, cls in _NESTED.items():
            if not isinstance(getattr(self, name), cls):
                raise TypeError(f"SimulationConfig.{name} must be a {cls.__name__}")
        if self.detectors is not None:
            detectors = tuple(self.detectors)
            if not detectors:
                raise ValueError("SimulationConfig.detectors is empty; use None for every science detector")
            if not all(_isInteger(d) for d in detectors):
                raise ValueError(
                    f"SimulationConfig.detectors must be integer detector ids, got {detectors!r}"
                )
            object.__setattr__(self, "detectors", tuple(int(d) for d in detectors))
        _require(self.plateScale is None or self.plateScale > 0, "SimulationConfig.plateScale must be > 0")
        _require(self.psfSigma is None or self.psfSigma > 0, "SimulationConfig.psfSigma must be > 0")
        _require(_finite(self.zeroPoint), "SimulationConfig.zeroPoint must be finite")

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed; ``"part.field"`` keys change a nested field.

        Examples
        --------
        ``config.replace(**{"galaxies.density": 0.0, "psfSigma": 2.0})``
        """
        nested: dict[str, dict[str, Any]] = {}
        top: dict[str, Any] = {}
        for key, value in changes.items():
            part, _, name = key.partition(".")
            if name:
                nested.setdefault(part, {})[name] = value
            else:
                top[key] = value
        for part, fields in nested.items():
            if part not in _NESTED:
                raise KeyError(f"SimulationConfig has no part {part!r}")
            top[part] = dataclasses.replace(top.get(part, getattr(self, part)), **fields)
        return dataclasses.replace(self, **top)

    def withSettings(self, settings: Iterable[str]) -> Self:
        """A copy with command-line style ``FIELD=VALUE`` changes (YAML values) applied.

        Parameters
        ----------
        settings : iterable of `str`
            e.g. ``["lsbGalaxy.enabled=false", "skyFrame.offsetScatter=0"]``;
            a YAML list becomes a tuple.

        Raises
        ------
        ValueError
            If a setting is not ``FIELD=VALUE`` or names no field, or a value
            is refused by the field's checks.
        """
        import yaml

        settings = list(settings)
        changes: dict[str, Any] = {}
        for setting in settings:
            name, sep, text = setting.partition("=")
            if not sep or not name.strip():
                raise ValueError(f"a simulation setting takes FIELD=VALUE, got {setting!r}")
            value = yaml.safe_load(text)
            changes[name.strip()] = tuple(value) if isinstance(value, list) else value
        try:
            return self.replace(**changes)
        except (KeyError, TypeError) as error:
            # A KeyError's str() is its repr; the message itself reads better.
            reason = error.args[0] if isinstance(error, KeyError) and error.args else error
            raise ValueError(f"simulation settings {settings}: {reason}") from error

    def toDict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (tuples become lists)."""
        return _jsonable(dataclasses.asdict(self))

    @classmethod
    def fromDict(cls, data: dict[str, Any]) -> SimulationConfig:
        """The inverse of `toDict`."""
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key in _NESTED:
                part = _NESTED[key]
                partArgs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in value.items()}
                kwargs[key] = part(**partArgs)
            elif key == "detectors" and value is not None:
                kwargs[key] = tuple(value)
            else:
                kwargs[key] = value
        return cls(**kwargs)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
