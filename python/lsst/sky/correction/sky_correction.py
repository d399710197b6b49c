"""Full-focal-plane sky correction of one visit (``SkyCorrectionTask``).

The equivalent of ``lsst.pipe.tasks.skyCorrection.SkyCorrectionTask``: same
connections, config fields and defaults, same ``skyCorr`` element order and
signs.  What differs is how pixels move: each calexp and sky frame is fetched
once per `SkyCorrectionTask.run`, one full-resolution detector is in flight
at a time, and the later passes read a `DetectorPixelCache` (restored image
plus packed bad-pixel bits) instead of re-reading the Butler.
"""

from __future__ import annotations

__all__ = ["SkyCorrectionConfig", "SkyCorrectionConnections", "SkyCorrectionTask"]

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base.connectionTypes as cT
import lsst.utils.logging
from lsst.pipe.base import (
    AlgorithmError,
    AnnotatedPartialOutputsError,
    PipelineTask,
    PipelineTaskConfig,
    PipelineTaskConnections,
    Struct,
)

from .afw_interop import (
    backgroundListFrom,
    backgroundListTo,
    cameraFrom,
    exposureFrom,
    familyOf,
    imageFrom,
    imageTo,
)
from .afwlite.geom import Box2I
from .afwlite.image import ExposureF, ImageF, Mask
from .afwlite.math import BackgroundList, binImage
from .errors import NoUsableBackgroundSuperpixelsError
from .focal_plane_background import FocalPlaneBackground, FocalPlaneBackgroundConfig
from .mask_objects import MaskObjectsConfig, MaskObjectsTask
from .mosaic import makeCameraImage
from .pixel_cache import DetectorPixelCache
from .sky_measurement import SkyMeasurementConfig, SkyMeasurementTask
from .storage_classes import STORAGE_CLASSES

_MB = 1024 * 1024


class SkyCorrectionConnections(PipelineTaskConnections, dimensions=("instrument", "visit")):
    """Connections of `SkyCorrectionTask`: the reference's names and dimensions."""

    rawLinker = None  # the reference has no such connection; kept out of the class namespace

    calExps = cT.Input(
        doc="Background-subtracted calibrated exposures.",
        name="calexp",
        multiple=True,
        deferLoad=True,
        storageClass=STORAGE_CLASSES.exposure,
        dimensions=["instrument", "visit", "detector"],
    )
    calBkgs = cT.Input(
        doc="Subtracted backgrounds for input calibrated exposures.",
        name="calexpBackground",
        multiple=True,
        storageClass=STORAGE_CLASSES.background,
        dimensions=["instrument", "visit", "detector"],
    )
    backgroundToPhotometricRatioHandles = cT.Input(
        doc="Ratio of a background-flattened image to a photometric-flattened image. "
        "Only used if doApplyFlatBackgroundRatio is True.",
        multiple=True,
        name="background_to_photometric_ratio",
        storageClass=STORAGE_CLASSES.image,
        dimensions=["instrument", "visit", "detector"],
        deferLoad=True,
    )
    skyFrames = cT.PrerequisiteInput(
        doc="Calibration sky frames.",
        name="sky",
        multiple=True,
        deferLoad=True,
        storageClass=STORAGE_CLASSES.exposure,
        dimensions=["instrument", "physical_filter", "detector"],
        isCalibration=True,
    )
    camera = cT.PrerequisiteInput(
        doc="Input camera.",
        name="camera",
        storageClass=STORAGE_CLASSES.camera,
        dimensions=["instrument"],
        isCalibration=True,
    )
    skyCorr = cT.Output(
        doc="Sky correction data, to be subtracted from the calibrated exposures.",
        name="skyCorr",
        multiple=True,
        storageClass=STORAGE_CLASSES.background,
        dimensions=["instrument", "visit", "detector"],
    )
    calExpMosaic = cT.Output(
        doc="Full focal plane mosaicked image of the sky corrected calibrated exposures.",
        name="calexp_skyCorr_visit_mosaic",
        storageClass=STORAGE_CLASSES.image,
        dimensions=["instrument", "visit"],
    )
    calBkgMosaic = cT.Output(
        doc="Full focal plane mosaicked image of the sky corrected calibrated exposure backgrounds.",
        name="calexpBackground_skyCorr_visit_mosaic",
        storageClass=STORAGE_CLASSES.image,
        dimensions=["instrument", "visit"],
    )

    def __init__(self, *, config: SkyCorrectionConfig | None = None) -> None:
        super().__init__(config=config)
        assert config is not None
        if not config.doSky:
            del self.skyFrames
        if not config.doApplyFlatBackgroundRatio:
            del self.backgroundToPhotometricRatioHandles


del SkyCorrectionConnections.rawLinker


class SkyCorrectionConfig(PipelineTaskConfig, pipelineConnections=SkyCorrectionConnections):
    """Configuration of `SkyCorrectionTask` (the reference's fields and defaults)."""

    doApplyFlatBackgroundRatio = pexConfig.Field[bool](
        dtype=bool,
        default=False,
        doc="Multiply each calexp by its background-to-photometric flat ratio before correcting it?",
    )
    maskObjects = pexConfig.ConfigurableField[MaskObjectsConfig](
        target=MaskObjectsTask,
        doc="Mask objects to find good sky.",
    )
    doMaskObjects = pexConfig.Field[bool](
        dtype=bool, default=True, doc="Iteratively mask objects to find good sky?"
    )
    bgModel1 = pexConfig.ConfigField[FocalPlaneBackgroundConfig](
        dtype=FocalPlaneBackgroundConfig,
        doc="Initial background model, prior to sky frame subtraction.",
    )
    undoBgModel1 = pexConfig.Field[bool](
        dtype=bool,
        default=False,
        doc="If True, adds back initial background model after sky and removes bgModel1 from the list.",
    )
    sky = pexConfig.ConfigurableField[SkyMeasurementConfig](target=SkyMeasurementTask, doc="Sky measurement.")
    doSky = pexConfig.Field[bool](dtype=bool, default=True, doc="Do sky frame subtraction?")
    bgModel2 = pexConfig.ConfigField[FocalPlaneBackgroundConfig](
        dtype=FocalPlaneBackgroundConfig,
        doc="Final (cleanup) background model, after sky frame subtraction.",
    )
    doBgModel2 = pexConfig.Field[bool](
        dtype=bool, default=True, doc="Do final (cleanup) background model subtraction?"
    )
    binning = pexConfig.Field[int](dtype=int, default=8, doc="Binning factor for the focal-plane mosaics.")
    # Additions of this package (the reference re-reads the Butler instead).
    cacheMemoryBudget = pexConfig.Field[int](
        dtype=int,
        default=1024,
        doc="Memory (MiB) for the per-detector pixel cache the later passes read; detectors beyond "
        "it are spilled to a temporary file under cacheDirectory and removed when the run ends.",
    )
    cacheDirectory = pexConfig.Field[str](
        dtype=str,
        default=None,
        optional=True,
        doc="Where the pixel cache spills (default: the system temporary directory).",
    )

    def setDefaults(self) -> None:
        super().setDefaults()
        self.bgModel2.doSmooth = True
        self.bgModel2.minFrac = 0.3
        self.bgModel2.xSize = 256
        self.bgModel2.ySize = 256
        self.bgModel2.smoothScale = 1.0

    def validate(self) -> None:
        super().validate()
        if self.undoBgModel1 and not self.doSky and not self.doBgModel2:
            raise ValueError("If undoBgModel1 is True, task requires at least one of doSky or doBgModel2.")
        if self.binning < 1:
            raise pexConfig.FieldValidationError(
                SkyCorrectionConfig.binning, self, f"binning must be >= 1, got {self.binning}"
            )
        if self.cacheMemoryBudget < 0:
            raise pexConfig.FieldValidationError(
                SkyCorrectionConfig.cacheMemoryBudget,
                self,
                f"cacheMemoryBudget must be >= 0 MiB, got {self.cacheMemoryBudget}",
            )


@dataclass
class _DetectorState:
    """What the task keeps per detector between passes (no full-resolution pixels)."""

    detectorId: int
    detector: Any
    bbox: Box2I
    skyCorr: BackgroundList
    nOriginal: int  # number of inverted calexpBackground elements at the head of skyCorr
    binnedRestored: np.ndarray  # binned restored image, for the mosaics
    binnedNoData: np.ndarray  # binned NO_DATA mask, for the mosaics

    def newElements(self) -> BackgroundList:
        """The elements this task added (everything after the inverted calexpBackground)."""
        return BackgroundList(*self.skyCorr[self.nOriginal :])


class SkyCorrectionTask(PipelineTask):
    """Perform a full focal plane sky correction."""

    ConfigClass = SkyCorrectionConfig
    config: SkyCorrectionConfig
    _DefaultName = "skyCorr"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("parentTask") is None and kwargs.get("log") is None:
            # Log as lsst.sky.correction.skyCorr (pipe_base would pick lsst.skyCorr).
            kwargs["log"] = lsst.utils.logging.getLogger("lsst.sky.correction")
        super().__init__(*args, **kwargs)
        self.makeSubtask("sky")
        self.makeSubtask("maskObjects")
        self.sky: SkyMeasurementTask
        self.maskObjects: MaskObjectsTask

    # Butler I/O --------------------------------------------------------------
    def runQuantum(self, butlerQC: Any, inputRefs: Any, outputRefs: Any) -> None:
        """Process the detectors present in every input, in ascending order."""
        detectorSets = {
            "calExps": {ref.dataId["detector"] for ref in inputRefs.calExps},
            "calBkgs": {ref.dataId["detector"] for ref in inputRefs.calBkgs},
        }
        if self.config.doSky:
            detectorSets["skyFrames"] = {ref.dataId["detector"] for ref in inputRefs.skyFrames}
        if self.config.doApplyFlatBackgroundRatio:
            detectorSets["backgroundToPhotometricRatioHandles"] = {
                ref.dataId["detector"] for ref in inputRefs.backgroundToPhotometricRatioHandles
            }
        common = sorted(set.intersection(*detectorSets.values()))
        for detector in sorted(set.union(*detectorSets.values()) - set(common)):
            missing = [name for name, detectors in detectorSets.items() if detector not in detectors]
            self.log.warning("Detector %d is not processed: it has no %s.", detector, ", ".join(missing))
        for name in (*detectorSets, "skyCorr"):
            refs = outputRefs if name == "skyCorr" else inputRefs
            byDetector = {ref.dataId["detector"]: ref for ref in getattr(refs, name)}
            setattr(refs, name, [byDetector[det] for det in common if det in byDetector])

        inputs = butlerQC.get(inputRefs)
        inputs.setdefault("skyFrames", None)  # the connection is removed when doSky is off
        try:
            outputs = self.run(**inputs)
        except AlgorithmError as error:
            annotated = AnnotatedPartialOutputsError.annotate(error, self, log=self.log)
            raise annotated from error
        butlerQC.put(outputs, outputRefs)

    # Algorithm -----------------------------------------------------------------
    def run(
        self,
        calExps: Sequence[Any],
        calBkgs: Sequence[BackgroundList],
        skyFrames: Sequence[Any] | None,
        camera: Any,
        backgroundToPhotometricRatioHandles: Sequence[Any] = (),
    ) -> Struct:
        """Correct the sky of one visit.

        Parameters
        ----------
        calExps : `list`
            One calexp per detector: `ExposureF` objects or dataset handles
            (``DeferredDatasetHandle``/``InMemoryDatasetHandle``) whose
            ``get()`` returns one.  Each is fetched once; the caller's
            objects are never modified.
        calBkgs : `list` [`BackgroundList`]
            The background subtracted from each calexp (same order).  Not
            modified: the task works on copies.
        skyFrames : `list`, optional
            One sky frame per detector (exposure or handle; same order);
            required when ``doSky``.
        camera : `~lsst.sky.correction.afwlite.cameraGeom.Camera`
            The camera.
        backgroundToPhotometricRatioHandles : `list`, optional
            One ratio image (or handle) per detector; required when
            ``doApplyFlatBackgroundRatio``.

        Returns
        -------
        results : `lsst.pipe.base.Struct`
            ``skyFrameScale`` (`float` or `None`), ``skyCorr`` (`list` of
            `BackgroundList`, the calexps' order), ``calExpMosaic`` and
            ``calBkgMosaic`` (`ImageF`).

        Raises
        ------
        NoUsableBackgroundSuperpixelsError
            If no superpixel of a focal-plane model is filled enough.
        """
        self._checkInputs(calExps, calBkgs, skyFrames, backgroundToPhotometricRatioHandles)
        # Outputs are built in the family (afw or afwlite) of the inputs; the work is afwlite.
        family = familyOf(calBkgs[0])
        camera = cameraFrom(camera)
        # Work in ascending detector order whatever the input order, so that the
        # focal-plane sums (and so every output bit) do not depend on it.
        order = _detectorOrder(calExps)
        calExps = [calExps[i] for i in order]
        calBkgs = [calBkgs[i] for i in order]
        if skyFrames is not None and self.config.doSky:
            skyFrames = [skyFrames[i] for i in order]
        if self.config.doApplyFlatBackgroundRatio:
            backgroundToPhotometricRatioHandles = [backgroundToPhotometricRatioHandles[i] for i in order]
        budget = self.config.cacheMemoryBudget * _MB
        with DetectorPixelCache(budget, spillDirectory=self.config.cacheDirectory) as cache:
            states = self._firstPass(calExps, calBkgs, camera, backgroundToPhotometricRatioHandles, cache)
            if cache.spilledDetectors:
                self.log.info(
                    "Pixel cache: %.0f MiB in memory, %d detectors spilled to %s",
                    cache.bytesInMemory / _MB,
                    len(cache.spilledDetectors),
                    cache.spillDirectory,
                )

            skyFrameScale = None
            if self.config.doSky:
                assert skyFrames is not None
                skyFrameScale = self._subtractSkyFrames(states, skyFrames, cache)

            if self.config.undoBgModel1:
                # bgModel1 is the first element this task added.
                for state in states:
                    elements = list(state.skyCorr)
                    del elements[state.nOriginal]
                    state.skyCorr = BackgroundList(*elements)

            if self.config.doBgModel2:
                self._fitBgModel2(states, camera, cache)

        calExpMosaic, calBkgMosaic = self._makeMosaics(states, camera)
        skyCorr: list[Any] = [None] * len(states)
        for state, inputIndex in zip(states, order, strict=True):
            skyCorr[inputIndex] = backgroundListTo(state.skyCorr, family)
        return Struct(
            skyFrameScale=skyFrameScale,
            skyCorr=skyCorr,
            calExpMosaic=imageTo(calExpMosaic, family),
            calBkgMosaic=imageTo(calBkgMosaic, family),
        )

    def _checkInputs(
        self,
        calExps: Sequence[Any],
        calBkgs: Sequence[BackgroundList],
        skyFrames: Sequence[Any] | None,
        ratios: Sequence[Any],
    ) -> None:
        if len(calExps) == 0:
            raise ValueError("SkyCorrectionTask.run needs at least one calexp; got an empty list")
        lengths = {"calExps": len(calExps), "calBkgs": len(calBkgs)}
        if self.config.doSky:
            if skyFrames is None:
                raise ValueError("doSky is True but no skyFrames were given")
            lengths["skyFrames"] = len(skyFrames)
        if self.config.doApplyFlatBackgroundRatio:
            lengths["backgroundToPhotometricRatioHandles"] = len(ratios)
        if len(set(lengths.values())) != 1:
            raise ValueError(f"the per-detector input lists differ in length: {lengths}")

    def _firstPass(
        self,
        calExps: Sequence[Any],
        calBkgs: Sequence[BackgroundList],
        camera: Any,
        ratios: Sequence[Any],
        cache: DetectorPixelCache,
    ) -> list[_DetectorState]:
        """Restore, mask objects, accumulate bgModel1 and fill the cache, one detector at a time."""
        bgModel1 = FocalPlaneBackground.fromCamera(self.config.bgModel1, camera)
        states: list[_DetectorState] = []
        for index, (calExpSource, calBkg) in enumerate(zip(calExps, calBkgs, strict=True)):
            calExp = _fetchExposure(calExpSource, "calexp", index)
            detector = _detectorOf(calExp, calExpSource, camera, index)
            detectorId = detector.getId()
            expectedId = _dataIdDetector(calExpSource)
            if expectedId is not None and expectedId != detectorId:
                raise ValueError(f"the calexp for detector {expectedId} carries detector {detectorId}")
            if calExp.getBBox() != detector.getBBox():
                raise ValueError(
                    f"calexp for detector {detectorId}: its bbox {calExp.getBBox()} does not match the "
                    f"camera's detector bbox {detector.getBBox()}"
                )
            if self.config.doApplyFlatBackgroundRatio:
                ratio = imageFrom(_fetchImage(ratios[index], "background_to_photometric_ratio", detectorId))
                calExp.maskedImage *= ratio

            skyCorr = self._restoreOriginalBackground(calExp, calBkg, detectorId)

            if self.config.doMaskObjects:
                maskedBefore = _maskedFraction(calExp.mask)
                self.maskObjects.findObjects(calExp)
                self.log.info(
                    "Detector %d: Iterative source detection and mask growth has increased masked area by "
                    "%.1f%%",
                    detectorId,
                    100 * (_maskedFraction(calExp.mask) - maskedBefore),
                )

            detectorModel = FocalPlaneBackground.fromCamera(self.config.bgModel1, camera)
            detectorModel.addCcd(calExp)
            bgModel1.merge(detectorModel)
            merged = float(detectorModel.getCounts().array.sum())
            self.log.info(
                "Detector %d: Merged %d unmasked pixels (%.1f%% of detector area) into initial BG model",
                detectorId,
                merged,
                100 * merged / calExp.getBBox().getArea(),
            )

            badPlanes = {}
            if self.config.doSky:
                badPlanes["sky"] = _badPixels(calExp.mask, self.config.sky.stats.mask)
            if self.config.doBgModel2:
                badPlanes["bgModel2"] = _badPixels(calExp.mask, self.config.bgModel2.mask)
            cache.put(detectorId, calExp.image.array, badPlanes)

            binned = binImage(calExp.maskedImage, self.config.binning)
            noData = (binned.mask.array & _planeBits(binned.mask, ["NO_DATA"])) != 0
            states.append(
                _DetectorState(
                    detectorId=detectorId,
                    detector=detector,
                    bbox=calExp.getBBox(),
                    skyCorr=skyCorr,
                    nOriginal=len(skyCorr),
                    binnedRestored=binned.image.array.copy(),
                    binnedNoData=noData,
                )
            )
            del calExp

        self._validateBgModel("bgModel1", bgModel1, self.config.bgModel1)
        for state in states:
            state.skyCorr.append(bgModel1.toCcdBackground(state.detector, state.bbox)[0])
        return states

    def _restoreOriginalBackground(
        self, calExp: ExposureF, calBkg: BackgroundList, detectorId: int
    ) -> BackgroundList:
        """Add the calexp's original background back; return the inverted background list.

        The caller's ``calBkg`` is left untouched: the inversion happens on a copy
        (the reference inverts the caller's list in place).
        """
        skyCorr = backgroundListFrom(calBkg)  # a deep copy
        for element in skyCorr:
            statsImage = element[0].getStatsImage()
            statsImage *= -1
        inverted = skyCorr.getImage()
        if inverted is None:
            raise ValueError(f"calexpBackground for detector {detectorId} has no elements")
        if inverted.getDimensions() != calExp.getDimensions():
            raise ValueError(
                f"calexpBackground for detector {detectorId} covers {inverted.getDimensions()} pixels, "
                f"the calexp {calExp.getDimensions()}"
            )
        calExp.image.array -= inverted.array
        with np.errstate(invalid="ignore"):
            median, q75, q25 = np.nanpercentile(inverted.array, [50, 75, 25])
        self.log.info(
            "Detector %d: Original background restored (BG median = %.1f counts, BG IQR = %.1f counts)",
            detectorId,
            -median,
            q75 - q25,  # the spread of -B equals that of B
        )
        return skyCorr

    def _subtractSkyFrames(
        self, states: list[_DetectorState], skyFrames: Sequence[Any], cache: DetectorPixelCache
    ) -> float:
        """Measure one sky-frame scale for the visit and append the scaled frames."""
        samples = []
        skyBackgrounds = []
        for index, state in enumerate(states):
            skyExp = _fetchExposure(skyFrames[index], "sky frame", index)
            skyBackground = self.sky.exposureToBackground(skyExp)
            skyImage = skyBackground.getImage()
            if skyImage is None or skyImage.getDimensions() != state.bbox.getDimensions():
                raise ValueError(
                    f"sky frame for detector {state.detectorId} covers "
                    f"{None if skyImage is None else skyImage.getDimensions()} pixels, the calexp "
                    f"{state.bbox.getDimensions()}"
                )
            cached = cache.get(state.detectorId)
            image = cached.image
            image -= _imageArray(state.newElements())
            samples.append(self.sky.measureScaleArrays(image, cached.badPlanes["sky"], skyImage.array))
            skyBackgrounds.append(skyBackground)
        scale = self.sky.solveScales(samples)
        self.log.info("Sky frame scale: %.3g", scale)
        self.metadata["skyFrameScale"] = float(scale)  # full precision, in <label>_metadata
        for state, skyBackground in zip(states, skyBackgrounds, strict=True):
            background, *styles = skyBackground[0]
            scaled = background.clone()
            statsImage = scaled.getStatsImage()
            statsImage *= scale
            state.skyCorr.append((scaled, *styles))  # type: ignore[arg-type]
        return float(scale)

    def _fitBgModel2(self, states: list[_DetectorState], camera: Any, cache: DetectorPixelCache) -> None:
        """Fit the final focal-plane model to what the earlier models left behind."""
        bgModel2 = FocalPlaneBackground.fromCamera(self.config.bgModel2, camera)
        for state in states:
            cached = cache.get(state.detectorId)
            image = cached.image
            image -= _imageArray(state.newElements())
            detectorModel = FocalPlaneBackground.fromCamera(self.config.bgModel2, camera)
            detectorModel.addCcdArrays(state.detector, state.bbox, image, cached.badPlanes["bgModel2"])
            bgModel2.merge(detectorModel)
            merged = float(detectorModel.getCounts().array.sum())
            self.log.info(
                "Detector %d: Merged %d unmasked pixels (%.1f%% of detector area) into final BG model",
                state.detectorId,
                merged,
                100 * merged / state.bbox.getArea(),
            )
        self._validateBgModel("bgModel2", bgModel2, self.config.bgModel2)
        for state in states:
            state.skyCorr.append(bgModel2.toCcdBackground(state.detector, state.bbox)[0])

    def _validateBgModel(
        self, bgModelID: str, bgModel: FocalPlaneBackground, config: FocalPlaneBackgroundConfig
    ) -> None:
        """Log the model's superpixel fill; raise if no superpixel reaches ``minFrac``."""
        counts = bgModel.getCounts().array
        superpixelArea = (config.xSize / config.pixelSize) * (config.ySize / config.pixelSize)
        self.log.info(
            "%s: FP background model constructed using %.2f x %.2f mm (%d x %d pixel) superpixels",
            bgModelID,
            config.xSize,
            config.ySize,
            int(config.xSize / config.pixelSize),
            int(config.ySize / config.pixelSize),
        )
        self.log.info(
            "%s: Pixel data exists in %d of %d superpixels; the most populated superpixel is %.1f%% filled",
            bgModelID,
            int(np.count_nonzero(counts)),
            counts.size,
            100 * float(np.max(counts)) / superpixelArea,
        )
        if np.all(counts < config.minFrac * superpixelArea):
            raise NoUsableBackgroundSuperpixelsError(bgModelID, config.minFrac)
        with np.errstate(invalid="ignore"):
            median, q75, q25 = np.nanpercentile(bgModel.getStatsImage().array, [50, 75, 25])
        self.log.info("%s: FP BG median: %.1f; IQR: %.1f", bgModelID, median, q75 - q25)

    def _makeMosaics(self, states: list[_DetectorState], camera: Any) -> tuple[ImageF, ImageF]:
        """Binned focal-plane images of the corrected calexps and of the new background."""
        binning = self.config.binning
        calExpImages = {}
        calBkgImages = {}
        for state in states:
            newImage = state.newElements().getImage()
            assert newImage is not None
            binnedNew = binImage(newImage, binning).array
            corrected = state.binnedRestored - binnedNew
            corrected[state.binnedNoData] = np.nan
            background = binnedNew.copy()
            background[state.binnedNoData] = np.nan
            calExpImages[state.detectorId] = ImageF(corrected.astype(np.float32, copy=False))
            calBkgImages[state.detectorId] = ImageF(background.astype(np.float32, copy=False))
        return (
            makeCameraImage(camera, calExpImages, binning),
            makeCameraImage(camera, calBkgImages, binning),
        )


# Helpers ---------------------------------------------------------------------------


def _isDeferredHandle(source: Any) -> bool:
    """Whether ``source`` re-reads from the Butler on ``get()`` (so needs no copy)."""
    from lsst.daf.butler import DeferredDatasetHandle

    return isinstance(source, DeferredDatasetHandle)


def _dataIdDetector(source: Any) -> int | None:
    dataId = getattr(source, "dataId", None)
    if dataId is None:
        return None
    try:
        return int(dataId["detector"])
    except (KeyError, TypeError):
        return None


def _detectorOrder(calExps: Sequence[Any]) -> list[int]:
    """Input indices sorted by detector id, read without fetching any pixels."""
    detectorIds = []
    for index, source in enumerate(calExps):
        detectorId = _dataIdDetector(source)
        if detectorId is None and hasattr(source, "getDetector") and source.getDetector() is not None:
            detectorId = source.getDetector().getId()
        if detectorId is None:
            raise ValueError(
                f"calexp #{index} has no detector and no data ID naming one; attach a detector "
                "(exposure.setDetector(camera[id])) or pass a dataset handle with a 'detector' data ID"
            )
        detectorIds.append(detectorId)
    duplicates = sorted({d for d in detectorIds if detectorIds.count(d) > 1})
    if duplicates:
        raise ValueError(f"detectors {duplicates} appear more than once in calExps")
    return sorted(range(len(calExps)), key=detectorIds.__getitem__)


def _fetchExposure(source: Any, what: str, index: int) -> ExposureF:
    """Fetch an exposure once, as a private object the task may modify."""
    detector = _dataIdDetector(source)
    where = f"{what} #{index}" + (f" (detector {detector})" if detector is not None else "")
    if hasattr(source, "getMaskedImage"):
        return exposureFrom(source.clone())
    if not hasattr(source, "get"):
        raise TypeError(f"{where}: expected an exposure or a dataset handle, got {type(source).__name__}")
    exposure = source.get()
    if not hasattr(exposure, "getMaskedImage"):
        raise TypeError(f"{where}: the handle returned {type(exposure).__name__}, not an exposure")
    # An in-memory handle returns the caller's own object: copy it.
    return exposureFrom(exposure if _isDeferredHandle(source) else exposure.clone())


def _fetchImage(source: Any, what: str, detectorId: int) -> ImageF:
    image = source.get() if hasattr(source, "get") and not hasattr(source, "array") else source
    if not hasattr(image, "array"):
        raise TypeError(f"{what} for detector {detectorId}: expected an image, got {type(image).__name__}")
    return image


def _detectorOf(calExp: ExposureF, source: Any, camera: Any, index: int) -> Any:
    """The calexp's detector: its own, else the camera's detector named by the handle's data ID."""
    detector = calExp.getDetector()
    if detector is not None:
        return detector
    detectorId = _dataIdDetector(source)
    if detectorId is None:
        raise ValueError(
            f"calexp #{index} has no detector and no data ID naming one; attach a detector "
            "(exposure.setDetector(camera[id])) or pass a dataset handle with a 'detector' data ID"
        )
    try:
        return camera[detectorId]
    except (KeyError, IndexError, LookupError):
        raise ValueError(f"calexp #{index}: detector {detectorId} is not in the camera") from None


def _planeBits(mask: Mask, names: Sequence[str]) -> int:
    """OR of the bits of the named planes this mask knows.

    A plane missing from a mask's dictionary cannot be set in any pixel, so
    leaving it out selects the same pixels as afw (which would add the plane).
    """
    known = mask.getMaskPlaneDict()
    return int(mask.getPlaneBitMask([name for name in names if name in known]) if names else 0)


def _badPixels(mask: Mask, names: Sequence[str]) -> np.ndarray:
    """Pixels that have any of the named planes set."""
    return (mask.array & _planeBits(mask, names)) != 0


def _maskedFraction(mask: Mask) -> float:
    """Fraction of pixels with any mask bit set."""
    return float(np.count_nonzero(mask.array)) / max(mask.array.size, 1)


def _imageArray(backgrounds: BackgroundList) -> np.ndarray:
    image = backgrounds.getImage()
    assert image is not None
    return image.array
