"""Threshold a smoothed image and mask what is above it.

This is the part of ``lsst.meas.algorithms.SourceDetectionTask`` that sky
correction uses: ``detectFootprints`` with an explicit Gaussian ``sigma``
(no PSF), no background re-estimation and no temporary local or wide
backgrounds.  The config keeps meas_algorithms' field names and defaults.

What afw does with Footprint objects is done here on whole arrays and on
masks held as row runs:

* smoothing: a separable, normalised Gaussian correlation (x first, then y,
  as afw's ``basicConvolve`` for a ``SeparableKernel``); the variance is
  correlated with the squared kernel.  Only the "middle", where the kernel
  fits inside the image, is computed and searched (`smoothImage`,
  `smoothVariance`).
* footprints: 8-connected regions of pixels at or above the threshold
  (afw's ``FootprintSet`` compares with ``>=``), found as the row runs of
  the threshold test with compiled kernels (`._runs`): one sweep finds the
  runs with their peaks, a union-find over touching runs joins them into
  footprints.
* growing: a dilation of those runs by afw's ``CIRCLE`` or ``MANHATTAN``
  stencil (`stencilHalfWidths`); with ``combinedGrow`` the grown runs are
  joined again to count the merged footprints.
"""

from __future__ import annotations

__all__ = [
    "Footprints",
    "SmoothedPlanes",
    "SourceDetectionConfig",
    "SourceDetectionTask",
    "calculateKernelSize",
    "dilateMask",
    "gaussianKernel",
    "smoothImage",
    "smoothVariance",
    "stencilHalfWidths",
]

import dataclasses
from dataclasses import dataclass

import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase

from ._dilation import dilateMask, stencilHalfWidths
from ._runs import RowRuns, growRuns, orRuns, paintRuns, runComponents, runsOfMask, thresholdRuns
from ._smoothing import calculateKernelSize, gaussianKernel, smoothImage, smoothVariance
from .afwlite import math as afwMath
from .afwlite.geom import Box2I, Extent2I
from .afwlite.image import ExposureF, Mask, MaskedImageF
from .errors import describeExposure
from .subtract_background import SubtractBackgroundConfig, SubtractBackgroundTask

_UNSUPPORTED_FLAGS = ("reEstimateBackground", "doTempLocalBackground", "doTempWideBackground")


# Footprints -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Footprints:
    """Detected footprints of one polarity, as a pixel mask plus counts.

    Attributes
    ----------
    mask : `numpy.ndarray`
        Boolean array over ``region``: the pixels of all footprints (grown,
        unless ``returnOriginalFootprints``).
    region : `Box2I`
        PARENT bounding box of ``mask`` (the exposure's box).
    numFootprints : `int`
        Number of footprints (after merging, with ``combinedGrow``).
    numPeaks : `int`
        Number of peaks, as afw counts them: local maxima (no 8-neighbour
        strictly brighter, one pixel away from the searched area's border)
        in each footprint, at least one per footprint.
    """

    mask: np.ndarray
    region: Box2I
    numFootprints: int
    numPeaks: int

    def __len__(self) -> int:
        return self.numFootprints

    def getRegion(self) -> Box2I:
        return Box2I(self.region)


@dataclass(frozen=True)
class SmoothedPlanes:
    """An image (and its variance) smoothed once, to detect on it again after a smooth change.

    Smoothing is linear, so after subtracting a further background ``delta``
    from the image its smoothed middle is ``image - smooth(delta)``; for a
    background that varies over hundreds of pixels ``smooth(delta)`` equals
    ``delta`` to far below the noise (the Gaussian changes a smooth function
    by about ``sigma**2 / 2`` times its Laplacian), which `minus` uses.
    `MaskObjectsTask.findObjects` smooths once per exposure this way instead
    of once per pass.

    Attributes
    ----------
    image : `numpy.ndarray`
        float32 smoothed image over the valid middle (`smoothImage`).
    variance : `numpy.ndarray` or `None`
        float32 smoothed variance over the same pixels (`smoothVariance`),
        when the threshold type needs it.
    sigma : `float`
        Gaussian sigma of the smoothing, in pixels.
    half : `int`
        Half-width of the kernel: the middle starts ``half`` pixels in.
    """

    image: np.ndarray
    variance: np.ndarray | None
    sigma: float
    half: int

    def minus(self, delta: np.ndarray) -> SmoothedPlanes:
        """The planes after subtracting a smooth full-size ``delta`` from the image.

        Parameters
        ----------
        delta : `numpy.ndarray`
            The change, over the whole (unsmoothed) image; it must vary
            slowly on the scale of ``sigma``.

        Returns
        -------
        planes : `SmoothedPlanes`
            New planes; the variance is shared (a background is exact).
        """
        height, width = self.image.shape
        middle = delta[self.half : self.half + height, self.half : self.half + width]
        if middle.shape != self.image.shape:
            raise ValueError(
                f"a {delta.shape[1]}x{delta.shape[0]} change does not fit a smoothed image of "
                f"{width}x{height} pixels with a {2 * self.half + 1}-pixel kernel"
            )
        return dataclasses.replace(self, image=np.subtract(self.image, middle, dtype=np.float32))


@dataclass(frozen=True)
class _Smoothed:
    """The searched part of the (smoothed) image."""

    image: np.ndarray  # float32 over `bbox`
    variance: np.ndarray | None  # float32 over `bbox`; only thresholdType="pixel_stdev" needs it
    bbox: Box2I  # PARENT box of the searched part
    statsBad: np.ndarray | None  # statsMask bits of the smoothed mask, for thresholdType="stdev"


@dataclass(frozen=True)
class _Found:
    """Footprints of one polarity before growing: their runs over the searched box."""

    runs: RowRuns  # rows and columns of `bbox`
    count: int
    numPeaks: int
    bbox: Box2I  # PARENT box of `runs`
    region: Box2I  # PARENT box of the whole image

    def fullRuns(self) -> RowRuns:
        """The footprint runs in the rows and columns of `region`."""
        return self.runs.shifted(
            self.bbox.getMinY() - self.region.getMinY(),
            self.bbox.getMinX() - self.region.getMinX(),
            self.region.getHeight(),
        )


def _keptFootprints(
    runs: RowRuns, included: np.ndarray, peaks: np.ndarray, minPixels: int
) -> tuple[RowRuns, int, int]:
    """Join runs into 8-connected footprints and keep those with >= minPixels pixels and an included run.

    Returns the kept runs, the number of kept footprints and their peaks
    (afw's count: the runs' peaks, at least one per footprint).
    """
    component, count = runComponents(runs)
    if count == 0:
        return runs, 0, 0
    pixels = np.bincount(component, weights=runs.x1 - runs.x0 + 1, minlength=count)
    keep = (pixels >= minPixels) & (np.bincount(component, weights=included, minlength=count) > 0)
    perFootprint = np.bincount(component, weights=peaks, minlength=count).astype(np.int64)
    numPeaks = int(np.maximum(perFootprint[keep], 1).sum())
    if keep.all():
        return runs, count, numPeaks
    return runs.select(keep[component]), int(keep.sum()), numPeaks


# Config and task ------------------------------------------------------------------------------------
class SourceDetectionConfig(pexConfig.Config):
    """Config for `SourceDetectionTask` (meas_algorithms' fields and defaults).

    ``reEstimateBackground``, ``doTempLocalBackground`` and
    ``doTempWideBackground`` exist so that stack configs load; this subset
    raises `NotImplementedError` from ``detectFootprints`` when any is set
    (`MaskObjectsConfig` turns them off).
    """

    minPixels = pexConfig.RangeField(
        doc="Detected sources with fewer than the specified number of pixels will be ignored.",
        dtype=int,
        optional=False,
        default=1,
        min=0,
    )
    isotropicGrow = pexConfig.Field[bool](
        doc="Grow pixels as isotropically as possible (a circle rather than a Manhattan diamond).",
        dtype=bool,
        optional=False,
        default=True,
    )
    combinedGrow = pexConfig.Field[bool](
        doc="Grow all footprints at the same time? This allows disconnected footprints to merge.",
        dtype=bool,
        default=True,
    )
    nSigmaToGrow = pexConfig.Field[float](
        doc="Grow detections by nSigmaToGrow * [PSF RMS width]; if 0 then do not grow.",
        dtype=float,
        default=2.4,
    )
    returnOriginalFootprints = pexConfig.Field[bool](
        doc="Grow detections to set the image mask bits, but return the original (not-grown) footprints.",
        dtype=bool,
        optional=False,
        default=False,
    )
    thresholdValue = pexConfig.RangeField(
        doc="Threshold for footprints; exact meaning and units depend on thresholdType.",
        dtype=float,
        optional=False,
        default=5.0,
        min=0.0,
    )
    includeThresholdMultiplier = pexConfig.RangeField(
        doc="Footprints are kept only if they have a pixel above thresholdValue times this multiplier.",
        dtype=float,
        default=1.0,
        min=0.0,
    )
    thresholdType = pexConfig.ChoiceField[str](
        doc="Specifies the desired flavor of Threshold.",
        dtype=str,
        optional=False,
        default="pixel_stdev",
        allowed={
            "variance": "threshold applied to image variance",
            "stdev": "threshold applied to image std deviation",
            "value": "threshold applied to image value",
            "pixel_stdev": "threshold applied to per-pixel std deviation",
        },
    )
    thresholdPolarity = pexConfig.ChoiceField[str](
        doc="Specifies whether to detect positive, or negative sources, or both.",
        dtype=str,
        optional=False,
        default="positive",
        allowed={
            "positive": "detect only positive sources",
            "negative": "detect only negative sources",
            "both": "detect both positive and negative sources",
        },
    )
    adjustBackground = pexConfig.Field[float](
        dtype=float,
        doc="Fiddle factor to add to the background; debugging only (used with reEstimateBackground).",
        default=0.0,
    )
    reEstimateBackground = pexConfig.Field[bool](
        dtype=bool,
        doc="Estimate the background again after final source detection? (not supported here)",
        default=True,
        optional=False,
    )
    background = pexConfig.ConfigurableField[SubtractBackgroundConfig](
        doc="Background re-estimation; ignored if reEstimateBackground false.",
        target=SubtractBackgroundTask,
    )
    tempLocalBackground = pexConfig.ConfigurableField[SubtractBackgroundConfig](
        doc=(
            "A local (small-scale), temporary background estimation step run between detecting "
            "above-threshold regions and detecting the peaks within them (not supported here)."
        ),
        target=SubtractBackgroundTask,
    )
    doTempLocalBackground = pexConfig.Field[bool](
        dtype=bool,
        doc="Enable temporary local background subtraction? (not supported here)",
        default=True,
    )
    tempWideBackground = pexConfig.ConfigurableField[SubtractBackgroundConfig](
        doc=(
            "A wide (large-scale) background estimation and removal before footprint and peak "
            "detection, restored afterwards (not supported here)."
        ),
        target=SubtractBackgroundTask,
    )
    doTempWideBackground = pexConfig.Field[bool](
        dtype=bool,
        doc="Do temporary wide (large-scale) background subtraction before footprint detection? "
        "(not supported here)",
        default=False,
    )
    nPeaksMaxSimple = pexConfig.Field[int](
        dtype=int,
        doc="The maximum number of peaks in a Footprint before trying to replace its peaks using the "
        "temporary local background.",
        default=1,
    )
    nSigmaForKernel = pexConfig.Field[float](
        dtype=float,
        doc="Multiple of PSF RMS size to use for the convolution kernel bounding box size; this is the "
        "full width, rounded up to the nearest odd integer.",
        default=7.0,
    )
    statsMask = pexConfig.ListField[str](
        dtype=str,
        doc="Mask planes to ignore when calculating statistics of the image (for thresholdType=stdev).",
        default=["BAD", "SAT", "EDGE", "NO_DATA"],
    )

    def setDefaults(self) -> None:
        self.tempLocalBackground.binSize = 64
        self.tempLocalBackground.algorithm = "AKIMA_SPLINE"
        self.tempLocalBackground.useApprox = False
        self.tempWideBackground.binSize = 512
        self.tempWideBackground.algorithm = "AKIMA_SPLINE"
        self.tempWideBackground.useApprox = False
        # The wide background must be able to remove bright, detected scattered light.
        for maskPlane in ("DETECTED", "DETECTED_NEGATIVE"):
            if maskPlane in self.tempWideBackground.ignoredPixelMask:
                self.tempWideBackground.ignoredPixelMask.remove(maskPlane)


class SourceDetectionTask(pipeBase.Task):
    """Detect positive and/or negative footprints on a smoothed exposure.

    Only `detectFootprints` is provided (no source catalog).  Smoothing uses
    a Gaussian of the ``sigma`` the caller gives; there is no PSF support.

    Parameters
    ----------
    schema : `object`, optional
        Accepted for call compatibility with meas_algorithms and ignored
        (no catalog is made).
    **kwargs
        Passed to `lsst.pipe.base.Task`.
    """

    ConfigClass = SourceDetectionConfig
    config: SourceDetectionConfig
    _DefaultName = "sourceDetection"

    def __init__(self, schema: object | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]

    # Steps, in meas_algorithms' order ------------------------------------------------------------
    @staticmethod
    def clearMask(mask: Mask) -> None:
        """Clear the DETECTED and DETECTED_NEGATIVE planes (adding them if the mask lacks them)."""
        bits = (1 << mask.addMaskPlane("DETECTED")) | (1 << mask.addMaskPlane("DETECTED_NEGATIVE"))
        mask &= ~bits

    def calculateKernelSize(self, sigma: float) -> int:
        """Full width of the smoothing kernel for ``sigma`` (odd; ``config.nSigmaForKernel`` sigmas)."""
        return calculateKernelSize(sigma, self.config.nSigmaForKernel)

    def smoothPlanes(self, maskedImage: MaskedImageF, sigma: float) -> SmoothedPlanes:
        """Smooth the image (and, for ``pixel_stdev``, the variance) with a Gaussian of ``sigma``.

        Parameters
        ----------
        maskedImage : `MaskedImageF`
            The image; not modified.
        sigma : `float`
            Gaussian sigma of the smoothing kernel, in pixels.

        Returns
        -------
        planes : `SmoothedPlanes`
            The valid middle of the smoothed planes.
        """
        width = self.calculateKernelSize(sigma)
        kernel = gaussianKernel(sigma, width)
        middleImage = smoothImage(maskedImage.image.array, kernel)
        # Smoothing the variance costs as much as the image; skip it when unused.
        usesVariance = self.config.thresholdType == "pixel_stdev"
        middleVariance = smoothVariance(maskedImage.variance.array, kernel) if usesVariance else None
        return SmoothedPlanes(middleImage, middleVariance, sigma, width // 2)

    def convolveImage(
        self,
        maskedImage: MaskedImageF,
        sigma: float,
        doSmooth: bool = True,
        smoothed: SmoothedPlanes | None = None,
    ) -> _Smoothed:
        """Smooth the image and variance and mark the unsearchable border as EDGE.

        Parameters
        ----------
        maskedImage : `MaskedImageF`
            The image; its mask gets EDGE outside the searched middle.
        sigma : `float`
            Gaussian sigma of the smoothing kernel, in pixels.
        doSmooth : `bool`
            Smooth at all?  If not, the whole image is searched as it is.
        smoothed : `SmoothedPlanes`, optional
            The image already smoothed with ``sigma`` (`smoothPlanes`);
            used instead of smoothing again.

        Returns
        -------
        smoothed : `_Smoothed`
            The searched pixels (float32 image and variance) and their box.
        """
        self.metadata["doSmooth"] = doSmooth
        self.metadata["sigma"] = sigma
        image, variance = maskedImage.image.array, maskedImage.variance.array
        if not doSmooth:
            statsBad = self._statsBad(maskedImage.mask, 0)
            return _Smoothed(image, variance, maskedImage.getBBox(), statsBad)

        width = self.calculateKernelSize(sigma)
        self.metadata["smoothingKernelWidth"] = width
        half = width // 2
        if smoothed is None:
            smoothed = self.smoothPlanes(maskedImage, sigma)
        elif smoothed.sigma != sigma or smoothed.half != half:
            raise ValueError(
                f"the image was smoothed with sigma={smoothed.sigma} ({2 * smoothed.half + 1}-pixel "
                f"kernel), detection asks for sigma={sigma} ({width}-pixel kernel)"
            )
        expectedShape = (maskedImage.getHeight() - 2 * half, maskedImage.getWidth() - 2 * half)
        if smoothed.image.shape != expectedShape:
            raise ValueError(
                f"the smoothed image has shape {smoothed.image.shape}, the exposure's middle {expectedShape}"
            )
        middleImage, middleVariance = smoothed.image, smoothed.variance
        if self.config.thresholdType == "pixel_stdev" and middleVariance is None:
            middleVariance = smoothVariance(variance, gaussianKernel(sigma, width))
        # afw ORs the mask over the kernel footprint; only "stdev" looks at it,
        # and it sees the mask as it was before the EDGE border below is set.
        statsBad = self._statsBad(maskedImage.mask, half)

        goodBBox = maskedImage.getBBox()
        goodBBox.grow(-half)
        self.setEdgeBits(maskedImage, goodBBox, maskedImage.mask.getPlaneBitMask("EDGE"))
        return _Smoothed(middleImage, middleVariance, goodBBox, statsBad)

    def _statsBad(self, mask: Mask, half: int) -> np.ndarray | None:
        """Pixels of the searched area whose smoothed mask has a ``statsMask`` plane (``stdev`` only)."""
        if self.config.thresholdType != "stdev":
            return None
        bad = runsOfMask(mask.array, mask.getPlaneBitMask(list(self.config.statsMask)))
        height, width = mask.array.shape
        if half > 0:
            bad = growRuns(bad, np.full(half + 1, half), width)
        return paintRuns(bad, (height - 2 * half, width - 2 * half), -half, -half)

    @staticmethod
    def setEdgeBits(maskedImage: MaskedImageF, goodBBox: Box2I, edgeBitmask: int) -> None:
        """OR ``edgeBitmask`` into every mask pixel outside ``goodBBox`` (PARENT)."""
        mask = maskedImage.mask.array
        local = goodBBox.shiftedBy(Extent2I(-maskedImage.getX0(), -maskedImage.getY0()))
        bits = np.array(edgeBitmask).astype(mask.dtype)
        mask[: local.getMinY()] |= bits
        mask[local.getMaxY() + 1 :] |= bits
        mask[:, : local.getMinX()] |= bits
        mask[:, local.getMaxX() + 1 :] |= bits

    def _thresholdLevel(self, smoothed: _Smoothed, factor: float) -> float:
        """The threshold in smoothed-image units (for ``pixel_stdev``: in units of sqrt(variance))."""
        value = self.config.thresholdValue * factor
        thresholdType = self.config.thresholdType
        if thresholdType in ("value", "pixel_stdev"):
            return value
        if thresholdType == "stdev":
            # One box covering the image, read in place: statsBad excludes pixels.
            height, width = smoothed.image.shape
            stdev = afwMath.computeBoxStatistics(
                smoothed.image, smoothed.statsBad, 1, 0, 0, width, height, afwMath.STDEVCLIP
            ).getValue(afwMath.STDEVCLIP)[0]
            return value * float(stdev)
        # "variance": afw's Threshold takes the clipped variance of the whole
        # searched image (no mask) and multiplies the value by its square root.
        height, width = smoothed.image.shape
        stdev = afwMath.computeBoxStatistics(
            smoothed.image, None, 0, 0, 0, width, height, afwMath.STDEVCLIP
        ).getValue(afwMath.STDEVCLIP)[0]
        if not stdev * stdev > 0:
            raise ValueError(f"Variance must be > 0: {stdev * stdev} (thresholdType='variance')")
        return value * float(stdev)

    def _findPolarity(self, smoothed: _Smoothed, region: Box2I, level: float, positive: bool) -> _Found:
        """Find the footprints of one polarity and count their peaks.

        A pixel belongs to a footprint when it is at or beyond ``level``
        (for ``pixel_stdev``: ``level`` times the square root of its smoothed
        variance, in float32); NaN pixels never are.
        """
        variance = None
        if self.config.thresholdType == "pixel_stdev":
            assert smoothed.variance is not None
            variance = smoothed.variance
        multiplier = self.config.includeThresholdMultiplier
        includeLevel = None if multiplier == 1.0 else level * multiplier
        runs, included, peaks = thresholdRuns(smoothed.image, variance, level, includeLevel, positive)
        kept, count, numPeaks = _keptFootprints(runs, included, peaks, self.config.minPixels)
        return _Found(runs=kept, count=count, numPeaks=numPeaks, bbox=smoothed.bbox, region=region)

    def applyThreshold(self, smoothed: _Smoothed, region: Box2I, factor: float = 1.0) -> pipeBase.Struct:
        """Find the footprints of each configured polarity in the searched area.

        Returns
        -------
        results : `lsst.pipe.base.Struct`
            ``positive`` and ``negative`` (internal `_Found` or `None`) and ``factor``.
        """
        results = pipeBase.Struct(positive=None, negative=None, factor=factor)
        level = self._thresholdLevel(smoothed, factor)
        if self.config.thresholdPolarity != "negative":
            results.positive = self._findPolarity(smoothed, region, level, positive=True)
        if self.config.thresholdPolarity != "positive":
            results.negative = self._findPolarity(smoothed, region, level, positive=False)
        return results

    def finalizeFootprints(self, mask: Mask, results: pipeBase.Struct, sigma: float) -> None:
        """Grow the footprints, set DETECTED / DETECTED_NEGATIVE, count and log them."""
        nGrow = int(self.config.nSigmaToGrow * sigma + 0.5) if self.config.nSigmaToGrow > 0 else 0
        if self.config.nSigmaToGrow > 0:
            self.metadata["nGrow"] = nGrow
        counts = {}
        for polarity, maskName in (("positive", "DETECTED"), ("negative", "DETECTED_NEGATIVE")):
            found: _Found | None = getattr(results, polarity)
            if found is None:
                counts[polarity] = (0, 0)
                continue
            original = found.fullRuns()
            grown = original
            numFootprints = found.count
            if nGrow > 0 and found.count > 0:
                width = found.region.getWidth()
                grown = growRuns(original, stencilHalfWidths(nGrow, self.config.isotropicGrow), width)
                if self.config.combinedGrow:
                    # afw rebuilds the set from the union of the grown footprints.
                    numFootprints = runComponents(grown)[1]
            orRuns(mask.array, grown, 1 << mask.addMaskPlane(maskName))
            kept = original if self.config.returnOriginalFootprints else grown
            shape = (found.region.getHeight(), found.region.getWidth())
            footprints = Footprints(paintRuns(kept, shape), found.region, numFootprints, found.numPeaks)
            setattr(results, polarity, footprints)
            counts[polarity] = (numFootprints, found.numPeaks)

        results.numPos, results.numPosPeaks = counts["positive"]
        results.numNeg, results.numNegPeaks = counts["negative"]
        positive = (
            f" {results.numPosPeaks} positive peaks in {results.numPos} footprints"
            if results.positive is not None
            else ""
        )
        negative = (
            f" {results.numNegPeaks} negative peaks in {results.numNeg} footprints"
            if results.negative is not None
            else ""
        )
        self.log.info(
            "Detected%s%s%s to %g %s",
            positive,
            " and" if positive and negative else "",
            negative,
            self.config.thresholdValue * self.config.includeThresholdMultiplier * results.factor,
            "DN" if self.config.thresholdType == "value" else "sigma",
        )

    def clearUnwantedResults(self, mask: Mask, results: pipeBase.Struct) -> None:
        """Drop the results of the polarity that was not asked for.

        (meas_algorithms also clears that polarity's mask plane, which only
        background re-estimation sets; ``mask`` is kept for its signature.)
        """
        if self.config.thresholdPolarity == "positive":
            results.negative = None
        elif self.config.thresholdPolarity == "negative":
            results.positive = None

    def detectFootprints(
        self,
        exposure: ExposureF,
        doSmooth: bool = True,
        sigma: float | None = None,
        clearMask: bool = True,
        expId: object | None = None,
        background: afwMath.BackgroundList | None = None,
        *,
        smoothed: SmoothedPlanes | None = None,
    ) -> pipeBase.Struct:
        """Detect footprints on an exposure and set their mask planes.

        Footprints are 8-connected groups of searched pixels at or above the
        threshold (at or below minus the threshold for negative polarity),
        with at least ``minPixels`` pixels; they are grown by
        ``int(nSigmaToGrow * sigma + 0.5)`` pixels (a disc when
        ``isotropicGrow``, else a Manhattan diamond) and OR-ed into
        DETECTED (DETECTED_NEGATIVE for negative polarity).

        Parameters
        ----------
        exposure : `ExposureF`
            The exposure.  Its mask is modified: DETECTED and
            DETECTED_NEGATIVE are cleared first if ``clearMask``, EDGE is set
            on the border where the kernel does not fit (when smoothing),
            and the detection planes are set.  Image and variance are not
            modified.
        doSmooth : `bool`
            Smooth with a Gaussian of ``sigma`` before thresholding.
        sigma : `float`
            Gaussian sigma in pixels, for smoothing and growing.  Required:
            this implementation cannot derive it from a PSF.
        clearMask : `bool`
            Clear DETECTED and DETECTED_NEGATIVE before detecting.
        expId : `object`, optional
            Unused (meas_algorithms passes it to subclasses).
        background : `BackgroundList`, optional
            Background already subtracted; returned as ``background``
            (unchanged: background re-estimation is not supported).
        smoothed : `SmoothedPlanes`, optional
            The exposure's image already smoothed with ``sigma`` (see
            `smoothPlanes` and `SmoothedPlanes.minus`); used instead of
            smoothing it again when ``doSmooth``.

        Returns
        -------
        results : `lsst.pipe.base.Struct`
            ``positive``, ``negative`` (`Footprints` or `None`), ``numPos``,
            ``numPosPeaks``, ``numNeg``, ``numNegPeaks``, ``background``,
            ``factor``.

        Raises
        ------
        NotImplementedError
            If ``reEstimateBackground``, ``doTempLocalBackground`` or
            ``doTempWideBackground`` is set.
        RuntimeError
            If ``sigma`` is `None`.
        ValueError
            If ``sigma`` is not positive, or the image is smaller than the
            smoothing kernel.
        """
        for name in _UNSUPPORTED_FLAGS:
            if getattr(self.config, name):
                raise NotImplementedError(
                    f"SourceDetectionConfig.{name}=True is not supported by lsst.sky.correction's "
                    "detection; set it to False (MaskObjectsConfig does)"
                )
        where = describeExposure(exposure)
        if sigma is None:
            raise RuntimeError(
                f"{where}: detectFootprints needs an explicit Gaussian sigma; smoothing by the PSF is "
                "not supported"
            )
        if not sigma > 0:
            raise ValueError(f"{where}: the smoothing sigma must be > 0, got {sigma}")

        maskedImage = exposure.getMaskedImage()
        if clearMask:
            self.clearMask(maskedImage.mask)
        try:
            searched = self.convolveImage(maskedImage, sigma, doSmooth=doSmooth, smoothed=smoothed)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from error

        results = self.applyThreshold(searched, maskedImage.getBBox())
        results.background = afwMath.BackgroundList() if background is None else background
        self.finalizeFootprints(maskedImage.mask, results, sigma)
        self.clearUnwantedResults(maskedImage.mask, results)
        return results
