"""The task's typed input boundary: what a per-detector input may be, and how it is fetched.

`SkyCorrectionTask.run` takes, per detector, either the dataset itself (an
afwlite or an afw object) or a dataset handle (``DeferredDatasetHandle`` /
``InMemoryDatasetHandle``) whose ``get()`` returns it.  The two stacks'
classes share no base, so inputs are told apart by the API they offer,
described once here as `typing.Protocol` classes; every other module asks
these helpers rather than probing attributes itself.  The predicates look
attributes up dynamically (``hasattr``) rather than with ``isinstance``
against the protocols, which inspects class attributes only: a wrapper
that forwards through ``__getattr__`` still counts as what it wraps.

Failures to read an input become `InputDataError` naming the dataset and
the detector (`readingInput`); the messages are catalogued in
``docs/reliability.md``.
"""

from __future__ import annotations

__all__ = [
    "READ_ERRORS",
    "BackgroundListInput",
    "BackgroundListLike",
    "CameraLike",
    "DatasetHandle",
    "ExposureInput",
    "ExposureLike",
    "ImageInput",
    "ImageLike",
    "countHandleGet",
    "dataIdDetector",
    "detectorIdOf",
    "detectorOrder",
    "fetchBackgroundList",
    "fetchExposure",
    "fetchImage",
    "getQuantumInputs",
    "isBackgroundList",
    "isExposure",
    "isHandle",
    "isImage",
    "readingInput",
    "resolveDetector",
]

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from ._afw_interop import exposureFrom
from .afwlite.cameraGeom import Camera, Detector
from .afwlite.image import ExposureF
from .afwlite.math import BackgroundList
from .errors import InputDataError

# What a failure to read an input can raise: the FITS readers (FitsError is a
# RuntimeError), the Butler (ValueError around a formatter error,
# FileNotFoundError, FileIntegrityError) and the file system.
READ_ERRORS = (OSError, ValueError, TypeError, KeyError, RuntimeError)


# What an input may be --------------------------------------------------------------------------


class DatasetHandle(Protocol):
    """A Butler dataset handle: ``get()`` returns the dataset (``dataId`` names it)."""

    def get(self, *args: Any, **kwargs: Any) -> Any: ...


class ExposureLike(Protocol):
    """An afw or afwlite exposure."""

    def getMaskedImage(self) -> Any: ...

    def getDetector(self) -> Any: ...


class BackgroundListLike(Protocol):
    """An afw or afwlite ``BackgroundList``."""

    def getImage(self) -> Any: ...

    def __len__(self) -> int: ...


class ImageLike(Protocol):
    """An afw or afwlite image: pixels in ``array``."""

    @property
    def array(self) -> Any: ...


class CameraLike(Protocol):
    """An afw or afwlite camera: detectors by id or name, and iteration over them."""

    def getName(self) -> str: ...

    def __getitem__(self, key: Any) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...


#: A per-detector input of `SkyCorrectionTask.run`: the dataset or a handle to it.
ExposureInput = ExposureLike | DatasetHandle
BackgroundListInput = BackgroundListLike | DatasetHandle
ImageInput = ImageLike | DatasetHandle


def _offers(source: object, protocol: type) -> bool:
    """Whether ``source`` has every member ``protocol`` declares (looked up dynamically)."""
    return all(hasattr(source, name) for name in _MEMBERS[protocol])


_MEMBERS: dict[type, tuple[str, ...]] = {
    DatasetHandle: ("get",),
    ExposureLike: ("getMaskedImage", "getDetector"),
    BackgroundListLike: ("getImage", "__len__"),
    ImageLike: ("array",),
}


def isExposure(source: object) -> bool:
    """Whether ``source`` is an exposure (afw or afwlite)."""
    return _offers(source, ExposureLike)


def isImage(source: object) -> bool:
    """Whether ``source`` is an image or masked image with an ``array`` (not a handle)."""
    return _offers(source, ImageLike)


def isBackgroundList(source: object) -> bool:
    """Whether ``source`` is a background list (afw or afwlite).

    Told apart from images and exposures, which also have ``getImage``, by
    having no bbox of its own.
    """
    if isinstance(source, BackgroundList):
        return True
    return _offers(source, BackgroundListLike) and not hasattr(source, "getBBox")


def isHandle(source: object) -> bool:
    """Whether ``source`` is a dataset handle rather than a dataset."""
    return (
        _offers(source, DatasetHandle)
        and callable(source.get)  # type: ignore[attr-defined]
        and not (isExposure(source) or isImage(source) or isBackgroundList(source))
    )


def _isDeferredHandle(source: object) -> bool:
    """Whether ``source`` reads from the Butler on each ``get()`` (so its dataset is private)."""
    from lsst.daf.butler import DeferredDatasetHandle

    return isinstance(source, DeferredDatasetHandle)


# Which detector an input is for ----------------------------------------------------------------


def dataIdDetector(source: object) -> int | None:
    """The detector a dataset handle's data ID names, if any."""
    dataId = getattr(source, "dataId", None)
    if dataId is None:
        return None
    try:
        return int(dataId["detector"])
    except (KeyError, TypeError, ValueError):
        return None


def _attachedDetector(source: object) -> int | None:
    """The id of the detector an exposure carries, if any (never fetches a handle)."""
    if not isExposure(source):
        return None
    detector = source.getDetector()  # type: ignore[attr-defined]
    return None if detector is None else int(detector.getId())


def detectorIdOf(source: object) -> int | None:
    """The detector of an input, from its data ID or its attached detector."""
    detectorId = dataIdDetector(source)
    return detectorId if detectorId is not None else _attachedDetector(source)


def _noDetectorError(index: int) -> ValueError:
    return ValueError(
        f"calexp #{index} has no detector and no data ID naming one; attach a detector "
        "(exposure.setDetector(camera[id])) or pass a dataset handle with a 'detector' data ID"
    )


def detectorOrder(calExps: Sequence[object]) -> list[int]:
    """Input indices sorted by detector id, read without fetching any pixels.

    Raises
    ------
    ValueError
        If a calexp names no detector, or a detector appears twice.
    """
    detectorIds = []
    for index, source in enumerate(calExps):
        detectorId = detectorIdOf(source)
        if detectorId is None:
            raise _noDetectorError(index)
        detectorIds.append(detectorId)
    duplicates = sorted({d for d in detectorIds if detectorIds.count(d) > 1})
    if duplicates:
        raise ValueError(f"detectors {duplicates} appear more than once in calExps")
    return sorted(range(len(calExps)), key=detectorIds.__getitem__)


def resolveDetector(calExp: ExposureF, source: object, camera: Camera, index: int) -> Detector:
    """The calexp's detector: its own, else the camera's detector named by the handle's data ID."""
    detector = calExp.getDetector()
    if detector is not None:
        return detector
    detectorId = dataIdDetector(source)
    if detectorId is None:
        raise _noDetectorError(index)
    try:
        return camera[detectorId]
    except (KeyError, IndexError, LookupError):
        raise ValueError(f"calexp #{index}: detector {detectorId} is not in the camera") from None


# Reading ---------------------------------------------------------------------------------------


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
    except READ_ERRORS as error:
        # Readers that know the dataset's name start with it; say it once.
        detail = str(error).removeprefix(f"{dataset}: ")
        raise InputDataError(dataset, detectorId, f"{failure}: {detail}", position) from error


def fetchExposure(source: object, dataset: str, index: int) -> ExposureF:
    """Fetch an exposure once, as a private afwlite object the task may modify.

    Parameters
    ----------
    source
        An exposure or a dataset handle returning one.
    dataset : `str`
        What it is (``"calexp"``, ``"sky frame"``), for messages.
    index : `int`
        Its position in its input list, for messages.
    """
    detector = dataIdDetector(source)
    where = f"{dataset} #{index}" + (f" (detector {detector})" if detector is not None else "")
    if isExposure(source):
        return exposureFrom(source.clone())  # type: ignore[attr-defined]
    if not isHandle(source):
        raise TypeError(f"{where}: expected an exposure or a dataset handle, got {type(source).__name__}")
    with readingInput(dataset, detector, index):
        exposure = source.get()  # type: ignore[attr-defined]
    if not isExposure(exposure):
        raise TypeError(f"{where}: the handle returned {type(exposure).__name__}, not an exposure")
    # An in-memory handle returns the caller's own object: copy it.
    return exposureFrom(exposure if _isDeferredHandle(source) else exposure.clone())


def fetchBackgroundList(source: object, detectorId: int) -> Any:
    """A calexpBackground given as a background list (afw or afwlite) or a handle returning one."""
    if isHandle(source):
        with readingInput("calexpBackground", detectorId):
            source = source.get()  # type: ignore[attr-defined]
    if not hasattr(source, "getImage"):
        raise TypeError(
            f"calexpBackground for detector {detectorId}: expected a BackgroundList or a dataset "
            f"handle returning one, got {type(source).__name__}"
        )
    return source


def fetchImage(source: object, dataset: str, detectorId: int) -> Any:
    """An image (afw or afwlite) given as itself or as a dataset handle returning one."""
    with readingInput(dataset, detectorId):
        image = source.get() if isHandle(source) else source  # type: ignore[attr-defined]
    if not isImage(image):
        raise TypeError(f"{dataset} for detector {detectorId}: expected an image, got {type(image).__name__}")
    return image


def countHandleGet(source: object) -> int:
    """How many ``get()`` calls fetching ``source`` costs: 1 for a handle, 0 for a dataset."""
    return 1 if isHandle(source) else 0


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
    except READ_ERRORS as error:
        for ref in getattr(inputRefs, "calBkgs", []):
            try:
                butlerQC.get(ref)
            except READ_ERRORS as culprit:
                raise InputDataError(
                    ref.datasetType.name, dataIdDetector(ref), f"cannot be read: {culprit}"
                ) from error
        raise
