"""FITS header ↔ `PropertyList` conversion with afw's value encoding.

afw (lsst/afw ``src/fits.cc``) encodes metadata values as follows, and this
module does the same in both directions:

* ``bool`` ↔ ``T``/``F``; ``int`` ↔ integer; ``str`` ↔ string (long strings
  use the ``&``/``CONTINUE`` convention); `None` ↔ a card with no value.
* ``float``: finite values are numbers; NaN and ±infinity are written as the
  strings ``'NAN'``, ``'+INFINITY'``, ``'-INFINITY'`` and turned back into
  floats on read.
* Keys longer than 8 characters (or not legal FITS keywords) become
  ``HIERARCH`` cards.
* ``COMMENT`` and ``HISTORY`` cards each add one string value.
* A name with several values (`PropertyList.add`) is written as repeated cards,
  and repeated cards are read back as several values.

Structural keywords (``SIMPLE``, ``BITPIX``, ``NAXIS*``, ``BZERO``, the
tile-compression ``Z*`` keys, checksums...) belong to the FITS layer: they are
dropped on read (``strip=True``) and never written from metadata.
"""

from __future__ import annotations

__all__ = [
    "cards_from_metadata",
    "combine_metadata",
    "is_structural_key",
    "metadata_from_header",
]

import math
import re
import warnings

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from ..image import PropertyList
from ._errors import FitsError

# afw's ignoreKeys and ignoreKeyStarts (lsst/afw fits.cc), plus the tile
# compression keys the 2025 afw also leaves to CFITSIO.
_STRUCTURAL_KEYS = frozenset(
    {
        "SIMPLE",
        "BITPIX",
        "NAXIS",
        "EXTEND",
        "GCOUNT",
        "PCOUNT",
        "XTENSION",
        "TFIELDS",
        "BSCALE",
        "BZERO",
        "ZBITPIX",
        "ZIMAGE",
        "ZCMPTYPE",
        "ZSIMPLE",
        "ZEXTEND",
        "ZBLANK",
        "ZDATASUM",
        "ZHECKSUM",
        "ZQUANTIZ",
        "ZDITHER0",
        "DATASUM",
        "CHECKSUM",
    }
)
_STRUCTURAL_PREFIXES = ("NAXIS", "TZERO", "TSCAL", "ZNAXIS", "ZTILE", "ZNAME", "ZVAL")
# Table-layout keys are never written from metadata (afw's ignoreKeyStartsWrite).
_WRITE_ONLY_PREFIXES = ("TFORM", "TTYPE")

# The special strings afw uses for non-finite doubles.
_NON_FINITE_FROM_STRING = {"NAN": math.nan, "+INFINITY": math.inf, "-INFINITY": -math.inf}

_STANDARD_KEYWORD = re.compile(r"[A-Z0-9_-]{1,8}")
# A float card's value field is 20 characters in fixed format.
_FIXED_VALUE_WIDTH = 20
_CARD_LENGTH = 80
_INT64_LIMIT = 2**63


def is_structural_key(key: str, *, writing: bool = False) -> bool:
    """Whether afw leaves ``key`` to the FITS layer (never in metadata).

    Parameters
    ----------
    key : `str`
        The header keyword (without any ``HIERARCH`` prefix).
    writing : `bool`
        Also refuse the table-layout keys ``TFORM*``/``TTYPE*``, which afw
        never writes from metadata but does read.
    """
    if key in _STRUCTURAL_KEYS or key.startswith(_STRUCTURAL_PREFIXES):
        return True
    return writing and key.startswith(_WRITE_ONLY_PREFIXES)


def metadata_from_header(
    header: fits.Header, where: str, *, strip: bool = True, into: PropertyList | None = None
) -> PropertyList:
    """Convert an astropy header to a `PropertyList`, decoding afw's values.

    Parameters
    ----------
    header : `astropy.io.fits.Header`
        The header to convert (not modified).
    where : `str`
        The file and HDU, for error messages.
    strip : `bool`
        Drop the structural keywords (see `is_structural_key`).
    into : `PropertyList`, optional
        Add to this list instead of a new one.

    Returns
    -------
    metadata : `PropertyList`
        The metadata, in header order; repeated keys hold several values.

    Raises
    ------
    FitsError
        If a card's value cannot be parsed.
    """
    metadata = PropertyList() if into is None else into
    for card in header.cards:
        key = card.keyword
        if not key or (strip and is_structural_key(key)):
            continue
        if key in ("COMMENT", "HISTORY"):
            metadata.add(key, str(card.value))
            continue
        try:
            value = card.value
        except Exception as error:  # astropy raises VerifyError and friends on bad cards
            raise FitsError(f"{where}: cannot parse the value of header key {key!r}: {error}") from None
        metadata.add(key, _decode_value(value, key, where), card.comment or None)
    return metadata


def _decode_value(value: object, key: str, where: str) -> object:
    if isinstance(value, fits.card.Undefined):
        return None
    if isinstance(value, str):
        return _NON_FINITE_FROM_STRING.get(value, value)
    if isinstance(value, bool | int | float):
        return value
    raise FitsError(f"{where}: header key {key!r} has a value of unsupported type: {value!r}")


def combine_metadata(primary: PropertyList, extension: PropertyList) -> PropertyList:
    """Merge an extension's metadata over the primary's, as afw does for ``INHERIT``.

    Values from ``extension`` replace the primary's (keeping the primary's
    position); ``COMMENT`` and ``HISTORY`` values are appended instead.
    Neither input is modified.
    """
    merged = primary.copy()
    for name in extension.names():
        values = extension.getArray(name)
        comment = extension.getComment(name) or None
        if name in ("COMMENT", "HISTORY"):
            for value in values:
                merged.add(name, value)
        else:
            merged.set(name, values, comment)
    return merged


def cards_from_metadata(metadata: PropertyList, where: str) -> list[fits.Card]:
    """Encode metadata as FITS cards the way afw writes them.

    Parameters
    ----------
    metadata : `PropertyList`
        The metadata (not modified).  Structural keys are skipped.
    where : `str`
        The file being written, for error messages.

    Returns
    -------
    cards : `list` [`astropy.io.fits.Card`]
        One card per value, in metadata order.

    Raises
    ------
    FitsError
        If a value cannot be represented in a FITS header.
    """
    cards: list[fits.Card] = []
    for name in metadata.names():
        if is_structural_key(name, writing=True):
            continue
        comment = metadata.getComment(name)
        for value in metadata.getArray(name):
            if name in ("COMMENT", "HISTORY"):
                cards.append(_checked_card(name, str(value), "", where))
            else:
                cards.append(make_card(name, value, comment, where))
    return cards


def make_card(key: str, value: object, comment: str, where: str) -> fits.Card:
    """One FITS card for ``key = value`` with afw's encoding (see module docs)."""
    if not key or "=" in key:
        raise FitsError(f"{where}: {key!r} cannot be used as a FITS header keyword")
    keyword = key if _STANDARD_KEYWORD.fullmatch(key) else f"HIERARCH {key}"
    encoded = _encode_value(value, key, where)
    if isinstance(encoded, float):
        text = repr(encoded).upper()
        if len(text) > _FIXED_VALUE_WIDTH:
            # astropy would cut the mantissa to fit 20 characters; free format
            # keeps every digit so that the value reads back exactly.
            return _free_format_float_card(keyword, text, comment, where)
    return _checked_card(keyword, encoded, comment, where)


def _encode_value(value: object, key: str, where: str) -> object:
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        if not -_INT64_LIMIT <= int(value) < _INT64_LIMIT:
            raise FitsError(f"{where}: header key {key!r}: integer {value} does not fit in 64 bits")
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return "NAN"
        if math.isinf(number):
            return "+INFINITY" if number > 0 else "-INFINITY"
        return number
    if isinstance(value, str):
        return value
    raise FitsError(
        f"{where}: header key {key!r} has a value of type {type(value).__name__}, "
        "which a FITS header cannot hold"
    )


def _checked_card(keyword: str, value: object, comment: str, where: str) -> fits.Card:
    try:
        with warnings.catch_warnings():
            # Over-long comments are truncated, as CFITSIO does.
            warnings.simplefilter("ignore", VerifyWarning)
            card = fits.Card(keyword, value, comment)
            card.image  # noqa: B018 -- formatting here reports bad values now, not at write time
    except (ValueError, TypeError) as error:
        raise FitsError(f"{where}: cannot write header key {keyword!r} = {value!r}: {error}") from None
    return card


def _free_format_float_card(keyword: str, text: str, comment: str, where: str) -> fits.Card:
    if keyword.startswith("HIERARCH "):
        image = f"{keyword} = {text}"
    else:
        image = f"{keyword:<8}= {text:>{_FIXED_VALUE_WIDTH}}"
    if len(image) > _CARD_LENGTH:
        raise FitsError(f"{where}: header key {keyword!r} with value {text} does not fit in one card")
    if comment:
        image = f"{image} / {comment}"[:_CARD_LENGTH]
    return fits.Card.fromstring(image)
