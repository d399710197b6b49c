"""A per-detector pixel cache that keeps a visit's later passes off the Butler.

The sky correction reads every detector's pixels three times (bgModel1,
sky-frame scale, bgModel2).  The reference task re-fetches the calexp for each
pass and holds one int32 mask per detector for the whole visit.  Here the
first pass stores, per detector, the restored image (float32) and the few
boolean bad-pixel planes the later passes need, packed to one bit per pixel.
Entries live in memory up to a byte budget; beyond it they are spilled to
files in a private temporary directory, which is removed on `close` (also
when the run fails).  The cache may be used from several threads at once.
"""

from __future__ import annotations

__all__ = ["CachedDetector", "DetectorPixelCache", "PixelCacheError"]

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import numpy as np


class PixelCacheError(RuntimeError):
    """The cache could not store or return a detector (e.g. the spill disk is full)."""


@dataclass(frozen=True)
class CachedDetector:
    """What the cache returns for one detector.

    Attributes
    ----------
    image : `numpy.ndarray`
        The restored image (float32, a private copy the caller may modify).
    badPlanes : `dict` [`str`, `numpy.ndarray`]
        Named boolean planes (`True` = pixel excluded), unpacked.
    """

    image: np.ndarray
    badPlanes: dict[str, np.ndarray]


@dataclass
class _Entry:
    shape: tuple[int, int]
    planeNames: tuple[str, ...]
    image: np.ndarray | None = None  # in memory
    packed: np.ndarray | None = None  # in memory: (nPlanes, nBytes) uint8
    path: str | None = None  # spilled

    @property
    def nbytes(self) -> int:
        npix = self.shape[0] * self.shape[1]
        return 4 * npix + len(self.planeNames) * ((npix + 7) // 8)


class DetectorPixelCache:
    """Restored images and packed bad-pixel planes, keyed by detector id.

    Parameters
    ----------
    memoryBudget : `int`
        Bytes of cached pixels to hold in memory; entries that would exceed
        it go to disk.  ``0`` spills everything.
    spillDirectory : `str`, optional
        Where to create the private spill directory (default: the system
        temporary directory).  It is created only when something spills.
    """

    def __init__(self, memoryBudget: int, spillDirectory: str | None = None) -> None:
        if memoryBudget < 0:
            raise ValueError(f"the pixel cache memory budget must be >= 0 bytes, got {memoryBudget}")
        self._budget = int(memoryBudget)
        self._spillParent = spillDirectory
        self._spillDir: str | None = None
        self._entries: dict[int, _Entry] = {}
        self._inMemory = 0
        self._closed = False
        # Guards the entries, the budget and the spill directory (threads put and get at once).
        self._lock = threading.Lock()

    # Bookkeeping -----------------------------------------------------------
    @property
    def bytesInMemory(self) -> int:
        """Bytes of cached pixels currently held in memory."""
        return self._inMemory

    @property
    def spilledDetectors(self) -> list[int]:
        """Detector ids whose pixels live on disk."""
        return sorted(det for det, entry in self._entries.items() if entry.path is not None)

    @property
    def spillDirectory(self) -> str | None:
        """The private spill directory, if one was created."""
        return self._spillDir

    def __contains__(self, detectorId: object) -> bool:
        return detectorId in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._entries))

    # Storing and fetching --------------------------------------------------
    def put(self, detectorId: int, image: np.ndarray, badPlanes: Mapping[str, np.ndarray]) -> None:
        """Store a copy of ``image`` and the packed ``badPlanes`` of one detector.

        Parameters
        ----------
        detectorId : `int`
            The detector; storing it twice is an error.
        image : `numpy.ndarray`
            2-d float32 restored image.
        badPlanes : `dict` [`str`, `numpy.ndarray`]
            Boolean planes of the same shape as ``image``.
        """
        self._checkOpen()
        if detectorId in self._entries:
            raise PixelCacheError(f"detector {detectorId} is already in the pixel cache")
        if image.ndim != 2 or image.dtype != np.float32:
            raise PixelCacheError(
                f"detector {detectorId}: the cache stores 2-d float32 images, got {image.dtype} {image.shape}"
            )
        names = tuple(badPlanes)
        for name in names:
            if badPlanes[name].shape != image.shape:
                raise PixelCacheError(
                    f"detector {detectorId}: bad-pixel plane {name!r} has shape "
                    f"{badPlanes[name].shape}, the image {image.shape}"
                )
        packed = np.stack([np.packbits(badPlanes[name], axis=None) for name in names]) if names else None
        entry = _Entry(shape=(image.shape[0], image.shape[1]), planeNames=names)
        with self._lock:
            self._checkOpen()
            if detectorId in self._entries:
                raise PixelCacheError(f"detector {detectorId} is already in the pixel cache")
            inMemory = self._inMemory + entry.nbytes <= self._budget
            if inMemory:
                self._inMemory += entry.nbytes
            else:
                path = self._spillPath(detectorId)
            self._entries[detectorId] = entry
        if inMemory:
            entry.packed = packed
            entry.image = np.array(image, dtype=np.float32, copy=True)
        else:
            self._spill(detectorId, path, image, packed)
            entry.path = path

    def get(self, detectorId: int) -> CachedDetector:
        """Return a private copy of one detector's restored image and bad planes."""
        with self._lock:
            self._checkOpen()
            entry = self._entries.get(detectorId)
        if entry is None or (entry.image is None and entry.path is None):
            raise PixelCacheError(f"detector {detectorId} is not in the pixel cache") from None
        npix = entry.shape[0] * entry.shape[1]
        nbytes = (npix + 7) // 8
        if entry.path is None:
            assert entry.image is not None
            image = entry.image.copy()
            packed = entry.packed
        else:
            try:
                with open(entry.path, "rb") as stream:
                    image = np.fromfile(stream, dtype=np.float32, count=npix).reshape(entry.shape)
                    packed = (
                        np.fromfile(stream, dtype=np.uint8, count=nbytes * len(entry.planeNames)).reshape(
                            len(entry.planeNames), nbytes
                        )
                        if entry.planeNames
                        else None
                    )
            except (OSError, ValueError) as err:
                raise PixelCacheError(
                    f"cannot read detector {detectorId} back from the pixel cache file {entry.path}: {err}"
                ) from err
        planes = {}
        if packed is not None:
            for index, name in enumerate(entry.planeNames):
                bits = np.unpackbits(packed[index], count=npix)
                planes[name] = bits.view(bool).reshape(entry.shape)
        return CachedDetector(image=image, badPlanes=planes)

    def _spillPath(self, detectorId: int) -> str:
        """The spill file of a detector, creating the spill directory first (call with the lock)."""
        try:
            if self._spillDir is None:
                self._spillDir = tempfile.mkdtemp(prefix="skyCorr-cache-", dir=self._spillParent)
        except OSError as err:
            self._entries.pop(detectorId, None)
            raise self._spillError(detectorId, err) from err
        return os.path.join(self._spillDir, f"detector-{detectorId}.bin")

    def _spill(self, detectorId: int, path: str, image: np.ndarray, packed: np.ndarray | None) -> None:
        try:
            with open(path, "wb") as stream:
                np.ascontiguousarray(image, dtype=np.float32).tofile(stream)
                if packed is not None:
                    packed.tofile(stream)
        except OSError as err:
            with self._lock:
                self._entries.pop(detectorId, None)
            raise self._spillError(detectorId, err) from err

    def _spillError(self, detectorId: int, err: OSError) -> PixelCacheError:
        where = self._spillDir or self._spillParent or tempfile.gettempdir()
        return PixelCacheError(
            f"cannot spill detector {detectorId} to the pixel cache directory {where}: {err}. "
            "Free disk space, point the cache elsewhere (config.cacheDirectory) or raise "
            "config.cacheMemoryBudget."
        )

    # Lifetime --------------------------------------------------------------
    def _checkOpen(self) -> None:
        if self._closed:
            raise PixelCacheError("the pixel cache is closed")

    def close(self) -> None:
        """Drop every entry and remove the spill directory."""
        with self._lock:
            self._entries.clear()
            self._inMemory = 0
            if self._spillDir is not None:
                shutil.rmtree(self._spillDir, ignore_errors=True)
                self._spillDir = None
            self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        excType: type[BaseException] | None,
        excValue: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
