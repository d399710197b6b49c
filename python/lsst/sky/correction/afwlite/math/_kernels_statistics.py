"""Compiled kernels of the clipped statistics (`computeGroupStatistics`'s clipping passes).

afw clips by testing every usable pixel against ``|value - center| <=
halfWidth`` in double and summing the survivors' ``value - center`` and its
square in double.  On rows sorted ascending the survivors are one contiguous
run (``value - center`` rounded to double never decreases along a row), so a
pass is two binary searches and one sum over the run, with no temporaries.
"""

from __future__ import annotations

__all__ = ["clippedRunSums"]

import numpy as np
from numba import njit

# Entries summed plainly before a compensated addition: short enough that the
# plain sums' rounding stays far below the noise, long enough to be cheap.
_BLOCK = 16


@njit(nogil=True, cache=True, fastmath=False)
def _firstFailing(
    row: np.ndarray, length: int, center: float, halfWidth: float, upper: bool
) -> int:  # pragma: no cover - compiled
    """Index of the first of ``row[:length]`` whose ``value - center`` fails the bound.

    The lower bound is ``delta >= -halfWidth`` (afw's test fails for
    ``delta < -halfWidth``), the upper ``delta <= halfWidth``; both are
    monotonic along a sorted row, and NaN fails both.
    """
    low = 0
    high = length
    while low < high:
        middle = (low + high) // 2
        delta = np.float64(row[middle]) - center
        passes = (delta <= halfWidth) if upper else (delta < -halfWidth)
        if passes:
            low = middle + 1
        else:
            high = middle
    return low


@njit(nogil=True, cache=True, fastmath=False)
def _clippedRunSumsCompiled(
    ordered: np.ndarray, lengths: np.ndarray, center: np.ndarray, halfWidth: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    nGroups = ordered.shape[0]
    count = np.zeros(nGroups, dtype=np.int64)
    sum1 = np.zeros(nGroups, dtype=np.float64)
    sum2 = np.zeros(nGroups, dtype=np.float64)
    for group in range(nGroups):
        row = ordered[group]
        c = center[group]
        w = halfWidth[group]
        # Entries failing "delta < -w" start the run; the first failing "delta <= w" ends it.
        start = _firstFailing(row, lengths[group], c, w, False)
        stop = max(start, _firstFailing(row, lengths[group], c, w, True))
        # Plain sums over short blocks, compensated (Neumaier) sums of the
        # blocks: the run is summed in sorted order, not afw's pixel order, so
        # the sums are kept close to exact rather than carrying an
        # order-dependent rounding of their own.
        total1 = 0.0
        error1 = 0.0
        total2 = 0.0
        error2 = 0.0
        for blockStart in range(start, stop, _BLOCK):
            block1 = 0.0
            block2 = 0.0
            for index in range(blockStart, min(blockStart + _BLOCK, stop)):
                delta = np.float64(row[index]) - c
                block1 += delta
                block2 += delta * delta
            added = total1 + block1
            if abs(total1) >= abs(block1):
                error1 += (total1 - added) + block1
            else:
                error1 += (block1 - added) + total1
            total1 = added
            added = total2 + block2
            if total2 >= block2:
                error2 += (total2 - added) + block2
            else:
                error2 += (block2 - added) + total2
            total2 = added
        count[group] = stop - start
        sum1[group] = total1 + error1
        sum2[group] = total2 + error2
    return count, sum1, sum2


def clippedRunSums(
    ordered: np.ndarray, lengths: np.ndarray, center: np.ndarray, halfWidth: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, sum and sum of squares of ``value - center`` over the entries that pass afw's clip.

    Parameters
    ----------
    ordered : `numpy.ndarray`
        ``(nGroups, nPix)`` float32 or float64 rows, each sorted ascending
        in its first ``lengths`` entries (the rest is ignored).
    lengths : `numpy.ndarray`
        ``(nGroups,)`` number of orderable entries per row.
    center, halfWidth : `numpy.ndarray`
        ``(nGroups,)`` float64 clip centre and half-width; an entry passes
        when ``|value - center| <= halfWidth`` in double.  A NaN centre or
        width passes nothing.

    Returns
    -------
    count, sum1, sum2 : `numpy.ndarray`
        int64 count and float64 compensated sums of ``value - center`` and
        its square, zero for groups with no survivor.
    """
    return _clippedRunSumsCompiled(
        np.ascontiguousarray(ordered),
        np.ascontiguousarray(lengths, dtype=np.int64),
        np.ascontiguousarray(center, dtype=np.float64),
        np.ascontiguousarray(halfWidth, dtype=np.float64),
    )
