"""Writing afw's layouts: ``ImageF``/``ImageD``, ``Mask``, ``MaskedImageF``, ``ExposureF``.

* xy0 is stored on every plane as the "A" WCS (`xy0_cards`); ``LTV1``/``LTV2``
  are written for ds9 on Exposures.
* Writing can compress each plane losslessly (``GZIP_2``, one-row tiles, the
  Butler's ``lossless`` recipe); GZIP tiles are written by `._tiles` with zlib
  in threads, ``RICE_1`` by astropy.
* A carried archive of an Exposure is copied back verbatim.
"""

from __future__ import annotations

__all__ = ["image_hdu", "write_exposure", "write_hdus", "write_image", "write_masked_image"]

import dataclasses
import io
import logging
import os
import shutil
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from ..image import ExposureF, ImageBase, Mask, MaskedImageF, PropertyList
from ._cards import mask_plane_cards, xy0_cards
from ._errors import FitsError
from ._files import open_fits, write_atomically
from ._header import cards_from_metadata, make_card
from ._layout import (
    _AR_HDU_COMMENT,
    _ARCHIVE_AR_HDU,
    _ARCHIVE_ID_PREFIX,
    _COMPRESSION_ALGORITHMS,
    _EXPINFO_KEY,
    _EXPINFO_VERSION,
    _LEGACY_ARCHIVE_ID_KEYS,
    _LTV_KEYS,
    _PLANE_KEYS,
    _PLANE_NAMES,
    _SKY_WCS_KEY,
    _STREAM_COMPRESSION_MAGIC,
    _XY0_KEYS,
)
from ._read import ExposureArchive
from ._tiles import GZIP_ALGORITHMS, compressed_hdu_bytes

_log = logging.getLogger(__name__)


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


def image_hdu(
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
        hdus.append(image_hdu(plane.array, cards, options[name], primary=False, where=where))
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
        hdu = image_hdu(image.array, cards, options, primary=False, where=target)
        write_atomically(target, lambda tmp: _append_hdu(target, tmp, hdu))
        return
    if options is None or image.array.size == 0:
        hdus = [image_hdu(image.array, cards, None, primary=True, where=target)]
    else:
        hdus = [fits.PrimaryHDU(), image_hdu(image.array, cards, options, primary=False, where=target)]
    write_atomically(target, lambda tmp: write_hdus(tmp, hdus))


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
    write_atomically(target, lambda tmp: write_hdus(tmp, hdus))


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
    write_atomically(target, lambda tmp: write_hdus(tmp, hdus, trailing))


def write_hdus(path: str, hdus: Sequence[_Hdu], trailing: Sequence[bytes] = ()) -> None:
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
    with open_fits(target):
        pass  # a damaged file is reported, not appended to
    if isinstance(hdu, _TiledPlane):
        with open(path, "ab") as stream:
            stream.write(hdu.tobytes())
        return
    with fits.open(path, mode="append") as hdulist:
        hdulist.append(hdu)
