"""The one place that decides which Butler storage classes the task's connections use.

In a full stack, where ``lsst.afw`` imports, the connections use the standard
storage classes (``ExposureF``, ``Background``, ``Camera``, ``ImageF``) so the
task is a drop-in replacement on existing repositories.  Without afw those
names belong to afw's Python types and cannot be re-bound (daf_butler refuses
a second definition), so the plugin registers its own storage classes for the
afwlite types and the connections use those.
"""

from __future__ import annotations

__all__ = ["STORAGE_CLASSES", "StorageClassNames", "afwIsAvailable"]

import importlib.util
from dataclasses import dataclass


def afwIsAvailable() -> bool:
    """Whether ``lsst.afw.image`` can be imported in this environment."""
    try:
        return importlib.util.find_spec("lsst.afw.image") is not None
    except ModuleNotFoundError:
        return False


@dataclass(frozen=True)
class StorageClassNames:
    """Storage class names for each kind of dataset the task reads or writes."""

    exposure: str
    background: str
    camera: str
    image: str
    #: The two-step joint pipeline's per-detector dataset (`DetectorSkyBins`): the package's own
    #: type, so one name in both environments (a repository includes ``storageClasses.yaml``).
    detectorSkyBins: str = "DetectorSkyBins"


_AFW = StorageClassNames(exposure="ExposureF", background="Background", camera="Camera", image="ImageF")
_AFWLITE = StorageClassNames(
    exposure="AfwliteExposureF", background="AfwliteBackground", camera="AfwliteCamera", image="AfwliteImageF"
)

#: The storage classes the connections use in this environment.
STORAGE_CLASSES: StorageClassNames = _AFW if afwIsAvailable() else _AFWLITE
