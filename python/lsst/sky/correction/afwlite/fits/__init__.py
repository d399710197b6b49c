"""Reading and writing afw's FITS layouts with astropy."""

from ._cards import *
from ._errors import *
