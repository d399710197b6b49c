"""A ctrl_bps_parsl site that runs BPS jobs on this machine from a thread pool.

Each BPS job is a shell command (``pipetask run-qbb ...``), so a thread per
running job is all a single machine needs; Parsl's ThreadPoolExecutor starts
no worker processes or ZMQ interchange, unlike the stock
``lsst.ctrl.bps.parsl.sites.Local`` (a HighThroughputExecutor).  Use it in a
BPS config as::

    computeSite: localThreads
    site:
      localThreads:
        class: lsst.sky.correction.butler.bps_sites.LocalThreads
        cores: 2          # jobs run at once

Importing this module needs ``lsst-ctrl-bps-parsl`` (the ``bps`` extra).
"""

from __future__ import annotations

__all__ = ["LocalThreads"]

from typing import Any

from parsl.executors import ThreadPoolExecutor
from parsl.executors.base import ParslExecutor

from lsst.ctrl.bps.parsl.configuration import get_bps_config_value
from lsst.ctrl.bps.parsl.site import SiteConfig

_LABEL = "localThreads"


class LocalThreads(SiteConfig):
    """Run every job locally, at most ``site.<computeSite>.cores`` at a time (default 2)."""

    def get_executors(self) -> list[ParslExecutor]:
        """The one executor: a thread pool as wide as ``cores``."""
        cores = get_bps_config_value(self.site, "cores", int, 2)
        return [ThreadPoolExecutor(label=_LABEL, max_threads=cores)]

    def select_executor(self, job: Any) -> str:
        """Every job goes to the thread pool."""
        return _LABEL
