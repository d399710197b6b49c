"""The interpolated background image (afw ``BackgroundMI::doGetImage``), vectorised.

afw interpolates the grid of cell statistics in two passes, both in LOCAL
pixel coordinates:

1. down every bin column, through its non-NaN cells, to every image row
   ``0 … H-1`` (whatever part of the image is requested);
2. along every requested image row, through the non-NaN column values of
   that row, to the requested pixels.

afw builds one GSL interpolant per column and per row.  Here the columns (and
then the rows) are grouped by which of their values are NaN; the members of
a group share their nodes, so each group is one batched `fitPiecewise` call.
A grid without NaN is one group per pass.
"""

from __future__ import annotations

# Internal: nothing here is part of afwlite.math's API.
__all__: list[str] = []

import numpy as np

from ._background_control import UndersampleStyle
from ._errors import OutOfRangeError
from ._interpolate import Interpolate, gslKind, lookupMaxInterpStyle
from ._piecewise import MIN_SIZE, fitPiecewise


def passStyle(
    style: Interpolate.Style, nGood: int, undersampleStyle: UndersampleStyle, what: str
) -> Interpolate.Style | None:
    """The style afw ends up using for one column or row with ``nGood`` points.

    afw first tries ``style``; when GSL refuses that many points it re-raises
    (THROW_EXCEPTION), falls back to the best style for ``nGood`` points, or
    to NaN when there are none (REDUCE_INTERP_ORDER).

    Returns
    -------
    style : `Interpolate.Style` or `None`
        `None` means "all NaN".

    Raises
    ------
    OutOfRangeError
        If there are too few points and the undersample style does not allow
        reducing the order.
    """
    needed = MIN_SIZE[gslKind(style)]
    if nGood >= needed:
        return style
    if undersampleStyle == UndersampleStyle.REDUCE_INTERP_ORDER:
        return None if nGood == 0 else lookupMaxInterpStyle(nGood)
    if undersampleStyle == UndersampleStyle.INCREASE_NXNYSAMPLE:
        reason = "the BackgroundControl UndersampleStyle INCREASE_NXNYSAMPLE is not supported"
    else:
        reason = "use REDUCE_INTERP_ORDER to fall back to a lower order"
    raise OutOfRangeError(
        f"{what} has {nGood} non-NaN value(s) but {style.name} interpolation needs {needed}; {reason}"
    )


def _groupsByNanPattern(values: np.ndarray) -> list[tuple[np.ndarray, np.ndarray | slice]]:
    """Split the rows of ``values`` by where they hold NaN.

    Returns ``(good, members)`` pairs: the non-NaN columns of the group and
    the rows in it (a slice when every row is in one group).
    """
    good = ~np.isnan(values)
    if good.all():
        return [(np.ones(values.shape[1], dtype=bool), slice(None))]
    patterns, inverse = np.unique(good, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return [(pattern, np.flatnonzero(inverse == g)) for g, pattern in enumerate(patterns)]


def _describe(kind: str, members: np.ndarray | slice, offset: int = 0) -> str:
    if isinstance(members, slice):
        return f"every {kind}"
    shown = ", ".join(str(int(i) + offset) for i in members[:5])
    return f"{kind} {shown}{', …' if members.size > 5 else ''}"


def interpolateGrid(
    grid: np.ndarray,
    xcen: np.ndarray,
    ycen: np.ndarray,
    height: int,
    region: tuple[int, int, int, int],
    style: Interpolate.Style,
    undersampleStyle: UndersampleStyle,
) -> np.ndarray:
    """Interpolate a background grid to pixels, as afw's ``doGetImage``.

    Parameters
    ----------
    grid : `numpy.ndarray`
        ``(ny, nx)`` cell values (NaN = no value).
    xcen, ycen : `numpy.ndarray`
        LOCAL bin centres along x and y.
    height : `int`
        Height of the full image; the columns are interpolated to all of it.
    region : `tuple` [`int`, `int`, `int`, `int`]
        ``(x0, y0, width, height)`` of the requested pixels, LOCAL.
    style : `Interpolate.Style`
        The style chosen by the global undersampling check.
    undersampleStyle : `UndersampleStyle`
        What to do with columns or rows that have too few values.

    Returns
    -------
    image : `numpy.ndarray`
        ``(region height, region width)`` float32 background.

    Raises
    ------
    OutOfRangeError
        If a column or row has too few values and the undersample style
        forbids a fallback.
    RuntimeError
        If GSL would fail to initialise (a periodic cubic spline through 2 points).
    """
    x0, y0, width, regionHeight = region
    # An infinite cell spoils its column as it does in GSL (inf - inf is NaN), and the row
    # pass then interpolates over that column; values beyond float32 become inf.  Both are
    # the documented outcome of such input, not accidents worth a RuntimeWarning.
    with np.errstate(invalid="ignore", over="ignore"):
        columns = _interpolateColumns(grid, ycen, height, style, undersampleStyle)
        rows = columns[y0 : y0 + regionHeight]
        result = np.empty((regionHeight, width), dtype=np.float32)
        xpix = np.arange(x0, x0 + width, dtype=np.float64)
        for good, members in _groupsByNanPattern(rows):
            chosen = passStyle(
                style,
                int(good.sum()),
                undersampleStyle,
                f"{_describe('row', members, y0)} (LOCAL y) of the background",
            )
            if chosen is None:
                result[members] = np.nan
                continue
            curves = fitPiecewise(gslKind(chosen), xcen[good], rows[members][:, good])
            if isinstance(members, slice):
                curves.evaluate(xpix, out=result)
            else:
                block = np.empty((members.size, width), dtype=np.float32)
                result[members] = curves.evaluate(xpix, out=block)
    return result


def _interpolateColumns(
    grid: np.ndarray,
    ycen: np.ndarray,
    height: int,
    style: Interpolate.Style,
    undersampleStyle: UndersampleStyle,
) -> np.ndarray:
    """Every bin column interpolated to every LOCAL row: ``(height, nx)`` float64."""
    columns = np.empty((height, grid.shape[1]), dtype=np.float64)
    ypix = np.arange(height, dtype=np.float64)
    values = grid.T.astype(np.float64)
    for good, members in _groupsByNanPattern(values):
        chosen = passStyle(
            style, int(good.sum()), undersampleStyle, f"{_describe('bin column', members)} of the background"
        )
        if chosen is None:
            columns[:, members] = np.nan
            continue
        curves = fitPiecewise(gslKind(chosen), ycen[good], values[members][:, good])
        columns[:, members] = curves.evaluate(ypix).T
    return columns
