"""pipelines/SkyCorrectionJoint.yaml under ``pipetask run -j 2`` against the one-task joint mode.

One TinyCam visit (four 256x200 detectors) is written to a repository; the
one-task pipeline with ``fitMode="joint"`` and the two-step pipeline (four
``skyCorrBins`` quanta spread over two processes, then one
``skyCorrJointFit`` quantum) must write the same ``skyCorr`` datasets and
mosaics: the same functions run on the same inputs in the same detector
order, so the outputs agree bit for bit.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from butler_support import BIN, FILTER, INSTRUMENT, PIPETASK_ENV, ROOT, SKY_SCALES, TINY_CONFIG, simulateVisit
from click.testing import CliRunner

from lsst.daf.butler import Butler
from lsst.daf.butler.cli.butler import cli as butlerCli
from lsst.sky.correction._sky_bins import DetectorSkyBins
from lsst.sky.correction._storage_classes import STORAGE_CLASSES
from lsst.sky.correction.afwlite.math import BackgroundList
from lsst.sky.correction.butler import writeVisit
from lsst.sky.correction.testing import makeTinyCamera

pytestmark = pytest.mark.skipif(
    STORAGE_CLASSES.exposure != "AfwliteExposureF", reason="these tests run the afwlite storage classes"
)

# The joint fit on TinyCam: 32-px bins (8 x 6 per detector), a quadratic focal-plane polynomial.
JOINT = "config.joint.binSize = 32\nconfig.joint.order = 2\nconfig.binning = 4\n"
ONE_TASK = TINY_CONFIG + 'config.fitMode = "joint"\n' + JOINT
BINS = "config.doMaskObjects = False\n" + JOINT
WHERE = f"instrument='{INSTRUMENT}' AND visit=1"


@dataclass
class Runs:
    root: Path
    oneTask: str  # output collection of the one-task joint mode
    twoStep: str  # output collection of the two-step pipeline
    seconds: dict[str, float]


def pipetask(*args: str) -> float:
    """Run ``pipetask``; its wall time in seconds."""
    command = [str(BIN / "pipetask"), *args]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=PIPETASK_ENV, timeout=300)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - start


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    tmp = tmp_path_factory.mktemp("joint-pipeline")
    root = tmp / "repo"
    result = CliRunner().invoke(
        butlerCli, ["sky-correction-init-repo", str(root), "--instrument", INSTRUMENT]
    )
    assert result.exit_code == 0, result.output
    simulated = simulateVisit(1)
    butler = Butler.from_config(str(root), writeable=True)
    writeVisit(
        butler,
        INSTRUMENT,
        1,
        FILTER,
        simulated.calexps,
        simulated.calexpBackgrounds,
        simulated.skyFrames,
        simulated.truth,
    )
    butler.close()
    configs = {name: tmp / f"{name}.py" for name in ("one", "bins", "fit")}
    configs["one"].write_text(ONE_TASK)
    configs["bins"].write_text(BINS)
    configs["fit"].write_text(JOINT)
    common = ["run", "-b", str(root), "-i", f"{INSTRUMENT}/defaults", "-d", WHERE, "--register-dataset-types"]
    seconds = {}
    seconds["oneTask"] = pipetask(
        *common,
        "-o",
        "u/test/joint-one-task",
        "-p",
        str(ROOT / "pipelines" / "SkyCorrection.yaml"),
        "-C",
        f"skyCorr:{configs['one']}",
    )
    seconds["twoStep"] = pipetask(
        *common,
        "-o",
        "u/test/joint-two-step",
        "-p",
        str(ROOT / "pipelines" / "SkyCorrectionJoint.yaml"),
        "-C",
        f"skyCorrBins:{configs['bins']}",
        "-C",
        f"skyCorrJointFit:{configs['fit']}",
        "-j",
        "2",
    )
    yield Runs(root, "u/test/joint-one-task", "u/test/joint-two-step", seconds)


def test_two_step_pipeline_writes_the_one_task_outputs(runs: Runs) -> None:
    one = Butler.from_config(str(runs.root), collections=runs.oneTask)
    two = Butler.from_config(str(runs.root), collections=runs.twoStep)
    for detector in makeTinyCamera():
        dataId = {"instrument": INSTRUMENT, "visit": 1, "detector": detector.getId()}
        expected = one.get("skyCorr", dataId)
        got = two.get("skyCorr", dataId)
        assert isinstance(got, BackgroundList)
        assert len(got) == len(expected) == 3  # inverted calexpBackground, smooth model, sky frame
        for gotElement, expectedElement in zip(got, expected, strict=True):
            assert gotElement[1:] == expectedElement[1:]
            np.testing.assert_array_equal(
                gotElement[0].getStatsImage().image.array, expectedElement[0].getStatsImage().image.array
            )
        gotImage, expectedImage = got.getImage(), expected.getImage()
        assert gotImage is not None and expectedImage is not None
        np.testing.assert_array_equal(gotImage.array, expectedImage.array)
        bins = two.get("skyCorrBins", dataId)
        assert isinstance(bins, DetectorSkyBins) and bins.detectorId == detector.getId()
    for name in ("calexp_skyCorr_visit_mosaic", "calexpBackground_skyCorr_visit_mosaic"):
        np.testing.assert_array_equal(
            two.get(name, instrument=INSTRUMENT, visit=1).array,
            one.get(name, instrument=INSTRUMENT, visit=1).array,
        )

    expectedScale = one.get("skyCorr_metadata", instrument=INSTRUMENT, visit=1)["skyCorr"]["skyFrameScale"]
    metadata = two.get("skyCorrJointFit_metadata", instrument=INSTRUMENT, visit=1)["skyCorrJointFit"]
    assert metadata["skyFrameScale"] == expectedScale
    assert expectedScale == pytest.approx(SKY_SCALES[1], rel=0.02)
    assert metadata["jointChi2"] > 0


def test_two_step_pipeline_has_one_bins_quantum_per_detector(runs: Runs) -> None:
    butler = Butler.from_config(str(runs.root), collections=runs.twoStep)
    refs = butler.query_datasets("skyCorrBins", instrument=INSTRUMENT, visit=1)
    assert sorted(ref.dataId["detector"] for ref in refs) == [0, 1, 2, 3]
    logs = butler.query_datasets("skyCorrBins_log", instrument=INSTRUMENT, visit=1)
    assert len(logs) == 4
    storageClass = butler.get_dataset_type("skyCorrBins").storageClass_name
    assert storageClass == STORAGE_CLASSES.detectorSkyBins
    uri = butler.getURI("skyCorrBins", instrument=INSTRUMENT, visit=1, detector=0)
    assert uri.ospath.endswith(".npz")
    print(f"pipetask wall time (s), one TinyCam visit: {runs.seconds}")
