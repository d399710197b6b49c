"""Simulated visits with known truth, for tests and benchmarks of the sky correction.

`VisitSimulator` generates, for any camera, the calexps, calexpBackgrounds
and sky frames of one visit, detector by detector, together with the truth
behind them (see ``docs/simulation.md``).
"""

from ._config import *
from ._handles import *
from ._profiles import *
from ._sky import SkyFramePattern, SmoothSky
from ._sky_levels import *
from ._sources import SOURCE_DTYPE, drawMagnitudes
from ._truth import *
from ._visit import *
