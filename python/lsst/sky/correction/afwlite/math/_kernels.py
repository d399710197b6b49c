"""Compiled per-pixel kernels (numba) behind afwlite.math's whole-image passes.

Each kernel replaces several whole-array numpy passes by one sweep over the
pixels, with the same arithmetic in the same order, so that the results are
bit-identical to the numpy formulation they replace (the tests keep that
formulation as their expectation):

* `evaluatePieces`: piecewise polynomials in Horner form, one curve per
  output row, written straight into the (float32 or float64) output;
* `blockSum`: afw's ``binImage`` block sums, each block row added left to
  right and the row sums top to bottom, in the array's own type;
* `blockOr`: the bitwise OR of every block of a mask.

fastmath is off: LLVM may then neither reorder the sums nor contract
``a * t + c`` into a fused multiply-add, which would change the rounding.
``nogil`` lets detector threads run the kernels side by side; ``cache``
keeps the compiled code on disk (numba's cache directory, or
``NUMBA_CACHE_DIR``) so that only the first run on a machine compiles.
"""

from __future__ import annotations

# Internal: nothing here is part of afwlite.math's API.
__all__: list[str] = []

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def evaluatePieces(coeffs: np.ndarray, piece: np.ndarray, t: np.ndarray, out: np.ndarray) -> None:
    """Evaluate curve ``k`` at every position into ``out[k]``.

    Parameters
    ----------
    coeffs : `numpy.ndarray`
        ``(nterms, ncurves, npieces)`` float64 coefficients by increasing power.
    piece : `numpy.ndarray`
        ``(npositions,)`` piece index of every position (within ``npieces``).
    t : `numpy.ndarray`
        ``(npositions,)`` float64 offset of every position from its piece's origin.
    out : `numpy.ndarray`
        ``(ncurves, npositions)`` float32 or float64, filled; each value is
        ``((c3 t + c2) t + c1) t + c0`` (as many terms as there are) in
        float64, rounded once to ``out``'s type.

    Notes
    -----
    The cubic case (every spline) has its own loop: gathering the four
    coefficients of each position from the curve's rows measured about
    three times faster than walking the positions in runs of one piece.
    """
    nterms, ncurves = coeffs.shape[0], coeffs.shape[1]
    npositions = piece.shape[0]
    for k in range(ncurves):
        row = out[k]
        if nterms == 4:
            a0, a1, a2, a3 = coeffs[0, k], coeffs[1, k], coeffs[2, k], coeffs[3, k]
            for i in range(npositions):
                p = piece[i]
                ti = t[i]
                row[i] = ((a3[p] * ti + a2[p]) * ti + a1[p]) * ti + a0[p]
        else:
            for i in range(npositions):
                p = piece[i]
                ti = t[i]
                value = coeffs[nterms - 1, k, p]
                for j in range(nterms - 2, -1, -1):
                    value = value * ti + coeffs[j, k, p]
                row[i] = value


@njit(nogil=True, cache=True)
def blockSum(array: np.ndarray, binX: int, binY: int) -> np.ndarray:
    """Sum ``binX`` x ``binY`` blocks in the array's type, in afw's order.

    Remainder rows and columns on the high side are dropped.  A block row's
    pixels are added left to right; the row sums are then added to a zeroed
    output top to bottom.
    """
    outHeight, outWidth = array.shape[0] // binY, array.shape[1] // binX
    total = np.zeros((outHeight, outWidth), dtype=array.dtype)
    for y in range(outHeight * binY):
        by = y // binY
        for bx in range(outWidth):
            start = bx * binX
            rowSum = array[y, start]
            for dx in range(1, binX):
                rowSum += array[y, start + dx]
            total[by, bx] += rowSum
    return total


@njit(nogil=True, cache=True)
def blockOr(array: np.ndarray, binX: int, binY: int) -> np.ndarray:
    """The bitwise OR of every ``binX`` x ``binY`` block (high-side remainders dropped)."""
    outHeight, outWidth = array.shape[0] // binY, array.shape[1] // binX
    total = np.zeros((outHeight, outWidth), dtype=array.dtype)
    for y in range(outHeight * binY):
        by = y // binY
        for bx in range(outWidth):
            start = bx * binX
            bits = array[y, start]
            for dx in range(1, binX):
                bits |= array[y, start + dx]
            total[by, bx] |= bits
    return total
