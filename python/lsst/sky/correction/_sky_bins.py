"""One detector's share of the joint fit, as the two-step joint pipeline passes it on.

`SkyBinsTask` (one quantum per detector) writes a `DetectorSkyBins`;
`SkyJointFitTask` (one quantum per visit) reads every detector's and fits.
It holds everything the per-visit step needs and no full-resolution pixels:
the joint fit's bin statistics, the inverted calexpBackground (the head of
``skyCorr``), the unit-scale sky-frame element, and the restored image and
NO_DATA mask binned for the mosaics.

The file (``.npz``, written without pickles) keeps every array exactly; the
two background lists are stored as the bytes of their afw FITS files
(`BackgroundList.writeFits`), so they round-trip exactly as well.
"""

from __future__ import annotations

__all__ = ["DetectorSkyBins"]

import io
import json
import os
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from .afwlite.geom import Box2I, Extent2I, Point2I
from .afwlite.math import BackgroundList
from .joint_fit import DetectorBins

#: Bumped whenever the file layout changes; a reader refuses other versions.
_FORMAT_VERSION = 1

_BIN_ARRAYS = ("values", "errors", "counts", "areas", "focalPlaneX", "focalPlaneY")


@dataclass
class DetectorSkyBins:
    """What `SkyJointFitTask` needs of one detector.

    Attributes
    ----------
    bins : `DetectorBins`
        The joint fit's bin statistics (with the sky frame's bin means when
        a sky frame was used).
    bbox : `Box2I`
        The detector's bounding box.
    skyCorr : `BackgroundList`
        The inverted calexpBackground (afwlite): the head of ``skyCorr``.
    skyBackground : `BackgroundList` or `None`
        The sky frame's unit-scale background element (`None` without a sky
        frame).
    binnedRestored : `numpy.ndarray`
        The restored image binned by ``binning``, for the mosaics.
    binnedNoData : `numpy.ndarray`
        Whether any pixel of each ``binning`` block has NO_DATA set.
    binning : `int`
        The mosaics' binning factor the images were binned with.
    binSize : `int`
        The joint fit's bin size the statistics were measured with.
    family : `str`
        ``"afw"`` or ``"afwlite"``: the type of the calexpBackground read,
        so the outputs are built in the same family.
    """

    bins: DetectorBins
    bbox: Box2I
    skyCorr: BackgroundList
    skyBackground: BackgroundList | None
    binnedRestored: np.ndarray
    binnedNoData: np.ndarray
    binning: int
    binSize: int
    family: str

    @property
    def detectorId(self) -> int:
        """The detector."""
        return self.bins.detectorId

    def writeFile(self, path: str | os.PathLike[str]) -> None:
        """Write the dataset to ``path`` (an ``.npz`` file, no pickles).

        Raises
        ------
        ValueError
            If ``skyCorr`` is empty (there is no background to restore).
        """
        header = {
            "version": _FORMAT_VERSION,
            "detectorId": int(self.bins.detectorId),
            "shape": [int(n) for n in self.bins.shape],
            "bbox": [self.bbox.getMinX(), self.bbox.getMinY(), self.bbox.getWidth(), self.bbox.getHeight()],
            "binning": int(self.binning),
            "binSize": int(self.binSize),
            "family": self.family,
            "hasSkyFrame": self.bins.skyFrame is not None,
        }
        arrays: dict[str, np.ndarray] = {
            "header": np.array(json.dumps(header)),
            "skyCorr": _backgroundBytes(self.skyCorr),
            "binnedRestored": self.binnedRestored,
            "binnedNoData": self.binnedNoData,
        }
        for name in _BIN_ARRAYS:
            arrays[name] = getattr(self.bins, name)
        if self.bins.skyFrame is not None:
            arrays["skyFrame"] = self.bins.skyFrame
        if self.skyBackground is not None:
            arrays["skyBackground"] = _backgroundBytes(self.skyBackground)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
        with open(path, "wb") as stream:  # a file object: np.savez would append ".npz" to a name
            stream.write(buffer.getvalue())

    @classmethod
    def readFile(cls, path: str | os.PathLike[str]) -> DetectorSkyBins:
        """Read a file written by `writeFile`.

        Raises
        ------
        ValueError
            If the file is of another layout version.
        """
        with np.load(path, allow_pickle=False) as stored:
            header: dict[str, Any] = json.loads(str(stored["header"]))
            if header.get("version") != _FORMAT_VERSION:
                raise ValueError(
                    f"{os.fspath(path)}: DetectorSkyBins layout version {header.get('version')!r}, "
                    f"this reader knows {_FORMAT_VERSION}"
                )
            arrays = {name: stored[name] for name in stored.files}
        minX, minY, width, height = header["bbox"]
        ny, nx = header["shape"]
        bins = DetectorBins(
            detectorId=int(header["detectorId"]),
            **{name: arrays[name] for name in _BIN_ARRAYS},
            skyFrame=arrays["skyFrame"] if header["hasSkyFrame"] else None,
            shape=(int(ny), int(nx)),
        )
        return cls(
            bins=bins,
            bbox=Box2I(Point2I(minX, minY), Extent2I(width, height)),
            skyCorr=_backgroundFromBytes(arrays["skyCorr"]),
            skyBackground=(
                _backgroundFromBytes(arrays["skyBackground"]) if "skyBackground" in arrays else None
            ),
            binnedRestored=arrays["binnedRestored"],
            binnedNoData=arrays["binnedNoData"],
            binning=int(header["binning"]),
            binSize=int(header["binSize"]),
            family=str(header["family"]),
        )


def _backgroundBytes(backgrounds: BackgroundList) -> np.ndarray:
    """The bytes of ``backgrounds``' afw FITS file, as a uint8 array."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "background.fits")
        backgrounds.writeFits(path)
        with open(path, "rb") as stream:
            return np.frombuffer(stream.read(), dtype=np.uint8)


def _backgroundFromBytes(data: np.ndarray) -> BackgroundList:
    """The `BackgroundList` whose afw FITS file is ``data``."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "background.fits")
        with open(path, "wb") as stream:
            stream.write(np.asarray(data, dtype=np.uint8).tobytes())
        return BackgroundList.readFits(path)
