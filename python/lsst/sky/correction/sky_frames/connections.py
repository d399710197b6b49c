"""Connections of the sky-frame tasks: cp_pipe's dataset type names, per visit.

cp_pipe builds sky frames from post-ISR exposures (dimension ``exposure``).
This package works on the datasets ``skyCorr`` reads, so the per-exposure
products of cp_pipe are per *visit* here, and the first step takes the
calexp and its background (restored, as ``skyCorr`` restores them) instead
of the post-ISR image.  The intermediate dataset types keep cp_pipe's names
(``cpSkyMaskedIsr``, ``cpSkyDetectorBackground``, ``cpSkyExpBackground``,
``cpSkyExpScale``, ``cpExpBackground``); the output is the ``sky``
calibration (instrument, physical_filter, detector).
"""

from __future__ import annotations

__all__ = [
    "FOCAL_PLANE_BACKGROUND_STORAGE_CLASS",
    "SCALE_STORAGE_CLASS",
    "CpSkyCombineConnections",
    "CpSkyImageConnections",
    "CpSkyScaleMeasureConnections",
    "CpSkySubtractBackgroundConnections",
]

from typing import Any

import lsst.pipe.base.connectionTypes as cT
from lsst.pipe.base import PipelineTaskConnections

from .._storage_classes import STORAGE_CLASSES

#: Storage class of a `~lsst.sky.correction.focal_plane_background.FocalPlaneBackground`
#: (data/butler/storageClasses.yaml).
FOCAL_PLANE_BACKGROUND_STORAGE_CLASS = "AfwliteFocalPlaneBackground"

#: Storage class of a visit's scale: a dictionary ``{"scale": value}``.
SCALE_STORAGE_CLASS = "StructuredDataDict"

_VISIT_DETECTOR = ("instrument", "visit", "detector")


class CpSkyImageConnections(
    PipelineTaskConnections, dimensions=("instrument", "physical_filter", "visit", "detector")
):
    """Connections of `CpSkyImageTask`."""

    inputExp = cT.Input(
        name="calexp",
        doc="Input exposure: a calibrated exposure whose background is restored from inputBkg.",
        storageClass=STORAGE_CLASSES.exposure,
        dimensions=_VISIT_DETECTOR,
    )
    inputBkg = cT.Input(
        name="calexpBackground",
        doc="The background subtracted from inputExp (only with doRestoreBackground).",
        storageClass=STORAGE_CLASSES.background,
        dimensions=_VISIT_DETECTOR,
    )
    camera = cT.PrerequisiteInput(
        name="camera",
        doc="Input camera.",
        storageClass=STORAGE_CLASSES.camera,
        dimensions=("instrument",),
        isCalibration=True,
    )
    maskedExp = cT.Output(
        name="cpSkyMaskedIsr",
        doc="The restored exposure with its objects masked and replaced.",
        storageClass=STORAGE_CLASSES.exposure,
        dimensions=_VISIT_DETECTOR,
    )
    maskedBkg = cT.Output(
        name="cpSkyDetectorBackground",
        doc="This detector's measurements of the large-scale focal-plane background.",
        storageClass=FOCAL_PLANE_BACKGROUND_STORAGE_CLASS,
        dimensions=_VISIT_DETECTOR,
    )

    def __init__(self, *, config: Any = None) -> None:
        super().__init__(config=config)
        if config is not None and not config.doRestoreBackground:
            del self.inputBkg


class CpSkyScaleMeasureConnections(
    PipelineTaskConnections, dimensions=("instrument", "physical_filter", "visit")
):
    """Connections of `CpSkyScaleMeasureTask`."""

    inputBkgs = cT.Input(
        name="cpSkyDetectorBackground",
        doc="Every detector's measurements of the visit's focal-plane background.",
        storageClass=FOCAL_PLANE_BACKGROUND_STORAGE_CLASS,
        dimensions=_VISIT_DETECTOR,
        multiple=True,
    )
    outputBkg = cT.Output(
        name="cpSkyExpBackground",
        doc="The visit's large-scale focal-plane background (all detectors merged).",
        storageClass=FOCAL_PLANE_BACKGROUND_STORAGE_CLASS,
        dimensions=("instrument", "visit"),
    )
    outputScale = cT.Output(
        name="cpSkyExpScale",
        doc="The visit's scale: the median of the focal-plane background, as {'scale': value}.",
        storageClass=SCALE_STORAGE_CLASS,
        dimensions=("instrument", "visit"),
    )


class CpSkySubtractBackgroundConnections(
    PipelineTaskConnections, dimensions=("instrument", "physical_filter", "visit", "detector")
):
    """Connections of `CpSkySubtractBackgroundTask`."""

    inputExp = cT.Input(
        name="cpSkyMaskedIsr",
        doc="The masked exposure of CpSkyImageTask.",
        storageClass=STORAGE_CLASSES.exposure,
        dimensions=_VISIT_DETECTOR,
    )
    inputBkg = cT.Input(
        name="cpSkyExpBackground",
        doc="The visit's large-scale focal-plane background.",
        storageClass=FOCAL_PLANE_BACKGROUND_STORAGE_CLASS,
        dimensions=("instrument", "visit"),
    )
    inputScale = cT.Input(
        name="cpSkyExpScale",
        doc="The visit's scale.",
        storageClass=SCALE_STORAGE_CLASS,
        dimensions=("instrument", "visit"),
    )
    outputBkg = cT.Output(
        name="cpExpBackground",
        doc="The normalised residual image, binned: this visit's estimate of the sky frame.",
        storageClass=STORAGE_CLASSES.background,
        dimensions=_VISIT_DETECTOR,
    )


class CpSkyCombineConnections(
    PipelineTaskConnections, dimensions=("instrument", "physical_filter", "detector")
):
    """Connections of `CpSkyCombineTask`."""

    inputBkgs = cT.Input(
        name="cpExpBackground",
        doc="Every visit's binned estimate of the sky frame.",
        storageClass=STORAGE_CLASSES.background,
        dimensions=_VISIT_DETECTOR,
        multiple=True,
    )
    camera = cT.PrerequisiteInput(
        name="camera",
        doc="Input camera (the detector attached to the sky frame).",
        storageClass=STORAGE_CLASSES.camera,
        dimensions=("instrument",),
        isCalibration=True,
    )
    outputCalib = cT.Output(
        name="sky",
        doc="The sky frame: the combined bins, with BOX.* and ALGORITHM cards.",
        storageClass=STORAGE_CLASSES.exposure,
        dimensions=("instrument", "physical_filter", "detector"),
        isCalibration=True,
    )
