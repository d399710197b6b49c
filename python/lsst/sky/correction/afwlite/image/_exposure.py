"""A masked image with metadata and a detector (``lsst.afw.image.ExposureF``)."""

from __future__ import annotations

__all__ = ["ExposureF", "makeExposure"]

import os
from typing import Any, Self

from ..geom import Box2I, Extent2I, Point2I
from ._fits_io import fitsIO
from ._image import PARENT, ImageF, ImageOrigin, PlaneGeometry, interpretIndex
from ._mask import Mask
from ._masked_image import MaskedImageF
from ._property_list import PropertyList


class ExposureF(PlaneGeometry):
    """A `MaskedImageF` plus header metadata, a detector and opaque components.

    Parameters
    ----------
    arg : `MaskedImageF`, `ExposureF`, `Box2I`, `Extent2I`, `int` or `str`
        The masked image (shared, not copied), an exposure to view or copy,
        a bounding box, dimensions, a width (with ``height``), or the name
        of a FITS file to read.
    bbox, origin, deep
        With an exposure as ``arg``: the region to view, and whether to copy.
        With a FITS file name as ``arg``: the region to read.
    allowUnsafe : `bool`
        When reading a file: convert pixel types that do not fit.

    Notes
    -----
    Components afw keeps in the file's archive (PSF, sky WCS, photometric
    calibration, the detector's transforms...) cannot be rebuilt without
    afw.  An exposure read from an afw file carries its archive HDUs in
    ``archive`` so that a writer can copy them byte for byte.
    """

    _maskedImage: MaskedImageF

    def __init__(
        self,
        arg: Any = None,
        height: int | Box2I | bool | None = None,
        *,
        bbox: Box2I | None = None,
        origin: ImageOrigin = PARENT,
        deep: bool = False,
        allowUnsafe: bool = False,
    ) -> None:
        self._detector: Any = None
        self._metadata = PropertyList()
        self.archive: Any = None
        if isinstance(arg, str | os.PathLike):
            # afw's Exposure(fileName, bbox, origin, conformMasks, allowUnsafe).
            loaded = fitsIO().readExposure(arg, bbox=bbox, origin=origin, allowUnsafe=allowUnsafe)
            self.__dict__.update(loaded.__dict__)
        elif isinstance(arg, ExposureF):
            if isinstance(height, Box2I):
                # afw's positional Exposure(other, bbox[, origin, deep]).
                bbox = height
            elif isinstance(height, bool):
                # afw's positional Exposure(other, deep).
                deep = height
            view: dict[str, Any] = {"bbox": bbox, "origin": origin} if bbox is not None else {}
            self._maskedImage = MaskedImageF(arg._maskedImage, deep=deep, **view)
            self._detector = arg._detector
            self._metadata = arg._metadata.copy()
            self.archive = arg.archive
        elif isinstance(arg, MaskedImageF):
            self._maskedImage = arg
        elif isinstance(arg, int):
            self._maskedImage = MaskedImageF(Extent2I(arg, 0 if height is None else height))
        else:
            self._maskedImage = MaskedImageF(arg)

    # Planes --------------------------------------------------------------
    @property
    def maskedImage(self) -> MaskedImageF:
        return self._maskedImage

    @maskedImage.setter
    def maskedImage(self, value: MaskedImageF) -> None:
        self.setMaskedImage(value)

    @property
    def image(self) -> ImageF:
        return self._maskedImage.image

    @image.setter
    def image(self, value: ImageF) -> None:
        self._maskedImage.image = value

    @property
    def mask(self) -> Mask:
        return self._maskedImage.mask

    @mask.setter
    def mask(self, value: Mask) -> None:
        self._maskedImage.mask = value

    @property
    def variance(self) -> ImageF:
        return self._maskedImage.variance

    @variance.setter
    def variance(self, value: ImageF) -> None:
        self._maskedImage.variance = value

    def getMaskedImage(self) -> MaskedImageF:
        return self._maskedImage

    def setMaskedImage(self, maskedImage: MaskedImageF) -> None:
        if maskedImage.getDimensions() != self.getDimensions() and self.getBBox().getArea() > 0:
            raise ValueError(
                f"cannot set a {maskedImage.getDimensions()} masked image on a "
                f"{self.getDimensions()} exposure"
            )
        self._maskedImage = maskedImage

    def getImage(self) -> ImageF:
        return self._maskedImage.image

    def getMask(self) -> Mask:
        return self._maskedImage.mask

    def getVariance(self) -> ImageF:
        return self._maskedImage.variance

    def setMask(self, mask: Mask) -> None:
        """Replace the mask plane (its dictionary too); dimensions must match."""
        if mask.getDimensions() != self.getDimensions():
            raise ValueError(f"cannot set a {mask.getDimensions()} mask on a {self.getDimensions()} exposure")
        self._maskedImage = MaskedImageF(self.image, mask=mask, variance=self.variance)

    # Geometry (getters from PlaneGeometry) ---------------------------------------
    def setXY0(self, xy0: Point2I) -> None:
        self._maskedImage.setXY0(xy0)

    # Components ------------------------------------------------------------
    def getDetector(self) -> Any:
        return self._detector

    def setDetector(self, detector: Any) -> None:
        self._detector = detector

    def hasDetector(self) -> bool:
        return self._detector is not None

    detector = property(getDetector, setDetector)

    def getMetadata(self) -> PropertyList:
        """The header metadata (a live, mutable object)."""
        return self._metadata

    def setMetadata(self, metadata: PropertyList) -> None:
        self._metadata = metadata

    metadata = property(getMetadata, setMetadata)

    # Copies and views --------------------------------------------------------
    def clone(self) -> Self:
        """A deep copy of the pixels and the metadata."""
        return type(self)(self, deep=True)

    def Factory(self, *args: Any, **kwargs: Any) -> Self:
        return type(self)(*args, **kwargs)

    def subset(self, bbox: Box2I, origin: ImageOrigin = PARENT) -> Self:
        """A view of the pixels in ``bbox``, with the same components."""
        return type(self)(self, bbox=bbox, origin=origin)

    def __getitem__(self, index: Any) -> Any:
        box, point, origin = interpretIndex(index, self.getBBox)
        if box is not None:
            return self.subset(box, origin)
        return self._maskedImage[point, origin]

    # FITS ------------------------------------------------------------------
    @classmethod
    def readFits(cls, fileName: str | os.PathLike[str]) -> Self:
        """Read an exposure from a FITS file (afw's ``readFits``)."""
        return cls(fileName)

    def writeFits(self, fileName: str | os.PathLike[str], *, compression: Any = None) -> None:
        """Write afw's Exposure layout; a carried archive is copied back verbatim.

        Parameters
        ----------
        fileName : `str` or path-like
            The destination (replaced atomically).
        compression : `str` or mapping, optional
            ``"lossless"`` for GZIP_2 one-row tiles on every plane; default
            uncompressed.
        """
        fitsIO().writeExposure(self, fileName, compression=compression)

    def __repr__(self) -> str:
        return f"ExposureF(bbox={self.getBBox()!r})"


def makeExposure(maskedImage: MaskedImageF) -> ExposureF:
    """Wrap a masked image (shared, not copied) in an `ExposureF`."""
    return ExposureF(maskedImage)
