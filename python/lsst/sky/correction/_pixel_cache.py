"""A per-detector pixel cache that keeps a visit's later passes off the Butler.

The sky correction reads every detector's pixels three times (bgModel1,
sky-frame scale, bgModel2).  The reference task re-fetches the calexp for each
pass and holds one int32 mask per detector for the whole visit.  Here the
first pass stores, per detector, the restored image (float32) and the few
boolean bad-pixel planes the later passes need, packed to one bit per pixel.
Entries live in memory up to a byte budget; beyond it they are spilled to
files in a private temporary directory, which is removed on `close` (also
when the run fails).  The cache may be used from several threads at once.

A process killed outright (``SIGKILL``, the OOM killer) cannot remove its
spill directory, so the directory's name carries the process id and the
process's start time (``skyCorr-cache-<pid>-<start>-<random>``): a later
cache opened on the same parent recognises the directories of processes that
no longer run, and removes them (a pid alone could have been reused).
"""

from __future__ import annotations

__all__ = [
    "SPILL_PREFIX",
    "CachedDetector",
    "DetectorPixelCache",
    "PixelCacheError",
    "processStartTime",
    "removeStaleSpillDirectories",
]

import errno
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import numpy as np

_log = logging.getLogger(__name__)

#: The prefix of every spill directory; the full name is ``<prefix><pid>-<start>-<random>``.
SPILL_PREFIX = "skyCorr-cache-"
_SPILL_NAME = re.compile(rf"^{re.escape(SPILL_PREFIX)}(\d+)-(\d+)-[A-Za-z0-9_]+$")
_MiB = 1024 * 1024


class PixelCacheError(RuntimeError):
    """The cache could not store or return a detector (e.g. the spill disk is full)."""


def processStartTime(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot; `None` if it does not exist.

    Read from ``/proc/<pid>/stat`` (field 22).  Where there is no ``/proc``
    the start time is unknown and reported as 0 for any process that exists.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            stat = stream.read()
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return None  # /proc works, so the process is gone
        return 0 if _processExists(pid) else None
    except OSError:
        return 0 if _processExists(pid) else None
    # The command name (field 2) is in parentheses and may contain spaces or ')'.
    fields = stat[stat.rindex(b")") + 2 :].split()
    return int(fields[22 - 3])


def _processExists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def removeStaleSpillDirectories(parent: str) -> list[str]:
    """Remove the spill directories under ``parent`` of processes that no longer run.

    A directory is stale when no process has its pid, or the process with
    that pid started at another time (the pid was reused).  Directories of
    running processes (this one included) and anything not named like a
    spill directory are left alone.

    Returns
    -------
    removed : `list` [`str`]
        The directories removed (each is logged at WARNING).
    """
    try:
        names = os.listdir(parent)
    except OSError:
        return []  # no parent yet (or not readable): nothing of ours can be there
    removed = []
    for name in sorted(names):
        match = _SPILL_NAME.match(name)
        if match is None:
            continue
        pid, started = int(match.group(1)), int(match.group(2))
        if processStartTime(pid) == started:
            continue
        path = os.path.join(parent, name)
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path):
            removed.append(path)
            _log.warning(
                "Removed the pixel cache directory %s left behind by process %d, which no longer runs.",
                path,
                pid,
            )
    return removed


def _isDiskFull(err: OSError) -> bool:
    """Whether a write failed for want of space.

    A full disk shows as ``ENOSPC`` (or ``EDQUOT``, a quota) from the OS, or,
    when numpy's ``tofile`` gets a short write, as an `OSError` without an
    errno saying "<n> requested and <m> written".
    """
    if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return True
    return err.errno is None and re.search(r"\d+ requested and \d+ written", str(err)) is not None


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
        temporary directory).  It is created only when something spills;
        the spill directories that dead processes left there are removed
        when the cache is opened.
    """

    def __init__(self, memoryBudget: int, spillDirectory: str | None = None) -> None:
        if memoryBudget < 0:
            raise ValueError(f"the pixel cache memory budget must be >= 0 bytes, got {memoryBudget}")
        self._budget = int(memoryBudget)
        self._spillParent = spillDirectory
        self._spillDir: str | None = None
        removeStaleSpillDirectories(spillDirectory or tempfile.gettempdir())
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
                pid = os.getpid()
                started = processStartTime(pid) or 0
                self._spillDir = tempfile.mkdtemp(
                    prefix=f"{SPILL_PREFIX}{pid}-{started}-", dir=self._spillParent
                )
        except OSError as err:
            self._entries.pop(detectorId, None)
            raise self._spillError(detectorId, err) from err
        return os.path.join(self._spillDir, f"detector-{detectorId}.bin")

    def _spill(self, detectorId: int, path: str, image: np.ndarray, packed: np.ndarray | None) -> None:
        needed = image.size * 4 + (packed.nbytes if packed is not None else 0)
        try:
            free = shutil.disk_usage(os.path.dirname(path)).free
        except OSError:
            free = None  # cannot tell; the write below will say
        try:
            if free is not None and free < needed:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
            with open(path, "wb") as stream:
                np.ascontiguousarray(image, dtype=np.float32).tofile(stream)
                if packed is not None:
                    packed.tofile(stream)
        except OSError as err:
            with self._lock:
                self._entries.pop(detectorId, None)
            try:
                os.remove(path)  # a partial file is no use to anyone
            except OSError:
                pass
            if _isDiskFull(err):
                raise self._diskFullError(detectorId, needed, free) from err
            raise self._spillError(detectorId, err) from err

    def _diskFullError(self, detectorId: int, needed: int, free: int | None) -> PixelCacheError:
        where = self._spillDir or self._spillParent or tempfile.gettempdir()
        freeText = "" if free is None else f", {free / _MiB:.1f} MiB free"
        return PixelCacheError(
            f"no space left on {where} for the pixel cache of detector {detectorId} "
            f"(needs {needed / _MiB:.1f} MiB{freeText}); raise config.cacheMemoryBudget to keep more "
            "detectors in memory, or point config.cacheDirectory (or TMPDIR) at a disk with room."
        )

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
