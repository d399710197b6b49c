"""Pixel positions of a detector in the focal plane, and focal-plane bins of pixels."""

from __future__ import annotations

__all__ = ["DetectorBins", "PixelFrame"]

from dataclasses import dataclass

import numpy as np

from ...afwlite.cameraGeom import FOCAL_PLANE, PIXELS, Detector


@dataclass(frozen=True)
class PixelFrame:
    """The affine map from a detector's PARENT pixel coordinates to the focal plane (mm).

    Attributes
    ----------
    detectorId : `int`
        The detector.
    jacobian : `numpy.ndarray`
        2x2 matrix: ``d(fx, fy) / d(x, y)``, mm per pixel.
    translation : `numpy.ndarray`
        Focal-plane position (mm) of pixel ``(0, 0)``.
    minX, minY, width, height : `int`
        The detector's bounding box.
    pixelSize : `float`
        Pixel size, mm (square pixels).
    """

    detectorId: int
    jacobian: np.ndarray
    translation: np.ndarray
    minX: int
    minY: int
    width: int
    height: int
    pixelSize: float

    @classmethod
    def fromDetector(cls, detector: Detector) -> PixelFrame:
        """The frame of a camera detector."""
        transform = detector.getTransform(PIXELS, FOCAL_PLANE)
        bbox = detector.getBBox()
        size = detector.getPixelSize()
        if not np.isclose(size[0], size[1]):
            raise ValueError(f"detector {detector.getId()}: pixels are not square ({size[0]} x {size[1]} mm)")
        return cls(
            detectorId=detector.getId(),
            jacobian=np.asarray(transform.getJacobian(), dtype=np.float64),
            translation=np.asarray(transform.getTranslation(), dtype=np.float64),
            minX=bbox.getMinX(),
            minY=bbox.getMinY(),
            width=bbox.getWidth(),
            height=bbox.getHeight(),
            pixelSize=float(size[0]),
        )

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``: the shape of the detector's pixel arrays."""
        return (self.height, self.width)

    @property
    def pixelArea(self) -> float:
        """Area of one pixel in the focal plane, mm²."""
        return abs(float(np.linalg.det(self.jacobian)))

    def focalPlane(self) -> tuple[np.ndarray, np.ndarray]:
        """Focal-plane coordinates (mm, float64) of every pixel centre, each of `shape`."""
        x = np.arange(self.minX, self.minX + self.width, dtype=np.float64)
        y = np.arange(self.minY, self.minY + self.height, dtype=np.float64)
        (a, b), (c, d) = self.jacobian
        tx, ty = self.translation
        fx = np.add.outer(b * y + tx, a * x)
        fy = np.add.outer(d * y + ty, c * x)
        return fx, fy

    def toPixels(self, fx: np.ndarray, fy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """PARENT pixel coordinates of focal-plane positions (mm)."""
        inverse = np.linalg.inv(self.jacobian)
        dx = np.asarray(fx, dtype=np.float64) - self.translation[0]
        dy = np.asarray(fy, dtype=np.float64) - self.translation[1]
        return inverse[0, 0] * dx + inverse[0, 1] * dy, inverse[1, 0] * dx + inverse[1, 1] * dy


class DetectorBins:
    """Which focal-plane bin each pixel of a detector falls in.

    The focal plane is cut into square bins of ``binSize`` pixels
    (``binSize * pixelSize`` mm) aligned with the focal-plane axes and its
    origin: pixel centre ``(fx, fy)`` is in bin
    ``(floor(fx / s), floor(fy / s))``.  Because the bins are aligned with
    the origin, a bin of ``k * binSize`` pixels is exactly the union of
    ``k x k`` bins of ``binSize``: the index of the larger bin is the smaller
    bin's index floor-divided by ``k``.

    Parameters
    ----------
    frame : `PixelFrame`
        The detector.
    binSize : `int`
        Bin side, pixels.
    valid : `numpy.ndarray`, optional
        Boolean array of the detector's shape: pixels to use (default: all).
    """

    def __init__(self, frame: PixelFrame, binSize: int, valid: np.ndarray | None = None) -> None:
        if binSize < 1:
            raise ValueError(f"binSize must be a positive number of pixels, got {binSize}")
        if valid is not None and valid.shape != frame.shape:
            raise ValueError(
                f"detector {frame.detectorId}: valid-pixel mask is {valid.shape}, the detector {frame.shape}"
            )
        self.frame = frame
        self.binSize = int(binSize)
        side = binSize * frame.pixelSize
        fx, fy = frame.focalPlane()
        ix = np.floor(fx / side).astype(np.int64)
        iy = np.floor(fy / side).astype(np.int64)
        del fx, fy
        self.ix0, self.iy0 = int(ix.min()), int(iy.min())
        self.nx = int(ix.max()) - self.ix0 + 1
        self.ny = int(iy.max()) - self.iy0 + 1
        key = (iy - self.iy0) * self.nx + (ix - self.ix0)
        del ix, iy
        # Pixels left out are sent to one extra bin past the grid, dropped after counting.
        self._outside = self.nx * self.ny
        if valid is not None:
            key[~valid] = self._outside
        self._key = key.ravel()
        self.counts = self._bincount(None)

    def _bincount(self, weights: np.ndarray | None) -> np.ndarray:
        sums = np.bincount(self._key, weights=weights, minlength=self._outside + 1)
        return sums[: self._outside].astype(np.float64)

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (an array of the detector's shape) over the valid pixels of each bin.

        Returns
        -------
        sums : `numpy.ndarray`
            Flat, one per bin of the detector's local grid (``ny * nx``).
        """
        if values.shape != self.frame.shape:
            raise ValueError(
                f"detector {self.frame.detectorId}: values are {values.shape}, "
                f"the detector is {self.frame.shape}"
            )
        return self._bincount(np.asarray(values, dtype=np.float64).ravel())

    def indices(self) -> tuple[np.ndarray, np.ndarray]:
        """Absolute ``(ix, iy)`` focal-plane bin indices of the local grid, flat (``ny * nx``)."""
        iy, ix = np.divmod(np.arange(self.nx * self.ny, dtype=np.int64), self.nx)
        return ix + self.ix0, iy + self.iy0
