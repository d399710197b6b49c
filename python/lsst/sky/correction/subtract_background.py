"""Fit and subtract a binned background (``lsst.meas.algorithms.SubtractBackgroundTask``).

The config keeps meas_algorithms' field names and defaults, so a config
written for the stack loads here after changing the import.  The task
measures one statistic per cell of a grid (cells of about ``binSize``
pixels), turns the grid into a full-resolution image by interpolation or a
Chebyshev approximation, subtracts that image from the exposure in place and
appends the model to a `BackgroundList`, exactly as meas_algorithms does.
"""

from __future__ import annotations

__all__ = ["SubtractBackgroundConfig", "SubtractBackgroundTask"]

from collections.abc import Sequence

import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase

from ._masks import knownPlaneBits
from .afwlite import math as afwMath
from .afwlite.image import ExposureF, ImageF, MaskedImageF


class SubtractBackgroundConfig(pexConfig.Config):
    """Config for `SubtractBackgroundTask` (meas_algorithms' fields and defaults).

    Many of these fields mirror `lsst.afw.math.BackgroundControl`, the
    control of ``makeBackground``.
    """

    statisticsProperty = pexConfig.ChoiceField[str](
        doc="Type of statistic to use for grid points.",
        dtype=str,
        default="MEANCLIP",
        allowed={
            "MEANCLIP": "clipped mean",
            "MEAN": "unclipped mean",
            "MEDIAN": "median",
        },
    )
    undersampleStyle = pexConfig.ChoiceField[str](
        doc="Behaviour if there are too few points in the grid for the requested interpolation style.",
        dtype=str,
        default="REDUCE_INTERP_ORDER",
        allowed={
            "THROW_EXCEPTION": "throw an exception if there are too few points",
            "REDUCE_INTERP_ORDER": "use an interpolation style with a lower order",
            "INCREASE_NXNYSAMPLE": "increase the number of samples used to make the interpolation grid",
        },
    )
    binSize = pexConfig.RangeField(
        doc="How large a region of the sky should be used for each background point.",
        dtype=int,
        default=128,
        min=1,
    )
    binSizeX = pexConfig.RangeField(
        doc="Sky region size for each background point in x; 0 means use binSize.",
        dtype=int,
        default=0,
        min=0,
    )
    binSizeY = pexConfig.RangeField(
        doc="Sky region size for each background point in y; 0 means use binSize.",
        dtype=int,
        default=0,
        min=0,
    )
    algorithm = pexConfig.ChoiceField[str](
        doc="How to interpolate the background values (an lsst.afw.math.Interpolate style).",
        dtype=str,
        default="AKIMA_SPLINE",
        optional=True,
        allowed={
            "CONSTANT": "use a single constant value",
            "LINEAR": "use linear interpolation",
            "NATURAL_SPLINE": "cubic spline with zero second derivative at endpoints",
            "AKIMA_SPLINE": "higher-level nonlinear spline that is more robust to outliers",
            "NONE": "no background estimation is to be attempted",
        },
    )
    ignoredPixelMask = pexConfig.ListField[str](
        doc="Names of mask planes to ignore while estimating the background.",
        dtype=str,
        default=["BAD", "EDGE", "DETECTED", "DETECTED_NEGATIVE", "NO_DATA"],
    )
    isNanSafe = pexConfig.Field[bool](
        doc="Ignore NaNs when estimating the background.",
        dtype=bool,
        default=False,
    )
    useApprox = pexConfig.Field[bool](
        doc="Use Approximate (Chebyshev) to model the background.",
        dtype=bool,
        default=True,
    )
    approxOrderX = pexConfig.Field[int](
        doc="Approximation order in x for the background Chebyshev (valid only with useApprox=True).",
        dtype=int,
        default=6,
    )
    # afw's Chebyshev1Function2 has a single order: y must equal x (or be -1).
    approxOrderY = pexConfig.Field[int](
        doc="Approximation order in y for the background Chebyshev (valid only with useApprox=True).",
        dtype=int,
        default=-1,
    )
    weighting = pexConfig.Field[bool](
        doc="Use inverse-variance weighting in the Chebyshev fit (valid only with useApprox=True).",
        dtype=bool,
        default=True,
    )
    doApplyFlatBackgroundRatio = pexConfig.Field[bool](
        doc=(
            "Convert the image to a background-flattened image before fitting.  Kept so that stack "
            "configs load; this implementation does not support it and raises if it is set."
        ),
        dtype=bool,
        default=False,
    )


class SubtractBackgroundTask(pipeBase.Task):
    """Fit a binned background to an exposure and subtract it.

    `run` records the mean and variance of the total background in the
    exposure metadata (``BGMEAN``, ``BGVAR`` by default), as meas_algorithms
    does.
    """

    ConfigClass = SubtractBackgroundConfig
    config: SubtractBackgroundConfig
    _DefaultName = "subtractBackground"

    def run(
        self,
        exposure: ExposureF,
        background: afwMath.BackgroundList | None = None,
        stats: bool = True,
        statsKeys: Sequence[str] | None = None,
    ) -> pipeBase.Struct:
        """Fit the background of an exposure and subtract it in place.

        Parameters
        ----------
        exposure : `ExposureF`
            The exposure; its image is replaced by the image minus the fitted
            background (mask and variance are untouched).
        background : `BackgroundList`, optional
            Background already subtracted from ``exposure``; the new model
            is appended to it.  A new list when `None`.
        stats : `bool`
            Record the mean and variance of the total background (the whole
            list) in the exposure metadata.
        statsKeys : sequence of two `str`, optional
            Metadata keys for the mean and variance; default
            ``("BGMEAN", "BGVAR")``.

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``background``: the list with the new element
            ``(fitBg, interpStyle, undersampleStyle, approxStyle,
            approxOrderX, approxOrderY, approxWeighting)`` appended;
            ``backgroundImage``: the full-resolution image of that element,
            as subtracted (an addition of this package: callers that add
            the background back need not evaluate it again).

        Raises
        ------
        lsst.pipe.base.TaskError
            If every pixel carries an ignored mask plane.
        ValueError
            If the configuration cannot describe a background for this image
            (no algorithm, too coarse a grid for the Chebyshev order...).
        NotImplementedError
            If ``doApplyFlatBackgroundRatio`` is set.
        """
        if self.config.doApplyFlatBackgroundRatio:
            raise NotImplementedError(
                "SubtractBackgroundConfig.doApplyFlatBackgroundRatio=True is not supported by "
                "lsst.sky.correction"
            )
        if background is None:
            background = afwMath.BackgroundList()

        maskedImage = exposure.getMaskedImage()
        fitBg = self.fitBackground(maskedImage)
        backgroundImage = fitBg.getImageF(self.config.algorithm, self.config.undersampleStyle)
        maskedImage -= backgroundImage

        actrl = fitBg.getBackgroundControl().getApproximateControl()
        background.append(
            (
                fitBg,
                afwMath.stringToInterpStyle(self.config.algorithm),
                fitBg.getAsUsedUndersampleStyle(),
                actrl.getStyle(),
                actrl.getOrderX(),
                actrl.getOrderY(),
                actrl.getWeighting(),
            )
        )

        if stats:
            # With a fresh list the total is the image just subtracted; the
            # list would evaluate the same element with the same styles again.
            total = backgroundImage if len(background) == 1 else background.getImage()
            assert total is not None  # the list holds at least the new element
            self._addStats(exposure, total, statsKeys=statsKeys)

        return pipeBase.Struct(background=background, backgroundImage=backgroundImage)

    def _addStats(
        self, exposure: ExposureF, backgroundImage: ImageF, statsKeys: Sequence[str] | None = None
    ) -> None:
        """Append the mean and variance of the background image to the exposure metadata."""
        meanKey, varianceKey = ("BGMEAN", "BGVAR") if statsKeys is None else statsKeys
        statistics = afwMath.makeStatistics(backgroundImage, afwMath.MEAN | afwMath.VARIANCE)
        metadata = exposure.getMetadata()
        # afw's addDouble appends a value to the key, so repeated runs accumulate.
        metadata.add(meanKey, statistics.getValue(afwMath.MEAN))
        metadata.add(varianceKey, statistics.getValue(afwMath.VARIANCE))

    def fitBackground(
        self, maskedImage: MaskedImageF, nx: int = 0, ny: int = 0, algorithm: str | None = None
    ) -> afwMath.BackgroundMI:
        """Estimate the background of a masked image.

        Parameters
        ----------
        maskedImage : `MaskedImageF`
            The image whose background is measured (not modified).
        nx, ny : `int`
            Number of cells along x and y; 0 derives them from the image size
            and the bin size: ``max(int(size / binSize + 0.5), 1)``.
        algorithm : `str`, optional
            Interpolation style; default ``config.algorithm``.

        Returns
        -------
        background : `BackgroundMI`
            The fitted model; with ``useApprox`` its control carries a
            Chebyshev `ApproximateControl`.

        Raises
        ------
        lsst.pipe.base.TaskError
            If every pixel carries an ignored mask plane.
        ValueError
            If ``algorithm`` is `None` or ``"NONE"``, if ``approxOrderY`` is
            neither ``approxOrderX`` nor -1, or if the grid is too coarse for
            the Chebyshev order and ``undersampleStyle`` forbids adapting.
        """
        binSizeX = self.config.binSize if self.config.binSizeX == 0 else self.config.binSizeX
        binSizeY = self.config.binSize if self.config.binSizeY == 0 else self.config.binSizeY
        width, height = maskedImage.getWidth(), maskedImage.getHeight()
        if not nx:
            nx = max(int(width / binSizeX + 0.5), 1)
        if not ny:
            ny = max(int(height / binSizeY + 0.5), 1)

        badMask = self._ignoredBits(maskedImage)
        if badMask != 0 and bool(np.all(maskedImage.mask.array & badMask)):
            raise pipeBase.TaskError(
                f"All pixels of the {width}x{height} image are masked with one of "
                f"{list(self.config.ignoredPixelMask)}: cannot estimate the background."
            )
        sctrl = afwMath.StatisticsControl()
        sctrl.setAndMask(badMask)
        sctrl.setNanSafe(self.config.isNanSafe)
        self.log.debug("Ignoring mask planes: %s", ", ".join(self.config.ignoredPixelMask))

        if algorithm is None:
            algorithm = self.config.algorithm
        if algorithm is None or algorithm == "NONE":
            raise ValueError(
                f"SubtractBackgroundConfig.algorithm={algorithm!r}: no background model can be fitted; "
                "choose CONSTANT, LINEAR, NATURAL_SPLINE or AKIMA_SPLINE"
            )

        bctrl = afwMath.BackgroundControl(
            algorithm, nx, ny, self.config.undersampleStyle, sctrl, self.config.statisticsProperty
        )
        if self.config.useApprox:
            bctrl.setApproximateControl(self._approximateControl(bctrl, width, height, binSizeX, binSizeY))
        return afwMath.makeBackground(maskedImage, bctrl)

    def _ignoredBits(self, maskedImage: MaskedImageF) -> int:
        """The bits of ``ignoredPixelMask``; planes the mask does not define are skipped."""
        planes = maskedImage.mask.getMaskPlaneDict()
        missing = [name for name in self.config.ignoredPixelMask if name not in planes]
        if missing:
            self.log.warning(
                "Mask planes %s in ignoredPixelMask are not defined in the image's mask; ignoring them.",
                missing,
            )
        return knownPlaneBits(maskedImage.mask, self.config.ignoredPixelMask)

    def _approximateControl(
        self, bctrl: afwMath.BackgroundControl, width: int, height: int, binSizeX: int, binSizeY: int
    ) -> afwMath.ApproximateControl:
        """The Chebyshev control, adapting the order or the grid when the grid is too coarse.

        A Chebyshev of order N needs at least N + 1 cells along each axis;
        meas_algorithms lowers the order, enlarges the grid or raises,
        depending on ``undersampleStyle``.
        """
        if self.config.approxOrderY not in (self.config.approxOrderX, -1):
            raise ValueError(
                f"SubtractBackgroundConfig.approxOrderY={self.config.approxOrderY} must equal "
                f"approxOrderX={self.config.approxOrderX} or be -1"
            )
        order = self.config.approxOrderX
        if order < 0:
            raise ValueError(f"SubtractBackgroundConfig.approxOrderX={order} must be >= 0")
        nx, ny = bctrl.getNxSample(), bctrl.getNySample()
        if min(nx, ny) <= order:
            self.log.warning(
                "Too few points in grid to constrain fit: min(nx, ny) <= approxOrder [min(%d, %d) <= %d]",
                nx,
                ny,
                order,
            )
            style = self.config.undersampleStyle
            if style == "THROW_EXCEPTION":
                raise ValueError(
                    f"Too few points in grid ({nx}, {ny}) for order ({order}) and binSize "
                    f"({binSizeX}, {binSizeY})"
                )
            if style == "REDUCE_INTERP_ORDER":
                order = min(nx, ny) - 1  # >= 0: there is at least one cell per axis
                self.log.warning("Reducing approxOrder to %d", order)
            else:  # INCREASE_NXNYSAMPLE: the largest square bins that give order + 1 cells
                newBinSize = min(width, height) // order  # order >= min(nx, ny) >= 1 here
                if newBinSize < 1:
                    raise ValueError(
                        f"Cannot increase the grid of a {width}x{height} image enough for order {order}"
                    )
                # Integer division plus one (not the rounding rule above) guarantees
                # at least order + 1 cells along the shorter axis.
                newNx = width // newBinSize + 1
                newNy = height // newBinSize + 1
                bctrl.setNxSample(newNx)
                bctrl.setNySample(newNy)
                self.log.warning(
                    "Decreasing binSize from (%d, %d) to %d for a grid of (%d, %d)",
                    binSizeX,
                    binSizeY,
                    newBinSize,
                    newNx,
                    newNy,
                )
        return afwMath.ApproximateControl(
            afwMath.ApproximateControl.CHEBYSHEV, order, order, self.config.weighting
        )
