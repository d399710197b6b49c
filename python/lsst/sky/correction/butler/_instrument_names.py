"""The instruments sky_correction provides, by short name, as dotted class names.

Both the formatters (which attach a camera detector to an exposure whose data
ID has no records) and `getInstrumentClass` look instruments up here.  The
classes are named, not imported: the formatters sit below the instruments,
and the test instruments live in `lsst.sky.correction.testing`, above
`butler`.
"""

from __future__ import annotations

__all__ = ["INSTRUMENT_CLASS_NAMES"]

INSTRUMENT_CLASS_NAMES: dict[str, str] = {
    "LSSTCam": "lsst.sky.correction.butler.instrument.LSSTCam",
    "LSSTComCam": "lsst.sky.correction.butler.instrument.LSSTComCam",
    "HSC": "lsst.sky.correction.butler.instrument.HSC",
    "DECam": "lsst.sky.correction.butler.instrument.DECam",
    "DummyCam": "lsst.sky.correction.testing.DummyCam",
    "TinyCam": "lsst.sky.correction.testing.TinyCam",
}
