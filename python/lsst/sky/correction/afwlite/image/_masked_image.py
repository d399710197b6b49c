"""Image, mask and variance together (``lsst.afw.image.MaskedImageF``).

Arithmetic follows afw's pixel rules (lsst/afw ``MaskedImage.cc``,
``image/Pixel.h``):

====================  ===============  ===============  ============================
operation             image            mask             variance
====================  ===============  ===============  ============================
``± scalar``          ``± c``          unchanged        unchanged
``*/ scalar``         ``*/ c``         unchanged        ``*/ c²``
``± ImageF``          ``± I``          unchanged        unchanged
``*/ ImageF``         ``*/ I``         unchanged        ``*/ I²``
``± MaskedImageF``    ``± I``          OR               ``+ V``
``* MaskedImageF``    ``* I``          OR               ``I₂²V₁ + I₁²V₂``
``/ MaskedImageF``    ``/ I``          OR               ``(I₂²V₁ + I₁²V₂) / I₂⁴``
====================  ===============  ===============  ============================
"""

from __future__ import annotations

__all__ = ["MaskedImageF", "makeMaskedImage"]

import os
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from ..geom import Box2I, Extent2I, Point2I
from ._fits_io import fitsIO
from ._image import PARENT, ImageBase, ImageF, ImageOrigin, PlaneGeometry, interpretIndex
from ._mask import Mask

if TYPE_CHECKING:
    from ._property_list import PropertyList


class MaskedImageF(PlaneGeometry):
    """An `ImageF`, a `Mask` and a variance `ImageF` with one bounding box.

    Parameters
    ----------
    arg : `Box2I`, `Extent2I`, `int`, `ImageF`, `MaskedImageF` or `str`
        A bounding box, dimensions, a width (with ``height``), an image
        (with optional ``mask`` and ``variance``; shared, not copied),
        another masked image (a view of ``bbox`` in it, or a copy if
        ``deep``), or a FITS file name (``bbox`` then selects the region
        read).
    height : `int`, optional
        The height, when ``arg`` is a width.
    mask, variance : optional
        The other planes when ``arg`` is an `ImageF`; zeros when absent.
    planeDict : optional
        The mask plane dictionary of a newly made mask.
    metadata, imageMetadata, maskMetadata, varianceMetadata : `PropertyList`, optional
        When ``arg`` is a FITS file name: filled with the primary and plane
        headers, as afw's reader does.
    needAllHdus, allowUnsafe : `bool`
        When reading a file: raise if mask or variance is missing (instead of
        using zeros); convert pixel types that do not fit.
    """

    _image: ImageF
    _mask: Mask
    _variance: ImageF

    def __init__(
        self,
        arg: Any = None,
        height: int | Mask | None = None,
        mask: Mask | ImageF | None = None,
        variance: ImageF | None = None,
        *,
        deep: bool = False,
        bbox: Box2I | None = None,
        origin: ImageOrigin = PARENT,
        planeDict: Any = None,
        metadata: PropertyList | None = None,
        imageMetadata: PropertyList | None = None,
        maskMetadata: PropertyList | None = None,
        varianceMetadata: PropertyList | None = None,
        needAllHdus: bool = False,
        allowUnsafe: bool = False,
    ) -> None:
        if isinstance(arg, ImageF) and isinstance(height, Mask):
            # afw's positional MaskedImageF(image, mask[, variance]).
            if variance is not None:
                raise TypeError("MaskedImageF(image, mask, variance) takes at most three planes")
            height, mask, variance = None, height, mask  # type: ignore[assignment]
        if isinstance(arg, str | os.PathLike):
            # afw's MaskedImage(fileName, metadata, bbox, origin, ...).
            loaded = fitsIO().readMaskedImage(
                arg,
                bbox=bbox,
                origin=origin,
                needAllHdus=needAllHdus,
                allowUnsafe=allowUnsafe,
                metadata=metadata,
                imageMetadata=imageMetadata,
                maskMetadata=maskMetadata,
                varianceMetadata=varianceMetadata,
            )
            self._image, self._mask, self._variance = loaded._image, loaded._mask, loaded._variance
            return
        if isinstance(arg, MaskedImageF) and isinstance(height, Box2I):
            # afw's positional MaskedImage(rhs, bbox[, origin, deep]).
            bbox, height = height, None
        elif isinstance(arg, MaskedImageF) and isinstance(height, bool):
            # afw's positional MaskedImage(rhs, deep).
            deep, height = height, None
        if isinstance(arg, MaskedImageF):
            view: dict[str, Any] = {"bbox": bbox, "origin": origin} if bbox is not None else {}
            self._image = ImageF(arg._image, deep=deep, **view)
            self._mask = Mask(arg._mask, deep=deep, **view)
            self._variance = ImageF(arg._variance, deep=deep, **view)
            return
        if isinstance(arg, ImageF):
            image = ImageF(arg, deep=True) if deep else arg
            if mask is None:
                mask = Mask(image.getBBox(), planeDict=planeDict)
            if not isinstance(mask, Mask):
                raise TypeError(f"MaskedImageF: the mask plane must be a Mask, not {type(mask).__name__}")
            if variance is None:
                variance = ImageF(image.getBBox())
            self._image, self._mask, self._variance = image, mask, variance
            self._check_planes()
            return
        if isinstance(arg, int | np.integer):
            arg = Extent2I(int(arg), 0 if height is None else int(height))  # type: ignore[arg-type]
        if arg is None:
            arg = Extent2I(0, 0)
        self._image = ImageF(arg)
        self._mask = Mask(arg, planeDict=planeDict)
        self._variance = ImageF(arg)

    def _check_planes(self) -> None:
        shapes = {self._image.array.shape, self._mask.array.shape, self._variance.array.shape}
        if len(shapes) != 1:
            raise ValueError(
                "image, mask and variance dimensions differ: "
                f"{self._image.getDimensions()}, {self._mask.getDimensions()}, "
                f"{self._variance.getDimensions()}"
            )
        xy0s = {(p.getX0(), p.getY0()) for p in (self._image, self._mask, self._variance)}
        if len(xy0s) != 1:
            raise ValueError(f"image, mask and variance origins differ: {sorted(xy0s)}")

    # Planes ----------------------------------------------------------------
    @property
    def image(self) -> ImageF:
        return self._image

    @image.setter
    def image(self, value: ImageF) -> None:
        self._image.assign(value)

    @property
    def mask(self) -> Mask:
        return self._mask

    @mask.setter
    def mask(self, value: Mask) -> None:
        self._mask.assign(value)

    @property
    def variance(self) -> ImageF:
        return self._variance

    @variance.setter
    def variance(self, value: ImageF) -> None:
        self._variance.assign(value)

    def getImage(self) -> ImageF:
        return self._image

    def getMask(self) -> Mask:
        return self._mask

    def getVariance(self) -> ImageF:
        return self._variance

    # Geometry (getters from PlaneGeometry) ---------------------------------------
    def setXY0(self, xy0: Point2I) -> None:
        for plane in (self._image, self._mask, self._variance):
            plane.setXY0(xy0)

    # Copies and views ------------------------------------------------------
    def clone(self) -> Self:
        return type(self)(self, deep=True)

    def Factory(self, *args: Any, **kwargs: Any) -> Self:
        return type(self)(*args, **kwargs)

    def subset(self, bbox: Box2I, origin: ImageOrigin = PARENT) -> Self:
        return type(self)(self, bbox=bbox, origin=origin)

    def __getitem__(self, index: Any) -> Any:
        box, point, origin = interpretIndex(index, self.getBBox)
        if box is not None:
            return self.subset(box, origin)
        # afw returns one pixel of a MaskedImage as (image, mask, variance).
        return (self._image[point, origin], self._mask[point, origin], self._variance[point, origin])

    def __setitem__(self, index: Any, value: Any) -> None:
        box, point, origin = interpretIndex(index, self.getBBox)
        if box is None:
            self._image[point, origin], self._mask[point, origin], self._variance[point, origin] = value
            return
        target = self.subset(box, origin)
        if isinstance(value, MaskedImageF):
            target.assign(value)
        else:
            target.set(value)

    def assign(self, rhs: MaskedImageF, bbox: Box2I | None = None, origin: ImageOrigin = PARENT) -> None:
        self._image.assign(rhs._image, bbox, origin)
        self._mask.assign(rhs._mask, bbox, origin)
        self._variance.assign(rhs._variance, bbox, origin)

    def set(self, image: Any, mask: Any = None, variance: Any = None) -> None:
        """Set every pixel; a tuple ``(image, mask, variance)`` is accepted too."""
        if isinstance(image, tuple):
            image, mask, variance = image
        self._image.set(image)
        if mask is not None:
            self._mask.set(mask)
        if variance is not None:
            self._variance.set(variance)

    # Arithmetic --------------------------------------------------------------
    def _check_size(self, other: MaskedImageF | ImageBase) -> None:
        if other.getDimensions() != self.getDimensions():
            raise ValueError(
                f"images are of different size: {self.getDimensions()} vs {other.getDimensions()}"
            )

    def __iadd__(self, other: Any) -> Self:
        if isinstance(other, MaskedImageF):
            self._check_size(other)
            self._image.array += other._image.array
            self._mask.array |= other._mask.array
            self._variance.array += other._variance.array
        else:
            self._image += other
        return self

    def __isub__(self, other: Any) -> Self:
        if isinstance(other, MaskedImageF):
            self._check_size(other)
            self._image.array -= other._image.array
            self._mask.array |= other._mask.array
            self._variance.array += other._variance.array
        else:
            self._image -= other
        return self

    def __imul__(self, other: Any) -> Self:
        if isinstance(other, MaskedImageF):
            self._check_size(other)
            lhs, rhs = self._image.array, other._image.array
            self._variance.array[...] = rhs * rhs * self._variance.array + lhs * lhs * other._variance.array
            lhs *= rhs
            self._mask.array |= other._mask.array
        elif isinstance(other, ImageF):
            self._check_size(other)
            self._image.array *= other.array
            self._variance.array *= other.array
            self._variance.array *= other.array
        else:
            factor = np.float32(other)
            self._image.array *= factor
            self._variance.array *= factor * factor
        return self

    def __itruediv__(self, other: Any) -> Self:
        if isinstance(other, MaskedImageF):
            self._check_size(other)
            lhs, rhs = self._image.array, other._image.array
            rhs2 = rhs * rhs
            self._variance.array[...] = (rhs2 * self._variance.array + lhs * lhs * other._variance.array) / (
                rhs2 * rhs2
            )
            lhs /= rhs
            self._mask.array |= other._mask.array
        elif isinstance(other, ImageF):
            self._check_size(other)
            self._image.array /= other.array
            self._variance.array /= other.array
            self._variance.array /= other.array
        else:
            divisor = np.float32(other)
            self._image.array /= divisor
            self._variance.array /= divisor * divisor
        return self

    def scaledPlus(self, c: float, other: MaskedImageF) -> None:
        """``self += c * other`` with afw's variance rule (``+ c² V``)."""
        self._check_size(other)
        c32 = np.float32(c)
        self._image.array += c32 * other._image.array
        self._mask.array |= other._mask.array
        self._variance.array += c32 * c32 * other._variance.array

    def scaledMinus(self, c: float, other: MaskedImageF) -> None:
        """``self -= c * other`` with afw's variance rule (``+ c² V``)."""
        self._check_size(other)
        c32 = np.float32(c)
        self._image.array -= c32 * other._image.array
        self._mask.array |= other._mask.array
        self._variance.array += c32 * c32 * other._variance.array

    # FITS ------------------------------------------------------------------
    @classmethod
    def readFits(cls, fileName: str | os.PathLike[str]) -> Self:
        """Read a masked image from a FITS file (afw's ``readFits``)."""
        return cls(fileName)

    def writeFits(
        self,
        fileName: str | os.PathLike[str],
        metadata: PropertyList | None = None,
        imageMetadata: PropertyList | None = None,
        maskMetadata: PropertyList | None = None,
        varianceMetadata: PropertyList | None = None,
        *,
        compression: Any = None,
    ) -> None:
        """Write afw's layout: empty primary (``metadata``), IMAGE, MASK, VARIANCE.

        Parameters
        ----------
        fileName : `str` or path-like
            The destination (replaced atomically).
        metadata, imageMetadata, maskMetadata, varianceMetadata : `PropertyList`, optional
            Header cards for the primary and each plane.
        compression : `str` or mapping, optional
            ``"lossless"`` for GZIP_2 one-row tiles on every plane; default
            uncompressed.
        """
        fitsIO().writeMaskedImage(
            self,
            fileName,
            metadata=metadata,
            imageMetadata=imageMetadata,
            maskMetadata=maskMetadata,
            varianceMetadata=varianceMetadata,
            compression=compression,
        )

    def __repr__(self) -> str:
        return f"MaskedImageF(bbox={self.getBBox()!r})"


def makeMaskedImage(image: ImageF, mask: Mask | None = None, variance: ImageF | None = None) -> MaskedImageF:
    """Wrap existing planes (shared, not copied) in a `MaskedImageF`."""
    return MaskedImageF(image, mask=mask, variance=variance)
