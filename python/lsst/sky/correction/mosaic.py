"""Binned focal-plane mosaics of a visit (the sky correction's diagnostic images).

The reference task bins every detector (``afw.math.binImage`` of the masked
image), turns binned pixels whose mask has ``NO_DATA`` into NaN and rotates
each detector by its number of quarter turns (pipe_tasks
``visualizeVisit.ImageSource.getCcdImage``), then places the detectors in one
image with afw's ``cameraGeom.utils.makeImageFromCamera``.  This module
reproduces that placement, including its integer arithmetic:

* the camera box in pixels is ``floor(fpBBox / pixelSize)`` (float floor
  division, the first detector's pixel size), grown by
  ``bufferSize * binning`` unbinned pixels (``bufferSize = 10``);
* the output is ``ceil(width / binning)`` x ``ceil(height / binning)``
  pixels of NaN;
* detector ``d`` goes to the box ``rotateBBoxBy90((0, 0) + bbox.dims //
  binning, nQuarter)`` shifted by ``int(llc // pixelSize / binning)`` and then
  by ``(-int(origin.x // binning), -int(origin.y) // binning)``, where
  ``llc`` is the lower-left corner of the detector in the focal plane and
  ``origin`` the camera box minimum.  The x and y roundings of that last
  shift differ: that is afw's code, kept so the mosaics match afw's pixel for
  pixel.
"""

from __future__ import annotations

__all__ = ["MOSAIC_BUFFER_SIZE", "binMaskedImageForMosaic", "makeCameraImage", "rotateBBoxBy90"]

import math
from collections.abc import Mapping

import numpy as np

from .afwlite.cameraGeom import FOCAL_PLANE, Camera, Detector
from .afwlite.geom import Box2D, Box2I, Extent2D, Extent2I, Point2I
from .afwlite.image import ExposureF, ImageF, MaskedImageF
from .afwlite.math import binImage, rotateImageBy90

#: Empty border around the camera in a mosaic, in binned pixels (afw's ``bufferSize`` default).
MOSAIC_BUFFER_SIZE = 10


def _noDataPixels(maskedImage: MaskedImageF) -> np.ndarray:
    """Where the mask has the ``NO_DATA`` plane set."""
    mask = maskedImage.getMask()
    return (mask.array & mask.getPlaneBitMask("NO_DATA")) != 0


def binMaskedImageForMosaic(maskedImage: MaskedImageF | ExposureF, binning: int) -> ImageF:
    """Bin a detector for a mosaic: block means, NaN where any pixel of a block is ``NO_DATA``.

    This is the reference's order: ``binImage`` of the masked image first
    (its mask is the OR of each block), then ``ImageSource.getCcdImage``
    sets the binned pixels whose mask has ``NO_DATA`` to NaN.

    Parameters
    ----------
    maskedImage : `MaskedImageF` or `ExposureF`
        The detector's pixels (not modified).
    binning : `int`
        Pixels per binned pixel along each axis; remainder rows and columns
        on the high side are dropped, as ``binImage`` does.

    Returns
    -------
    binned : `ImageF`
        ``W // binning`` x ``H // binning`` block means (float32, the same
        values as the image plane of ``binImage(maskedImage, binning)``),
        NaN where the block holds a ``NO_DATA`` pixel; xy0 is the input's,
        as ``binImage`` keeps it.
    """
    if isinstance(maskedImage, ExposureF):
        maskedImage = maskedImage.getMaskedImage()
    if not isinstance(maskedImage, MaskedImageF):
        raise TypeError(
            f"binMaskedImageForMosaic: expected a MaskedImageF or ExposureF, got {type(maskedImage).__name__}"
        )
    # Binning the image plane alone gives the same float32 sums as binning the
    # masked image, without the variance plane the mosaic never uses.
    binned = binImage(maskedImage.getImage(), binning)
    height, width = binned.array.shape
    noData = _noDataPixels(maskedImage)[: height * binning, : width * binning]
    blockHasNoData = noData.reshape(height, binning, width, binning).any(axis=(1, 3))
    binned.array[blockHasNoData] = np.nan
    return binned


def rotateBBoxBy90(bbox: Box2I, n90: int, dimensions: Extent2I) -> Box2I:
    """Rotate a box by quarter turns within a grid (afw ``cameraGeom.rotateBBoxBy90``).

    The corners are turned counter-clockwise about the grid's centre pixel
    ``(int(W / 2), int(H / 2))``; afw then moves the result by one pixel along
    an axis whose grid size is even, and for odd turns of a non-square grid
    shifts it by the difference of the centre coordinates.  For a
    ``(0, 0)``-based box covering the grid the result is ``(0, 0)``-based with
    the dimensions swapped when ``n90`` is odd, except that a grid with one
    odd and one even dimension lands one pixel off along one axis (x for
    ``n90 = 1``, y for ``n90 = 3``) -- afw's behaviour, reproduced.

    Parameters
    ----------
    bbox : `Box2I`
        The box to rotate.
    n90 : `int`
        Counter-clockwise quarter turns (any integer; taken modulo 4).
    dimensions : `Extent2I`
        The grid the box lives in.

    Returns
    -------
    rotated : `Box2I`
        A new box.
    """
    turns = int(n90) % 4
    sine, cosine = ((0, 1), (1, 0), (0, -1), (-1, 0))[turns]
    centerX, centerY = int(dimensions[0] / 2), int(dimensions[1] / 2)
    # Relative to the centre, a rotation maps the box's x and y ranges onto
    # the new ranges; the extremes of the turned corners bound the result.
    xs = (bbox.getMinX() - centerX, bbox.getMaxX() - centerX)
    ys = (bbox.getMinY() - centerY, bbox.getMaxY() - centerY)
    turnedX = [cosine * x - sine * y for x in xs for y in ys]
    turnedY = [sine * x + cosine * y for x in xs for y in ys]
    shiftX = -1 if (turns in (1, 2) and dimensions[0] % 2 == 0) else 0
    shiftY = -1 if (turns in (2, 3) and dimensions[1] % 2 == 0) else 0
    rotated = Box2I(
        Point2I(centerX + min(turnedX) + shiftX, centerY + min(turnedY) + shiftY),
        Point2I(centerX + max(turnedX) + shiftX, centerY + max(turnedY) + shiftY),
    )
    centerOffset = centerX - centerY
    if turns % 2 == 1 and centerOffset != 0:
        rotated.shift(Extent2I(-centerOffset, centerOffset))
    return rotated


def _cameraPixelBox(camera: Camera, pixelSize: Extent2D, binning: int) -> Box2I:
    """The camera's unbinned pixel box, grown by the mosaic border (afw ``getCameraImageBBox``)."""
    fpBBox = camera.getFpBBox()
    pixelMin = Point2I(int(fpBBox.getMinX() // pixelSize.getX()), int(fpBBox.getMinY() // pixelSize.getY()))
    pixelMax = Point2I(int(fpBBox.getMaxX() // pixelSize.getX()), int(fpBBox.getMaxY() // pixelSize.getY()))
    box = Box2I(pixelMin, pixelMax)
    box.grow(MOSAIC_BUFFER_SIZE * binning)
    return box


def _detectorBoxInMosaic(detector: Detector, binning: int, pixelSize: Extent2D, origin: Point2I) -> Box2I:
    """Where a detector's binned, rotated image goes in the mosaic (afw ``getCcdInCamBBoxList``)."""
    corners = Box2D()
    for corner in detector.getCorners(FOCAL_PLANE):
        corners.include(corner)
    lowerLeft = corners.getMin()
    bbox = detector.getBBox()
    binnedDims = Extent2I(bbox.getWidth() // binning, bbox.getHeight() // binning)
    if binnedDims.getX() < 1 or binnedDims.getY() < 1:
        raise ValueError(
            f"makeCameraImage: binning {binning} leaves nothing of detector {detector.getId()} "
            f"({detector.getName()!r}, {bbox.getWidth()}x{bbox.getHeight()} pixels)"
        )
    box = rotateBBoxBy90(
        Box2I(bbox.getMin(), binnedDims), detector.getOrientation().getNQuarter(), binnedDims
    )
    # Float floor division by the pixel size, true division by the binning,
    # truncation toward zero: afw's arithmetic, kept exactly.
    box.shift(
        Extent2I(
            int(lowerLeft.getX() // pixelSize.getX() / binning),
            int(lowerLeft.getY() // pixelSize.getY() / binning),
        )
    )
    # x floors origin / binning and negates; y negates and then floors.
    box.shift(Extent2I(-int(origin.getX() // binning), -int(origin.getY()) // binning))
    return box


def _imagePlane(image: ImageF | MaskedImageF, detector: Detector) -> np.ndarray:
    """The pixels to place: an `ImageF` as is, a `MaskedImageF` with ``NO_DATA`` as NaN."""
    if isinstance(image, MaskedImageF):
        pixels = image.getImage().array.copy()
        pixels[_noDataPixels(image)] = np.nan
        return pixels
    if isinstance(image, ImageF):
        return image.array
    raise TypeError(
        f"makeCameraImage: the image of detector {detector.getId()} ({detector.getName()!r}) is a "
        f"{type(image).__name__}, not an ImageF or MaskedImageF"
    )


def makeCameraImage(
    camera: Camera, binnedImages: Mapping[int, ImageF | MaskedImageF], binning: int
) -> ImageF:
    """Mosaic binned detector images into one focal-plane image (afw ``makeImageFromCamera``).

    Parameters
    ----------
    camera : `Camera`
        The camera; its whole focal plane sets the mosaic's size, whichever
        detectors are given.
    binnedImages : `Mapping` [`int`, `ImageF` or `MaskedImageF`]
        Binned images by detector id, unrotated (as the detector reads out),
        each ``bbox.width // binning`` x ``bbox.height // binning``.  A
        `MaskedImageF` has its ``NO_DATA`` pixels set to NaN (in a copy);
        `binMaskedImageForMosaic` makes suitable `ImageF` values.
    binning : `int`
        The binning the images were made with.

    Returns
    -------
    mosaic : `ImageF`
        ``ceil(W / binning)`` x ``ceil(H / binning)`` pixels for the camera
        box ``W`` x ``H`` (see the module docstring), NaN where no detector
        lies.  Detectors are placed in camera (id) order, each rotated
        counter-clockwise by ``nQuarter % 4`` quarter turns, later ones
        overwriting earlier ones where they overlap; a detector without an
        image is filled with NaN, as the reference's image source does.

    Raises
    ------
    ValueError
        If ``binning`` is not positive, an id is not a detector of the
        camera, or a detector's image has the wrong size or would fall
        outside the mosaic (the message names the detector).
    RuntimeError
        If the detectors' pixel sizes differ (as afw raises).
    """
    if isinstance(binning, bool) or not isinstance(binning, int | np.integer) or binning < 1:
        raise ValueError(f"makeCameraImage: binning must be a positive integer, got {binning!r}")
    binning = int(binning)
    unknown = sorted(set(binnedImages) - set(camera.getIdIter()))
    if unknown:
        raise ValueError(f"makeCameraImage: camera {camera.getName()!r} has no detectors with ids {unknown}")
    detectors = list(camera)
    if not detectors:
        raise ValueError(f"makeCameraImage: camera {camera.getName()!r} has no detectors")
    pixelSize = camera[next(camera.getNameIter())].getPixelSize()
    for detector in detectors:
        if detector.getPixelSize() != pixelSize:
            raise RuntimeError(
                f"makeCameraImage: detector {detector.getId()} ({detector.getName()!r}) has pixel size "
                f"{detector.getPixelSize()}, the others {pixelSize}; mosaics need one pixel size"
            )

    cameraBox = _cameraPixelBox(camera, pixelSize, binning)
    origin = cameraBox.getMin()
    width = math.ceil(cameraBox.getWidth() / binning)
    height = math.ceil(cameraBox.getHeight() / binning)
    mosaic = np.full((height, width), np.nan, dtype=np.float32)
    mosaicBox = Box2I(Point2I(0, 0), Extent2I(width, height))

    for detector in detectors:
        box = _detectorBoxInMosaic(detector, binning, pixelSize, origin)
        where = f"detector {detector.getId()} ({detector.getName()!r})"
        if not mosaicBox.contains(box):
            raise ValueError(f"makeCameraImage: {where} lands at {box}, outside the {width}x{height} mosaic")
        image = binnedImages.get(detector.getId())
        if image is None:
            mosaic[box.slices] = np.nan
            continue
        nQuarter = detector.getOrientation().getNQuarter()
        pixels = rotateImageBy90(ImageF(_imagePlane(image, detector)), nQuarter).array
        if pixels.shape != (box.getHeight(), box.getWidth()):
            expected = Extent2I(
                detector.getBBox().getWidth() // binning, detector.getBBox().getHeight() // binning
            )
            raise ValueError(
                f"makeCameraImage: the binned image of {where} is {image.getWidth()}x{image.getHeight()} "
                f"pixels; binning {binning} of its {detector.getBBox().getWidth()}x"
                f"{detector.getBBox().getHeight()} bbox gives {expected.getX()}x{expected.getY()}"
            )
        mosaic[box.slices] = pixels
    return ImageF(mosaic)
