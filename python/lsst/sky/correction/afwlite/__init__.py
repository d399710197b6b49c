"""A small pure-Python implementation of the ``lsst.afw`` subset sky correction needs.

The subpackages mirror afw's: `geom` (``lsst.geom``), `image`
(``lsst.afw.image``), `math` (``lsst.afw.math``), `cameraGeom`
(``lsst.afw.cameraGeom``) and `fits` (the file layouts).  Names and semantics
follow afw, so code written against afw ports by changing imports; files are
compatible with afw both ways.
"""

# Imported first so that the image classes can read and write files (see image/_fits_io.py).
from . import fits
