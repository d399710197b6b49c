"""A joint focal-plane sky model: polynomial, sky-frame scale and detector pistons in one fit.

`SkyCorrectionTask` with ``fitMode="joint"`` fits one linear model per visit
to per-detector bins of the restored, object-masked images::

    bin value = sum_k c_k phi_k(u, v) + s * skyFrame_bin + p_detector

``phi_k`` are triangular 2-d Chebyshev polynomials ``T_i(u) T_j(v)``,
``i + j <= order``, of the focal-plane position scaled to ``[-1, 1]`` over
the camera's focal-plane box; ``skyFrame_bin`` is the sky frame averaged over
exactly the pixels the bin's statistic uses; ``p_d`` is one piston per
detector.  Bins never cross a detector edge.

The pistons are constrained so that they cannot trade with the polynomial's
constant and tilt: ``sum_d n_d p_d phi_k(u_d, v_d) = 0`` for ``phi_k`` in
``(1, u, v)`` (``n_d`` the detector's used pixels, ``(u_d, v_d)`` its
centre), and optionally carry a Gaussian prior ``N(0, pistonPriorSigma**2)``.

Solving: the normal equations of the weighted least squares have a diagonal
piston block (a piston touches only its own detector's bins).  The pistons
are eliminated through that block (Schur complement) and the constraints
enter through Lagrange multipliers, so the system actually solved is
``(K + T + 3)``-square (``K`` polynomial terms, ``T`` sky-frame scales, at
most three constraints) whatever the number of detectors; the pistons are
then recovered detector by detector in one vectorised step.

Robustness: bins are weighted by ``1 / (clipped variance / n + floor**2)``;
the fit is iterated with asymmetric clipping (objects are positive, so
positive residuals are clipped harder), each iteration re-judging every bin
against the current model, so a bin clipped against an early, poor model
comes back (the re-mask/refit round).  With a piston prior the clipping also
bounds what a piston may absorb: a bin is kept only if its residual from the
model *without* its piston lies within the clip of its noise plus the clip of
the prior width, so contamination covering a whole detector is clipped rather
than taken into the piston.
"""

from __future__ import annotations

__all__ = [
    "ChebyshevBasis",
    "DetectorBins",
    "JointFitConfig",
    "JointFitResult",
    "fitJointModel",
    "measureDetectorBins",
    "pistonConstraints",
    "solveWithPistons",
]

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lsst.pex.config import Config, Field, FieldValidationError, ListField

from .afwlite.cameraGeom import FOCAL_PLANE, PIXELS, Camera, Detector
from .afwlite.geom import Box2I
from .afwlite.image import ImageF, MaskedImageF
from .afwlite.math import (
    MEAN,
    MEANCLIP,
    NPOINT,
    REDUCE_INTERP_ORDER,
    ApproximateControl,
    BackgroundList,
    BackgroundMI,
    Interpolate,
    StatisticsControl,
    binGeometry,
    makeBackgroundStatsImage,
)

#: Gaussian sigma per interquartile range.
_IQR_TO_SIGMA = 0.741301109252802


class JointFitConfig(Config):
    """Configuration of the joint focal-plane fit (``SkyCorrectionConfig.joint``)."""

    binSize = Field[int](
        dtype=int,
        default=128,
        doc="Approximate side, in pixels, of the per-detector bins the model is fitted to (afw's "
        "background bin geometry: round(width / binSize) bins across, sizes differing by at most one "
        "pixel; bins never cross a detector edge).  The smooth model layer of skyCorr is stored on the "
        "same grid.",
    )
    order = Field[int](
        dtype=int,
        default=4,
        doc="Order of the triangular focal-plane Chebyshev polynomial (terms T_i(u) T_j(v), i + j <= "
        "order; (order + 1)(order + 2)/2 terms).",
    )
    doPistons = Field[bool](
        dtype=bool,
        default=False,
        doc="Fit one additive piston per detector (off by default, as Rubin's FitVisitBackgroundTask)?  "
        "The pistons are constrained not to trade with the polynomial's constant and tilt.",
    )
    pistonPriorSigma = Field[float](
        dtype=float,
        default=None,
        optional=True,
        doc="Width (counts) of a Gaussian prior N(0, sigma^2) on each piston; None: no prior.  With a "
        "prior, bins whose residual from the pistonless model exceeds the clip of their noise plus the "
        "clip of this width are clipped, so a piston cannot absorb a large object covering a whole "
        "detector.  Set it at or above the expected RMS of the detector offsets.",
    )
    mask = ListField[str](
        dtype=str,
        default=["BAD", "SAT", "INTRP", "DETECTED", "DETECTED_NEGATIVE", "EDGE", "NO_DATA"],
        doc="Mask planes whose pixels are left out of the bins (bgModel1's default: the same pixels).",
    )
    minFrac = Field[float](
        dtype=float,
        default=0.1,
        doc="Smallest fraction of a bin's pixels that must be usable for the bin to be fitted.",
    )
    systematicFloor = Field[float](
        dtype=float,
        default=0.01,
        doc="Systematic error added in quadrature to every bin's statistical error, as a fraction of "
        "the visit's median per-pixel clipped standard deviation; it stops the fit from trusting "
        "large bins beyond what a smooth model can deliver.",
    )
    clipHigh = Field[float](
        dtype=float,
        default=3.0,
        doc="Bins whose residual exceeds clipHigh robust sigmas are clipped (objects are positive).",
    )
    clipLow = Field[float](
        dtype=float,
        default=5.0,
        doc="Bins whose residual is below -clipLow robust sigmas are clipped.",
    )
    clipIterations = Field[int](
        dtype=int,
        default=6,
        doc="Most clip-and-refit iterations; the fit stops earlier when the clipped bins stop changing.",
    )

    def validate(self) -> None:
        super().validate()
        checks = (
            (JointFitConfig.binSize, self.binSize >= 1, "must be >= 1"),
            (JointFitConfig.order, self.order >= 0, "must be >= 0"),
            (JointFitConfig.minFrac, 0.0 <= self.minFrac <= 1.0, "must be in [0, 1]"),
            (
                JointFitConfig.systematicFloor,
                math.isfinite(self.systematicFloor) and self.systematicFloor >= 0,
                "must be finite and >= 0",
            ),
            (JointFitConfig.clipHigh, math.isfinite(self.clipHigh) and self.clipHigh > 0, "must be > 0"),
            (JointFitConfig.clipLow, math.isfinite(self.clipLow) and self.clipLow > 0, "must be > 0"),
            (JointFitConfig.clipIterations, self.clipIterations >= 1, "must be >= 1"),
            (
                JointFitConfig.pistonPriorSigma,
                self.pistonPriorSigma is None
                or (math.isfinite(self.pistonPriorSigma) and self.pistonPriorSigma > 0),
                "must be None or positive",
            ),
            (JointFitConfig.mask, all(self.mask), "must not hold empty plane names"),
        )
        for field, ok, message in checks:
            if not ok:
                value = getattr(self, field.name)
                raise FieldValidationError(field, self, f"{field.name} {message}, got {value!r}")


# The focal-plane basis ---------------------------------------------------------------------------


class ChebyshevBasis:
    """Triangular 2-d Chebyshev polynomials over a focal-plane box.

    Term ``k`` is ``T_i(u) T_j(v)`` for the ``k``-th pair ``(i, j)`` with
    ``i + j <= order``, ordered by total degree then by ``j``: term 0 is the
    constant, terms 1 and 2 are ``u`` and ``v``.  ``u`` and ``v`` map the box
    onto ``[-1, 1]``.

    Parameters
    ----------
    order : `int`
        Highest total degree.
    xMin, xMax, yMin, yMax : `float`
        The focal-plane box (mm); each side must have positive length.
    """

    def __init__(self, order: int, xMin: float, xMax: float, yMin: float, yMax: float) -> None:
        if order < 0:
            raise ValueError(f"ChebyshevBasis: order must be >= 0, got {order}")
        if not (xMax > xMin and yMax > yMin):
            raise ValueError(f"ChebyshevBasis: empty box x [{xMin}, {xMax}], y [{yMin}, {yMax}]")
        self.order = order
        self.box = (float(xMin), float(xMax), float(yMin), float(yMax))
        self.terms = [(total - j, j) for total in range(order + 1) for j in range(total + 1)]

    @classmethod
    def fromCamera(cls, order: int, camera: Camera) -> ChebyshevBasis:
        """The basis over ``camera``'s focal-plane box."""
        box = camera.getFpBBox()
        return cls(order, box.getMinX(), box.getMaxX(), box.getMinY(), box.getMaxY())

    def __len__(self) -> int:
        return len(self.terms)

    def scaled(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Focal-plane positions mapped onto ``[-1, 1]`` over the box."""
        xMin, xMax, yMin, yMax = self.box
        u = (2.0 * np.asarray(x, dtype=np.float64) - (xMin + xMax)) / (xMax - xMin)
        v = (2.0 * np.asarray(y, dtype=np.float64) - (yMin + yMax)) / (yMax - yMin)
        return u, v

    def design(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The ``(n, len(self))`` matrix of every term at focal-plane points ``(x, y)``."""
        u, v = self.scaled(np.ravel(x), np.ravel(y))
        full = np.polynomial.chebyshev.chebvander2d(u, v, [self.order, self.order])
        # chebvander2d's column i * (order + 1) + j holds T_i(u) T_j(v).
        columns = [i * (self.order + 1) + j for i, j in self.terms]
        return full[:, columns]

    def evaluate(self, coefficients: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The polynomial with ``coefficients`` at focal-plane points (the shape of ``x``)."""
        return (self.design(x, y) @ np.asarray(coefficients, dtype=np.float64)).reshape(np.shape(x))


# Binned statistics -----------------------------------------------------------------------------


@dataclass
class DetectorBins:
    """One detector's bins: statistics of the image (and sky frame) and where they sit.

    Attributes
    ----------
    detectorId : `int`
        The detector.
    values : `numpy.ndarray`
        Clipped mean (MEANCLIP, 3 sigma, 3 iterations) of each bin's usable
        pixels, row-major over the ``shape`` grid; NaN where none is usable.
    errors : `numpy.ndarray`
        Its error (afw's ``sqrt(clipped variance / n)``).
    counts : `numpy.ndarray`
        Usable pixels in each bin (NPOINT).
    areas : `numpy.ndarray`
        Pixels in each bin.
    focalPlaneX, focalPlaneY : `numpy.ndarray`
        Focal-plane position (mm) of each bin centre.
    skyFrame : `numpy.ndarray` or `None`
        Mean of the sky frame over each bin's usable pixels.
    shape : `tuple` [`int`, `int`]
        ``(ny, nx)`` bins.
    """

    detectorId: int
    values: np.ndarray
    errors: np.ndarray
    counts: np.ndarray
    areas: np.ndarray
    focalPlaneX: np.ndarray
    focalPlaneY: np.ndarray
    skyFrame: np.ndarray | None
    shape: tuple[int, int]


def binGrid(bbox: Box2I, binSize: int) -> tuple[int, int]:
    """``(nx, ny)``: bins of about ``binSize`` pixels across ``bbox`` (at least one each way)."""
    nx = min(max(1, round(bbox.getWidth() / binSize)), bbox.getWidth())
    ny = min(max(1, round(bbox.getHeight() / binSize)), bbox.getHeight())
    return nx, ny


def binCentres(detector: Detector, bbox: Box2I, nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    """Focal-plane positions (mm) of the ``ny`` x ``nx`` bin centres, row-major.

    The centres are afw's background bin centres (`binGeometry`), which are
    also where a `BackgroundMI` on this grid places its nodes.
    """
    xCentres = binGeometry(bbox.getWidth(), nx).center + bbox.getMinX()
    yCentres = binGeometry(bbox.getHeight(), ny).center + bbox.getMinY()
    gridX, gridY = np.meshgrid(xCentres, yCentres)
    toFocalPlane = detector.getTransform(PIXELS, FOCAL_PLANE)
    fpX, fpY = toFocalPlane.applyForward((gridX.reshape(-1), gridY.reshape(-1)))
    return np.asarray(fpX, dtype=np.float64), np.asarray(fpY, dtype=np.float64)


def measureDetectorBins(
    maskedImage: MaskedImageF,
    detector: Detector,
    badBits: int,
    binSize: int,
    skyFrame: ImageF | None = None,
) -> DetectorBins:
    """Measure one detector's bins.

    Parameters
    ----------
    maskedImage : `MaskedImageF`
        The restored, object-masked image (its bbox is the detector's).
    detector : `Detector`
        Where its pixels sit in the focal plane.
    badBits : `int`
        Mask bits whose pixels are left out.
    binSize : `int`
        Approximate bin side in pixels (`binGrid`).
    skyFrame : `ImageF`, optional
        The sky frame's full-resolution image on the same bbox; its mean
        over each bin's usable pixels is measured too.

    Returns
    -------
    bins : `DetectorBins`
        The statistics (``makeBackgroundStatsImage``'s cells: MEANCLIP with
        its error, NPOINT, and MEAN of the sky frame).
    """
    bbox = maskedImage.getBBox()
    nx, ny = binGrid(bbox, binSize)
    sctrl = StatisticsControl()
    sctrl.setAndMask(badBits)
    sctrl.setNanSafe(True)
    measured = makeBackgroundStatsImage(maskedImage, nx, ny, MEANCLIP, sctrl)
    counted = makeBackgroundStatsImage(maskedImage, nx, ny, NPOINT, sctrl)
    skyValues = None
    if skyFrame is not None:
        if skyFrame.getBBox() != bbox:
            raise ValueError(f"sky frame bbox {skyFrame.getBBox()} differs from the image's {bbox}")
        finite = np.isfinite(maskedImage.image.array)
        if not finite.all():
            # The image's statistic skips its non-finite pixels: the sky frame's must too.
            skyFrame = ImageF(np.where(finite, skyFrame.array, np.float32(np.nan)))
        skyImage = MaskedImageF(skyFrame, maskedImage.mask)
        skyValues = makeBackgroundStatsImage(skyImage, nx, ny, MEAN, sctrl).image.array.reshape(-1)
        skyValues = skyValues.astype(np.float64)
    xSizes = binGeometry(bbox.getWidth(), nx).size
    ySizes = binGeometry(bbox.getHeight(), ny).size
    fpX, fpY = binCentres(detector, bbox, nx, ny)
    return DetectorBins(
        detectorId=detector.getId(),
        values=measured.image.array.reshape(-1).astype(np.float64),
        errors=measured.variance.array.reshape(-1).astype(np.float64),
        counts=counted.image.array.reshape(-1).astype(np.float64),
        areas=(ySizes[:, np.newaxis] * xSizes[np.newaxis, :]).reshape(-1).astype(np.float64),
        focalPlaneX=fpX,
        focalPlaneY=fpY,
        skyFrame=skyValues,
        shape=(ny, nx),
    )


# The solver ------------------------------------------------------------------------------------


def pistonConstraints(basis: ChebyshevBasis, centreX: np.ndarray, centreY: np.ndarray) -> np.ndarray:
    """Rows ``phi_k(u_d, v_d)`` for the terms 1, u and v the basis has (at most three rows).

    Multiplied by each detector's used pixels ``n_d`` they are the constraint
    matrix ``C`` of ``C p = 0``.
    """
    design = basis.design(centreX, centreY)
    return design[:, : min(3, len(basis))].T.copy()


def solveWithPistons(
    design: np.ndarray,
    detectorIndex: np.ndarray,
    nDetectors: int,
    weights: np.ndarray,
    values: np.ndarray,
    constraints: np.ndarray | None,
    priorPrecision: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of global terms plus per-detector pistons under ``C p = 0``.

    Minimises ``sum_b w_b (v_b - G_b g - p_{d(b)})**2 + priorPrecision *
    sum_d p_d**2`` subject to ``C p = 0``.  With ``A = G^T W G``, ``B`` the
    per-detector sums of ``w G`` and ``D`` the diagonal piston block
    (``sum w`` per detector plus the prior precision), the pistons are
    ``p = D^-1 (b - B g - C^T lambda)`` and ``(g, lambda)`` solve::

        [A - B^T D^-1 B      -B^T D^-1 C^T] [g]        [a - B^T D^-1 b]
        [-C D^-1 B           -C D^-1 C^T  ] [lambda] = [-C D^-1 b     ]

    Detectors without weight (and no prior) have no piston: theirs is 0 and
    they drop out of ``C``.

    Parameters
    ----------
    design : `numpy.ndarray`
        ``(n, P)`` global design matrix ``G`` (polynomial and sky-frame columns).
    detectorIndex : `numpy.ndarray`
        ``(n,)`` detector index (``0 <= d < nDetectors``) of each bin.
    nDetectors : `int`
        Number of pistons.
    weights, values : `numpy.ndarray`
        ``(n,)`` weights (0 for bins left out) and values.
    constraints : `numpy.ndarray` or `None`
        ``(m, nDetectors)`` constraint matrix ``C``; `None` for no constraint.
    priorPrecision : `float`
        ``1 / sigma**2`` of the pistons' Gaussian prior; 0 for none.

    Returns
    -------
    globals, pistons : `numpy.ndarray`
        ``(P,)`` and ``(nDetectors,)``.
    """
    nParams = design.shape[1]
    weighted = design * weights[:, np.newaxis]
    normal = design.T @ weighted
    rhs = weighted.T @ values
    perDetector = np.zeros((nDetectors, nParams))
    np.add.at(perDetector, detectorIndex, weighted)
    diagonal = np.bincount(detectorIndex, weights, minlength=nDetectors) + priorPrecision
    pistonRhs = np.bincount(detectorIndex, weights * values, minlength=nDetectors)
    active = diagonal > 0
    inverse = np.zeros(nDetectors)
    inverse[active] = 1.0 / diagonal[active]

    reducedNormal = normal - perDetector.T @ (inverse[:, np.newaxis] * perDetector)
    reducedRhs = rhs - perDetector.T @ (inverse * pistonRhs)
    if constraints is not None and constraints.size:
        constraints = constraints * active[np.newaxis, :]
        nConstraints = constraints.shape[0]
        coupling = -(constraints * inverse[np.newaxis, :]) @ perDetector  # -C D^-1 B
        lower = -(constraints * inverse[np.newaxis, :]) @ constraints.T
        system = np.block([[reducedNormal, coupling.T], [coupling, lower]])
        systemRhs = np.concatenate([reducedRhs, -(constraints * inverse[np.newaxis, :]) @ pistonRhs])
    else:
        nConstraints = 0
        system, systemRhs = reducedNormal, reducedRhs
    # Symmetric equilibration: the columns differ by orders of magnitude (counts, sky-frame
    # units, multipliers), which lstsq's cut-off would otherwise treat as near-singularity.
    scale = np.sqrt(np.abs(np.diag(system)))
    scale[scale == 0] = 1.0
    solution = np.linalg.lstsq(system / np.outer(scale, scale), systemRhs / scale, rcond=None)[0] / scale
    globals_ = solution[:nParams]
    pistons = pistonRhs - perDetector @ globals_
    if constraints is not None and nConstraints:
        pistons -= constraints.T @ solution[nParams:]
    pistons *= inverse
    return globals_, pistons


@dataclass
class JointFitResult:
    """The fitted joint model of one visit.

    Attributes
    ----------
    basis : `ChebyshevBasis`
        The focal-plane basis.
    coefficients : `numpy.ndarray`
        Its coefficients.
    skyScale : `float` or `None`
        The sky-frame scale (`None` when fitted without a sky frame).
    pistons : `numpy.ndarray`
        One piston per detector, in the order of the bins given (zeros
        without ``doPistons``).
    used : `list` [`numpy.ndarray`]
        Per detector, which bins the final fit used.
    chi2 : `float`
        Weighted sum of squared residuals of the used bins.
    dof : `int`
        Used bins minus free parameters.
    iterations : `int`
        Fits made.
    """

    basis: ChebyshevBasis
    coefficients: np.ndarray
    skyScale: float | None
    pistons: np.ndarray
    used: list[np.ndarray]
    chi2: float
    dof: int
    iterations: int

    def smoothModel(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The polynomial at focal-plane points."""
        return self.basis.evaluate(self.coefficients, x, y)

    @property
    def pistonRms(self) -> float:
        """RMS of the pistons (0 without pistons)."""
        return float(np.sqrt(np.mean(self.pistons**2))) if self.pistons.size else 0.0


def _robustSigma(values: np.ndarray) -> float:
    """Gaussian sigma from the interquartile range (0 for fewer than two values)."""
    if values.size < 2:
        return 0.0
    q25, q75 = np.percentile(values, [25, 75])
    return float(_IQR_TO_SIGMA * (q75 - q25))


def fitJointModel(
    bins: Sequence[DetectorBins],
    basis: ChebyshevBasis,
    config: JointFitConfig,
    *,
    useSkyFrame: bool,
    centres: tuple[np.ndarray, np.ndarray] | None = None,
) -> JointFitResult:
    """Fit the polynomial, the sky-frame scale and the pistons to every detector's bins.

    Parameters
    ----------
    bins : `list` [`DetectorBins`]
        One entry per detector.
    basis : `ChebyshevBasis`
        The focal-plane basis.
    config : `JointFitConfig`
        Clipping, weights and pistons.
    useSkyFrame : `bool`
        Fit a sky-frame scale (every entry needs ``skyFrame``)?
    centres : `tuple` [`numpy.ndarray`, `numpy.ndarray`], optional
        Focal-plane centres (mm) of the detectors for the piston
        constraints; default: the mean of each detector's bin centres.

    Returns
    -------
    result : `JointFitResult`

    Raises
    ------
    ValueError
        If no bin is usable, or fewer bins than parameters are.
    """
    nDetectors = len(bins)
    sizes = np.array([entry.values.size for entry in bins])
    detectorIndex = np.repeat(np.arange(nDetectors), sizes)
    values = np.concatenate([entry.values for entry in bins])
    errors = np.concatenate([entry.errors for entry in bins])
    counts = np.concatenate([entry.counts for entry in bins])
    areas = np.concatenate([entry.areas for entry in bins])
    fpX = np.concatenate([entry.focalPlaneX for entry in bins])
    fpY = np.concatenate([entry.focalPlaneY for entry in bins])
    columns = [basis.design(fpX, fpY)]
    if useSkyFrame:
        if any(entry.skyFrame is None for entry in bins):
            raise ValueError("fitJointModel: useSkyFrame needs every detector's skyFrame bins")
        columns.append(np.concatenate([entry.skyFrame for entry in bins])[:, np.newaxis])  # type: ignore[misc]
    design = np.concatenate(columns, axis=1)

    good = (
        np.isfinite(values)
        & np.isfinite(errors)
        & (errors > 0)
        & (counts >= np.maximum(config.minFrac * areas, 2))
        & np.all(np.isfinite(design), axis=1)
    )
    nParams = design.shape[1]
    if np.count_nonzero(good) < nParams:
        raise ValueError(
            f"fitJointModel: {np.count_nonzero(good)} usable bins for {nParams} model parameters "
            f"(order {basis.order}{' and a sky-frame scale' if useSkyFrame else ''})"
        )
    # Bins left out get weight 0; zero their entries too, since 0 * NaN would spoil the sums.
    values = np.where(good, values, 0.0)
    design = np.where(good[:, np.newaxis], design, 0.0)
    pixelSigma = float(np.median(errors[good] * np.sqrt(counts[good])))
    floor = config.systematicFloor * pixelSigma
    sigmas = np.where(good, np.sqrt(np.where(good, errors, 0.0) ** 2 + floor**2), np.inf)

    if centres is None:
        centreX = np.bincount(detectorIndex, fpX, minlength=nDetectors) / np.maximum(sizes, 1)
        centreY = np.bincount(detectorIndex, fpY, minlength=nDetectors) / np.maximum(sizes, 1)
    else:
        centreX, centreY = (np.asarray(c, dtype=np.float64) for c in centres)
    constraintRows = pistonConstraints(basis, centreX, centreY)
    prior = config.pistonPriorSigma
    priorPrecision = 0.0 if prior is None else 1.0 / prior**2

    used = good.copy()
    pistons = np.zeros(nDetectors)
    iterations = 0
    while iterations < config.clipIterations:
        iterations += 1
        weights = np.where(used, 1.0 / sigmas**2, 0.0)
        if config.doPistons:
            usedPixels = np.bincount(detectorIndex, np.where(used, counts, 0.0), minlength=nDetectors)
            constraints = constraintRows * (usedPixels / max(usedPixels.sum(), 1.0))[np.newaxis, :]
            globals_, pistons = solveWithPistons(
                design, detectorIndex, nDetectors, weights, values, constraints, priorPrecision
            )
        else:
            sqrtW = np.sqrt(weights)
            globals_ = np.linalg.lstsq(design * sqrtW[:, np.newaxis], values * sqrtW, rcond=None)[0]
        smooth = design @ globals_
        residuals = values - smooth - pistons[detectorIndex]
        normalised = np.where(good, residuals / sigmas, 0.0)
        spread = max(1.0, _robustSigma(normalised[used]))
        keep = good & (normalised <= config.clipHigh * spread) & (normalised >= -config.clipLow * spread)
        if config.doPistons and prior is not None:
            # What the piston took must itself be within the prior's allowance.
            excess = values - smooth
            noise = spread * sigmas
            keep &= excess <= config.clipHigh * (noise + prior)
            keep &= excess >= -config.clipLow * (noise + prior)
        if np.count_nonzero(keep) < nParams or np.array_equal(keep, used):
            break
        used = keep

    weights = np.where(used, 1.0 / sigmas**2, 0.0)
    residuals = values - design @ globals_ - pistons[detectorIndex]
    chi2 = float(np.sum(weights * residuals**2))
    nFree = nParams
    if config.doPistons:
        withData = np.bincount(detectorIndex, used, minlength=nDetectors) > 0
        nFree += int(np.count_nonzero(withData)) - min(constraintRows.shape[0], int(withData.sum()))
    nPolynomial = len(basis)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    return JointFitResult(
        basis=basis,
        coefficients=globals_[:nPolynomial].copy(),
        skyScale=float(globals_[nPolynomial]) if useSkyFrame else None,
        pistons=pistons,
        used=[used[offsets[d] : offsets[d + 1]] for d in range(nDetectors)],
        chi2=chi2,
        dof=int(np.count_nonzero(used)) - nFree,
        iterations=iterations,
    )


# skyCorr elements ------------------------------------------------------------------------------


def smoothModelBackground(
    result: JointFitResult, detector: Detector, bbox: Box2I, binSize: int
) -> BackgroundList:
    """The polynomial as one `BackgroundMI` element on the detector's bin grid.

    The stats image holds the polynomial at the grid's nodes (afw's bin
    centres, `binCentres`), interpolated with AKIMA_SPLINE (lowered by
    REDUCE_INTERP_ORDER on small grids), the style bgModel1 uses.
    """
    nx, ny = binGrid(bbox, binSize)
    fpX, fpY = binCentres(detector, bbox, nx, ny)
    statsImage = MaskedImageF(nx, ny)
    statsImage.image.array[...] = result.smoothModel(fpX, fpY).reshape(ny, nx)
    return _element(bbox, statsImage, Interpolate.AKIMA_SPLINE)


def pistonBackground(piston: float, bbox: Box2I) -> BackgroundList:
    """A constant (one-cell, CONSTANT-style) `BackgroundMI` element of value ``piston``."""
    statsImage = MaskedImageF(1, 1)
    statsImage.image.array[...] = piston
    return _element(bbox, statsImage, Interpolate.CONSTANT)


def _element(bbox: Box2I, statsImage: MaskedImageF, style: Interpolate.Style) -> BackgroundList:
    return BackgroundList(
        (
            BackgroundMI(bbox, statsImage),
            style,
            REDUCE_INTERP_ORDER,
            ApproximateControl.UNKNOWN,
            0,
            0,
            False,
        )
    )
