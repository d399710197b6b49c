"""Camera geometry for sky correction without afw.

`getCamera` returns the shipped cameras (LSSTCam, LSSTComCam, HSC, DECam);
`makeDummyCamera` and `makeTinyCamera` build the two test cameras;
`readCameraFile` / `writeCameraFile` handle sky_correction's own ECSV camera
format (see ``docs/cameras.md``) for any other camera; `readAfwCameraFits`
reads a camera persisted by afw.
"""

from ._afw_camera import *
from ._camera_file import *
from ._registry import *
from ._test_cameras import *
