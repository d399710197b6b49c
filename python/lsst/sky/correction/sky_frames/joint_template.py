"""A sky-frame template fitted jointly across exposures (pure numpy).

Per exposure ``e`` and bin ``b`` (bins of every detector, concatenated)::

    z[e, b] = a[e] * T[b] + P_e(x_b, y_b) + p[e, d_b]

``T`` is the template (the sky frame), ``a`` a per-exposure amplitude,
``P_e`` a low-order smooth focal-plane background (any basis, given as a
``(bins, terms)`` design matrix; the tasks use 2-d Chebyshev polynomials)
and ``p[e, d]`` a per-exposure piston of each detector.

What the data cannot tell apart, and the conventions that fix it:

- ``T + smooth`` trades with ``P_e - a[e] * smooth``: ``T`` is kept
  orthogonal to the smooth basis (unweighted, over the bins where ``T`` is
  determined).  ``T`` is *not* made orthogonal to the pistons.
- ``T + piston q_d`` trades with ``p[e, d] - a[e] * q_d``: each detector's
  pistons are kept orthogonal, across exposures, to the amplitudes
  (``sum_e a[e] p[e, d] = 0``).  So a detector offset proportional to the sky
  lives in ``T``, and additive offsets that do not follow the amplitudes live
  in ``p``; an additive offset correlated with the amplitudes cannot be told
  from a sky-proportional one and goes, in that proportion, to ``T``.
- The constant of ``P_e`` trades with the pistons: each exposure's pistons
  sum to zero over bins (``sum_b p[e, d_b] = 0``).
- ``a * s``, ``T / s``: the accepted exposures' amplitudes average 1, so
  ``T`` is in units of the mean input level (inputs divided by each visit's
  sky level give ``a`` near 1).

The fit: DES's rank-1 start (the median of the level-normalised images, each
first cleared of its own smooth background and pistons, and each exposure's
amplitude on it; not the leading singular vector, which one exposure with a
strong pattern of its own would capture), then a clip of outlier bins
against that start, and rounds of alternating least squares (the nuisance
terms, ``P_e`` and pistons, per exposure; the amplitudes; the template; the
conventions above) run to convergence with the bins kept, each followed by a
new clip, until the kept bins no longer change.  The clip is at ``clip``
robust sigmas of the fractional residuals of all exposures pooled, and
judges every finite bin, so a bin clipped early can come back.  Missing
(NaN) bins have weight 0 throughout.  Exposures whose fractional residual RMS
(the interquartile-range sigma of the residuals over the exposure's median
level, over all its finite bins, clipped or not) exceeds ``rejectRms`` are
dropped and the fit is redone without them, until none is rejected (at most
``maxRejectRounds`` refits).

Memory is a few ``(exposures, bins)`` float64 arrays; every step is
vectorised over bins (the Python loops are over iterations and exposures).
"""

from __future__ import annotations

__all__ = ["JointTemplateResult", "fitJointTemplate"]

from dataclasses import dataclass

import numpy as np

#: Gaussian sigma per interquartile range.
_IQR_TO_SIGMA = 0.741301109252802


@dataclass
class JointTemplateResult:
    """A joint template fit.

    Attributes
    ----------
    template : `numpy.ndarray`
        ``T`` per bin; NaN where no accepted exposure has a kept value.
    amplitudes : `numpy.ndarray`
        ``a`` per exposure (NaN for rejected exposures).
    smoothCoefficients : `numpy.ndarray`
        ``(exposures, terms)`` coefficients of ``P_e`` (NaN rows for rejected
        exposures).
    pistons : `numpy.ndarray`
        ``(exposures, detectors)`` pistons (NaN rows for rejected exposures).
    fractionalRms : `numpy.ndarray`
        Each exposure's residual RMS over its median level, from the last fit
        that included it (NaN for an exposure with no finite bin).
    rejected : `numpy.ndarray`
        Boolean per exposure: left out of the template.
    kept : `numpy.ndarray`
        ``(exposures, bins)`` boolean: the bins the final fit used.
    iterations : `int`
        Alternating least-squares iterations of the final fit (all clipping
        rounds).
    """

    template: np.ndarray
    amplitudes: np.ndarray
    smoothCoefficients: np.ndarray
    pistons: np.ndarray
    fractionalRms: np.ndarray
    rejected: np.ndarray
    kept: np.ndarray
    iterations: int

    def model(self, smoothDesign: np.ndarray, detectorIndex: np.ndarray) -> np.ndarray:
        """The fitted ``(exposures, bins)`` values (NaN rows for rejected exposures)."""
        return (
            self.amplitudes[:, None] * self.template[None, :]
            + self.smoothCoefficients @ smoothDesign.T
            + self.pistons[:, detectorIndex]
        )


def _rowMedians(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Median of each row's weighted entries (NaN for a row with none)."""
    masked = np.where(weights > 0, values, np.nan)
    out = np.full(values.shape[0], np.nan)
    has = (weights > 0).any(axis=1)
    out[has] = np.nanmedian(masked[has], axis=1)
    return out


def _robustSigmas(residuals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per row, the interquartile-range sigma of the weighted residuals (NaN for a row with none)."""
    masked = np.where(weights > 0, residuals, np.nan)
    out = np.full(residuals.shape[0], np.nan)
    has = (weights > 0).any(axis=1)
    quartiles = np.nanpercentile(masked[has], [25.0, 75.0], axis=1)
    out[has] = _IQR_TO_SIGMA * (quartiles[1] - quartiles[0])
    return out


def _pooledSigma(residuals: np.ndarray, weights: np.ndarray) -> float:
    """The interquartile-range sigma of all weighted residuals together."""
    quartiles = np.percentile(residuals[weights > 0], [25.0, 75.0])
    return float(_IQR_TO_SIGMA * (quartiles[1] - quartiles[0]))


def _fitNuisance(
    residuals: np.ndarray,
    weights: np.ndarray,
    smoothDesign: np.ndarray,
    detectorIndex: np.ndarray,
    nDetectors: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per exposure, the smooth background and pistons fitted to ``residuals``.

    The pistons are eliminated: within each detector the residuals and the
    basis are taken relative to their weighted detector means, the
    non-constant terms are fitted to those, and each piston is the weighted
    mean of what is left on its detector.  The constant term is set by the
    zero-sum convention on the pistons.
    """
    nExposures, nTerms = residuals.shape[0], smoothDesign.shape[1]
    coefficients = np.zeros((nExposures, nTerms))
    pistons = np.zeros((nExposures, nDetectors))
    # The constant column: the one whose values are all equal (term 0 of the Chebyshev basis).
    isConstant = np.all(smoothDesign == smoothDesign[:1], axis=0)
    varying = np.flatnonzero(~isConstant)
    for e in range(nExposures):
        w = weights[e]
        r = np.where(w > 0, residuals[e], 0.0)
        wSum = np.bincount(detectorIndex, weights=w, minlength=nDetectors)
        safe = np.where(wSum > 0, wSum, 1.0)
        rMean = np.bincount(detectorIndex, weights=w * r, minlength=nDetectors) / safe
        phi = smoothDesign[:, varying]
        phiMean = (
            np.stack(
                [np.bincount(detectorIndex, weights=w * column, minlength=nDetectors) for column in phi.T],
                axis=1,
            )
            / safe[:, None]
        )
        sw = np.sqrt(w)
        phiTilde = (phi - phiMean[detectorIndex]) * sw[:, None]
        rTilde = (r - rMean[detectorIndex]) * sw
        if varying.size:
            coefficients[e, varying] = np.linalg.lstsq(phiTilde, rTilde, rcond=None)[0]
        left = r - smoothDesign @ coefficients[e]
        pistons[e] = np.bincount(detectorIndex, weights=w * left, minlength=nDetectors) / safe
    return coefficients, pistons


def _rank1Start(
    values: np.ndarray,
    weights: np.ndarray,
    levels: np.ndarray,
    smoothDesign: np.ndarray,
    detectorIndex: np.ndarray,
    nDetectors: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """DES's rank-1 start: a median image, and each exposure's amplitude on it.

    Each exposure's own smooth background and pistons are fitted and removed
    first (the sky-proportional detector offsets this removes come back into
    the template through the piston convention), the rest divided by the
    exposure's level, and the median taken over exposures.  A median rather
    than the leading singular vector: one exposure with a strong pattern of
    its own would capture the singular vector (the least-squares rank-1 fit)
    but not the median.
    """
    z = np.where(weights > 0, values, 0.0)
    coefficients, pistons = _fitNuisance(z, weights, smoothDesign, detectorIndex, nDetectors)
    cleaned = z - coefficients @ smoothDesign.T - pistons[:, detectorIndex]
    masked = np.where(weights > 0, cleaned, np.nan)
    template = np.zeros(values.shape[1])
    has = (weights > 0).any(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        template[has] = np.nanmedian(masked[:, has] / levels[:, None], axis=0)
    template = np.where(np.isfinite(template), template, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        amplitudes = ((weights * cleaned) @ template) / (weights @ template**2)
    return np.where(np.isfinite(amplitudes), amplitudes, 0.0), template, coefficients, pistons


def _applyConventions(
    amplitudes: np.ndarray,
    template: np.ndarray,
    coefficients: np.ndarray,
    pistons: np.ndarray,
    smoothDesign: np.ndarray,
    detectorIndex: np.ndarray,
    active: np.ndarray,
) -> None:
    """Move the fit, without changing its model, onto the module's conventions (in place)."""
    nDetectors = pistons.shape[1]
    binsPerDetector = np.bincount(detectorIndex, minlength=nDetectors).astype(np.float64)
    isConstant = np.all(smoothDesign == smoothDesign[:1], axis=0)
    constantTerm = int(np.flatnonzero(isConstant)[0]) if isConstant.any() else None
    # Pistons sum to zero over bins; their mean goes to the constant term.
    if constantTerm is not None:
        mean = (pistons @ binsPerDetector) / binsPerDetector.sum()
        pistons -= mean[:, None]
        coefficients[:, constantTerm] += mean / smoothDesign[0, constantTerm]
    # Each detector's pistons orthogonal to the amplitudes (over the exposures fitted); the part that
    # follows the amplitudes is a sky-proportional offset and goes to the template.
    a = np.where(active, amplitudes, 0.0)
    follow = (a @ pistons) / (a @ a)
    pistons -= amplitudes[:, None] * follow[None, :]
    template += follow[detectorIndex]
    # The template orthogonal to the smooth basis; what it loses goes to each P_e.
    determined = np.isfinite(template)
    projection = np.linalg.lstsq(smoothDesign[determined], template[determined], rcond=None)[0]
    template -= smoothDesign @ projection
    coefficients += amplitudes[:, None] * projection[None, :]
    # The amplitudes average 1.
    meanAmplitude = float(np.mean(amplitudes[active]))
    amplitudes /= meanAmplitude
    template *= meanAmplitude


def _modelOf(
    amplitudes: np.ndarray,
    template: np.ndarray,
    coefficients: np.ndarray,
    pistons: np.ndarray,
    smoothDesign: np.ndarray,
    detectorIndex: np.ndarray,
) -> np.ndarray:
    """The ``(exposures, bins)`` model (a bin with no template counts its template as 0)."""
    return (
        amplitudes[:, None] * np.where(np.isfinite(template), template, 0.0)[None, :]
        + coefficients @ smoothDesign.T
        + pistons[:, detectorIndex]
    )


def _clipMask(
    values: np.ndarray,
    model: np.ndarray,
    finite: np.ndarray,
    weights: np.ndarray,
    levels: np.ndarray,
    clip: float,
) -> np.ndarray:
    """The finite bins within ``clip`` pooled robust sigmas of the model (fractional residuals).

    One sigma for all exposures: an exposure with a pattern of its own is
    clipped where it departs, rather than judged against its own large
    scatter.  A floor of 1e-9, so that noise-free data are not clipped on
    rounding errors.  Every finite bin is judged, so a bin clipped against an
    earlier model can come back.
    """
    fractional = np.where(finite, values - model, np.nan) / levels[:, None]
    sigma = max(_pooledSigma(fractional, weights), 1e-9)
    with np.errstate(invalid="ignore"):
        return finite & (np.abs(fractional) <= clip * sigma)


def _fitOnce(
    values: np.ndarray,
    finite: np.ndarray,
    smoothDesign: np.ndarray,
    detectorIndex: np.ndarray,
    nDetectors: int,
    clip: float,
    clipRounds: int,
    nIter: int,
    tolerance: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """One fit: the start, clipped against; then rounds of ALS to convergence, each followed by a clip."""
    active = finite.any(axis=1)
    z = np.where(finite, values, 0.0)
    levels = np.abs(_rowMedians(values, finite.astype(np.float64)))
    amplitudes, template, coefficients, pistons = _rank1Start(
        values, finite.astype(np.float64), levels, smoothDesign, detectorIndex, nDetectors
    )
    model = _modelOf(amplitudes, template, coefficients, pistons, smoothDesign, detectorIndex)
    keep = _clipMask(values, model, finite, finite.astype(np.float64), levels, clip)
    iterations = 0
    for _ in range(clipRounds):
        weights = keep.astype(np.float64)
        for _ in range(nIter):
            iterations += 1
            previous = template.copy()
            # A bin whose every value is clipped has no template; it counts as 0 until it comes back.
            filled = np.where(np.isfinite(template), template, 0.0)
            coefficients, pistons = _fitNuisance(
                z - amplitudes[:, None] * filled[None, :], weights, smoothDesign, detectorIndex, nDetectors
            )
            cleaned = z - coefficients @ smoothDesign.T - pistons[:, detectorIndex]
            with np.errstate(invalid="ignore", divide="ignore"):
                amplitudes = np.where(
                    active, ((weights * cleaned) @ filled) / np.maximum(weights @ filled**2, 1e-300), 0.0
                )
                template = (amplitudes @ (weights * cleaned)) / (amplitudes**2 @ weights)
            _applyConventions(
                amplitudes, template, coefficients, pistons, smoothDesign, detectorIndex, active
            )
            both = np.isfinite(template) & np.isfinite(previous)
            change = np.max(np.abs(template[both] - previous[both]), initial=0.0)
            if change <= tolerance * max(np.max(np.abs(template[both]), initial=0.0), 1e-300):
                break
        model = _modelOf(amplitudes, template, coefficients, pistons, smoothDesign, detectorIndex)
        newKeep = _clipMask(values, model, finite, weights, levels, clip)
        if np.array_equal(newKeep, keep):
            break
        keep = newKeep
    return amplitudes, template, coefficients, pistons, keep, iterations


def fitJointTemplate(
    values: np.ndarray,
    smoothDesign: np.ndarray,
    detectorIndex: np.ndarray,
    *,
    clip: float = 4.0,
    clipRounds: int = 4,
    nIter: int = 50,
    tolerance: float = 1e-10,
    rejectRms: float = 0.005,
    maxRejectRounds: int = 5,
) -> JointTemplateResult:
    """Fit ``z[e, b] = a[e] T[b] + P_e(b) + p[e, d_b]`` with outlier and exposure rejection.

    Parameters
    ----------
    values : `numpy.ndarray`
        ``(exposures, bins)`` binned images (NaN: missing).
    smoothDesign : `numpy.ndarray`
        ``(bins, terms)`` smooth focal-plane basis at the bins; one column
        must be constant (it carries each exposure's mean level).
    detectorIndex : `numpy.ndarray`
        Detector (``0 .. detectors - 1``) of each bin.
    clip : `float`
        Bins whose fractional residual is further than ``clip`` robust
        sigmas (of all exposures' pooled) from the model are left out of the
        next iteration.
    clipRounds : `int`
        Most clipping rounds (each after the alternating least squares has
        converged with the bins kept by the previous clip; the first clip is
        against the start).
    nIter : `int`
        Most alternating least-squares iterations per clipping round.
    tolerance : `float`
        Stop when the template changes by at most this fraction of its
        largest value.
    rejectRms : `float`
        Exposures whose fractional residual RMS (robust: interquartile-range
        sigma over all finite bins) exceeds this are rejected (DES's
        ``reject_rms``).
    maxRejectRounds : `int`
        Most refits after rejections.

    Returns
    -------
    result : `JointTemplateResult`

    Raises
    ------
    ValueError
        On inconsistent shapes, no constant basis column, or fewer than two
        exposures left to fit.
    """
    values = np.asarray(values, dtype=np.float64)
    smoothDesign = np.asarray(smoothDesign, dtype=np.float64)
    detectorIndex = np.asarray(detectorIndex, dtype=np.intp)
    if values.ndim != 2:
        raise ValueError(f"values must be (exposures, bins), got shape {values.shape}")
    nExposures, nBins = values.shape
    if smoothDesign.shape[0] != nBins or detectorIndex.shape != (nBins,):
        raise ValueError(
            f"{nBins} bins, but a smooth design of {smoothDesign.shape} and "
            f"{detectorIndex.shape} detector indices"
        )
    if not np.all(smoothDesign == smoothDesign[:1], axis=0).any():
        raise ValueError("the smooth basis needs a constant column")
    if detectorIndex.size and detectorIndex.min() < 0:
        raise ValueError("detector indices must be >= 0")
    nDetectors = int(detectorIndex.max()) + 1 if detectorIndex.size else 0
    finite = np.isfinite(values)
    rejected = ~finite.any(axis=1)
    fractionalRms = np.full(nExposures, np.nan)
    for _ in range(maxRejectRounds + 1):
        use = ~rejected
        if use.sum() < 2:
            raise ValueError(f"{int(use.sum())} exposure(s) left to fit: a joint template needs two or more")
        amplitudes, template, coefficients, pistons, kept, iterations = _fitOnce(
            values[use],
            finite[use],
            smoothDesign,
            detectorIndex,
            nDetectors,
            clip,
            clipRounds,
            nIter,
            tolerance,
        )
        model = _modelOf(amplitudes, template, coefficients, pistons, smoothDesign, detectorIndex)
        # The robust scatter of every finite bin, kept or clipped: a pattern of the exposure's own
        # counts in full, a few outlier bins do not.
        levels = np.abs(_rowMedians(values[use], finite[use].astype(np.float64)))
        rms = _robustSigmas((values[use] - model) / levels[:, None], finite[use].astype(np.float64))
        fractionalRms[use] = rms
        newlyRejected = ~(rms <= rejectRms)
        if not newlyRejected.any():
            break
        rejected[np.flatnonzero(use)[newlyRejected]] = True
    allAmplitudes = np.full(nExposures, np.nan)
    allCoefficients = np.full((nExposures, smoothDesign.shape[1]), np.nan)
    allPistons = np.full((nExposures, nDetectors), np.nan)
    allKept = np.zeros((nExposures, nBins), dtype=bool)
    allAmplitudes[use] = amplitudes
    allCoefficients[use] = coefficients
    allPistons[use] = pistons
    allKept[use] = kept
    return JointTemplateResult(
        template=template,
        amplitudes=allAmplitudes,
        smoothCoefficients=allCoefficients,
        pistons=allPistons,
        fractionalRms=fractionalRms,
        rejected=~use,
        kept=allKept,
        iterations=iterations,
    )
