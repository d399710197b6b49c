"""Exceptions raised by the sky correction."""

from __future__ import annotations

__all__ = ["NoUsableBackgroundSuperpixelsError"]

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
