"""Reading and writing afw's FITS layouts with astropy."""

from ._archive import *
from ._cards import *
from ._errors import *
from ._header import *
from ._image_io import *
