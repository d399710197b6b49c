"""Compiled kernels of the statistics (`computeGroupStatistics` and its box form).

The groups of pixels are held as one flat array and group offsets (group
``g`` is ``flat[offsets[g]:offsets[g + 1]]``), so padded ``(nGroups, nPix)``
rows and pixel boxes cut from an image share the same reductions:

- `gatherUsable` / `gatherBoxes` copy each group's usable values, in pixel
  order, into one compact buffer (and OR the mask bits of those pixels);
- `usableMoments` counts, sums, finds the extremes and sums the squared
  deviations around the rough mean (afw's ``getStandard``) in one call;
- `selectRanks` finds values of given ranks among each group's non-NaN
  values exactly, without sorting: a radix selection on the values' bit
  patterns (a histogram of the leading digit over the group, then the
  keys of the wanted bins are copied out and their other digits found
  among those candidates only);
- `clipSums` is one afw clipping pass: count, sum and sum of squares in
  double of ``value - center`` over the values with ``|value - center| <=
  halfWidth``, in pixel order as afw's ``processPixels`` does (interleaved
  into four partial sums, so the additions do not wait on each other).
"""

from __future__ import annotations

__all__ = ["clipSums", "gatherBoxes", "gatherUsable", "selectRanks", "usableMoments"]

from typing import Any

import numpy as np
from numba import njit

# A double that rounds to +-inf when cast to float: |v| >= FLT_MAX + half an
# ulp.  afw tests finiteness on the float, so float64 values beyond it count
# as infinite; the test is false for NaN and also right for float32 values.
_FLOAT32_OVERFLOW = 2.0**128 - 2.0**103

# The selection's second pass counts every value, without a branch, when at
# least 1/_BRANCHLESS_SHARE of the values are in the wanted first-digit bins.
_BRANCHLESS_SHARE = 50


@njit(nogil=True, cache=True, fastmath=False)
def _isUsable(value: float, filterFinite: bool) -> bool:  # pragma: no cover - compiled
    return (not filterFinite) or bool(abs(np.float64(value)) < _FLOAT32_OVERFLOW)


@njit(nogil=True, cache=True, fastmath=False)
def _usableAt(
    value: float, good: np.ndarray, hasGood: bool, filterFinite: bool, index: int
) -> bool:  # pragma: no cover - compiled
    return (not hasGood or good[index]) and _isUsable(value, filterFinite)


@njit(nogil=True, cache=True, fastmath=False)
def _gatherUsableCompiled(
    flat: np.ndarray,
    offsets: np.ndarray,
    good: np.ndarray,
    hasGood: bool,
    filterFinite: bool,
    mask: np.ndarray,
    hasMask: bool,
    buffer: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    nGroups = offsets.size - 1
    newOffsets = np.zeros(nGroups + 1, dtype=np.int64)
    orMask = np.zeros(nGroups, dtype=np.int64)
    used = 0
    for group in range(nGroups):
        bits = np.int64(0)
        for index in range(offsets[group], offsets[group + 1]):
            value = flat[index]
            if (not hasGood or good[index]) and _isUsable(value, filterFinite):
                buffer[used] = value
                used += 1
                if hasMask:
                    bits |= np.int64(mask[index])
        newOffsets[group + 1] = used
        orMask[group] = bits
    return buffer[:used], newOffsets, orMask


def gatherUsable(
    flat: np.ndarray,
    offsets: np.ndarray,
    good: np.ndarray | None,
    filterFinite: bool,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Copy the usable values of each group into one compact buffer, in pixel order.

    Parameters
    ----------
    flat : `numpy.ndarray`
        1-d float32 or float64 values of all groups.
    offsets : `numpy.ndarray`
        ``nGroups + 1`` int64 group boundaries in ``flat``.
    good : `numpy.ndarray` or `None`
        1-d bool, same size as ``flat``: entries that may be used (all when `None`).
    filterFinite : `bool`
        Also leave out values that are not finite once cast to float (afw's
        NaN-safe test).
    mask : `numpy.ndarray`, optional
        1-d integer mask bits, same size as ``flat``, to OR over the usable entries.

    Returns
    -------
    buffer, newOffsets : `numpy.ndarray`
        The usable values (``flat``'s dtype) and their group boundaries.
    orMask : `numpy.ndarray`
        int64 OR of the mask bits of each group's usable entries (0 without ``mask``).
    """
    noGood = np.ones(0, dtype=np.bool_)
    noMask = np.zeros(0, dtype=np.int32)
    flat = np.ascontiguousarray(flat)
    # Allocated by numpy, which asks for huge pages: filling 64 MB of fresh
    # small pages costs more than the copy itself.
    buffer = np.empty(flat.size, dtype=flat.dtype)
    return _gatherUsableCompiled(
        flat,
        np.ascontiguousarray(offsets, dtype=np.int64),
        noGood if good is None else np.ascontiguousarray(good),
        good is not None,
        bool(filterFinite),
        noMask if mask is None else np.ascontiguousarray(mask),
        mask is not None,
        buffer,
    )


@njit(nogil=True, cache=True, fastmath=False)
def _gatherBoxesCompiled(
    image: np.ndarray,
    maskBits: np.ndarray,
    hasBits: bool,
    andMask: int,
    filterFinite: bool,
    x0: np.ndarray,
    y0: np.ndarray,
    widths: np.ndarray,
    heights: np.ndarray,
    buffer: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    nBoxes = x0.size
    offsets = np.zeros(nBoxes + 1, dtype=np.int64)
    used = 0
    for box in range(nBoxes):
        for row in range(y0[box], y0[box] + heights[box]):
            for column in range(x0[box], x0[box] + widths[box]):
                value = image[row, column]
                if (not hasBits or (maskBits[row, column] & andMask) == 0) and _isUsable(value, filterFinite):
                    buffer[used] = value
                    used += 1
        offsets[box + 1] = used
    return buffer[:used], offsets


def gatherBoxes(
    image: np.ndarray,
    maskBits: np.ndarray | None,
    andMask: int,
    filterFinite: bool,
    x0: np.ndarray,
    y0: np.ndarray,
    widths: np.ndarray,
    heights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Copy the usable pixels of boxes of an image into one compact buffer.

    Box ``k`` is ``image[y0[k]:y0[k] + heights[k], x0[k]:x0[k] + widths[k]]``
    (boxes may overlap), read row by row.  A pixel is usable when
    ``maskBits & andMask == 0`` and, with ``filterFinite``, its value is
    finite once cast to float.

    Parameters
    ----------
    image : `numpy.ndarray`
        2-d float32 or float64 pixels.
    maskBits : `numpy.ndarray` or `None`
        2-d integer or bool array of ``image``'s shape (a bool array is read
        as bit 1); `None` excludes nothing.
    andMask : `int`
        Bits of ``maskBits`` that exclude a pixel.
    filterFinite : `bool`
        Leave out non-finite values.
    x0, y0, widths, heights : `numpy.ndarray`
        Box origins and sizes (LOCAL indices, inside the image).

    Returns
    -------
    buffer, offsets : `numpy.ndarray`
        The usable values and the ``nBoxes + 1`` box boundaries.
    """
    if maskBits is None:
        bits = np.zeros((1, 1), dtype=np.uint8)
    elif maskBits.dtype == np.bool_:
        bits = maskBits.view(np.uint8)
    else:
        bits = maskBits
    widths = np.asarray(widths, dtype=np.int64)
    heights = np.asarray(heights, dtype=np.int64)
    return _gatherBoxesCompiled(
        image,
        bits,
        maskBits is not None and andMask != 0,
        int(andMask),
        bool(filterFinite),
        np.asarray(x0, dtype=np.int64),
        np.asarray(y0, dtype=np.int64),
        widths,
        heights,
        np.empty(int(np.sum(widths * heights)), dtype=image.dtype),  # numpy's huge pages, as above
    )


@njit(nogil=True, cache=True, fastmath=False)
def _usableMomentsCompiled(
    flat: np.ndarray,
    offsets: np.ndarray,
    good: np.ndarray,
    hasGood: bool,
    filterFinite: bool,
    wantVariance: bool,
    wantExtremes: bool,
) -> tuple[
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray
]:  # pragma: no cover - compiled
    nGroups = offsets.size - 1
    count = np.zeros(nGroups, dtype=np.int64)
    total = np.zeros(nGroups)
    rough = np.zeros(nGroups)
    sum1 = np.zeros(nGroups)
    sum2 = np.zeros(nGroups)
    low = np.full(nGroups, np.inf)
    high = np.full(nGroups, -np.inf)
    for group in range(nGroups):
        start, stop = offsets[group], offsets[group + 1]
        blockStop = start + (stop - start) // 4 * 4
        # Four interleaved partial sums, as in the clipping passes.
        n = 0
        s0 = s1 = s2 = s3 = 0.0
        lo = np.inf
        hi = -np.inf
        for index in range(start, blockStop, 4):
            v0, v1, v2, v3 = flat[index], flat[index + 1], flat[index + 2], flat[index + 3]
            k0 = _usableAt(v0, good, hasGood, filterFinite, index)
            k1 = _usableAt(v1, good, hasGood, filterFinite, index + 1)
            k2 = _usableAt(v2, good, hasGood, filterFinite, index + 2)
            k3 = _usableAt(v3, good, hasGood, filterFinite, index + 3)
            n += int(k0) + int(k1) + int(k2) + int(k3)
            s0 += np.float64(v0) if k0 else 0.0
            s1 += np.float64(v1) if k1 else 0.0
            s2 += np.float64(v2) if k2 else 0.0
            s3 += np.float64(v3) if k3 else 0.0
            if wantExtremes:
                lo = min(lo, min(v0 if k0 else np.inf, v1 if k1 else np.inf))
                lo = min(lo, min(v2 if k2 else np.inf, v3 if k3 else np.inf))
                hi = max(hi, max(v0 if k0 else -np.inf, v1 if k1 else -np.inf))
                hi = max(hi, max(v2 if k2 else -np.inf, v3 if k3 else -np.inf))
        for index in range(blockStop, stop):
            v0 = flat[index]
            if _usableAt(v0, good, hasGood, filterFinite, index):
                n += 1
                s0 += np.float64(v0)
                if wantExtremes:
                    lo = min(lo, v0)
                    hi = max(hi, v0)
        count[group] = n
        total[group] = (s0 + s1) + (s2 + s3)
        low[group] = lo
        high[group] = hi
        if n > 0:
            rough[group] = total[group] / n
        if wantVariance:
            center = rough[group]
            a0 = a1 = a2 = a3 = 0.0
            b0 = b1 = b2 = b3 = 0.0
            for index in range(start, blockStop, 4):
                k0 = _usableAt(flat[index], good, hasGood, filterFinite, index)
                k1 = _usableAt(flat[index + 1], good, hasGood, filterFinite, index + 1)
                k2 = _usableAt(flat[index + 2], good, hasGood, filterFinite, index + 2)
                k3 = _usableAt(flat[index + 3], good, hasGood, filterFinite, index + 3)
                d0 = np.float64(flat[index]) - center if k0 else 0.0
                d1 = np.float64(flat[index + 1]) - center if k1 else 0.0
                d2 = np.float64(flat[index + 2]) - center if k2 else 0.0
                d3 = np.float64(flat[index + 3]) - center if k3 else 0.0
                a0 += d0
                a1 += d1
                a2 += d2
                a3 += d3
                b0 += d0 * d0
                b1 += d1 * d1
                b2 += d2 * d2
                b3 += d3 * d3
            for index in range(blockStop, stop):
                if _usableAt(flat[index], good, hasGood, filterFinite, index):
                    d0 = np.float64(flat[index]) - center
                    a0 += d0
                    b0 += d0 * d0
            sum1[group] = (a0 + a1) + (a2 + a3)
            sum2[group] = (b0 + b1) + (b2 + b3)
    return count, total, rough, sum1, sum2, low, high


def usableMoments(
    flat: np.ndarray,
    offsets: np.ndarray,
    good: np.ndarray | None,
    filterFinite: bool,
    wantVariance: bool,
    wantExtremes: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Count, sum, extremes and sums around the rough mean of each group's usable values.

    afw's ``getStandard``: a first pass sums the usable values (in double,
    in pixel order, into four interleaved partial sums as `clipSums` does),
    the rough mean is that sum over the count (0 for an empty group), and a
    second pass, when ``wantVariance``, sums ``value - rough`` and its square.

    Parameters
    ----------
    flat, offsets, good, filterFinite
        As for `gatherUsable`.
    wantVariance : `bool`
        Run the second pass (``sum1``, ``sum2`` are zero otherwise).
    wantExtremes : `bool`
        Track the minimum and maximum (``+inf`` / ``-inf`` otherwise and for
        empty groups).

    Returns
    -------
    count : `numpy.ndarray`
        int64 number of usable values per group.
    total, rough, sum1, sum2, low, high : `numpy.ndarray`
        float64 sum, rough mean, sums of ``value - rough`` and its square,
        minimum and maximum.
    """
    return _usableMomentsCompiled(
        np.ascontiguousarray(flat),
        np.ascontiguousarray(offsets, dtype=np.int64),
        np.ones(0, dtype=np.bool_) if good is None else np.ascontiguousarray(good),
        good is not None,
        bool(filterFinite),
        bool(wantVariance),
        bool(wantExtremes),
    )


@njit(nogil=True, cache=True, fastmath=False)
def _orderKey(raw: np.uint64, signBit: np.uint64, signShift: np.uint64) -> np.uint64:  # pragma: no cover
    """An unsigned key that orders like the float whose bit pattern is ``raw``."""
    # Negative values (sign bit set) have all bits flipped, the others only the sign bit.
    allIfNegative = np.uint64(0) - (raw >> signShift)
    return raw ^ (signBit | (allIfNegative & (signBit - np.uint64(1))))


@njit(nogil=True, cache=True, fastmath=False)
def _findDigits(
    histogram: np.ndarray,
    nBins: int,
    slotOf: np.ndarray,
    remaining: np.ndarray,
    prefix: np.ndarray,
    digitBits: int,
    nSlots: int,
) -> None:  # pragma: no cover - compiled
    """Move each target one digit down: the bin of its slot's histogram holding its rank."""
    for s in range(nSlots):
        row = histogram[s]
        for b in range(1, nBins):
            row[b] += row[b - 1]  # cumulative counts
    for t in range(remaining.size):
        row = histogram[slotOf[t]]
        digit = np.searchsorted(row[:nBins], remaining[t], side="right")
        if digit > 0:
            remaining[t] -= row[digit - 1]
        prefix[t] = (prefix[t] << np.uint64(digitBits)) | np.uint64(digit)


@njit(nogil=True, cache=True, fastmath=False)
def _refineKeys(
    candidates: np.ndarray,
    remaining: np.ndarray,
    prefix: np.ndarray,
    done: int,
    nBits: int,
    digitBits: int,
    histogram: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Find the remaining digits of the targets' keys among candidate keys sharing their leading digits."""
    nTargets = remaining.size
    slotOf = np.zeros(nTargets, dtype=np.int64)
    slotPrefix = np.zeros(nTargets, dtype=np.uint64)
    while done < nBits:
        passBits = min(digitBits, nBits - done)
        nBins = 1 << passBits
        digitMask = np.uint64(nBins - 1)
        # Targets sharing the digits found so far share a histogram.
        nSlots = 0
        for t in range(nTargets):
            found = -1
            for s in range(nSlots):
                if slotPrefix[s] == prefix[t]:
                    found = s
                    break
            if found < 0:
                found = nSlots
                slotPrefix[nSlots] = prefix[t]
                histogram[nSlots, :nBins] = 0
                nSlots += 1
            slotOf[t] = found
        shift = np.uint64(nBits - done - passBits)
        highShift = np.uint64(nBits - done)
        for index in range(candidates.size):
            key = candidates[index]
            high = key >> highShift
            for s in range(nSlots):
                if slotPrefix[s] == high:
                    histogram[s, (key >> shift) & digitMask] += 1
                    break
        _findDigits(histogram, nBins, slotOf, remaining, prefix, passBits, nSlots)
        done += passBits


@njit(nogil=True, cache=True, fastmath=False)
def _selectGroupRanks(
    bits: np.ndarray,
    start: int,
    stop: int,
    nBits: int,
    firstBits: int,
    digitBits: int,
    fractions: np.ndarray,
    prefix: np.ndarray,
    first: np.ndarray,
    histogram: np.ndarray,
    firstSlot: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Find the keys around each fraction's position among ``bits[start:stop]``'s non-NaN values.

    For ``m`` non-NaN values, the keys of ranks ``floor(f * (m - 1))`` and
    the next (at most ``m - 1``) go to ``prefix[2 * i]`` and ``prefix[2 * i
    + 1]`` for fraction ``i``.  Returns ``m`` (nothing is found when it is 0).

    ``first`` (``(1, 2**firstBits)`` or more) holds the first digit's
    histogram, ``histogram`` (``(nTargets + 1, 2**digitBits)``, the last row
    spare) the later
    digits', ``firstSlot`` (all -1, left so) indexes the first digit's bins.
    """
    one = np.uint64(1)
    signShift = np.uint64(nBits - 1)
    signBit = one << signShift
    magnitude = signBit - one
    # Magnitude bits above infinity's (exponent all ones, mantissa zero) are NaN.
    mantissaBits = 23 if nBits == 32 else 52
    infinity = ((one << np.uint64(nBits - 1 - mantissaBits)) - one) << np.uint64(mantissaBits)
    nTargets = prefix.size
    remaining = np.zeros(nTargets, dtype=np.int64)
    slotOf = np.zeros(nTargets, dtype=np.int64)
    firstDigit = np.zeros(nTargets, dtype=np.int64)

    # Pass 1: a histogram of the first digit of all non-NaN values.
    nBins = 1 << firstBits
    first[0, :nBins] = 0
    shift0 = np.uint64(nBits - firstBits)
    for index in range(start, stop):
        raw = np.uint64(bits[index])
        if (raw & magnitude) <= infinity:
            first[0, _orderKey(raw, signBit, signShift) >> shift0] += 1
    m = 0
    for b in range(nBins):
        m += first[0, b]
    if m == 0:
        return 0
    for f in range(fractions.size):
        lower = min(max(int(np.floor(fractions[f] * (m - 1))), 0), m - 1)
        remaining[2 * f] = lower
        remaining[2 * f + 1] = min(lower + 1, m - 1)
    prefix[:] = 0
    _findDigits(first, nBins, slotOf, remaining, prefix, firstBits, 1)
    done = firstBits

    # Pass 2: the second digit of the values in the targets' first-digit
    # bins, found through a table of those bins (few values are in them,
    # so the branch is predictable).
    passBits = min(digitBits, nBits - done)
    nSlots = 0
    for t in range(nTargets):
        digit = np.int64(prefix[t])
        if firstSlot[digit] < 0:
            firstSlot[digit] = nSlots
            firstDigit[nSlots] = digit
            histogram[nSlots, : 1 << passBits] = 0
            nSlots += 1
        slotOf[t] = firstSlot[digit]
    shift1 = np.uint64(nBits - done - passBits)
    digitMask = np.uint64((1 << passBits) - 1)
    inWantedBins = 0
    infinityBins = False
    for s in range(nSlots):
        digit = firstDigit[s]
        inWantedBins += first[0, digit] - (first[0, digit - 1] if digit > 0 else 0)
        # NaN shares its leading bits with the infinities, whose bins are
        # the first digit's extreme bins among non-NaN values.
        infinityBins |= digit == np.int64(_orderKey(infinity, signBit, signShift) >> shift0)
        infinityBins |= digit == np.int64(_orderKey(infinity | signBit, signBit, signShift) >> shift0)
    if inWantedBins * _BRANCHLESS_SHARE < m or infinityBins:
        # Few values in the wanted bins: the branch is predictable.
        for index in range(start, stop):
            raw = np.uint64(bits[index])
            key = _orderKey(raw, signBit, signShift)
            slot = firstSlot[key >> shift0]
            if slot >= 0 and (raw & magnitude) <= infinity:
                histogram[slot, (key >> shift1) & digitMask] += 1
    else:
        # Many (values bunched in a few bins): every value is counted, the
        # others in the spare last row at spread-out columns, without a branch
        # to mispredict or a counter that every value waits on.  No NaN can
        # fall in the wanted bins, which hold no infinity.
        spare = histogram.shape[0] - 1
        for index in range(start, stop):
            key = _orderKey(np.uint64(bits[index]), signBit, signShift)
            slot = np.int64(firstSlot[key >> shift0])
            member = slot >= 0
            row = slot if member else spare
            column = np.int64((key >> shift1) & digitMask) if member else index & 63
            histogram[row, column] += 1
    _findDigits(histogram, 1 << passBits, slotOf, remaining, prefix, passBits, nSlots)
    done += passBits

    if done < nBits:
        # Pass 3: copy the keys sharing a target's first two digits; the
        # other digits are found among those few candidates only.
        nPrefixes = 0
        twoDigits = np.zeros(nTargets, dtype=np.uint64)
        for t in range(nTargets):
            if not (twoDigits[:nPrefixes] == prefix[t]).any():
                twoDigits[nPrefixes] = prefix[t]
                nPrefixes += 1
        highShift = np.uint64(nBits - done)
        counts = np.zeros(nPrefixes, dtype=np.int64)
        for index in range(start, stop):
            raw = np.uint64(bits[index])
            key = _orderKey(raw, signBit, signShift)
            if firstSlot[key >> shift0] >= 0 and (raw & magnitude) <= infinity:
                high = key >> highShift
                for p in range(nPrefixes):
                    if twoDigits[p] == high:
                        counts[p] += 1
                        break
        starts = np.zeros(nPrefixes + 1, dtype=np.int64)
        for p in range(nPrefixes):
            starts[p + 1] = starts[p] + counts[p]
        candidates = np.empty(starts[nPrefixes], dtype=np.uint64)
        fill = starts[:nPrefixes].copy()
        for index in range(start, stop):
            raw = np.uint64(bits[index])
            key = _orderKey(raw, signBit, signShift)
            if firstSlot[key >> shift0] >= 0 and (raw & magnitude) <= infinity:
                high = key >> highShift
                for p in range(nPrefixes):
                    if twoDigits[p] == high:
                        candidates[fill[p]] = key
                        fill[p] += 1
                        break
        for p in range(nPrefixes):
            members = prefix == twoDigits[p]
            memberRemaining = remaining[members].copy()
            memberPrefix = prefix[members].copy()
            _refineKeys(
                candidates[starts[p] : starts[p + 1]],
                memberRemaining,
                memberPrefix,
                done,
                nBits,
                digitBits,
                histogram,
            )
            prefix[members] = memberPrefix
    for s in range(nSlots):
        firstSlot[firstDigit[s]] = -1
    return m


@njit(nogil=True, cache=True, fastmath=False)
def _selectRanksCompiled(
    bits: np.ndarray, nBits: int, offsets: np.ndarray, fractions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    nGroups = offsets.size - 1
    nTargets = 2 * fractions.size
    keys = np.zeros((nGroups, nTargets), dtype=np.uint64)
    orderable = np.zeros(nGroups, dtype=np.int64)
    # Histograms wide enough for every group's digits.
    firstBits = digitBits = 0
    for group in range(nGroups):
        groupFirst, groupDigit = _digitWidths(offsets[group + 1] - offsets[group])
        firstBits = max(firstBits, groupFirst)
        digitBits = max(digitBits, groupDigit)
    first = np.zeros((1, 1 << firstBits), dtype=np.int32)  # groups hold < 2**31 values
    histogram = np.zeros((nTargets + 1, 1 << digitBits), dtype=np.int64)
    firstSlot = np.full(1 << firstBits, -1, dtype=np.int8)
    prefix = np.zeros(nTargets, dtype=np.uint64)
    for group in range(nGroups):
        start, stop = offsets[group], offsets[group + 1]
        firstBits, digitBits = _digitWidths(stop - start)
        orderable[group] = _selectGroupRanks(
            bits, start, stop, nBits, firstBits, digitBits, fractions, prefix, first, histogram, firstSlot
        )
        if orderable[group] > 0:
            keys[group] = prefix
    return keys, orderable


@njit(nogil=True, cache=True, fastmath=False)
def _digitWidths(size: int) -> tuple[int, int]:  # pragma: no cover - compiled
    """Bits of the first and of the later digits of the selection in a group of ``size`` values.

    The first digit of a float32 holds its sign, exponent and 7 to 11
    mantissa bits: values sharing their exponent (a sky level of 1000 +- 30)
    fill only a few bins of a 16-bit digit, and the second pass then
    counts many of them, while the wide histogram of a 20-bit digit falls
    out of cache when values span many exponents (a smoothed image around
    0).  20 bits measured best on both for groups of 2**19 values or more;
    smaller groups use narrower digits, whose histograms cost little to
    clear and scan next to the group.
    """
    if size >= 1 << 19:
        return 20, 12
    if size >= 1 << 18:
        return 18, 14
    if size >= 1 << 16:
        return 16, 16
    return 11, 11


#: Groups smaller than this are ordered by numpy's (SIMD) row sort instead of the radix
#: selection: on many small groups of bunched values (background cells of 128 px or less)
#: the sort measured 1.5 to 3.4 times faster, on groups of 2**16 values or more the radix.
_SORT_BELOW = 1 << 16


@njit(nogil=True, cache=True, fastmath=False)
def _padGroups(values: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> None:  # pragma: no cover
    """Copy group ``g`` of ``values`` to the start of ``rows[g]`` and fill the rest with NaN."""
    for group in range(rows.shape[0]):
        start = offsets[group]
        size = offsets[group + 1] - start
        row = rows[group]
        for i in range(size):
            row[i] = values[start + i]
        for i in range(size, row.size):
            row[i] = np.nan


def _selectRanksBySorting(
    values: np.ndarray, offsets: np.ndarray, sizes: np.ndarray, fractions: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`selectRanks` for small groups: each group padded with NaN to the largest, sorted as a row."""
    nGroups = sizes.size
    width = max(int(sizes.max()), 1)
    rows = np.empty((nGroups, width), dtype=values.dtype)
    _padGroups(values, offsets, rows)
    rows.sort(axis=1)  # NaN (padding and NaN values alike) sorts last
    orderable = np.count_nonzero(~np.isnan(rows), axis=1).astype(np.int64)
    position = fractions[np.newaxis, :] * np.maximum(orderable - 1, 0)[:, np.newaxis].astype(np.float64)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, np.maximum(orderable - 1, 0)[:, np.newaxis])
    groups = np.arange(nGroups)[:, np.newaxis]
    lowValue = rows[groups, low].astype(np.float64)
    highValue = rows[groups, high].astype(np.float64)
    lowValue[orderable == 0] = np.nan
    highValue[orderable == 0] = np.nan
    return lowValue, highValue, orderable


def selectRanks(
    values: np.ndarray, offsets: np.ndarray, fractions: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The values around each fraction's position among each group's sorted non-NaN values.

    For ``n`` non-NaN values in a group and a fraction ``f``, the position
    is ``f * (n - 1)``; the values of ranks ``floor(position)`` and the
    next (clamped to ``n - 1``) of the ascending order are found exactly
    (ties and infinities included) by a radix selection on the values'
    bit patterns, without moving the values.

    Parameters
    ----------
    values : `numpy.ndarray`
        1-d float32 or float64 values of all groups.
    offsets : `numpy.ndarray`
        ``nGroups + 1`` group boundaries.
    fractions : `numpy.ndarray`
        Fractions in ``[0, 1]``.

    Returns
    -------
    lowValue, highValue : `numpy.ndarray`
        ``(nGroups, nFractions)`` float64 values of the two ranks (NaN for
        groups without a non-NaN value).
    orderable : `numpy.ndarray`
        int64 number of non-NaN values per group.
    """
    values = np.ascontiguousarray(values)
    unsigned: type[np.unsignedinteger[Any]]
    if values.dtype == np.float32:
        unsigned, nBits = np.uint32, 32
    elif values.dtype == np.float64:
        unsigned, nBits = np.uint64, 64
    else:
        raise TypeError(f"selectRanks: values must be float32 or float64, got {values.dtype}")
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    if offsets.size > 1 and int(np.diff(offsets).max()) >= 2**31:
        raise ValueError("selectRanks: a group holds 2**31 values or more (the counts are 32-bit)")
    fractions = np.ascontiguousarray(fractions, dtype=np.float64)
    sizes = np.diff(offsets)
    if sizes.size and int(sizes.max()) < _SORT_BELOW:
        return _selectRanksBySorting(values, offsets, sizes, fractions)
    keys, orderable = _selectRanksCompiled(
        values.view(unsigned),
        nBits,
        offsets,
        fractions,
    )
    # Undo the key transform: a set top bit marks a non-negative value.
    signBit = np.uint64(1) << np.uint64(nBits - 1)
    allBits = signBit | (signBit - np.uint64(1))
    raw = np.where(keys & signBit, keys ^ signBit, ~keys & allBits)
    decoded = raw.astype(unsigned).view(values.dtype).astype(np.float64)
    decoded[orderable == 0] = np.nan
    return decoded[:, 0::2], decoded[:, 1::2], orderable


@njit(nogil=True, cache=True, fastmath=False)
def _clipSumsCompiled(
    buffer: np.ndarray, offsets: np.ndarray, center: np.ndarray, halfWidth: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    nGroups = offsets.size - 1
    count = np.zeros(nGroups, dtype=np.int64)
    sum1 = np.zeros(nGroups)
    sum2 = np.zeros(nGroups)
    for group in range(nGroups):
        c = center[group]
        w = halfWidth[group]
        start, stop = offsets[group], offsets[group + 1]
        # Four interleaved partial sums (entry i goes to sum i % 4) keep the
        # additions independent; entries that fail add zero.
        n = 0
        a0 = a1 = a2 = a3 = 0.0
        b0 = b1 = b2 = b3 = 0.0
        blockStop = start + (stop - start) // 4 * 4
        for index in range(start, blockStop, 4):
            d0 = np.float64(buffer[index]) - c
            d1 = np.float64(buffer[index + 1]) - c
            d2 = np.float64(buffer[index + 2]) - c
            d3 = np.float64(buffer[index + 3]) - c
            # NaN values, centres and widths fail the test.
            k0, k1, k2, k3 = abs(d0) <= w, abs(d1) <= w, abs(d2) <= w, abs(d3) <= w
            n += int(k0) + int(k1) + int(k2) + int(k3)
            d0 = d0 if k0 else 0.0
            d1 = d1 if k1 else 0.0
            d2 = d2 if k2 else 0.0
            d3 = d3 if k3 else 0.0
            a0 += d0
            a1 += d1
            a2 += d2
            a3 += d3
            b0 += d0 * d0
            b1 += d1 * d1
            b2 += d2 * d2
            b3 += d3 * d3
        for index in range(blockStop, stop):
            d0 = np.float64(buffer[index]) - c
            if abs(d0) <= w:
                n += 1
                a0 += d0
                b0 += d0 * d0
        count[group] = n
        sum1[group] = (a0 + a1) + (a2 + a3)
        sum2[group] = (b0 + b1) + (b2 + b3)
    return count, sum1, sum2


def clipSums(
    buffer: np.ndarray, offsets: np.ndarray, center: np.ndarray, halfWidth: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One afw clipping pass over each group's values.

    Parameters
    ----------
    buffer : `numpy.ndarray`
        1-d float32 or float64 usable values of all groups, in pixel order.
    offsets : `numpy.ndarray`
        ``nGroups + 1`` group boundaries.
    center, halfWidth : `numpy.ndarray`
        ``(nGroups,)`` float64 clip centre and half-width; a value passes when
        ``|value - center| <= halfWidth`` in double.  NaN passes nothing.

    Returns
    -------
    count, sum1, sum2 : `numpy.ndarray`
        int64 count and float64 sums of ``value - center`` and its square
        over the values that pass, accumulated in pixel order into four
        interleaved partial sums (entry ``i`` of a group into sum ``i % 4``),
        added pairwise at the end.
    """
    return _clipSumsCompiled(
        np.ascontiguousarray(buffer),
        np.ascontiguousarray(offsets, dtype=np.int64),
        np.ascontiguousarray(center, dtype=np.float64),
        np.ascontiguousarray(halfWidth, dtype=np.float64),
    )
