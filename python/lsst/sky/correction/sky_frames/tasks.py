"""The sky-frame tasks: cp_pipe's ``cpSky`` construction, step by step.

Per visit and detector, `CpSkyImageTask` masks the objects and measures the
detector's share of a large-scale focal-plane background; per visit,
`CpSkyScaleMeasureTask` merges those and takes the median as the visit's
scale; per visit and detector, `CpSkySubtractBackgroundTask` bins
``(image - background) / scale``; per detector, `CpSkyCombineTask` combines
the bins of all visits into the ``sky`` frame.
"""

from __future__ import annotations

__all__ = [
    "CpSkyCombineTask",
    "CpSkyImageTask",
    "CpSkyScaleMeasureTask",
    "CpSkySubtractBackgroundTask",
    "combineBinnedFrames",
    "focalPlaneScale",
]

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lsst.pipe.base import (
    InputQuantizedConnection,
    NoWorkFound,
    OutputQuantizedConnection,
    PipelineTask,
    QuantumContext,
    Struct,
)

from .._afw_interop import backgroundListFrom, cameraFrom, exposureFrom
from ..afwlite.cameraGeom import Camera
from ..afwlite.geom import Box2I
from ..afwlite.image import ExposureF, MaskedImageF
from ..afwlite.math import ERRORS, MEANCLIP, BackgroundList, StatisticsControl, computeGroupStatistics
from ..focal_plane_background import FocalPlaneBackground
from ..mask_objects import MaskObjectsTask
from ..sky_measurement import SkyMeasurementTask
from .config import (
    CpSkyCombineConfig,
    CpSkyImageConfig,
    CpSkyScaleMeasureConfig,
    CpSkySubtractBackgroundConfig,
)


def _attachDetector(exposure: ExposureF, camera: Camera, detectorId: int) -> None:
    """Give ``exposure`` the camera's detector ``detectorId`` if it has none."""
    if exposure.getDetector() is None:
        exposure.setDetector(camera[detectorId])


class CpSkyImageTask(PipelineTask):
    """Mask the objects of one exposure and measure its large-scale background.

    The exposure's background is restored first (``doRestoreBackground``),
    so that the sky frame is built from the whole sky signal, as the
    reference builds it from post-ISR images.  Objects are masked
    iteratively and replaced by a 256-pixel background (`MaskObjectsTask`,
    with ``maskList`` planes replaced as well); the detector's pixels are then
    added to an empty `FocalPlaneBackground` of ``largeScaleBackground``'s
    superpixels.
    """

    ConfigClass = CpSkyImageConfig
    config: CpSkyImageConfig
    _DefaultName = "cpSkyImage"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.makeSubtask("maskTask")
        self.maskTask: MaskObjectsTask

    def runQuantum(
        self,
        butlerQC: QuantumContext,
        inputRefs: InputQuantizedConnection,
        outputRefs: OutputQuantizedConnection,
    ) -> None:
        inputs = butlerQC.get(inputRefs)
        camera = cameraFrom(inputs["camera"])
        inputExp = exposureFrom(inputs["inputExp"])
        _attachDetector(inputExp, camera, int(inputRefs.inputExp.dataId["detector"]))
        inputBkg = inputs.get("inputBkg")
        outputs = self.run(
            inputExp, camera, inputBkg=None if inputBkg is None else backgroundListFrom(inputBkg)
        )
        butlerQC.put(outputs, outputRefs)

    def run(self, inputExp: ExposureF, camera: Camera, inputBkg: BackgroundList | None = None) -> Struct:
        """Mask the objects of an exposure and measure its large-scale background.

        Parameters
        ----------
        inputExp : `ExposureF`
            The exposure, with its detector; modified in place (restored,
            objects replaced).
        camera : `Camera`
            The camera, which sets the focal-plane grid.
        inputBkg : `BackgroundList`, optional
            The background subtracted from ``inputExp``, added back first.

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``maskedExp`` (``inputExp``) and ``maskedBkg`` (a
            `FocalPlaneBackground` holding this detector's measurements).
        """
        if inputBkg is not None:
            restored = inputBkg.getImage()
            if restored is None or restored.getDimensions() != inputExp.getDimensions():
                raise ValueError(
                    f"the background to restore is {None if restored is None else restored.getDimensions()}, "
                    f"the exposure {inputExp.getDimensions()}"
                )
            inputExp.maskedImage.image.array[...] += restored.array
        mask = inputExp.getMask()
        badBits = mask.getPlaneBitMask(list(self.config.maskList))
        if np.all((mask.array & badBits) != 0):
            # As in the reference: object masking needs some pixels; the detector then adds nothing.
            self.log.warning("All pixels of detector %d are masked.", inputExp.getDetector().getId())
        else:
            self.maskTask.run(inputExp, self.config.maskList)
        bgModel = FocalPlaneBackground.fromCamera(self.config.largeScaleBackground, camera)
        bgModel.addCcd(inputExp)
        return Struct(maskedExp=inputExp, maskedBkg=bgModel)


def focalPlaneScale(background: FocalPlaneBackground) -> float:
    """A visit's sky-frame scale: the median of its focal-plane background.

    Parameters
    ----------
    background : `FocalPlaneBackground`
        The visit's merged model.

    Returns
    -------
    scale : `float`
        The median of `FocalPlaneBackground.getStatsImage` (every superpixel,
        the interpolated ones included, as in the reference).

    Raises
    ------
    ValueError
        If the median is not positive and finite (the residuals would be
        divided by it).
    """
    values = background.getStatsImage().array
    scale = float(np.median(values[np.isfinite(values)])) if np.isfinite(values).any() else math.nan
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(
            f"the focal-plane background's median is {scale!r}: a sky-frame scale must be positive"
        )
    return scale


class CpSkyScaleMeasureTask(PipelineTask):
    """Merge the detectors' large-scale backgrounds of a visit and measure its scale."""

    ConfigClass = CpSkyScaleMeasureConfig
    config: CpSkyScaleMeasureConfig
    _DefaultName = "cpSkyScaleMeasure"

    def run(self, inputBkgs: Sequence[FocalPlaneBackground]) -> Struct:
        """Merge the detectors' models and take their median.

        Parameters
        ----------
        inputBkgs : sequence of `FocalPlaneBackground`
            One model per detector of the visit (not modified).

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``outputBkg`` (the merged `FocalPlaneBackground`) and
            ``outputScale`` (``{"scale": median}``, see `focalPlaneScale`).
        """
        if not inputBkgs:
            raise NoWorkFound("no detector backgrounds to merge")
        background = inputBkgs[0].clone()
        for other in inputBkgs[1:]:
            background.merge(other)
        scale = focalPlaneScale(background)
        values = background.getStatsImage().array
        self.log.info(
            "Background model min/max: %g %g.  Scale %g", np.nanmin(values), np.nanmax(values), scale
        )
        return Struct(outputBkg=background, outputScale={"scale": scale})


def _scaleValue(inputScale: Mapping[str, Any] | float) -> float:
    """The scale of a ``cpSkyExpScale`` dataset (a mapping with ``"scale"``, or a number)."""
    value = inputScale["scale"] if isinstance(inputScale, Mapping) else inputScale
    scale = float(value)
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"the visit's scale must be positive and finite, got {value!r}")
    return scale


class CpSkySubtractBackgroundTask(PipelineTask):
    """Bin one exposure minus its visit's large-scale background, over the visit's scale."""

    ConfigClass = CpSkySubtractBackgroundConfig
    config: CpSkySubtractBackgroundConfig
    _DefaultName = "cpSkySubtractBackground"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.makeSubtask("sky")
        self.sky: SkyMeasurementTask

    def runQuantum(
        self,
        butlerQC: QuantumContext,
        inputRefs: InputQuantizedConnection,
        outputRefs: OutputQuantizedConnection,
    ) -> None:
        inputs = butlerQC.get(inputRefs)
        inputs["inputExp"] = exposureFrom(inputs["inputExp"])
        if inputs["inputExp"].getDetector() is None:
            raise ValueError(
                f"{inputRefs.inputExp.datasetType.name} {inputRefs.inputExp.dataId} has no detector"
            )
        butlerQC.put(self.run(**inputs), outputRefs)

    def run(
        self, inputExp: ExposureF, inputBkg: FocalPlaneBackground, inputScale: Mapping[str, Any] | float
    ) -> Struct:
        """Bin ``(image - large-scale background) / scale``.

        Parameters
        ----------
        inputExp : `ExposureF`
            The masked exposure (`CpSkyImageTask`), with its detector;
            modified in place.
        inputBkg : `FocalPlaneBackground`
            The visit's large-scale background.
        inputScale : mapping or `float`
            The visit's scale (``{"scale": value}``).

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``outputBkg``: the `BackgroundList` of ``sky.background``'s bins
            (`SkyMeasurementTask.measureBackground`).
        """
        scale = _scaleValue(inputScale)
        maskedImage = inputExp.getMaskedImage()
        largeScale = inputBkg.toCcdBackground(inputExp.getDetector(), maskedImage.getBBox()).getImage()
        assert largeScale is not None  # toCcdBackground returns one element
        maskedImage -= largeScale
        maskedImage /= scale
        return Struct(outputBkg=self.sky.measureBackground(maskedImage))


def combineBinnedFrames(statsImages: Sequence[MaskedImageF], clip: float, nIter: int) -> MaskedImageF:
    """Combine the binned frames of many visits, bin by bin.

    Parameters
    ----------
    statsImages : sequence of `MaskedImageF`
        The bins of every visit, all of one shape.  Non-finite bins are left
        out.
    clip : `float`
        Clipping half-width in standard deviations.
    nIter : `int`
        Clipping passes (the first around the median, with the
        interquartile range; the others around the clipped mean).

    Returns
    -------
    combined : `MaskedImageF`
        Image: the clipped mean over visits of each bin; bins with no
        finite value in any visit are set to the median of the others.
        Variance: the square of the clipped mean's error (NaN filled bins
        get the median variance).

    Raises
    ------
    ValueError
        If there is no frame, the shapes differ, or no bin has a value.
    """
    if not statsImages:
        raise ValueError("no binned frames to combine")
    shape = statsImages[0].image.array.shape
    for index, statsImage in enumerate(statsImages):
        if statsImage.image.array.shape != shape:
            raise ValueError(
                f"binned frame {index} has {statsImage.image.array.shape[::-1]} bins, frame 0 {shape[::-1]}"
            )
    # One row per bin, one column per visit.
    values = np.stack([statsImage.image.array.reshape(-1) for statsImage in statsImages], axis=1)
    stats = computeGroupStatistics(values, None, MEANCLIP | ERRORS, StatisticsControl(clip, nIter))
    combined = MaskedImageF(shape[1], shape[0])
    image = stats.getValue(MEANCLIP).reshape(shape)
    error = stats.getError(MEANCLIP).reshape(shape)
    isBad = ~np.isfinite(image)
    if isBad.all():
        raise ValueError(f"none of the {shape[1]}x{shape[0]} bins has a value in any of the frames")
    # As in the reference: bins empty in every visit take the median of the others.
    image[isBad] = np.median(image[~isBad])
    variance = error**2
    badVariance = ~np.isfinite(variance)
    variance[badVariance] = np.median(variance[~badVariance]) if not badVariance.all() else np.nan
    combined.image.array[...] = image
    combined.variance.array[...] = variance
    return combined


class CpSkyCombineTask(PipelineTask):
    """Combine the binned frames of all visits of a filter into one detector's sky frame."""

    ConfigClass = CpSkyCombineConfig
    config: CpSkyCombineConfig
    _DefaultName = "cpSkyCombine"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.makeSubtask("sky")
        self.sky: SkyMeasurementTask

    def runQuantum(
        self,
        butlerQC: QuantumContext,
        inputRefs: InputQuantizedConnection,
        outputRefs: OutputQuantizedConnection,
    ) -> None:
        inputs = butlerQC.get(inputRefs)
        camera = cameraFrom(inputs["camera"])
        dataId = outputRefs.outputCalib.dataId
        outputs = self.run(
            [backgroundListFrom(bg) for bg in inputs["inputBkgs"]],
            detector=camera[int(dataId["detector"])],
            visits=sorted(int(ref.dataId["visit"]) for ref in inputRefs.inputBkgs),
            physicalFilter=str(dataId["physical_filter"]),
        )
        butlerQC.put(outputs, outputRefs)

    def run(
        self,
        inputBkgs: Sequence[BackgroundList],
        detector: Any = None,
        visits: Sequence[int] = (),
        physicalFilter: str | None = None,
    ) -> Struct:
        """Combine the visits' bins into a sky frame.

        Parameters
        ----------
        inputBkgs : sequence of `BackgroundList`
            One single-element list per visit (`CpSkySubtractBackgroundTask`),
            all with the same full-resolution bbox and bins.
        detector : `Detector`, optional
            Attached to the frame.
        visits : sequence of `int`, optional
            The visits combined, recorded in the header.
        physicalFilter : `str`, optional
            Recorded in the header (``FILTER``).

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``outputCalib``: the sky frame, an `ExposureF` of the combined
            bins (`combineBinnedFrames`) with ``BOX.MINX/MINY/MAXX/MAXY`` and
            ``ALGORITHM`` cards (`SkyMeasurementTask.backgroundToExposure`).
        """
        if not inputBkgs:
            raise NoWorkFound("no binned frames to combine")
        bboxes: list[Box2I] = []
        for index, backgrounds in enumerate(inputBkgs):
            if len(backgrounds) != 1:
                raise ValueError(
                    f"binned frame {index} holds {len(backgrounds)} background elements, expected one"
                )
            bboxes.append(backgrounds[0][0].getImageBBox())
        if any(bbox != bboxes[0] for bbox in bboxes):
            raise ValueError(f"the binned frames cover different bboxes: {sorted({str(b) for b in bboxes})}")
        combined = combineBinnedFrames(
            [backgrounds[0][0].getStatsImage() for backgrounds in inputBkgs],
            self.config.clip,
            self.config.nIter,
        )
        skyCalib = self.sky.backgroundToExposure(combined, bboxes[0])
        if detector is not None:
            skyCalib.setDetector(detector)
        metadata = skyCalib.getMetadata()
        metadata.set("OBSTYPE", "SKY")
        metadata.set("CALIB_NINPUTS", len(inputBkgs))
        for index, visit in enumerate(visits):
            metadata.set(f"CPP_INPUT_{index}", int(visit))
        if physicalFilter is not None:
            metadata.set("FILTER", physicalFilter)
        self.log.info("Sky frame of %d bins from %d visits", combined.image.array.size, len(inputBkgs))
        return Struct(outputCalib=skyCalib)
