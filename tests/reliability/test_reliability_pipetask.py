"""Reliability catalogue, part 3: faults under ``pipetask run`` on a TinyCam repository.

The repository is built as in ``test_butler.py`` (the helpers of ``butler_support.py``):
visits 1 and 2 as simulated there, and visit 3 (visit 1's pixels again) whose
sky frame of detector 3 is damaged on disk.  The rows (ids in the
docstrings) are in ``docs/reliability.md``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue
from typing import IO

import numpy as np
import pytest
from butler_support import (
    BIN,
    FILTER,
    INSTRUMENT,
    PIPETASK_ENV,
    TINY_CONFIG,
    pipelinePath,
    pipetaskRunArgs,
    quantumInputsButler,
    simulateVisit,
    tinyConfig,
)
from click.testing import CliRunner

import lsst.pipe.base.testUtils as pbTest
from lsst.daf.butler import Butler
from lsst.daf.butler.cli.butler import cli as butlerCli
from lsst.sky.correction import SkyCorrectionTask
from lsst.sky.correction._storage_classes import STORAGE_CLASSES
from lsst.sky.correction.butler import writeVisit
from lsst.sky.correction.errors import InputDataError

pytestmark = pytest.mark.skipif(
    STORAGE_CLASSES.exposure != "AfwliteExposureF", reason="these tests run the afwlite storage classes"
)

DAMAGED_VISIT = 3
DAMAGED_DETECTOR = 3
#: Wall time allowed for the first quantum of the run that is killed (it takes a few seconds).
KILL_DEADLINE_SECONDS = 300.0
OUTPUTS = ("skyCorr", "calexp_skyCorr_visit_mosaic", "calexpBackground_skyCorr_visit_mosaic")


@dataclass
class FaultRepo:
    root: Path
    pipeline: Path
    configFile: Path
    cache: Path  # the pixel cache's spill directory (every detector spills)
    damagedFile: Path


@pytest.fixture(scope="module")
def faultRepo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultRepo]:
    tmp = tmp_path_factory.mktemp("faults")
    root = tmp / "repo"
    result = CliRunner().invoke(
        butlerCli, ["sky-correction-init-repo", str(root), "--instrument", INSTRUMENT]
    )
    assert result.exit_code == 0, result.output
    cache = tmp / "cache"
    cache.mkdir()
    configFile = tmp / "tinycam_skyCorr.py"
    configFile.write_text(
        TINY_CONFIG + f"config.cacheMemoryBudget = 0\nconfig.cacheDirectory = {str(cache)!r}\n"
    )
    butler = Butler.from_config(str(root), writeable=True)
    for visit, pixelsOf in ((1, 1), (2, 2), (DAMAGED_VISIT, 1)):
        simulated = simulateVisit(pixelsOf)
        writeVisit(
            butler,
            INSTRUMENT,
            visit,
            FILTER,
            simulated.calexps,
            simulated.calexpBackgrounds,
            simulated.skyFrames,
            simulated.truth,
        )
    dataId = butler.registry.expandDataId(
        instrument=INSTRUMENT, visit=DAMAGED_VISIT, detector=DAMAGED_DETECTOR
    )
    ref = butler.find_dataset("sky", dataId, collections=f"{INSTRUMENT}/calib", timespan=dataId.timespan)
    assert ref is not None
    damagedFile = Path(butler.getURI(ref).ospath)
    butler.close()
    # The end of the file was lost and zero-filled (its size, which the Butler records, is kept).
    data = damagedFile.read_bytes()
    damagedFile.write_bytes(data[:2880] + b"\0" * (len(data) - 2880))
    yield FaultRepo(root, pipelinePath(tmp), configFile, cache, damagedFile)


def pipetaskArgs(repo: FaultRepo, output: str, visits: str, *extra: str) -> list[str]:
    where = f"instrument='{INSTRUMENT}' AND visit IN ({visits})"
    return [
        str(BIN / "pipetask"),
        *pipetaskRunArgs(repo.root, repo.pipeline, repo.configFile, output, where),
        # Every test may come first (pytest-xdist gives each worker its own repository), so no
        # call may rely on an earlier one having registered the output dataset types.
        "--register-dataset-types",
        *extra,
    ]


def runPipetask(repo: FaultRepo, output: str, visits: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        pipetaskArgs(repo, output, visits, *extra),
        capture_output=True,
        text=True,
        env=PIPETASK_ENV,
        timeout=300,
    )


def taskOutputs(repo: FaultRepo, collection: str, visit: int) -> dict[str, int]:
    """How many of each task output the collection holds for the visit."""
    butler = Butler.from_config(str(repo.root), collections=collection)
    try:
        return {
            name: len(butler.query_datasets(name, instrument=INSTRUMENT, visit=visit, explain=False))
            for name in OUTPUTS
        }
    finally:
        butler.close()


def temporaryFiles(root: Path) -> list[Path]:
    """Files the FITS writers and the pixel cache make while working."""
    return [path for path in root.rglob("*") if path.name.endswith(".tmp") or "skyCorr-cache-" in path.name]


def test_a_failure_mid_visit_leaves_no_outputs_and_no_temporary_files(faultRepo: FaultRepo) -> None:
    """X4: the damaged sky frame is read after every detector was restored and spilled."""
    output = "u/reliability/damaged"
    done = runPipetask(faultRepo, output, str(DAMAGED_VISIT))
    assert done.returncode != 0
    log = done.stdout + done.stderr
    # The Butler adds the formatter, the dataset id and the URI; the task adds what and which detector.
    prefix = (
        f"Exception InputDataError: sky frame for detector {DAMAGED_DETECTOR}: cannot be read: "
        "Failure from formatter 'lsst.sky.correction.butler.formatters.AfwliteExposureFormatter' for dataset "
    )
    assert prefix in log, log[-3000:]
    assert f"{faultRepo.damagedFile}: damaged file: HDU 0 is followed by " in log
    assert taskOutputs(faultRepo, output, DAMAGED_VISIT) == dict.fromkeys(OUTPUTS, 0)
    assert list(faultRepo.cache.iterdir()) == []
    assert temporaryFiles(faultRepo.root) == []


def readOutputs(repo: FaultRepo, collection: str) -> dict[tuple[str, int, int | None], np.ndarray]:
    """Every task output of visits 1 and 2, as pixel arrays."""
    butler = Butler.from_config(str(repo.root), collections=collection)
    pixels = {}
    try:
        for visit in (1, 2):
            for detector in range(4):
                skyCorr = butler.get("skyCorr", instrument=INSTRUMENT, visit=visit, detector=detector)
                pixels[("skyCorr", visit, detector)] = skyCorr.getImage().array
            for name in OUTPUTS[1:]:
                pixels[(name, visit, None)] = butler.get(name, instrument=INSTRUMENT, visit=visit).array
    finally:
        butler.close()
    return pixels


def runAndKillAfterFirstQuantum(repo: FaultRepo, output: str) -> str:
    """Start ``pipetask run -j 1`` on visits 1 and 2; SIGKILL it as soon as one quantum is done."""
    process = subprocess.Popen(
        pipetaskArgs(repo, output, "1, 2", "-j", "1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=PIPETASK_ENV,
        start_new_session=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    # A thread reads the output, so the deadline holds even while the child prints nothing.
    queue: Queue[str | None] = Queue()
    reader = threading.Thread(target=_forwardLines, args=(process.stdout, queue), daemon=True)
    reader.start()
    deadline = time.monotonic() + KILL_DEADLINE_SECONDS
    try:
        while True:
            try:
                line = queue.get(timeout=max(deadline - time.monotonic(), 0.0))
            except Empty:
                raise AssertionError(
                    f"no quantum finished within {KILL_DEADLINE_SECONDS} s:\n" + "".join(lines)[-3000:]
                ) from None
            if line is None:
                raise AssertionError("pipetask ended before a quantum finished:\n" + "".join(lines)[-3000:])
            lines.append(line)
            if "Execution of task 'skyCorr' on quantum" in line and " took " in line:
                break
    finally:
        # Killed in every case: after the first quantum (no clean-up, as when a batch job is
        # killed), or when the deadline passed or the test failed.
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        reader.join(timeout=60)
    return "".join(lines)


def _forwardLines(stream: IO[str], queue: Queue[str | None]) -> None:
    """Put each line of ``stream`` on ``queue``, then `None` at its end."""
    for line in stream:
        queue.put(line)
    queue.put(None)


def test_an_interrupted_run_resumes_to_the_same_outputs(faultRepo: FaultRepo) -> None:
    """X5, D4 and X11: killed after one quantum, resumed with --skip-existing-in; same as a -j 2 run."""
    interrupted = "u/reliability/interrupted"
    log = runAndKillAfterFirstQuantum(faultRepo, interrupted)
    done = [visit for visit in (1, 2) if taskOutputs(faultRepo, interrupted, visit)["skyCorr"] == 4]
    assert len(done) == 1, log[-3000:]
    resumed = runPipetask(faultRepo, interrupted, "1, 2", "-j", "1", "--skip-existing-in", interrupted)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    # The finished visit was skipped, the other one run.
    assert "Executed 1 quanta successfully, 0 failed and 0 remain out of total 1 quanta." in resumed.stderr, (
        resumed.stderr[-3000:]
    )
    clean = runPipetask(faultRepo, "u/reliability/clean", "1, 2", "-j", "2")
    assert clean.returncode == 0, clean.stderr[-3000:]
    expected = readOutputs(faultRepo, "u/reliability/clean")
    got = readOutputs(faultRepo, interrupted)
    assert got.keys() == expected.keys()
    for key, array in expected.items():
        np.testing.assert_array_equal(got[key], array, err_msg=str(key))
    assert temporaryFiles(faultRepo.root) == []


def test_a_damaged_background_is_named_by_a_real_quantum(faultRepo: FaultRepo) -> None:
    """P10: P9 with the Butler: the bulk read of the quantum fails; the culprit is found and named."""
    run = "u/reliability/quantum-inputs"
    butler = quantumInputsButler(faultRepo.root, run, simulateVisit(1))
    damaged = Path(butler.getURI("calexpBackground", instrument=INSTRUMENT, visit=1, detector=2).ospath)
    damaged.write_bytes(damaged.read_bytes()[:2880] + b"\0" * (damaged.stat().st_size - 2880))
    expand = butler.registry.expandDataId
    visitId = expand(instrument=INSTRUMENT, visit=1)
    detectorIds = [expand(visitId, detector=d) for d in range(4)]
    task = SkyCorrectionTask(config=tinyConfig())
    quantum = pbTest.makeQuantum(
        task,
        butler,
        visitId,
        {
            "calExps": detectorIds,
            "calBkgs": detectorIds,
            "skyFrames": [
                expand(instrument=INSTRUMENT, physical_filter=FILTER, detector=d) for d in range(4)
            ],
            "camera": expand(instrument=INSTRUMENT),
            "skyCorr": detectorIds,
            "calExpMosaic": visitId,
            "calBkgMosaic": visitId,
        },
    )
    with pytest.raises(InputDataError) as info:
        pbTest.runTestQuantum(task, butler, quantum, mockRun=False)
    message = str(info.value)
    assert message.startswith(
        "calexpBackground for detector 2: cannot be read: Failure from formatter "
        "'lsst.sky.correction.butler.formatters.AfwliteBackgroundFormatter' for dataset "
    ), message
    assert f"{damaged}: damaged file: HDU 0 is followed by " in message
    # makeQuantum registers the output refs; no file was written for any of them.
    for name in OUTPUTS:
        refs = butler.query_datasets(name, collections=run, explain=False)
        assert refs and not any(butler.stored(ref) for ref in refs), name
    butler.close()
