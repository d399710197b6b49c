"""Footprint growth: dilation of a boolean mask by afw's CIRCLE or MANHATTAN stencil.

The mask is dilated as its row runs (`._runs`): each row of the result
is the union of the nearby rows' runs, widened by the stencil's half-width
at their row offset, so the cost follows the number of runs rather than
the pixels or the radius.
"""

from __future__ import annotations

__all__ = ["dilateMask", "stencilHalfWidths"]

import math
from collections.abc import Sequence

import numpy as np

from ._runs import growRuns, paintRuns, runsOfMask


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
    """
    widths = np.asarray(halfWidths, dtype=np.int64)
    if widths.ndim != 1 or widths.size == 0 or np.any(widths < 0) or np.any(np.diff(widths) > 0):
        raise ValueError(f"halfWidths must be a non-empty, non-negative, non-increasing list, got {widths}")
    if mask.ndim != 2 or mask.dtype != np.bool_:
        raise TypeError(f"dilateMask needs a 2-d boolean array, got {mask.dtype} of shape {mask.shape}")
    return paintRuns(growRuns(runsOfMask(mask), widths, mask.shape[1]), mask.shape)
