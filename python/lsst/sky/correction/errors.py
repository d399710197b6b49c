"""Exceptions raised by the sky correction."""

from __future__ import annotations

__all__ = ["InputDataError", "NoUsableBackgroundSuperpixelsError", "describeExposure", "describeInput"]

from typing import Any

from lsst.pipe.base import AlgorithmError


class NoUsableBackgroundSuperpixelsError(AlgorithmError):
    """No focal-plane background superpixel is filled enough to be used.

    Raised when every superpixel of a focal-plane background model has fewer
    usable pixels than ``minFrac`` of its area.  ``runQuantum`` annotates it
    as a partial-outputs error, as the reference task does.

    Parameters
    ----------
    bgModelID : `str`
        Which model failed (e.g. ``"bgModel1"``).
    minFrac : `float`
        The minimum filled fraction that no superpixel reached.
    """

    def __init__(self, bgModelID: str, minFrac: float) -> None:
        self._bgModelID = bgModelID
        self._minFrac = minFrac
        super().__init__(
            f"No background model superpixels in {bgModelID} are more than {100 * minFrac:.1f}% filled. "
            "Try decreasing the minFrac configuration parameter, optimizing the subset of detectors "
            "being processed, or increasing the number of detectors being processed."
        )

    @property
    def metadata(self) -> dict[str, str | int | float | bool]:
        return {"bgModelID": self._bgModelID}


class InputDataError(ValueError):
    """One detector's input dataset cannot be used.

    The message always starts with the dataset and the detector, e.g.
    ``"sky frame for detector 3: ..."``, so a failed quantum says which file
    to look at.  It is a `ValueError`, not an `AlgorithmError`: bad input
    stops the quantum without partial outputs.

    Parameters
    ----------
    dataset : `str`
        What the input is (``"calexp"``, ``"calexpBackground"``,
        ``"sky frame"``, ``"background_to_photometric_ratio"``).
    detectorId : `int` or `None`
        The detector, when it is known; otherwise the message names the
        input's position (``"calexp #2"``).
    problem : `str`
        What is wrong with it.
    position : `int`, optional
        The input's index in its list, used when ``detectorId`` is `None`.
    """

    def __init__(
        self, dataset: str, detectorId: int | None, problem: str, position: int | None = None
    ) -> None:
        self.dataset = dataset
        self.detectorId = detectorId
        self.problem = problem
        super().__init__(f"{describeInput(dataset, detectorId, position)}: {problem}")


def describeInput(dataset: str, detectorId: int | None, position: int | None = None) -> str:
    """``"<dataset> for detector <id>"``, or ``"<dataset> #<position>"`` when the detector is unknown."""
    if detectorId is not None:
        return f"{dataset} for detector {detectorId}"
    if position is not None:
        return f"{dataset} #{position}"
    return dataset


def describeExposure(exposure: Any, dataset: str | None = None) -> str:
    """How to name an exposure in a message, by its detector when it carries one.

    Parameters
    ----------
    exposure
        An afw or afwlite exposure.
    dataset : `str`, optional
        What the exposure is (``"sky frame"``...).

    Returns
    -------
    name : `str`
        ``"<dataset> of detector <id>"`` or ``"<dataset>"`` when ``dataset``
        is given; otherwise ``"detector <id>"`` or ``"exposure <bbox>"``.
    """
    getDetector = getattr(exposure, "getDetector", None)
    detector = getDetector() if getDetector is not None else None
    if dataset is not None:
        return dataset if detector is None else f"{dataset} of detector {detector.getId()}"
    return f"detector {detector.getId()}" if detector is not None else f"exposure {exposure.getBBox()}"
