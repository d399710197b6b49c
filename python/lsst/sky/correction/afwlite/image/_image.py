"""Pixel arrays with an origin: ``ImageF``/``ImageD`` and their shared base.

Pixel ``(x, y)`` in afw is ``array[y, x]`` in numpy.  ``xy0`` is the PARENT
position of ``array[0, 0]``; bounding boxes and sub-image requests are in
PARENT coordinates unless ``LOCAL`` is asked for.
"""

from __future__ import annotations

__all__ = ["LOCAL", "PARENT", "ImageBase", "ImageD", "ImageF", "ImageOrigin", "PlaneGeometry"]

import enum
import os
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from ..geom import Box2I, Extent2I, Point2I
from ._fits_io import fitsIO

if TYPE_CHECKING:
    from ._property_list import PropertyList


class ImageOrigin(enum.IntEnum):
    """Whether a bounding box is relative to the parent image or the array."""

    PARENT = 0
    LOCAL = 1


PARENT = ImageOrigin.PARENT
LOCAL = ImageOrigin.LOCAL


class ImageBase:
    """A 2-d numpy array plus an integer origin.

    Sub-images (``image[bbox]`` or ``Factory(image, bbox)``) are views that
    share pixels with their parent, as in afw.
    """

    dtype: ClassVar[np.dtype[Any]]
    _array: np.ndarray
    _x0: int
    _y0: int

    def __init__(
        self,
        arg: Box2I | Extent2I | np.ndarray | ImageBase | int | str | os.PathLike[str] | None = None,
        height: int | None = None,
        *,
        xy0: Point2I | None = None,
        deep: bool = False,
        bbox: Box2I | None = None,
        origin: ImageOrigin = PARENT,
        initialValue: Any = 0,
        hdu: int | None = None,
        metadata: PropertyList | None = None,
        allowUnsafe: bool = False,
    ) -> None:
        if isinstance(arg, str | os.PathLike):
            # afw's Image(fileName, hdu, metadata, bbox, origin, allowUnsafe).
            loaded = fitsIO().readImage(
                arg,
                type(self),
                hdu=height if height is not None else hdu,
                bbox=bbox,
                origin=origin,
                allowUnsafe=allowUnsafe,
                metadata=metadata,
            )
            self.__dict__.update(loaded.__dict__)
            return
        x0, y0 = (0, 0) if xy0 is None else (int(xy0[0]), int(xy0[1]))
        if isinstance(arg, ImageBase) and isinstance(height, Box2I):
            # afw's positional Image(rhs, bbox[, origin, deep]).
            bbox, height = height, None
        elif isinstance(arg, ImageBase) and isinstance(height, bool):
            # afw's positional Image(rhs, deep).
            deep, height = height, None
        elif isinstance(arg, Box2I | Extent2I) and height is not None:
            # afw's positional Image(bbox | dimensions, initialValue).
            initialValue, height = height, None
        if isinstance(arg, ImageBase):
            source = arg._sub_array(bbox, origin) if bbox is not None else arg._array
            sx0, sy0 = arg._x0, arg._y0
            if bbox is not None:
                sx0, sy0 = self._parent_min(arg, bbox, origin)
            # A deep copy may convert the pixel type (afw's ImageD(ImageF, deep=True)).
            self._array = source.astype(self.dtype) if deep else self._check_dtype(source, "image")
            self._x0, self._y0 = sx0, sy0
            return
        if isinstance(arg, np.ndarray):
            if arg.ndim != 2:
                raise ValueError(f"{type(self).__name__} needs a 2-d array, got shape {arg.shape}")
            array = self._check_dtype(arg, "array")
            self._array = array.copy() if deep else array
        elif isinstance(arg, Box2I):
            x0, y0 = arg.getMinX(), arg.getMinY()
            self._array = np.full((arg.getHeight(), arg.getWidth()), initialValue, dtype=self.dtype)
        elif isinstance(arg, Extent2I):
            self._array = np.full((arg.y, arg.x), initialValue, dtype=self.dtype)
        elif isinstance(arg, int | np.integer):
            if height is None:
                raise TypeError(f"{type(self).__name__}(width, height) needs a height")
            if arg < 0 or height < 0:
                raise ValueError(f"image dimensions must be non-negative, got {arg}x{height}")
            self._array = np.full((height, int(arg)), initialValue, dtype=self.dtype)
        elif arg is None:
            self._array = np.zeros((0, 0), dtype=self.dtype)
        else:
            raise TypeError(f"cannot make a {type(self).__name__} from {type(arg).__name__}")
        self._x0, self._y0 = x0, y0

    # Construction helpers -------------------------------------------------
    @classmethod
    def _check_dtype(cls, array: np.ndarray, what: str) -> np.ndarray:
        if array.dtype != cls.dtype:
            raise TypeError(
                f"{cls.__name__} needs a {cls.dtype} {what}, got {array.dtype}; "
                f"convert explicitly with array.astype(np.{cls.dtype})"
            )
        return array

    @staticmethod
    def _parent_min(image: ImageBase, bbox: Box2I, origin: ImageOrigin) -> tuple[int, int]:
        if origin == LOCAL:
            return bbox.getMinX() + image._x0, bbox.getMinY() + image._y0
        return bbox.getMinX(), bbox.getMinY()

    def _local_slices(self, bbox: Box2I, origin: ImageOrigin = PARENT) -> tuple[slice, slice]:
        """Array slices for ``bbox``; raise if it is not inside this image."""
        local = Box2I(bbox)
        if origin == PARENT:
            local.shift(Extent2I(-self._x0, -self._y0))
        full = Box2I(Point2I(0, 0), Extent2I(self.getWidth(), self.getHeight()))
        if not full.contains(local):
            raise IndexError(
                f"bounding box {bbox} ({origin.name}) is not inside the image bbox {self.getBBox()}"
            )
        return local.slices

    def _sub_array(self, bbox: Box2I, origin: ImageOrigin = PARENT) -> np.ndarray:
        return self._array[self._local_slices(bbox, origin)]

    # Pixels and geometry -------------------------------------------------
    @property
    def array(self) -> np.ndarray:
        """The pixel array (a view: writing to it changes the image)."""
        return self._array

    @array.setter
    def array(self, value: Any) -> None:
        self._array[...] = value

    def getArray(self) -> np.ndarray:
        return self._array

    def getX0(self) -> int:
        return self._x0

    def getY0(self) -> int:
        return self._y0

    def getXY0(self) -> Point2I:
        return Point2I(self._x0, self._y0)

    def setXY0(self, xy0: Point2I | tuple[int, int], y0: int | None = None) -> None:
        if y0 is not None:
            self._x0, self._y0 = int(xy0), int(y0)  # type: ignore[call-overload]
        else:
            self._x0, self._y0 = int(xy0[0]), int(xy0[1])

    def getWidth(self) -> int:
        return int(self._array.shape[1])

    def getHeight(self) -> int:
        return int(self._array.shape[0])

    def getDimensions(self) -> Extent2I:
        return Extent2I(self.getWidth(), self.getHeight())

    def getBBox(self, origin: ImageOrigin = PARENT) -> Box2I:
        start = Point2I(self._x0, self._y0) if origin == PARENT else Point2I(0, 0)
        return Box2I(start, self.getDimensions())

    width = property(getWidth)
    height = property(getHeight)

    def __len__(self) -> int:
        return self.getHeight()

    # Copies and views ----------------------------------------------------
    def clone(self) -> Self:
        """A deep copy with the same origin."""
        return type(self)(self._array.copy(), xy0=self.getXY0())

    def Factory(self, *args: Any, **kwargs: Any) -> Self:
        return type(self)(*args, **kwargs)

    def subset(self, bbox: Box2I, origin: ImageOrigin = PARENT) -> Self:
        """A view of the pixels in ``bbox``."""
        return type(self)(self, bbox=bbox, origin=origin)

    def _pixel_index(self, point: Point2I, origin: ImageOrigin) -> Any:
        """Array ``(row, column)`` of one pixel; out-of-image pixels raise, as afw's check does."""
        col = point.x - (self._x0 if origin == PARENT else 0)
        row = point.y - (self._y0 if origin == PARENT else 0)
        if not (0 <= col < self.getWidth() and 0 <= row < self.getHeight()):
            raise IndexError(f"pixel {point} ({origin.name}) is not inside the image bbox {self.getBBox()}")
        return row, col

    def __getitem__(self, index: Any) -> Any:
        box, point, origin = interpretIndex(index, self.getBBox)
        if box is not None:
            return self.subset(box, origin)
        return self._array[self._pixel_index(point, origin)]

    def __setitem__(self, index: Any, value: Any) -> None:
        box, point, origin = interpretIndex(index, self.getBBox)
        if box is None:
            self._array[self._pixel_index(point, origin)] = value
            return
        target = self._sub_array(box, origin)
        target[...] = value.array if isinstance(value, ImageBase) else value

    def set(self, value: Any) -> None:
        """Set every pixel to ``value``."""
        self._array[...] = value

    def assign(self, rhs: ImageBase, bbox: Box2I | None = None, origin: ImageOrigin = PARENT) -> None:
        """Copy ``rhs`` pixels into ``bbox`` (the whole image when `None`)."""
        target = self._array if bbox is None else self._sub_array(bbox, origin)
        if target.shape != rhs.array.shape:
            raise ValueError(f"cannot assign a {rhs.array.shape} image into a {target.shape} region")
        target[...] = rhs.array

    # FITS ------------------------------------------------------------------
    @classmethod
    def readFits(cls, fileName: str | os.PathLike[str], hdu: int | None = None) -> Self:
        """Read an image from one HDU of a FITS file (afw's ``readFits``).

        Parameters
        ----------
        fileName : `str` or path-like
            The file.
        hdu : `int`, optional
            0-based HDU; by default the primary, or HDU 1 when the primary
            is empty.
        """
        return fitsIO().readImage(fileName, cls, hdu=hdu)

    def writeFits(
        self,
        fileName: str | os.PathLike[str],
        metadata: PropertyList | None = None,
        mode: str = "w",
        *,
        compression: Any = None,
    ) -> None:
        """Write the image to a FITS file as afw does (xy0 in the "A" WCS).

        Parameters
        ----------
        fileName : `str` or path-like
            The destination.
        metadata : `PropertyList`, optional
            Header cards to write with the pixels.
        mode : `str`
            ``"w"`` to replace the file, ``"a"`` to append an extension.
        compression : `str` or mapping, optional
            ``"lossless"`` for GZIP_2 one-row tiles; default uncompressed.
        """
        fitsIO().writeImage(self, fileName, metadata=metadata, mode=mode, compression=compression)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(bbox={self.getBBox()!r})"


def _operand(image: ImageBase, other: Any) -> Any:
    """The numpy operand for image arithmetic, checking the dimensions as afw does."""
    if isinstance(other, ImageBase):
        if other.array.shape != image.array.shape:
            raise ValueError(
                f"images are of different size: {image.getDimensions()} vs {other.getDimensions()}"
            )
        return other.array
    if isinstance(other, np.ndarray):
        raise TypeError("image arithmetic takes a scalar or an image of the same size, not a raw array")
    return image.array.dtype.type(other)


def _negative_index(value: int | None, size: int, origin: ImageOrigin, default: int) -> int:
    """Afw's rule: negative indices count from the end in LOCAL, are real pixels in PARENT."""
    if value is None:
        return default
    if value < 0 and origin == LOCAL:
        return size + value
    return int(value)


def interpretIndex(index: Any, bboxGetter: Any) -> tuple[Box2I | None, Any, ImageOrigin]:
    """Read an image index the way afw's ``supportSlicing`` does.

    Accepted, optionally followed by an `ImageOrigin` (default PARENT):
    a `Box2I`, a `Point2I`, ``x, y`` integers, ``x0:x1, y0:y1`` slices
    (no step) or ``[:]``.  Returns ``(box, None, origin)`` for sub-images
    and ``(None, point, origin)`` for single pixels.
    """
    origin = PARENT
    if isinstance(index, tuple) and index and isinstance(index[-1], ImageOrigin):
        origin = index[-1]
        index = index[0] if len(index) == 2 else index[:-1]
    if isinstance(index, Box2I):
        return index, None, origin
    if isinstance(index, Point2I):
        return None, index, origin
    if isinstance(index, slice):
        if index != slice(None):
            raise TypeError("a single-dimension slice must not have bounds; use image[x0:x1, y0:y1]")
        return bboxGetter(LOCAL), None, LOCAL
    if not (isinstance(index, tuple) and len(index) == 2):
        raise TypeError(
            f"unsupported image index {index!r}; use a Box2I, a Point2I, x, y or x0:x1, y0:y1, "
            "optionally followed by PARENT or LOCAL"
        )
    x, y = index
    parent = bboxGetter(origin)
    if isinstance(x, slice) and isinstance(y, slice):
        if x.step is not None or y.step is not None:
            raise ValueError("slices with steps are not supported in image indexing")
        beginX = _negative_index(x.start, parent.getWidth(), origin, parent.getBeginX())
        beginY = _negative_index(y.start, parent.getHeight(), origin, parent.getBeginY())
        endX = _negative_index(x.stop, parent.getWidth(), origin, parent.getEndX())
        endY = _negative_index(y.stop, parent.getHeight(), origin, parent.getEndY())
        return (
            Box2I(Point2I(beginX, beginY), Extent2I(endX - beginX, endY - beginY), invert=False),
            None,
            origin,
        )
    if isinstance(x, slice) or isinstance(y, slice):
        raise TypeError("mixed indices of the form (slice, int) are not supported for images")
    if not (isinstance(x, int | np.integer) and isinstance(y, int | np.integer)):
        raise TypeError(f"pixel indices must be integers, got {index!r}")
    point = Point2I(
        _negative_index(int(x), parent.getWidth(), origin, 0),
        _negative_index(int(y), parent.getHeight(), origin, 0),
    )
    return None, point, origin


class _ArithmeticImage(ImageBase):
    """In-place arithmetic with scalars and same-sized images, in the pixel type."""

    def __iadd__(self, other: Any) -> Self:
        self._array += _operand(self, other)
        return self

    def __isub__(self, other: Any) -> Self:
        self._array -= _operand(self, other)
        return self

    def __imul__(self, other: Any) -> Self:
        self._array *= _operand(self, other)
        return self

    def __itruediv__(self, other: Any) -> Self:
        self._array /= _operand(self, other)
        return self

    def scaledPlus(self, c: float, other: ImageBase) -> None:
        self._array += self._array.dtype.type(c) * _operand(self, other)

    def scaledMinus(self, c: float, other: ImageBase) -> None:
        self._array -= self._array.dtype.type(c) * _operand(self, other)

    def __add__(self, other: Any) -> Self:
        result = self.clone()
        result += other
        return result

    def __sub__(self, other: Any) -> Self:
        result = self.clone()
        result -= other
        return result

    def __mul__(self, other: Any) -> Self:
        result = self.clone()
        result *= other
        return result

    def __truediv__(self, other: Any) -> Self:
        result = self.clone()
        result /= other
        return result


class ImageF(_ArithmeticImage):
    """A float32 image (``lsst.afw.image.ImageF``).

    Parameters
    ----------
    arg : `Box2I`, `Extent2I`, `int`, `numpy.ndarray`, `ImageF` or `str`
        A bounding box (sets xy0), dimensions, a width (with ``height``), a
        float32 array (shared unless ``deep``), another image (a view of
        ``bbox`` in it, or a copy if ``deep``), or a FITS file name.
    height : `int`, optional
        The height, when ``arg`` is a width; the HDU, when it is a file name.
    xy0 : `Point2I`, optional
        The origin, when ``arg`` is an array or dimensions.
    deep : `bool`
        Copy the pixels instead of sharing them.
    bbox, origin
        The region of a parent image to view.
    initialValue : `float`
        The value of new pixels.
    hdu, metadata, allowUnsafe
        When reading a file: the 0-based HDU (default: skip an empty
        primary), a `PropertyList` to fill with the header, and whether to
        convert pixel types that do not fit.
    """

    dtype = np.dtype(np.float32)


class ImageD(_ArithmeticImage):
    """A float64 image (``lsst.afw.image.ImageD``)."""

    dtype = np.dtype(np.float64)


class PlaneGeometry:
    """Geometry getters of an object whose image plane defines its bounding box.

    `MaskedImageF` and `ExposureF` have no pixels of their own: their box, size
    and origin are those of their ``image`` plane.
    """

    image: ImageF

    def getBBox(self, origin: ImageOrigin = PARENT) -> Box2I:
        return self.image.getBBox(origin)

    def getDimensions(self) -> Extent2I:
        return self.image.getDimensions()

    def getWidth(self) -> int:
        return self.image.getWidth()

    def getHeight(self) -> int:
        return self.image.getHeight()

    def getX0(self) -> int:
        return self.image.getX0()

    def getY0(self) -> int:
        return self.image.getY0()

    def getXY0(self) -> Point2I:
        return self.image.getXY0()

    @property
    def width(self) -> int:
        return self.image.getWidth()

    @property
    def height(self) -> int:
        return self.image.getHeight()
