"""Mask-plane bits by name, tolerant of planes a mask does not define."""

from __future__ import annotations

__all__ = ["knownPlaneBits"]

from collections.abc import Iterable

from .afwlite.image import Mask


def knownPlaneBits(mask: Mask, names: Iterable[str]) -> int:
    """OR of the bits of the named planes that ``mask`` defines.

    A plane missing from a mask's dictionary cannot be set in any of its
    pixels, so leaving it out selects the same pixels as afw does (afw's
    ``getPlaneBitMask`` would raise, or add the plane to its process-wide
    dictionary, where it is unset in this mask).

    Parameters
    ----------
    mask : `~lsst.sky.correction.afwlite.image.Mask`
        The mask whose plane dictionary is used.
    names : iterable of `str`
        Plane names; unknown names contribute no bit.

    Returns
    -------
    bits : `int`
        The bit mask (0 when no name is known).
    """
    known = mask.getMaskPlaneDict()
    present = [name for name in names if name in known]
    return int(mask.getPlaneBitMask(present)) if present else 0
