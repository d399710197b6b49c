"""How images reach afw's FITS layouts without importing `afwlite.fits`.

afw's image classes read and write files themselves (``ImageF(fileName)``,
``exposure.writeFits(...)``).  Here the file layouts live one layer up, in
`lsst.sky.correction.afwlite.fits`, which registers its readers and writers
in this module when it is imported; `lsst.sky.correction.afwlite` imports it
first thing, so they are there before any image can be used.
"""

from __future__ import annotations

__all__ = ["FitsReadersWriters", "fitsIO", "registerFitsIO"]

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FitsReadersWriters:
    """The FITS functions the image classes delegate to (see `afwlite.fits`)."""

    readImage: Callable[..., Any]
    writeImage: Callable[..., None]
    readMaskedImage: Callable[..., Any]
    writeMaskedImage: Callable[..., None]
    readExposure: Callable[..., Any]
    writeExposure: Callable[..., None]


_registered: FitsReadersWriters | None = None


def registerFitsIO(functions: FitsReadersWriters) -> None:
    """Install the FITS readers and writers (called by `afwlite.fits` on import)."""
    global _registered
    _registered = functions


def fitsIO() -> FitsReadersWriters:
    """The registered FITS readers and writers.

    Raises
    ------
    RuntimeError
        If `lsst.sky.correction.afwlite.fits` has not been imported (it is
        whenever `lsst.sky.correction.afwlite` is).
    """
    if _registered is None:
        raise RuntimeError(
            "afwlite images cannot read or write files: lsst.sky.correction.afwlite.fits is not imported"
        )
    return _registered
