"""Detector-level threads for `SkyCorrectionTask`, and a ledger of where their time went.

The per-detector work of a sky correction (fetching, restoring, object
masking, binning into superpixels) is numpy and scipy calls on whole
detectors, which release the GIL; running a few detectors at once in threads
uses the machine's cores without copying pixels between processes.
"""

from __future__ import annotations

__all__ = ["DetectorPool", "WorkLedger", "usableCores"]

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from types import TracebackType
from typing import Self

from ._progress import Progress


def usableCores() -> int:
    """Number of CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return max(os.cpu_count() or 1, 1)


class DetectorPool:
    """Apply a function to each detector in a few threads; results come back in input order.

    Each item is fetched in the calling thread and worked on in a worker
    thread; at most ``numThreads`` items are in flight, so at most that many
    detectors' pixels are held at once.  When an item fails, the items not
    started yet are cancelled and the failure is raised once the running
    ones have finished.

    Parameters
    ----------
    numThreads : `int`
        Number of worker threads (>= 1).  With 1 everything runs in the
        calling thread, one item after the other.
    """

    def __init__(self, numThreads: int) -> None:
        if numThreads < 1:
            raise ValueError(f"a detector pool needs at least one thread, got {numThreads}")
        self._numThreads = numThreads
        self._executor: ThreadPoolExecutor | None = None
        if numThreads > 1:
            self._executor = ThreadPoolExecutor(max_workers=numThreads, thread_name_prefix="skyCorr")

    @property
    def numThreads(self) -> int:
        return self._numThreads

    def map[T, F, R](
        self,
        fetch: Callable[[T], F],
        work: Callable[[T, F], R],
        items: Iterable[T],
        progress: Progress | None = None,
    ) -> list[R]:
        """``[work(item, fetch(item)) for item in items]``, with ``work`` in the pool's threads.

        ``fetch`` always runs in the calling thread, one item after the
        other: dataset handles (a Butler's registry connection, a simulator)
        need not be thread-safe.  The next item is fetched only once fewer
        than ``numThreads`` items are fetched or being worked on, which
        bounds the detectors held at once to ``numThreads``.  ``progress``,
        if given, is updated (in the calling thread) as each item's result
        comes back.
        """
        results: list[R] = []

        def collect(result: R) -> None:
            results.append(result)
            if progress is not None:
                progress.update()

        if self._executor is None:
            for item in items:
                collect(work(item, fetch(item)))
            return results
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                if len(pending) >= self._numThreads:
                    collect(pending.popleft().result())
                fetched = fetch(item)
                pending.append(self._executor.submit(work, item, fetched))
            while pending:
                collect(pending.popleft().result())
        except BaseException:
            for future in pending:
                future.cancel()
            # Let the items already running finish before the error propagates,
            # so no thread still works on the caller's data afterwards.
            for future in pending:
                if not future.cancelled():
                    future.exception()
            raise
        return results

    def close(self) -> None:
        """Stop the worker threads (waiting for any running item)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        excType: type[BaseException] | None,
        excValue: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class WorkLedger:
    """Seconds spent in named steps and counts of named events, summed over detectors and threads.

    Thread-safe: each thread times its own steps with `measure`.  With
    several threads the sums of seconds exceed the wall time of the pass
    they belong to; they say where the work went, not how long the user
    waited.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds: dict[str, float] = {}
        self._counts: dict[str, int] = {}

    @contextmanager
    def measure(self, step: str) -> Iterator[None]:
        """Add the wall time of the ``with`` block to ``step``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            with self._lock:
                self._seconds[step] = self._seconds.get(step, 0.0) + elapsed

    def count(self, event: str, number: int = 1) -> None:
        """Add ``number`` occurrences of ``event``."""
        with self._lock:
            self._counts[event] = self._counts.get(event, 0) + number

    def seconds(self) -> dict[str, float]:
        """The summed seconds per step, in first-measured order."""
        with self._lock:
            return dict(self._seconds)

    def counts(self) -> dict[str, int]:
        """The counts per event, in first-counted order."""
        with self._lock:
            return dict(self._counts)
