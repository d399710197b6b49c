"""A small TinyCam visit with known truth, shared by the reliability tests.

The restored image of each detector is ``PEDESTAL + SKY_SCALE * skyFrame +
noise``, the sky frame interpolated independently of the package
(`sky_frame_oracle.naturalSplineImage`), and its calexpBackground is the constant ``PEDESTAL``, so a correct
run recovers ``SKY_SCALE`` as the sky-frame scale.  TinyCam's detectors are
256 x 200 pixels, so a whole visit runs in a fraction of a second.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from sky_frame_oracle import naturalSplineImage

from lsst.pipe.base import InMemoryDatasetHandle
from lsst.sky.correction import SkyCorrectionConfig, SkyCorrectionTask
from lsst.sky.correction.afwlite.geom import Box2I
from lsst.sky.correction.afwlite.image import ExposureF, ImageF
from lsst.sky.correction.afwlite.math import (
    BackgroundList,
)
from lsst.sky.correction.testing import makeConstantBackground, makeSkyFrame, makeTinyCamera

PEDESTAL = 1000.0
SKY_SCALE = 40.0
NOISE = 3.0
TASK_LOGGER = "lsst.sky.correction"

# TinyCam: 10 micron pixels, a ~6 x 6 mm focal plane.  bgModel1 is one superpixel over the
# whole focal plane, so the sky-frame pattern is left for the sky-frame fit (test_butler.py).
TINY_CONFIG = """
config.doMaskObjects = False
config.binning = 4
for model, size in ((config.bgModel1, 7.0), (config.bgModel2, 0.5)):
    model.xSize = size
    model.ySize = size
    model.pixelSize = 0.010
    model.binning = 16
"""


def tinyConfig(**overrides: Any) -> SkyCorrectionConfig:
    """The TinyCam configuration, with ``overrides`` set and validated."""
    config = SkyCorrectionConfig()
    exec(TINY_CONFIG, {"config": config})
    for name, value in overrides.items():
        setattr(config, name, value)
    config.validate()
    return config


def skyFrame(bbox: Box2I) -> ExposureF:
    """An 8x6 sky frame with the BOX.* cards of ``bbox``: a ramp in x and a ridge in y."""
    yy = np.arange(6, dtype=float)[:, np.newaxis]
    return makeSkyFrame(bbox, np.linspace(-1.0, 1.0, 8)[np.newaxis, :] + np.exp(-((yy - 2.5) ** 2)))


constantBackground = makeConstantBackground


@dataclass
class TinyVisit:
    """The inputs of one TinyCam visit, in detector order 0-3."""

    camera: Any
    calExps: list[ExposureF]
    calBkgs: list[BackgroundList]
    skyFrames: list[ExposureF]

    def run(self, config: SkyCorrectionConfig | None = None, **kwargs: Any) -> Any:
        """Run the task on these inputs (``kwargs`` replace any of them)."""
        inputs: dict[str, Any] = {
            "calExps": self.calExps,
            "calBkgs": self.calBkgs,
            "skyFrames": self.skyFrames,
            "camera": self.camera,
        }
        inputs.update(kwargs)
        return SkyCorrectionTask(config=config or tinyConfig()).run(**inputs)


def tinyVisit(seed: int = 1, skyScale: float = SKY_SCALE) -> TinyVisit:
    """Simulate a TinyCam visit (restored image = pedestal + skyScale x sky frame + noise)."""
    camera = makeTinyCamera()
    rng = np.random.default_rng(seed)
    visit = TinyVisit(camera, [], [], [])
    for detector in camera:
        bbox = detector.getBBox()
        sky = skyFrame(bbox)
        # The truth is built without the task: afw's NATURAL_SPLINE interpolation of the samples
        # (tests/sky_frame_oracle.py).  An interpolated constant is that constant, so shifting the
        # samples by the image's mean centres the frame over the detector and keeps the pedestal
        # in the calexpBackground.
        width, height = bbox.getWidth(), bbox.getHeight()
        sky.image.array[:] -= np.float32(np.mean(naturalSplineImage(sky.image.array, width, height)))
        skyImage = naturalSplineImage(sky.image.array, width, height)
        calExp = ExposureF(bbox)
        calExp.image.array[:] = (skyScale * skyImage + rng.normal(0.0, NOISE, skyImage.shape)).astype(
            np.float32
        )
        calExp.variance.array[:] = NOISE**2
        calExp.setDetector(detector)
        visit.calExps.append(calExp)
        visit.calBkgs.append(constantBackground(bbox, PEDESTAL))
        visit.skyFrames.append(sky)
    return visit


def taskMessages(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The messages the task (and its subtasks) logged."""
    return [record.getMessage() for record in caplog.records if record.name.startswith(TASK_LOGGER)]


def captureTaskLog(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> Any:
    """``caplog.at_level`` for the task's logger."""
    return caplog.at_level(level, logger=TASK_LOGGER)


# Dataset handles and a quantum context -------------------------------------------------------------


class FileHandle:
    """A dataset handle that reads a file on each ``get()``, as a deferred Butler handle does.

    Parameters
    ----------
    path : `pathlib.Path`
        The file.
    reader : callable
        Reads it (e.g. `ExposureF`, `BackgroundList.readFits`).
    detector : `int`
        The ``detector`` of the handle's data ID.
    """

    def __init__(self, path: Path, reader: Callable[[str], Any], detector: int) -> None:
        self.path = path
        self.reader = reader
        self.dataId = {"instrument": "TinyCam", "visit": 1, "detector": detector}

    def get(self) -> Any:
        return self.reader(str(self.path))


@dataclass
class FakeRef:
    """A dataset reference: the dataset type's name and the data ID."""

    name: str
    dataId: dict[str, int]

    @property
    def datasetType(self) -> Any:
        return SimpleNamespace(name=self.name)


class FakeButlerQC:
    """A quantum context over in-memory datasets, keyed by (connection, detector).

    ``get`` returns in-memory handles for the deferred connections (calExps,
    skyFrames, ratios) and the objects themselves for the others, as
    `lsst.pipe.base.QuantumContext` does, and raises a dataset that is an
    exception (an unreadable file); ``put`` records what the task wrote.
    """

    DEFERRED = frozenset({"calExps", "skyFrames", "backgroundToPhotometricRatioHandles"})

    def __init__(self, datasets: dict[tuple[str, int | None], Any]) -> None:
        self.datasets = datasets
        self.putValues: Any = None
        self.putRefs: Any = None

    def _one(self, name: str, ref: FakeRef) -> Any:
        value = self.datasets[(name, ref.dataId.get("detector"))]
        if isinstance(value, Exception):  # a dataset that cannot be read
            raise value
        return InMemoryDatasetHandle(value, **ref.dataId) if name in self.DEFERRED else value

    def get(self, refs: Any) -> Any:
        if isinstance(refs, FakeRef):
            name = {"calexpBackground": "calBkgs", "camera": "camera"}[refs.name]
            return self._one(name, refs)
        inputs: dict[str, Any] = {}
        for name, value in vars(refs).items():
            inputs[name] = (
                [self._one(name, ref) for ref in value] if isinstance(value, list) else self._one(name, value)
            )
        return inputs

    def put(self, values: Any, refs: Any) -> None:
        self.putValues, self.putRefs = values, refs


_DATASET_NAMES = {
    "calExps": "calexp",
    "calBkgs": "calexpBackground",
    "skyFrames": "sky",
    "backgroundToPhotometricRatioHandles": "background_to_photometric_ratio",
}


def tinyQuantum(visit: TinyVisit, **detectors: list[int]) -> tuple[FakeButlerQC, Any, Any]:
    """A quantum over ``visit``: each connection named in ``detectors`` holds those detectors.

    Connections not named hold every detector; ``skyFrames=None`` leaves the
    connection out (doSky off).  Ratio images of 1 exist for every detector.
    """
    allIds = [detector.getId() for detector in visit.camera]
    datasets: dict[tuple[str, int | None], Any] = {("camera", None): visit.camera}
    for index, detectorId in enumerate(allIds):
        datasets[("calExps", detectorId)] = visit.calExps[index]
        datasets[("calBkgs", detectorId)] = visit.calBkgs[index]
        datasets[("skyFrames", detectorId)] = visit.skyFrames[index]
        ratio = ImageF(visit.calExps[index].getBBox())
        ratio.array[:] = 1.0
        datasets[("backgroundToPhotometricRatioHandles", detectorId)] = ratio
    inputRefs = SimpleNamespace(camera=FakeRef("camera", {}))
    for name, datasetName in _DATASET_NAMES.items():
        ids = detectors.get(name, allIds)
        if ids is not None:
            setattr(inputRefs, name, [FakeRef(datasetName, {"detector": d}) for d in ids])
    outputRefs = SimpleNamespace(
        skyCorr=[FakeRef("skyCorr", {"detector": d}) for d in allIds],
        calExpMosaic=FakeRef("calexp_skyCorr_visit_mosaic", {}),
        calBkgMosaic=FakeRef("calexpBackground_skyCorr_visit_mosaic", {}),
    )
    return FakeButlerQC(datasets), inputRefs, outputRefs
