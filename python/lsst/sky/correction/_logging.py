"""The logger a stand-alone task of this package uses.

pipe_base names a top-level task's logger ``lsst.<_DefaultName>``; this
package's tasks log under ``lsst.sky.correction`` instead (e.g.
``lsst.sky.correction.skyCorr``), so that one ``--log-level
lsst.sky.correction=...`` covers all of them.  A subtask logs under its
parent, as usual.
"""

from __future__ import annotations

__all__ = ["PACKAGE_LOGGER", "withPackageLog"]

from typing import Any

import lsst.utils.logging

#: The parent logger of this package's stand-alone tasks.
PACKAGE_LOGGER = "lsst.sky.correction"


def withPackageLog(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A task's keyword arguments, with ``log`` set to the package logger when the task stands alone.

    Parameters
    ----------
    kwargs : `dict`
        The keyword arguments given to the task's ``__init__``; changed in
        place (``log`` added when neither ``parentTask`` nor ``log`` is given).

    Returns
    -------
    kwargs : `dict`
        The same dictionary, to pass on to ``Task.__init__``.
    """
    if kwargs.get("parentTask") is None and kwargs.get("log") is None:
        kwargs["log"] = lsst.utils.logging.getLogger(PACKAGE_LOGGER)
    return kwargs
