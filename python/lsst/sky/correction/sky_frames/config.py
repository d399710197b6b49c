"""Configs of the sky-frame tasks: cp_pipe's fields and defaults.

The large-scale background of `CpSkyImageConfig` defaults to HSC's
8192-pixel superpixel (122.88 mm of 15-micron pixels), as in cp_pipe; the
per-camera pipelines (data/pipelines/<camera>/SkyFrame.yaml) set LSSTCam's
and DECam's 4096 pixels.
"""

from __future__ import annotations

__all__ = [
    "CpSkyCombineConfig",
    "CpSkyImageConfig",
    "CpSkyScaleMeasureConfig",
    "CpSkySubtractBackgroundConfig",
]

import lsst.pex.config as pexConfig
from lsst.pipe.base import PipelineTaskConfig

from ..focal_plane_background import FocalPlaneBackgroundConfig
from ..mask_objects import MaskObjectsConfig, MaskObjectsTask
from ..sky_measurement import SkyMeasurementConfig, SkyMeasurementTask
from .connections import (
    CpSkyCombineConnections,
    CpSkyImageConnections,
    CpSkyScaleMeasureConnections,
    CpSkySubtractBackgroundConnections,
)


class CpSkyImageConfig(PipelineTaskConfig, pipelineConnections=CpSkyImageConnections):
    """Configuration of `CpSkyImageTask`."""

    maskTask = pexConfig.ConfigurableField[MaskObjectsConfig](
        target=MaskObjectsTask, doc="Object masker to use."
    )
    maskThresh = pexConfig.Field[float](
        dtype=float,
        default=3.0,
        doc="k-sigma threshold for masking pixels (defined, and unused, as in the reference).",
    )
    maskList = pexConfig.ListField[str](
        dtype=str,
        default=["DETECTED", "BAD", "NO_DATA", "SAT"],
        doc="Mask planes whose pixels are replaced by the smooth background after object masking.",
    )
    largeScaleBackground = pexConfig.ConfigField[FocalPlaneBackgroundConfig](
        dtype=FocalPlaneBackgroundConfig, doc="Large-scale background configuration."
    )
    doRestoreBackground = pexConfig.Field[bool](
        dtype=bool,
        default=True,
        doc="Add inputBkg (the calexp's subtracted background) back to the input before masking?  "
        "False for inputs that were never background-subtracted.  (Addition of this package: the "
        "reference reads post-ISR exposures.)",
    )

    def setDefaults(self) -> None:
        super().setDefaults()
        # The reference's defaults are HSC's: 8192 pixels of 15 microns (122.88 mm).
        self.largeScaleBackground.xSize = 8192 * 0.015
        self.largeScaleBackground.ySize = 8192 * 0.015
        self.largeScaleBackground.pixelSize = 0.015
        self.largeScaleBackground.minFrac = 0.1
        self.largeScaleBackground.mask = [
            "BAD",
            "SAT",
            "INTRP",
            "DETECTED",
            "DETECTED_NEGATIVE",
            "EDGE",
            "NO_DATA",
        ]


class CpSkyScaleMeasureConfig(PipelineTaskConfig, pipelineConnections=CpSkyScaleMeasureConnections):
    """Configuration of `CpSkyScaleMeasureTask` (no fields: the scale is the model's median)."""


class CpSkySubtractBackgroundConfig(
    PipelineTaskConfig, pipelineConnections=CpSkySubtractBackgroundConnections
):
    """Configuration of `CpSkySubtractBackgroundTask`."""

    sky = pexConfig.ConfigurableField[SkyMeasurementConfig](
        target=SkyMeasurementTask,
        doc="Sky measurement: ``sky.background`` sets the bins (32 px, MEANCLIP, NATURAL_SPLINE).",
    )


class CpSkyCombineConfig(PipelineTaskConfig, pipelineConnections=CpSkyCombineConnections):
    """Configuration of `CpSkyCombineTask`."""

    sky = pexConfig.ConfigurableField[SkyMeasurementConfig](
        target=SkyMeasurementTask,
        doc="Sky measurement: ``sky.background.algorithm`` is written as the frame's ALGORITHM card.",
    )
    clip = pexConfig.Field[float](
        dtype=float,
        default=3.0,
        doc="Clipping half-width, in standard deviations, of the clipped mean over visits "
        "(afw's StatisticsControl default, which the reference uses).",
    )
    nIter = pexConfig.Field[int](
        dtype=int,
        default=3,
        doc="Clipping passes of the clipped mean over visits (afw's default, which the reference uses).",
    )

    def validate(self) -> None:
        super().validate()
        if not self.clip > 0:
            raise pexConfig.FieldValidationError(
                CpSkyCombineConfig.clip, self, f"clip must be positive, got {self.clip!r}"
            )
        if self.nIter < 1:
            raise pexConfig.FieldValidationError(
                CpSkyCombineConfig.nIter, self, f"nIter must be >= 1, got {self.nIter}"
            )
