"""Reading and writing afw's FITS layouts with astropy."""

from ._archive import *
from ._cards import *
from ._errors import *
from ._header import *
from ._image_io import *

from ..image._fits_io import FitsReadersWriters, registerFitsIO

# The image classes read and write through these (afwlite.image never imports afwlite.fits).
registerFitsIO(
    FitsReadersWriters(
        readImage=read_image,
        writeImage=write_image,
        readMaskedImage=read_masked_image,
        writeMaskedImage=write_masked_image,
        readExposure=read_exposure,
        writeExposure=write_exposure,
    )
)
