"""Reliability catalogue, part 2: damaged files, wrong types, input lists, configs, faults.

Each test is one row of ``docs/reliability.md`` (its id is in the docstring)
and checks the documented behaviour and the exact message.  The damaged
files are made here, in ``tmp_path``, from files afwlite writes.
"""

from __future__ import annotations

import builtins
import itertools
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from reliability_support import FileHandle, TinyVisit, tinyConfig, tinyQuantum, tinyVisit

import lsst.pex.config as pexConfig
from lsst.pipe.base import InMemoryDatasetHandle
from lsst.sky.correction import SkyCorrectionTask, _pixel_cache
from lsst.sky.correction._pixel_cache import PixelCacheError
from lsst.sky.correction.afwlite.fits import FitsError
from lsst.sky.correction.afwlite.image import ExposureF, ImageD, ImageF
from lsst.sky.correction.afwlite.math import BackgroundList
from lsst.sky.correction.errors import InputDataError


def exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


# Damaged files ---------------------------------------------------------------------------------

# dataset name in messages -> (run() argument, reader, how to write the undamaged file)
_DATASETS: dict[str, tuple[str, Callable[[str], Any], Callable[[TinyVisit, int, Path], None]]] = {
    "calexp": ("calExps", ExposureF, lambda visit, i, path: visit.calExps[i].writeFits(str(path))),
    "calexpBackground": (
        "calBkgs",
        BackgroundList.readFits,
        lambda visit, i, path: visit.calBkgs[i].writeFits(path),
    ),
    "sky frame": ("skyFrames", ExposureF, lambda visit, i, path: visit.skyFrames[i].writeFits(str(path))),
    "background_to_photometric_ratio": (
        "backgroundToPhotometricRatioHandles",
        ImageF,
        lambda visit, i, path: ImageF(visit.calExps[i].getBBox(), initialValue=1.0).writeFits(str(path)),
    ),
}


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2 + 17]


def _zeroTail(data: bytes) -> bytes:
    keep = 2 * 2880  # the primary header and the next header survive; the rest was never written
    return data[:keep] + b"\0" * (len(data) - keep)


def _garble(data: bytes) -> bytes:
    return bytes(np.random.default_rng(3).integers(0, 256, 400, dtype=np.uint8)) + data[400:]


_DAMAGE: dict[str, tuple[Callable[[bytes], bytes] | None, str]] = {
    # damage -> (what is done to the file's bytes (None: the file is removed), expected reader message)
    "truncated": (_truncate, r"truncated (file|or corrupt file): .*"),
    "zero-filled": (
        _zeroTail,
        r"damaged file: HDU \d is followed by \d+ bytes of zeros or blanks instead of another HDU "
        r"\(the end of the file was lost\)",
    ),
    "corrupt": (_garble, r"not a readable FITS file \(No SIMPLE card found, .*\)"),
    "not FITS": (
        lambda data: b"calexp.fits: a text file\n" * 200,
        r"not a readable FITS file \(No SIMPLE card found, .*\)",
    ),
    "empty": (lambda data: b"", re.escape("not a readable FITS file (Empty or corrupt FITS file)")),
    "missing": (None, r"no such file"),
}


def damagedVisit(tmp_path: Path, dataset: str, damage: str) -> tuple[TinyVisit, dict[str, Any], Path]:
    """A visit whose input ``dataset`` of detector 1 is read from a damaged file, and the run arguments."""
    visit = tinyVisit()
    argument, reader, write = _DATASETS[dataset]
    handles = []
    for index in range(len(visit.calExps)):
        path = tmp_path / f"{argument}-{index}.fits"
        write(visit, index, path)
        handles.append(FileHandle(path, reader, detector=index))
    bad = handles[1].path
    change, _ = _DAMAGE[damage]
    if change is None:
        bad.unlink()
    else:
        bad.write_bytes(change(bad.read_bytes()))
    kwargs: dict[str, Any] = {argument: handles}
    if dataset == "background_to_photometric_ratio":
        kwargs["config"] = tinyConfig(doApplyFlatBackgroundRatio=True)
    return visit, kwargs, bad


# A ratio image is one HDU: zeros in its pixel data cannot be told from zero pixels (see the
# limits in docs/reliability.md), so its zero-filled case is left out on purpose.
_CASES = [
    (dataset, damage)
    for dataset in sorted(_DATASETS)
    for damage in sorted(_DAMAGE)
    if (dataset, damage) != ("background_to_photometric_ratio", "zero-filled")
]


@pytest.mark.parametrize(("dataset", "damage"), _CASES)
def test_a_damaged_file_names_the_dataset_and_detector(tmp_path: Path, dataset: str, damage: str) -> None:
    """F1-F6: '<dataset> for detector 1: cannot be read: <file>: <what the reader found>'."""
    visit, kwargs, bad = damagedVisit(tmp_path, dataset, damage)
    readerMessage = _DAMAGE[damage][1]
    if damage == "missing" and dataset == "calexpBackground":
        readerMessage = "File not found: " + re.escape(str(bad))  # afw's wording
    else:
        readerMessage = re.escape(str(bad)) + ": " + readerMessage
    with pytest.raises(
        InputDataError, match=f"^{re.escape(dataset)} for detector 1: cannot be read: {readerMessage}$"
    ) as info:
        visit.run(**kwargs)
    assert isinstance(info.value.__cause__, FitsError)
    assert (info.value.dataset, info.value.detectorId) == (dataset, 1)


def test_a_calexp_whose_mask_is_stored_as_floats_is_refused(tmp_path: Path) -> None:
    """F7: wrong on-disk pixel type: afw refuses to read floats into an int32 mask."""
    visit = tinyVisit()
    path = tmp_path / "calexp.fits"
    visit.calExps[1].writeFits(str(path))
    with fits.open(path) as hdulist:
        hdulist[2].data = hdulist[2].data.astype(np.float32)
        hdulist.writeto(path, overwrite=True)
    handles: list[Any] = list(visit.calExps)
    handles[1] = FileHandle(path, ExposureF, detector=1)
    message = (
        f"calexp for detector 1: cannot be read: {path}[HDU 2]: pixels stored as float32 cannot be read "
        "safely into int32 (pass allowUnsafe=True to convert anyway)"
    )
    with pytest.raises(InputDataError, match=exactly(message)):
        visit.run(calExps=handles)


# Wrong types -----------------------------------------------------------------------------------


def test_inputs_of_the_wrong_type_are_refused_before_any_work() -> None:
    """T1-T4: each list is checked; the message names the dataset and detector (or position)."""
    visit = tinyVisit()
    images = [calExp.image for calExp in visit.calExps]
    with pytest.raises(
        InputDataError, match=exactly("calexp #0: expected an exposure or a dataset handle, got ImageD")
    ):
        visit.run(calExps=[ImageD(image.array.astype(np.float64)) for image in images])
    with pytest.raises(
        InputDataError,
        match=exactly(
            "calexpBackground for detector 0: expected a BackgroundList or a dataset handle, got ImageF"
        ),
    ):
        visit.run(calBkgs=images)
    with pytest.raises(
        InputDataError,
        match=exactly("sky frame for detector 0: expected an exposure or a dataset handle, got ImageF"),
    ):
        visit.run(skyFrames=[sky.image for sky in visit.skyFrames])
    with pytest.raises(TypeError, match=exactly("camera: expected a Camera, got NoneType")):
        visit.run(camera=None)


def test_a_ratio_image_of_the_wrong_pixel_type_is_refused() -> None:
    """T5: the ratio must be float32 (ImageF), as afw's MaskedImageF *= ImageF needs."""
    visit = tinyVisit()
    ratios = [ImageD(calExp.getBBox(), initialValue=1.0) for calExp in visit.calExps]
    message = "background_to_photometric_ratio for detector 0: expected a float32 image (ImageF), got ImageD"
    with pytest.raises(InputDataError, match=exactly(message)):
        visit.run(
            config=tinyConfig(doApplyFlatBackgroundRatio=True), backgroundToPhotometricRatioHandles=ratios
        )


def test_a_handle_returning_the_wrong_type_is_refused() -> None:
    """T6: the handle's dataset is checked when it is read."""
    visit = tinyVisit()
    handles = [InMemoryDatasetHandle(calExp, detector=index) for index, calExp in enumerate(visit.calExps)]
    handles[1] = InMemoryDatasetHandle(visit.calExps[1].image, detector=1)
    with pytest.raises(
        TypeError, match=exactly("calexp #1 (detector 1): the handle returned ImageF, not an exposure")
    ):
        visit.run(calExps=handles)


# Input lists -------------------------------------------------------------------------------------


def test_input_lists_are_checked() -> None:
    """L1-L5: empty, uneven, duplicated, misaligned lists and a missing sky-frame list."""
    visit = tinyVisit()
    with pytest.raises(
        ValueError, match=exactly("SkyCorrectionTask.run needs at least one calexp; got an empty list")
    ):
        visit.run(calExps=[], calBkgs=[], skyFrames=[])
    with pytest.raises(
        ValueError,
        match=exactly(
            "the per-detector input lists differ in length: {'calExps': 4, 'calBkgs': 3, 'skyFrames': 4}"
        ),
    ):
        visit.run(calBkgs=visit.calBkgs[:3])
    with pytest.raises(ValueError, match=exactly("detectors [0] appear more than once in calExps")):
        visit.run(
            calExps=[*visit.calExps, visit.calExps[0]],
            calBkgs=[*visit.calBkgs, visit.calBkgs[0]],
            skyFrames=[*visit.skyFrames, visit.skyFrames[0]],
        )
    skyHandles = [InMemoryDatasetHandle(sky, detector=index) for index, sky in enumerate(visit.skyFrames)]
    message = (
        "sky frame for detector 3: it is at position 0 of its list, where the calexp is for detector 0; "
        "the per-detector lists must be in the same order"
    )
    with pytest.raises(InputDataError, match=exactly(message)):
        visit.run(skyFrames=skyHandles[::-1])
    with pytest.raises(ValueError, match=exactly("doSky is True but no skyFrames were given")):
        visit.run(skyFrames=None)


# Configuration -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "bgModel1.minFrac",
            1.5,
            "Field 'bgModel1.minFrac' failed validation: minFrac must be a fraction in [0, 1], got 1.5",
        ),
        (
            "bgModel2.minFrac",
            -0.1,
            "Field 'bgModel2.minFrac' failed validation: minFrac must be a fraction in [0, 1], got -0.1",
        ),
        (
            "bgModel1.interpolation",
            "NONE",
            "ChoiceField 'bgModel1.interpolation' failed validation: a focal-plane background needs one of "
            "CONSTANT, LINEAR, NATURAL_SPLINE, AKIMA_SPLINE, got 'NONE'",
        ),
        (
            "bgModel2.smoothScale",
            0.0,
            "Field 'bgModel2.smoothScale' failed validation: "
            "smoothScale must be positive with doSmooth, got 0.0",
        ),
        ("bgModel1.xSize", 0.0, "FocalPlaneBackgroundConfig.xSize must be positive and finite, got 0.0"),
        ("sky.xNumSamples", 0, "Field 'sky.xNumSamples' failed validation: xNumSamples must be >= 1, got 0"),
        ("sky.skyRej", 0.0, "Field 'sky.skyRej' failed validation: skyRej must be positive, got 0.0"),
        ("sky.stats.clip", -1.0, "Field 'sky.stats.clip' failed validation: clip must be positive, got -1.0"),
        ("sky.stats.nIter", 0, "Field 'sky.stats.nIter' failed validation: nIter must be >= 1, got 0"),
        ("maskObjects.nIter", 0, "Field 'maskObjects.nIter' failed validation: nIter must be >= 1, got 0"),
        ("binning", 0, "Field 'binning' failed validation: binning must be >= 1, got 0"),
        (
            "cacheMemoryBudget",
            -1,
            "Field 'cacheMemoryBudget' failed validation: cacheMemoryBudget must be >= 0 MiB, got -1",
        ),
        (
            "cacheDirectory",
            "",
            "Field 'cacheDirectory' failed validation: "
            "cacheDirectory must be a directory path or None, got an empty string",
        ),
        (
            "numThreads",
            -1,
            "Field 'numThreads' failed validation: numThreads must be >= 0 (0: one per usable core), got -1",
        ),
    ],
)
def test_invalid_configs_are_caught_by_validate(field: str, value: Any, message: str) -> None:
    """C1-C13, C15: validate() names the field by its full path."""
    config = tinyConfig(doMaskObjects=True)
    section = config
    *path, name = field.split(".")
    for part in path:
        section = getattr(section, part)
    setattr(section, name, value)
    with pytest.raises((pexConfig.FieldValidationError, ValueError)) as info:
        config.validate()
    assert str(info.value).splitlines()[0] == message


def test_undo_bg_model1_needs_a_later_model() -> None:
    """C14: the reference's own check."""
    config = tinyConfig()
    config.undoBgModel1, config.doSky, config.doBgModel2 = True, False, False
    with pytest.raises(
        ValueError,
        match=exactly("If undoBgModel1 is True, task requires at least one of doSky or doBgModel2."),
    ):
        config.validate()


# Determinism -------------------------------------------------------------------------------------


def _byDetector(result: Any, order: tuple[int, ...]) -> dict[int, np.ndarray]:
    return {
        detector: skyCorr.getImage().array for detector, skyCorr in zip(order, result.skyCorr, strict=True)
    }


@pytest.fixture(scope="module")
def inOrder() -> Any:
    return tinyVisit().run()


@pytest.mark.parametrize("order", [(3, 2, 1, 0), (1, 3, 0, 2), (2, 0, 3, 1)])
def test_outputs_do_not_depend_on_the_input_order(inOrder: Any, order: tuple[int, ...]) -> None:
    """D1: every output bit is the same for any order of the (aligned) input lists."""
    visit = tinyVisit()
    shuffled = visit.run(
        calExps=[visit.calExps[i] for i in order],
        calBkgs=[visit.calBkgs[i] for i in order],
        skyFrames=[visit.skyFrames[i] for i in order],
    )
    assert shuffled.skyFrameScale == inOrder.skyFrameScale
    expected = _byDetector(inOrder, (0, 1, 2, 3))
    for detector, image in _byDetector(shuffled, order).items():
        np.testing.assert_array_equal(image, expected[detector])
    np.testing.assert_array_equal(shuffled.calExpMosaic.array, inOrder.calExpMosaic.array)
    np.testing.assert_array_equal(shuffled.calBkgMosaic.array, inOrder.calBkgMosaic.array)


def test_run_quantum_does_not_depend_on_the_order_of_the_refs(inOrder: Any) -> None:
    """D2: the quantum's refs in any order give the same outputs, written in detector order."""
    butlerQC, inputRefs, outputRefs = tinyQuantum(
        tinyVisit(), calExps=[2, 0, 3, 1], calBkgs=[1, 3, 0, 2], skyFrames=[3, 1, 2, 0]
    )
    outputRefs.skyCorr = outputRefs.skyCorr[::-1]
    SkyCorrectionTask(config=tinyConfig()).runQuantum(butlerQC, inputRefs, outputRefs)
    assert [ref.dataId["detector"] for ref in butlerQC.putRefs.skyCorr] == [0, 1, 2, 3]
    for written, expected in zip(butlerQC.putValues.skyCorr, inOrder.skyCorr, strict=True):
        np.testing.assert_array_equal(written.getImage().array, expected.getImage().array)
    np.testing.assert_array_equal(butlerQC.putValues.calExpMosaic.array, inOrder.calExpMosaic.array)


# Faults ----------------------------------------------------------------------------------------------

_SPILL_ADVICE = (
    "Free disk space, point the cache elsewhere (config.cacheDirectory) or raise config.cacheMemoryBudget."
)


def test_an_unusable_spill_directory_stops_the_run_cleanly(tmp_path: Path) -> None:
    """X1: the cache directory cannot be created (its parent is a file): clear error, nothing left."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory should be")
    cacheDirectory = blocker / "cache"
    config = tinyConfig(cacheMemoryBudget=0, cacheDirectory=str(cacheDirectory))
    with pytest.raises(PixelCacheError) as info:
        tinyVisit().run(config=config)
    pattern = (
        rf"^cannot spill detector \d to the pixel cache directory {re.escape(str(cacheDirectory))}: "
        rf"\[Errno 20\] Not a directory: '{re.escape(str(cacheDirectory))}/skyCorr-cache-\d+-\d+-\w+'\. "
        f"{re.escape(_SPILL_ADVICE)}$"
    )
    assert re.match(pattern, str(info.value)), str(info.value)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["not-a-directory"]


def test_a_full_spill_disk_stops_the_run_and_removes_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """X2: the disk fills up while detectors are spilled: clear error, the spill directory is removed."""
    written = []

    def fullDiskAfterOne(path: str, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        # The first spill file is written; every later one goes to /dev/full (ENOSPC on write).
        if "w" in mode:
            written.append(path)
            if len(written) > 1:
                return builtins.open("/dev/full", mode, *args, **kwargs)
        return builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr(_pixel_cache, "open", fullDiskAfterOne, raising=False)
    config = tinyConfig(cacheMemoryBudget=0, cacheDirectory=str(tmp_path))
    with pytest.raises(PixelCacheError) as info:
        tinyVisit().run(config=config)
    # numpy's own words for the short write ("<n> requested and 0 written") become a plain statement.
    needMiB = (256 * 200 * 4 + 0) / 2**20  # TinyCam: a float32 image; its bad planes add a few kiB
    match = re.match(
        rf"^no space left on {re.escape(str(tmp_path))}/skyCorr-cache-{os.getpid()}-\d+-\w+ "
        r"for the pixel cache of detector (\d) \(needs (\d+\.\d) MiB, [\d.]+ MiB free\); "
        r"raise config\.cacheMemoryBudget to keep more detectors in memory, or point "
        r"config\.cacheDirectory \(or TMPDIR\) at a disk with room\.$",
        str(info.value),
    )
    assert match, str(info.value)
    assert needMiB <= float(match.group(2)) <= needMiB + 0.1
    assert len(written) >= 2
    assert list(tmp_path.iterdir()) == []


def test_a_spill_disk_without_room_is_refused_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """X9: less free space than a detector needs: refused before a byte is written, nothing left."""
    realUsage = shutil.disk_usage

    def almostFull(path: str) -> Any:
        return realUsage(path)._replace(free=100 * 1024)  # 100 kiB: less than one TinyCam detector

    monkeypatch.setattr(_pixel_cache.shutil, "disk_usage", almostFull)
    config = tinyConfig(cacheMemoryBudget=0, cacheDirectory=str(tmp_path))
    with pytest.raises(PixelCacheError) as info:
        tinyVisit().run(config=config)
    # TinyCam: 256 x 200 float32 pixels (0.195 MiB) and a few kiB of packed bad planes.
    assert re.match(
        rf"^no space left on {re.escape(str(tmp_path))}/skyCorr-cache-{os.getpid()}-\d+-\w+ "
        r"for the pixel cache of detector \d \(needs 0\.2 MiB, 0\.1 MiB free\); ",
        str(info.value),
    ), str(info.value)
    assert list(tmp_path.iterdir()) == []


def _deadProcess() -> tuple[int, int]:
    """The pid and start time of a process that has run and exited."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    started = _pixel_cache.processStartTime(child.pid)
    assert started is not None
    child.kill()
    child.wait()
    assert _pixel_cache.processStartTime(child.pid) != started
    return child.pid, started


def test_spill_directories_of_dead_processes_are_removed_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """X10: a spill directory whose process is gone (or whose pid was reused) is removed and logged."""
    deadPid, deadStart = _deadProcess()
    ownPid = os.getpid()
    ownStart = _pixel_cache.processStartTime(ownPid)
    assert ownStart is not None
    leftovers = {
        "dead": tmp_path / f"skyCorr-cache-{deadPid}-{deadStart}-a1b2c3",
        # Our own pid with another start time: a pid reused by a new process.
        "reused": tmp_path / f"skyCorr-cache-{ownPid}-{ownStart + 1}-d4e5f6",
    }
    kept = {
        "running": tmp_path / f"skyCorr-cache-{ownPid}-{ownStart}-g7h8i9",
        "not ours": tmp_path / "skyCorr-cache-notapid",
        "other": tmp_path / "unrelated",
    }
    for directory in (*leftovers.values(), *kept.values()):
        directory.mkdir()
        (directory / "detector-1.bin").write_bytes(b"\0" * 64)
    with caplog.at_level(logging.WARNING, logger="lsst.sky.correction"):
        result = tinyVisit().run(config=tinyConfig(cacheMemoryBudget=0, cacheDirectory=str(tmp_path)))
    assert result.skyFrameScale == pytest.approx(40.0, abs=0.1)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(path.name for path in kept.values())
    messages = sorted(record.getMessage() for record in caplog.records)
    assert messages == sorted(
        f"Removed the pixel cache directory {path} left behind by process {pid}, which no longer runs."
        for path, pid in ((leftovers["dead"], deadPid), (leftovers["reused"], ownPid))
    )


def test_a_failure_mid_visit_leaves_no_temporary_files(tmp_path: Path) -> None:
    """X3: a damaged sky frame, found after every detector was spilled: nothing is left behind."""
    cache = tmp_path / "cache"
    cache.mkdir()
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    visit, kwargs, bad = damagedVisit(inputs, "sky frame", "truncated")
    before = sorted(path.name for path in inputs.iterdir())
    config = tinyConfig(cacheMemoryBudget=0, cacheDirectory=str(cache))
    with pytest.raises(
        InputDataError, match=f"^sky frame for detector 1: cannot be read: {re.escape(str(bad))}: truncated"
    ):
        visit.run(config=config, **kwargs)
    assert list(cache.iterdir()) == []
    assert sorted(path.name for path in inputs.iterdir()) == before  # inputs untouched, nothing added


def test_every_detector_order_gives_the_same_scale() -> None:
    """D3: the sky-frame scale is one number per visit, whatever the order (all 24 orders)."""
    visit = tinyVisit()
    scales = set()
    config = tinyConfig(doBgModel2=False)
    task = SkyCorrectionTask(config=config)
    for order in itertools.permutations(range(4)):
        result = task.run(
            [visit.calExps[i] for i in order],
            [visit.calBkgs[i] for i in order],
            [visit.skyFrames[i] for i in order],
            visit.camera,
        )
        scales.add(result.skyFrameScale)
    assert len(scales) == 1
