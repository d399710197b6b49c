"""Exceptions of ``afwlite.math``, named after the ``lsst.pex.exceptions`` afw raises.

They derive from the closest Python built-in as well, so callers that do not
know afw's names can catch them as `ValueError` or `RuntimeError`.
"""

from __future__ import annotations

__all__ = ["InvalidParameterError", "LengthError", "OutOfRangeError"]


class InvalidParameterError(ValueError):
    """An argument is not acceptable (``lsst.pex.exceptions.InvalidParameterError``)."""


class OutOfRangeError(ValueError):
    """Too few points, or a value outside its allowed range (``OutOfRangeError``)."""


class LengthError(ValueError):
    """A box or array does not fit where it must (``lsst.pex.exceptions.LengthError``)."""
