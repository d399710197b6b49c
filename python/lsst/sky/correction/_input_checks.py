"""Checks that turn bad input into a clear error before it can do harm.

`SkyCorrectionTask` calls these at the points where each input first becomes
available: the lists handed to ``run`` (before any pixel is read) and each
dataset as it is fetched; the configuration is checked by each Config's
``validate``.  Every message about a per-detector input starts with the
dataset and the detector (`InputDataError`), so a failed quantum says which
file to look at.  The catalogue of inputs and faults, with the message each
one gives, is ``docs/reliability.md``.
"""

from __future__ import annotations

__all__ = [
    "checkBackgroundImage",
    "checkRatioImage",
    "checkRunInputs",
    "conformCalExpMask",
    "noCommonDetectors",
    "skyFrameImage",
]

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lsst.pipe.base import NoWorkFound

from ._afw_interop import cameraFrom
from ._inputs import dataIdDetector, detectorIdOf, isBackgroundList, isExposure, isHandle, readingInput
from .afwlite.geom import Box2I
from .afwlite.image import DEFAULT_MASK_PLANES, ExposureF, ImageF
from .afwlite.math import BackgroundList
from .errors import InputDataError

if TYPE_CHECKING:
    from .sky_measurement import SkyMeasurementTask

_log = logging.getLogger(__name__)


# Run inputs ------------------------------------------------------------------------------------


def checkRunInputs(
    *,
    needSkyFrames: bool,
    needRatios: bool,
    calExps: Sequence[Any],
    calBkgs: Sequence[Any],
    skyFrames: Sequence[Any] | None,
    ratios: Sequence[Any],
    camera: Any,
) -> None:
    """Check the inputs of `SkyCorrectionTask.run` without reading any pixels.

    Parameters
    ----------
    needSkyFrames, needRatios : `bool`
        Whether the configuration uses sky frames (``doSky``) and ratio
        images (``doApplyFlatBackgroundRatio``).
    calExps, calBkgs, skyFrames, ratios
        The per-detector inputs, in one order.
    camera
        The camera.

    Raises
    ------
    ValueError
        If there are no calexps, the lists differ in length or a needed list
        is missing.
    TypeError
        If the camera is not a camera.
    InputDataError
        If an input has the wrong type, names another detector than the
        calexp at its position, or is for a detector the camera lacks.
    """
    if len(calExps) == 0:
        raise ValueError("SkyCorrectionTask.run needs at least one calexp; got an empty list")
    lengths = {"calExps": len(calExps), "calBkgs": len(calBkgs)}
    if needSkyFrames:
        if skyFrames is None:
            raise ValueError("doSky is True but no skyFrames were given")
        lengths["skyFrames"] = len(skyFrames)
    if needRatios:
        lengths["backgroundToPhotometricRatioHandles"] = len(ratios)
    if len(set(lengths.values())) != 1:
        raise ValueError(f"the per-detector input lists differ in length: {lengths}")
    if not (hasattr(camera, "getName") and hasattr(camera, "__iter__")):
        raise TypeError(f"camera: expected a Camera, got {type(camera).__name__}")

    detectorIds = [detectorIdOf(source) for source in calExps]
    for position, (source, detectorId) in enumerate(zip(calExps, detectorIds, strict=True)):
        if not (isExposure(source) or isHandle(source)):
            raise InputDataError(
                "calexp",
                detectorId,
                f"expected an exposure or a dataset handle, got {type(source).__name__}",
                position,
            )
    for position, (background, detectorId) in enumerate(zip(calBkgs, detectorIds, strict=True)):
        if not (isBackgroundList(background) or isHandle(background)):
            raise InputDataError(
                "calexpBackground",
                detectorId,
                f"expected a BackgroundList or a dataset handle, got {type(background).__name__}",
                position,
            )
    aligned: list[tuple[str, Sequence[Any]]] = []
    if needSkyFrames and skyFrames is not None:
        aligned.append(("sky frame", skyFrames))
    if needRatios:
        aligned.append(("background_to_photometric_ratio", ratios))
    for dataset, sources in aligned:
        for position, (source, detectorId) in enumerate(zip(sources, detectorIds, strict=True)):
            if dataset == "sky frame" and not (isExposure(source) or isHandle(source)):
                raise InputDataError(
                    dataset,
                    detectorId,
                    f"expected an exposure or a dataset handle, got {type(source).__name__}",
                    position,
                )
            # Sky frames carry no detector of their own; a handle's data ID does.
            own = dataIdDetector(source) if dataset == "sky frame" else detectorIdOf(source)
            if own is not None and detectorId is not None and own != detectorId:
                raise InputDataError(
                    dataset,
                    own,
                    f"it is at position {position} of its list, where the calexp is for detector "
                    f"{detectorId}; the per-detector lists must be in the same order",
                )
    _checkDetectorsInCamera(detectorIds, camera)


def _checkDetectorsInCamera(detectorIds: Sequence[int | None], camera: Any) -> None:
    known = {detector.getId() for detector in cameraFrom(camera)}
    for detectorId in detectorIds:
        if detectorId is not None and detectorId not in known:
            raise InputDataError(
                "calexp",
                detectorId,
                f"the camera {camera.getName()!r} has no detector {detectorId} "
                f"(its detectors: {_idRanges(sorted(known))})",
            )


def _idRanges(ids: Sequence[int]) -> str:
    """``"0-3, 7, 9-12"``: a short form of a sorted id list."""
    ranges: list[str] = []
    start = previous = None
    for value in [*ids, None]:
        if value is not None and previous is not None and value == previous + 1:
            previous = value
            continue
        if start is not None:
            ranges.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = value
    return ", ".join(ranges) or "none"


# Quantum inputs --------------------------------------------------------------------------------


def noCommonDetectors(detectorSets: Mapping[str, set[int]]) -> NoWorkFound:
    """The `NoWorkFound` raised when no detector has every input."""
    held = "; ".join(f"{name}: {_idRanges(sorted(ids))}" for name, ids in detectorSets.items())
    return NoWorkFound(f"No detector has every input this visit needs ({held}); nothing to correct.")


# Per-detector checks, as each input is read ------------------------------------------------------


def conformCalExpMask(
    calExp: ExposureF, configuredPlanes: Mapping[str, Sequence[str]], detectorId: int
) -> None:
    """Give a calexp's mask every default plane, as afw's shared plane dictionary does.

    A mask read from a file knows only the planes of its ``MP_*`` cards.  In
    afw, reading merges them into the process-wide dictionary, so a default
    plane (``EDGE``, ``DETECTED``...) that the file lacks still has a bit,
    just never set.  This gives the task's private copy of the calexp the
    same: missing default planes are added, unset, to a private copy of the
    plane dictionary (the caller's mask is not touched).

    Parameters
    ----------
    calExp : `ExposureF`
        The task's private copy of the calexp.
    configuredPlanes : `~collections.abc.Mapping`
        The mask-plane lists the configuration reads, by config field name
        (``"bgModel1.mask"``...), for the message about an unknown plane.
    detectorId : `int`
        The calexp's detector, for messages.

    Raises
    ------
    InputDataError
        If a mask plane the configuration names is neither in the mask nor
        a default plane (as afw raises for an unknown plane name), or the
        mask has no free bit for a missing default plane.
    """
    mask = calExp.mask
    known = mask.getMaskPlaneDict()
    for field, names in configuredPlanes.items():
        for name in names:
            if name not in known and name not in DEFAULT_MASK_PLANES:
                raise InputDataError(
                    "calexp",
                    detectorId,
                    f"mask plane {name!r} named in config.{field} is not defined in its mask "
                    f"(planes: {', '.join(sorted(known))}) nor among the default mask planes",
                )
    missing = [name for name in DEFAULT_MASK_PLANES if name not in known]
    if not missing:
        return
    planes = mask.planeDict.copy()
    try:
        for name in missing:
            planes.add(name)
    except RuntimeError as error:
        raise InputDataError(
            "calexp", detectorId, f"its mask cannot take the default planes: {error}"
        ) from None
    mask.conformMaskPlanes(planes)
    _log.info(
        "calexp for detector %d: default mask planes %s are not in its mask; added, unset, as afw does",
        detectorId,
        ", ".join(missing),
    )


def checkBackgroundImage(image: ImageF | None, calExp: ExposureF, detectorId: int) -> ImageF:
    """Check the full-resolution image of a calexpBackground against its calexp.

    Returns
    -------
    image : `ImageF`
        ``image``, known to be usable.

    Raises
    ------
    InputDataError
        If the list is empty, covers other dimensions than the calexp, or
        has non-finite pixels (a background model is finite wherever afw
        could fit it, so those can only come from a damaged file).
    """
    if image is None:
        raise InputDataError("calexpBackground", detectorId, "it has no elements")
    if image.getDimensions() != calExp.getDimensions():
        raise InputDataError(
            "calexpBackground",
            detectorId,
            f"it covers {image.getDimensions()} pixels, the calexp {calExp.getDimensions()}",
        )
    _checkFinite(image.array, "calexpBackground", detectorId, "its image")
    return image


def _checkFinite(array: np.ndarray, dataset: str, detectorId: int, what: str) -> None:
    finite = np.isfinite(array)
    if not finite.all():
        bad = array.size - int(np.count_nonzero(finite))
        raise InputDataError(
            dataset, detectorId, f"{what} has {bad} non-finite pixel(s) of {array.size} (NaN or inf)"
        )


def checkRatioImage(ratio: Any, calExp: ExposureF, detectorId: int) -> ImageF:
    """Check a background-to-photometric ratio image against its calexp.

    Raises
    ------
    InputDataError
        If the ratio is not a float32 image (`ImageF`) or its bbox differs
        from the calexp's.
    """
    dataset = "background_to_photometric_ratio"
    if not isinstance(ratio, ImageF):
        raise InputDataError(
            dataset, detectorId, f"expected a float32 image (ImageF), got {type(ratio).__name__}"
        )
    if ratio.getBBox() != calExp.getBBox():
        raise InputDataError(
            dataset, detectorId, f"its bbox {ratio.getBBox()} differs from the calexp's {calExp.getBBox()}"
        )
    return ratio


def skyFrameImage(
    sky: SkyMeasurementTask, skyExp: ExposureF, detectorId: int, bbox: Box2I
) -> tuple[BackgroundList, ImageF]:
    """The background model of a sky frame and its full-resolution image, checked.

    Parameters
    ----------
    sky : `SkyMeasurementTask`
        The task that turns a sky frame into a background model.
    skyExp : `ExposureF`
        The sky frame.
    detectorId : `int`
        Its detector, for messages.
    bbox : `Box2I`
        The calexp's bbox, which the frame's ``BOX.*`` cards must describe.

    Raises
    ------
    InputDataError
        If the ``BOX.*`` or ``ALGORITHM`` cards are missing or invalid, they
        describe another bbox than the calexp's, or the frame's interpolated
        image has non-finite pixels.
    """
    with readingInput("sky frame", detectorId, failure="not a usable sky frame"):
        skyBackground = sky.exposureToBackground(skyExp)
        image = skyBackground.getImage()
    if image is None:
        raise InputDataError("sky frame", detectorId, "it gives an empty background list")
    if image.getBBox() != bbox:
        raise InputDataError(
            "sky frame",
            detectorId,
            f"its BOX.* cards describe {image.getBBox()}, the calexp's bbox is {bbox}",
        )
    # NaN cells are interpolated over; only a frame with no usable cell (or rows or
    # columns spoilt by inf) leaves non-finite pixels, which would reach skyCorr.
    _checkFinite(image.array, "sky frame", detectorId, "its interpolated image")
    return skyBackground, image
