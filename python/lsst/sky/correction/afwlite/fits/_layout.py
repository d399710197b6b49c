"""Constants of afw's FITS layouts shared by the readers and writers.

The layouts follow lsst/afw (``Exposure::writeFits``, ``ExposureFitsReader``,
``MaskedImageFitsReader``, ``fits.cc``).
"""

from __future__ import annotations

__all__ = ["DEFAULT_HDU"]

import re
import zipfile
import zlib
from typing import cast

import numpy as np
from astropy.io import fits
from isal import isal_zlib

from ._cards import xy0_cards

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
# card), short reads (EOFError), tile decompression (zlib.error, isal_zlib.error) and a file that starts
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
    cast(type[Exception], isal_zlib.error),  # the stubs type it as an instance
    zipfile.BadZipFile,
)
