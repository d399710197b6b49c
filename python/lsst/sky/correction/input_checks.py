"""Checks that turn bad input into a clear error before it can do harm.

`SkyCorrectionTask` calls these at the points where each input first becomes
available: the lists handed to ``run`` (before any pixel is read), each
dataset as it is fetched, and the configuration in ``validate()``.  Every
message about a per-detector input starts with the dataset and the detector
(`InputDataError`), so a failed quantum says which file to look at.  The
catalogue of inputs and faults, with the message each one gives, is
``docs/reliability.md``.
"""

from __future__ import annotations

__all__ = [
    "checkBackgroundImage",
    "checkRatioImage",
    "checkRunInputs",
    "conformCalExpMask",
    "getQuantumInputs",
    "noCommonDetectors",
    "readingInput",
    "skyFrameImage",
    "validateSkyCorrectionConfig",
]

import contextlib
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

import lsst.pex.config as pexConfig
from lsst.pipe.base import NoWorkFound

from .afw_interop import cameraFrom
from .afwlite.geom import Box2I
from .afwlite.image import DEFAULT_MASK_PLANES, ExposureF, ImageF
from .afwlite.math import BackgroundList
from .errors import InputDataError

if TYPE_CHECKING:
    from .sky_correction import SkyCorrectionConfig
    from .sky_measurement import SkyMeasurementTask

_log = logging.getLogger(__name__)

# What a failure to read an input can raise: the FITS readers (FitsError is a
# RuntimeError), the Butler (ValueError around a formatter error,
# FileNotFoundError, FileIntegrityError) and the file system.
_READ_ERRORS = (OSError, ValueError, TypeError, KeyError, RuntimeError)

# Interpolation styles a focal-plane background can use (FocalPlaneBackgroundConfig.interpolation).
_FOCAL_PLANE_STYLES = ("CONSTANT", "LINEAR", "NATURAL_SPLINE", "AKIMA_SPLINE")


# Run inputs ------------------------------------------------------------------------------------


def _dataIdDetector(source: Any) -> int | None:
    """The detector a dataset handle's data ID names, if any."""
    dataId = getattr(source, "dataId", None)
    if dataId is None:
        return None
    try:
        return int(dataId["detector"])
    except (KeyError, TypeError, ValueError):
        return None


def _attachedDetector(source: Any) -> int | None:
    """The id of the detector an exposure carries, if any (never fetches a handle)."""
    if not hasattr(source, "getDetector"):
        return None
    detector = source.getDetector()
    return None if detector is None else int(detector.getId())


def _detectorOf(source: Any) -> int | None:
    """The detector of an input, from its data ID or its attached detector."""
    detectorId = _dataIdDetector(source)
    return detectorId if detectorId is not None else _attachedDetector(source)


def _isHandle(source: Any) -> bool:
    return hasattr(source, "get") and callable(source.get) and not hasattr(source, "array")


def _isExposure(source: Any) -> bool:
    return hasattr(source, "getMaskedImage")


def _isBackgroundList(value: Any) -> bool:
    # afwlite's or afw's (accepted through afw_interop), told apart by their API: a list
    # with a full-resolution image and no bbox of its own (images and exposures have one).
    if isinstance(value, BackgroundList):
        return True
    return hasattr(value, "getImage") and hasattr(value, "__len__") and not hasattr(value, "getBBox")


def checkRunInputs(
    config: SkyCorrectionConfig,
    calExps: Sequence[Any],
    calBkgs: Sequence[Any],
    skyFrames: Sequence[Any] | None,
    ratios: Sequence[Any],
    camera: Any,
) -> None:
    """Check the inputs of `SkyCorrectionTask.run` without reading any pixels.

    Parameters
    ----------
    config : `SkyCorrectionConfig`
        The task configuration (says which inputs are needed).
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
    if config.doSky:
        if skyFrames is None:
            raise ValueError("doSky is True but no skyFrames were given")
        lengths["skyFrames"] = len(skyFrames)
    if config.doApplyFlatBackgroundRatio:
        lengths["backgroundToPhotometricRatioHandles"] = len(ratios)
    if len(set(lengths.values())) != 1:
        raise ValueError(f"the per-detector input lists differ in length: {lengths}")
    if not (hasattr(camera, "getName") and hasattr(camera, "__iter__")):
        raise TypeError(f"camera: expected a Camera, got {type(camera).__name__}")

    detectorIds = [_detectorOf(source) for source in calExps]
    for position, (source, detectorId) in enumerate(zip(calExps, detectorIds, strict=True)):
        if not (_isExposure(source) or _isHandle(source)):
            raise InputDataError(
                "calexp",
                detectorId,
                f"expected an exposure or a dataset handle, got {type(source).__name__}",
                position,
            )
    for position, (background, detectorId) in enumerate(zip(calBkgs, detectorIds, strict=True)):
        if not (_isBackgroundList(background) or _isHandle(background)):
            raise InputDataError(
                "calexpBackground",
                detectorId,
                f"expected a BackgroundList or a dataset handle, got {type(background).__name__}",
                position,
            )
    aligned: list[tuple[str, Sequence[Any]]] = []
    if config.doSky and skyFrames is not None:
        aligned.append(("sky frame", skyFrames))
    if config.doApplyFlatBackgroundRatio:
        aligned.append(("background_to_photometric_ratio", ratios))
    for dataset, sources in aligned:
        for position, (source, detectorId) in enumerate(zip(sources, detectorIds, strict=True)):
            if dataset == "sky frame" and not (_isExposure(source) or _isHandle(source)):
                raise InputDataError(
                    dataset,
                    detectorId,
                    f"expected an exposure or a dataset handle, got {type(source).__name__}",
                    position,
                )
            # Sky frames carry no detector of their own; a handle's data ID does.
            own = _dataIdDetector(source) if dataset == "sky frame" else _detectorOf(source)
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


# Reading -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def readingInput(
    dataset: str, detectorId: int | None, position: int | None = None, failure: str = "cannot be read"
) -> Iterator[None]:
    """Re-raise a failure to read or interpret an input as `InputDataError` naming it.

    `InputDataError` raised inside passes through unchanged; the original
    exception is kept as the cause.

    Parameters
    ----------
    dataset : `str`
        The dataset being read (``"calexp"``, ``"sky frame"``...).
    detectorId : `int` or `None`
        Its detector, when known.
    position : `int`, optional
        Its position in its input list (named when the detector is unknown).
    failure : `str`
        What went wrong, put before the original message.
    """
    try:
        yield
    except InputDataError:
        raise
    except _READ_ERRORS as error:
        # Readers that know the dataset's name start with it; say it once.
        detail = str(error).removeprefix(f"{dataset}: ")
        raise InputDataError(dataset, detectorId, f"{failure}: {detail}", position) from error


def getQuantumInputs(butlerQC: Any, inputRefs: Any) -> dict[str, Any]:
    """``butlerQC.get(inputRefs)``, naming the dataset and detector that could not be read.

    The calexps and sky frames are deferred (read later, through
    `readingInput`); the calexpBackgrounds and the camera are read here.
    When the bulk read fails, each of them is read again on its own to find
    the one at fault.

    Raises
    ------
    InputDataError
        If a per-detector input cannot be read.
    """
    try:
        return butlerQC.get(inputRefs)
    except _READ_ERRORS as error:
        for ref in getattr(inputRefs, "calBkgs", []):
            try:
                butlerQC.get(ref)
            except _READ_ERRORS as culprit:
                detectorId = _dataIdDetector(ref)
                raise InputDataError(
                    ref.datasetType.name, detectorId, f"cannot be read: {culprit}"
                ) from error
        raise


def noCommonDetectors(detectorSets: Mapping[str, set[int]]) -> NoWorkFound:
    """The `NoWorkFound` raised when no detector has every input."""
    held = "; ".join(f"{name}: {_idRanges(sorted(ids))}" for name, ids in detectorSets.items())
    return NoWorkFound(f"No detector has every input this visit needs ({held}); nothing to correct.")


# Per-detector checks, as each input is read ------------------------------------------------------


def _configuredMaskPlanes(config: SkyCorrectionConfig) -> dict[str, Sequence[str]]:
    """The mask-plane lists the task itself reads, by config field."""
    fields: dict[str, Sequence[str]] = {"bgModel1.mask": config.bgModel1.mask}
    if config.doBgModel2:
        fields["bgModel2.mask"] = config.bgModel2.mask
    if config.doSky:
        fields["sky.stats.mask"] = config.sky.stats.mask
    return fields


def conformCalExpMask(calExp: ExposureF, config: SkyCorrectionConfig, detectorId: int) -> None:
    """Give a calexp's mask every default plane, as afw's shared plane dictionary does.

    A mask read from a file knows only the planes of its ``MP_*`` cards.  In
    afw, reading merges them into the process-wide dictionary, so a default
    plane (``EDGE``, ``DETECTED``...) that the file lacks still has a bit,
    just never set.  This gives the task's private copy of the calexp the
    same: missing default planes are added, unset, to a private copy of the
    plane dictionary (the caller's mask is not touched).

    Raises
    ------
    InputDataError
        If a mask plane the configuration names is neither in the mask nor
        a default plane (as afw raises for an unknown plane name), or the
        mask has no free bit for a missing default plane.
    """
    mask = calExp.mask
    known = mask.getMaskPlaneDict()
    for field, names in _configuredMaskPlanes(config).items():
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


# Configuration -------------------------------------------------------------------------------------


def _fail(config: pexConfig.Config, name: str, message: str) -> None:
    raise pexConfig.FieldValidationError(type(config)._fields[name], config, message)


def _checkFocalPlaneModel(model: Any) -> None:
    if not (math.isfinite(model.minFrac) and 0.0 <= model.minFrac <= 1.0):
        _fail(model, "minFrac", f"minFrac must be a fraction in [0, 1], got {model.minFrac!r}")
    if model.interpolation not in _FOCAL_PLANE_STYLES:
        _fail(
            model,
            "interpolation",
            f"a focal-plane background needs one of {', '.join(_FOCAL_PLANE_STYLES)}, "
            f"got {model.interpolation!r}",
        )
    if model.doSmooth and not (math.isfinite(model.smoothScale) and model.smoothScale > 0):
        _fail(model, "smoothScale", f"smoothScale must be positive with doSmooth, got {model.smoothScale!r}")
    if any(not name for name in model.mask):
        _fail(model, "mask", f"mask plane names must not be empty, got {list(model.mask)}")


def validateSkyCorrectionConfig(config: SkyCorrectionConfig) -> None:
    """Check the fields of the parts of a `SkyCorrectionConfig` that will run.

    Called by `SkyCorrectionConfig.validate`.  Each failure is a
    `lsst.pex.config.FieldValidationError` naming the field by its full
    path (e.g. ``Field 'bgModel2.minFrac' failed validation: ...``).
    """
    _checkFocalPlaneModel(config.bgModel1)
    if config.doBgModel2:
        _checkFocalPlaneModel(config.bgModel2)
    if config.doSky:
        sky = config.sky.value
        for name in ("xNumSamples", "yNumSamples"):
            if getattr(sky, name) < 1:
                _fail(sky, name, f"{name} must be >= 1, got {getattr(sky, name)}")
        if sky.skyIter < 0:
            _fail(sky, "skyIter", f"skyIter must be >= 0, got {sky.skyIter}")
        if not (math.isfinite(sky.skyRej) and sky.skyRej > 0):
            _fail(sky, "skyRej", f"skyRej must be positive, got {sky.skyRej!r}")
        if not (math.isfinite(sky.stats.clip) and sky.stats.clip > 0):
            _fail(sky.stats, "clip", f"clip must be positive, got {sky.stats.clip!r}")
        if sky.stats.nIter < 1:
            _fail(sky.stats, "nIter", f"nIter must be >= 1, got {sky.stats.nIter}")
    if config.doMaskObjects:
        maskObjects = config.maskObjects.value
        if maskObjects.nIter < 1:
            _fail(maskObjects, "nIter", f"nIter must be >= 1, got {maskObjects.nIter}")
        if not (math.isfinite(maskObjects.detectSigma) and maskObjects.detectSigma > 0):
            _fail(
                maskObjects, "detectSigma", f"detectSigma must be positive, got {maskObjects.detectSigma!r}"
            )
    if config.cacheDirectory is not None and not config.cacheDirectory.strip():
        _fail(
            config, "cacheDirectory", "cacheDirectory must be a directory path or None, got an empty string"
        )
