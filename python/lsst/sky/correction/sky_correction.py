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

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base.connectionTypes as cT
from lsst.pipe.base import (
    AlgorithmError,
    AnnotatedPartialOutputsError,
    InputQuantizedConnection,
    OutputQuantizedConnection,
    PipelineTask,
    PipelineTaskConfig,
    PipelineTaskConnections,
    QuantumContext,
    Struct,
)
from lsst.utils.timer import timeMethod

from ._afw_interop import (
    ImageFamily,
    backgroundListFrom,
    backgroundListTo,
    cameraFrom,
    familyOf,
    imageFrom,
    imageTo,
)
from ._input_checks import (
    checkBackgroundImage,
    checkRatioImage,
    checkRunInputs,
    conformCalExpMask,
    noCommonDetectors,
    skyFrameImage,
)
from ._inputs import (
    BackgroundListInput,
    BackgroundListLike,
    CameraLike,
    ExposureInput,
    ImageInput,
    countHandleGet,
    dataIdDetector,
    detectorOrder,
    fetchBackgroundList,
    fetchExposure,
    fetchImage,
    getQuantumInputs,
    resolveDetector,
)
from ._logging import withPackageLog
from ._masks import knownPlaneBits
from ._parallel import DetectorPool, WorkLedger, usableCores
from ._pixel_cache import DetectorPixelCache
from ._progress import Progress
from ._storage_classes import STORAGE_CLASSES
from .afwlite.cameraGeom import FOCAL_PLANE, Camera, Detector
from .afwlite.geom import Box2I
from .afwlite.image import ExposureF, ImageF, Mask
from .afwlite.math import BackgroundList, binImage
from .afwlite.math._kernels import blockOr
from .afwlite.math._kernels_statistics import selectRanks
from .errors import NoUsableBackgroundSuperpixelsError
from .focal_plane_background import FocalPlaneBackground, FocalPlaneBackgroundConfig
from .joint_fit import (
    ChebyshevBasis,
    DetectorBins,
    JointFitConfig,
    fitJointModel,
    measureDetectorBins,
    pistonBackground,
    smoothModelBackground,
)
from .mask_objects import MaskObjectsConfig, MaskObjectsTask
from .mosaic import makeCameraImage
from .sky_measurement import SkyMeasurementConfig, SkyMeasurementTask

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
    # Additions of this package: the joint fit (docs/sky_correction.md, "Two fitting modes").
    fitMode = pexConfig.ChoiceField[str](
        dtype=str,
        default="reference",
        doc="How the sky is modelled once objects are masked.",
        allowed={
            "reference": "the reference's sequence: bgModel1, then the sky-frame scale, then bgModel2",
            "joint": "one linear model per visit: a focal-plane Chebyshev polynomial, the sky-frame "
            "scale and (with joint.doPistons) per-detector pistons, fitted together to per-detector "
            "bins (config: joint; bgModel1, bgModel2, undoBgModel1 and sky's scale-fit fields are "
            "not used)",
        },
    )
    joint = pexConfig.ConfigField[JointFitConfig](
        dtype=JointFitConfig, doc="The joint fit (used when fitMode is 'joint')."
    )
    # Additions of this package (the reference re-reads the Butler instead).
    cacheMemoryBudget = pexConfig.Field[int](
        dtype=int,
        default=512,
        doc="Memory (MiB) for the per-detector pixel cache the later passes read; detectors beyond "
        "it are spilled to a temporary file under cacheDirectory and removed when the run ends.  "
        "512 MiB holds about 7 LSSTCam or 14 HSC detectors; a spilled detector is written once "
        "and read twice, which costs far less than the per-detector work, and the outputs do not "
        "depend on it.",
    )
    cacheDirectory = pexConfig.Field[str](
        dtype=str,
        default=None,
        optional=True,
        doc="Where the pixel cache spills (default: the system temporary directory).",
    )
    numThreads = pexConfig.Field[int](
        dtype=int,
        default=0,
        doc="Number of detectors worked on at the same time, each in its own thread (the numpy and "
        "scipy work releases the GIL).  0 means one per usable core (len(os.sched_getaffinity(0))).  "
        "Each thread holds one full-resolution detector and its temporaries (roughly 0.5 GB for a "
        "4k x 4k detector) on top of cacheMemoryBudget; the outputs do not depend on it.",
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
        if self.cacheDirectory is not None and not self.cacheDirectory.strip():
            raise pexConfig.FieldValidationError(
                SkyCorrectionConfig.cacheDirectory,
                self,
                "cacheDirectory must be a directory path or None, got an empty string",
            )
        if self.undoBgModel1 and not self.doSky and not self.doBgModel2:
            raise ValueError("If undoBgModel1 is True, task requires at least one of doSky or doBgModel2.")
        if self.binning < 1:
            raise pexConfig.FieldValidationError(
                SkyCorrectionConfig.binning, self, f"binning must be >= 1, got {self.binning}"
            )
        if self.numThreads < 0:
            raise pexConfig.FieldValidationError(
                SkyCorrectionConfig.numThreads,
                self,
                f"numThreads must be >= 0 (0: one per usable core), got {self.numThreads}",
            )
        if self.cacheMemoryBudget < 0:
            raise pexConfig.FieldValidationError(
                SkyCorrectionConfig.cacheMemoryBudget,
                self,
                f"cacheMemoryBudget must be >= 0 MiB, got {self.cacheMemoryBudget}",
            )


@dataclass
class DetectorState:
    """What the task keeps per detector between passes (no full-resolution pixels)."""

    detectorId: int
    detector: Detector
    bbox: Box2I
    skyCorr: BackgroundList
    nOriginal: int  # number of inverted calexpBackground elements at the head of skyCorr
    family: ImageFamily  # afw or afwlite: the type of the caller's calexpBackground
    binnedRestored: np.ndarray  # binned restored image, for the mosaics
    binnedNoData: np.ndarray  # binned NO_DATA mask, for the mosaics
    jointBins: DetectorBins | None = None  # joint mode: the bins the visit's model is fitted to
    skyBackground: BackgroundList | None = None  # joint mode: the unit-scale sky-frame element
    # Binned image of the first ``nBinned`` new elements, kept by the bgModel2 pass
    # so that the mosaics evaluate only the elements added after it.
    binnedNew: np.ndarray | None = None
    nBinned: int = 0

    def newElements(self, start: int = 0) -> BackgroundList:
        """The elements this task added (after the inverted calexpBackground), from ``start`` on."""
        return BackgroundList(*self.skyCorr[self.nOriginal + start :])


@dataclass
class FetchedDetector:
    """One detector's inputs, fetched (private copies the task may modify)."""

    calExp: ExposureF
    detector: Detector
    calBkg: BackgroundListLike  # afw or afwlite: the outputs are built in its family
    ratio: ImageF | None
    skyFrame: ExposureF | None = None  # joint mode: fetched in the first pass


@dataclass
class _FirstPassResult:
    """One detector's share of the first pass."""

    state: DetectorState
    bgModel1: FocalPlaneBackground | None  # this detector's contribution (reference mode)


class SkyCorrectionTask(PipelineTask):
    """Perform a full focal plane sky correction."""

    ConfigClass = SkyCorrectionConfig
    config: SkyCorrectionConfig
    _DefaultName = "skyCorr"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **withPackageLog(kwargs))
        self.makeSubtask("sky")
        self.makeSubtask("maskObjects")
        self.sky: SkyMeasurementTask
        self.maskObjects: MaskObjectsTask

    # Butler I/O --------------------------------------------------------------
    def runQuantum(
        self,
        butlerQC: QuantumContext,
        inputRefs: InputQuantizedConnection,
        outputRefs: OutputQuantizedConnection,
    ) -> None:
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
        if not common:
            raise noCommonDetectors(detectorSets)
        for name in (*detectorSets, "skyCorr"):
            refs = outputRefs if name == "skyCorr" else inputRefs
            byDetector = {ref.dataId["detector"]: ref for ref in getattr(refs, name)}
            setattr(refs, name, [byDetector[det] for det in common if det in byDetector])

        inputs = getQuantumInputs(butlerQC, inputRefs)
        inputs.setdefault("skyFrames", None)  # the connection is removed when doSky is off
        try:
            outputs = self.run(**inputs)
        except AlgorithmError as error:
            annotated = AnnotatedPartialOutputsError.annotate(error, self, log=self.log)
            raise annotated from error
        butlerQC.put(outputs, outputRefs)

    # Algorithm -----------------------------------------------------------------
    @timeMethod
    def run(
        self,
        calExps: Sequence[ExposureInput],
        calBkgs: Sequence[BackgroundListInput],
        skyFrames: Sequence[ExposureInput] | None,
        camera: CameraLike,
        backgroundToPhotometricRatioHandles: Sequence[ImageInput] = (),
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
            The background subtracted from each calexp (same order), or
            dataset handles returning it (fetched once, just after the
            detector's calexp).  Not modified: the task works on copies.
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

        Notes
        -----
        Up to ``numThreads`` detectors are worked on at once.  Every
        focal-plane sum is made in ascending detector order whatever the
        threads do, so the outputs do not depend on ``numThreads``.  The
        metadata gets `lsst.utils.timer.timeMethod` entries for ``run`` and
        each pass (``restoreAndMaskObjects``, ``fitBgModel1``,
        ``subtractSkyFrames``, ``fitBgModel2``, ``makeMosaics``; with
        ``fitMode="joint"``, ``fitJoint`` replaces the three in between and
        adds the ``joint*`` entries documented in docs/sky_correction.md),
        ``detectorSeconds``: the seconds spent in each per-detector step,
        summed over detectors and threads, and ``handleGets``: how many
        times the task called ``get()`` on a dataset handle, per dataset
        (one per detector for each deferred input).
        """
        checkRunInputs(
            needSkyFrames=self.config.doSky,
            needRatios=self.config.doApplyFlatBackgroundRatio,
            calExps=calExps,
            calBkgs=calBkgs,
            skyFrames=skyFrames,
            ratios=backgroundToPhotometricRatioHandles,
            camera=camera,
        )
        afwliteCamera = cameraFrom(camera)
        # Work in ascending detector order whatever the input order, so that the
        # focal-plane sums (and so every output bit) do not depend on it.
        order = detectorOrder(calExps)
        calExps = [calExps[i] for i in order]
        calBkgs = [calBkgs[i] for i in order]
        if skyFrames is not None and self.config.doSky:
            skyFrames = [skyFrames[i] for i in order]
        if self.config.doApplyFlatBackgroundRatio:
            backgroundToPhotometricRatioHandles = [backgroundToPhotometricRatioHandles[i] for i in order]
        numThreads = self.config.numThreads or usableCores()
        self.metadata["numThreads"] = numThreads
        clock = WorkLedger()
        budget = self.config.cacheMemoryBudget * _MB
        try:
            with (
                DetectorPixelCache(budget, spillDirectory=self.config.cacheDirectory) as cache,
                DetectorPool(numThreads) as pool,
            ):
                joint = self.config.fitMode == "joint"
                states, bgModel1 = self.restoreAndMaskObjects(
                    calExps,
                    calBkgs,
                    afwliteCamera,
                    backgroundToPhotometricRatioHandles,
                    cache,
                    pool,
                    clock,
                    skyFrames=skyFrames if joint and self.config.doSky else None,
                )
                if joint:
                    skyFrameScale = self.fitJoint(states, afwliteCamera)
                else:
                    assert bgModel1 is not None
                    skyFrameScale = self._fitReference(
                        states, bgModel1, skyFrames, afwliteCamera, cache, pool, clock
                    )

                calExpMosaic, calBkgMosaic = self.makeMosaics(states, afwliteCamera, pool, clock)
        finally:
            self.metadata["detectorSeconds"] = clock.seconds()
            self.metadata["handleGets"] = clock.counts()

        # Outputs are built in the family (afw or afwlite) of the inputs; the work is afwlite.
        family = states[order.index(0)].family
        byInputIndex = dict(zip(order, states, strict=True))
        skyCorr = [backgroundListTo(byInputIndex[index].skyCorr, family) for index in range(len(states))]
        return Struct(
            skyFrameScale=skyFrameScale,
            skyCorr=skyCorr,
            calExpMosaic=imageTo(calExpMosaic, family),
            calBkgMosaic=imageTo(calBkgMosaic, family),
        )

    def _fitReference(
        self,
        states: list[DetectorState],
        bgModel1: FocalPlaneBackground,
        skyFrames: Sequence[ExposureInput] | None,
        camera: Camera,
        cache: DetectorPixelCache,
        pool: DetectorPool,
        clock: WorkLedger,
    ) -> float | None:
        """The reference's passes after the first: bgModel1, the sky-frame scale, bgModel2."""
        self.fitBgModel1(states, bgModel1)
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
            skyFrameScale = self.subtractSkyFrames(states, skyFrames, cache, pool, clock)

        if self.config.undoBgModel1:
            # bgModel1 is the first element this task added.
            for state in states:
                elements = list(state.skyCorr)
                del elements[state.nOriginal]
                state.skyCorr = BackgroundList(*elements)

        if self.config.doBgModel2:
            self.fitBgModel2(states, camera, cache, pool, clock)
        return skyFrameScale

    @timeMethod
    def fitJoint(self, states: list[DetectorState], camera: Camera) -> float | None:
        """Fit the joint model to every detector's bins and append its layers to every ``skyCorr``.

        The layers follow the inverted calexpBackground: the smooth
        focal-plane model, the scaled sky frame (with ``doSky``) and, with
        ``joint.doPistons``, a one-cell piston.  Returns the sky-frame scale
        (`None` without ``doSky``).
        """
        return fitJointStates(states, camera, self.config.joint, self.config.doSky, self.log, self.metadata)

    @timeMethod
    def restoreAndMaskObjects(
        self,
        calExps: Sequence[ExposureInput],
        calBkgs: Sequence[BackgroundListInput],
        camera: Camera,
        ratios: Sequence[ImageInput],
        cache: DetectorPixelCache,
        pool: DetectorPool,
        clock: WorkLedger,
        skyFrames: Sequence[ExposureInput] | None = None,
    ) -> tuple[list[DetectorState], FocalPlaneBackground | None]:
        """First pass: restore, mask objects, then accumulate bgModel1 and fill the cache.

        Each detector's inputs are fetched once, in the calling thread, and
        the detector is then worked on by one thread; the returned states
        and the summed bgModel1 are in the inputs' order.  In joint mode the
        first pass measures the joint fit's bins instead (and, when
        ``skyFrames`` are given, fetches each sky frame with its calexp), and
        returns no bgModel1.
        """

        def fetch(index: int) -> FetchedDetector:
            with clock.measure("fetch"):
                fetched = self._fetchDetector(index, calExps, calBkgs, camera, ratios)
                if skyFrames is not None:
                    fetched.skyFrame = fetchExposure(skyFrames[index], "sky frame", index)
            clock.count("calexp", countHandleGet(calExps[index]))
            clock.count("calexpBackground", countHandleGet(calBkgs[index]))
            if self.config.doApplyFlatBackgroundRatio:
                clock.count("background_to_photometric_ratio", countHandleGet(ratios[index]))
            if skyFrames is not None:
                clock.count("sky", countHandleGet(skyFrames[index]))
            return fetched

        def work(index: int, fetched: FetchedDetector) -> _FirstPassResult:
            return self._processDetector(fetched, camera, cache, clock)

        joint = self.config.fitMode == "joint"
        what = "joint-fit bins" if joint else "bgModel1"
        progress = Progress(self.log, f"Read, restored and binned ({what})", len(calExps))
        results = pool.map(fetch, work, range(len(calExps)), progress)
        progress.finish()
        if joint:
            return [result.state for result in results], None
        bgModel1 = FocalPlaneBackground.fromCamera(self.config.bgModel1, camera)
        for result in results:  # ascending detector order: the sums do not depend on the threads
            assert result.bgModel1 is not None
            bgModel1.merge(result.bgModel1)
        return [result.state for result in results], bgModel1

    def _fetchDetector(
        self,
        index: int,
        calExps: Sequence[ExposureInput],
        calBkgs: Sequence[BackgroundListInput],
        camera: Camera,
        ratios: Sequence[ImageInput],
    ) -> FetchedDetector:
        """Fetch one detector's calexp, calexpBackground and ratio image, and check they agree."""
        return fetchDetector(
            index,
            calExps,
            calBkgs,
            camera,
            ratios if self.config.doApplyFlatBackgroundRatio else None,
            self._configuredMaskPlanes(),
        )

    def _configuredMaskPlanes(self) -> dict[str, Sequence[str]]:
        """The mask-plane lists the task itself reads, by config field."""
        if self.config.fitMode == "joint":
            return {"joint.mask": self.config.joint.mask}
        fields: dict[str, Sequence[str]] = {"bgModel1.mask": self.config.bgModel1.mask}
        if self.config.doBgModel2:
            fields["bgModel2.mask"] = self.config.bgModel2.mask
        if self.config.doSky:
            fields["sky.stats.mask"] = self.config.sky.stats.mask
        return fields

    def _processDetector(
        self, fetched: FetchedDetector, camera: Camera, cache: DetectorPixelCache, clock: WorkLedger
    ) -> _FirstPassResult:
        """The first pass for one fetched detector (runs in a worker thread)."""
        calExp, detector, calBkg = fetched.calExp, fetched.detector, fetched.calBkg
        detectorId = detector.getId()
        if fetched.ratio is not None:
            calExp.maskedImage *= fetched.ratio

        with clock.measure("restore"):
            skyCorr = restoreOriginalBackground(calExp, calBkg, detectorId, self.log)

        if self.config.doMaskObjects:
            with clock.measure("maskObjects"):
                maskDetectorObjects(self.maskObjects, calExp, detectorId, self.log)

        detectorModel = None
        jointBins = skyBackground = None
        if self.config.fitMode == "joint":
            # The joint fit needs only these bins: nothing goes to the pixel cache.
            with clock.measure("jointBins"):
                jointBins, skyBackground = measureJointInputs(
                    calExp, detector, fetched.skyFrame, self.sky, self.config.joint
                )
        else:
            with clock.measure("bgModel1"):
                detectorModel = FocalPlaneBackground.fromCamera(self.config.bgModel1, camera)
                detectorModel.addCcd(calExp)
            merged = float(detectorModel.getCounts().array.sum())
            self.log.info(
                "Detector %d: Merged %d unmasked pixels (%.1f%% of detector area) into initial BG model",
                detectorId,
                merged,
                100 * merged / calExp.getBBox().getArea(),
            )

            with clock.measure("cache"):
                badPlanes = {}
                if self.config.doSky:
                    badPlanes["sky"] = _badPixels(calExp.mask, self.config.sky.stats.mask)
                if self.config.doBgModel2:
                    badPlanes["bgModel2"] = _badPixels(calExp.mask, self.config.bgModel2.mask)
                cache.put(detectorId, calExp.image.array, badPlanes)

        with clock.measure("mosaic"):
            binnedImage, binnedNoData = binForMosaics(calExp, self.config.binning)
        state = DetectorState(
            detectorId=detectorId,
            detector=detector,
            bbox=calExp.getBBox(),
            skyCorr=skyCorr,
            nOriginal=len(skyCorr),
            family=familyOf(calBkg),
            binnedRestored=binnedImage,
            binnedNoData=binnedNoData,
            jointBins=jointBins,
            skyBackground=skyBackground,
        )
        return _FirstPassResult(state=state, bgModel1=detectorModel)

    @timeMethod
    def fitBgModel1(self, states: list[DetectorState], bgModel1: FocalPlaneBackground) -> None:
        """Check the summed bgModel1 and append its per-detector model to every ``skyCorr``."""
        self._validateBgModel("bgModel1", bgModel1, self.config.bgModel1)
        for state in states:
            state.skyCorr.append(bgModel1.toCcdBackground(state.detector, state.bbox)[0])

    @timeMethod
    def subtractSkyFrames(
        self,
        states: list[DetectorState],
        skyFrames: Sequence[ExposureInput],
        cache: DetectorPixelCache,
        pool: DetectorPool,
        clock: WorkLedger,
    ) -> float:
        """Measure one sky-frame scale for the visit and append the scaled frames."""

        def fetch(index: int) -> ExposureF:
            with clock.measure("fetch"):
                skyExp = fetchExposure(skyFrames[index], "sky frame", index)
            clock.count("sky", countHandleGet(skyFrames[index]))
            return skyExp

        def measure(index: int, skyExp: ExposureF) -> tuple[tuple[np.ndarray, np.ndarray], BackgroundList]:
            state = states[index]
            with clock.measure("skyFrame"):
                skyBackground, skyImage = skyFrameImage(self.sky, skyExp, state.detectorId, state.bbox)
            with clock.measure("cache"):
                cached = cache.get(state.detectorId)
            with clock.measure("skyFrame"):
                image = cached.image
                image -= _imageArray(state.newElements())
                samples = self.sky.measureScaleArrays(image, cached.badPlanes["sky"], skyImage.array)
            return samples, skyBackground

        progress = Progress(self.log, "Measured against the sky frame", len(states))
        measured = pool.map(fetch, measure, range(len(states)), progress)
        progress.finish()
        scale = self.sky.solveScales([samples for samples, _ in measured])
        self.log.info("Sky frame scale: %.3g", scale)
        self.metadata["skyFrameScale"] = float(scale)  # full precision, in <label>_metadata
        for state, (_, skyBackground) in zip(states, measured, strict=True):
            background, *styles = skyBackground[0]
            scaled = background.clone()
            statsImage = scaled.getStatsImage()
            statsImage *= scale
            state.skyCorr.append((scaled, *styles))  # type: ignore[arg-type]
        return float(scale)

    @timeMethod
    def fitBgModel2(
        self,
        states: list[DetectorState],
        camera: Camera,
        cache: DetectorPixelCache,
        pool: DetectorPool,
        clock: WorkLedger,
    ) -> None:
        """Fit the final focal-plane model to what the earlier models left behind."""

        def accumulate(state: DetectorState, _: None) -> FocalPlaneBackground:
            with clock.measure("cache"):
                cached = cache.get(state.detectorId)
            with clock.measure("bgModel2"):
                image = cached.image
                previous = _imageArray(state.newElements())
                image -= previous
                detectorModel = FocalPlaneBackground.fromCamera(self.config.bgModel2, camera)
                detectorModel.addCcdArrays(state.detector, state.bbox, image, cached.badPlanes["bgModel2"])
            with clock.measure("mosaic"):
                # The mosaics need these elements binned: bin them now, while they are evaluated.
                state.binnedNew = binImage(ImageF(previous), self.config.binning).array
                state.nBinned = len(state.skyCorr) - state.nOriginal
            merged = float(detectorModel.getCounts().array.sum())
            self.log.info(
                "Detector %d: Merged %d unmasked pixels (%.1f%% of detector area) into final BG model",
                state.detectorId,
                merged,
                100 * merged / state.bbox.getArea(),
            )
            return detectorModel

        bgModel2 = FocalPlaneBackground.fromCamera(self.config.bgModel2, camera)
        progress = Progress(self.log, "Binned into bgModel2", len(states))
        for detectorModel in pool.map(_nothing, accumulate, states, progress):  # merged in detector order
            bgModel2.merge(detectorModel)
        progress.finish()
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

    @timeMethod
    def makeMosaics(
        self, states: list[DetectorState], camera: Camera, pool: DetectorPool, clock: WorkLedger
    ) -> tuple[ImageF, ImageF]:
        """Binned focal-plane images of the corrected calexps and of the new background."""
        return makeMosaicImages(states, camera, self.config.binning, pool, clock, self.log)


# Steps shared with the two-step joint pipeline (joint_pipeline.py) ----------------------------


def fetchDetector(
    index: int,
    calExps: Sequence[ExposureInput],
    calBkgs: Sequence[BackgroundListInput],
    camera: Camera,
    ratios: Sequence[ImageInput] | None,
    maskPlanes: dict[str, Sequence[str]],
) -> FetchedDetector:
    """Fetch detector ``index``'s calexp, calexpBackground and ratio image, and check they agree.

    Parameters
    ----------
    index : `int`
        Which entry of the input lists.
    calExps, calBkgs : `list`
        The calexps and calexpBackgrounds (objects or handles).
    camera : `Camera`
        The camera, for the calexp's detector.
    ratios : `list`, optional
        The background-to-photometric ratio images; `None` when they are
        not applied.
    maskPlanes : `dict` [`str`, `list` [`str`]]
        The mask planes the configuration reads, by config field (the
        calexp's mask must define them).
    """
    calExpSource = calExps[index]
    calExp = fetchExposure(calExpSource, "calexp", index)
    detector = resolveDetector(calExp, calExpSource, camera, index)
    detectorId = detector.getId()
    expectedId = dataIdDetector(calExpSource)
    if expectedId is not None and expectedId != detectorId:
        raise ValueError(f"the calexp for detector {expectedId} carries detector {detectorId}")
    if calExp.getBBox() != detector.getBBox():
        raise ValueError(
            f"calexp for detector {detectorId}: its bbox {calExp.getBBox()} does not match the "
            f"camera's detector bbox {detector.getBBox()}"
        )
    conformCalExpMask(calExp, maskPlanes, detectorId)
    calBkg = fetchBackgroundList(calBkgs[index], detectorId)
    ratio = None
    if ratios is not None:
        ratio = checkRatioImage(
            imageFrom(fetchImage(ratios[index], "background_to_photometric_ratio", detectorId)),
            calExp,
            detectorId,
        )
    return FetchedDetector(calExp=calExp, detector=detector, calBkg=calBkg, ratio=ratio)


def restoreOriginalBackground(
    calExp: ExposureF, calBkg: BackgroundListLike, detectorId: int, log: Any
) -> BackgroundList:
    """Add the calexp's original background back; return the inverted background list.

    The caller's ``calBkg`` is left untouched: the inversion happens on a copy
    (the reference inverts the caller's list in place).
    """
    skyCorr = backgroundListFrom(calBkg)  # a deep copy
    for element in skyCorr:
        statsImage = element[0].getStatsImage()
        statsImage *= -1
    inverted = checkBackgroundImage(skyCorr.getImage(), calExp, detectorId)
    calExp.image.array -= inverted.array
    median, q75, q25 = _nanPercentiles(inverted.array, (50, 75, 25))
    log.info(
        "Detector %d: Original background restored (BG median = %.1f counts, BG IQR = %.1f counts)",
        detectorId,
        -median,
        q75 - q25,  # the spread of -B equals that of B
    )
    return skyCorr


def maskDetectorObjects(maskObjects: MaskObjectsTask, calExp: ExposureF, detectorId: int, log: Any) -> None:
    """Mask the calexp's objects (in place) and log how much more of it is masked."""
    maskedBefore = _maskedFraction(calExp.mask)
    maskObjects.findObjects(calExp)
    log.info(
        "Detector %d: Iterative source detection and mask growth has increased masked area by %.1f%%",
        detectorId,
        100 * (_maskedFraction(calExp.mask) - maskedBefore),
    )


def measureJointInputs(
    calExp: ExposureF,
    detector: Detector,
    skyFrame: ExposureF | None,
    sky: SkyMeasurementTask,
    config: JointFitConfig,
) -> tuple[DetectorBins, BackgroundList | None]:
    """The joint fit's bins of a restored, object-masked calexp, and the sky frame's element.

    Returns
    -------
    bins : `DetectorBins`
        The bin statistics (with the sky frame's bin means when ``skyFrame``
        is given).
    skyBackground : `BackgroundList` or `None`
        The sky frame's unit-scale background element.
    """
    skyBackground = skyImage = None
    if skyFrame is not None:
        skyBackground, skyImage = skyFrameImage(sky, skyFrame, detector.getId(), calExp.getBBox())
    bins = measureDetectorBins(
        calExp.maskedImage,
        detector,
        knownPlaneBits(calExp.mask, config.mask),
        config.binSize,
        skyImage,
    )
    return bins, skyBackground


def binForMosaics(calExp: ExposureF, binning: int) -> tuple[np.ndarray, np.ndarray]:
    """The calexp's image and NO_DATA bit binned for the mosaics (all the mosaics need of it)."""
    binnedImage = binImage(calExp.image, binning).array
    noDataBit = knownPlaneBits(calExp.mask, ["NO_DATA"])
    return binnedImage, _blockAnyBits(calExp.mask.array, noDataBit, binning)


def fitJointStates(
    states: list[DetectorState],
    camera: Camera,
    config: JointFitConfig,
    doSky: bool,
    log: Any,
    metadata: Any,
) -> float | None:
    """Fit the joint model to every detector's bins and append its layers to every ``skyCorr``.

    The layers follow the inverted calexpBackground: the smooth focal-plane
    model, the scaled sky frame (with ``doSky``) and, with
    ``config.doPistons``, a one-cell piston.  The fit's figures go to
    ``metadata`` (``joint*`` and ``skyFrameScale``).  Returns the sky-frame
    scale (`None` without ``doSky``).
    """
    bins = [state.jointBins for state in states]
    assert all(entry is not None for entry in bins)
    centres = [state.detector.getCenter(FOCAL_PLANE) for state in states]
    result = fitJointModel(
        bins,  # type: ignore[arg-type]
        ChebyshevBasis.fromCamera(config.order, camera),
        config,
        useSkyFrame=doSky,
        centres=(np.array([c.getX() for c in centres]), np.array([c.getY() for c in centres])),
    )
    nUsed = sum(int(np.count_nonzero(used)) for used in result.used)
    nBins = sum(used.size for used in result.used)
    log.info(
        "Joint fit: %d of %d bins used after %d iterations; chi^2 = %.1f for %d degrees of freedom",
        nUsed,
        nBins,
        result.iterations,
        result.chi2,
        result.dof,
    )
    metadata["jointChi2"] = result.chi2
    metadata["jointDof"] = result.dof
    metadata["jointBinsUsed"] = nUsed
    metadata["jointIterations"] = result.iterations
    metadata["jointPistonRms"] = result.pistonRms
    if result.skyScale is not None:
        log.info("Sky frame scale: %.3g", result.skyScale)
        metadata["skyFrameScale"] = result.skyScale
    if config.doPistons:
        log.info("Joint fit: piston RMS %.3g counts", result.pistonRms)
    for state, piston in zip(states, result.pistons, strict=True):
        state.skyCorr.append(smoothModelBackground(result, state.detector, state.bbox, config.binSize)[0])
        if result.skyScale is not None:
            assert state.skyBackground is not None
            background, *styles = state.skyBackground[0]
            scaled = background.clone()
            statsImage = scaled.getStatsImage()
            statsImage *= result.skyScale
            state.skyCorr.append((scaled, *styles))  # type: ignore[arg-type]
        if config.doPistons:
            state.skyCorr.append(pistonBackground(float(piston), state.bbox)[0])
    return result.skyScale


def makeMosaicImages(
    states: list[DetectorState], camera: Camera, binning: int, pool: DetectorPool, clock: WorkLedger, log: Any
) -> tuple[ImageF, ImageF]:
    """Binned focal-plane images of the corrected calexps and of the new background."""

    def binDetector(state: DetectorState, _: None) -> tuple[ImageF, ImageF]:
        with clock.measure("mosaic"):
            binnedNew = state.binnedNew if state.nBinned else None
            later = state.newElements(state.nBinned)
            if len(later):
                laterImage = later.getImage()
                assert laterImage is not None
                binnedLater = binImage(laterImage, binning).array
                binnedNew = binnedLater if binnedNew is None else binnedNew + binnedLater
            assert binnedNew is not None  # the task adds at least bgModel1
            corrected = state.binnedRestored - binnedNew
            corrected[state.binnedNoData] = np.nan
            background = binnedNew.copy()
            background[state.binnedNoData] = np.nan
            return (
                ImageF(corrected.astype(np.float32, copy=False)),
                ImageF(background.astype(np.float32, copy=False)),
            )

    progress = Progress(log, "Binned for the mosaics", len(states))
    binned = pool.map(_nothing, binDetector, states, progress)
    progress.finish()
    calExpImages = {state.detectorId: images[0] for state, images in zip(states, binned, strict=True)}
    calBkgImages = {state.detectorId: images[1] for state, images in zip(states, binned, strict=True)}
    with clock.measure("mosaicAssembly"):
        return (
            makeCameraImage(camera, calExpImages, binning),
            makeCameraImage(camera, calBkgImages, binning),
        )


# Helpers ---------------------------------------------------------------------------


def _nothing(item: object) -> None:
    """A fetch for passes that read only the pixel cache."""
    return None


def _blockAnyBits(mask: np.ndarray, bits: int, binning: int) -> np.ndarray:
    """Whether any pixel of each ``binning``-square block has one of ``bits`` (blocks as `binImage`)."""
    return (blockOr(mask, binning, binning) & bits) != 0


def _badPixels(mask: Mask, names: Sequence[str]) -> np.ndarray:
    """Pixels that have any of the named planes set."""
    return (mask.array & knownPlaneBits(mask, names)) != 0


def _nanPercentiles(values: np.ndarray, percents: Sequence[float]) -> list[float]:
    """``np.nanpercentile(values, percents)`` (linear interpolation), without sorting.

    The two values around each position are selected exactly among the
    non-NaN values (`selectRanks`), then interpolated.
    """
    flat = values.reshape(-1)
    fractions = np.asarray(percents, dtype=np.float64) / 100
    low, high, count = selectRanks(flat, np.array([0, flat.size]), fractions)
    if count[0] == 0:
        return [math.nan] * len(percents)
    results = []
    for fraction, lowValue, highValue in zip(fractions, low[0], high[0], strict=True):
        position = fraction * (count[0] - 1)
        results.append(float(lowValue + (highValue - lowValue) * (position - int(position))))
    return results


def _maskedFraction(mask: Mask) -> float:
    """Fraction of pixels with any mask bit set."""
    return float(np.count_nonzero(mask.array)) / max(mask.array.size, 1)


def _imageArray(backgrounds: BackgroundList) -> np.ndarray:
    image = backgrounds.getImage()
    assert image is not None
    return image.array
