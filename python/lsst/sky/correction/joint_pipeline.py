"""The joint fit as a two-step pipeline: per-detector bins, then one fit per visit.

`SkyCorrectionTask` with ``fitMode="joint"`` needs of each detector only its
bin statistics, its inverted calexpBackground, its sky-frame element and the
binned images for the mosaics (`DetectorSkyBins`).  Split at that point, the
pixel work becomes one quantum per detector (`SkyBinsTask`), which
``pipetask run -j N`` and BPS spread over processes and nodes, and the fit
one small quantum per visit (`SkyJointFitTask`).  Both steps call the one-task
mode's functions, so their outputs are the one-task mode's (the same
``skyCorr`` and mosaics, with the same dataset types).
"""

from __future__ import annotations

__all__ = [
    "SkyBinsConfig",
    "SkyBinsConnections",
    "SkyBinsTask",
    "SkyJointFitConfig",
    "SkyJointFitConnections",
    "SkyJointFitTask",
]

import dataclasses
from collections.abc import Sequence
from typing import Any

import lsst.pex.config as pexConfig
import lsst.pipe.base.connectionTypes as cT
from lsst.pipe.base import (
    InputQuantizedConnection,
    OutputQuantizedConnection,
    PipelineTask,
    PipelineTaskConfig,
    PipelineTaskConnections,
    QuantumContext,
    Struct,
)
from lsst.utils.timer import timeMethod

from ._afw_interop import AFWLITE, afwFamily, backgroundListTo, cameraFrom, familyOf, imageTo
from ._input_checks import checkRunInputs
from ._inputs import BackgroundListInput, CameraLike, ExposureInput, ImageInput, fetchExposure
from ._logging import withPackageLog
from ._parallel import DetectorPool, WorkLedger
from ._sky_bins import DetectorSkyBins
from ._storage_classes import STORAGE_CLASSES
from .afwlite.math import BackgroundList
from .joint_fit import JointFitConfig
from .mask_objects import MaskObjectsConfig, MaskObjectsTask
from .sky_correction import (
    DetectorState,
    SkyCorrectionConnections,
    binForMosaics,
    fetchDetector,
    fitJointStates,
    makeMosaicImages,
    maskDetectorObjects,
    measureJointInputs,
    restoreOriginalBackground,
)
from .sky_measurement import SkyMeasurementConfig, SkyMeasurementTask

# Step 1: one detector ----------------------------------------------------------------------------


class SkyBinsConnections(PipelineTaskConnections, dimensions=("instrument", "visit", "detector")):
    """Connections of `SkyBinsTask`: one detector's inputs of `SkyCorrectionTask`, its bins out."""

    # SkyCorrectionTask's inputs, one detector's worth: the same dataset types, storage classes
    # and dimensions, so the two pipelines read the same repository.
    calExp = dataclasses.replace(
        SkyCorrectionConnections.calExps, multiple=False, doc="Background-subtracted calibrated exposure."
    )
    calBkg = dataclasses.replace(
        SkyCorrectionConnections.calBkgs,
        multiple=False,
        doc="Subtracted background of the calibrated exposure.",
    )
    backgroundToPhotometricRatio = dataclasses.replace(
        SkyCorrectionConnections.backgroundToPhotometricRatioHandles, multiple=False
    )
    skyFrame = dataclasses.replace(
        SkyCorrectionConnections.skyFrames, multiple=False, doc="Calibration sky frame."
    )
    camera = SkyCorrectionConnections.camera
    skyBins = cT.Output(
        doc="The joint fit's bin statistics of the restored, object-masked calexp, its inverted "
        "calexpBackground, the sky frame's background element and the binned images for the mosaics.",
        name="skyCorrBins",
        storageClass=STORAGE_CLASSES.detectorSkyBins,
        dimensions=["instrument", "visit", "detector"],
    )

    def __init__(self, *, config: SkyBinsConfig | None = None) -> None:
        super().__init__(config=config)
        assert config is not None
        if not config.doSky:
            del self.skyFrame
        if not config.doApplyFlatBackgroundRatio:
            del self.backgroundToPhotometricRatio


class SkyBinsConfig(PipelineTaskConfig, pipelineConnections=SkyBinsConnections):
    """Configuration of `SkyBinsTask`: `SkyCorrectionConfig`'s fields of the per-detector work.

    The names and defaults are `SkyCorrectionConfig`'s, so a config file of
    the one-task joint mode applies here field for field (less
    ``fitMode``, ``bgModel*`` and the threading and cache fields).
    """

    doApplyFlatBackgroundRatio = pexConfig.Field[bool](
        dtype=bool,
        default=False,
        doc="Multiply the calexp by its background-to-photometric flat ratio before correcting it?",
    )
    maskObjects = pexConfig.ConfigurableField[MaskObjectsConfig](
        target=MaskObjectsTask,
        doc="Mask objects to find good sky.",
    )
    doMaskObjects = pexConfig.Field[bool](
        dtype=bool, default=True, doc="Iteratively mask objects to find good sky?"
    )
    sky = pexConfig.ConfigurableField[SkyMeasurementConfig](
        target=SkyMeasurementTask, doc="Sky measurement (turns the sky frame into a background element)."
    )
    doSky = pexConfig.Field[bool](dtype=bool, default=True, doc="Measure the sky frame's bins?")
    binning = pexConfig.Field[int](dtype=int, default=8, doc="Binning factor for the focal-plane mosaics.")
    joint = pexConfig.ConfigField[JointFitConfig](
        dtype=JointFitConfig, doc="The joint fit (binSize and mask are used here)."
    )

    def validate(self) -> None:
        super().validate()
        if self.binning < 1:
            raise pexConfig.FieldValidationError(
                SkyBinsConfig.binning, self, f"binning must be >= 1, got {self.binning}"
            )


class SkyBinsTask(PipelineTask):
    """Restore one detector's background, mask its objects and measure the joint fit's bins."""

    ConfigClass = SkyBinsConfig
    config: SkyBinsConfig
    _DefaultName = "skyCorrBins"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **withPackageLog(kwargs))
        self.makeSubtask("sky")
        self.makeSubtask("maskObjects")
        self.sky: SkyMeasurementTask
        self.maskObjects: MaskObjectsTask

    def runQuantum(
        self,
        butlerQC: QuantumContext,
        inputRefs: InputQuantizedConnection,
        outputRefs: OutputQuantizedConnection,
    ) -> None:
        inputs = butlerQC.get(inputRefs)
        inputs.setdefault("skyFrame", None)  # the connection is removed when doSky is off
        butlerQC.put(self.run(**inputs), outputRefs)

    @timeMethod
    def run(
        self,
        calExp: ExposureInput,
        calBkg: BackgroundListInput,
        skyFrame: ExposureInput | None,
        camera: CameraLike,
        backgroundToPhotometricRatio: ImageInput | None = None,
    ) -> Struct:
        """Measure one detector's share of the joint fit.

        Parameters
        ----------
        calExp : `ExposureF` or handle
            The calexp (not modified).
        calBkg : `BackgroundList` or handle
            Its subtracted background (not modified).
        skyFrame : `ExposureF` or handle, optional
            Its sky frame; required when ``doSky``.
        camera : `Camera`
            The camera.
        backgroundToPhotometricRatio : `ImageF` or handle, optional
            The ratio image; required when ``doApplyFlatBackgroundRatio``.

        Returns
        -------
        results : `lsst.pipe.base.Struct`
            ``skyBins`` (`DetectorSkyBins`).
        """
        ratios = [] if backgroundToPhotometricRatio is None else [backgroundToPhotometricRatio]
        checkRunInputs(
            needSkyFrames=self.config.doSky,
            needRatios=self.config.doApplyFlatBackgroundRatio,
            calExps=[calExp],
            calBkgs=[calBkg],
            skyFrames=None if skyFrame is None else [skyFrame],
            ratios=ratios,
            camera=camera,
        )
        fetched = fetchDetector(
            0,
            [calExp],
            [calBkg],
            cameraFrom(camera),
            ratios if self.config.doApplyFlatBackgroundRatio else None,
            {"joint.mask": self.config.joint.mask},
        )
        calExpF, detector = fetched.calExp, fetched.detector
        detectorId = detector.getId()
        if fetched.ratio is not None:
            calExpF.maskedImage *= fetched.ratio
        skyCorr = restoreOriginalBackground(calExpF, fetched.calBkg, detectorId, self.log)
        if self.config.doMaskObjects:
            maskDetectorObjects(self.maskObjects, calExpF, detectorId, self.log)
        skyExp = None
        if self.config.doSky:
            assert skyFrame is not None
            skyExp = fetchExposure(skyFrame, "sky frame", 0)
        bins, skyBackground = measureJointInputs(calExpF, detector, skyExp, self.sky, self.config.joint)
        binnedRestored, binnedNoData = binForMosaics(calExpF, self.config.binning)
        return Struct(
            skyBins=DetectorSkyBins(
                bins=bins,
                bbox=calExpF.getBBox(),
                skyCorr=skyCorr,
                skyBackground=skyBackground,
                binnedRestored=binnedRestored,
                binnedNoData=binnedNoData,
                binning=self.config.binning,
                binSize=self.config.joint.binSize,
                family=familyOf(fetched.calBkg).name,
            )
        )


# Step 2: the visit ------------------------------------------------------------------------------


class SkyJointFitConnections(PipelineTaskConnections, dimensions=("instrument", "visit")):
    """Connections of `SkyJointFitTask`: every detector's bins in, `SkyCorrectionTask`'s outputs out."""

    skyBins = cT.Input(
        doc="Every detector's bins (SkyBinsTask).",
        name="skyCorrBins",
        multiple=True,
        storageClass=STORAGE_CLASSES.detectorSkyBins,
        dimensions=["instrument", "visit", "detector"],
    )
    camera = SkyCorrectionConnections.camera
    # The outputs are SkyCorrectionTask's: same names, storage classes and dimensions.
    skyCorr = SkyCorrectionConnections.skyCorr
    calExpMosaic = SkyCorrectionConnections.calExpMosaic
    calBkgMosaic = SkyCorrectionConnections.calBkgMosaic


class SkyJointFitConfig(PipelineTaskConfig, pipelineConnections=SkyJointFitConnections):
    """Configuration of `SkyJointFitTask` (`SkyCorrectionConfig`'s names and defaults).

    ``doSky``, ``binning``, ``joint.binSize`` and ``joint.mask`` must be
    those the bins were measured with (`SkyBinsConfig`); ``binning`` and
    ``joint.binSize`` are checked against the bins.
    """

    doSky = pexConfig.Field[bool](dtype=bool, default=True, doc="Fit a sky-frame scale?")
    binning = pexConfig.Field[int](dtype=int, default=8, doc="Binning factor for the focal-plane mosaics.")
    joint = pexConfig.ConfigField[JointFitConfig](dtype=JointFitConfig, doc="The joint fit.")


class SkyJointFitTask(PipelineTask):
    """Fit the joint model to a visit's bins; write ``skyCorr`` and the mosaics."""

    ConfigClass = SkyJointFitConfig
    config: SkyJointFitConfig
    _DefaultName = "skyCorrJointFit"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **withPackageLog(kwargs))

    def runQuantum(
        self,
        butlerQC: QuantumContext,
        inputRefs: InputQuantizedConnection,
        outputRefs: OutputQuantizedConnection,
    ) -> None:
        """Fit the detectors whose bins exist; write ``skyCorr`` for those, in their order."""
        present = {ref.dataId["detector"] for ref in inputRefs.skyBins}
        outputRefs.skyCorr = [ref for ref in outputRefs.skyCorr if ref.dataId["detector"] in present]
        inputs = butlerQC.get(inputRefs)
        outputs = self.run(**inputs)
        byDetector = dict(zip(outputs.detectorIds, outputs.skyCorr, strict=True))
        outputs.skyCorr = [byDetector[ref.dataId["detector"]] for ref in outputRefs.skyCorr]
        butlerQC.put(outputs, outputRefs)

    @timeMethod
    def run(self, skyBins: Sequence[DetectorSkyBins], camera: CameraLike) -> Struct:
        """Fit the visit's joint model.

        Parameters
        ----------
        skyBins : `list` [`DetectorSkyBins`]
            Every detector's bins, in any order.
        camera : `Camera`
            The camera.

        Returns
        -------
        results : `lsst.pipe.base.Struct`
            ``skyFrameScale`` (`float` or `None`), ``skyCorr`` (`list` of
            `BackgroundList`, the order of ``skyBins``), ``detectorIds``
            (their detectors), ``calExpMosaic`` and ``calBkgMosaic``, as
            `SkyCorrectionTask.run` returns them in joint mode.

        Raises
        ------
        ValueError
            If there are no bins, a detector comes twice, or the bins were
            measured with another ``binning``, ``joint.binSize`` or
            ``doSky`` than this config's.
        """
        if not skyBins:
            raise ValueError("SkyJointFitTask: no detector's bins to fit")
        afwliteCamera = cameraFrom(camera)
        ids = [entry.detectorId for entry in skyBins]
        if len(set(ids)) != len(ids):
            raise ValueError(f"SkyJointFitTask: a detector's bins come more than once: {sorted(ids)}")
        for entry in skyBins:
            self._checkMeasuredAlike(entry)
        # The fit's sums run in ascending detector order, as the one-task mode's do.
        ordered = sorted(skyBins, key=lambda entry: entry.detectorId)
        states = [_state(entry, afwliteCamera) for entry in ordered]
        skyFrameScale = fitJointStates(
            states, afwliteCamera, self.config.joint, self.config.doSky, self.log, self.metadata
        )
        with DetectorPool(1) as pool:  # the mosaics only bin small images: no threads
            calExpMosaic, calBkgMosaic = makeMosaicImages(
                states, afwliteCamera, self.config.binning, pool, WorkLedger(), self.log
            )
        family = afwFamily() if ordered[0].family == "afw" else AFWLITE
        byId = {state.detectorId: state for state in states}
        return Struct(
            skyFrameScale=skyFrameScale,
            skyCorr=[backgroundListTo(byId[detectorId].skyCorr, family) for detectorId in ids],
            detectorIds=ids,
            calExpMosaic=imageTo(calExpMosaic, family),
            calBkgMosaic=imageTo(calBkgMosaic, family),
        )

    def _checkMeasuredAlike(self, entry: DetectorSkyBins) -> None:
        """Refuse bins measured with another config than this one's."""
        where = f"SkyJointFitTask: detector {entry.detectorId}'s bins"
        if entry.binning != self.config.binning:
            raise ValueError(
                f"{where} were binned by {entry.binning} for the mosaics, config.binning is "
                f"{self.config.binning}"
            )
        if entry.binSize != self.config.joint.binSize:
            raise ValueError(
                f"{where} were measured with joint.binSize {entry.binSize}, the config has "
                f"{self.config.joint.binSize}"
            )
        if (entry.bins.skyFrame is not None) != self.config.doSky:
            state = "have" if entry.bins.skyFrame is not None else "lack"
            raise ValueError(f"{where} {state} sky-frame bins, config.doSky is {self.config.doSky}")


def _state(entry: DetectorSkyBins, camera: Any) -> DetectorState:
    """The one-task mode's per-detector state, rebuilt from the persisted bins."""
    detector = camera[entry.detectorId]
    if detector.getBBox() != entry.bbox:
        raise ValueError(
            f"SkyJointFitTask: detector {entry.detectorId}'s bins cover {entry.bbox}, the camera's "
            f"detector {detector.getBBox()}"
        )
    skyCorr = BackgroundList(*entry.skyCorr)  # a new list: the fit appends to it, never to the entry's
    return DetectorState(
        detectorId=entry.detectorId,
        detector=detector,
        bbox=entry.bbox,
        skyCorr=skyCorr,
        nOriginal=len(skyCorr),
        family=AFWLITE,
        binnedRestored=entry.binnedRestored,
        binnedNoData=entry.binnedNoData,
        jointBins=entry.bins,
        skyBackground=entry.skyBackground,
    )
