"""afw-shaped ``lsst.afw.cameraGeom``: detectors, cameras and their geometry.

Only the PIXELS and FOCAL_PLANE systems are modelled; they are related by
the affine transform afw's ``Orientation`` defines.  FIELD_ANGLE needs an
optical distortion model, which afwlite cameras do not carry.
"""

from ._angle import *
from ._camera import *
from ._camera_sys import *
from ._detector import *
from ._orientation import *
from ._transform import *
