"""afw-shaped ``lsst.afw.math``: statistics, binning, rotation, backgrounds."""

from ._approximate import *
from ._background import *
from ._background_control import *
from ._background_image import *
from ._background_list import *
from ._bin_geometry import *
from ._binning import *
from ._errors import *
from ._interpolate import *
from ._piecewise import *
from ._rotate import *
from ._statistics import *
from ._warp import *
