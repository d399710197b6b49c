"""Helpers for tests of code that uses sky_correction: small datasets, test cameras and instruments."""

from ..cameras import makeDummyCamera, makeTinyCamera
from ._datasets import *
from ._instruments import *
