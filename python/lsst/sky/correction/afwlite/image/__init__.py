"""afw-shaped images: ``ImageF``, ``Mask``, ``MaskedImageF``, ``ExposureF``."""

from ._exposure import *
from ._image import *
from ._mask import *
from ._masked_image import *
from ._property_list import *
