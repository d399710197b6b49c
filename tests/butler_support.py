"""The TinyCam repository set-up shared by the Butler and pipetask tests (tests/butler, tests/reliability).

Visits are made by hand with exact truth: a flat pedestal, a sky-frame
pattern of known amplitude (its expected image from `sky_frame_oracle`, not
from the code under test) and noise.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sky_frame_oracle import naturalSplineImage

from lsst.daf.butler import Butler
from lsst.sky.correction import SkyCorrectionConfig
from lsst.sky.correction.afwlite.geom import Box2I
from lsst.sky.correction.afwlite.image import ExposureF
from lsst.sky.correction.afwlite.math import (
    BackgroundList,
)
from lsst.sky.correction.butler import (
    registerOutputDatasetTypes,
)
from lsst.sky.correction.testing import makeConstantBackground, makeSkyFrame, makeTinyCamera, putQuantumInputs

BIN = Path(sys.executable).parent


ROOT = Path(__file__).resolve().parents[1]


INSTRUMENT = "TinyCam"


FILTER = "tiny_r"


SKY_SCALES = {1: 40.0, 2: 55.0}  # the sky-frame amplitude of each visit, recovered by the task


PEDESTAL = 1000.0


NOISE = 3.0


PIPETASK_ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


# TinyCam: 10 micron pixels, a ~6 x 6 mm focal plane.  bgModel1 is one superpixel over the
# whole focal plane (as the stack's 8192-px superpixels are for real cameras), so the
# sky-frame pattern is left for the sky-frame fit; bgModel2 cleans up on 0.5 mm scales.
TINY_CONFIG = """
config.doMaskObjects = False
config.binning = 4
for model, size in ((config.bgModel1, 7.0), (config.bgModel2, 0.5)):
    model.xSize = size
    model.ySize = size
    model.pixelSize = 0.010
    model.binning = 16
"""


def tinyConfig() -> SkyCorrectionConfig:
    config = SkyCorrectionConfig()
    exec(TINY_CONFIG, {"config": config})
    return config


def skyFrame(bbox: Box2I) -> ExposureF:
    """An 8x6 sky frame: a ramp along x and a ridge along y, zero-mean over the detector."""
    yy = np.arange(6, dtype=float)[:, np.newaxis]
    sky = makeSkyFrame(bbox, np.linspace(-1.0, 1.0, 8)[np.newaxis, :] + np.exp(-((yy - 2.5) ** 2)))
    # An interpolated constant is that constant: shifting the samples centres the full image.
    # The image is afw's NATURAL_SPLINE interpolation, built without the package.
    full = naturalSplineImage(sky.image.array, bbox.getWidth(), bbox.getHeight())
    sky.image.array[:] -= np.float32(np.mean(full))
    return sky


@dataclass
class SimulatedVisit:
    calexps: dict[int, ExposureF]
    calexpBackgrounds: dict[int, BackgroundList]
    skyFrames: dict[int, ExposureF]
    truth: dict[str, Any]


def simulateVisit(visit: int) -> SimulatedVisit:
    """Restored image = pedestal + scale x sky frame + noise; calexpBackground = the pedestal."""
    camera = makeTinyCamera()
    rng = np.random.default_rng(visit)
    result = SimulatedVisit({}, {}, {}, {"skyFrameScale": SKY_SCALES[visit], "pedestal": PEDESTAL})
    skyMeans = []
    for detector in camera:
        bbox = detector.getBBox()
        sky = skyFrame(bbox)
        skyImage = naturalSplineImage(sky.image.array, bbox.getWidth(), bbox.getHeight())
        calexp = ExposureF(bbox)
        calexp.image.array[:] = (
            SKY_SCALES[visit] * skyImage + rng.normal(0.0, NOISE, skyImage.shape)
        ).astype(np.float32)
        calexp.variance.array[:] = NOISE**2
        calexp.mask.array[0, :] = calexp.mask.getPlaneBitMask("EDGE")
        calexp.getMetadata().set("SIMVISIT", visit)
        result.calexps[detector.getId()] = calexp
        result.calexpBackgrounds[detector.getId()] = makeConstantBackground(bbox, PEDESTAL)
        result.skyFrames[detector.getId()] = sky
        skyMeans.append(float(np.mean(skyImage)))
    result.truth["detectors"] = np.array(sorted(result.calexps))  # numpy is converted on the way in
    result.truth["meanBackground"] = PEDESTAL + SKY_SCALES[visit] * float(np.mean(skyMeans))
    return result


def pipelinePath(tmp: Path) -> Path:
    """pipelines/SkyCorrection.yaml when the repository has it, else a minimal pipeline."""
    shipped = ROOT / "pipelines" / "SkyCorrection.yaml"
    if shipped.exists():
        return shipped
    path = tmp / "skyCorr.yaml"
    path.write_text(
        "description: SkyCorrectionTask alone (test pipeline)\n"
        "tasks:\n"
        "  skyCorr:\n"
        "    class: lsst.sky.correction.SkyCorrectionTask\n"
    )
    return path


def quantumInputsButler(root: Path, run: str, simulated: SimulatedVisit) -> Butler:
    """A writeable Butler whose default ``run`` holds ``simulated`` as visit 1, outputs registered."""
    butler = Butler.from_config(str(root), writeable=True, run=run)
    putQuantumInputs(
        butler,
        INSTRUMENT,
        1,
        FILTER,
        simulated.calexps,
        simulated.calexpBackgrounds,
        simulated.skyFrames,
        makeTinyCamera(),
    )
    registerOutputDatasetTypes(butler)
    return butler


def pipetaskRunArgs(root: Path, pipeline: Path, configFile: Path, output: str, where: str) -> list[str]:
    """``pipetask run`` arguments for the TinyCam repository: inputs, output, pipeline, config, query."""
    return [
        "run",
        "-b",
        str(root),
        "-i",
        f"{INSTRUMENT}/defaults",
        "-o",
        output,
        "-p",
        str(pipeline),
        "-C",
        f"skyCorr:{configFile}",
        "-d",
        where,
    ]
