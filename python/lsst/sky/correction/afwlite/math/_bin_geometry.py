"""afw's background bin geometry (lsst/afw ``Background.cc`` ``_setCenOrigSize``)."""

from __future__ import annotations

__all__ = ["BinGeometry", "binGeometry"]

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BinGeometry:
    """Where the ``n`` bins along one image axis of ``length`` pixels lie.

    Attributes
    ----------
    origin : `numpy.ndarray`
        First LOCAL pixel of each bin (int64).
    size : `numpy.ndarray`
        Number of pixels in each bin (int64); sizes differ by at most one.
    center : `numpy.ndarray`
        LOCAL pixel coordinate of each bin centre (float64),
        ``origin + 0.5 * size - 0.5``.
    """

    origin: np.ndarray
    size: np.ndarray
    center: np.ndarray


def binGeometry(length: int, nbins: int) -> BinGeometry:
    """Spread ``length`` pixels over ``nbins`` bins exactly as afw does.

    Bin ``i`` ends at ``min(((i + 1) * length + nbins // 2) // nbins, length)``
    (integer division), so the remainder is spread over the bins rather than
    left in a partial last bin.

    Parameters
    ----------
    length : `int`
        Image width or height in pixels.
    nbins : `int`
        Number of bins along that axis (``>= 1``).
    """
    if nbins < 1:
        raise ValueError(f"the number of bins must be at least 1, got {nbins}")
    if length < nbins:
        raise ValueError(f"cannot spread {length} pixels over {nbins} bins")
    index = np.arange(1, nbins + 1, dtype=np.int64)
    end = np.minimum((index * length + nbins // 2) // nbins, length)
    origin = np.concatenate(([0], end[:-1]))
    size = end - origin
    return BinGeometry(origin=origin, size=size, center=origin + 0.5 * size - 0.5)
