"""Opening FITS files, finding their HDUs, and writing files that are never left half-written.

A damaged or truncated file becomes a `FitsError` naming it.  Writers write a
temporary file in the destination directory and rename it into place.
"""

from __future__ import annotations

__all__ = ["open_fits", "write_atomically"]

import contextlib
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning

from ._errors import FitsError
from ._layout import _BLOCK_LENGTH, _DAMAGED_FILE_ERRORS, _STREAM_COMPRESSION_MAGIC, DEFAULT_HDU

# ---------------------------------------------------------------------------
# Opening files and finding HDUs
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def open_fits(path: str) -> Iterator[fits.HDUList]:
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


def write_atomically(target: str, fill: Callable[[str], None]) -> None:
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


def _process_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; finished files get the usual permissions.
_FILE_MODE = 0o666 & ~_process_umask()
