"""Butler integration: storage classes, formatters, instruments, repositories.

* `formatters`: FormatterV2s for the afwlite types (afw's FITS layouts, the
  ECSV camera file); the storage classes and the formatter mapping are
  package data (``lsst.sky.correction/data/butler/*.yaml``), linked from a
  repository's ``butler.yaml``.
* `instrument`: `~lsst.pipe.base.Instrument` subclasses without obs_*
  packages (LSSTCam, LSSTComCam, HSC, DECam; the test instruments are in `lsst.sky.correction.testing`).
* `repo`: `initRepo` and its steps (repository, instrument, dataset types,
  collections, camera).
* `visits`: `writeVisit`.
* `simulate`: `writeSimulatedVisit` (a simulated visit, detector by detector).
* `cli`: the ``butler sky-correction-*`` subcommands.
"""

from .formatters import *
from .instrument import *
from .repo import *
from .visits import *
from .simulate import *
