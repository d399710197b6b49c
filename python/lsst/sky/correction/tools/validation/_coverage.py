"""How full the focal-plane background's superpixels are: the fraction of usable pixels in each."""

from __future__ import annotations

__all__ = ["CoverageMap", "SuperpixelCoverage"]

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...afwlite.image import ExposureF
from ...focal_plane_background import FocalPlaneBackground


@dataclass(frozen=True)
class CoverageMap:
    """Usable-pixel fraction of each superpixel of one focal-plane model.

    Attributes
    ----------
    name : `str`
        ``"bgModel1"`` or ``"bgModel2"``.
    fraction : `numpy.ndarray`
        ``(ny, nx)``: usable pixels over the superpixel's area in pixels.
    extent : `tuple` [`float`, `float`, `float`, `float`]
        ``(left, right, bottom, top)``, focal-plane mm.
    minFrac : `float`
        The model's ``minFrac``: superpixels below it are not used.
    """

    name: str
    fraction: np.ndarray
    extent: tuple[float, float, float, float]
    minFrac: float


class SuperpixelCoverage:
    """Counts the usable pixels each superpixel of ``bgModel1`` and ``bgModel2`` receives.

    Feed it the restored exposures (``calexp + calexpBackground``) with the
    masks the task would use (run its ``maskObjects.findObjects`` first for
    ``doMaskObjects=True``); only the masks matter.

    Parameters
    ----------
    taskConfig : `~lsst.sky.correction.SkyCorrectionConfig`
        The task's configuration (``bgModel1``, ``bgModel2``).
    camera : `~lsst.sky.correction.afwlite.cameraGeom.Camera`
        The camera.
    """

    def __init__(self, taskConfig: Any, camera: Any) -> None:
        self._models = {
            name: FocalPlaneBackground.fromCamera(getattr(taskConfig, name), camera)
            for name in ("bgModel1", "bgModel2")
        }

    def add(self, exposure: ExposureF) -> None:
        """Add one detector's usable pixels (``config.mask`` planes of each model excluded)."""
        for model in self._models.values():
            model.addCcd(exposure)

    def maps(self) -> list[CoverageMap]:
        """The coverage of each model."""
        result = []
        for name, model in self._models.items():
            config = model.config
            area = (config.xSize / config.pixelSize) * (config.ySize / config.pixelSize)
            counts = model.getCounts().array.astype(np.float64)
            nx, ny = model.dims.x, model.dims.y
            # Superpixel (i, j) is centred on sample coordinates (i, j).
            inverse = model.transform.inverted()
            xs, ys = inverse.applyForward((np.array([-0.5, nx - 0.5]), np.array([-0.5, ny - 0.5])))
            extent = (float(xs[0]), float(xs[1]), float(ys[0]), float(ys[1]))
            result.append(CoverageMap(name, counts / area, extent, float(config.minFrac)))
        return result
