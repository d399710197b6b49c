"""Sky frames built from a user's own visits: cp_pipe's ``cpSky`` construction.

Four PipelineTasks, with the reference's names, config fields and defaults
(cp_pipe ``python/lsst/cp/pipe/cpSky.py``):

1. `CpSkyImageTask` (visit, detector): restore the background, mask objects,
   measure the detector's part of a large-scale focal-plane background.
2. `CpSkyScaleMeasureTask` (visit): merge the detectors' focal-plane
   backgrounds; the visit's scale is the median of the merged model.
3. `CpSkySubtractBackgroundTask` (visit, detector): the image minus the
   focal-plane background, over the scale, in 32-pixel clipped-mean bins.
4. `CpSkyCombineTask` (physical_filter, detector): the bins of all visits
   combined with a clipped mean, empty bins set to the median; written as the
   ``sky`` calibration that `~lsst.sky.correction.SkyCorrectionTask` reads.

Or, beyond the reference (``pipelines/SkyFrameJoint.yaml``), steps 3 and 4
replaced by `CpSkyBinTask` (visit, detector: the masked image over the
scale, binned, its large-scale background kept) and
`CpSkyJointCombineTask` (physical_filter: one template fitted to all visits
and detectors with per-visit amplitudes, smooth backgrounds and detector
pistons, `fitJointTemplate`; poorly described visits rejected).

docs/sky_frames.md describes the pipeline and how to certify its output.
"""

from .config import *
from .connections import *
from .tasks import *
from .joint_combine import *
from .joint_template import *
