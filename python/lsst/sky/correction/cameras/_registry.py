"""The cameras shipped with sky_correction, by name."""

from __future__ import annotations

__all__ = ["getCamera", "getCameraNames"]

import functools
from importlib import resources

from ..afwlite.cameraGeom import Camera
from ._camera_file import readCameraFile

# Camera name -> file under lsst/sky/correction/data/cameras (made by scripts/make_camera_files.py).
_SHIPPED_CAMERAS = {
    "LSSTCam": "LSSTCam.ecsv",
    "LSSTComCam": "LSSTComCam.ecsv",
    "HSC": "HSC.ecsv",
    "DECam": "DECam.ecsv",
}


def getCameraNames() -> tuple[str, ...]:
    """The names `getCamera` knows."""
    return tuple(_SHIPPED_CAMERAS)


def getCamera(name: str) -> Camera:
    """The geometry of a camera that ships with sky_correction.

    Cameras are immutable, so each is read once and then shared.

    Parameters
    ----------
    name : `str`
        One of ``"LSSTCam"``, ``"LSSTComCam"``, ``"HSC"``, ``"DECam"``
        (exact case).

    Raises
    ------
    KeyError
        If the name is not one of those; the message lists them.
    """
    if name not in _SHIPPED_CAMERAS:
        known = ", ".join(_SHIPPED_CAMERAS)
        hint = [k for k in _SHIPPED_CAMERAS if isinstance(name, str) and k.lower() == name.lower()]
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise KeyError(
            f"unknown camera {name!r}{suggestion}; known cameras: {known}. "
            "Other cameras can be read with readCameraFile or readAfwCameraFits."
        )
    return _loadShipped(name)


@functools.cache
def _loadShipped(name: str) -> Camera:
    resource = resources.files("lsst.sky.correction") / "data" / "cameras" / _SHIPPED_CAMERAS[name]
    with resources.as_file(resource) as path:
        camera = readCameraFile(path)
    if camera.getName() != name:
        raise RuntimeError(f"{resource}: holds camera {camera.getName()!r}, expected {name!r}")
    return camera
