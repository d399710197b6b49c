"""A background model measured in superpixels of the whole focal plane.

`FocalPlaneBackground` re-implements pipe_tasks' model of the same name
(``lsst.pipe.tasks.background``): the focal plane is cut into a grid of
superpixels of ``xSize`` by ``ySize`` focal-plane units; every detector adds
the clipped mean and the number of its usable pixels in each superpixel it
touches; the per-superpixel means are then smoothed and interpolated over
empty superpixels (`getStatsImage`) and warped back onto any detector as an
afw background model (`toCcdBackground`).  Superpixels are defined in the
focal plane, so the model has no discontinuities at detector edges.

Sample coordinates number the superpixels: superpixel ``(i, j)`` is the
square of side 1 centred on ``(i, j)``.  As in the reference, the lower-left
corner of the camera sits at the centre of superpixel ``(1, 1)`` and the grid
has ``ceil(camera size / superpixel size) + 2`` superpixels per axis, so the
first row and column lie wholly outside the camera.
"""

from __future__ import annotations

__all__ = [
    "FocalPlaneBackground",
    "FocalPlaneBackgroundConfig",
    "interpolate1D",
    "interpolateBadPixels",
    "smoothArray",
]

import logging
import math
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter

from lsst.pex.config import ChoiceField, Config, Field, FieldValidationError, ListField

from .afwlite.cameraGeom import FOCAL_PLANE, PIXELS, Camera, Detector, TransformPoint2ToPoint2
from .afwlite.geom import Box2D, Box2I, Extent2I
from .afwlite.image import ExposureF, ImageF, Mask, makeMaskedImage
from .afwlite.math import (
    MEANCLIP,
    NPOINT,
    REDUCE_INTERP_ORDER,
    ApproximateControl,
    BackgroundList,
    BackgroundMI,
    Interpolate,
    InvalidParameterError,
    StatisticsControl,
    WarpingControl,
    computeBoxStatistics,
    lookupMaxInterpStyle,
    makeInterpolate,
    stringToInterpStyle,
    warpImage,
)

_log = logging.getLogger(__name__)

# Interpolation styles a focal-plane model can use (the config also allows "NONE").
_FOCAL_PLANE_STYLES = ("CONSTANT", "LINEAR", "NATURAL_SPLINE", "AKIMA_SPLINE")


class FocalPlaneBackgroundConfig(Config):
    """Configuration of a `FocalPlaneBackground`.

    ``xSize`` and ``ySize`` are floating-point sizes in focal-plane units
    (normally mm), which differ from camera to camera; they therefore have
    no default and must be set.
    """

    xSize = Field[float](dtype=float, doc="Width of a superpixel, in focal-plane units (e.g. mm)")
    ySize = Field[float](dtype=float, doc="Height of a superpixel, in focal-plane units (e.g. mm)")
    pixelSize = Field[float](
        dtype=float, default=1.0, doc="Size of a detector pixel, in the focal-plane units of xSize and ySize"
    )
    minFrac = Field[float](
        dtype=float,
        default=0.1,
        doc="Smallest fraction of a superpixel's area (in pixels) that must be usable for its measurement "
        "to count as good",
    )
    mask = ListField[str](
        dtype=str,
        default=["BAD", "SAT", "INTRP", "DETECTED", "DETECTED_NEGATIVE", "EDGE", "NO_DATA"],
        doc="Mask planes whose pixels are left out of the background measurement",
    )
    interpolation = ChoiceField[str](
        dtype=str,
        default="AKIMA_SPLINE",
        optional=True,
        doc="How the superpixel values are interpolated (an afw::math::Interpolate style)",
        allowed={
            "CONSTANT": "A constant value",
            "LINEAR": "Linear interpolation",
            "NATURAL_SPLINE": "Cubic spline with zero second derivative at both ends",
            "AKIMA_SPLINE": "Akima spline, less sensitive to outliers than a cubic spline",
            "NONE": "No background is to be estimated",
        },
    )
    doSmooth = Field[bool](
        dtype=bool, default=False, doc="Smooth the superpixel values before interpolating?"
    )
    smoothScale = Field[float](
        dtype=float, default=2.0, doc="Gaussian smoothing sigma, in superpixels (the bin size)"
    )
    binning = Field[int](
        dtype=int, default=64, doc="Pixels per cell side of the per-detector background model (BackgroundMI)"
    )

    def validate(self) -> None:
        super().validate()
        for name in ("xSize", "ySize", "pixelSize"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(
                    f"FocalPlaneBackgroundConfig.{name} must be positive and finite, got {value!r}"
                )
        if self.binning < 1:
            raise ValueError(f"FocalPlaneBackgroundConfig.binning must be >= 1, got {self.binning}")
        if not (math.isfinite(self.minFrac) and 0.0 <= self.minFrac <= 1.0):
            raise FieldValidationError(
                FocalPlaneBackgroundConfig.minFrac,
                self,
                f"minFrac must be a fraction in [0, 1], got {self.minFrac!r}",
            )
        if self.interpolation not in _FOCAL_PLANE_STYLES:
            # "NONE" is a valid Interpolate style, but a focal-plane model must interpolate.
            raise FieldValidationError(
                FocalPlaneBackgroundConfig.interpolation,
                self,
                f"a focal-plane background needs one of {', '.join(_FOCAL_PLANE_STYLES)}, "
                f"got {self.interpolation!r}",
            )
        if self.doSmooth and not (math.isfinite(self.smoothScale) and self.smoothScale > 0):
            raise FieldValidationError(
                FocalPlaneBackgroundConfig.smoothScale,
                self,
                f"smoothScale must be positive with doSmooth, got {self.smoothScale!r}",
            )
        if any(not name for name in self.mask):
            raise FieldValidationError(
                FocalPlaneBackgroundConfig.mask,
                self,
                f"mask plane names must not be empty, got {list(self.mask)}",
            )


def _interpStyle(config: FocalPlaneBackgroundConfig) -> Interpolate.Style:
    """The afw style named by ``config.interpolation``, with a clear error for NONE."""
    try:
        return stringToInterpStyle(config.interpolation)
    except InvalidParameterError:
        raise InvalidParameterError(
            f"FocalPlaneBackgroundConfig.interpolation={config.interpolation!r} is not an interpolation "
            "style; a focal-plane background needs CONSTANT, LINEAR, NATURAL_SPLINE or AKIMA_SPLINE"
        ) from None


def _checkSuperpixelSize(config: FocalPlaneBackgroundConfig) -> None:
    for name in ("xSize", "ySize"):
        value = getattr(config, name)
        if value is None or not (math.isfinite(value) and value > 0):
            raise ValueError(
                f"FocalPlaneBackgroundConfig.{name} must be set to a positive superpixel size in "
                f"focal-plane units, got {value!r}"
            )


# Interpolation over bad superpixels ----------------------------------------------------------------


def interpolate1D(
    method: Interpolate.Style, xSample: np.ndarray, ySample: np.ndarray, xInterp: np.ndarray
) -> np.ndarray:
    """Interpolate ``(xSample, ySample)`` at ``xInterp``, lowering the order as needed.

    When ``method`` cannot be built from so few samples, the style falls back
    to ``lookupMaxInterpStyle(len(xSample))`` and, if that is the style that
    just failed, to ``CONSTANT``; if even ``CONSTANT`` fails the result is NaN.

    Parameters
    ----------
    method : `Interpolate.Style`
        The preferred style.
    xSample, ySample : `numpy.ndarray`
        The samples (strictly increasing positions and their values).
    xInterp : `numpy.ndarray`
        Where to interpolate.

    Returns
    -------
    yInterp : `numpy.ndarray`
        float64 values at ``xInterp``; all NaN when there are no samples.
    """
    positions = np.asarray(xInterp, dtype=np.float64)
    if len(xSample) == 0:
        return np.full(positions.shape, np.nan)
    nodes = np.asarray(xSample, dtype=np.float64)
    values = np.asarray(ySample, dtype=np.float64)
    style = Interpolate.Style(method)
    while True:
        try:
            return np.asarray(makeInterpolate(nodes, values, style).interpolate(positions))
        except (ValueError, RuntimeError):
            # afwlite raises OutOfRangeError (a ValueError) for too few points.
            if style == Interpolate.CONSTANT:
                return np.full(positions.shape, np.nan)
            fallback = lookupMaxInterpStyle(len(nodes))
            style = Interpolate.CONSTANT if fallback == style else fallback


def _interpolateLines(array: np.ndarray, isBad: np.ndarray, method: Interpolate.Style) -> None:
    """Fill the bad entries of every row of ``array`` that has both bad and good entries.

    The loop is over lines, not superpixels: each line is one vectorised
    interpolation, and lines differ in their good positions.
    """
    positions = np.arange(array.shape[1], dtype=np.float64)
    isGood = ~isBad
    toFill = np.flatnonzero(isBad.any(axis=1) & isGood.any(axis=1))
    for row in toFill:
        good, bad = isGood[row], isBad[row]
        array[row, bad] = interpolate1D(method, positions[good], array[row, good], positions[bad])


def interpolateBadPixels(array: np.ndarray, isBad: np.ndarray, interpolationStyle: str) -> None:
    """Replace bad entries of a 2-d array by interpolation, in place.

    First every row with both bad and good entries is interpolated along x
    (bad entries from the good ones, with `interpolate1D`); then every
    column along y, where the entries still to be filled are the NaN ones
    (rows without any good entry keep their values, which are NaN for
    superpixels without data).

    Parameters
    ----------
    array : `numpy.ndarray`
        The 2-d array (modified in place).
    isBad : `numpy.ndarray`
        Boolean array of the same shape, `True` where ``array`` is bad.
    interpolationStyle : `str`
        An afw interpolation style name: CONSTANT, LINEAR, NATURAL_SPLINE
        or AKIMA_SPLINE.

    Raises
    ------
    RuntimeError
        If every entry is bad.
    InvalidParameterError
        If ``interpolationStyle`` is not an afw interpolation style.
    """
    if array.ndim != 2 or isBad.shape != array.shape:
        raise ValueError(
            f"interpolateBadPixels: need a 2-d array and a bad-pixel array of the same shape, "
            f"got {array.shape} and {isBad.shape}"
        )
    if np.all(isBad):
        raise RuntimeError(
            f"interpolateBadPixels: all {isBad.size} values are bad; there is nothing to interpolate from"
        )
    method = stringToInterpStyle(interpolationStyle)
    _interpolateLines(array, isBad, method)
    stillBad = np.isnan(array)
    _interpolateLines(array.T, stillBad.T, method)


def smoothArray(array: np.ndarray, bad: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-smooth an array, ignoring (and filling) its bad entries.

    The result is the normalised convolution
    ``G * where(bad, 0, array) / G * where(bad, 0, 1)``, with zero beyond the
    array edges; entries too far from any good one come out NaN.

    Parameters
    ----------
    array : `numpy.ndarray`
        The values (not modified).
    bad : `numpy.ndarray`
        Boolean array, `True` for entries to ignore.
    sigma : `float`
        Gaussian sigma, in array entries.

    Returns
    -------
    smoothed : `numpy.ndarray`
        The smoothed array (float64).
    """
    convolved = gaussian_filter(np.where(bad, 0.0, array), sigma, mode="constant", cval=0.0)
    denominator = gaussian_filter(np.where(bad, 0.0, 1.0), sigma, mode="constant", cval=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return convolved / denominator


# Measuring superpixel boxes ----------------------------------------------------------------------


def _measureBoxes(
    image: np.ndarray, bad: np.ndarray, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Clipped mean (MEANCLIP) and number of usable pixels (NPOINT) in each box.

    Boxes are inclusive LOCAL index ranges ``[x0, x1] x [y0, y1]``; they may
    differ in size and overlap.  Statistics are afw's defaults (3 sigma,
    3 iterations), NaN-safe, over the pixels not flagged in ``bad``.
    """
    sctrl = StatisticsControl()
    sctrl.setNanSafe(True)
    stats = computeBoxStatistics(image, bad, 1, x0, y0, x1 - x0 + 1, y1 - y0 + 1, MEANCLIP | NPOINT, sctrl)
    return stats.getValue(MEANCLIP), stats.getValue(NPOINT)


class FocalPlaneBackground:
    """Background model of a whole focal plane, in superpixels.

    Build it with `fromCamera`, then either `addCcd` every detector of a
    visit into it, or `clone` it per detector, `addCcd` into the clones and
    `merge` them.  `getStatsImage` gives the per-superpixel background and
    `toCcdBackground` turns it into a detector's background model.

    Parameters
    ----------
    config : `FocalPlaneBackgroundConfig`
        Superpixel size, masking and interpolation.
    dims : `Extent2I`
        Number of superpixels along x and y.
    transform : `TransformPoint2ToPoint2`
        Focal-plane coordinates to sample (superpixel) coordinates.
    values : `ImageF`, optional
        Sums of ``clipped mean * pixel count`` per superpixel (the pixels
        are copied; the model's images always have xy0 = (0, 0)).
    numbers : `ImageF`, optional
        Usable-pixel counts per superpixel (copied likewise).

    Raises
    ------
    ValueError
        If ``dims`` is not positive or an image does not have ``dims``.
    """

    def __init__(
        self,
        config: FocalPlaneBackgroundConfig,
        dims: Extent2I,
        transform: TransformPoint2ToPoint2,
        values: ImageF | None = None,
        numbers: ImageF | None = None,
    ) -> None:
        self.config = config
        self.dims = Extent2I(int(dims[0]), int(dims[1]))
        if self.dims.x < 1 or self.dims.y < 1:
            raise ValueError(f"FocalPlaneBackground: dims must be positive, got {self.dims}")
        self.transform = transform
        self._values = self._checkedImage(values, "values")
        self._numbers = self._checkedImage(numbers, "numbers")
        self._statsCache: tuple[tuple[Any, ...], np.ndarray, np.ndarray, ImageF] | None = None

    def _checkedImage(self, image: ImageF | None, what: str) -> ImageF:
        if image is None:
            return ImageF(self.dims)
        if not isinstance(image, ImageF):
            raise TypeError(f"FocalPlaneBackground: {what} must be an ImageF, got {type(image).__name__}")
        if image.getDimensions() != self.dims:
            raise ValueError(
                f"FocalPlaneBackground: {what} image is {image.getDimensions()}, the model is {self.dims}"
            )
        return ImageF(image.array.copy())

    @classmethod
    def fromCamera(cls, config: FocalPlaneBackgroundConfig, camera: Camera) -> FocalPlaneBackground:
        """An empty model covering every detector of ``camera``.

        The focal-plane box is the union of all detector corners; the grid
        has ``ceil(size / superpixel size) + 2`` superpixels per axis (a
        buffer beyond the camera on each side) and sample coordinates
        ``s = (fp - boxMin) / (xSize, ySize) + 1``.

        Parameters
        ----------
        config : `FocalPlaneBackgroundConfig`
            The model's configuration (``xSize`` and ``ySize`` must be set).
        camera : `Camera`
            The camera whose focal plane is modelled.
        """
        _checkSuperpixelSize(config)
        if len(camera) == 0:
            raise ValueError(f"camera {camera.getName()!r} has no detectors")
        box = camera.getFpBBox()
        dims = Extent2I(
            int(np.ceil(box.getWidth() / config.xSize)) + 2, int(np.ceil(box.getHeight() / config.ySize)) + 2
        )
        # translate(1, 1) * scale(1/xSize, 1/ySize) * translate(-boxMin), composed as lsst.geom does.
        scaleX, scaleY = 1.0 / config.xSize, 1.0 / config.ySize
        transform = TransformPoint2ToPoint2(
            [[scaleX, 0.0], [0.0, scaleY]],
            [scaleX * -box.getMinX() + 1.0, scaleY * -box.getMinY() + 1.0],
        )
        return cls(config, dims, transform)

    @classmethod
    def fromSimilar(cls, other: FocalPlaneBackground) -> FocalPlaneBackground:
        """A `FocalPlaneBackground` copied from an object with the same interface."""
        return cls(other.config, other.dims, other.transform, other._values, other._numbers)

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__class__, (self.config, self.dims, self.transform, self._values, self._numbers)

    def clone(self) -> FocalPlaneBackground:
        """A copy with its own values and counts (config and transform are shared)."""
        return self.__class__(self.config, self.dims, self.transform, self._values, self._numbers)

    # Accumulated data -----------------------------------------------------------------------------
    def getValues(self) -> ImageF:
        """Per superpixel, the sum over detectors of ``clipped mean * count`` (the live image)."""
        return self._values

    def getCounts(self) -> ImageF:
        """Per superpixel, the number of usable pixels added so far (the live image)."""
        return self._numbers

    # Adding detectors ---------------------------------------------------------------------------------
    def addCcd(self, exposure: ExposureF) -> None:
        """Measure one detector's background in every superpixel it covers.

        Parameters
        ----------
        exposure : `ExposureF`
            The detector's image; it must carry its `Detector`.  Pixels with
            any of ``config.mask`` set (bits from the exposure's own mask
            dictionary) or non-finite values are left out.

        Raises
        ------
        ValueError
            If the exposure has no detector or its mask lacks a plane of
            ``config.mask``.
        """
        detector = exposure.getDetector()
        if detector is None:
            raise ValueError("FocalPlaneBackground.addCcd: the exposure has no detector")
        maskedImage = exposure.getMaskedImage()
        mask = maskedImage.getMask()
        missing = [name for name in self.config.mask if name not in mask.getMaskPlaneDict()]
        if missing:
            raise ValueError(
                f"detector {detector.getId()}: mask planes {missing} of config.mask are not defined in the "
                f"exposure's mask (planes: {sorted(mask.getMaskPlaneDict())})"
            )
        andMask = mask.getPlaneBitMask(list(self.config.mask)) if self.config.mask else 0
        bad = (mask.array & andMask) != 0
        self.addCcdArrays(detector, maskedImage.getBBox(), maskedImage.image.array, bad)

    def addCcdArrays(self, detector: Detector, bbox: Box2I, image: np.ndarray, bad: np.ndarray) -> None:
        """Measure one detector's background from plain arrays (what `addCcd` does).

        For every superpixel ``(xx, yy)`` the detector can touch, the corners
        ``(xx - 0.5, yy - 0.5)`` and ``(xx + 0.5, yy + 0.5)`` are mapped to
        detector pixels, rounded as ``Point2I`` rounds (``floor(v + 0.5)``),
        made into an inclusive box and clipped to ``bbox``; the clipped mean
        (MEANCLIP, 3 sigma, 3 iterations) and count (NPOINT) of the usable
        pixels in that box are added to the superpixel's value
        (``mean * count``) and count.  Superpixels with an empty box or a
        non-finite mean are skipped.

        Parameters
        ----------
        detector : `Detector`
            Where the pixels sit in the focal plane.
        bbox : `Box2I`
            PARENT bounding box of ``image`` (pixel coordinates of the
            detector's PIXELS system).
        image : `numpy.ndarray`
            2-d float32 (or float64) pixel values; non-finite pixels are
            ignored.  Not modified.
        bad : `numpy.ndarray`
            2-d bool, `True` for pixels to leave out.

        Raises
        ------
        ValueError
            If the arrays do not match ``bbox`` or each other.
        TypeError
            If ``image`` is not floating point or ``bad`` not boolean.
        """
        where = f"detector {detector.getId()}"
        shape = (bbox.getHeight(), bbox.getWidth())
        if image.ndim != 2 or image.shape != shape:
            raise ValueError(f"{where}: image has shape {image.shape}, its bbox {bbox} needs {shape}")
        if image.dtype not in (np.float32, np.float64):
            raise TypeError(f"{where}: image must be float32 or float64, got {image.dtype}")
        if bad.shape != image.shape:
            raise ValueError(f"{where}: bad-pixel array has shape {bad.shape}, the image {image.shape}")
        if bad.dtype != np.bool_:
            raise TypeError(f"{where}: bad-pixel array must be bool, got {bad.dtype}")

        toSample = detector.getTransform(PIXELS, FOCAL_PLANE).then(self.transform)
        cellX, cellY = self._candidateCells(toSample, bbox)
        llcX, llcY = toSample.applyInverse((cellX - 0.5, cellY - 0.5))
        urcX, urcY = toSample.applyInverse((cellX + 0.5, cellY + 0.5))
        # Point2I(Point2D) rounding, then Box2I(p1, p2) (min/max) clipped to the image.
        llcX, llcY = np.floor(llcX + 0.5), np.floor(llcY + 0.5)
        urcX, urcY = np.floor(urcX + 0.5), np.floor(urcY + 0.5)
        x0 = np.maximum(np.minimum(llcX, urcX), bbox.getMinX())
        x1 = np.minimum(np.maximum(llcX, urcX), bbox.getMaxX())
        y0 = np.maximum(np.minimum(llcY, urcY), bbox.getMinY())
        y1 = np.minimum(np.maximum(llcY, urcY), bbox.getMaxY())
        nonEmpty = (x0 <= x1) & (y0 <= y1)
        cellX, cellY = cellX[nonEmpty], cellY[nonEmpty]
        x0, x1 = (
            (x0[nonEmpty] - bbox.getMinX()).astype(np.intp),
            (x1[nonEmpty] - bbox.getMinX()).astype(np.intp),
        )
        y0, y1 = (
            (y0[nonEmpty] - bbox.getMinY()).astype(np.intp),
            (y1[nonEmpty] - bbox.getMinY()).astype(np.intp),
        )
        if cellX.size == 0:
            _log.debug("%s does not overlap any superpixel of the focal-plane model", where)
            return

        mean, count = _measureBoxes(image, bad, x0, y0, x1, y1)
        measured = np.isfinite(mean) & np.isfinite(count)
        cellX, cellY = cellX[measured], cellY[measured]
        # The reference writes mean * count into a float32 image and adds it.
        self._values.array[cellY, cellX] += (mean[measured] * count[measured]).astype(np.float32)
        self._numbers.array[cellY, cellX] += count[measured].astype(np.float32)
        _log.debug(
            "%s: measured %d superpixels (%d boxes), %d usable pixels",
            where,
            cellX.size,
            mean.size,
            int(count[measured].sum()),
        )

    def _candidateCells(
        self, toSample: TransformPoint2ToPoint2, bbox: Box2I
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sample indices of every superpixel whose box can overlap ``bbox``.

        A superpixel's box spans the pixel positions of two opposite corners
        of the superpixel, rounded by up to half a pixel; if it shares a pixel
        with ``bbox``, that pixel lies within ``L + 1/sqrt(2)`` pixels of a
        corner, where ``L`` is the length of the superpixel's diagonal in
        pixels, i.e. within ``R = ||J|| (L + 1)`` sample units (``J`` the
        pixel-to-sample Jacobian) of the detector's footprint.  Superpixels
        further than that cannot contribute.
        """
        corners = Box2D(bbox).getCorners()
        sampleX, sampleY = toSample.applyForward(
            (np.array([c.x for c in corners]), np.array([c.y for c in corners]))
        )
        jacobian = toSample.getJacobian()
        diagonal = float(np.linalg.norm(np.linalg.solve(jacobian, np.ones(2))))
        reach = float(np.linalg.norm(jacobian, 2)) * (diagonal + 1.0)
        lowX = max(int(np.floor(sampleX.min() - reach)), 0)
        highX = min(int(np.ceil(sampleX.max() + reach + 1.0)), self.dims.x - 1)
        lowY = max(int(np.floor(sampleY.min() - reach)), 0)
        highY = min(int(np.ceil(sampleY.max() + reach + 1.0)), self.dims.y - 1)
        if lowX > highX or lowY > highY:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
        gridX, gridY = np.meshgrid(np.arange(lowX, highX + 1), np.arange(lowY, highY + 1))
        return gridX.reshape(-1), gridY.reshape(-1)

    # Combining models -------------------------------------------------------------------------------
    def merge(self, other: FocalPlaneBackground) -> FocalPlaneBackground:
        """Add another model's values and counts to this one.

        Parameters
        ----------
        other : `FocalPlaneBackground`
            A model of the same superpixel size and dimensions (typically a
            clone of the same parent that measured other detectors).

        Returns
        -------
        self : `FocalPlaneBackground`
            This model, now holding both.

        Raises
        ------
        RuntimeError
            If the superpixel sizes or the dimensions differ.
        """
        if (self.config.xSize, self.config.ySize) != (other.config.xSize, other.config.ySize):
            raise RuntimeError(
                "cannot merge focal-plane backgrounds with different superpixel sizes: "
                f"{(self.config.xSize, self.config.ySize)} vs {(other.config.xSize, other.config.ySize)}"
            )
        if self.dims != other.dims:
            raise RuntimeError(
                f"cannot merge focal-plane backgrounds with different dimensions: {self.dims} vs {other.dims}"
            )
        self._values += other._values
        self._numbers += other._numbers
        return self

    def __iadd__(self, other: FocalPlaneBackground) -> FocalPlaneBackground:
        return self.merge(other)

    # Results ---------------------------------------------------------------------------------------------
    def _statsKey(self) -> tuple[Any, ...]:
        config = self.config
        return (
            config.xSize,
            config.ySize,
            config.pixelSize,
            config.minFrac,
            config.doSmooth,
            config.smoothScale,
            config.interpolation,
        )

    def getStatsImage(self) -> ImageF:
        """The background of every superpixel.

        Each superpixel's value is ``values / counts``; superpixels with
        fewer than ``minFrac * (xSize / pixelSize) * (ySize / pixelSize)``
        usable pixels are bad.  With ``doSmooth`` the values are first
        smoothed (`smoothArray`, sigma ``smoothScale``) and the bad ones are
        then those the smoothing could not reach; bad superpixels are finally
        filled by `interpolateBadPixels` with ``config.interpolation``.

        Returns
        -------
        statsImage : `ImageF`
            A new image of ``dims`` superpixels.

        Raises
        ------
        RuntimeError
            If every superpixel is bad.
        """
        key = self._statsKey()
        cache = self._statsCache
        if (
            cache is not None
            and cache[0] == key
            and np.array_equal(cache[1], self._values.array, equal_nan=True)
            and np.array_equal(cache[2], self._numbers.array, equal_nan=True)
        ):
            return cache[3].clone()

        values = self._values.clone()
        with np.errstate(divide="ignore", invalid="ignore"):
            values /= self._numbers
        config = self.config
        threshold = config.minFrac * (config.xSize / config.pixelSize) * (config.ySize / config.pixelSize)
        isBad = self._numbers.array < threshold
        if config.doSmooth:
            values.array[...] = smoothArray(values.array, isBad, config.smoothScale)
            isBad = np.isnan(values.array)
        if np.any(isBad):
            if np.all(isBad):
                raise RuntimeError(
                    f"no superpixel of the focal-plane background has {threshold:g} or more usable pixels "
                    f"(minFrac={config.minFrac}); there is nothing to interpolate from"
                )
            interpolateBadPixels(values.array, isBad, _interpStyle(config).name)
        self._statsCache = (key, self._values.array.copy(), self._numbers.array.copy(), values.clone())
        return values

    def toCcdBackground(self, detector: Detector, bbox: Box2I) -> BackgroundList:
        """The model as a background of one detector.

        The superpixel values (`getStatsImage`) are warped bilinearly onto a
        grid of ``bbox.getDimensions() // binning`` cells, cell ``b`` being
        sampled at detector pixel ``(b + 0.5) * binning``, and normalised by
        an all-ones image warped the same way.  Cells outside the model are
        flagged BAD and set to the mean of the others.

        As in the reference, the sampling positions ignore ``bbox``'s
        origin, and `BackgroundMI` places cell ``b``'s node at pixel
        ``(b + 0.5) * binning - 0.5``: the model is half a pixel off the
        positions it was sampled at.

        Parameters
        ----------
        detector : `Detector`
            The detector.
        bbox : `Box2I`
            The detector image's bounding box (its dimensions set the grid).

        Returns
        -------
        background : `BackgroundList`
            One element: ``(BackgroundMI(bbox, statsImage), interpolation
            style, REDUCE_INTERP_ORDER, ApproximateControl.UNKNOWN, 0, 0,
            False)``.

        Raises
        ------
        ValueError
            If ``bbox`` holds no complete ``binning`` x ``binning`` cell, or
            the whole detector lies outside the model.
        """
        binning = self.config.binning
        where = f"detector {detector.getId()}"
        gridDims = bbox.getDimensions() // binning
        if gridDims.x < 1 or gridDims.y < 1:
            raise ValueError(f"{where}: bbox {bbox} is smaller than one {binning}x{binning}-pixel cell")
        style = _interpStyle(self.config)
        # Binned cell -> detector pixel -> focal plane -> sample.
        binToPixels = TransformPoint2ToPoint2(
            [[binning, 0.0], [0.0, binning]], [0.5 * binning, 0.5 * binning]
        )
        toSample = binToPixels.then(detector.getTransform(PIXELS, FOCAL_PLANE)).then(self.transform)

        focalPlane = self.getStatsImage()
        ones = ImageF(focalPlane.getBBox(), initialValue=1.0)
        image = ImageF(gridDims)
        norm = ImageF(gridDims)
        control = WarpingControl("bilinear")
        warpImage(image, focalPlane, toSample.inverted(), control)
        warpImage(norm, ones, toSample.inverted(), control)
        with np.errstate(divide="ignore", invalid="ignore"):
            image /= norm

        mask = Mask(image.getBBox())
        isBad = np.isnan(image.array)
        if isBad.all():
            raise ValueError(f"{where} lies entirely outside the focal-plane background model")
        mask.array[isBad] = mask.getPlaneBitMask("BAD")
        image.array[isBad] = image.array[~isBad].mean()
        return BackgroundList(
            (
                BackgroundMI(bbox, makeMaskedImage(image, mask)),
                style,
                REDUCE_INTERP_ORDER,
                ApproximateControl.UNKNOWN,
                0,
                0,
                False,
            )
        )

    def __repr__(self) -> str:
        return (
            f"FocalPlaneBackground(dims={self.dims}, superpixel={self.config.xSize}x{self.config.ySize}, "
            f"pixels={float(self._numbers.array.sum()):g})"
        )
