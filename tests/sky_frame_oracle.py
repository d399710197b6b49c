"""Sky-frame images built without the code under test: the expectation for end-to-end tests.

A sky frame is a grid of samples that afw's ``BackgroundMI`` interpolates over
the detector with ``NATURAL_SPLINE`` (GSL's ``cspline``: a cubic spline with
zero second derivative at both ends), first down each grid column at every
row, then along each row.  Here the same image comes from scipy's
`~scipy.interpolate.CubicSpline` with ``bc_type="natural"`` (the same
mathematical spline; ``tests/algorithms/test_sky_measurement.py`` checks it
against GSL itself through ``gsl_oracle``) at the cell centres afw's
``Background::_setCenOrigSize`` places (docs: research notes on afw's
background geometry): cells spread evenly, sizes differing by at most one
pixel, each centred at ``origin + size / 2 - 0.5``.  Beyond the first and
last centres afw does not use the spline: ``InterpolateGsl::interpolate``
extrapolates with the end node's value, slope and curvature, and a natural
spline's curvature is zero there, so the edges are linear.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline


def cellCentres(length: int, nCells: int) -> np.ndarray:
    """Local pixel coordinates of the centres of ``nCells`` cells spread over ``length`` pixels."""
    ends = np.minimum((np.arange(1, nCells + 1) * length + nCells // 2) // nCells, length)
    origins = np.concatenate([[0], ends[:-1]])
    return origins + 0.5 * (ends - origins) - 0.5


def naturalSplineImage(samples: np.ndarray, width: int, height: int) -> np.ndarray:
    """The ``height x width`` image (float64) afw interpolates from a sky frame's ``samples``.

    Parameters
    ----------
    samples : `numpy.ndarray`
        The sky frame's (rows, columns) samples; finite, at least 3 a side
        (GSL's cspline needs 3 points; fewer would change the style).
    width, height : `int`
        The detector's size in pixels.
    """
    samples = np.asarray(samples, dtype=np.float64)
    nRows, nColumns = samples.shape
    if nRows < 3 or nColumns < 3 or not np.all(np.isfinite(samples)):
        raise ValueError(f"the oracle takes finite grids of at least 3 x 3 samples, got {samples.shape}")
    columns = _naturalSpline(cellCentres(height, nRows), samples, np.arange(height), axis=0)
    return _naturalSpline(cellCentres(width, nColumns), columns, np.arange(width), axis=1)


def _naturalSpline(nodes: np.ndarray, values: np.ndarray, where: np.ndarray, axis: int) -> np.ndarray:
    """A natural cubic spline along ``axis`` at ``where``; linear beyond the end nodes, as afw."""
    spline = CubicSpline(nodes, values, axis=axis, bc_type="natural")
    result = spline(where)
    for end in (nodes[0], nodes[-1]):
        outside = where < end if end == nodes[0] else where > end
        if not np.any(outside):
            continue
        offsets = where[outside] - end
        shape = [1, 1]
        shape[axis] = offsets.size
        value = np.expand_dims(spline(end), axis)
        slope = np.expand_dims(spline(end, 1), axis)
        extrapolated = value + offsets.reshape(shape) * slope
        index = [slice(None), slice(None)]
        index[axis] = outside  # type: ignore[call-overload]
        result[tuple(index)] = extrapolated
    return result
