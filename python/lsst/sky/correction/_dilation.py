"""Footprint growth: dilation of a boolean mask by afw's CIRCLE or MANHATTAN stencil.

Rows are packed 64 pixels to a word, so a row offset of the stencil is a
few word shifts and ORs rather than one pass per pixel of the radius.
"""

from __future__ import annotations

__all__ = ["dilateMask", "stencilHalfWidths"]

import math
from collections.abc import Sequence

import numpy as np


def stencilHalfWidths(radius: int, isotropic: bool) -> np.ndarray:
    """Half-width of afw's growth stencil in each row offset ``|dy| = 0 ... radius``.

    Parameters
    ----------
    radius : `int`
        Growth radius in pixels (>= 0).
    isotropic : `bool`
        `True` for afw's ``CIRCLE`` stencil (``floor(sqrt(r**2 - dy**2))``,
        i.e. every offset with ``dx**2 + dy**2 <= r**2``), `False` for
        ``MANHATTAN`` (``r - |dy|``).
    """
    if radius < 0:
        raise ValueError(f"the growth radius must be >= 0, got {radius}")
    if isotropic:
        return np.array([math.isqrt(radius * radius - dy * dy) for dy in range(radius + 1)], dtype=np.int64)
    return radius - np.arange(radius + 1, dtype=np.int64)


def _take(array: np.ndarray, axis: int, start: int, stop: int) -> np.ndarray:
    return array[:, start:stop] if axis == 1 else array[start:stop]


def _orTables(array: np.ndarray, axis: int, longest: int) -> list[np.ndarray]:
    """Sparse table of ORs: ``tables[k][..., i] = OR(array[..., i : i + 2**k])`` along ``axis``."""
    tables = [array]
    span = 1
    while 2 * span <= longest:
        previous = tables[-1]
        length = previous.shape[axis]
        tables.append(_take(previous, axis, 0, length - span) | _take(previous, axis, span, length))
        span *= 2
    return tables


def _windowOr(tables: list[np.ndarray], start: int, window: int, count: int, axis: int) -> np.ndarray:
    """``OR(array[start + i : start + i + window])`` for ``i < count``, from two overlapping table spans."""
    level = window.bit_length() - 1
    span = 1 << level
    table = tables[level]
    tail = start + window - span
    return _take(table, axis, start, start + count) | _take(table, axis, tail, tail + count)


# Rows packed 64 pixels to a word: pixel x of a row is bit x % 64 of word x // 64.
_WORD_BITS = 64


def _packRows(mask: np.ndarray) -> np.ndarray:
    """Pack a boolean ``(H, W)`` array into ``(H, ceil(W / 64))`` little-endian uint64 words."""
    packed = np.packbits(mask, axis=1, bitorder="little")
    nBytes = -(-mask.shape[1] // _WORD_BITS) * (_WORD_BITS // 8)
    if packed.shape[1] != nBytes:
        packed = np.pad(packed, ((0, 0), (0, nBytes - packed.shape[1])))
    return np.ascontiguousarray(packed).view("<u8")


def _unpackRows(words: np.ndarray, width: int) -> np.ndarray:
    """The boolean ``(H, width)`` array of `_packRows` words (bits past ``width`` are dropped)."""
    bytes8 = np.ascontiguousarray(words).view(np.uint8)
    return np.unpackbits(bytes8, axis=1, count=width, bitorder="little").view(bool)


def _shiftBits(words: np.ndarray, shift: int) -> np.ndarray:
    """Packed rows moved along x: ``out[x] = in[x - shift]``, zeros shifted in from the ends."""
    nWords = words.shape[1]
    whole, bits = divmod(abs(shift), _WORD_BITS)
    out = np.zeros_like(words)
    if whole >= nWords:
        return out
    if shift >= 0:  # towards higher x: bits move up within a word and carry into the next one
        source = words[:, : nWords - whole]
        if bits == 0:
            out[:, whole:] = source
        else:
            out[:, whole:] = source << np.uint64(bits)
            out[:, whole + 1 :] |= source[:, :-1] >> np.uint64(_WORD_BITS - bits)
    else:
        source = words[:, whole:]
        if bits == 0:
            out[:, : nWords - whole] = source
        else:
            out[:, : nWords - whole] = source >> np.uint64(bits)
            out[:, : nWords - whole - 1] |= source[:, 1:] << np.uint64(_WORD_BITS - bits)
    return out


def _rowSpanTables(words: np.ndarray, longest: int) -> list[np.ndarray]:
    """``tables[k][x] = OR(in[x : x + 2**k])`` along the packed rows, for ``2**k <= longest``."""
    tables = [words]
    span = 1
    while 2 * span <= longest:
        tables.append(tables[-1] | _shiftBits(tables[-1], -span))
        span *= 2
    return tables


def _rowWindowOr(tables: list[np.ndarray], halfWidth: int) -> np.ndarray:
    """``OR(in[x - halfWidth : x + halfWidth + 1])`` along the packed rows, from two table spans."""
    window = 2 * halfWidth + 1
    level = window.bit_length() - 1
    span = 1 << level
    table = tables[level]
    # Spans [x - halfWidth, x - halfWidth + span) and (x + halfWidth - span, x + halfWidth].
    return _shiftBits(table, halfWidth) | _shiftBits(table, span - 1 - halfWidth)


def dilateMask(mask: np.ndarray, halfWidths: Sequence[int] | np.ndarray) -> np.ndarray:
    """Dilate a boolean mask by a symmetric stencil, clipped to the array.

    Pixel ``(y, x)`` of the result is set when some set pixel lies at
    ``(y + dy, x + dx)`` with ``|dx| <= halfWidths[|dy|]``.

    Parameters
    ----------
    mask : `numpy.ndarray`
        2-d boolean array.
    halfWidths : sequence of `int`
        Non-increasing, non-negative half-widths for ``|dy| = 0, 1, ...``
        (e.g. from `stencilHalfWidths`; a constant list gives a box).

    Returns
    -------
    dilated : `numpy.ndarray`
        A new boolean array of the same shape.

    Notes
    -----
    A stencil whose row half-width never increases away from the centre is
    the union of centred rectangles ``(2w + 1) x (2d(w) + 1)``, one per
    distinct half-width ``w``.  Each rectangle is a running OR along x, then
    along y; both come from sparse tables of ORs over power-of-two spans.
    The rows are packed 64 pixels to a machine word throughout, so every
    step works on an eighth of the bytes of a boolean image and the cost
    hardly depends on the radius.
    """
    widths = np.asarray(halfWidths, dtype=np.int64)
    if widths.ndim != 1 or widths.size == 0 or np.any(widths < 0) or np.any(np.diff(widths) > 0):
        raise ValueError(f"halfWidths must be a non-empty, non-negative, non-increasing list, got {widths}")
    if mask.ndim != 2 or mask.dtype != np.bool_:
        raise TypeError(f"dilateMask needs a 2-d boolean array, got {mask.dtype} of shape {mask.shape}")
    height, width = mask.shape
    reachY, reachX = widths.size - 1, int(widths[0])
    if (reachX == 0 and reachY == 0) or not mask.any():
        return mask.copy()

    words = _packRows(mask)
    # Zero words on the left, so that a window reaching left of column 0 reads
    # zeros instead of being cut short; zero rows above and below likewise.
    leftWords = -(-reachX // _WORD_BITS)
    padded = np.zeros((height + 2 * reachY, leftWords + words.shape[1]), dtype=words.dtype)
    padded[reachY : reachY + height, leftWords:] = words
    rowTables = _rowSpanTables(padded, 2 * reachX + 1)
    total: np.ndarray | None = None
    for halfWidth in np.unique(widths):
        halfHeight = int(np.count_nonzero(widths >= halfWidth)) - 1
        alongRows = _rowWindowOr(rowTables, int(halfWidth))
        columnTables = _orTables(alongRows, 0, 2 * halfHeight + 1)
        rectangle = _windowOr(columnTables, reachY - halfHeight, 2 * halfHeight + 1, height, axis=0)
        if total is None:
            total = rectangle
        else:
            total |= rectangle
    assert total is not None
    # Bits past the last column (set by shifts towards higher x) are dropped here.
    return _unpackRows(total[:, leftWords:], width)
