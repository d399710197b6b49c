"""One error for the afw features afwlite leaves out.

Code ported from lsst.afw that reaches a feature afwlite does not have must
stop with an error that names the afw feature, not answer differently or fail
with an `AttributeError` deep inside.  `AfwFeatureNotImplementedError` is a
`NotImplementedError`; where afwlite used to raise a `ValueError` subclass for
the same call it also derives from that class (see `notImplemented`), so
existing handlers keep working.
"""

from __future__ import annotations

__all__ = ["AfwFeatureNotImplementedError", "notImplemented"]

from typing import NoReturn


class AfwFeatureNotImplementedError(NotImplementedError):
    """An lsst.afw feature that afwlite does not implement."""


def afwFeatureMessage(feature: str, afwModule: str) -> str:
    """``"afwlite does not implement <feature> (<afwModule>)"``."""
    return f"afwlite does not implement {feature} ({afwModule})"


def notImplemented(feature: str, afwModule: str) -> NoReturn:
    """Raise `AfwFeatureNotImplementedError` naming ``feature`` of ``afwModule``.

    Parameters
    ----------
    feature : `str`
        What is missing, e.g. ``"FIELD_ANGLE transforms"``.
    afwModule : `str`
        The afw module or class that has it, e.g. ``"lsst.afw.cameraGeom"``.
    """
    raise AfwFeatureNotImplementedError(afwFeatureMessage(feature, afwModule))
