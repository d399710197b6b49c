"""Quarter-turn rotations and flips (lsst/afw ``rotateImage.cc``).

Pixel ``(x, y)`` is ``array[y, x]`` and y runs up, so afw's counter-clockwise
quarter turn, ``out(H - 1 - y, x) = in(x, y)``, is ``np.rot90(array, -1)``.
"""

from __future__ import annotations

__all__ = ["flipImage", "rotateImageBy90"]

from collections.abc import Callable
from typing import Any

import numpy as np

from ..geom import Point2I
from ..image import ImageD, ImageF, Mask, MaskedImageF


def _transformed(image: Any, transform: Callable[[np.ndarray], np.ndarray], xy0: Point2I) -> Any:
    """A new image of the same type whose planes are ``transform`` of the input's.

    A mask keeps its plane dictionary, so its bits keep their names.
    """

    def plane(array: np.ndarray) -> np.ndarray:
        # Always a fresh C-ordered array: the transforms return views.
        return np.array(transform(array), order="C", copy=True)

    if isinstance(image, MaskedImageF):
        return MaskedImageF(
            ImageF(plane(image.image.array), xy0=xy0),
            mask=Mask(plane(image.mask.array), xy0=xy0, planeDict=image.mask.planeDict),
            variance=ImageF(plane(image.variance.array), xy0=xy0),
        )
    if isinstance(image, Mask):
        return Mask(plane(image.array), xy0=xy0, planeDict=image.planeDict)
    if isinstance(image, ImageF | ImageD):
        return type(image)(plane(image.array), xy0=xy0)
    raise TypeError(f"expected an ImageF, ImageD, Mask or MaskedImageF, got {type(image).__name__}")


def rotateImageBy90[T: (ImageF, ImageD, Mask, MaskedImageF)](image: T, nQuarter: int) -> T:
    """Rotate an image counter-clockwise by ``nQuarter`` quarter turns (``lsst.afw.math.rotateImageBy90``).

    Parameters
    ----------
    image : `ImageF`, `ImageD`, `Mask` or `MaskedImageF`
        The image to rotate; it is not modified.
    nQuarter : `int`
        Number of quarter turns; only ``nQuarter % 4`` matters (negative
        values turn clockwise).

    Returns
    -------
    rotated : same type as ``image``
        A new image.  With no turn it is a deep copy that keeps ``xy0``;
        otherwise ``xy0`` is (0, 0) and an odd number of turns swaps the
        width and height, as in afw.
    """
    if isinstance(nQuarter, bool) or not isinstance(nQuarter, int | np.integer):
        raise TypeError(f"rotateImageBy90: nQuarter must be an integer, got {nQuarter!r}")
    turns = int(nQuarter) % 4
    if turns == 0:
        return _transformed(image, lambda array: array, image.getXY0())
    # np.rot90 turns counter-clockwise with row 0 at the top, which is
    # clockwise with y up: afw's counter-clockwise turn is a negative k.
    return _transformed(image, lambda array: np.rot90(array, -turns), Point2I(0, 0))


def flipImage[T: (ImageF, ImageD, Mask, MaskedImageF)](image: T, flipLR: bool, flipTB: bool) -> T:
    """Mirror an image left-right and/or top-bottom (``lsst.afw.math.flipImage``).

    Parameters
    ----------
    image : `ImageF`, `ImageD`, `Mask` or `MaskedImageF`
        The image to flip; it is not modified.
    flipLR : `bool`
        Swap left and right (reverse x).
    flipTB : `bool`
        Swap top and bottom (reverse y).

    Returns
    -------
    flipped : same type as ``image``
        A new image with the input's ``xy0``.
    """
    axes = tuple(axis for axis, flip in ((0, flipTB), (1, flipLR)) if flip)
    return _transformed(image, lambda array: np.flip(array, axis=axes), image.getXY0())
