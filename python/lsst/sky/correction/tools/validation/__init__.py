"""Science validation of the sky correction against simulation truth and per-detector peers.

`runValidation` simulates a visit with known truth, runs the methods side by
side (the calexps as they are, sep and photutils per detector, and
`SkyCorrectionTask` with and without object masking) and measures each
(`ValidationAccumulator`): binned residual sky, LSB-galaxy flux, bright-star
halo, sky-frame scale, detector offsets.  `writeValidation`,
`figuresFromRun` and `figuresFromButler` write the tables and PNG figures.
Command line: ``python -m lsst.sky.correction.tools.validation`` (see
``docs/validation.md``).
"""

from ._coverage import *
from ._figures import *
from ._geometry import *
from ._metrics import *
from ._outputs import *
from ._runner import *
