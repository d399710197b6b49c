"""Metrics of a sky correction against the truth of a simulated visit.

Every method is judged by the background it subtracted from the raw image
(the restored calexp, ``calexp + calexpBackground``): its *model*.  The
corrected image is ``raw - model`` and ``raw = truthSky + truthSources +
noise``, so what the correction leaves of the sky is

    residual = truthSky - model = corrected - truthSources - noise.

A full sky subtraction should leave no sky, so the residual should be 0
everywhere.  It is computed without noise (from the truth, not from the
pixels), so the metrics measure the method, not one noise realisation: the
noise does enter, through the model each method fitted to the noisy image.

* **Binned residual RMS**: the residual in units of the per-pixel noise
  ``sigma = sqrt(mean(truthSky) / gain + readNoise²)`` of its detector is
  averaged in square focal-plane bins of N pixels; bins with at least
  ``minCoverage`` of their N² pixels on simulated detectors count.  The
  RMS (about zero) of the bin means is reported for each N.
* **LSB galaxy flux**: ``sum(lsb + residual) / sum(lsb)`` over the pixels
  within k effective radii (elliptical radius) of the galaxy, ``lsb`` its
  true profile: the fraction of the galaxy's light the corrected image
  keeps there (< 1: the background ate some).
* **Bright-star annuli**: the mean residual in circular annuli (arcsec)
  around the star, in units of sigma and as a fraction of the true halo.
* **Detector offsets**: for every pair of neighbouring detectors, the mean
  difference of their residuals in base bins along their facing edges (at
  most ``maxSeparation`` pixels apart): steps the mosaic shows at detector
  boundaries.
"""

from __future__ import annotations

__all__ = [
    "AnnulusResult",
    "BinnedResidual",
    "DetectorOffsets",
    "LsbFluxResult",
    "MethodMetrics",
    "ResidualMap",
    "ValidationAccumulator",
    "binnedResidual",
    "detectorOffsets",
    "perPixelNoise",
]

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage, spatial

from ...afwlite.cameraGeom import Detector
from ._geometry import DetectorBins, PixelFrame


def perPixelNoise(truthSky: np.ndarray, gain: float, readNoise: float) -> float:
    """The sky noise of a detector, counts: ``sqrt(mean(truthSky) / gain + readNoise²)``."""
    if gain <= 0:
        raise ValueError(f"gain must be positive, got {gain}")
    return math.sqrt(max(float(np.mean(truthSky, dtype=np.float64)), 0.0) / gain + readNoise**2)


@dataclass
class _Entries:
    """Per (detector, base bin): indices, pixel counts and the sum of residual / sigma."""

    detector: list[np.ndarray] = field(default_factory=list)
    ix: list[np.ndarray] = field(default_factory=list)
    iy: list[np.ndarray] = field(default_factory=list)
    count: list[np.ndarray] = field(default_factory=list)
    sums: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def arrays(self, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if method not in self.sums:
            raise KeyError(f"no residuals were added for method {method!r} (have {sorted(self.sums)})")
        return (
            np.concatenate(self.detector),
            np.concatenate(self.ix),
            np.concatenate(self.iy),
            np.concatenate(self.count),
            np.concatenate(self.sums[method]),
        )


@dataclass(frozen=True)
class BinnedResidual:
    """Statistics of the residual in focal-plane bins of one size.

    Attributes
    ----------
    binSize : `int`
        Bin side, pixels.
    nBins : `int`
        Bins counted (enough coverage).
    rms : `float`
        RMS about zero of the bin means, units of the per-pixel noise.
    mean : `float`
        Mean of the bin means, same units.
    maxAbs : `float`
        Largest absolute bin mean, same units.
    """

    binSize: int
    nBins: int
    rms: float
    mean: float
    maxAbs: float


@dataclass(frozen=True)
class ResidualMap:
    """Bin means of the residual on a focal-plane grid, for pictures.

    Attributes
    ----------
    values : `numpy.ndarray`
        ``(ny, nx)`` means in units of the per-pixel noise; NaN where a bin
        has too little coverage.
    extent : `tuple` [`float`, `float`, `float`, `float`]
        ``(left, right, bottom, top)`` in focal-plane mm (matplotlib's
        ``imshow`` extent).
    binSize : `int`
        Bin side, pixels.
    """

    values: np.ndarray
    extent: tuple[float, float, float, float]
    binSize: int


@dataclass(frozen=True)
class LsbFluxResult:
    """Flux of the LSB galaxy kept by the correction within ``radius`` effective radii.

    Attributes
    ----------
    radius : `float`
        Elliptical radius of the aperture, effective radii.
    trueFlux : `float`
        The galaxy's flux on the simulated pixels of the aperture, counts.
    recoveredFlux : `float`
        ``trueFlux + sum(residual)`` over the aperture, counts.
    ratio : `float`
        ``recoveredFlux / trueFlux``.
    coverage : `float`
        ``trueFlux`` over the analytic flux inside the aperture (< 1 where
        the aperture runs into detector gaps or unsimulated detectors).
    """

    radius: float
    trueFlux: float
    recoveredFlux: float
    ratio: float
    coverage: float


@dataclass(frozen=True)
class AnnulusResult:
    """Mean residual in an annulus around the bright star.

    Attributes
    ----------
    inner, outer : `float`
        Radii, arcsec.
    nPixels : `int`
        Simulated pixels in the annulus.
    meanResidual : `float`
        Mean residual, units of the per-pixel noise.
    meanHalo : `float`
        Mean true halo surface brightness, same units.
    haloFraction : `float`
        ``sum(residual) / sum(halo)``: the fraction of the halo's light
        lost (negative) or added (positive) by the correction.
    """

    inner: float
    outer: float
    nPixels: int
    meanResidual: float
    meanHalo: float
    haloFraction: float


@dataclass(frozen=True)
class DetectorOffsets:
    """Residual steps between neighbouring detectors.

    Attributes
    ----------
    nPairs : `int`
        Neighbouring detector pairs found.
    rms : `float`
        RMS of the pair offsets, units of the per-pixel noise.
    maxAbs : `float`
        Largest absolute offset, same units.
    perDetectorRms : `float`
        RMS over detectors of each detector's mean residual, same units.
    pairs : `dict` [`str`, `float`]
        ``"a-b"``: mean residual of detector ``a`` minus that of ``b`` along
        their facing edges.
    """

    nPairs: int
    rms: float
    maxAbs: float
    perDetectorRms: float
    pairs: dict[str, float]


@dataclass(frozen=True)
class MethodMetrics:
    """Every metric of one method.

    Attributes
    ----------
    method : `str`
        The method's name.
    binned : `list` [`BinnedResidual`]
        One per bin size.
    lsbFlux : `list` [`LsbFluxResult`]
        One per aperture (empty without an LSB galaxy).
    starAnnuli : `list` [`AnnulusResult`]
        One per annulus (empty without a bright star).
    offsets : `DetectorOffsets`
        Detector-to-detector steps.
    skyFrameScale : `float` or `None`
        The sky-frame scale the method fitted, if it fits one.
    """

    method: str
    binned: list[BinnedResidual]
    lsbFlux: list[LsbFluxResult]
    starAnnuli: list[AnnulusResult]
    offsets: DetectorOffsets
    skyFrameScale: float | None = None

    def toDict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)


class ValidationAccumulator:
    """Accumulates the residuals of several methods, one detector at a time.

    Parameters
    ----------
    truth : `~lsst.sky.correction.simulation.VisitTruth`
        The visit's truth (LSB galaxy, bright star, plate scale).
    baseBinSize : `int`
        The smallest focal-plane bin (pixels); larger bins must be multiples.
    lsbRadii : `tuple` [`float`, ...]
        Aperture radii around the LSB galaxy, effective radii.
    starAnnuli : `tuple` [`tuple` [`float`, `float`], ...]
        Annuli around the bright star, arcsec.
    """

    def __init__(
        self,
        truth: Any,
        baseBinSize: int = 64,
        lsbRadii: Sequence[float] = (1.0, 2.0, 4.0),
        starAnnuli: Sequence[tuple[float, float]] = ((20.0, 60.0), (60.0, 120.0), (120.0, 240.0)),
    ) -> None:
        self.truth = truth
        self.baseBinSize = int(baseBinSize)
        self.lsbRadii = tuple(float(r) for r in lsbRadii)
        self.starAnnuli = tuple((float(a), float(b)) for a, b in starAnnuli)
        for inner, outer in self.starAnnuli:
            if not 0 <= inner < outer:
                raise ValueError(f"star annulus ({inner}, {outer}) arcsec: need 0 <= inner < outer")
        self._entries = _Entries()
        self._pixelSize: float | None = None
        self.methods: list[str] = []
        self.detectorIds: list[int] = []
        # Per method: per aperture [sum residual, sum lsb]; per annulus [sum r/sigma, sum halo/sigma,
        # sum residual, sum halo, pixels]; per detector [sum r/sigma, pixels].
        self._lsb: dict[str, np.ndarray] = {}
        self._star: dict[str, np.ndarray] = {}
        self._perDetector: dict[str, dict[int, tuple[float, float]]] = {}

    def addDetector(
        self,
        detector: Detector,
        truthSky: np.ndarray,
        models: Mapping[str, np.ndarray],
        sigma: float,
        valid: np.ndarray | None = None,
    ) -> None:
        """Add one detector's residuals for every method.

        Parameters
        ----------
        detector : `Detector`
            The detector.
        truthSky : `numpy.ndarray`
            Its true sky (counts per pixel).
        models : `Mapping` [`str`, `numpy.ndarray`]
            Per method, the background it subtracted from the raw image.
        sigma : `float`
            The detector's per-pixel noise (`perPixelNoise`).
        valid : `numpy.ndarray`, optional
            Pixels to use (default all).
        """
        detectorId = detector.getId()
        if detectorId in self.detectorIds:
            raise ValueError(f"detector {detectorId} was already added")
        if not sigma > 0:
            raise ValueError(f"detector {detectorId}: the per-pixel noise must be positive, got {sigma}")
        if not self.methods:
            self.methods = list(models)
        elif list(models) != self.methods:
            raise ValueError(f"detector {detectorId}: methods {list(models)} differ from {self.methods}")
        frame = PixelFrame.fromDetector(detector)
        if self._pixelSize is None:
            self._pixelSize = frame.pixelSize
        elif not np.isclose(frame.pixelSize, self._pixelSize):
            raise ValueError(
                f"detector {detectorId}: pixel size {frame.pixelSize} mm differs from the others"
            )
        for method, model in models.items():
            if model.shape != frame.shape or truthSky.shape != frame.shape:
                raise ValueError(
                    f"detector {detectorId}, method {method!r}: model {model.shape} / truth sky "
                    f"{truthSky.shape} do not match the detector {frame.shape}"
                )
        self.detectorIds.append(detectorId)

        bins = DetectorBins(frame, self.baseBinSize, valid)
        ix, iy = bins.indices()
        occupied = bins.counts > 0
        entries = self._entries
        entries.detector.append(np.full(int(occupied.sum()), detectorId, dtype=np.int64))
        entries.ix.append(ix[occupied])
        entries.iy.append(iy[occupied])
        entries.count.append(bins.counts[occupied])

        residuals = {}
        for method, model in models.items():
            residual = np.subtract(truthSky, model, dtype=np.float64)
            residuals[method] = residual
            binSums = bins.sum(residual)
            entries.sums.setdefault(method, []).append(binSums[occupied] / sigma)
            self._perDetector.setdefault(method, {})[detectorId] = (
                float(binSums.sum()) / sigma,
                float(bins.counts.sum()),
            )
        del bins

        needsLsb = self.truth.lsbGalaxy is not None and detectorId in self.truth.lsbGalaxy.pixelPositions
        needsStar = self.truth.brightStar is not None and detectorId in self.truth.brightStar.pixelPositions
        if needsLsb or needsStar:
            fx, fy = frame.focalPlane()
            use = np.ones(frame.shape, dtype=bool) if valid is None else valid
            if needsLsb:
                self._addLsb(frame, fx, fy, use, residuals)
            if needsStar:
                self._addStar(frame, fx, fy, use, residuals, sigma)

    def _addLsb(
        self,
        frame: PixelFrame,
        fx: np.ndarray,
        fy: np.ndarray,
        use: np.ndarray,
        residuals: dict[str, np.ndarray],
    ) -> None:
        lsb = self.truth.lsbGalaxy
        dx, dy = fx - lsb.x, fy - lsb.y
        q = lsb.metric()
        radius2 = q[0, 0] * dx * dx + 2.0 * q[0, 1] * dx * dy + q[1, 1] * dy * dy
        profile = lsb.evaluate(fx, fy) * frame.pixelArea
        for method, residual in residuals.items():
            sums = self._lsb.setdefault(method, np.zeros((len(self.lsbRadii), 2)))
            for index, radius in enumerate(self.lsbRadii):
                inside = use & (radius2 <= radius * radius)
                sums[index] += (residual[inside].sum(), profile[inside].sum())

    def _addStar(
        self,
        frame: PixelFrame,
        fx: np.ndarray,
        fy: np.ndarray,
        use: np.ndarray,
        residuals: dict[str, np.ndarray],
        sigma: float,
    ) -> None:
        star = self.truth.brightStar
        radius = np.hypot(fx - star.x, fy - star.y) * self.truth.plateScale  # arcsec
        halo = star.evaluateHalo(fx, fy) * frame.pixelArea
        for method, residual in residuals.items():
            sums = self._star.setdefault(method, np.zeros((len(self.starAnnuli), 5)))
            for index, (inner, outer) in enumerate(self.starAnnuli):
                inside = use & (radius >= inner) & (radius < outer)
                r, h = residual[inside].sum(), halo[inside].sum()
                sums[index] += (r / sigma, h / sigma, r, h, inside.sum())

    # Results ------------------------------------------------------------------------------------
    def _factor(self, binSize: int) -> int:
        if binSize % self.baseBinSize:
            raise ValueError(f"bin size {binSize} is not a multiple of the base bin {self.baseBinSize}")
        return binSize // self.baseBinSize

    def binned(self, method: str, binSize: int, minCoverage: float = 0.5) -> BinnedResidual:
        """Statistics of a method's residual in bins of ``binSize`` pixels."""
        _, ix, iy, count, sums = self._entries.arrays(method)
        return binnedResidual(ix, iy, count, sums, self._factor(binSize), binSize, minCoverage)

    def residualMap(self, method: str, binSize: int, minCoverage: float = 0.5) -> ResidualMap:
        """A method's binned residual on the focal-plane grid (for pictures)."""
        assert self._pixelSize is not None
        _, ix, iy, count, sums = self._entries.arrays(method)
        factor = self._factor(binSize)
        _, fix, fiy, counts, totals = _aggregate(ix // factor, iy // factor, count, sums)
        means = np.where(counts >= minCoverage * binSize**2, totals / np.maximum(counts, 1), np.nan)
        x0, y0 = int(fix.min()), int(fiy.min())
        values = np.full((int(fiy.max()) - y0 + 1, int(fix.max()) - x0 + 1), np.nan)
        values[fiy - y0, fix - x0] = means
        side = binSize * self._pixelSize
        extent = (x0 * side, (values.shape[1] + x0) * side, y0 * side, (values.shape[0] + y0) * side)
        return ResidualMap(values, extent, binSize)

    def offsets(self, method: str, **kwargs: Any) -> DetectorOffsets:
        """Detector-to-detector steps of a method's residual (see `detectorOffsets`)."""
        detector, ix, iy, count, sums = self._entries.arrays(method)
        perDetector = self._perDetector[method]
        means = np.array([s / n for s, n in perDetector.values() if n > 0])
        pairs = detectorOffsets(detector, ix, iy, count, sums, self.baseBinSize, **kwargs)
        values = np.array(list(pairs.values()))
        return DetectorOffsets(
            nPairs=len(pairs),
            rms=float(np.sqrt(np.mean(values**2))) if values.size else float("nan"),
            maxAbs=float(np.max(np.abs(values))) if values.size else float("nan"),
            perDetectorRms=float(np.sqrt(np.mean(means**2))) if means.size else float("nan"),
            pairs=pairs,
        )

    def lsbFlux(self, method: str) -> list[LsbFluxResult]:
        """The LSB galaxy's flux kept by a method, per aperture (empty if it reaches no detector)."""
        lsb = self.truth.lsbGalaxy
        if lsb is None or method not in self._lsb:
            return []
        from ...simulation import sersicEnclosedFraction

        results = []
        for radius, (residual, profile) in zip(self.lsbRadii, self._lsb[method], strict=True):
            inside = min(radius, lsb.truncation)
            analytic = lsb.untruncatedFlux * sersicEnclosedFraction(lsb.sersicIndex, inside)
            results.append(
                LsbFluxResult(
                    radius=radius,
                    trueFlux=float(profile),
                    recoveredFlux=float(profile + residual),
                    ratio=float((profile + residual) / profile) if profile > 0 else float("nan"),
                    coverage=float(profile / analytic),
                )
            )
        return results

    def starAnnulusResiduals(self, method: str) -> list[AnnulusResult]:
        """Mean residuals around the bright star, per annulus (empty if it reaches no detector)."""
        if self.truth.brightStar is None or method not in self._star:
            return []
        results = []
        for (inner, outer), (rs, hs, r, h, n) in zip(self.starAnnuli, self._star[method], strict=True):
            results.append(
                AnnulusResult(
                    inner=inner,
                    outer=outer,
                    nPixels=int(n),
                    meanResidual=float(rs / n) if n else float("nan"),
                    meanHalo=float(hs / n) if n else float("nan"),
                    haloFraction=float(r / h) if h > 0 else float("nan"),
                )
            )
        return results

    def metrics(
        self,
        method: str,
        binSizes: Sequence[int] = (64, 256, 1024),
        minCoverage: float = 0.5,
        skyFrameScale: float | None = None,
    ) -> MethodMetrics:
        """Every metric of one method."""
        return MethodMetrics(
            method=method,
            binned=[self.binned(method, size, minCoverage) for size in binSizes],
            lsbFlux=self.lsbFlux(method),
            starAnnuli=self.starAnnulusResiduals(method),
            offsets=self.offsets(method),
            skyFrameScale=skyFrameScale,
        )


def _aggregate(
    ix: np.ndarray, iy: np.ndarray, count: np.ndarray, sums: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sum the entries that share a bin ``(ix, iy)``: keys, ix, iy, counts, sums per bin."""
    pairs = np.stack([ix, iy], axis=1)
    keys, inverse = np.unique(pairs, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    counts = np.bincount(inverse, weights=count, minlength=len(keys))
    totals = np.bincount(inverse, weights=sums, minlength=len(keys))
    return keys, keys[:, 0], keys[:, 1], counts, totals


def binnedResidual(
    ix: np.ndarray,
    iy: np.ndarray,
    count: np.ndarray,
    sums: np.ndarray,
    factor: int,
    binSize: int,
    minCoverage: float = 0.5,
) -> BinnedResidual:
    """Statistics of bin means after merging base bins ``factor x factor`` at a time.

    Parameters
    ----------
    ix, iy : `numpy.ndarray`
        Base-bin indices of each entry (entries may repeat a bin: one per
        detector).
    count, sums : `numpy.ndarray`
        Pixels and summed residual (noise units) of each entry.
    factor : `int`
        Base bins per merged bin along each axis.
    binSize : `int`
        Merged bin side, pixels (for the coverage test and the result).
    minCoverage : `float`
        Fraction of ``binSize²`` pixels a bin needs to count.
    """
    _, _, _, counts, totals = _aggregate(ix // factor, iy // factor, count, sums)
    good = counts >= minCoverage * binSize * binSize
    means = totals[good] / counts[good]
    if means.size == 0:
        return BinnedResidual(binSize, 0, float("nan"), float("nan"), float("nan"))
    return BinnedResidual(
        binSize=binSize,
        nBins=int(means.size),
        rms=float(np.sqrt(np.mean(means**2))),
        mean=float(np.mean(means)),
        maxAbs=float(np.max(np.abs(means))),
    )


def detectorOffsets(
    detector: np.ndarray,
    ix: np.ndarray,
    iy: np.ndarray,
    count: np.ndarray,
    sums: np.ndarray,
    binSize: int,
    minCoverage: float = 0.5,
    edgeWidth: int = 128,
    maxSeparation: float = 256.0,
    minPairs: int = 4,
) -> dict[str, float]:
    """Mean residual differences between neighbouring detectors along their facing edges.

    Each detector's bins (of ``binSize`` pixels) with at least
    ``minCoverage`` of their pixels on it and within ``edgeWidth`` pixels of
    its edge (a bin whose neighbourhood of ``edgeWidth // binSize`` bins,
    at least one, is not all on the detector) are paired with the edge bins
    of other detectors at most ``maxSeparation`` pixels away (centre to
    centre).  Two detectors with at least ``minPairs`` such pairs are
    neighbours; their offset is the mean over the pairs of
    ``mean(a) - mean(b)``.

    Returns
    -------
    offsets : `dict` [`str`, `float`]
        ``"a-b"`` (``a < b``) to the offset, in the units of ``sums``.
    """
    good = count >= minCoverage * binSize * binSize
    detector, ix, iy = detector[good], ix[good], iy[good]
    means = sums[good] / count[good]
    edge = np.zeros(detector.size, dtype=bool)
    edgeBins = max(edgeWidth // binSize, 1)
    for detectorId in np.unique(detector):
        mine = np.flatnonzero(detector == detectorId)
        x0, y0 = ix[mine].min(), iy[mine].min()
        occupied = np.zeros((iy[mine].max() - y0 + 1, ix[mine].max() - x0 + 1), dtype=bool)
        occupied[iy[mine] - y0, ix[mine] - x0] = True
        structure = np.ones((2 * edgeBins + 1, 2 * edgeBins + 1), dtype=bool)
        interior = ndimage.binary_erosion(occupied, structure, border_value=0)
        edge[mine] = ~interior[iy[mine] - y0, ix[mine] - x0]
    where = np.flatnonzero(edge)
    if where.size < 2:
        return {}
    tree = spatial.cKDTree(np.stack([ix[where], iy[where]], axis=1).astype(np.float64))
    pairs = tree.query_pairs(maxSeparation / binSize, output_type="ndarray")
    if pairs.size == 0:
        return {}
    first, second = where[pairs[:, 0]], where[pairs[:, 1]]
    across = detector[first] != detector[second]
    first, second = first[across], second[across]
    # Order each pair so that the lower detector id comes first.
    swap = detector[first] > detector[second]
    first, second = np.where(swap, second, first), np.where(swap, first, second)
    difference = means[first] - means[second]
    pairKeys = np.stack([detector[first], detector[second]], axis=1)
    keys, inverse = np.unique(pairKeys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    number = np.bincount(inverse, minlength=len(keys))
    total = np.bincount(inverse, weights=difference, minlength=len(keys))
    return {
        f"{int(a)}-{int(b)}": float(t / n)
        for (a, b), n, t in zip(keys, number, total, strict=True)
        if n >= minPairs
    }
