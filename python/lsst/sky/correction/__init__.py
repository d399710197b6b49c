"""Full-focal-plane sky correction for LSST-style pipelines.

`SkyCorrectionTask` is the equivalent of
``lsst.pipe.tasks.skyCorrection.SkyCorrectionTask``; `afwlite` is the
pure-Python afw subset it runs on.
"""

from .errors import *
from .joint_pipeline import *
from .sky_correction import *
from .version import __version__
