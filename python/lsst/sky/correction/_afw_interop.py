"""The minimal bridge that lets the task accept ``lsst.afw`` objects in a full stack.

The algorithms work on afwlite objects and numpy arrays.  When the inputs are
real afw objects (a full Science Pipelines stack), `SkyCorrectionTask` turns
them into afwlite objects on the way in, reading them only through the afw
API subset afwlite implements (so the readers here run on afwlite objects
too, which is how they are tested without afw), and turns its outputs back
into the inputs' family on the way out.  Nothing else in the package knows
about afw.
"""

from __future__ import annotations

__all__ = [
    "AFWLITE",
    "ImageFamily",
    "afwFamily",
    "backgroundListFrom",
    "backgroundListTo",
    "cameraFrom",
    "detectorFrom",
    "exposureFrom",
    "familyOf",
    "imageFrom",
    "imageTo",
]

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .afwlite import cameraGeom as liteCameraGeom
from .afwlite import geom as liteGeom
from .afwlite import image as liteImage
from .afwlite import math as liteMath


@dataclass(frozen=True)
class ImageFamily:
    """The modules that build images, backgrounds and boxes of one implementation."""

    name: str
    image: ModuleType
    math: ModuleType
    geom: ModuleType


AFWLITE = ImageFamily("afwlite", liteImage, liteMath, liteGeom)


def afwFamily() -> ImageFamily:
    """The real afw family (imports lsst.afw; only call it when afw objects are present)."""
    return ImageFamily(
        "afw",
        importlib.import_module("lsst.afw.image"),
        importlib.import_module("lsst.afw.math"),
        importlib.import_module("lsst.geom"),
    )


def familyOf(obj: Any) -> ImageFamily:
    """The family an object belongs to: afw for ``lsst.afw``/``lsst.geom`` types, else afwlite."""
    module = type(obj).__module__
    if module.startswith(("lsst.afw.", "lsst.geom")):
        return afwFamily()
    return AFWLITE


def _isAfwlite(obj: Any) -> bool:
    return type(obj).__module__.startswith("lsst.sky.correction.afwlite")


def _box(bbox: Any) -> liteGeom.Box2I:
    return liteGeom.Box2I(
        liteGeom.Point2I(bbox.getMinX(), bbox.getMinY()), liteGeom.Point2I(bbox.getMaxX(), bbox.getMaxY())
    )


# Into afwlite ------------------------------------------------------------------------------


def detectorFrom(detector: Any) -> liteCameraGeom.Detector:
    """An afwlite Detector with the geometry of ``detector`` (afw or afwlite)."""
    if _isAfwlite(detector):
        return detector
    orientation = detector.getOrientation()
    position = (
        orientation.getFpPosition3()
        if hasattr(orientation, "getFpPosition3")
        else (*orientation.getFpPosition(), 0.0)
    )
    refPoint = orientation.getReferencePoint()
    pixelSize = detector.getPixelSize()
    return liteCameraGeom.Detector(
        detector.getName(),
        detector.getId(),
        bbox=_box(detector.getBBox()),
        orientation=liteCameraGeom.Orientation(
            (position[0], position[1], position[2]),
            (refPoint[0], refPoint[1]),
            orientation.getYaw().asRadians(),
            orientation.getPitch().asRadians(),
            orientation.getRoll().asRadians(),
        ),
        pixelSize=(pixelSize[0], pixelSize[1]),
        type=int(detector.getType()),
        serial=detector.getSerial(),
        physicalType=detector.getPhysicalType(),
    )


def cameraFrom(camera: Any) -> liteCameraGeom.Camera:
    """An afwlite Camera with the detector geometry of ``camera`` (afw or afwlite)."""
    if _isAfwlite(camera):
        return camera
    return liteCameraGeom.Camera(camera.getName(), [detectorFrom(detector) for detector in camera])


def imageFrom(image: Any) -> liteImage.ImageF:
    """An afwlite ImageF sharing the pixels of ``image`` (afw or afwlite)."""
    if _isAfwlite(image):
        return image
    return liteImage.ImageF(
        np.asarray(image.array, dtype=np.float32), xy0=liteGeom.Point2I(image.getX0(), image.getY0())
    )


def _maskedImageFrom(maskedImage: Any) -> liteImage.MaskedImageF:
    mask = maskedImage.mask
    xy0 = liteGeom.Point2I(maskedImage.getX0(), maskedImage.getY0())
    return liteImage.MaskedImageF(
        imageFrom(maskedImage.image),
        mask=liteImage.Mask(
            np.asarray(mask.array, dtype=np.int32), xy0=xy0, planeDict=dict(mask.getMaskPlaneDict())
        ),
        variance=imageFrom(maskedImage.variance),
    )


def exposureFrom(exposure: Any) -> liteImage.ExposureF:
    """An afwlite ExposureF sharing the pixels of ``exposure`` (afw or afwlite).

    The metadata is copied and the detector's geometry converted; other afw
    components (PSF, WCS, ...) are not needed by the sky correction.
    """
    if _isAfwlite(exposure):
        return exposure
    result = liteImage.ExposureF(_maskedImageFrom(exposure.maskedImage))
    metadata = exposure.getMetadata()
    for name in metadata.names():
        for value in metadata.getArray(name):
            result.getMetadata().add(name, value)
    detector = exposure.getDetector()
    result.setDetector(None if detector is None else detectorFrom(detector))
    return result


def backgroundListFrom(backgrounds: Any) -> liteMath.BackgroundList:
    """A deep afwlite copy of a BackgroundList (afw or afwlite)."""
    if _isAfwlite(backgrounds):
        return backgrounds.clone()
    result = liteMath.BackgroundList()
    for background, interpStyle, undersampleStyle, approxStyle, orderX, orderY, weighting in backgrounds:
        stats = _maskedImageFrom(background.getStatsImage()).clone()
        lite = liteMath.BackgroundMI(_box(background.getImageBBox()), stats)
        _copyControl(lite, interpStyle, undersampleStyle, approxStyle, orderX, orderY, weighting, liteMath)
        result.append(
            (
                lite,
                liteMath.Interpolate.Style(int(interpStyle)),
                liteMath.UndersampleStyle(int(undersampleStyle)),
                liteMath.ApproximateControl.Style(int(approxStyle)),
                int(orderX),
                int(orderY),
                bool(weighting),
            )
        )
    return result


def _copyControl(
    background: Any,
    interpStyle: Any,
    undersampleStyle: Any,
    approxStyle: Any,
    orderX: Any,
    orderY: Any,
    weighting: Any,
    mathModule: ModuleType,
) -> None:
    """Give ``background`` the control afw's BackgroundList.readFits would give it."""
    control = background.getBackgroundControl()
    control.setInterpStyle(mathModule.Interpolate.Style(int(interpStyle)))
    control.setUndersampleStyle(mathModule.UndersampleStyle(int(undersampleStyle)))
    control.setApproximateControl(
        mathModule.ApproximateControl(
            mathModule.ApproximateControl.Style(int(approxStyle)), int(orderX), int(orderY), bool(weighting)
        )
    )


# Out of afwlite ----------------------------------------------------------------------------


def imageTo(image: liteImage.ImageF, family: ImageFamily) -> Any:
    """``image`` as an ImageF of ``family`` (the same object for afwlite)."""
    if family is AFWLITE:
        return image
    result = family.image.ImageF(np.ascontiguousarray(image.array, dtype=np.float32), deep=True)
    result.setXY0(family.geom.Point2I(image.getX0(), image.getY0()))
    return result


def backgroundListTo(backgrounds: liteMath.BackgroundList, family: ImageFamily) -> Any:
    """``backgrounds`` as a BackgroundList of ``family`` (the same object for afwlite)."""
    if family is AFWLITE:
        return backgrounds
    image, math, geom = family.image, family.math, family.geom
    result = math.BackgroundList()
    elements: list[Any] = list(backgrounds)  # afwlite's tuple type allows None styles; filled by now
    for background, interpStyle, undersampleStyle, approxStyle, orderX, orderY, weighting in elements:
        stats = background.getStatsImage()
        statsImage = image.MaskedImageF(
            imageTo(stats.image, family),
            image.Mask(np.ascontiguousarray(stats.mask.array, dtype=np.int32), deep=True),
            imageTo(stats.variance, family),
        )
        bbox = background.getImageBBox()
        converted = math.BackgroundMI(
            geom.Box2I(
                geom.Point2I(bbox.getMinX(), bbox.getMinY()), geom.Extent2I(bbox.getWidth(), bbox.getHeight())
            ),
            statsImage,
        )
        _copyControl(converted, interpStyle, undersampleStyle, approxStyle, orderX, orderY, weighting, math)
        result.append(
            (
                converted,
                math.Interpolate.Style(int(interpStyle)),
                math.UndersampleStyle(int(undersampleStyle)),
                math.ApproximateControl.Style(int(approxStyle)),
                int(orderX),
                int(orderY),
                bool(weighting),
            )
        )
    return result
