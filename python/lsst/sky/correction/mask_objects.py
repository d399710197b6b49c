"""Iterative object masking (``lsst.pipe.tasks.background.MaskObjectsTask``).

Sky correction needs a mask of everything that is not sky, including the
faint outskirts of large objects.  `MaskObjectsTask.findObjects` alternates a
coarse background subtraction with detection on an image smoothed by a wide
Gaussian (``detectSigma``, deliberately wider than the PSF), so that each
pass fits the background with the previous pass's objects masked.
"""

from __future__ import annotations

__all__ = ["MaskObjectsConfig", "MaskObjectsTask"]

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase

from .afwlite.image import ExposureF
from .detection import SmoothedPlanes, SourceDetectionConfig, SourceDetectionTask
from .errors import describeExposure
from .subtract_background import SubtractBackgroundConfig, SubtractBackgroundTask


class MaskObjectsConfig(pexConfig.Config):
    """Configuration for `MaskObjectsTask` (pipe_tasks' fields and defaults)."""

    nIter = pexConfig.Field[int](dtype=int, default=3, doc="Number of iterations")
    subtractBackground = pexConfig.ConfigurableField[SubtractBackgroundConfig](
        target=SubtractBackgroundTask, doc="Background subtraction"
    )
    detection = pexConfig.ConfigurableField[SourceDetectionConfig](
        target=SourceDetectionTask, doc="Source detection"
    )
    detectSigma = pexConfig.Field[float](
        dtype=float, default=5.0, doc="Detection threshold (standard deviations)"
    )
    doInterpolate = pexConfig.Field[bool](dtype=bool, default=True, doc="Interpolate when removing objects?")
    smoothEachPass = pexConfig.Field[bool](
        dtype=bool,
        default=True,
        doc="Smooth the background-subtracted image anew on every pass, as the reference does?  False "
        "smooths once and subtracts each later pass's background change from the smoothed image "
        "(a few percent less CPU in SkyCorrectionTask); the smoothed images then differ by up to "
        "~4e-4 counts, which can flip a peak lying that close to the threshold (docs/parity.md).  "
        "(Addition of this package.)",
    )
    interpolate = pexConfig.ConfigurableField[SubtractBackgroundConfig](
        target=SubtractBackgroundTask, doc="Interpolation"
    )

    def setDefaults(self) -> None:
        self.detection.reEstimateBackground = False
        self.detection.doTempLocalBackground = False
        self.detection.doTempWideBackground = False
        self.detection.thresholdValue = 2.5
        self.subtractBackground.binSize = 1024
        self.subtractBackground.useApprox = False
        self.interpolate.binSize = 256
        self.interpolate.useApprox = False

    def validate(self) -> None:
        super().validate()
        if self.nIter < 1:
            raise pexConfig.FieldValidationError(
                MaskObjectsConfig.nIter, self, f"nIter must be >= 1, got {self.nIter}"
            )
        if not (math.isfinite(self.detectSigma) and self.detectSigma > 0):
            raise pexConfig.FieldValidationError(
                MaskObjectsConfig.detectSigma, self, f"detectSigma must be positive, got {self.detectSigma!r}"
            )
        enabled = [
            name
            for name in ("reEstimateBackground", "doTempLocalBackground", "doTempWideBackground")
            if getattr(self.detection, name)
        ]
        if enabled:
            raise RuntimeError(
                "Incorrect settings for object masking: reEstimateBackground, doTempLocalBackground and "
                "doTempWideBackground must be False; set to True: "
                + ", ".join(f"detection.{name}" for name in enabled)
            )


class MaskObjectsTask(pipeBase.Task):
    """Iterative masking of objects on an exposure.

    Detection and background subtraction alternate, so that the background
    is measured with ever more of the objects' faint tails masked.  This
    gives a clean sky estimate from relatively few visits.

    The detection smooths with ``detectSigma`` rather than the PSF, to pick
    up the faint wings of objects better.
    """

    ConfigClass = MaskObjectsConfig
    config: MaskObjectsConfig
    _DefaultName = "maskObjects"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.makeSubtask("detection")
        self.makeSubtask("interpolate")
        self.makeSubtask("subtractBackground")
        self.detection: SourceDetectionTask
        self.interpolate: SubtractBackgroundTask
        self.subtractBackground: SubtractBackgroundTask

    def run(self, exposure: ExposureF, maskPlanes: Iterable[str] | None = None) -> None:
        """Find objects on an exposure and replace them by a smooth background.

        Parameters
        ----------
        exposure : `ExposureF`
            Exposure on which to mask objects; modified in place (see
            `findObjects` and `removeObjects`).
        maskPlanes : iterable of `str`, optional
            Further mask planes whose pixels are replaced too.
        """
        self.findObjects(exposure)
        self.removeObjects(exposure, maskPlanes)

    def findObjects(self, exposure: ExposureF) -> None:
        """Iteratively find objects on an exposure and mask them as DETECTED.

        Each of ``nIter`` passes subtracts a coarse background
        (``subtractBackground``), detects on the result with the Gaussian
        ``detectSigma`` (clearing the previous pass's DETECTED) and adds the
        background back.

        Parameters
        ----------
        exposure : `ExposureF`
            The exposure, modified in place, as in the reference task: the
            mask ends with DETECTED on the objects of the last pass and EDGE
            on the border the smoothing kernel cannot reach, and
            DETECTED_NEGATIVE cleared; the metadata gets one ``BGMEAN`` and
            one ``BGVAR`` value per pass.  The image comes back to its input
            values up to float32 rounding (each pass subtracts and re-adds a
            float32 background); the variance is untouched.

        Notes
        -----
        Each pass smooths its background-subtracted image, as the reference
        does.  With ``smoothEachPass=False`` the image is smoothed once, on
        the first pass, and a later pass detects on that smoothed image
        minus the change of the background since the first pass
        (`SmoothedPlanes.minus`): cheaper, but the background change is not
        exactly smooth on the kernel's scale, and the smoothed images then
        differ by up to ~4e-4 counts, enough to flip a peak that close to
        the threshold (docs/parity.md).
        """
        sigma = self.config.detectSigma
        first: tuple[SmoothedPlanes, np.ndarray] | None = None
        for iteration in range(self.config.nIter):
            subtracted = self.subtractBackground.run(exposure)
            # This package's SubtractBackgroundTask hands back the image it subtracted;
            # a retargeted stack task does not, and its background is evaluated again.
            backgroundImage = getattr(subtracted, "backgroundImage", None)
            if backgroundImage is None:
                backgroundImage = subtracted.background.getImage()
            if self.config.smoothEachPass:
                smoothed = self.detection.smoothPlanes(exposure.maskedImage, sigma)
            elif first is None:
                first = (self.detection.smoothPlanes(exposure.maskedImage, sigma), backgroundImage.array)
                smoothed = first[0]
            else:
                smoothed = first[0].minus(backgroundImage.array - first[1])
            results = self.detection.detectFootprints(
                exposure, sigma=sigma, clearMask=True, smoothed=smoothed
            )
            exposure.maskedImage += backgroundImage
            self.log.debug(
                "Object masking pass %d of %d: %d footprints",
                iteration + 1,
                self.config.nIter,
                results.numPos + results.numNeg,
            )

    def removeObjects(self, exposure: ExposureF, maskPlanes: Iterable[str] | None = None) -> None:
        """Replace the pixels of masked objects.

        With ``doInterpolate`` the pixels get the value of a background
        fitted with the ``interpolate`` config (256-pixel cells, DETECTED
        ignored by default), and DETECTED is cleared afterwards; otherwise
        they get the median of the other pixels and the mask is unchanged.

        Parameters
        ----------
        exposure : `ExposureF`
            Exposure whose image (and, with ``doInterpolate``, mask) is modified.
        maskPlanes : iterable of `str`, optional
            Mask planes to replace besides DETECTED.

        Raises
        ------
        ValueError
            If no pixel is left to take the median of (without ``doInterpolate``).
        """
        image = exposure.image
        mask = exposure.mask
        maskVal = mask.getPlaneBitMask("DETECTED")
        if maskPlanes is not None:
            maskVal |= mask.getPlaneBitMask(list(maskPlanes))
        isBad = (mask.array & maskVal) != 0

        if self.config.doInterpolate:
            smooth = self.interpolate.fitBackground(exposure.maskedImage)
            replace = smooth.getImageF().array[isBad]
            mask &= ~mask.getPlaneBitMask("DETECTED")
        else:
            unmasked = image.array[~isBad]
            if unmasked.size == 0:
                raise ValueError(
                    f"{describeExposure(exposure)}: every pixel is masked; "
                    "there is no median to replace them with"
                )
            replace = np.median(unmasked)
        image.array[isBad] = replace
