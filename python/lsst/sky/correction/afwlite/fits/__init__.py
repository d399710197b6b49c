"""Reading and writing afw's FITS layouts (astropy, and zlib for GZIP tiles).

* `_layout`: constants of afw's layouts; `_files`: opening files, finding
  HDUs, atomic writes; `_read` and `_write`: the image, masked image and
  exposure layouts; `_tiles`: GZIP tile compression; `_header`, `_cards`:
  header cards; `_archive`: afw's table archive (detectors, cameras).
"""

from ._archive import *
from ._cards import *
from ._errors import *
from ._files import *
from ._header import *
from ._layout import *
from ._read import *
from ._write import *

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
