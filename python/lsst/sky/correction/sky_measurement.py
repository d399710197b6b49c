"""Sky frames: persisting them, measuring their scale in an image, subtracting them.

The equivalent of ``lsst.pipe.tasks.background.SkyMeasurementTask`` and its
configs, with the same field names and defaults.  A sky frame is a binned
model of the camera's response to the night sky, stored as an `ExposureF`
whose pixels are a background "stats image" (one value per cell) and whose
metadata hold the full-resolution bounding box (``BOX.MINX``, ``BOX.MINY``,
``BOX.MAXX``, ``BOX.MAXY``, inclusive) and the interpolation style
(``ALGORITHM``).

The scale of a sky frame in an image is measured on a coarse grid of boxes
(``xNumSamples`` x ``yNumSamples`` per detector): a robust statistic of the
image and of the full-resolution sky model in every box.  One scale for the
whole visit is then fitted to all detectors' samples with iterative
rejection (`SkyMeasurementTask.solveScales`).
"""

from __future__ import annotations

__all__ = [
    "BackgroundConfig",
    "SkyMeasurementConfig",
    "SkyMeasurementTask",
    "SkyStatsConfig",
]

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

import lsst.pex.config as pexConfig
from lsst.pipe.base import Task

from ._logging import withPackageLog
from ._masks import knownPlaneBits
from .afwlite.geom import Box2I, Point2I
from .afwlite.image import ExposureF, ImageF, MaskedImageF, makeExposure
from .afwlite.math import (
    REDUCE_INTERP_ORDER,
    ApproximateControl,
    BackgroundControl,
    BackgroundList,
    BackgroundMI,
    InvalidParameterError,
    StatisticsControl,
    computeBoxStatistics,
    makeBackground,
    stringToInterpStyle,
    stringToStatisticsProperty,
)
from .errors import describeExposure

#: The metadata cards holding a sky frame's full-resolution bounding box (inclusive).
BOX_CARDS = ("BOX.MINX", "BOX.MINY", "BOX.MAXX", "BOX.MAXY")

#: The metadata card holding a sky frame's interpolation style.
ALGORITHM_CARD = "ALGORITHM"

#: Gaussian sigma per interquartile range, as the reference's scale fit rounds it (not 0.7413).
_IQR_TO_SIGMA = 0.741

_STATISTICS = {
    "MEANCLIP": "clipped mean",
    "MEAN": "mean, no clipping",
    "MEDIAN": "median",
}


class BackgroundConfig(pexConfig.Config):
    """How a sky frame's background grid is measured and interpolated."""

    statistic = pexConfig.ChoiceField[str](
        dtype=str,
        default="MEANCLIP",
        doc="Statistic of the pixels in each grid cell.",
        allowed=_STATISTICS,
    )
    xBinSize: pexConfig.RangeField = pexConfig.RangeField(
        dtype=int, default=32, min=1, doc="Grid cell width in pixels."
    )
    yBinSize: pexConfig.RangeField = pexConfig.RangeField(
        dtype=int, default=32, min=1, doc="Grid cell height in pixels."
    )
    algorithm = pexConfig.ChoiceField[str](
        dtype=str,
        default="NATURAL_SPLINE",
        optional=True,
        doc="Interpolation between grid cells (an afw Interpolate style name).",
        allowed={
            "CONSTANT": "a constant between cell centres",
            "LINEAR": "linear interpolation",
            "NATURAL_SPLINE": "cubic spline whose second derivative vanishes at the ends",
            "AKIMA_SPLINE": "Akima spline, less sensitive to outlying cells",
            "NONE": "no background model",
        },
    )
    mask = pexConfig.ListField[str](
        dtype=str,
        default=["SAT", "BAD", "EDGE", "DETECTED", "DETECTED_NEGATIVE", "NO_DATA"],
        doc="Mask planes whose pixels are left out of the cell statistics.",
    )


class SkyStatsConfig(pexConfig.Config):
    """How the sky-frame scale samples are measured."""

    statistic = pexConfig.ChoiceField[str](
        dtype=str,
        default="MEANCLIP",
        doc="Statistic of the pixels in each sample box.",
        allowed=_STATISTICS,
    )
    clip = pexConfig.Field[float](dtype=float, default=3.0, doc="Clipping half-width in standard deviations.")
    nIter = pexConfig.Field[int](dtype=int, default=3, doc="Number of clipping passes.")
    mask = pexConfig.ListField[str](
        dtype=str,
        default=["SAT", "DETECTED", "DETECTED_NEGATIVE", "BAD", "NO_DATA"],
        doc="Mask planes whose pixels are left out of the samples.",
    )

    def validate(self) -> None:
        super().validate()
        if not (math.isfinite(self.clip) and self.clip > 0):
            raise pexConfig.FieldValidationError(
                SkyStatsConfig.clip, self, f"clip must be positive, got {self.clip!r}"
            )
        if self.nIter < 1:
            raise pexConfig.FieldValidationError(
                SkyStatsConfig.nIter, self, f"nIter must be >= 1, got {self.nIter}"
            )


class SkyMeasurementConfig(pexConfig.Config):
    """Configuration of `SkyMeasurementTask`."""

    skyIter = pexConfig.Field[int](
        dtype=int, default=3, doc="Rejection iterations of the sky-frame scale fit."
    )
    skyRej = pexConfig.Field[float](
        dtype=float, default=3.0, doc="Rejection threshold of the scale fit, in robust standard deviations."
    )
    background = pexConfig.ConfigField[BackgroundConfig](
        dtype=BackgroundConfig, doc="Sky-frame background grid."
    )
    xNumSamples = pexConfig.Field[int](dtype=int, default=4, doc="Scale samples across each detector in x.")
    yNumSamples = pexConfig.Field[int](dtype=int, default=4, doc="Scale samples across each detector in y.")
    stats = pexConfig.ConfigField[SkyStatsConfig](
        dtype=SkyStatsConfig, doc="Statistics of the scale samples."
    )

    def validate(self) -> None:
        super().validate()
        for field in (SkyMeasurementConfig.xNumSamples, SkyMeasurementConfig.yNumSamples):
            value = getattr(self, field.name)
            if value < 1:
                raise pexConfig.FieldValidationError(field, self, f"{field.name} must be >= 1, got {value}")
        if self.skyIter < 0:
            raise pexConfig.FieldValidationError(
                SkyMeasurementConfig.skyIter, self, f"skyIter must be >= 0, got {self.skyIter}"
            )
        if not (math.isfinite(self.skyRej) and self.skyRej > 0):
            raise pexConfig.FieldValidationError(
                SkyMeasurementConfig.skyRej, self, f"skyRej must be positive, got {self.skyRej!r}"
            )


def _integerCard(metadata: Any, card: str, where: str) -> int:
    """The integer value of ``card``; a clear error if it is absent or not an integer."""
    if card not in metadata:
        raise ValueError(f"{where}: the metadata card {card} is missing (a sky frame needs {BOX_CARDS})")
    value = metadata.getScalar(card)
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{where}: the metadata card {card} must be an integer, got {value!r}")
    if not float(value).is_integer():
        raise ValueError(f"{where}: the metadata card {card} must be an integer, got {value!r}")
    return int(value)


def _sampleLimits(length: int, nSamples: int) -> np.ndarray:
    """Box edges along one axis: ``min(nSamples, length)`` boxes tiling ``[0, length)``."""
    count = min(nSamples, length)
    return np.linspace(0, length, count + 1, dtype=int)


class SkyMeasurementTask(Task):
    """Create, persist, measure and subtract sky frames.

    A sky frame is the large-scale response of the camera to the night sky,
    represented like a background: a grid of cell values (a `BackgroundMI`
    stats image) interpolated to full resolution.  It is persisted as an
    `ExposureF` (see `backgroundToExposure`), scaled to each visit by
    `measureScale` / `solveScales`, and removed by `subtractSkyFrame`.
    """

    ConfigClass = SkyMeasurementConfig
    config: SkyMeasurementConfig
    _DefaultName = "skyMeasurement"

    def __init__(self, config: SkyMeasurementConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config=config, **withPackageLog(kwargs))

    # Persistence -------------------------------------------------------------------
    @staticmethod
    def exposureToBackground(bgExp: ExposureF) -> BackgroundList:
        """Turn a persisted sky frame into a background model.

        Parameters
        ----------
        bgExp : `ExposureF`
            The sky frame: a stats image with ``BOX.MINX``, ``BOX.MINY``,
            ``BOX.MAXX``, ``BOX.MAXY`` (the inclusive full-resolution bounding
            box) and ``ALGORITHM`` (an interpolation style name) in its
            metadata.

        Returns
        -------
        background : `BackgroundList`
            One element, ``(BackgroundMI(bbox, statsImage), ALGORITHM,
            REDUCE_INTERP_ORDER, ApproximateControl.UNKNOWN, 0, 0, False)``.
            As in afw, the model's stats image *is* the exposure's masked image
            (shared pixels, not a copy): scaling the model would change the
            exposure.  Nothing in this task modifies it;
            `subtractSkyFrame` records a scaled copy.

        Raises
        ------
        ValueError
            If a ``BOX.*`` or the ``ALGORITHM`` card is missing or invalid
            (the message names the card, and the detector when the exposure
            has one), or the box is smaller than the stats image.
        """
        where = describeExposure(bgExp, "sky frame")
        metadata = bgExp.getMetadata()
        xMin, yMin, xMax, yMax = (_integerCard(metadata, card, where) for card in BOX_CARDS)
        if xMax < xMin or yMax < yMin:
            raise ValueError(
                f"{where}: empty bounding box BOX.MINX={xMin}, BOX.MAXX={xMax}, "
                f"BOX.MINY={yMin}, BOX.MAXY={yMax}"
            )
        if ALGORITHM_CARD not in metadata:
            raise ValueError(f"{where}: the metadata card {ALGORITHM_CARD} (interpolation style) is missing")
        algorithm = metadata.getScalar(ALGORITHM_CARD)
        try:
            interpStyle = stringToInterpStyle(str(algorithm).strip())
        except InvalidParameterError as error:
            raise ValueError(f"{where}: the metadata card {ALGORITHM_CARD}={algorithm!r}: {error}") from None
        bbox = Box2I(Point2I(xMin, yMin), Point2I(xMax, yMax))
        try:
            background = BackgroundMI(bbox, bgExp.getMaskedImage())
        except InvalidParameterError as error:
            raise ValueError(f"{where}: {error}") from None
        return BackgroundList(
            (background, interpStyle, REDUCE_INTERP_ORDER, ApproximateControl.UNKNOWN, 0, 0, False)
        )

    def backgroundToExposure(self, statsImage: MaskedImageF, bbox: Box2I) -> ExposureF:
        """Turn a background stats image into a sky frame exposure (`exposureToBackground`'s inverse).

        Parameters
        ----------
        statsImage : `MaskedImageF`
            The cell values of the model (shared with the exposure, not copied).
        bbox : `Box2I`
            The full-resolution bounding box the cells cover.

        Returns
        -------
        exposure : `ExposureF`
            The stats image with ``BOX.MINX``, ``BOX.MINY``, ``BOX.MAXX``,
            ``BOX.MAXY`` and ``ALGORITHM`` (``config.background.algorithm``)
            in its metadata.
        """
        exposure = makeExposure(statsImage)
        metadata = exposure.getMetadata()
        for card, value in zip(
            BOX_CARDS, (bbox.getMinX(), bbox.getMinY(), bbox.getMaxX(), bbox.getMaxY()), strict=True
        ):
            metadata.set(card, int(value))
        metadata.set(ALGORITHM_CARD, self.config.background.algorithm)
        return exposure

    def measureBackground(self, image: MaskedImageF | ExposureF) -> BackgroundList:
        """Measure a sky-frame style background grid of an image.

        The grid has ``max(int(width / xBinSize + 0.5), 1)`` by
        ``max(int(height / yBinSize + 0.5), 1)`` cells (afw spreads the pixels
        evenly over them); each cell holds ``config.background.statistic`` of
        its pixels, leaving out non-finite pixels and those with a
        ``config.background.mask`` plane set.

        Parameters
        ----------
        image : `MaskedImageF` or `ExposureF`
            The image to measure (not modified).

        Returns
        -------
        background : `BackgroundList`
            One element, ``(BackgroundMI, config.background.algorithm,
            REDUCE_INTERP_ORDER, ApproximateControl.UNKNOWN, 0, 0, False)``,
            as in the reference.  The grid itself is
            ``background[0][0].getStatsImage()``; `backgroundToExposure` turns
            it into a sky frame.
        """
        maskedImage = image.getMaskedImage() if isinstance(image, ExposureF) else image
        if not isinstance(maskedImage, MaskedImageF):
            raise TypeError(
                f"measureBackground: expected a MaskedImageF or ExposureF, got {type(image).__name__}"
            )
        config = self.config.background
        sctrl = StatisticsControl()
        sctrl.setAndMask(knownPlaneBits(maskedImage.getMask(), config.mask))
        sctrl.setNanSafe(True)
        nx = max(int(maskedImage.getWidth() / config.xBinSize + 0.5), 1)
        ny = max(int(maskedImage.getHeight() / config.yBinSize + 0.5), 1)
        bctrl = BackgroundControl(config.algorithm, nx, ny, REDUCE_INTERP_ORDER, sctrl, config.statistic)
        background = makeBackground(maskedImage, bctrl)
        return BackgroundList(
            (
                background,
                stringToInterpStyle(config.algorithm),
                REDUCE_INTERP_ORDER,
                ApproximateControl.UNKNOWN,
                0,
                0,
                False,
            )
        )

    # Scale -----------------------------------------------------------------------------
    def measureScale(
        self, image: MaskedImageF | ExposureF, skyBackground: BackgroundList
    ) -> tuple[np.ndarray, np.ndarray]:
        """Measure samples of an image and of a sky frame, for `solveScales`.

        Parameters
        ----------
        image : `MaskedImageF` or `ExposureF`
            The image (LOCAL pixel boxes; not modified).  Pixels with a
            ``config.stats.mask`` plane set, and non-finite pixels, are left
            out.
        skyBackground : `BackgroundList`
            The sky frame model; its full-resolution image must have the
            image's dimensions.

        Returns
        -------
        imageSamples, skySamples : `numpy.ndarray`
            See `measureScaleArrays`.
        """
        maskedImage = image.getMaskedImage() if isinstance(image, ExposureF) else image
        if not isinstance(maskedImage, MaskedImageF):
            raise TypeError(f"measureScale: expected a MaskedImageF or ExposureF, got {type(image).__name__}")
        skyImage = skyBackground.getImage()
        if skyImage is None:
            raise ValueError("measureScale: the sky background list is empty")
        mask = maskedImage.getMask()
        bad = (mask.array & knownPlaneBits(mask, self.config.stats.mask)) != 0
        return self.measureScaleArrays(maskedImage.image.array, bad, skyImage.array)

    def measureScaleArrays(
        self, image: np.ndarray, bad: np.ndarray, skyImage: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Measure scale samples from plain arrays (what `measureScale` does with the planes).

        The image is cut into ``nx = min(xNumSamples, width)`` by
        ``ny = min(yNumSamples, height)`` boxes whose edges are
        ``linspace(0, width, nx + 1, dtype=int)`` (likewise in y).  In every
        box, ``config.stats.statistic`` (clipped at ``config.stats.clip``
        sigma for ``config.stats.nIter`` passes) is measured on the image
        (good pixels only) and on the sky image (all finite pixels).

        Parameters
        ----------
        image : `numpy.ndarray`
            2-d float32 (or float64) image; not modified.
        bad : `numpy.ndarray`
            Boolean array of the same shape, `True` for pixels to leave out
            (the image's ``config.stats.mask`` planes).
        skyImage : `numpy.ndarray`
            The sky frame at full resolution, same shape.

        Returns
        -------
        imageSamples, skySamples : `numpy.ndarray`
            ``nx * ny`` float64 values each, ordered x outer, y inner (sample
            ``xIndex * ny + yIndex``), as the reference orders them.  A box
            with no usable pixels gives NaN.

        Raises
        ------
        ValueError
            If the arrays are not 2-d, differ in shape, or are empty.
        """
        for name, array in (("image", image), ("bad", bad), ("skyImage", skyImage)):
            if np.ndim(array) != 2:
                raise ValueError(f"measureScaleArrays: {name} must be 2-d, got shape {np.shape(array)}")
        if not (image.shape == bad.shape == skyImage.shape):
            raise ValueError(
                f"measureScaleArrays: shapes differ: image {image.shape}, bad {bad.shape}, "
                f"skyImage {skyImage.shape}"
            )
        if image.size == 0:
            raise ValueError("measureScaleArrays: the image is empty")
        if bad.dtype != np.bool_:
            raise TypeError(f"measureScaleArrays: bad must be a boolean array, got {bad.dtype}")
        height, width = image.shape
        xLimits = _sampleLimits(width, self.config.xNumSamples)
        yLimits = _sampleLimits(height, self.config.yNumSamples)
        stats = self.config.stats
        statistic = stringToStatisticsProperty(stats.statistic)
        sctrl = StatisticsControl(stats.clip, stats.nIter)
        # Boxes x outer, y inner: sample xIndex * ny + yIndex.
        x0, y0 = np.meshgrid(xLimits[:-1], yLimits[:-1], indexing="ij")
        widths, heights = np.meshgrid(np.diff(xLimits), np.diff(yLimits), indexing="ij")
        boxes = (x0, y0, widths, heights)
        imageStats = computeBoxStatistics(image, bad, 1, *boxes, statistic, sctrl)
        skyStats = computeBoxStatistics(skyImage, None, 0, *boxes, statistic, sctrl)
        return imageStats.getValue(statistic), skyStats.getValue(statistic)

    def solveScales(
        self, scales: Sequence[tuple[Sequence[float] | np.ndarray, Sequence[float] | np.ndarray]]
    ) -> float:
        """Fit one scale to the samples of all detectors.

        The model is ``imageSample = scale * skySample`` (least squares
        through the origin), over samples where both values are finite.  It
        is refitted ``config.skyIter`` times; each time, samples whose
        residual exceeds ``config.skyRej`` times ``0.741 * IQR`` of the
        residuals of the samples still in use are rejected for good (a
        rejected sample never comes back).  The final fit uses the survivors.

        Parameters
        ----------
        scales : `list` of `tuple` (imageSamples, skySamples)
            The results of `measureScale` / `measureScaleArrays`.

        Returns
        -------
        scale : `float`
            The fitted scale.

        Raises
        ------
        ValueError
            If the two sample lists of a detector differ in length, no
            usable sample is left, or the sky samples in use are all zero
            (the scale is then undetermined).
        """
        imageParts, skyParts = [], []
        for index, (imageSamples, skySamples) in enumerate(scales):
            imagePart = np.asarray(imageSamples, dtype=np.float64).ravel()
            skyPart = np.asarray(skySamples, dtype=np.float64).ravel()
            if imagePart.shape != skyPart.shape:
                raise ValueError(
                    f"solveScales: entry {index} has {imagePart.size} image samples "
                    f"but {skyPart.size} sky samples"
                )
            imageParts.append(imagePart)
            skyParts.append(skyPart)
        imageValues = np.concatenate(imageParts) if imageParts else np.empty(0)
        skyValues = np.concatenate(skyParts) if skyParts else np.empty(0)

        use = np.isfinite(imageValues) & np.isfinite(skyValues)
        for _ in range(self.config.skyIter):
            scale = self._solve(imageValues, skyValues, use)
            residuals = imageValues - scale * skyValues
            lower, upper = np.percentile(residuals[use], [25, 75])
            sigma = _IQR_TO_SIGMA * (upper - lower)
            with np.errstate(invalid="ignore"):
                use &= ~(np.abs(residuals) > self.config.skyRej * sigma)
        scale = self._solve(imageValues, skyValues, use)
        self.log.debug(
            "Sky frame scale %.6g from %d of %d samples (%d non-finite or rejected)",
            scale,
            np.count_nonzero(use),
            use.size,
            use.size - np.count_nonzero(use),
        )
        return scale

    @staticmethod
    def _solve(imageValues: np.ndarray, skyValues: np.ndarray, use: np.ndarray) -> float:
        """Least-squares slope through the origin of image against sky, over ``use``."""
        if not np.any(use):
            raise ValueError(
                "solveScales: no usable sky-frame samples (none finite, or all rejected); "
                "cannot fit a sky frame scale"
            )
        sky, data = skyValues[use], imageValues[use]
        normal = float(np.dot(sky, sky))
        if normal == 0.0:
            raise ValueError(
                f"solveScales: the {sky.size} sky-frame samples in use are all zero; "
                "the scale is undetermined"
            )
        return float(np.dot(sky, data)) / normal

    # Subtraction --------------------------------------------------------------------
    def subtractSkyFrame(
        self,
        image: ImageF | MaskedImageF | ExposureF,
        skyBackground: BackgroundList,
        scale: float,
        bgList: BackgroundList | None = None,
    ) -> None:
        """Subtract a scaled sky frame from an image, in place.

        Parameters
        ----------
        image : `ImageF`, `MaskedImageF` or `ExposureF`
            The image; only its image plane changes: ``image -= scale * sky``.
        skyBackground : `BackgroundList`
            The sky frame model (one element); not modified.
        scale : `float`
            The sky frame scale (`solveScales`).
        bgList : `BackgroundList`, optional
            If given, a copy of the sky frame element whose stats image is
            multiplied by ``scale`` is appended, with the same styles, so
            that the list records what was subtracted.

        Raises
        ------
        ValueError
            If the sky frame's image and the image differ in size, or
            ``bgList`` is given and the sky frame list does not hold exactly
            one element.
        """
        if isinstance(image, ExposureF):
            image = image.getMaskedImage()
        target = image.getImage() if isinstance(image, MaskedImageF) else image
        if not isinstance(target, ImageF):
            raise TypeError(
                f"subtractSkyFrame: expected an ImageF, MaskedImageF or ExposureF, got {type(image).__name__}"
            )
        if bgList is not None and len(skyBackground) != 1:
            raise ValueError(
                "subtractSkyFrame: a sky frame background list holds one element, "
                f"this one holds {len(skyBackground)}"
            )
        skyImage = skyBackground.getImage()
        if skyImage is None:
            raise ValueError("subtractSkyFrame: the sky background list is empty")
        if skyImage.getDimensions() != target.getDimensions():
            raise ValueError(
                f"subtractSkyFrame: the sky frame is {skyImage.getDimensions()} pixels, "
                f"the image {target.getDimensions()}"
            )
        target.scaledMinus(scale, skyImage)
        if bgList is not None:
            background, *styles = skyBackground[0]
            statsImage = background.getStatsImage().clone()
            statsImage *= scale
            scaled = BackgroundMI(background.getImageBBox(), statsImage)
            bgList.append((scaled, *styles))  # type: ignore[arg-type]
