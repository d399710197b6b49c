"""SkyCorrectionTask end to end: the reference unit test's scenarios, and analytic truths.

The first three tests port lsst/pipe_tasks ``tests/test_skyCorrection.py``
(lsst/pipe_tasks, tests/test_skyCorrection.py) to afwlite and ``makeDummyCamera()``, with the same
inputs and tolerances.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lsst.pipe.base import AnnotatedPartialOutputsError, InMemoryDatasetHandle, Struct
from lsst.sky.correction import SkyCorrectionConfig, SkyCorrectionTask
from lsst.sky.correction.afwlite.geom import Box2I, Extent2I, Point2D, Point2I
from lsst.sky.correction.afwlite.image import ExposureF, ImageF
from lsst.sky.correction.afwlite.math import (
    BackgroundList,
)
from lsst.sky.correction.errors import NoUsableBackgroundSuperpixelsError
from lsst.sky.correction.testing import makeConstantBackground, makeDummyCamera, makeSkyFrame

DUMMY_PIXEL_SIZE = 0.015  # the reference test configures superpixels in HSC pixel units
#: The per-camera task overrides shipped as package data.
CONFIG_OVERRIDES = (
    Path(__file__).resolve().parents[2] / "python" / "lsst" / "sky" / "correction" / "data" / "config"
)


@dataclass
class Visit:
    camera: Any
    calExps: list[ExposureF]
    calBkgs: list[BackgroundList]
    skyFrames: list[ExposureF]
    ratios: list[ImageF] = field(default_factory=list)


def reference_config(**overrides: Any) -> SkyCorrectionConfig:
    config = SkyCorrectionConfig()
    config.doMaskObjects = False
    config.bgModel1.xSize = 8192 * DUMMY_PIXEL_SIZE
    config.bgModel1.ySize = 8192 * DUMMY_PIXEL_SIZE
    config.bgModel1.pixelSize = DUMMY_PIXEL_SIZE
    config.bgModel2.xSize = 256 * DUMMY_PIXEL_SIZE
    config.bgModel2.ySize = 256 * DUMMY_PIXEL_SIZE
    config.bgModel2.pixelSize = DUMMY_PIXEL_SIZE
    for name, value in overrides.items():
        setattr(config, name, value)
    config.validate()
    return config


constant_background = makeConstantBackground


def reference_sky_frame(bbox: Box2I, rng: np.random.Generator) -> ExposureF:
    """A 128x125 sky frame whose only feature lines up with the calexps' +5 box."""
    sky = ExposureF(128, 125)
    sky.image.array[31:63, 32:64] += 1.0
    sky.image.array[:] += rng.normal(0.0, 0.1, sky.image.array.shape).astype(np.float32)
    sky.image.array[:] -= np.float32(sky.image.array.mean())
    sky.variance.array[:] = 1.0
    metadata = sky.getMetadata()
    metadata.set("BOX.MINX", bbox.getMinX())
    metadata.set("BOX.MINY", bbox.getMinY())
    metadata.set("BOX.MAXX", bbox.getMaxX())
    metadata.set("BOX.MAXY", bbox.getMaxY())
    metadata.set("ALGORITHM", "NATURAL_SPLINE")
    return sky


def reference_visit() -> Visit:
    camera = makeDummyCamera()
    visit = Visit(camera=camera, calExps=[], calBkgs=[], skyFrames=[])
    for detectorId in (0, 1):
        detector = camera[detectorId]
        bbox = detector.getBBox()
        rng = np.random.default_rng(detectorId)
        calExp = ExposureF(bbox)
        calExp.maskedImage.set(0.0, 0, 650.0)
        calExp.image.array[992:2016, 1024:2048] += 5.0
        calExp.image.array[:] += rng.normal(0.0, 25.0, calExp.image.array.shape).astype(np.float32)
        calExp.setDetector(detector)
        visit.calExps.append(calExp)
        visit.calBkgs.append(constant_background(bbox, 3000.0))
        visit.skyFrames.append(reference_sky_frame(bbox, rng))
        ratio = ImageF(bbox)
        ratio.array[:] = 1.1
        visit.ratios.append(ratio)
    return visit


@pytest.fixture(scope="module")
def visit() -> Visit:
    return reference_visit()


def test_reference_default(visit: Visit, caplog: pytest.LogCaptureFixture) -> None:
    task = SkyCorrectionTask(config=reference_config())
    with caplog.at_level(logging.INFO, logger="lsst.sky.correction"):
        result = task.run(visit.calExps, visit.calBkgs, visit.skyFrames, visit.camera)
    messages = [r.getMessage() for r in caplog.records if r.name == "lsst.sky.correction.skyCorr"]
    for expected in (
        "Detector 0: Original background restored (BG median = 3000.0 counts, BG IQR = 0.0 counts)",
        "Detector 1: Merged ",
        "bgModel1: Pixel data exists in ",
        "Sky frame scale: ",
        "bgModel2: FP BG median: ",
    ):
        assert any(m.startswith(expected) for m in messages), expected
    assert len(result.skyCorr) == 2
    assert result.skyFrameScale == pytest.approx(5.0, abs=0.1)
    assert np.nanmean(result.calExpMosaic.array) == pytest.approx(0.0, abs=0.01)
    # Inverted calexpBackground, bgModel1, scaled sky frame, bgModel2.
    assert [len(skyCorr) for skyCorr in result.skyCorr] == [4, 4]


def test_reference_undo_bg_model1(visit: Visit) -> None:
    task = SkyCorrectionTask(config=reference_config(undoBgModel1=True, doBgModel2=False))
    result = task.run(visit.calExps, visit.calBkgs, visit.skyFrames, visit.camera)
    expected = float(np.nanmean(visit.calExps[0].image.array)) + 3000.0
    assert np.nanmean(result.calExpMosaic.array) == pytest.approx(expected, abs=0.01)
    assert [len(skyCorr) for skyCorr in result.skyCorr] == [2, 2]


def test_reference_flat_background_ratio(visit: Visit) -> None:
    task = SkyCorrectionTask(config=reference_config(doApplyFlatBackgroundRatio=True))
    ratios = [InMemoryDatasetHandle(ratio, detector=det, visit=0) for det, ratio in enumerate(visit.ratios)]
    result = task.run(visit.calExps, visit.calBkgs, visit.skyFrames, visit.camera, ratios)
    assert result.skyFrameScale == pytest.approx(5.5, abs=0.1)
    assert np.nanmean(result.calExpMosaic.array) == pytest.approx(0.0, abs=0.01)


# A small camera with rotated detectors, for the analytic tests ------------------------------

SMALL_DIMS = Extent2I(400, 300)
SMALL_PIXEL_MM = 0.01


def rotated_camera() -> Any:
    """Four 400x300 detectors around the origin, rotated by 0, 90, 180 and 270 degrees."""
    from lsst.sky.correction.afwlite.cameraGeom import Camera, Detector, Orientation

    centre = Point2D((SMALL_DIMS.x - 1) / 2, (SMALL_DIMS.y - 1) / 2)
    layout = [(0, (-2.6, -2.6), 0.0), (1, (2.6, -2.6), 90.0), (2, (2.6, 2.6), 180.0), (3, (-2.6, 2.6), 270.0)]
    detectors = [
        Detector(
            f"D{detectorId}",
            detectorId,
            bbox=Box2I(Point2I(0, 0), SMALL_DIMS),
            orientation=Orientation((x, y, 0.0), centre, np.deg2rad(yawDeg)),
            pixelSize=(SMALL_PIXEL_MM, SMALL_PIXEL_MM),
        )
        for detectorId, (x, y), yawDeg in layout
    ]
    return Camera("Rotated4", detectors)


def focal_plane_coordinates(detector: Any) -> tuple[np.ndarray, np.ndarray]:
    from lsst.sky.correction.afwlite.cameraGeom import FOCAL_PLANE, PIXELS

    bbox = detector.getBBox()
    y, x = np.mgrid[bbox.getMinY() : bbox.getMaxY() + 1, bbox.getMinX() : bbox.getMaxX() + 1]
    fp = detector.getTransform(PIXELS, FOCAL_PLANE).applyForward(
        np.stack([x.ravel(), y.ravel()]).astype(float)
    )
    return fp[0].reshape(x.shape), fp[1].reshape(y.shape)


def small_visit(sky: Any, noise: float = 5.0, seed: int = 3) -> Visit:
    """Calexps whose restored image is ``sky(fp_x, fp_y)`` + noise; calexpBackground = a constant."""
    camera = rotated_camera()
    visit = Visit(camera=camera, calExps=[], calBkgs=[], skyFrames=[])
    rng = np.random.default_rng(seed)
    for detector in camera:
        bbox = detector.getBBox()
        fpX, fpY = focal_plane_coordinates(detector)
        truth = sky(fpX, fpY)
        pedestal = float(np.median(truth))
        calExp = ExposureF(bbox)
        calExp.image.array[:] = (truth - pedestal + rng.normal(0.0, noise, truth.shape)).astype(np.float32)
        calExp.variance.array[:] = noise**2
        calExp.setDetector(detector)
        visit.calExps.append(calExp)
        visit.calBkgs.append(constant_background(bbox, pedestal))
    return visit


def small_config(**overrides: Any) -> SkyCorrectionConfig:
    config = SkyCorrectionConfig()
    config.doSky = False
    config.doMaskObjects = False
    config.binning = 4
    for model, size in ((config.bgModel1, 1.0), (config.bgModel2, 0.5)):
        model.xSize = size
        model.ySize = size
        model.pixelSize = SMALL_PIXEL_MM
        model.binning = 16
    for name, value in overrides.items():
        setattr(config, name, value)
    config.validate()
    return config


def new_background(skyCorr: BackgroundList, nOriginal: int = 1) -> np.ndarray:
    image = BackgroundList(*skyCorr[nOriginal:]).getImage()
    assert image is not None
    return image.array


def test_recovers_a_focal_plane_gradient_on_rotated_detectors() -> None:
    def sky(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return 1000.0 + 20.0 * x - 12.0 * y

    visit = small_visit(sky)
    config = small_config()
    # bgModel2's masked smoothing biases a gradient at the edge of the focal plane by design
    # (normalised convolution over a one-sided window); switch it off to test the geometry.
    config.bgModel2.doSmooth = False
    result = SkyCorrectionTask(config=config).run(visit.calExps, visit.calBkgs, None, visit.camera)
    for detector, skyCorr in zip(visit.camera, result.skyCorr, strict=True):
        fpX, fpY = focal_plane_coordinates(detector)
        residual = np.abs(new_background(skyCorr) - sky(fpX, fpY))
        # The field spans ~250 counts over the focal plane and 60-80 counts over one detector,
        # so a detector placed or rotated wrongly is off by tens of counts.  Superpixel means
        # carry 5 / sqrt(5000) ~ 0.07 counts of noise; corners are extrapolated from
        # partially filled superpixels and may be off by a few counts.
        assert np.median(residual) < 0.3, detector.getName()
        assert np.median(residual[50:-50, 50:-50]) < 0.2, detector.getName()
        assert np.percentile(residual, 99) < 3.5, detector.getName()
    corrected = result.calExpMosaic.array
    assert np.nanmean(corrected) == pytest.approx(0.0, abs=0.1)


def test_object_masking_keeps_a_bright_source_out_of_the_sky() -> None:
    def flat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.full_like(x, 1000.0)

    def with_source(visit: Visit) -> tuple[int, int]:
        calExp = visit.calExps[0]
        yy, xx = np.mgrid[0:300, 0:400]
        cx, cy = 200, 150
        calExp.image.array[:] += (800.0 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 25.0**2))).astype(
            np.float32
        )
        return cx, cy

    results = {}
    for doMaskObjects in (False, True):
        visit = small_visit(flat)
        cx, cy = with_source(visit)
        task = SkyCorrectionTask(config=small_config(doMaskObjects=doMaskObjects))
        result = task.run(visit.calExps, visit.calBkgs, None, visit.camera)
        results[doMaskObjects] = new_background(result.skyCorr[0])[cy, cx] - 1000.0
    # Unmasked, the source's light leaks into the sky model; masked, the model stays at the sky.
    assert results[False] > 20.0
    assert abs(results[True]) < 3.0


def test_no_usable_superpixels_raises() -> None:
    visit = small_visit(lambda x, y: np.full_like(x, 100.0))
    for calExp in visit.calExps:
        calExp.mask.array[:] = calExp.mask.getPlaneBitMask("BAD")
    task = SkyCorrectionTask(config=small_config())
    with pytest.raises(NoUsableBackgroundSuperpixelsError, match="bgModel1") as info:
        task.run(visit.calExps, visit.calBkgs, None, visit.camera)
    assert info.value.metadata == {"bgModelID": "bgModel1"}


def test_inputs_are_not_modified_and_order_does_not_matter() -> None:
    visit = small_visit(lambda x, y: 500.0 + 3.0 * x * y)
    images = [calExp.image.array.copy() for calExp in visit.calExps]
    stats = [calBkg[0][0].getStatsImage().image.array.copy() for calBkg in visit.calBkgs]
    task = SkyCorrectionTask(config=small_config())
    forward = task.run(visit.calExps, visit.calBkgs, None, visit.camera)
    backward = task.run(visit.calExps[::-1], visit.calBkgs[::-1], None, visit.camera)
    for before, calExp in zip(images, visit.calExps, strict=True):
        np.testing.assert_array_equal(calExp.image.array, before)
    for before, calBkg in zip(stats, visit.calBkgs, strict=True):
        np.testing.assert_array_equal(calBkg[0][0].getStatsImage().image.array, before)
    for a, b in zip(forward.skyCorr, backward.skyCorr[::-1], strict=True):
        np.testing.assert_array_equal(a.getImage().array, b.getImage().array)
    np.testing.assert_array_equal(forward.calExpMosaic.array, backward.calExpMosaic.array)


class CountingHandle:
    """An in-memory dataset handle that counts its ``get`` calls."""

    def __init__(self, dataset: Any, detector: int) -> None:
        self._handle = InMemoryDatasetHandle(dataset, detector=detector)
        self.dataId = self._handle.dataId
        self.calls = 0

    def get(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self._handle.get(*args, **kwargs)


def test_each_input_is_fetched_once_and_spilling_changes_nothing(visit: Visit, tmp_path: Path) -> None:
    calExps = [CountingHandle(e, d) for d, e in enumerate(visit.calExps)]
    skyFrames = [CountingHandle(s, d) for d, s in enumerate(visit.skyFrames)]
    inMemory = SkyCorrectionTask(config=reference_config()).run(
        calExps, visit.calBkgs, skyFrames, visit.camera
    )
    assert [h.calls for h in calExps] == [1, 1]
    assert [h.calls for h in skyFrames] == [1, 1]
    spilling = SkyCorrectionTask(config=reference_config(cacheMemoryBudget=0, cacheDirectory=str(tmp_path)))
    spilled = spilling.run(visit.calExps, visit.calBkgs, visit.skyFrames, visit.camera)
    assert spilled.skyFrameScale == inMemory.skyFrameScale
    for a, b in zip(inMemory.skyCorr, spilled.skyCorr, strict=True):
        np.testing.assert_array_equal(a.getImage().array, b.getImage().array)
    np.testing.assert_array_equal(inMemory.calBkgMosaic.array, spilled.calBkgMosaic.array)
    assert list(tmp_path.iterdir()) == []  # the spill directory was removed


# runQuantum with a mocked quantum context -------------------------------------------------


@dataclass
class FakeRef:
    datasetType: str
    dataId: dict[str, int]


class FakeRefs:
    """Stands in for pipe_base's quantized connections: attributes hold ref lists."""

    def __init__(self, **refs: Any) -> None:
        for name, value in refs.items():
            setattr(self, name, value)


class FakeButlerQC:
    def __init__(self, datasets: dict[tuple[str, int | None], Any]) -> None:
        self.datasets = datasets
        self.put_values: Struct | None = None
        self.put_refs: Any = None

    def get(self, refs: FakeRefs) -> dict[str, Any]:
        inputs: dict[str, Any] = {}
        for name, value in vars(refs).items():
            if isinstance(value, list):
                inputs[name] = [
                    InMemoryDatasetHandle(self.datasets[(name, ref.dataId["detector"])], **ref.dataId)
                    if name in ("calExps", "skyFrames")
                    else self.datasets[(name, ref.dataId["detector"])]
                    for ref in value
                ]
            else:
                inputs[name] = self.datasets[(name, None)]
        return inputs

    def put(self, values: Struct, refs: Any) -> None:
        self.put_values, self.put_refs = values, refs


def quantum_for(
    visit: Visit, calExpDetectors: list[int], bkgDetectors: list[int], skyDetectors: list[int] | None
) -> Any:
    """A fake quantum; ``skyDetectors=None`` means the skyFrames connection is absent (doSky off)."""
    datasets: dict[tuple[str, int | None], Any] = {("camera", None): visit.camera}
    for d in range(len(visit.calExps)):
        datasets[("calExps", d)] = visit.calExps[d]
        datasets[("calBkgs", d)] = visit.calBkgs[d]
        if skyDetectors is not None:
            datasets[("skyFrames", d)] = visit.skyFrames[d]
    inputRefs = FakeRefs(
        calExps=[FakeRef("calexp", {"detector": d}) for d in calExpDetectors],
        calBkgs=[FakeRef("calexpBackground", {"detector": d}) for d in bkgDetectors],
        camera=FakeRef("camera", {}),
    )
    if skyDetectors is not None:
        inputRefs.skyFrames = [FakeRef("sky", {"detector": d}) for d in skyDetectors]
    allDetectors = sorted(set(calExpDetectors) | set(bkgDetectors))
    outputRefs = FakeRefs(
        skyCorr=[FakeRef("skyCorr", {"detector": d}) for d in allDetectors],
        calExpMosaic=FakeRef("calexp_skyCorr_visit_mosaic", {}),
        calBkgMosaic=FakeRef("calexpBackground_skyCorr_visit_mosaic", {}),
    )
    return FakeButlerQC(datasets), inputRefs, outputRefs


def test_run_quantum_processes_the_common_detectors(caplog: pytest.LogCaptureFixture) -> None:
    visit = small_visit(lambda x, y: 200.0 + x)
    # Reuse the small camera's sky frames: constant frames let the sky scale be anything.
    visit.skyFrames = [flat_sky_frame(calExp.getBBox()) for calExp in visit.calExps]
    butlerQC, inputRefs, outputRefs = quantum_for(visit, [3, 0, 1, 2], [2, 0, 3, 1], [0, 3, 2])
    task = SkyCorrectionTask(config=small_config(doSky=True))
    with caplog.at_level(logging.WARNING):
        task.runQuantum(butlerQC, inputRefs, outputRefs)
    assert [ref.dataId["detector"] for ref in butlerQC.put_refs.skyCorr] == [0, 2, 3]
    assert len(butlerQC.put_values.skyCorr) == 3
    assert "Detector 1 is not processed: it has no skyFrames." in caplog.text


def test_run_quantum_annotates_algorithm_errors() -> None:
    visit = small_visit(lambda x, y: np.full_like(x, 100.0))
    for calExp in visit.calExps:
        calExp.mask.array[:] = calExp.mask.getPlaneBitMask("NO_DATA")
    butlerQC, inputRefs, outputRefs = quantum_for(visit, [0, 1, 2, 3], [0, 1, 2, 3], None)
    task = SkyCorrectionTask(config=small_config())
    with pytest.raises(AnnotatedPartialOutputsError) as info:
        task.runQuantum(butlerQC, inputRefs, outputRefs)
    assert isinstance(info.value.__cause__, NoUsableBackgroundSuperpixelsError)
    assert butlerQC.put_values is None


def flat_sky_frame(bbox: Box2I) -> ExposureF:
    """A small sky frame with a ramp (a constant frame would leave the scale undetermined)."""
    return makeSkyFrame(bbox, np.linspace(-1.0, 1.0, 8)[np.newaxis, :].repeat(6, axis=0))


def test_config_validation_names_the_problem() -> None:
    config = reference_config()
    config.undoBgModel1 = True
    config.doSky = False
    config.doBgModel2 = False
    with pytest.raises(ValueError, match="undoBgModel1"):
        config.validate()


def test_connections_follow_the_config() -> None:
    from lsst.sky.correction import SkyCorrectionConnections

    names = set(SkyCorrectionConnections(config=reference_config()).allConnections)
    assert {"calExps", "calBkgs", "skyFrames", "camera", "skyCorr", "calExpMosaic", "calBkgMosaic"} <= names
    assert "backgroundToPhotometricRatioHandles" not in names
    withRatio = SkyCorrectionConnections(
        config=reference_config(doApplyFlatBackgroundRatio=True, doSky=False)
    )
    names = set(withRatio.allConnections)
    assert "backgroundToPhotometricRatioHandles" in names and "skyFrames" not in names
    assert SkyCorrectionTask._DefaultName == "skyCorr"


@pytest.mark.parametrize(
    ("camera", "bgModel1Px", "bgModel2Px", "pixelSize", "minFrac"),
    [
        ("HSC", 8192, 256, 0.015, 0.5),
        ("LSSTCam", 8192, 4096, 0.010, 0.3),
        ("LSSTComCam", 8192, 4096, 0.010, 0.3),
        ("DECam", 8192, 256, 0.015, 0.3),
    ],
)
def test_camera_overrides_load_and_match_the_stack(
    camera: str, bgModel1Px: int, bgModel2Px: int, pixelSize: float, minFrac: float
) -> None:
    # The stack's per-camera superpixel sizes (pixels x pixel size, in mm): obs_lsst and obs_subaru
    # config/skyCorr.py, drp_pipe pipelines/_ingredients (skyCorr config).
    config = SkyCorrectionConfig()
    config.load(str(CONFIG_OVERRIDES / camera / "skyCorr.py"))
    config.validate()
    assert config.bgModel1.xSize == pytest.approx(bgModel1Px * pixelSize)
    assert config.bgModel2.ySize == pytest.approx(bgModel2Px * pixelSize)
    assert config.bgModel1.pixelSize == config.bgModel2.pixelSize == pixelSize
    assert config.bgModel2.minFrac == minFrac
    # The camera's detectors really have that pixel size.
    from lsst.sky.correction.cameras import getCamera

    assert all(d.getPixelSize().getX() == pytest.approx(pixelSize) for d in getCamera(camera))


def test_spill_directory_is_removed_when_the_run_fails(tmp_path: Path) -> None:
    visit = small_visit(lambda x, y: np.full_like(x, 100.0))
    for calExp in visit.calExps:
        calExp.mask.array[:] = calExp.mask.getPlaneBitMask("BAD")
    task = SkyCorrectionTask(config=small_config(cacheMemoryBudget=0, cacheDirectory=str(tmp_path)))
    with pytest.raises(NoUsableBackgroundSuperpixelsError):
        task.run(visit.calExps, visit.calBkgs, None, visit.camera)
    assert list(tmp_path.iterdir()) == []


def test_per_detector_passes_log_progress_with_counts(
    visit: Visit, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A zero interval: every detector finished is a progress line (10 s in normal runs).
    monkeypatch.setattr("lsst.sky.correction._progress.DEFAULT_PROGRESS_INTERVAL", 0.0)
    task = SkyCorrectionTask(config=reference_config())
    with caplog.at_level(logging.INFO, logger="lsst.sky.correction"):
        task.run(visit.calExps, visit.calBkgs, visit.skyFrames, visit.camera)
    messages = [r.getMessage() for r in caplog.records if r.name == "lsst.sky.correction.skyCorr"]
    for what in (
        "Read, restored and binned (bgModel1)",
        "Measured against the sky frame",
        "Binned into bgModel2",
    ):
        lines = [m for m in messages if m.startswith(f"{what}: ")]
        assert any(m.startswith(f"{what}: 1/2 detectors (50%), ") and " ETA " in m for m in lines), lines
        assert any(m.startswith(f"{what}: 2/2 detectors in ") for m in lines), lines
