"""Reading afw's layouts: ``ImageF``/``ImageD``, ``Mask``, ``MaskedImageF``, ``ExposureF``.

* HDUs are found by position, never by ``EXTNAME``: an Exposure or
  MaskedImage is an empty primary, then IMAGE, MASK and VARIANCE, then the
  optional table archive of an Exposure.
* xy0 is read from the "A" WCS of each plane; ``LTV1``/``LTV2`` are ignored.
* Mask plane names come from the mask HDU's ``MP_*`` cards, and a mask read
  from a file keeps that dictionary (no remapping to the process defaults).
* Tile-compressed HDUs are read transparently: lossless GZIP tiles by
  `._tiles` with zlib in threads (only the tiles a region needs), every other
  compressed layout by astropy.
"""

from __future__ import annotations

__all__ = ["ExposureArchive", "readMetadata", "read_exposure", "read_image", "read_masked_image"]

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from astropy.io import fits

from ..geom import Box2I, Extent2I, Point2I
from ..image import (
    PARENT,
    ExposureF,
    ImageBase,
    ImageF,
    ImageOrigin,
    Mask,
    MaskedImageF,
    MaskPlaneDict,
    PropertyList,
)
from ._archive import detectorFromExposureHdus
from ._cards import read_mask_planes, read_xy0, strip_xy0_cards
from ._errors import FitsError, FitsTypeError
from ._files import _default_hdu_index, _image_hdu_index, _is_image_hdu, _is_true, _where, open_fits
from ._header import combine_metadata, metadata_from_header
from ._layout import (
    _DAMAGED_FILE_ERRORS,
    _EXPINFO_KEY,
    _EXPINFO_VERSION,
    _PLANE_KEYS,
    _SAFE_MASK_SOURCES,
    _STREAM_COMPRESSION_MAGIC,
    DEFAULT_HDU,
)
from ._tiles import TiledLayout, decompress_region, tiled_layout

# ---------------------------------------------------------------------------
# The carried archive
# ---------------------------------------------------------------------------


_log = logging.getLogger(__name__)


class ExposureArchive:
    """The table-archive HDUs of an afw Exposure file, kept byte for byte.

    afwlite cannot rebuild most archive components (PSF, sky WCS, photometric
    calibration...), so an exposure read from an afw file carries its archive
    verbatim.  Writing the exposure back appends these bytes after the
    variance plane with ``AR_HDU = 5``; the primary's component-id cards stay
    in the exposure metadata, and archive ids are local to the archive, so the
    copy stays consistent.

    Parameters
    ----------
    hduBytes : `~collections.abc.Sequence` [`bytes`]
        Each HDU's header and data blocks, the ``ARCHIVE_INDEX`` first.
    bbox : `Box2I`
        The pixel bounding box of the exposure the archive belongs to.  A
        writer only emits the archive for an exposure with this bbox.
    version : `int`
        The file's ``EXPINFO_V`` (0 when absent); it says how afw interprets
        the header cards next to the archive, so it is written back with it.
    source : `str`
        Where the archive was read from, for messages.
    """

    def __init__(self, hduBytes: Sequence[bytes], bbox: Box2I, version: int, source: str) -> None:
        self._hduBytes = tuple(bytes(b) for b in hduBytes)
        self.bbox = Box2I(bbox)
        self.version = int(version)
        self.source = source
        self._hdus: list[fits.BinTableHDU] | None = None

    @property
    def hduBytes(self) -> tuple[bytes, ...]:
        """The raw bytes of each archive HDU (a multiple of 2880 each)."""
        return self._hduBytes

    def getHdus(self) -> list[fits.BinTableHDU]:
        """The archive HDUs parsed by astropy, the ``ARCHIVE_INDEX`` first."""
        if self._hdus is None:
            self._hdus = [fits.BinTableHDU.fromstring(raw) for raw in self._hduBytes]
        return list(self._hdus)

    def getHduList(self) -> fits.HDUList:
        """An in-memory file of the archive: an empty primary, then the index at HDU 1.

        ``TableArchive(archive.getHduList(), 1)`` reads the components.
        """
        return fits.HDUList([fits.PrimaryHDU(), *self.getHdus()])

    def __len__(self) -> int:
        return len(self._hduBytes)

    def __repr__(self) -> str:
        return f"ExposureArchive({len(self)} HDUs from {self.source!r}, bbox={self.bbox!r})"


# ---------------------------------------------------------------------------
# Reading one plane
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class _Plane:
    """Pixels, origin and header metadata read from one image HDU."""

    array: np.ndarray
    xy0: Point2I
    metadata: PropertyList
    header: fits.Header


def _file_xy0(hdulist: fits.HDUList, index: int) -> Point2I:
    """The xy0 an HDU's "A" WCS records (read from the primary too when ``INHERIT = T``)."""
    header = hdulist[index].header
    inherit = index != 0 and _is_true(header.get("INHERIT"))
    return Point2I(*read_xy0(header if not inherit or "CRVAL1A" in header else hdulist[0].header))


def _hdu_metadata(hdulist: fits.HDUList, index: int, path: str) -> PropertyList:
    """One HDU's metadata as afw's ``readMetadata(strip=True)`` gives it.

    With ``INHERIT = T`` the primary's cards are merged under the HDU's own.
    The "A" WCS and ``LTV1/2`` cards are consumed (removed).
    """
    header = hdulist[index].header.copy()
    inherit = index != 0 and _is_true(header.get("INHERIT"))
    strip_xy0_cards(header)
    metadata = metadata_from_header(header, _where(path, index))
    metadata.remove("INHERIT")
    if inherit:
        primary = hdulist[0].header.copy()
        strip_xy0_cards(primary)
        metadata = combine_metadata(metadata_from_header(primary, _where(path, 0)), metadata)
    return metadata


def _image_shape(header: fits.Header, where: str) -> tuple[int, int]:
    """``(height, width)`` of an image HDU; 3-D is accepted only with ``NAXIS3 == 1``."""
    naxis = int(header.get("NAXIS", 0))
    if naxis == 0:
        return 0, 0
    lengths = [int(header.get(f"NAXIS{i}", 0)) for i in range(1, naxis + 1)]
    if naxis == 2 or (naxis == 3 and lengths[2] == 1):
        return lengths[1], lengths[0]
    raise FitsError(
        f"{where}: a {naxis}-d image of shape {tuple(lengths)} (NAXISn) cannot be read as a 2-d image "
        "(only NAXIS3 = 1 is accepted)"
    )


def _disk_dtype(header: fits.Header) -> np.dtype[Any]:
    """The type the stored pixels represent, after BZERO/BSCALE (CFITSIO's equivalent type)."""
    bitpix = int(header["BITPIX"])
    if bitpix < 0:
        return np.dtype(np.float32 if bitpix == -32 else np.float64)
    signed = {8: np.uint8, 16: np.int16, 32: np.int32, 64: np.int64}[bitpix]
    bzero = header.get("BZERO", 0)
    if header.get("BSCALE", 1) != 1:
        return np.dtype(np.float64)
    if bzero == 0:
        return np.dtype(signed)
    offsets = {(8, -128): np.int8, (16, 2**15): np.uint16, (32, 2**31): np.uint32, (64, 2**63): np.uint64}
    return np.dtype(offsets.get((bitpix, bzero), np.float64))


def _check_pixel_type(disk: np.dtype[Any], target: np.dtype[Any], allow_unsafe: bool, where: str) -> None:
    """Apply afw's ``checkImageType``: floats take anything, int32 only narrower integers."""
    if target.kind == "f" or disk in _SAFE_MASK_SOURCES or allow_unsafe:
        return
    raise FitsTypeError(
        f"{where}: pixels stored as {disk} cannot be read safely into {target} "
        "(pass allowUnsafe=True to convert anyway)"
    )


def _region(
    shape: tuple[int, int], xy0: Point2I, bbox: Box2I | None, origin: ImageOrigin, where: str
) -> tuple[tuple[slice, slice], Point2I]:
    """Array slices and PARENT origin of the requested part of an image."""
    height, width = shape
    if bbox is None or bbox.isEmpty():
        return (slice(0, height), slice(0, width)), xy0
    local = Box2I(bbox)
    if origin == PARENT:
        local.shift(Extent2I(-xy0.x, -xy0.y))
    full = Box2I(Point2I(0, 0), Extent2I(width, height))
    if not full.contains(local):
        raise FitsError(
            f"{where}: requested bbox {bbox} ({origin.name}) is not inside the image bbox "
            f"{Box2I(xy0, Extent2I(width, height))}"
        )
    return local.slices, Point2I(local.getMinX() + xy0.x, local.getMinY() + xy0.y)


def _read_plane(
    hdulist: fits.HDUList,
    index: int,
    path: str,
    dtype: np.dtype[Any],
    *,
    bbox: Box2I | None,
    origin: ImageOrigin,
    allow_unsafe: bool,
    with_metadata: bool = True,
) -> _Plane:
    where = _where(path, index)
    hdu = hdulist[index]
    header = hdu.header
    shape = _image_shape(header, where)
    _check_pixel_type(_disk_dtype(header), dtype, allow_unsafe, where)
    metadata = _hdu_metadata(hdulist, index, path) if with_metadata else PropertyList()
    slices, xy0 = _region(shape, _file_xy0(hdulist, index), bbox, origin, where)
    wanted = (slices[0].stop - slices[0].start, slices[1].stop - slices[1].start)
    if wanted[0] * wanted[1] == 0:
        return _Plane(np.zeros(wanted, dtype=dtype), xy0, metadata, header)
    leading = (0,) if int(header["NAXIS"]) == 3 else ()
    try:
        layout = _fast_tiles(hdulist, index, path) if isinstance(hdu, fits.CompImageHDU) else None
        if layout is not None:
            # Lossless GZIP tiles: zlib in threads, only the tiles that overlap the region.
            stored = decompress_region(layout, slices)
        elif isinstance(hdu, fits.CompImageHDU):
            # Only the tiles that overlap the region are decompressed.
            stored = hdu.section[(*leading, *slices)]
        else:
            stored = hdu.data[(*leading, *slices)]
        # The fast reader's array is new and ours: no second copy when it has the right type.
        pixels = _convert(_unscale(stored, header), dtype, owned=layout is not None)
    except _DAMAGED_FILE_ERRORS as error:
        raise FitsError(f"{where}: cannot read the pixels ({error}); the file may be truncated") from None
    if pixels.shape != wanted:
        raise FitsError(f"{where}: read {pixels.shape} pixels where the header says {wanted}: truncated data")
    return _Plane(pixels, xy0, metadata, header)


def _fast_tiles(hdulist: fits.HDUList, index: int, path: str) -> TiledLayout | None:
    """The layout of a lossless GZIP tile-compressed HDU `decompress_region` reads; else `None`."""
    info = hdulist[index].fileinfo()
    return tiled_layout(path, info["hdrLoc"], info["datLoc"])


def _unscale(stored: np.ndarray, header: fits.Header) -> np.ndarray:
    """Apply BZERO/BSCALE (and BLANK → NaN for scaled integers) to raw stored pixels."""
    bzero, bscale = header.get("BZERO", 0), header.get("BSCALE", 1)
    if bzero == 0 and bscale == 1:
        return stored
    represented = _disk_dtype(header)
    if stored.dtype.kind in "iu" and represented.kind in "iu":
        # The FITS unsigned/signed conventions offset by half the range, which
        # is flipping the sign bit: exact, and no wider temporary array.
        size = stored.dtype.itemsize
        bits = stored.view(np.dtype(f"u{size}").newbyteorder(stored.dtype.byteorder))
        return np.bitwise_xor(bits, np.array(1 << (8 * size - 1), dtype=f"u{size}")).view(represented)
    scaled = stored * np.float64(bscale) + np.float64(bzero)
    blank = header.get("BLANK")
    if blank is not None and stored.dtype.kind in "iu":
        scaled[stored == blank] = np.nan
    return scaled


def _convert(stored: np.ndarray, dtype: np.dtype[Any], *, owned: bool = False) -> np.ndarray:
    """A native, C-contiguous copy of ``stored`` in ``dtype`` (never a view of the file).

    With ``owned`` (``stored`` is a fresh array nobody else holds) it is returned as it is
    when it already has that type and layout.
    """
    if owned and stored.dtype == dtype and stored.flags.c_contiguous and stored.flags.writeable:
        return stored
    if dtype.kind == "i" and stored.dtype.kind == "f":
        with np.errstate(invalid="ignore"):  # allowUnsafe: NaN has no integer value
            return stored.astype(dtype)
    return np.array(stored, dtype=dtype, order="C")


# ---------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------


def readMetadata(
    fileName: str | os.PathLike[str], hdu: int | None = DEFAULT_HDU, strip: bool = False
) -> PropertyList:
    """The header of one HDU as a `PropertyList` (``lsst.afw.fits.readMetadata``).

    Parameters
    ----------
    fileName : `str` or path-like
        The FITS file.
    hdu : `int`, optional
        0-based HDU; by default the primary, or HDU 1 if the primary is empty.
    strip : `bool`
        Drop structural keywords and ``INHERIT``.

    Returns
    -------
    metadata : `PropertyList`
        The HDU's cards, merged over the primary's when ``INHERIT = T``.
    """
    path = os.fspath(fileName)
    with open_fits(path) as hdulist:
        index = _default_hdu_index(hdulist) if hdu is None or hdu == DEFAULT_HDU else int(hdu)
        if not 0 <= index < len(hdulist):
            raise FitsError(f"{path}: no HDU {index} (the file has {len(hdulist)} HDUs, counted from 0)")
        header = hdulist[index].header
        metadata = metadata_from_header(header, _where(path, index), strip=strip)
        if index != 0 and _is_true(header.get("INHERIT")):
            if strip:
                metadata.remove("INHERIT")
            primary = metadata_from_header(hdulist[0].header, _where(path, 0), strip=strip)
            metadata = combine_metadata(primary, metadata)
        return metadata


def read_image[ImageT: ImageBase](
    fileName: str | os.PathLike[str],
    imageType: type[ImageT],
    *,
    hdu: int | None = DEFAULT_HDU,
    bbox: Box2I | None = None,
    origin: ImageOrigin = PARENT,
    allowUnsafe: bool = False,
    metadata: PropertyList | None = None,
) -> ImageT:
    """Read one image HDU as ``imageType`` (`ImageF`, `ImageD` or `Mask`).

    Parameters
    ----------
    fileName : `str` or path-like
        The FITS file (plain, gzipped or tile-compressed).
    imageType : `type`
        The class to read into; pixels are converted to its dtype.
    hdu : `int`, optional
        0-based HDU.  By default the primary, or HDU 1 if the primary is
        empty (afw's ``DEFAULT_HDU``).
    bbox : `Box2I`, optional
        Read only this region (in ``origin`` coordinates); default: all.
    origin : `ImageOrigin`
        Whether ``bbox`` is in PARENT (file xy0) or LOCAL coordinates.
    allowUnsafe : `bool`
        Convert pixel types that do not fit (uint32 or float into a mask).
    metadata : `PropertyList`, optional
        Filled with the HDU's header (merged with the primary's when
        ``INHERIT = T``), as afw's ``metadata`` argument is.

    Returns
    -------
    image : ``imageType``
        The pixels, with xy0 from the "A" WCS.  A `Mask` gets the planes of
        the HDU's ``MP_*`` cards (the default planes when there are none).

    Raises
    ------
    FitsError
        If the file or HDU cannot be read as an image.
    FitsTypeError
        If the stored pixels do not fit ``imageType`` safely.
    """
    path = os.fspath(fileName)
    with open_fits(path) as hdulist:
        index = _image_hdu_index(hdulist, hdu, path)
        plane = _read_plane(
            hdulist, index, path, imageType.dtype, bbox=bbox, origin=origin, allow_unsafe=allowUnsafe
        )
        # Inside the file's context: astropy parses the MP_* cards only now, and a damaged
        # card must become a FitsError like any other damage.
        planes = read_mask_planes(plane.header, _where(path, index)) if issubclass(imageType, Mask) else None
    if metadata is not None:
        metadata.update(plane.metadata)
    if issubclass(imageType, Mask):
        return imageType(
            plane.array, xy0=plane.xy0, planeDict=None if planes is None else MaskPlaneDict(planes)
        )
    return imageType(plane.array, xy0=plane.xy0)


@dataclasses.dataclass
class _MaskedImageRead:
    """A masked image and the headers ``MaskedImageFitsReader`` exposes."""

    maskedImage: MaskedImageF
    imageIndex: int
    imageMetadata: PropertyList
    maskMetadata: PropertyList
    varianceMetadata: PropertyList


def _read_masked_image_hdus(
    hdulist: fits.HDUList,
    path: str,
    *,
    bbox: Box2I | None,
    origin: ImageOrigin,
    needAllHdus: bool,
    allowUnsafe: bool,
    planeMetadata: bool = False,
) -> _MaskedImageRead:
    index = _image_hdu_index(hdulist, DEFAULT_HDU, path)
    exttype = hdulist[index].header.get("EXTTYPE")
    if exttype is not None and str(exttype).strip() != "IMAGE":
        raise FitsError(f"{_where(path, index)}: the image HDU has EXTTYPE = {exttype!r}, not 'IMAGE'")
    read: dict[str, Any] = {"bbox": bbox, "origin": origin, "allow_unsafe": allowUnsafe}
    image = _read_plane(hdulist, index, path, ImageF.dtype, **read)
    # Mask and variance follow the image only in the standard layout (image in HDU 1).
    companions: list[_Plane | None] = [None, None]
    for offset, (name, dtype) in enumerate((("mask", Mask.dtype), ("variance", ImageF.dtype)), start=1):
        plane_index = index + offset
        if index == 1 and plane_index < len(hdulist) and _is_image_hdu(hdulist[plane_index]):
            _check_same_geometry(hdulist, index, plane_index, path, name)
            companions[offset - 1] = _read_plane(
                hdulist, plane_index, path, dtype, **read, with_metadata=planeMetadata
            )
        elif needAllHdus or (index == 1 and exttype is not None):
            # afw writes EXTTYPE = 'IMAGE' only with the mask and variance after it: without
            # them the file was cut short at an HDU boundary.
            raise FitsError(f"{path}: no {name} plane (expected an image in HDU {index + offset})")
        elif index == 1:
            _log.warning("%s: no %s plane in HDU %d; using zeros", path, name, plane_index)
    mask_plane, variance_plane = companions
    bounds = Box2I(image.xy0, Extent2I(image.array.shape[1], image.array.shape[0]))
    if mask_plane is None:
        mask = Mask(bounds)
    else:
        planes = read_mask_planes(mask_plane.header, _where(path, index + 1))
        mask = Mask(
            mask_plane.array, xy0=mask_plane.xy0, planeDict=None if planes is None else MaskPlaneDict(planes)
        )
    variance = (
        ImageF(bounds) if variance_plane is None else ImageF(variance_plane.array, xy0=variance_plane.xy0)
    )
    return _MaskedImageRead(
        maskedImage=MaskedImageF(ImageF(image.array, xy0=image.xy0), mask=mask, variance=variance),
        imageIndex=index,
        imageMetadata=image.metadata,
        maskMetadata=PropertyList() if mask_plane is None else mask_plane.metadata,
        varianceMetadata=PropertyList() if variance_plane is None else variance_plane.metadata,
    )


def _check_same_geometry(hdulist: fits.HDUList, image_index: int, index: int, path: str, name: str) -> None:
    """The planes of a masked image must have one shape and one xy0."""
    image_header, header = hdulist[image_index].header, hdulist[index].header
    image_shape = _image_shape(image_header, _where(path, image_index))
    shape = _image_shape(header, _where(path, index))
    if shape != image_shape:
        raise FitsError(
            f"{_where(path, index)}: the {name} plane is {shape[1]}x{shape[0]} but the image "
            f"(HDU {image_index}) is {image_shape[1]}x{image_shape[0]}"
        )
    image_xy0, xy0 = _file_xy0(hdulist, image_index), _file_xy0(hdulist, index)
    if xy0 != image_xy0:
        raise FitsError(
            f"{_where(path, index)}: the {name} plane has xy0 {tuple(xy0)} but the image "
            f"(HDU {image_index}) has {tuple(image_xy0)}"
        )


def read_masked_image(
    fileName: str | os.PathLike[str],
    *,
    bbox: Box2I | None = None,
    origin: ImageOrigin = PARENT,
    needAllHdus: bool = False,
    allowUnsafe: bool = False,
    metadata: PropertyList | None = None,
    imageMetadata: PropertyList | None = None,
    maskMetadata: PropertyList | None = None,
    varianceMetadata: PropertyList | None = None,
) -> MaskedImageF:
    """Read a `MaskedImageF` the way afw's ``MaskedImageFitsReader`` does.

    The image is the default HDU (HDU 1 behind an empty primary).  Only when
    it is HDU 1 are HDUs 2 and 3 read as mask and variance; missing planes
    are zeros (with a warning), so a single-image file reads too.

    Parameters
    ----------
    fileName : `str` or path-like
        The FITS file.
    bbox, origin
        Read only this region, as for `read_image`.
    needAllHdus : `bool`
        Raise instead of using zeros for a missing mask or variance.
    allowUnsafe : `bool`
        Convert pixel types that do not fit safely.
    metadata, imageMetadata, maskMetadata, varianceMetadata : `PropertyList`, optional
        Filled with the primary header and the three plane headers.

    Raises
    ------
    FitsError
        If the file is not readable, the image HDU's ``EXTTYPE`` is not
        ``IMAGE``, or the planes disagree in shape or xy0.
    FitsTypeError
        If a plane's pixel type does not fit safely.
    """
    path = os.fspath(fileName)
    with open_fits(path) as hdulist:
        result = _read_masked_image_hdus(
            hdulist,
            path,
            bbox=bbox,
            origin=origin,
            needAllHdus=needAllHdus,
            allowUnsafe=allowUnsafe,
            planeMetadata=maskMetadata is not None or varianceMetadata is not None,
        )
        primary = _hdu_metadata(hdulist, 0, path) if metadata is not None else PropertyList()
    for target, source in (
        (metadata, primary),
        (imageMetadata, result.imageMetadata),
        (maskMetadata, result.maskMetadata),
        (varianceMetadata, result.varianceMetadata),
    ):
        if target is not None:
            target.update(source)
    return result.maskedImage


def read_exposure(
    fileName: str | os.PathLike[str],
    *,
    bbox: Box2I | None = None,
    origin: ImageOrigin = PARENT,
    allowUnsafe: bool = False,
) -> ExposureF:
    """Read an `ExposureF` the way afw's ``ExposureFitsReader`` does.

    Parameters
    ----------
    fileName : `str` or path-like
        The FITS file (any layout `read_masked_image` accepts).
    bbox, origin
        Read only this region, as for `read_image`.
    allowUnsafe : `bool`
        Convert pixel types that do not fit safely.

    Returns
    -------
    exposure : `ExposureF`
        The pixels; ``metadata`` is the image header merged over the primary
        (``INHERIT``), without structural, "A" WCS, ``LTV``, ``EXTTYPE``,
        ``EXTNAME``, ``EXPINFO_V`` and ``AR_HDU`` cards; ``archive`` is an
        `ExposureArchive` when the file has one (``AR_HDU``), else `None`.

    Raises
    ------
    FitsError
        As `read_masked_image`, or for an ``EXPINFO_V`` newer than afw's.
    """
    path = os.fspath(fileName)
    with open_fits(path) as hdulist:
        result = _read_masked_image_hdus(
            hdulist, path, bbox=bbox, origin=origin, needAllHdus=False, allowUnsafe=allowUnsafe
        )
        primary_header = hdulist[0].header
        version = int(primary_header.get(_EXPINFO_KEY, 0))
        if version > _EXPINFO_VERSION:
            raise FitsError(
                f"{path}: Exposure FITS version {_EXPINFO_KEY} = {version} is newer than the "
                f"supported {_EXPINFO_VERSION}"
            )
        image_header = hdulist[result.imageIndex].header
        height, width = _image_shape(image_header, _where(path, result.imageIndex))
        full_bbox = Box2I(_file_xy0(hdulist, result.imageIndex), Extent2I(width, height))
        archive = _read_archive(hdulist, path, full_bbox, version)
        # The Detector is the one archive component afwlite can rebuild (its
        # geometry is a plain table; no AST is needed).
        detector = detectorFromExposureHdus(hdulist) if archive is not None else None
    metadata = result.imageMetadata
    for key in (*_PLANE_KEYS, _EXPINFO_KEY, "AR_HDU"):
        metadata.remove(key)
    exposure = ExposureF(result.maskedImage)
    exposure.setMetadata(metadata)
    exposure.archive = archive
    exposure.setDetector(detector)
    return exposure


def _read_archive(hdulist: fits.HDUList, path: str, bbox: Box2I, version: int) -> ExposureArchive | None:
    """The archive HDUs named by the primary's ``AR_HDU``, as raw bytes; `None` if absent."""
    ar_hdu = hdulist[0].header.get("AR_HDU", 0)
    if not isinstance(ar_hdu, int) or ar_hdu == 0:
        return None
    first = ar_hdu - 1
    if not 0 < first < len(hdulist) or not isinstance(hdulist[first], fits.BinTableHDU):
        _log.warning("%s: AR_HDU = %d does not point to a binary table; archive ignored", path, ar_hdu)
        return None
    index_header = hdulist[first].header
    if str(index_header.get("EXTTYPE", "ARCHIVE_INDEX")).strip() != "ARCHIVE_INDEX":
        _log.warning("%s: HDU %d (AR_HDU) is not an ARCHIVE_INDEX; archive ignored", path, first)
        return None
    count = int(index_header.get("AR_NCAT", len(hdulist) - first))
    if first + count > len(hdulist):
        _log.warning(
            "%s: the archive has %d catalogs but the file ends after %d; archive ignored",
            path,
            count,
            len(hdulist) - first,
        )
        return None
    spans = []
    for index in range(first, first + count):
        info = hdulist[index].fileinfo()
        spans.append((info["hdrLoc"], info["datLoc"] + info["datSpan"]))
    return ExposureArchive(_read_spans(path, spans), bbox, version, path)


def _read_spans(path: str, spans: Sequence[tuple[int, int]]) -> list[bytes]:
    """Byte ranges of the FITS stream of ``path`` (decompressing a gzipped file)."""
    with open(path, "rb") as raw:
        magic = raw.read(4)
    opener: Callable[..., Any] = open
    if magic.startswith(b"\x1f\x8b"):
        import gzip

        opener = gzip.open
    elif magic.startswith(_STREAM_COMPRESSION_MAGIC):
        raise FitsError(f"{path}: cannot copy archive HDUs out of a bzip2/zip-compressed file")
    chunks = []
    with opener(path, "rb") as stream:
        for start, stop in spans:
            stream.seek(start)
            chunk = stream.read(stop - start)
            if len(chunk) != stop - start:
                raise FitsError(f"{path}: truncated file: archive bytes {start}-{stop} are missing")
            chunks.append(chunk)
    return chunks
