"""Masks as row runs: extraction, 8-connected components, growth and painting, compiled.

A mask with a few percent of its pixels set is held as its runs: maximal
horizontal segments of set pixels, row by row.  ``rowStart`` (length
``height + 1``) gives, for row ``y``, the runs ``rowStart[y]`` to
``rowStart[y + 1] - 1``; ``x0`` and ``x1`` are their first and last
columns (inclusive), increasing within a row.  Connected components, growth
and painting then cost in proportion to the runs, not the pixels.
"""

from __future__ import annotations

__all__ = [
    "RowRuns",
    "growRuns",
    "orRuns",
    "paintRuns",
    "runComponents",
    "runsOfMask",
    "thresholdRuns",
]

from dataclasses import dataclass

import numpy as np
from numba import njit


@dataclass(frozen=True)
class RowRuns:
    """The runs of a mask of ``height`` rows (see the module docstring).

    Attributes
    ----------
    rowStart : `numpy.ndarray`
        int64, length ``height + 1``: the first run of each row, then the
        number of runs.
    x0, x1 : `numpy.ndarray`
        int64: first and last column of each run.
    """

    rowStart: np.ndarray
    x0: np.ndarray
    x1: np.ndarray

    @property
    def height(self) -> int:
        return int(self.rowStart.size - 1)

    def __len__(self) -> int:
        return int(self.x0.size)

    def select(self, keep: np.ndarray) -> RowRuns:
        """The runs for which ``keep`` (boolean, one per run) is set."""
        rowOfRun = np.repeat(np.arange(self.height), np.diff(self.rowStart))
        counts = np.bincount(rowOfRun[keep], minlength=self.height)
        rowStart = np.concatenate(([0], np.cumsum(counts)))
        return RowRuns(rowStart, self.x0[keep], self.x1[keep])

    def shifted(self, rowOffset: int, columnOffset: int, height: int) -> RowRuns:
        """The runs moved down by ``rowOffset`` (>= 0) and right by ``columnOffset``, in ``height`` rows."""
        if rowOffset < 0 or rowOffset + self.height > height:
            raise ValueError(f"{self.height} rows moved by {rowOffset} do not fit in {height} rows")
        rowStart = np.empty(height + 1, dtype=np.int64)
        rowStart[:rowOffset] = 0
        rowStart[rowOffset : rowOffset + self.height + 1] = self.rowStart
        rowStart[rowOffset + self.height + 1 :] = self.rowStart[-1]
        return RowRuns(rowStart, self.x0 + columnOffset, self.x1 + columnOffset)


# Growable run buffers ---------------------------------------------------------------------------------
@njit(nogil=True, cache=True, fastmath=False)
def _grown(array: np.ndarray, used: int) -> np.ndarray:  # pragma: no cover - compiled
    """``array`` with twice the room, its first ``used`` entries kept."""
    bigger = np.empty(2 * array.size, dtype=array.dtype)
    bigger[:used] = array[:used]
    return bigger


# Extraction ---------------------------------------------------------------------------------------------
@njit(nogil=True, cache=True, fastmath=False)
def _maskRow(
    row: np.ndarray, bits: np.int64, x0: np.ndarray, x1: np.ndarray
) -> int:  # pragma: no cover - compiled
    """The runs of one row written to the scratch arrays (room for ``width // 2 + 1``); their number."""
    width = row.size
    count = 0
    x = 0
    while x < width:
        if (np.int64(row[x]) & bits) == 0:
            x += 1
            continue
        x0[count] = x
        while x < width and (np.int64(row[x]) & bits) != 0:
            x += 1
        x1[count] = x - 1
        count += 1
    return count


@njit(nogil=True, cache=True, fastmath=False)
def _runsOfMask(
    mask: np.ndarray, bits: np.int64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Runs of the pixels of ``mask`` with a bit of ``bits`` set."""
    # The pixel loop lives in `_maskRow`: growing the run arrays in the same
    # loop as the pixels makes numba count references on every pixel.
    height, width = mask.shape
    room = width // 2 + 1
    rowX0 = np.empty(room, dtype=np.int64)
    rowX1 = np.empty(room, dtype=np.int64)
    rowStart = np.empty(height + 1, dtype=np.int64)
    x0 = np.empty(1024, dtype=np.int64)
    x1 = np.empty(1024, dtype=np.int64)
    count = 0
    for y in range(height):
        rowStart[y] = count
        n = _maskRow(mask[y], bits, rowX0, rowX1)
        while count + n > x0.size:
            x0 = _grown(x0, count)
            x1 = _grown(x1, count)
        x0[count : count + n] = rowX0[:n]
        x1[count : count + n] = rowX1[:n]
        count += n
    rowStart[height] = count
    return rowStart, x0[:count].copy(), x1[:count].copy()


def runsOfMask(mask: np.ndarray, bits: int = 1) -> RowRuns:
    """The runs of a 2-d mask.

    Parameters
    ----------
    mask : `numpy.ndarray`
        2-d boolean or integer array.
    bits : `int`
        A pixel is set when ``mask & bits`` is non-zero (``1`` for a boolean
        mask).  A negative int32 plane bit (bit 31) is taken as its uint32
        value.
    """
    if mask.ndim != 2:
        raise TypeError(f"runsOfMask needs a 2-d array, got shape {mask.shape}")
    array = mask.view(np.uint8) if mask.dtype == np.bool_ else mask
    if array.dtype == np.int32:
        array = array.view(np.uint32)  # so that bit 31 is positive in int64
        bits &= 0xFFFFFFFF
    rowStart, x0, x1 = _runsOfMask(np.ascontiguousarray(array), np.int64(bits))
    return RowRuns(rowStart, x0, x1)


@njit(nogil=True, cache=True, fastmath=False, inline="always")
def _beyond(value: np.float32, cut: np.float32, positive: bool) -> np.bool_:  # pragma: no cover - compiled
    # A NaN pixel or cut compares false either way.
    return value >= cut if positive else value <= -cut


@njit(nogil=True, cache=True, fastmath=False, inline="always")
def _stdevCut(variance: np.float32, level: np.float32) -> np.float32:  # pragma: no cover - compiled
    # float32 sqrt and product, each rounded once: the double sqrt of a float32 rounds to the
    # same float32 (53 >= 2 * 24 + 2 bits), and the double product of two float32 is exact.
    root = np.float32(np.sqrt(np.float64(variance)))
    return np.float32(np.float64(root) * np.float64(level))


@njit(nogil=True, cache=True, fastmath=False)
def _thresholdRow(
    image: np.ndarray,
    variance: np.ndarray,
    y: int,
    level: np.float32,
    includeLevel: np.float32,
    positive: bool,
    perPixel: bool,
    useInclude: bool,
    x0: np.ndarray,
    x1: np.ndarray,
    included: np.ndarray,
    peaks: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """The runs of row ``y`` written to the scratch arrays (room for ``width // 2 + 1``); their number."""
    height, width = image.shape
    row = image[y]
    inner = 0 < y < height - 1
    # The rows around `row` (only read for inner rows).
    above = image[y - 1] if inner else row
    below = image[y + 1] if inner else row
    count = 0
    x = 0
    while x < width:
        cut = _stdevCut(variance[y, x], level) if perPixel else level
        if not _beyond(row[x], cut, positive):
            x += 1
            continue
        x0[count] = x
        isIncluded = not useInclude
        nPeaks = 0
        while True:
            value = row[x]
            if not isIncluded:
                includeCut = _stdevCut(variance[y, x], includeLevel) if perPixel else includeLevel
                isIncluded = bool(_beyond(value, includeCut, positive))
            # afw's peaks: no strictly brighter (for negative polarity: darker)
            # 8-neighbour, never on the outermost rows and columns.
            if inner and 0 < x < width - 1:
                if positive:
                    blocked = (
                        above[x - 1] > value or above[x] > value or above[x + 1] > value
                        or row[x - 1] > value or row[x + 1] > value
                        or below[x - 1] > value or below[x] > value or below[x + 1] > value
                    )  # fmt: skip
                else:
                    blocked = (
                        above[x - 1] < value or above[x] < value or above[x + 1] < value
                        or row[x - 1] < value or row[x + 1] < value
                        or below[x - 1] < value or below[x] < value or below[x + 1] < value
                    )  # fmt: skip
                if not blocked:
                    nPeaks += 1
            x += 1
            if x == width:
                break
            cut = _stdevCut(variance[y, x], level) if perPixel else level
            if not _beyond(row[x], cut, positive):
                break
        x1[count] = x - 1
        included[count] = isIncluded
        peaks[count] = nPeaks
        count += 1
    return count


@njit(nogil=True, cache=True, fastmath=False)
def _thresholdRuns(
    image: np.ndarray,
    variance: np.ndarray,
    level: np.float32,
    includeLevel: np.float32,
    positive: bool,
    perPixel: bool,
    useInclude: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Runs of pixels beyond the threshold, each with its include flag and peak count.

    See `thresholdRuns`.  ``variance`` is only read when ``perPixel``.
    """
    height, width = image.shape
    room = width // 2 + 1
    rowX0 = np.empty(room, dtype=np.int64)
    rowX1 = np.empty(room, dtype=np.int64)
    rowIncluded = np.empty(room, dtype=np.bool_)
    rowPeaks = np.empty(room, dtype=np.int64)
    rowStart = np.empty(height + 1, dtype=np.int64)
    x0 = np.empty(1024, dtype=np.int64)
    x1 = np.empty(1024, dtype=np.int64)
    included = np.empty(1024, dtype=np.bool_)
    peaks = np.empty(1024, dtype=np.int64)
    count = 0
    for y in range(height):
        rowStart[y] = count
        n = _thresholdRow(
            image, variance, y, level, includeLevel, positive, perPixel, useInclude,
            rowX0, rowX1, rowIncluded, rowPeaks,
        )  # fmt: skip
        while count + n > x0.size:
            x0 = _grown(x0, count)
            x1 = _grown(x1, count)
            included = _grown(included, count)
            peaks = _grown(peaks, count)
        for i in range(n):
            x0[count + i] = rowX0[i]
            x1[count + i] = rowX1[i]
            included[count + i] = rowIncluded[i]
            peaks[count + i] = rowPeaks[i]
        count += n
    rowStart[height] = count
    return rowStart, x0[:count].copy(), x1[:count].copy(), included[:count].copy(), peaks[:count].copy()


def thresholdRuns(
    image: np.ndarray,
    variance: np.ndarray | None,
    level: float,
    includeLevel: float | None,
    positive: bool,
) -> tuple[RowRuns, np.ndarray, np.ndarray]:
    """Runs of the pixels at or beyond a threshold, with what footprint filtering and peaks need.

    A pixel is beyond the threshold when ``image >= cut`` (``image <= -cut``
    for negative polarity), ``cut`` being ``float32(level)``, or, with a
    ``variance``, ``sqrt(variance) * float32(level)`` in float32.  NaN
    pixels never are.

    Parameters
    ----------
    image : `numpy.ndarray`
        2-d float32 image.
    variance : `numpy.ndarray` or `None`
        float32 variance of the same shape, for a per-pixel cut.
    level : `float`
        The threshold (positive; the sign comes from ``positive``).
    includeLevel : `float` or `None`
        A second threshold, for ``included``; `None` counts every run as included.
    positive : `bool`
        Polarity.

    Returns
    -------
    runs : `RowRuns`
        The runs.
    included : `numpy.ndarray`
        bool per run: has a pixel beyond ``includeLevel``.
    peaks : `numpy.ndarray`
        int64 per run: its pixels with no strictly brighter (negative
        polarity: darker) 8-neighbour in ``image``, outside the outermost
        rows and columns (afw's peaks, before the one-per-footprint minimum).
    """
    if image.ndim != 2 or image.dtype != np.float32:
        raise TypeError(f"thresholdRuns needs a 2-d float32 image, got {image.dtype} of shape {image.shape}")
    perPixel = variance is not None
    if variance is None:
        variance = np.zeros((1, 1), dtype=np.float32)
    elif variance.shape != image.shape or variance.dtype != np.float32:
        raise TypeError(f"the variance ({variance.dtype}, {variance.shape}) must be float32 like the image")
    rowStart, x0, x1, included, peaks = _thresholdRuns(
        np.ascontiguousarray(image),
        np.ascontiguousarray(variance),
        np.float32(level),
        np.float32(level if includeLevel is None else includeLevel),
        positive,
        perPixel,
        includeLevel is not None,
    )
    return RowRuns(rowStart, x0, x1), included, peaks


# Connected components -----------------------------------------------------------------------------------
@njit(nogil=True, cache=True, fastmath=False, inline="always")
def _root(parent: np.ndarray, node: int) -> int:  # pragma: no cover - compiled
    while parent[node] != node:
        parent[node] = parent[parent[node]]  # path halving
        node = parent[node]
    return node


@njit(nogil=True, cache=True, fastmath=False)
def _runComponents(
    rowStart: np.ndarray, x0: np.ndarray, x1: np.ndarray
) -> tuple[np.ndarray, np.int64]:  # pragma: no cover - compiled
    """Component of each run (numbered in order of first run) and their number; see `runComponents`."""
    nRuns = x0.size
    parent = np.arange(nRuns)
    for y in range(1, rowStart.size - 1):
        previous = rowStart[y - 1]
        previousEnd = rowStart[y]
        for run in range(rowStart[y], rowStart[y + 1]):
            # 8-connected: a run above touches this one if it reaches one column past either end.
            while previous < previousEnd and x1[previous] < x0[run] - 1:
                previous += 1
            other = previous
            while other < previousEnd and x0[other] <= x1[run] + 1:
                a = _root(parent, run)
                b = _root(parent, other)
                if a != b:
                    if a < b:
                        parent[b] = a
                    else:
                        parent[a] = b
                other += 1
    component = np.empty(nRuns, dtype=np.int64)
    count = 0
    for run in range(nRuns):
        root = _root(parent, run)
        if root == run:
            component[run] = count
            count += 1
        else:
            component[run] = component[root]  # roots are the smallest run of a component
    return component, np.int64(count)


def runComponents(runs: RowRuns) -> tuple[np.ndarray, int]:
    """The 8-connected components of the runs' pixels.

    Returns
    -------
    component : `numpy.ndarray`
        int64 per run: its component, numbered ``0 ... count - 1`` in the
        order of each component's first run (rows top down, then x).
    count : `int`
        The number of components.
    """
    component, count = _runComponents(runs.rowStart, runs.x0, runs.x1)
    return component, int(count)


# Growth -------------------------------------------------------------------------------------------------
@njit(nogil=True, cache=True, fastmath=False)
def _growRuns(
    rowStart: np.ndarray, x0: np.ndarray, x1: np.ndarray, halfWidths: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """The runs of the dilated mask; see `growRuns`."""
    height = rowStart.size - 1
    reach = halfWidths.size - 1
    widest = 0
    for y in range(height):
        widest = max(widest, rowStart[y + 1] - rowStart[y])
    # A row of the result has at most as many runs as the rows it gathers.
    room = (2 * reach + 1) * widest + 1
    merged = np.empty((2, 2, room), dtype=np.int64)
    outStart = np.empty(height + 1, dtype=np.int64)
    outX0 = np.empty(max(1024, x0.size), dtype=np.int64)
    outX1 = np.empty(max(1024, x0.size), dtype=np.int64)
    count = 0
    for y in range(height):
        outStart[y] = count
        current = 0
        nMerged = 0
        for source in range(max(0, y - reach), min(height, y + reach + 1)):
            first, last = rowStart[source], rowStart[source + 1]
            if first == last:
                continue
            grow = halfWidths[abs(source - y)]
            # Merge the accumulated runs with this row's runs widened by `grow`;
            # both are ordered by start, and touching or overlapping runs join.
            into = 1 - current
            i = 0
            j = first
            n = 0
            while i < nMerged or j < last:
                if j == last or (i < nMerged and merged[current, 0, i] <= x0[j] - grow):
                    start = merged[current, 0, i]
                    stop = merged[current, 1, i]
                    i += 1
                else:
                    start = max(x0[j] - grow, 0)
                    stop = min(x1[j] + grow, width - 1)
                    j += 1
                if n > 0 and start <= merged[into, 1, n - 1] + 1:
                    merged[into, 1, n - 1] = max(merged[into, 1, n - 1], stop)
                else:
                    merged[into, 0, n] = start
                    merged[into, 1, n] = stop
                    n += 1
            current = into
            nMerged = n
        while count + nMerged > outX0.size:
            outX0 = _grown(outX0, count)
            outX1 = _grown(outX1, count)
        for i in range(nMerged):
            outX0[count] = merged[current, 0, i]
            outX1[count] = merged[current, 1, i]
            count += 1
    outStart[height] = count
    return outStart, outX0[:count].copy(), outX1[:count].copy()


def growRuns(runs: RowRuns, halfWidths: np.ndarray, width: int) -> RowRuns:
    """Dilate runs by a symmetric stencil, clipped to ``width`` columns and the runs' rows.

    Pixel ``(y, x)`` of the result is set when some pixel of the runs lies
    at ``(y + dy, x + dx)`` with ``|dx| <= halfWidths[|dy|]``.

    Parameters
    ----------
    runs : `RowRuns`
        The mask, with columns in ``0 ... width - 1``.
    halfWidths : `numpy.ndarray`
        Non-negative half-widths for ``|dy| = 0, 1, ...`` (`stencilHalfWidths`).
    width : `int`
        Number of columns of the mask.

    Returns
    -------
    grown : `RowRuns`
        The runs of the dilated mask (maximal: touching runs are joined).
    """
    widths = np.asarray(halfWidths, dtype=np.int64)
    if widths.ndim != 1 or widths.size == 0 or np.any(widths < 0):
        raise ValueError(f"halfWidths must be a non-empty list of non-negative widths, got {widths}")
    rowStart, x0, x1 = _growRuns(runs.rowStart, runs.x0, runs.x1, widths, int(width))
    return RowRuns(rowStart, x0, x1)


# Painting -----------------------------------------------------------------------------------------------
@njit(nogil=True, cache=True, fastmath=False)
def _orRuns(
    array: np.ndarray,
    rowStart: np.ndarray,
    x0: np.ndarray,
    x1: np.ndarray,
    value: np.generic | bool,
    rowOffset: int,
    columnOffset: int,
) -> None:  # pragma: no cover - compiled
    """OR ``value`` into the runs' pixels moved by the offsets, clipped to ``array``."""
    height, width = array.shape
    for y in range(rowStart.size - 1):
        row = y + rowOffset
        if row < 0 or row >= height:
            continue
        for run in range(rowStart[y], rowStart[y + 1]):
            start = max(x0[run] + columnOffset, 0)
            stop = min(x1[run] + columnOffset, width - 1)
            for x in range(start, stop + 1):
                array[row, x] |= value


def orRuns(array: np.ndarray, runs: RowRuns, value: int) -> None:
    """OR ``value`` into the pixels of ``array`` (2-d, integer) covered by the runs."""
    # As afw's MaskPixel, bit 31 wraps to a negative int32.
    _orRuns(
        array, runs.rowStart, runs.x0, runs.x1, array.dtype.type(np.array(value).astype(array.dtype)), 0, 0
    )


def paintRuns(runs: RowRuns, shape: tuple[int, int], rowOffset: int = 0, columnOffset: int = 0) -> np.ndarray:
    """A boolean array of ``shape`` set on the runs' pixels moved by the offsets (clipped to it)."""
    out = np.zeros(shape, dtype=bool)
    _orRuns(out, runs.rowStart, runs.x0, runs.x1, True, int(rowOffset), int(columnOffset))
    return out
