"""Progress of long per-detector loops, logged the Rubin way (`lsst.utils.logging.PeriodicLogger`).

A `Progress` counts finished items and, at most every ``interval`` seconds,
logs ``<what>: <done>/<total> <unit> (<percent>), <elapsed> s elapsed, ETA
<seconds> s``; the ETA extrapolates the mean time per item so far.
`Progress.finish` always logs the total.
"""

from __future__ import annotations

__all__ = ["DEFAULT_PROGRESS_INTERVAL", "Progress"]

import logging
import time
from typing import Any

from lsst.utils.logging import PeriodicLogger

#: Seconds between progress lines: frequent enough that a user watching a
#: visit being processed sees it move, rare enough not to flood a batch log.
DEFAULT_PROGRESS_INTERVAL = 10.0


class Progress:
    """Count items done and log the count with an ETA now and then.

    Parameters
    ----------
    logger : `logging.Logger` or `lsst.utils.logging.LsstLogAdapter`
        Where the lines go (INFO).
    what : `str`
        What is being done, e.g. ``"Simulated and stored"``.
    total : `int`
        Number of items expected.
    unit : `str`, optional
        What the items are (default ``"detectors"``).
    interval : `float`, optional
        Minimum seconds between lines (default `DEFAULT_PROGRESS_INTERVAL`).
    """

    def __init__(
        self,
        logger: Any,
        what: str,
        total: int,
        *,
        unit: str = "detectors",
        interval: float | None = None,
    ) -> None:
        self._logger = logger
        self._what = what
        self._total = int(total)
        self._unit = unit
        self._done = 0
        self._start = time.monotonic()
        self._periodic = PeriodicLogger(
            logger, DEFAULT_PROGRESS_INTERVAL if interval is None else interval, level=logging.INFO
        )

    @property
    def done(self) -> int:
        """Items counted so far."""
        return self._done

    def eta(self) -> float | None:
        """Seconds still needed at the mean rate so far (`None` before the first item)."""
        if self._done == 0:
            return None
        elapsed = time.monotonic() - self._start
        return elapsed / self._done * max(self._total - self._done, 0)

    def update(self, number: int = 1) -> bool:
        """Count ``number`` more items done; log if the interval has passed.

        Returns
        -------
        logged : `bool`
            Whether a line was logged.
        """
        self._done += number
        eta = self.eta()
        return self._periodic.log(
            "%s: %d/%d %s (%.0f%%), %.0f s elapsed, ETA %.0f s",
            self._what,
            self._done,
            self._total,
            self._unit,
            100.0 * self._done / max(self._total, 1),
            time.monotonic() - self._start,
            0.0 if eta is None else eta,
        )

    def finish(self) -> None:
        """Log the final count and the time taken."""
        self._logger.info(
            "%s: %d/%d %s in %.1f s",
            self._what,
            self._done,
            self._total,
            self._unit,
            time.monotonic() - self._start,
        )
