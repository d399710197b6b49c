"""The joint sky-frame construction as PipelineTasks (`pipelines/SkyFrameJoint.yaml`).

Two tasks replace the last two steps of the cpSky pipeline:

- `CpSkyBinTask` (visit, detector): the masked exposure of `CpSkyImageTask`
  over the visit's scale, in the same 32-pixel clipped-mean bins as
  `CpSkySubtractBackgroundTask`, but with the large-scale background *kept*:
  the joint fit models each visit's smooth background itself, and removing a
  background of detector-sized superpixels first would also remove the
  detector-to-detector steps of the pattern the template is there to hold.
  Dividing by the scale makes the visits' levels about 1, so the amplitudes
  are near 1 and the fractional residual RMS of the rejection is the RMS of
  the residuals.
- `CpSkyJointCombineTask` (physical_filter): the bins of every visit and
  detector of the filter fitted at once by `fitJointTemplate` (a template
  times an amplitude per visit, plus a smooth focal-plane background and
  detector pistons per visit; visits that the template does not describe
  rejected), written as one ``sky`` frame per detector.  It needs all
  detectors of each visit at once for the focal-plane terms, hence one
  quantum per filter.
"""

from __future__ import annotations

__all__ = [
    "JOINT_SUMMARY_STORAGE_CLASS",
    "CpSkyBinConfig",
    "CpSkyBinConnections",
    "CpSkyBinTask",
    "CpSkyJointCombineConfig",
    "CpSkyJointCombineConnections",
    "CpSkyJointCombineTask",
    "JointBins",
    "stackJointBins",
]

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base.connectionTypes as cT
from lsst.pipe.base import (
    InputQuantizedConnection,
    NoWorkFound,
    OutputQuantizedConnection,
    PipelineTask,
    PipelineTaskConfig,
    PipelineTaskConnections,
    QuantumContext,
    Struct,
)

from .._afw_interop import backgroundListFrom, cameraFrom, exposureFrom
from .._storage_classes import STORAGE_CLASSES
from ..afwlite.cameraGeom import Camera
from ..afwlite.geom import Box2I
from ..afwlite.image import ExposureF, MaskedImageF
from ..afwlite.math import BackgroundList
from ..joint_fit import ChebyshevBasis, binCentres
from ..sky_measurement import SkyMeasurementConfig, SkyMeasurementTask
from .connections import SCALE_STORAGE_CLASS
from .joint_template import JointTemplateResult, fitJointTemplate
from .tasks import _scaleValue

#: Storage class of the joint fit's summary (visits, rejections, amplitudes, residual RMS).
JOINT_SUMMARY_STORAGE_CLASS = "StructuredDataDict"

_VISIT_DETECTOR = ("instrument", "visit", "detector")


# CpSkyBinTask -------------------------------------------------------------------------------------


class CpSkyBinConnections(
    PipelineTaskConnections, dimensions=("instrument", "physical_filter", "visit", "detector")
):
    """Connections of `CpSkyBinTask`."""

    inputExp = cT.Input(
        name="cpSkyMaskedIsr",
        doc="The masked exposure of CpSkyImageTask.",
        storageClass=STORAGE_CLASSES.exposure,
        dimensions=_VISIT_DETECTOR,
    )
    inputScale = cT.Input(
        name="cpSkyExpScale",
        doc="The visit's scale.",
        storageClass=SCALE_STORAGE_CLASS,
        dimensions=("instrument", "visit"),
    )
    outputBkg = cT.Output(
        name="cpSkyExpBins",
        doc="The masked image over the scale, binned (the large-scale background kept).",
        storageClass=STORAGE_CLASSES.background,
        dimensions=_VISIT_DETECTOR,
    )


class CpSkyBinConfig(PipelineTaskConfig, pipelineConnections=CpSkyBinConnections):
    """Configuration of `CpSkyBinTask`."""

    sky = pexConfig.ConfigurableField[SkyMeasurementConfig](
        target=SkyMeasurementTask,
        doc="Sky measurement: ``sky.background`` sets the bins (32 px, MEANCLIP), as "
        "cpSkySubtractBackground's.",
    )


class CpSkyBinTask(PipelineTask):
    """Bin one masked exposure over its visit's scale, its large-scale background kept."""

    ConfigClass = CpSkyBinConfig
    config: CpSkyBinConfig
    _DefaultName = "cpSkyBin"

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
        butlerQC.put(self.run(exposureFrom(inputs["inputExp"]), inputs["inputScale"]), outputRefs)

    def run(self, inputExp: ExposureF, inputScale: Mapping[str, Any] | float) -> Struct:
        """Bin ``image / scale``.

        Parameters
        ----------
        inputExp : `ExposureF`
            The masked exposure (`CpSkyImageTask`); modified in place.
        inputScale : mapping or `float`
            The visit's scale (``{"scale": value}``).

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``outputBkg``: the `BackgroundList` of ``sky.background``'s bins.
        """
        maskedImage = inputExp.getMaskedImage()
        maskedImage /= _scaleValue(inputScale)
        return Struct(outputBkg=self.sky.measureBackground(maskedImage))


# CpSkyJointCombineTask ------------------------------------------------------------------------------


class CpSkyJointCombineConnections(PipelineTaskConnections, dimensions=("instrument", "physical_filter")):
    """Connections of `CpSkyJointCombineTask`."""

    inputBkgs = cT.Input(
        name="cpSkyExpBins",
        doc="Every visit's and detector's bins (CpSkyBinTask).",
        storageClass=STORAGE_CLASSES.background,
        dimensions=_VISIT_DETECTOR,
        multiple=True,
    )
    camera = cT.PrerequisiteInput(
        name="camera",
        doc="Input camera (the bins' focal-plane positions; the detectors attached to the frames).",
        storageClass=STORAGE_CLASSES.camera,
        dimensions=("instrument",),
        isCalibration=True,
    )
    outputCalibs = cT.Output(
        name="sky",
        doc="The sky frames, one per detector: the template's bins, with BOX.* and ALGORITHM cards.",
        storageClass=STORAGE_CLASSES.exposure,
        dimensions=("instrument", "physical_filter", "detector"),
        isCalibration=True,
        multiple=True,
    )
    outputSummary = cT.Output(
        name="cpSkyJointSummary",
        doc="The joint fit per visit: amplitude, fractional residual RMS, rejected or not.",
        storageClass=JOINT_SUMMARY_STORAGE_CLASS,
        dimensions=("instrument", "physical_filter"),
    )


class CpSkyJointCombineConfig(PipelineTaskConfig, pipelineConnections=CpSkyJointCombineConnections):
    """Configuration of `CpSkyJointCombineTask`."""

    sky = pexConfig.ConfigurableField[SkyMeasurementConfig](
        target=SkyMeasurementTask,
        doc="Sky measurement: ``sky.background.algorithm`` is written as the frames' ALGORITHM card.",
    )
    smoothOrder = pexConfig.Field[int](
        dtype=int,
        default=2,
        doc="Total degree of each visit's smooth focal-plane background (triangular 2-d Chebyshev "
        "polynomial over the box of the bins' focal-plane positions).",
    )
    clip = pexConfig.Field[float](
        dtype=float,
        default=4.0,
        doc="Bins further than this many robust sigmas (per visit) from the model are left out (DES: 4).",
    )
    nIter = pexConfig.Field[int](
        dtype=int, default=50, doc="Most alternating least-squares iterations per fit."
    )
    rejectRms = pexConfig.Field[float](
        dtype=float,
        default=0.005,
        doc="Visits whose residual RMS exceeds this fraction of their level are rejected and the "
        "template refitted without them (DES's reject_rms).",
    )
    maxRejectRounds = pexConfig.Field[int](dtype=int, default=5, doc="Most refits after rejecting visits.")

    def validate(self) -> None:
        super().validate()
        checks: list[tuple[pexConfig.Field[Any], bool, str]] = [
            (CpSkyJointCombineConfig.smoothOrder, self.smoothOrder >= 0, "must be >= 0"),
            (CpSkyJointCombineConfig.clip, math.isfinite(self.clip) and self.clip > 0, "must be positive"),
            (CpSkyJointCombineConfig.nIter, self.nIter >= 1, "must be >= 1"),
            (
                CpSkyJointCombineConfig.rejectRms,
                math.isfinite(self.rejectRms) and self.rejectRms > 0,
                "must be positive",
            ),
            (CpSkyJointCombineConfig.maxRejectRounds, self.maxRejectRounds >= 0, "must be >= 0"),
        ]
        for field, ok, message in checks:
            if not ok:
                value = getattr(self, field.name)
                raise pexConfig.FieldValidationError(field, self, f"{field.name} {message}, got {value!r}")


@dataclass
class JointBins:
    """The bins of many visits and detectors, as one ``(visits, bins)`` matrix.

    Attributes
    ----------
    values : `numpy.ndarray`
        ``(visits, bins)``: each detector's bins, row-major, detectors one
        after another; NaN where a visit lacks a detector or a bin is empty.
    detectorIndex : `numpy.ndarray`
        Position in ``detectors`` of each bin's detector.
    focalPlaneX, focalPlaneY : `numpy.ndarray`
        Focal-plane position (mm) of each bin centre.
    visits, detectors : `list` [`int`]
        The rows' visits and the detectors, sorted.
    shapes : `dict` [`int`, `tuple` [`int`, `int`]]
        ``(ny, nx)`` bins of each detector.
    bboxes : `dict` [`int`, `Box2I`]
        Each detector's full-resolution box.
    """

    values: np.ndarray
    detectorIndex: np.ndarray
    focalPlaneX: np.ndarray
    focalPlaneY: np.ndarray
    visits: list[int]
    detectors: list[int]
    shapes: dict[int, tuple[int, int]]
    bboxes: dict[int, Box2I]


def stackJointBins(inputBkgs: Mapping[tuple[int, int], BackgroundList], camera: Camera) -> JointBins:
    """Arrange per-visit, per-detector bins into one matrix with their focal-plane positions.

    Parameters
    ----------
    inputBkgs : mapping of (`int`, `int`) to `BackgroundList`
        Single-element lists (`CpSkyBinTask`) by ``(visit, detector)``.
    camera : `Camera`
        Gives each detector's pixel-to-focal-plane transform.

    Returns
    -------
    bins : `JointBins`

    Raises
    ------
    ValueError
        If a list does not hold one element, or a detector's bins differ
        between visits.
    """
    if not inputBkgs:
        raise ValueError("no binned images to fit")
    visits = sorted({visit for visit, _ in inputBkgs})
    detectors = sorted({detector for _, detector in inputBkgs})
    statsImages: dict[tuple[int, int], np.ndarray] = {}
    shapes: dict[int, tuple[int, int]] = {}
    bboxes: dict[int, Box2I] = {}
    for (visit, detector), backgrounds in inputBkgs.items():
        if len(backgrounds) != 1:
            raise ValueError(
                f"visit {visit} detector {detector}: {len(backgrounds)} background elements, expected one"
            )
        background = backgrounds[0][0]
        array = background.getStatsImage().image.array
        bbox = background.getImageBBox()
        if detector in shapes and (shapes[detector] != array.shape or bboxes[detector] != bbox):
            raise ValueError(f"detector {detector}'s bins differ between visits")
        shapes[detector], bboxes[detector] = array.shape, bbox
        statsImages[(visit, detector)] = array
    offsets = np.cumsum([0] + [shapes[d][0] * shapes[d][1] for d in detectors])
    values = np.full((len(visits), int(offsets[-1])), np.nan)
    visitRow = {visit: row for row, visit in enumerate(visits)}
    for (visit, detector), array in statsImages.items():
        start = offsets[detectors.index(detector)]
        values[visitRow[visit], start : start + array.size] = array.reshape(-1)
    xs, ys = [], []
    for detector in detectors:
        ny, nx = shapes[detector]
        x, y = binCentres(camera[detector], bboxes[detector], nx, ny)
        xs.append(x)
        ys.append(y)
    detectorIndex = np.repeat(np.arange(len(detectors)), np.diff(offsets))
    return JointBins(
        values=values,
        detectorIndex=detectorIndex,
        focalPlaneX=np.concatenate(xs),
        focalPlaneY=np.concatenate(ys),
        visits=visits,
        detectors=detectors,
        shapes=shapes,
        bboxes=bboxes,
    )


def _binVariances(result: JointTemplateResult, values: np.ndarray, model: np.ndarray) -> np.ndarray:
    """Per bin, the variance of the template: the kept residuals' variance over ``sum a**2``."""
    kept = result.kept
    residuals = np.where(kept, values - np.nan_to_num(model), 0.0)
    counts = kept.sum(axis=0)
    amplitudeSquares = np.where(kept, np.nan_to_num(result.amplitudes)[:, None] ** 2, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (residuals**2).sum(axis=0) / (counts - 1) / amplitudeSquares


class CpSkyJointCombineTask(PipelineTask):
    """Fit one template to every visit and detector of a filter; write it as the detectors' sky frames."""

    ConfigClass = CpSkyJointCombineConfig
    config: CpSkyJointCombineConfig
    _DefaultName = "cpSkyJointCombine"

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
        camera = cameraFrom(butlerQC.get(inputRefs.camera))
        inputBkgs = {
            (int(ref.dataId["visit"]), int(ref.dataId["detector"])): backgroundListFrom(butlerQC.get(ref))
            for ref in inputRefs.inputBkgs
        }
        outputs = self.run(
            inputBkgs, camera, physicalFilter=str(outputRefs.outputSummary.dataId["physical_filter"])
        )
        for ref in outputRefs.outputCalibs:
            frame = outputs.outputCalibs.get(int(ref.dataId["detector"]))
            if frame is not None:
                butlerQC.put(frame, ref)
        butlerQC.put(outputs.outputSummary, outputRefs.outputSummary)

    def run(
        self,
        inputBkgs: Mapping[tuple[int, int], BackgroundList],
        camera: Camera,
        physicalFilter: str | None = None,
    ) -> Struct:
        """Fit the joint template and make the sky frames.

        Parameters
        ----------
        inputBkgs : mapping of (`int`, `int`) to `BackgroundList`
            ``(visit, detector)`` to that detector's bins (`CpSkyBinTask`).
        camera : `Camera`
            The camera.
        physicalFilter : `str`, optional
            Recorded in the headers (``FILTER``).

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``outputCalibs``: ``{detector: sky frame}`` (an `ExposureF` of
            the template's bins, empty bins set to the detector's median,
            with ``BOX.*`` and ``ALGORITHM`` cards); ``outputSummary``: per
            visit the amplitude, fractional residual RMS and rejection;
            ``fit``: the `JointTemplateResult`; ``bins``: the `JointBins`.
        """
        if not inputBkgs:
            raise NoWorkFound("no binned images to fit")
        bins = stackJointBins(inputBkgs, camera)
        basis = ChebyshevBasis(
            self.config.smoothOrder,
            float(bins.focalPlaneX.min()),
            float(bins.focalPlaneX.max()),
            float(bins.focalPlaneY.min()),
            float(bins.focalPlaneY.max()),
        )
        design = basis.design(bins.focalPlaneX, bins.focalPlaneY)
        fit = fitJointTemplate(
            bins.values,
            design,
            bins.detectorIndex,
            clip=self.config.clip,
            nIter=self.config.nIter,
            rejectRms=self.config.rejectRms,
            maxRejectRounds=self.config.maxRejectRounds,
        )
        variances = _binVariances(fit, bins.values, fit.model(design, bins.detectorIndex))
        accepted = [visit for visit, rejected in zip(bins.visits, fit.rejected, strict=True) if not rejected]
        for visit, rms in zip(bins.visits, fit.fractionalRms, strict=True):
            if visit not in accepted:
                self.log.warning("Visit %d rejected: fractional residual RMS %.4g", visit, rms)
        frames: dict[int, ExposureF] = {}
        for index, detector in enumerate(bins.detectors):
            frames[detector] = self._frame(
                fit.template[bins.detectorIndex == index],
                variances[bins.detectorIndex == index],
                bins.shapes[detector],
                bins.bboxes[detector],
                camera,
                detector,
                accepted,
                physicalFilter,
            )
        summary = {
            "visits": [int(v) for v in bins.visits],
            "rejected": [bool(r) for r in fit.rejected],
            "amplitudes": [float(a) for a in fit.amplitudes],
            "fractionalRms": [float(r) for r in fit.fractionalRms],
            "iterations": int(fit.iterations),
        }
        self.log.info(
            "Joint sky template of %d detectors from %d of %d visits in %d iterations",
            len(bins.detectors),
            len(accepted),
            len(bins.visits),
            fit.iterations,
        )
        return Struct(outputCalibs=frames, outputSummary=summary, fit=fit, bins=bins)

    def _frame(
        self,
        template: np.ndarray,
        variance: np.ndarray,
        shape: tuple[int, int],
        bbox: Box2I,
        camera: Camera,
        detector: int,
        visits: Sequence[int],
        physicalFilter: str | None,
    ) -> ExposureF:
        """One detector's sky frame from its template bins."""
        image = template.reshape(shape).copy()
        variance = variance.reshape(shape).copy()
        isBad = ~np.isfinite(image)
        if isBad.all():
            raise ValueError(f"detector {detector}: no bin of the template has a value")
        # As the clipped-mean construction does: empty bins take the median of the others.
        image[isBad] = np.median(image[~isBad])
        badVariance = ~np.isfinite(variance)
        variance[badVariance] = np.median(variance[~badVariance]) if not badVariance.all() else np.nan
        statsImage = MaskedImageF(shape[1], shape[0])
        statsImage.image.array[...] = image
        statsImage.variance.array[...] = variance
        frame = self.sky.backgroundToExposure(statsImage, bbox)
        frame.setDetector(camera[detector])
        metadata = frame.getMetadata()
        metadata.set("OBSTYPE", "SKY")
        metadata.set("SKYMETH", "joint")
        metadata.set("CALIB_NINPUTS", len(visits))
        for index, visit in enumerate(visits):
            metadata.set(f"CPP_INPUT_{index}", int(visit))
        if physicalFilter is not None:
            metadata.set("FILTER", physicalFilter)
        return frame
