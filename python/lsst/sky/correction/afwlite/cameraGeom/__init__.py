"""afw-shaped ``lsst.afw.cameraGeom``."""
