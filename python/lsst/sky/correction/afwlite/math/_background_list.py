"""A list of background models and their FITS file (``lsst.afw.math.BackgroundList``).

Each element is the 7-tuple ``(background, interpStyle, undersampleStyle,
approxStyle, approxOrderX, approxOrderY, approxWeighting)``.  The file layout
is afw's (afw ``_backgroundList.py``): three HDUs per element, the stats
image's image (float32), mask (int32) and variance (float32) planes, the very
first image in the primary HDU.  All three HDUs of an element carry the same
integer-coded styles and the full-resolution bounding box::

    HIERARCH INTERPSTYLE, HIERARCH UNDERSAMPLESTYLE, HIERARCH APPROXSTYLE,
    HIERARCH APPROXORDERX, HIERARCH APPROXORDERY, HIERARCH APPROXWEIGHTING,
    BKGD_X0, BKGD_Y0, HIERARCH BKGD_WIDTH, HIERARCH BKGD_HEIGHT

then (mask HDU only) the ``MP_*`` mask-plane cards and the "A" WCS cards
holding the stats image's xy0.  Files are never compressed.
"""

from __future__ import annotations

__all__ = ["BackgroundList"]

import os
import warnings
from collections.abc import Iterator
from typing import Any, overload

from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from ..fits import (
    FitsError,
    cards_from_metadata,
    image_hdu,
    mask_plane_cards,
    open_fits,
    read_image,
    write_atomically,
    write_hdus,
    xy0_cards,
)
from ..geom import Box2I, Extent2I, Point2I
from ..image import ImageF, Mask, MaskedImageF, PropertyList
from ._approximate import ApproximateControl
from ._background import BackgroundMI
from ._background_control import UndersampleStyle
from ._interpolate import Interpolate

#: One element: (background, interpStyle, undersampleStyle, approxStyle,
#: approxOrderX, approxOrderY, approxWeighting); styles are None until known.
BackgroundElement = tuple[
    BackgroundMI,
    Interpolate.Style | None,
    UndersampleStyle | None,
    ApproximateControl.Style | None,
    int | None,
    int | None,
    bool | None,
]

_ELEMENT_FIELDS = (
    "background",
    "interpStyle",
    "undersampleStyle",
    "approxStyle",
    "approxOrderX",
    "approxOrderY",
    "approxWeighting",
)


def _element(value: Any, where: str) -> BackgroundElement:
    """Check and normalise one element (ints become afw's enums)."""
    if isinstance(value, BackgroundMI):
        return (value, None, None, None, None, None, None)
    if not isinstance(value, tuple | list) or len(value) != len(_ELEMENT_FIELDS):
        raise TypeError(
            f"{where}: expected a BackgroundMI or a 7-tuple ({', '.join(_ELEMENT_FIELDS)}), got {value!r}"
        )
    bkgd, interp, undersample, approx, orderX, orderY, weighting = value
    if not isinstance(bkgd, BackgroundMI):
        raise TypeError(f"{where}: the first item must be a BackgroundMI, got {type(bkgd).__name__}")
    try:
        return (
            bkgd,
            None if interp is None else Interpolate.Style(interp),
            None if undersample is None else UndersampleStyle(undersample),
            None if approx is None else ApproximateControl.Style(approx),
            None if orderX is None else int(orderX),
            None if orderY is None else int(orderY),
            None if weighting is None else bool(weighting),
        )
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


class BackgroundList:
    """An ordered list of background models whose sum is the total background.

    Parameters
    ----------
    *args : `tuple` or `BackgroundMI`
        Elements: 7-tuples, or bare `BackgroundMI` objects whose styles are
        taken from their as-used styles and approximation control when the
        list is next read (so call ``getImageF`` on them first).
    """

    def __init__(self, *args: BackgroundElement | BackgroundMI) -> None:
        self._backgrounds: list[BackgroundElement] = []
        for value in args:
            self.append(value)

    def append(self, val: BackgroundElement | BackgroundMI) -> None:
        """Add an element (a 7-tuple or a bare `BackgroundMI`) at the end."""
        self._backgrounds.append(_element(val, f"BackgroundList element {len(self._backgrounds)}"))

    def _fillStyles(self) -> None:
        """Give bare backgrounds their as-used styles, as afw does on every access."""
        for i, (bkgd, interp, undersample, *_rest) in enumerate(self._backgrounds):
            if interp is None or undersample is None:
                actrl = bkgd.getBackgroundControl().getApproximateControl()
                self._backgrounds[i] = (
                    bkgd,
                    bkgd.getAsUsedInterpStyle(),
                    bkgd.getAsUsedUndersampleStyle(),
                    actrl.getStyle(),
                    actrl.getOrderX(),
                    actrl.getOrderY(),
                    actrl.getWeighting(),
                )

    @overload
    def __getitem__(self, index: int) -> BackgroundElement: ...

    @overload
    def __getitem__(self, index: slice) -> list[BackgroundElement]: ...

    def __getitem__(self, index: int | slice) -> BackgroundElement | list[BackgroundElement]:
        self._fillStyles()
        return self._backgrounds[index]

    def __iter__(self) -> Iterator[BackgroundElement]:
        self._fillStyles()
        return iter(list(self._backgrounds))

    def __len__(self) -> int:
        return len(self._backgrounds)

    def __repr__(self) -> str:
        return f"BackgroundList({len(self)} elements)"

    def clone(self) -> BackgroundList:
        """A deep copy: the models and their stats images are copied too.

        (afw's ``clone`` is shallow; a deep copy is what callers that scale
        or subtract from the copy need.)
        """
        copies = BackgroundList()
        for bkgd, *styles in self:
            copies.append(_element((bkgd.clone(), *styles), "BackgroundList.clone"))
        return copies

    # Evaluation ---------------------------------------------------------------------------------------
    def getImage(self) -> ImageF | None:
        """The sum of all elements at full resolution (`None` for an empty list).

        Elements with a Chebyshev approximation use their control's settings
        (``getImageF()``); the others their tuple's styles.  The sum is
        accumulated in float32 in list order, and takes the first element's
        xy0 (the image bbox minimum, or (0, 0) for an approximation).
        """
        total: ImageF | None = None
        for bkgd, interp, undersample, approx, *_rest in self:
            if approx != ApproximateControl.UNKNOWN:
                image = bkgd.getImageF()
            else:
                assert interp is not None and undersample is not None
                image = bkgd.getImageF(interp, undersample)
            if total is None:
                total = image
            else:
                total += image
        return total

    # FITS ----------------------------------------------------------------------------------------------
    def writeFits(self, fileName: str | os.PathLike[str], flags: int = 0) -> None:
        """Write the list in afw's layout (3 HDUs per element), atomically.

        Parameters
        ----------
        fileName : `str` or path-like
            The file to (over)write.  A temporary file in the same directory
            replaces it only once it is complete.
        flags : `int`
            Unused; accepted for afw compatibility.

        Raises
        ------
        ValueError
            If the list is empty (afw would write no file at all).
        """
        path = os.fspath(fileName)
        if len(self) == 0:
            raise ValueError(f"cannot write an empty BackgroundList to {path}: there is no HDU to write")
        hdus: list[Any] = []
        for index, element in enumerate(self):
            cards = cards_from_metadata(_elementMetadata(element, f"{path} element {index}"), path)
            stats = element[0].getStatsImage()
            for plane in (stats.image, stats.mask, stats.variance):
                extra: list[fits.Card] = []
                if isinstance(plane, Mask):
                    with warnings.catch_warnings():
                        # Long plane names become HIERARCH cards, as afw writes them.
                        warnings.simplefilter("ignore", VerifyWarning)
                        extra = mask_plane_cards(plane.planeDict)
                header = [*cards, *extra, *xy0_cards(plane.getX0(), plane.getY0())]
                hdus.append(image_hdu(plane.array, header, None, primary=not hdus, where=path))
        write_atomically(path, lambda temporary: write_hdus(temporary, hdus))

    @staticmethod
    def readFits(fileName: str | os.PathLike[str], hdu: int = 0, flags: int = 0) -> BackgroundList:
        """Read a list written by afw (or by `writeFits`).

        Parameters
        ----------
        fileName : `str` or path-like
            The file.
        hdu, flags : `int`
            Unused, as in afw (reading always starts at the primary HDU).

        Raises
        ------
        FitsError
            If the file is missing or unreadable, its HDU count is not a
            multiple of 3, or an element's keys or planes are not afw's.
        FitsTypeError
            If a mask plane holds a pixel type afw refuses to read as int32.
        """
        path = os.fspath(fileName)
        if not os.path.exists(path):
            raise FitsError(f"File not found: {path}")  # afw's message
        # The same checks as the image readers: a damaged or truncated file is refused whole.
        with open_fits(path) as hdul:
            count = len(hdul)
        if count % 3 != 0:
            raise FitsError(
                f"BackgroundList FITS file {path} has {count} HDUs; expected a multiple of 3 "
                "(compression is not supported)"
            )
        result = BackgroundList()
        for start in range(0, count, 3):
            result.append(_readElement(path, start))
        return result


def _elementMetadata(element: BackgroundElement, where: str) -> PropertyList:
    """The cards afw writes on all three HDUs of an element, in afw's order."""
    bkgd, interp, undersample, approx, orderX, orderY, weighting = element
    if interp is None or undersample is None or approx is None:
        raise ValueError(f"{where}: the element has no interpolation or approximation style to write")
    bbox = bkgd.getImageBBox()
    metadata = PropertyList()
    metadata.set("INTERPSTYLE", int(interp))
    metadata.set("UNDERSAMPLESTYLE", int(undersample))
    metadata.set("APPROXSTYLE", int(approx))
    metadata.set("APPROXORDERX", orderX)
    metadata.set("APPROXORDERY", orderY)
    metadata.set("APPROXWEIGHTING", weighting)
    metadata.set("BKGD_X0", bbox.getMinX())
    metadata.set("BKGD_Y0", bbox.getMinY())
    metadata.set("BKGD_WIDTH", bbox.getWidth())
    metadata.set("BKGD_HEIGHT", bbox.getHeight())
    return metadata


def _key(metadata: PropertyList, key: str, where: str) -> Any:
    if key not in metadata:
        raise FitsError(f"{where}: the BackgroundList key {key} is missing")
    return metadata.getScalar(key)


def _readElement(path: str, start: int) -> BackgroundElement:
    """Element ``start // 3``: planes from HDUs ``start`` to ``start + 2``, keys from the first."""
    where = f"{path} HDU {start}"
    metadata = PropertyList()
    image = read_image(path, ImageF, hdu=start, metadata=metadata)
    mask = read_image(path, Mask, hdu=start + 1)
    variance = read_image(path, ImageF, hdu=start + 2)
    try:
        statsImage = MaskedImageF(image, mask=mask, variance=variance)
        imageBBox = Box2I(
            Point2I(int(_key(metadata, "BKGD_X0", where)), int(_key(metadata, "BKGD_Y0", where))),
            Extent2I(int(_key(metadata, "BKGD_WIDTH", where)), int(_key(metadata, "BKGD_HEIGHT", where))),
        )
        interpStyle = Interpolate.Style(int(_key(metadata, "INTERPSTYLE", where)))
        undersampleStyle = UndersampleStyle(int(_key(metadata, "UNDERSAMPLESTYLE", where)))
        # Files written before the Chebyshev option lack these keys; afw's defaults.
        approxStyle = ApproximateControl.Style(int(metadata.get("APPROXSTYLE", ApproximateControl.UNKNOWN)))
        orderX = int(metadata.get("APPROXORDERX", 1))
        orderY = int(metadata.get("APPROXORDERY", -1))
        weighting = bool(metadata.get("APPROXWEIGHTING", True))
        bkgd = BackgroundMI(imageBBox, statsImage)
        bctrl = bkgd.getBackgroundControl()
        bctrl.setInterpStyle(interpStyle)
        bctrl.setUndersampleStyle(undersampleStyle)
        bctrl.setApproximateControl(ApproximateControl(approxStyle, orderX, orderY, weighting))
    except FitsError:
        raise
    except (TypeError, ValueError) as error:
        raise FitsError(f"{where}: not a valid BackgroundList element: {error}") from error
    return (bkgd, interpStyle, undersampleStyle, approxStyle, orderX, orderY, weighting)
