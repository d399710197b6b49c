"""Helpers for tests of code that uses sky_correction's afw-shaped objects."""

from ._datasets import *
from ._dummy_camera import *
