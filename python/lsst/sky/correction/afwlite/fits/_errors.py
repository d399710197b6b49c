"""Exceptions for afw-format FITS reading and writing (``lsst.afw.fits``)."""

from __future__ import annotations

__all__ = ["FitsError", "FitsTypeError"]


class FitsError(RuntimeError):
    """A FITS file is missing, unreadable, or not in the layout afw writes.

    Messages always name the file (and the HDU when one is involved).
    """


class FitsTypeError(FitsError, TypeError):
    """A FITS HDU holds pixels of a type that cannot be read safely."""
