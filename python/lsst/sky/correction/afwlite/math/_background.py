"""A background model on a grid of cells (``lsst.afw.math.BackgroundMI``).

The model is a "stats image": one value per cell (image plane), its error
(variance plane, holding sigma, not its square, as afw does) and an unused mask.  `getImageF`
interpolates it to full resolution (or fits a Chebyshev polynomial when the
control asks for an approximation), with afw's numerics.
"""

from __future__ import annotations

__all__ = ["BackgroundMI", "makeBackground"]

import copy
from typing import Any, Self

import numpy as np

from ..geom import Box2I, Extent2I, Point2I
from ..image import ImageF, MaskedImageF
from ._approximate import ApproximateControl, ApproximateF, makeApproximate
from ._background_control import (
    BackgroundControl,
    UndersampleStyle,
    stringToUndersampleStyle,
)
from ._background_image import interpolateGrid
from ._bin_geometry import binGeometry
from ._binning import makeBackgroundStatsImage
from ._errors import InvalidParameterError, LengthError
from ._interpolate import Interpolate, lookupMaxInterpStyle, lookupMinInterpPoints, stringToInterpStyle


def _asInterpStyle(style: Interpolate.Style | int | str) -> Interpolate.Style:
    return stringToInterpStyle(style) if isinstance(style, str) else Interpolate.Style(style)


def _asUndersampleStyle(style: UndersampleStyle | int | str) -> UndersampleStyle:
    return stringToUndersampleStyle(style) if isinstance(style, str) else UndersampleStyle(style)


class BackgroundMI:
    """A background model: cell statistics plus how to interpolate them.

    Construct as afw does, either from a measured grid or by measuring one:

    * ``BackgroundMI(imageBBox, statsImage)``: ``imageBBox`` is the PARENT box
      of the full-resolution image and ``statsImage`` a `MaskedImageF` with one
      pixel per cell.  The stats image is kept, not copied: changing its
      pixels changes the model (pipe_tasks scales backgrounds that way).
    * ``BackgroundMI(image, bctrl)`` (or `makeBackground`): measure
      ``bctrl``'s statistic in an ``nxSample`` by ``nySample`` grid of cells of
      an `ImageF` or `MaskedImageF`.

    The control is a copy of ``bctrl`` sharing its statistics and
    approximation controls (afw copies it the same way); a model built from a
    stats image gets ``BackgroundControl(nx, ny)`` defaults.
    """

    def __init__(
        self, source: Box2I | ImageF | MaskedImageF, second: MaskedImageF | BackgroundControl
    ) -> None:
        # What the last getImageF used; afw starts with UNKNOWN and THROW_EXCEPTION.
        self._asUsedInterpStyle = Interpolate.UNKNOWN
        self._asUsedUndersampleStyle = UndersampleStyle.THROW_EXCEPTION
        if isinstance(source, Box2I):
            if not isinstance(second, MaskedImageF):
                raise TypeError(
                    f"BackgroundMI(imageBBox, statsImage) needs a MaskedImageF stats image, "
                    f"got {type(second).__name__}"
                )
            self._init_from_stats(source, second)
        elif isinstance(source, ImageF | MaskedImageF):
            if not isinstance(second, BackgroundControl):
                raise TypeError(
                    f"BackgroundMI(image, bctrl) needs a BackgroundControl, got {type(second).__name__}"
                )
            self._init_from_image(source, second)
        else:
            raise TypeError(
                "BackgroundMI takes (Box2I, MaskedImageF) or (ImageF | MaskedImageF, BackgroundControl), "
                f"not ({type(source).__name__}, {type(second).__name__})"
            )

    def _init_from_stats(self, imageBBox: Box2I, statsImage: MaskedImageF) -> None:
        self._statsImage = statsImage
        self._setGeometry(imageBBox)
        self._bctrl = BackgroundControl(statsImage.getWidth(), statsImage.getHeight())

    def _init_from_image(self, image: ImageF | MaskedImageF, bctrl: BackgroundControl) -> None:
        masked = image if isinstance(image, MaskedImageF) else MaskedImageF(image)
        nx, ny = bctrl.getNxSample(), bctrl.getNySample()
        self._statsImage = makeBackgroundStatsImage(
            masked, nx, ny, bctrl.getStatisticsProperty(), bctrl.getStatisticsControl()
        )
        self._setGeometry(image.getBBox())
        self._bctrl = copy.copy(bctrl)

    def _setGeometry(self, imageBBox: Box2I) -> None:
        if imageBBox.isEmpty():
            raise InvalidParameterError("Image contains no pixels: the background's image bbox is empty")
        nx, ny = self._statsImage.getWidth(), self._statsImage.getHeight()
        if nx < 1 or ny < 1:
            raise InvalidParameterError(f"the background stats image is empty ({nx}x{ny})")
        if imageBBox.getWidth() < nx or imageBBox.getHeight() < ny:
            raise InvalidParameterError(
                f"a {nx}x{ny} stats image cannot describe an image of only "
                f"{imageBBox.getWidth()}x{imageBBox.getHeight()} pixels ({imageBBox})"
            )
        self._imgBBox = Box2I(imageBBox)
        self._xcen = binGeometry(imageBBox.getWidth(), nx).center
        self._ycen = binGeometry(imageBBox.getHeight(), ny).center

    # Accessors ----------------------------------------------------------------------------------
    def getStatsImage(self) -> MaskedImageF:
        """The cell statistics themselves (not a copy): edits change the model."""
        return self._statsImage

    def getImageBBox(self) -> Box2I:
        """The PARENT bounding box of the full-resolution image."""
        return Box2I(self._imgBBox)

    def getBackgroundControl(self) -> BackgroundControl:
        """The live control (its styles are what ``getImageF()`` uses)."""
        return self._bctrl

    def getAsUsedInterpStyle(self) -> Interpolate.Style:
        """The style the last `getImageF` used (UNKNOWN before the first call)."""
        return self._asUsedInterpStyle

    def getAsUsedUndersampleStyle(self) -> UndersampleStyle:
        """The undersample style the last `getImageF` was given."""
        return self._asUsedUndersampleStyle

    def getBinCentersX(self) -> np.ndarray:
        """The PARENT x coordinate of the centre of each column of cells."""
        return self._xcen + self._imgBBox.getMinX()

    def getBinCentersY(self) -> np.ndarray:
        """The PARENT y coordinate of the centre of each row of cells."""
        return self._ycen + self._imgBBox.getMinY()

    def clone(self) -> BackgroundMI:
        """A deep copy: stats image, control and as-used styles (an afwlite addition)."""
        twin = BackgroundMI(self._imgBBox, self._statsImage.clone())
        twin._bctrl = copy.deepcopy(self._bctrl)
        twin._asUsedInterpStyle = self._asUsedInterpStyle
        twin._asUsedUndersampleStyle = self._asUsedUndersampleStyle
        return twin

    # Arithmetic on the model ----------------------------------------------------------------------
    def __iadd__(self, delta: float) -> Self:
        """Add a constant to the model (the stats image plane; the errors are unchanged)."""
        self._statsImage += float(delta)
        return self

    def __isub__(self, delta: float) -> Self:
        """Subtract a constant from the model (the stats image plane only)."""
        self._statsImage -= float(delta)
        return self

    def __imul__(self, factor: float) -> Self:
        """Scale the model, as ``getStatsImage() *= factor`` does (variance plane times factor**2)."""
        self._statsImage *= float(factor)
        return self

    def __itruediv__(self, divisor: float) -> Self:
        """Divide the model, as ``getStatsImage() /= divisor`` does (variance plane over divisor**2)."""
        self._statsImage /= float(divisor)
        return self

    # Evaluation ------------------------------------------------------------------------------------
    def getImageF(self, *args: Any, **kwargs: Any) -> ImageF:
        """The background at full resolution, as float32.

        Call as ``getImageF()`` (the control's styles),
        ``getImageF(interpStyle, undersampleStyle=THROW_EXCEPTION)`` or
        ``getImageF(bbox, interpStyle, undersampleStyle=THROW_EXCEPTION)``;
        styles may be given by name.

        Parameters
        ----------
        bbox : `Box2I`, optional
            The PARENT region to return (default: the whole image).  The
            result is exactly that crop of the whole-image background.
        interpStyle : `Interpolate.Style` or `str`
            The interpolation style.
        undersampleStyle : `UndersampleStyle` or `str`
            What to do when there are too few cells for the style.

        Returns
        -------
        image : `ImageF`
            The background, with xy0 at the bbox minimum.  When the control
            asks for a Chebyshev approximation, the whole image is returned
            with xy0 = (0, 0) whatever the bbox, as in afw.

        Raises
        ------
        InvalidParameterError
            If the grid is too small for the style under THROW_EXCEPTION (or
            INCREASE_NXNYSAMPLE, which is not supported).
        OutOfRangeError
            If NaN cells leave a column or row with too few values under
            THROW_EXCEPTION.
        LengthError
            If ``bbox`` is not inside the image.
        """
        if not args and not kwargs:
            return self._getImage(
                self._imgBBox, self._bctrl.getInterpStyle(), self._bctrl.getUndersampleStyle()
            )
        if (args and isinstance(args[0], Box2I)) or "bbox" in kwargs:
            return self._getImage(*args, **kwargs)
        return self._getImage(self._imgBBox, *args, **kwargs)

    def _getImage(
        self,
        bbox: Box2I,
        interpStyle: Interpolate.Style | int | str,
        undersampleStyle: UndersampleStyle | int | str = UndersampleStyle.THROW_EXCEPTION,
    ) -> ImageF:
        if not self._imgBBox.contains(bbox):
            raise LengthError(f"BBox {bbox} is not inside the background's image bbox {self._imgBBox}")
        undersample = _asUndersampleStyle(undersampleStyle)
        style = self._chooseStyle(_asInterpStyle(interpStyle), undersample)

        actrl = self._bctrl.getApproximateControl()
        if actrl.getStyle() != ApproximateControl.UNKNOWN:
            return self.getApproximate(actrl, undersample).getImage()

        region = (
            bbox.getMinX() - self._imgBBox.getMinX(),
            bbox.getMinY() - self._imgBBox.getMinY(),
            bbox.getWidth(),
            bbox.getHeight(),
        )
        pixels = interpolateGrid(
            self._statsImage.image.array,
            self._xcen,
            self._ycen,
            self._imgBBox.getHeight(),
            region,
            style,
            undersample,
        )
        return ImageF(pixels, xy0=bbox.getMin())

    def _chooseStyle(self, style: Interpolate.Style, undersample: UndersampleStyle) -> Interpolate.Style:
        """Apply afw's global undersampling check and record the as-used styles."""
        self._asUsedInterpStyle = style
        self._asUsedUndersampleStyle = undersample
        nx, ny = self._statsImage.getWidth(), self._statsImage.getHeight()
        needed = lookupMinInterpPoints(style)
        xUnder, yUnder = nx < needed, ny < needed
        if not (xUnder or yUnder):
            return style
        if undersample == UndersampleStyle.REDUCE_INTERP_ORDER:
            style = lookupMaxInterpStyle(nx) if nx < ny else lookupMaxInterpStyle(ny)
            self._asUsedInterpStyle = style
            return style
        if undersample == UndersampleStyle.INCREASE_NXNYSAMPLE:
            raise InvalidParameterError(
                "The BackgroundControl UndersampleStyle INCREASE_NXNYSAMPLE is not supported."
            )
        which = {(True, True): "nxSample and nySample have", (True, False): "nxSample has"}.get(
            (xUnder, yUnder), "nySample has"
        )
        raise InvalidParameterError(
            f"{which} too few points for requested interpolation style: a {nx}x{ny} grid, "
            f"{style.name} needs {needed} per axis (use REDUCE_INTERP_ORDER to reduce the order)"
        )

    def getApproximate(
        self,
        actrl: ApproximateControl,
        undersampleStyle: UndersampleStyle | int | str = UndersampleStyle.THROW_EXCEPTION,
    ) -> ApproximateF:
        """A Chebyshev fit to the cells over the LOCAL image box, ``(0, 0)`` to ``(W-1, H-1)``."""
        localBBox = Box2I(Point2I(0, 0), Extent2I(self._imgBBox.getWidth(), self._imgBBox.getHeight()))
        return makeApproximate(self._xcen, self._ycen, self._statsImage, localBBox, actrl)

    def __repr__(self) -> str:
        return (
            f"BackgroundMI(imageBBox={self._imgBBox!r}, "
            f"grid={self._statsImage.getWidth()}x{self._statsImage.getHeight()})"
        )


def makeBackground(image: ImageF | MaskedImageF, bgCtrl: BackgroundControl) -> BackgroundMI:
    """Measure a background model of ``image`` (``lsst.afw.math.makeBackground``)."""
    return BackgroundMI(image, bgCtrl)
