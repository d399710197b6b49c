"""Full-focal-plane sky correction for LSST-style pipelines."""

from .version import __version__
