"""Read and write afw's FITS layouts for ``ImageF``/``ImageD``, ``Mask``, ``MaskedImageF``, ``ExposureF``.

The layouts follow lsst/afw (``Exposure::writeFits``, ``ExposureFitsReader``,
``MaskedImageFitsReader``, ``fits.cc``):

* HDUs are found by position, never by ``EXTNAME``: an Exposure or
  MaskedImage is an empty primary, then IMAGE, MASK and VARIANCE, then the
  optional table archive of an Exposure.
* xy0 is stored on every plane as the "A" WCS (`xy0_cards`); ``LTV1``/``LTV2``
  are written for ds9 on Exposures and ignored on read.
* Mask plane names come from the mask HDU's ``MP_*`` cards, and a mask read
  from a file keeps that dictionary (no remapping to the process defaults).
* Tile-compressed HDUs are read transparently; writing can compress each plane
  losslessly (``GZIP_2``, one-row tiles, the Butler's ``lossless`` recipe).
  GZIP tiles are written and (when lossless) read by `._tiles` with zlib in
  threads; astropy handles ``RICE_1`` and every other compressed layout.

Writers never leave a partial file behind: they write a temporary file in the
destination directory and rename it into place.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_HDU",
    "ExposureArchive",
    "readMetadata",
    "read_exposure",
    "read_image",
    "read_masked_image",
    "write_exposure",
    "write_image",
    "write_masked_image",
]

import contextlib
import dataclasses
import io
import logging
import os
import re
import shutil
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning
from astropy.utils.exceptions import AstropyWarning

from ..geom import Box2I, Extent2I, Point2I
from ..image import PARENT, ExposureF, ImageBase, ImageF, ImageOrigin, Mask, MaskedImageF, PropertyList
from ..image._mask import MaskPlaneDict
from ._cards import mask_plane_cards, read_mask_planes, read_xy0, strip_xy0_cards, xy0_cards
from ._errors import FitsError, FitsTypeError
from ._header import cards_from_metadata, combine_metadata, make_card, metadata_from_header
from ._tiles import GZIP_ALGORITHMS, TiledLayout, compressed_hdu_bytes, decompress_region, tiled_layout

_log = logging.getLogger(__name__)

#: afw's "default HDU" sentinel (``INT_MIN``): skip an empty primary HDU.
DEFAULT_HDU = -(2**31)

# ExposureInfo::getFitsSerializationVersion() of current afw.
_EXPINFO_VERSION = 2
_EXPINFO_KEY = "EXPINFO_V"
_PLANE_NAMES = ("IMAGE", "MASK", "VARIANCE")
# The archive follows primary + 3 planes; AR_HDU is 1-based.
_ARCHIVE_AR_HDU = 5
_AR_HDU_COMMENT = "HDU (1-indexed) containing the archive used to store ancillary objects"
# Component ids afw reads from the primary besides ARCHIVE_ID_* (ExposureFitsReader),
# plus WCS_ID from files written before 2017.
_LEGACY_ARCHIVE_ID_KEYS = (
    "PSF_ID",
    "SKYWCS_ID",
    "COADD_INPUTS_ID",
    "AP_CORR_MAP_ID",
    "VALID_POLYGON_ID",
    "TRANSMISSION_CURVE_ID",
    "DETECTOR_ID",
    "PHOTOCALIB_ID",
    "WCS_ID",
)
_ARCHIVE_ID_PREFIX = "ARCHIVE_ID_"
# Keys the plane writer sets itself; never copied from metadata into a header.
_PLANE_KEYS = frozenset({"INHERIT", "EXTTYPE", "EXTNAME"})
_XY0_KEYS = frozenset(card.keyword for card in xy0_cards(0, 0))
_LTV_KEYS = frozenset({"LTV1", "LTV2"})
# The celestial FITS WCS of the primary description (no alternate letter).
# afw writes it on every plane of an Exposure, not in the primary header.
_SKY_WCS_KEY = re.compile(
    r"WCSAXES|WCSNAME|RADESYS|RADECSYS|EQUINOX|EPOCH|LONPOLE|LATPOLE|MJDREF"
    r"|(CRPIX|CRVAL|CTYPE|CUNIT|CDELT|CROTA|CRDER|CSYER)[0-9]+"
    r"|(CD|PC|PV|PS)[0-9]+_[0-9]+"
    r"|(A|B|AP|BP)_(ORDER|DMAX|[0-9]+_[0-9]+)"
)
# Integer on-disk types that fit in an int32 mask (lsst/afw Fits::checkImageType).
_SAFE_MASK_SOURCES = frozenset(np.dtype(t) for t in (np.int8, np.uint8, np.int16, np.uint16, np.int32))
_STREAM_COMPRESSION_MAGIC = (b"\x1f\x8b", b"BZh", b"PK\x03\x04")
_CARD_LENGTH = 80
_BLOCK_LENGTH = 2880  # a FITS file is a sequence of 2880-byte blocks
_COMPRESSION_ALGORITHMS = ("GZIP_1", "GZIP_2", "RICE_1")
# What astropy raises on a damaged file besides OSError: header parsing (KeyError for a
# missing structural card, ValueError, IndexError, TypeError, VerifyError for an unparsable
# card), short reads (EOFError), tile decompression (zlib.error) and a file that starts
# like a zip archive (BadZipFile).  Each becomes a FitsError naming the file.
_DAMAGED_FILE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    fits.VerifyError,
    zlib.error,
    zipfile.BadZipFile,
)


def _process_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; finished files get the usual permissions.
_FILE_MODE = 0o666 & ~_process_umask()

# ---------------------------------------------------------------------------
# The carried archive
# ---------------------------------------------------------------------------


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
# Opening files and finding HDUs
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def _open_fits(path: str) -> Iterator[fits.HDUList]:
    """Open ``path`` read-only, checking it is a complete FITS file."""
    if not os.path.isfile(path):
        raise FitsError(f"{path}: no such file" if not os.path.exists(path) else f"{path}: not a file")
    try:
        with warnings.catch_warnings():
            # Header oddities are reported by the completeness check below instead.
            warnings.simplefilter("ignore", AstropyWarning)
            # Scaling is applied here (_unscale), which keeps memory mapping
            # available for BZERO-offset integers such as legacy uint16 masks.
            hdulist = fits.open(path, memmap=True, do_not_scale_image_data=True)
            hdulist.readall()
    except _DAMAGED_FILE_ERRORS as error:
        raise FitsError(f"{path}: not a readable FITS file ({error})") from None
    try:
        _check_complete(hdulist, path)
        yield hdulist
    except FitsError:
        raise
    except _DAMAGED_FILE_ERRORS as error:
        # astropy parses cards and data lazily: damage can surface while the caller reads.
        raise FitsError(f"{path}: damaged FITS file ({type(error).__name__}: {error})") from error
    finally:
        hdulist.close()


def _check_complete(hdulist: fits.HDUList, path: str) -> None:
    """Raise if the file ends before its last HDU does, or has anything but padding after it.

    astropy silently drops an HDU whose header is cut or zero-filled, and may
    hand out short data, so a truncated file would otherwise read as a valid
    smaller one.  Less than a block of zeros or blanks after the last HDU is
    accepted as padding.
    """
    if len(hdulist) == 0:
        raise FitsError(f"{path}: not a FITS file (no HDU found)")
    with open(path, "rb") as stream:
        magic = stream.read(4)
    for index, hdu in enumerate(hdulist):
        if not hasattr(hdu, "fileinfo"):  # astropy's _CorruptedHDU: the data size is unknowable
            raise FitsError(f"{_where(path, index)}: corrupt header: its data size cannot be determined")
    if magic.startswith(_STREAM_COMPRESSION_MAGIC):
        return  # gzip/bzip2/zip files: the decompressor checks their integrity
    last = len(hdulist) - 1
    info = hdulist[last].fileinfo()
    end = info["datLoc"] + info["datSpan"]
    size = os.path.getsize(path)
    if size < end:
        raise FitsError(
            f"{path}: truncated file: HDU {last} ends at byte {end} but the file has only {size} bytes"
        )
    if size > end:
        with open(path, "rb") as stream:
            stream.seek(end)
            tail = stream.read()
        if tail.strip(b"\0 "):
            raise FitsError(
                f"{path}: truncated or corrupt file: {size - end} bytes after HDU {last} "
                "do not form a complete HDU"
            )
        if len(tail) >= _BLOCK_LENGTH:
            # No FITS writer pads a file with whole blocks of nothing; a file whose end was
            # lost and zero-filled (a crash before the data reached the disk) looks like this.
            raise FitsError(
                f"{path}: damaged file: HDU {last} is followed by {size - end} bytes of zeros or blanks "
                "instead of another HDU (the end of the file was lost)"
            )


def _where(path: str, index: int) -> str:
    return f"{path}[HDU {index}]"


def _naxis(hdu: Any) -> int:
    return int(hdu.header.get("NAXIS", 0))


def _default_hdu_index(hdulist: fits.HDUList) -> int:
    """The HDU afw's ``DEFAULT_HDU`` means: the primary, or HDU 1 behind an empty primary."""
    return 1 if _naxis(hdulist[0]) == 0 and len(hdulist) > 1 else 0


def _image_hdu_index(hdulist: fits.HDUList, hdu: int | None, path: str) -> int:
    """The HDU to read an image from, with afw's rules for the default and empty primaries."""
    count = len(hdulist)
    if hdu is None or hdu == DEFAULT_HDU:
        index = _default_hdu_index(hdulist)
        if _naxis(hdulist[index]) == 0 and count == 1:
            raise FitsError(f"{path}: no image HDU: the file holds only an empty primary HDU")
    else:
        index = int(hdu)
        if not 0 <= index < count:
            raise FitsError(f"{path}: no HDU {index} (the file has {count} HDUs, counted from 0)")
        # afw's checkCompressedImagePhu: a compressed image sits behind an empty primary.
        if index == 0 and count > 1 and _naxis(hdulist[0]) == 0 and isinstance(hdulist[1], fits.CompImageHDU):
            index = 1
    if not _is_image_hdu(hdulist[index]):
        raise FitsError(f"{_where(path, index)}: is a {type(hdulist[index]).__name__}, not an image")
    return index


def _is_image_hdu(hdu: Any) -> bool:
    return isinstance(hdu, fits.PrimaryHDU | fits.ImageHDU | fits.CompImageHDU)


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip() == "T")


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
    with _open_fits(path) as hdulist:
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
    with _open_fits(path) as hdulist:
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
    with _open_fits(path) as hdulist:
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
    with _open_fits(path) as hdulist:
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
        detector = _archive_module().detectorFromExposureHdus(hdulist) if archive is not None else None
    metadata = result.imageMetadata
    for key in (*_PLANE_KEYS, _EXPINFO_KEY, "AR_HDU"):
        metadata.remove(key)
    exposure = ExposureF(result.maskedImage)
    exposure.setMetadata(metadata)
    exposure.archive = archive
    exposure.setDetector(detector)
    return exposure


def _archive_module() -> Any:
    # Imported lazily: the archive reader pulls in cameraGeom.
    from . import _archive

    return _archive


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


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Compression:
    """Tile compression of one plane: algorithm and tile shape (0 = whole axis)."""

    algorithm: str
    tileWidth: int = 0
    tileHeight: int = 1


CompressionSpec = str | Mapping[str, Any] | None


def _plane_compression(spec: Any, plane: str, where: str) -> _Compression | None:
    """Normalise one plane's compression request (a name or an afw-style options mapping)."""
    if spec is None or spec is False:
        return None
    if isinstance(spec, str):
        name = spec.strip().upper()
        if name in ("", "NONE"):
            return None
        if name == "LOSSLESS":
            name = "GZIP_2"
        if name not in _COMPRESSION_ALGORITHMS:
            raise ValueError(
                f"{where}: unknown compression {spec!r} for the {plane} plane; use 'lossless', "
                f"one of {', '.join(_COMPRESSION_ALGORITHMS)}, or None"
            )
        return _Compression(name)
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"algorithm", "tile_width", "tile_height", "quantization"}
        if unknown:
            raise ValueError(
                f"{where}: unknown compression option(s) {sorted(unknown)} for the {plane} plane"
            )
        if spec.get("quantization") is not None:
            raise NotImplementedError(
                f"{where}: lossy (quantized) compression is not supported; only lossless tile compression"
            )
        base = _plane_compression(spec.get("algorithm", "GZIP_2"), plane, where)
        if base is None:
            return None
        return _Compression(base.algorithm, int(spec.get("tile_width", 0)), int(spec.get("tile_height", 1)))
    raise TypeError(f"{where}: compression must be a name, a mapping or None, not {type(spec).__name__}")


def _compression_by_plane(
    spec: CompressionSpec, planes: Sequence[str], where: str
) -> dict[str, _Compression | None]:
    """One `_Compression` per plane name; a mapping keyed by plane name sets them separately."""
    if isinstance(spec, Mapping) and set(spec) & {"image", "mask", "variance"}:
        unknown = set(spec) - {"image", "mask", "variance"}
        if unknown:
            raise ValueError(f"{where}: unknown plane(s) {sorted(unknown)} in the compression options")
        return {plane: _plane_compression(spec.get(plane.lower()), plane, where) for plane in planes}
    return {plane: _plane_compression(spec, plane, where) for plane in planes}


def _read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view, so astropy byte-swaps a copy instead of the caller's pixels in place."""
    view = array.view()
    view.flags.writeable = False
    return view


@dataclasses.dataclass(frozen=True)
class _TiledPlane:
    """An image to write GZIP tile-compressed with `compressed_hdu_bytes` (not astropy)."""

    array: np.ndarray
    cards: tuple[fits.Card, ...]
    algorithm: str
    tile: tuple[int, int]

    def tobytes(self) -> bytes:
        return compressed_hdu_bytes(self.array, self.cards, self.algorithm, self.tile)


type _Hdu = fits.PrimaryHDU | fits.ImageHDU | fits.CompImageHDU | _TiledPlane


def _image_hdu(
    array: np.ndarray,
    cards: Sequence[fits.Card],
    compression: _Compression | None,
    *,
    primary: bool,
    where: str,
) -> _Hdu:
    # CFITSIO cannot compress an empty image, so afw writes those uncompressed.
    if compression is None or array.size == 0:
        header = fits.Header(list(cards))
        data = _read_only(array)
        return fits.PrimaryHDU(data, header) if primary else fits.ImageHDU(data, header)
    is_float = array.dtype.kind == "f"
    if compression.algorithm == "RICE_1" and is_float:
        raise ValueError(f"{where}: RICE_1 cannot compress floating-point pixels losslessly; use GZIP_2")
    height, width = array.shape
    tiles = (compression.tileHeight or height, compression.tileWidth or width)
    if compression.algorithm in GZIP_ALGORITHMS:
        return _TiledPlane(array, tuple(cards), compression.algorithm, tiles)
    header = fits.Header(list(cards))
    data = _read_only(array)
    return fits.CompImageHDU(data, header, compression_type=compression.algorithm, tile_shape=tiles)


def _metadata_cards(
    metadata: PropertyList | None, drop: Callable[[str], bool], where: str
) -> list[fits.Card]:
    """Cards for ``metadata`` minus the names ``drop`` selects (the input is not modified)."""
    if metadata is None:
        return []
    kept = PropertyList()
    for name in metadata.names():
        if not drop(name):
            kept.set(name, metadata.getArray(name), metadata.getComment(name) or None)
    return cards_from_metadata(kept, where)


def _is_plane_key(name: str) -> bool:
    return name in _PLANE_KEYS or name in _XY0_KEYS


def _plane_cards(
    image: ImageBase, metadata: PropertyList | None, extension: str | None, where: str
) -> list[fits.Card]:
    """A plane header as afw writes it: metadata, plane keys, ``MP_*`` (masks), "A" WCS."""
    cards = _metadata_cards(metadata, _is_plane_key, where)
    if extension is not None:
        cards += [
            make_card("INHERIT", True, "", where),
            make_card("EXTTYPE", extension, "", where),
            make_card("EXTNAME", extension, "", where),
        ]
    if isinstance(image, Mask):
        with warnings.catch_warnings():
            # astropy announces each HIERARCH card it makes for MP_<long name>.
            warnings.simplefilter("ignore", VerifyWarning)
            cards += mask_plane_cards(image.planeDict)
    return cards + xy0_cards(image.getX0(), image.getY0())


def _masked_image_hdus(
    maskedImage: MaskedImageF,
    primaryCards: Sequence[fits.Card],
    planeMetadata: Sequence[PropertyList | None],
    compression: CompressionSpec,
    where: str,
) -> list[_Hdu]:
    options = _compression_by_plane(compression, _PLANE_NAMES, where)
    planes = (maskedImage.getImage(), maskedImage.getMask(), maskedImage.getVariance())
    hdus: list[_Hdu] = [fits.PrimaryHDU(header=fits.Header(list(primaryCards)))]
    for name, plane, metadata in zip(_PLANE_NAMES, planes, planeMetadata, strict=True):
        cards = _plane_cards(plane, metadata, name, where)
        hdus.append(_image_hdu(plane.array, cards, options[name], primary=False, where=where))
    return hdus


def write_image(
    image: ImageBase,
    fileName: str | os.PathLike[str],
    *,
    metadata: PropertyList | None = None,
    mode: str = "w",
    compression: CompressionSpec = None,
) -> None:
    """Write an image or mask as afw's ``Image::writeFits`` / ``Mask::writeFits`` do.

    Parameters
    ----------
    image : `ImageF`, `ImageD` or `Mask`
        The pixels (float32 → BITPIX -32, float64 → -64, mask → int32).
    fileName : `str` or path-like
        The destination.
    metadata : `PropertyList`, optional
        Header cards to write with the image.
    mode : `str`
        ``"w"`` to create (replace) the file, ``"a"`` to append the image as
        a new extension to an existing file.
    compression : `str` or mapping, optional
        ``"lossless"`` (``GZIP_2``, one-row tiles), an algorithm name, or an
        options mapping (``algorithm``, ``tile_width``, ``tile_height``).
        A compressed image sits behind an empty primary HDU.

    Raises
    ------
    FitsError
        If the file cannot be written; nothing is left at ``fileName`` then
        (for ``"a"`` the original is unchanged).
    """
    target = os.fspath(fileName)
    if mode not in ("w", "a"):
        raise ValueError(f"{target}: mode must be 'w' or 'a', not {mode!r}")
    options = _plane_compression(compression, "image", target)
    cards = _plane_cards(image, metadata, None, target)
    if mode == "a":
        hdu = _image_hdu(image.array, cards, options, primary=False, where=target)
        _write_atomically(target, lambda tmp: _append_hdu(target, tmp, hdu))
        return
    if options is None or image.array.size == 0:
        hdus = [_image_hdu(image.array, cards, None, primary=True, where=target)]
    else:
        hdus = [fits.PrimaryHDU(), _image_hdu(image.array, cards, options, primary=False, where=target)]
    _write_atomically(target, lambda tmp: _write_hdus(tmp, hdus))


def write_masked_image(
    maskedImage: MaskedImageF,
    fileName: str | os.PathLike[str],
    *,
    metadata: PropertyList | None = None,
    imageMetadata: PropertyList | None = None,
    maskMetadata: PropertyList | None = None,
    varianceMetadata: PropertyList | None = None,
    compression: CompressionSpec = None,
) -> None:
    """Write a masked image as afw's ``MaskedImage::writeFits`` does.

    The primary HDU is empty and holds ``metadata`` (never ``EXTNAME``);
    HDUs 1-3 hold the planes with ``INHERIT``, ``EXTTYPE``, ``EXTNAME``,
    the mask's ``MP_*`` cards and the "A" WCS.

    Parameters
    ----------
    maskedImage : `MaskedImageF`
        The planes to write.
    fileName : `str` or path-like
        The destination (replaced atomically).
    metadata, imageMetadata, maskMetadata, varianceMetadata : `PropertyList`, optional
        Cards for the primary and for each plane.
    compression : `str` or mapping, optional
        As for `write_image`; a mapping keyed by ``image``/``mask``/``variance``
        sets the planes separately.
    """
    target = os.fspath(fileName)
    primary = _metadata_cards(metadata, _is_plane_key, target)
    hdus = _masked_image_hdus(
        maskedImage, primary, (imageMetadata, maskMetadata, varianceMetadata), compression, target
    )
    _write_atomically(target, lambda tmp: _write_hdus(tmp, hdus))


def _archive_id_keys(metadata: PropertyList) -> set[str]:
    """The primary's component-id cards, which only mean something next to their archive."""
    keys = set(_LEGACY_ARCHIVE_ID_KEYS)
    for name in metadata.names():
        if name.startswith(_ARCHIVE_ID_PREFIX):
            keys.add(name)
            keys.add(name[len(_ARCHIVE_ID_PREFIX) :] + "_ID")
    return keys


def write_exposure(
    exposure: ExposureF, fileName: str | os.PathLike[str], *, compression: CompressionSpec = None
) -> None:
    """Write an exposure as afw's ``Exposure::writeFits`` does.

    The primary HDU holds the metadata (minus the sky WCS, which goes on the
    planes as afw writes it), ``EXPINFO_V`` and, with a detector,
    ``DETNAME``/``DETSER``.  Each plane gets the sky WCS cards, ``LTV1/2``
    (= -xy0), ``INHERIT``/``EXTTYPE``/``EXTNAME`` and the "A" WCS.

    An `ExposureArchive` carried by ``exposure.archive`` is appended after
    the variance with ``AR_HDU = 5`` when it belongs to these pixels (same
    bbox); otherwise no archive is written and the component-id cards are
    left out, so afw never looks for components that are not there.

    Parameters
    ----------
    exposure : `ExposureF`
        The exposure to write (not modified).
    fileName : `str` or path-like
        The destination (replaced atomically).
    compression : `str` or mapping, optional
        As for `write_masked_image`.
    """
    target = os.fspath(fileName)
    archive = exposure.archive
    carried = isinstance(archive, ExposureArchive) and archive.bbox == exposure.getBBox()
    if archive is not None and not carried:
        _log.info("%s: the exposure's archive does not match its pixels (bbox changed); not written", target)
    metadata = exposure.getMetadata()
    dropped = _PLANE_KEYS | _XY0_KEYS | _LTV_KEYS | {_EXPINFO_KEY, "AR_HDU"}
    if not carried:
        dropped |= _archive_id_keys(metadata)
    primary = PropertyList()
    wcs = PropertyList()
    for name in metadata.names():
        if name in dropped:
            continue
        destination = wcs if _SKY_WCS_KEY.fullmatch(name) else primary
        destination.set(name, metadata.getArray(name), metadata.getComment(name) or None)
    primary.set(_EXPINFO_KEY, archive.version if carried else _EXPINFO_VERSION)
    if carried:
        primary.set("AR_HDU", _ARCHIVE_AR_HDU, _AR_HDU_COMMENT)
    detector = exposure.getDetector()
    if detector is not None:
        primary.set("DETNAME", str(detector.getName()))
        primary.set("DETSER", str(detector.getSerial()))
    # LTV is "for the sake of ds9" (afw ExposureInfo::_startWriteFits).
    wcs.set("LTV1", float(-exposure.getX0()))
    wcs.set("LTV2", float(-exposure.getY0()))
    hdus = _masked_image_hdus(
        exposure.getMaskedImage(),
        cards_from_metadata(primary, target),
        (wcs, wcs, wcs),
        compression,
        target,
    )
    trailing = archive.hduBytes if carried else ()
    _write_atomically(target, lambda tmp: _write_hdus(tmp, hdus, trailing))


def _write_atomically(target: str, fill: Callable[[str], None]) -> None:
    """Let ``fill`` write a temporary file beside ``target``, then rename it into place."""
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise FitsError(f"{target}: cannot write: directory {directory} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory)
    os.close(handle)
    try:
        fill(temporary)
        os.chmod(temporary, _FILE_MODE)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _write_hdus(path: str, hdus: Sequence[_Hdu], trailing: Sequence[bytes] = ()) -> None:
    if any(isinstance(hdu, _TiledPlane) for hdu in hdus):
        with open(path, "wb") as stream:
            for position, hdu in enumerate(hdus):
                stream.write(_hdu_bytes(hdu, primary=position == 0))
    else:
        fits.HDUList(list(hdus)).writeto(path, overwrite=True)
    if trailing:
        with open(path, "ab") as stream:
            for chunk in trailing:
                stream.write(chunk)


# The empty primary astropy puts in front of an extension written on its own.
_DEFAULT_PRIMARY_LENGTH = len(fits.PrimaryHDU().header.tostring())


def _hdu_bytes(hdu: _Hdu, *, primary: bool) -> bytes:
    """One HDU as it goes into the file (header and data blocks)."""
    if isinstance(hdu, _TiledPlane):
        return hdu.tobytes()
    buffer = io.BytesIO()
    if primary:
        hdu.writeto(buffer)
        return buffer.getvalue()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer)
    return buffer.getvalue()[_DEFAULT_PRIMARY_LENGTH:]


def _append_hdu(target: str, path: str, hdu: _Hdu) -> None:
    if not os.path.isfile(target):
        raise FitsError(f"{target}: cannot append: no such file")
    with open(target, "rb") as stream:
        if stream.read(4).startswith(_STREAM_COMPRESSION_MAGIC):
            raise FitsError(f"{target}: cannot append to a gzip/bzip2/zip-compressed file")
    shutil.copyfile(target, path)
    with _open_fits(target):
        pass  # a damaged file is reported, not appended to
    if isinstance(hdu, _TiledPlane):
        with open(path, "ab") as stream:
            stream.write(hdu.tobytes())
        return
    with fits.open(path, mode="append") as hdulist:
        hdulist.append(hdu)
