"""Cameras persisted by afw (``Camera.writeFits``), read without AST."""

from __future__ import annotations

__all__ = ["readAfwCameraFits"]

import os

from astropy.io import fits

from ..afwlite.cameraGeom import Camera
from ..afwlite.fits import FitsError, cameraFromArchive


def readAfwCameraFits(path: str | os.PathLike[str]) -> Camera:
    """Read a camera that afw persisted to FITS (e.g. a Butler ``camera`` dataset).

    The camera name comes from the archive's Camera record and each
    detector from its row of the ``Detector`` table; the AST transforms in
    the file are not needed, as PIXELS <-> FOCAL_PLANE follows from the
    detector orientations.

    Parameters
    ----------
    path : `str` or path-like
        An archive-only FITS file written by ``lsst.afw.cameraGeom.Camera.writeFits``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    FitsError
        If it is not FITS, holds no Camera, or a record is malformed.
    """
    try:
        with fits.open(path) as hdulist:
            return cameraFromArchive(hdulist)
    except (FitsError, FileNotFoundError):
        raise
    except OSError as error:
        raise FitsError(f"{os.fspath(path)}: cannot read as FITS: {error}") from None
