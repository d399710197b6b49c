"""Butler integration, end to end: repo creation, formatters, pipetask, mocked quanta.

One TinyCam repository (four 256x200 detectors, file datastore) is built by
the ``butler sky-correction-init-repo`` command and `writeVisit`; the real
``pipetask run`` processes it (one visit, then two with ``-j 2``); every
output is read back through the Butler and the files are checked card by
card with astropy.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from astropy.io import fits
from butler_support import (
    BIN,
    FILTER,
    INSTRUMENT,
    PEDESTAL,
    PIPETASK_ENV,
    ROOT,
    SKY_SCALES,
    TINY_CONFIG,
    SimulatedVisit,
    pipelinePath,
    pipetaskRunArgs,
    quantumInputsButler,
    simulateVisit,
    tinyConfig,
)
from click.testing import CliRunner

import lsst.pipe.base.testUtils as pbTest
from lsst.daf.butler import Butler, CollectionType, DeferredDatasetHandle
from lsst.daf.butler.cli.butler import cli as butlerCli
from lsst.sky.correction import SkyCorrectionConfig, SkyCorrectionTask
from lsst.sky.correction._storage_classes import STORAGE_CLASSES
from lsst.sky.correction.afwlite.geom import Box2I, Point2I
from lsst.sky.correction.afwlite.image import ExposureF, ImageF
from lsst.sky.correction.afwlite.math import (
    ApproximateControl,
    BackgroundList,
    Interpolate,
    UndersampleStyle,
)
from lsst.sky.correction.butler import (
    INSTRUMENTS,
    TEST_INSTRUMENTS,
    RepoCollections,
    createRepo,
    getInstrumentClass,
    initRepo,
    registerOutputDatasetTypes,
    writeVisit,
)
from lsst.sky.correction.cameras import getCamera
from lsst.sky.correction.testing import makeConstantBackground, makeTinyCamera, putQuantumInputs

pytestmark = pytest.mark.skipif(
    STORAGE_CLASSES.exposure != "AfwliteExposureF", reason="these tests run the afwlite storage classes"
)


# A simulated TinyCam visit ------------------------------------------------------------------------


# The repository --------------------------------------------------------------------------------


@dataclass
class Repo:
    root: Path
    visits: dict[int, SimulatedVisit]
    pipeline: Path
    configFile: Path
    outputs: dict[str, str]  # label -> output collection of a pipetask run
    timings: dict[str, float]


def pipetask(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "pipetask"), *args]
    done = subprocess.run(command, capture_output=True, text=True, env=PIPETASK_ENV, timeout=300)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def runPipetask(repo: Repo, output: str, where: str, *extra: str) -> subprocess.CompletedProcess[str]:
    import time

    start = time.perf_counter()
    done = pipetask(
        repo,
        "--log-level",
        "lsst.sky.correction=INFO",
        *pipetaskRunArgs(repo.root, repo.pipeline, repo.configFile, output, where),
        *extra,
    )
    repo.timings[output] = time.perf_counter() - start
    return done


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repo]:
    tmp = tmp_path_factory.mktemp("butler")
    root = tmp / "repo"
    result = CliRunner().invoke(
        butlerCli, ["sky-correction-init-repo", str(root), "--instrument", INSTRUMENT]
    )
    assert result.exit_code == 0, result.output
    configFile = tmp / "tinycam_skyCorr.py"
    configFile.write_text(TINY_CONFIG)
    visits = {visit: simulateVisit(visit) for visit in SKY_SCALES}
    butler = Butler.from_config(str(root), writeable=True)
    for visit, simulated in visits.items():
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
    butler.close()
    yield Repo(root, visits, pipelinePath(tmp), configFile, {}, {})


@pytest.fixture(scope="module")
def oneVisit(repo: Repo) -> Repo:
    """The first pipetask run: visit 1, registering the output dataset types."""
    output = "u/test/skyCorr-1"
    runPipetask(repo, output, f"instrument='{INSTRUMENT}' AND visit=1", "--register-dataset-types")
    repo.outputs["one"] = output
    return repo


@pytest.fixture(scope="module")
def twoVisits(oneVisit: Repo) -> Repo:
    """Both visits with two processes."""
    output = "u/test/skyCorr-j2"
    runPipetask(oneVisit, output, f"instrument='{INSTRUMENT}' AND visit IN (1, 2)", "-j", "2")
    oneVisit.outputs["two"] = output
    return oneVisit


# Repository layout -----------------------------------------------------------------------------


def test_init_repo_links_the_package_configs(repo: Repo) -> None:
    config = yaml.safe_load((repo.root / "butler.yaml").read_text())
    assert config["storageClasses"]["includeConfigs"] == (
        "resource://lsst.sky.correction/data/butler/storageClasses.yaml"
    )
    assert config["datastore"]["formatters"]["includeConfigs"] == (
        "resource://lsst.sky.correction/data/butler/formatters.yaml"
    )
    butler = Butler.from_config(str(repo.root))
    names = RepoCollections.forInstrument(INSTRUMENT)
    assert butler.collections.get_info(names.defaults).children == (names.inputs, names.calibration)
    assert butler.collections.get_info(names.calibration).type == CollectionType.CALIBRATION
    types = {t.name: t for t in butler.registry.queryDatasetTypes()}
    assert types["calexp"].storageClass_name == "AfwliteExposureF"
    assert types["calexpBackground"].storageClass_name == "AfwliteBackground"
    assert types["sky"].isCalibration() and types["camera"].isCalibration()
    assert types["camera"].storageClass_name == "AfwliteCamera"
    assert types["skyCorrTruth"].storageClass_name == "StructuredDataDict"
    detectors = {r.id: r for r in butler.registry.queryDimensionRecords("detector", instrument=INSTRUMENT)}
    assert sorted(detectors) == [0, 1, 2, 3]
    assert (detectors[1].full_name, detectors[1].raft, detectors[1].name_in_raft) == ("R00_S01", "R00", "S01")
    assert detectors[1].purpose == "SCIENCE"


def test_camera_is_a_certified_calibration(repo: Repo) -> None:
    butler = Butler.from_config(str(repo.root), collections=f"{INSTRUMENT}/defaults")
    visitId = butler.registry.expandDataId(instrument=INSTRUMENT, visit=1)
    camera = butler.get("camera", dataId=visitId)
    expected = makeTinyCamera()
    assert camera.getName() == "TinyCam"
    for detector in expected:
        assert camera[detector.getId()].getBBox() == detector.getBBox()
        assert camera[detector.getId()].getOrientation().getYaw() == detector.getOrientation().getYaw()
    assert butler.getURI("camera", dataId=visitId).getExtension() == ".ecsv"


def test_visit_records_and_sky_validity(repo: Repo) -> None:
    butler = Butler.from_config(str(repo.root), collections=f"{INSTRUMENT}/defaults")
    (visit1,) = butler.registry.queryDimensionRecords("visit", instrument=INSTRUMENT, visit=1)
    assert visit1.physical_filter == FILTER and visit1.exposure_time == 30.0
    assert visit1.timespan.begin is not None and visit1.timespan.end is not None
    regions = butler.registry.queryDimensionRecords("visit_detector_region", instrument=INSTRUMENT, visit=2)
    assert sorted(r.detector for r in regions) == [0, 1, 2, 3]
    # Each visit finds its own sky frames through the validity ranges.
    for visit in (1, 2):
        dataId = butler.registry.expandDataId(instrument=INSTRUMENT, visit=visit, detector=2)
        ref = butler.find_dataset("sky", dataId, collections=f"{INSTRUMENT}/calib", timespan=dataId.timespan)
        assert ref is not None and ref.run == f"{INSTRUMENT}/calib/sky/visit{visit}"
    truth = butler.get("skyCorrTruth", instrument=INSTRUMENT, visit=2)
    assert truth["detectors"] == [0, 1, 2, 3] and isinstance(truth["detectors"][0], int)
    assert truth["skyFrameScale"] == 55.0 and truth["pedestal"] == 1000.0


def test_round_trip_and_bbox_parameter(repo: Repo) -> None:
    butler = Butler.from_config(str(repo.root), collections=f"{INSTRUMENT}/defaults")
    original = repo.visits[1].calexps[3]
    calexp = butler.get("calexp", instrument=INSTRUMENT, visit=1, detector=3)
    assert isinstance(calexp, ExposureF)
    np.testing.assert_array_equal(calexp.image.array, original.image.array)  # lossless
    np.testing.assert_array_equal(calexp.mask.array, original.mask.array)
    np.testing.assert_array_equal(calexp.variance.array, original.variance.array)
    assert calexp.getMetadata().get("SIMVISIT") == 1
    bbox = Box2I(Point2I(10, 20), Point2I(49, 34))
    cutout = butler.get("calexp", instrument=INSTRUMENT, visit=1, detector=3, parameters={"bbox": bbox})
    assert cutout.getBBox() == bbox
    np.testing.assert_array_equal(cutout.image.array, original.image.array[20:35, 10:50])
    background = butler.get("calexpBackground", instrument=INSTRUMENT, visit=1, detector=3)
    assert isinstance(background, BackgroundList) and len(background) == 1
    image = background.getImage()
    assert image is not None and np.all(image.array == PEDESTAL)


# Files in afw's layouts -------------------------------------------------------------------------


def assertXy0Cards(header: fits.Header, x0: int, y0: int) -> None:
    assert header["CRPIX1A"] == 1 and header["CRPIX2A"] == 1
    assert header["CRVAL1A"] == x0 and header["CRVAL2A"] == y0
    assert header["CTYPE1A"] == "LINEAR" and header["CTYPE2A"] == "LINEAR"
    assert header["CUNIT1A"] == "PIXEL" and header["CUNIT2A"] == "PIXEL"


def assertLosslessPlane(raw: fits.Header, extname: str, zbitpix: int, width: int) -> None:
    """Check the stored header of a tile-compressed plane (opened with disable_image_compression)."""
    assert raw["XTENSION"] == "BINTABLE" and raw["ZIMAGE"] is True
    assert raw["ZCMPTYPE"] == "GZIP_2"
    assert raw["ZBITPIX"] == zbitpix
    assert raw["ZTILE1"] == width and raw["ZTILE2"] == 1  # one row per tile
    assert raw.get("ZQUANTIZ", "NONE") == "NONE"  # never quantized
    assert raw["EXTNAME"] == extname


def rawHeaders(path: str) -> list[fits.Header]:
    with fits.open(path, disable_image_compression=True) as hdul:
        return [hdu.header.copy() for hdu in hdul]


def test_calexp_file_is_afw_exposure_layout(repo: Repo) -> None:
    butler = Butler.from_config(str(repo.root), collections=f"{INSTRUMENT}/defaults")
    uri = butler.getURI("calexp", instrument=INSTRUMENT, visit=2, detector=1)
    assert uri.getExtension() == ".fits"
    raw = rawHeaders(uri.ospath)
    with fits.open(uri.ospath) as hdul:
        assert len(hdul) == 4
        primary = hdul[0].header
        assert primary["NAXIS"] == 0 and "EXTNAME" not in primary
        assert primary["EXPINFO_V"] == 2
        for index, (extname, zbitpix) in enumerate((("IMAGE", -32), ("MASK", 32), ("VARIANCE", -32)), 1):
            assertLosslessPlane(raw[index], extname, zbitpix, 256)
            assert hdul[index].header["INHERIT"] is True
            assertXy0Cards(hdul[index].header, 0, 0)
        assert (hdul[2].data.dtype.kind, hdul[2].data.dtype.itemsize) == ("i", 4)  # int32 mask
        assert "ZBLANK" not in raw[2] and "BZERO" not in hdul[2].header
        assert hdul[2].header["MP_EDGE"] == 4
        np.testing.assert_array_equal(hdul[1].data, repo.visits[2].calexps[1].image.array)


def test_sky_frame_file_keeps_its_box_metadata(repo: Repo) -> None:
    butler = Butler.from_config(str(repo.root), collections=f"{INSTRUMENT}/defaults")
    dataId = butler.registry.expandDataId(instrument=INSTRUMENT, visit=1, detector=0)
    sky = butler.get("sky", dataId=dataId)
    assert sky.getMetadata().get("BOX.MAXX") == 255 and sky.getMetadata().get("ALGORITHM") == "NATURAL_SPLINE"


def test_background_file_is_afw_layout(repo: Repo) -> None:
    butler = Butler.from_config(str(repo.root), collections=f"{INSTRUMENT}/defaults")
    uri = butler.getURI("calexpBackground", instrument=INSTRUMENT, visit=1, detector=0)
    with fits.open(uri.ospath) as hdul:
        assert len(hdul) == 3
        assert hdul[0].header["NAXIS"] == 2  # the first stats image is in the primary
        assert hdul[0].header["BITPIX"] == -32 and hdul[1].header["BITPIX"] == 32
        for hdu in hdul:
            header = hdu.header
            assert header["INTERPSTYLE"] == int(Interpolate.CONSTANT)
            assert header["UNDERSAMPLESTYLE"] == int(UndersampleStyle.REDUCE_INTERP_ORDER)
            assert header["APPROXSTYLE"] == int(ApproximateControl.UNKNOWN)
            assert (header["BKGD_WIDTH"], header["BKGD_HEIGHT"]) == (256, 200)
            assertXy0Cards(header, 0, 0)
            assert "ZIMAGE" not in header


# pipetask run ------------------------------------------------------------------------------------


def test_pipetask_one_visit_outputs(oneVisit: Repo) -> None:
    butler = Butler.from_config(str(oneVisit.root), collections=oneVisit.outputs["one"])
    camera = makeTinyCamera()
    for detector in camera:
        skyCorr = butler.get("skyCorr", instrument=INSTRUMENT, visit=1, detector=detector.getId())
        assert isinstance(skyCorr, BackgroundList)
        # Inverted calexpBackground, bgModel1, scaled sky frame, bgModel2.
        assert len(skyCorr) == 4
        image = skyCorr.getImage()
        assert image is not None and image.getBBox() == detector.getBBox()
    calExpMosaic = butler.get("calexp_skyCorr_visit_mosaic", instrument=INSTRUMENT, visit=1)
    calBkgMosaic = butler.get("calexpBackground_skyCorr_visit_mosaic", instrument=INSTRUMENT, visit=1)
    assert isinstance(calExpMosaic, ImageF) and isinstance(calBkgMosaic, ImageF)
    assert abs(float(np.nanmean(calExpMosaic.array))) < 0.5
    # The model the task subtracted is the pedestal plus the scaled sky frames.
    expected = oneVisit.visits[1].truth["meanBackground"]
    assert float(np.nanmean(calBkgMosaic.array)) == pytest.approx(expected, abs=0.5)

    log = butler.get("skyCorr_log", instrument=INSTRUMENT, visit=1)
    messages = [record.message for record in log]
    scales = [m for m in messages if m.startswith("Sky frame scale: ")]
    assert len(scales) == 1
    assert float(scales[0].split(": ")[1]) == pytest.approx(SKY_SCALES[1], rel=0.02)
    assert any(m.startswith("Detector 3: Original background restored") for m in messages)
    assert {record.name for record in log} >= {"lsst.sky.correction.skyCorr"}

    config = butler.get("skyCorr_config")
    assert isinstance(config, SkyCorrectionConfig)
    assert config.bgModel2.xSize == 0.5 and config.doMaskObjects is False
    metadata = butler.get("skyCorr_metadata", instrument=INSTRUMENT, visit=1)
    # The task's metadata holds the scale at full precision: the logged value rounded to 3
    # significant figures, and the visit's true sky-frame amplitude within 2 %.
    recorded = metadata["skyCorr"]["skyFrameScale"]
    assert f"{recorded:.3g}" == scales[0].split(": ")[1]
    assert recorded == pytest.approx(SKY_SCALES[1], rel=0.02)
    assert metadata["skyCorr"]["numThreads"] >= 1

    registry = butler.registry
    outputTypes = {t.name: t.storageClass_name for t in registry.queryDatasetTypes("*skyCorr*")}
    assert outputTypes["skyCorr"] == "AfwliteBackground"
    assert outputTypes["calexp_skyCorr_visit_mosaic"] == "AfwliteImageF"


def test_pipetask_outputs_are_afw_files(oneVisit: Repo) -> None:
    butler = Butler.from_config(str(oneVisit.root), collections=oneVisit.outputs["one"])
    with fits.open(butler.getURI("skyCorr", instrument=INSTRUMENT, visit=1, detector=2).ospath) as hdul:
        assert len(hdul) == 12  # 4 elements x (image, mask, variance)
        assert hdul[0].header["NAXIS"] == 2
        assert hdul[0].header["INTERPSTYLE"] == int(Interpolate.CONSTANT)  # the inverted calexpBackground
        for start in range(0, 12, 3):
            keys = [hdul[start + k].header["APPROXSTYLE"] for k in range(3)]
            assert len(set(keys)) == 1
    uri = butler.getURI("calexp_skyCorr_visit_mosaic", instrument=INSTRUMENT, visit=1)
    raw = rawHeaders(uri.ospath)
    with fits.open(uri.ospath) as hdul:
        assert len(hdul) == 2 and hdul[0].header["NAXIS"] == 0  # compressed image behind an empty primary
        assert raw[1]["ZCMPTYPE"] == "GZIP_2" and raw[1]["ZTILE2"] == 1 and raw[1]["ZBITPIX"] == -32
        assert raw[1]["ZTILE1"] == hdul[1].header["NAXIS1"] and raw[1].get("ZQUANTIZ", "NONE") == "NONE"
        assertXy0Cards(hdul[1].header, 0, 0)


def test_pipetask_two_visits_with_two_processes(twoVisits: Repo) -> None:
    butler = Butler.from_config(str(twoVisits.root), collections=twoVisits.outputs["two"])
    for visit in (1, 2):
        log = butler.get("skyCorr_log", instrument=INSTRUMENT, visit=visit)
        (scale,) = [r.message for r in log if r.message.startswith("Sky frame scale: ")]
        assert float(scale.split(": ")[1]) == pytest.approx(SKY_SCALES[visit], rel=0.02)
        refs = butler.query_datasets("skyCorr", instrument=INSTRUMENT, visit=visit)
        assert sorted(ref.dataId["detector"] for ref in refs) == [0, 1, 2, 3]
    # Visit 1 was processed again, identically.
    again = butler.get("calexp_skyCorr_visit_mosaic", instrument=INSTRUMENT, visit=1)
    first = Butler.from_config(str(twoVisits.root), collections=twoVisits.outputs["one"]).get(
        "calexp_skyCorr_visit_mosaic", instrument=INSTRUMENT, visit=1
    )
    np.testing.assert_array_equal(again.array, first.array)


# Mocked quantum (lsst.pipe.base.testUtils) against a file datastore ------------------------------------


@pytest.fixture(scope="module")
def testCollection(repo: Repo) -> Butler:
    """A Butler whose default RUN holds every input of visit 1 (what makeQuantum looks in)."""
    return quantumInputsButler(repo.root, "u/test/quantum-inputs", repo.visits[1])


def makeQuantum(task: SkyCorrectionTask, butler: Butler) -> Any:
    # Expanded data IDs: the file templates name files with dimension records (detector.full_name).
    expand = butler.registry.expandDataId
    visitId = expand(instrument=INSTRUMENT, visit=1)
    detectorIds = [expand(visitId, detector=d) for d in (2, 0, 3, 1)]  # deliberately unsorted
    skyIds = [expand(instrument=INSTRUMENT, physical_filter=FILTER, detector=d) for d in (3, 1, 0, 2)]
    return pbTest.makeQuantum(
        task,
        butler,
        visitId,
        {
            "calExps": detectorIds,
            "calBkgs": detectorIds,
            "skyFrames": skyIds,
            "camera": expand(instrument=INSTRUMENT),
            "skyCorr": detectorIds,
            "calExpMosaic": visitId,
            "calBkgMosaic": visitId,
        },
    )


def test_output_dataset_types_follow_the_connections(tmp_path: Path) -> None:
    createRepo(tmp_path / "repo")
    butler = Butler.from_config(str(tmp_path / "repo"), writeable=True)
    config = SkyCorrectionConfig()
    config.connections.calExpMosaic = "my_mosaic"
    registered = registerOutputDatasetTypes(butler, config)
    assert {name: (t.storageClass_name, set(t.dimensions.required)) for name, t in registered.items()} == {
        "skyCorr": (STORAGE_CLASSES.background, {"instrument", "visit", "detector"}),
        "my_mosaic": (STORAGE_CLASSES.image, {"instrument", "visit"}),
        "calexpBackground_skyCorr_visit_mosaic": (STORAGE_CLASSES.image, {"instrument", "visit"}),
    }
    assert {t.name for t in butler.registry.queryDatasetTypes()} >= set(registered)


def test_a_conflicting_output_dataset_type_is_named(tmp_path: Path) -> None:
    from lsst.daf.butler import DatasetType
    from lsst.daf.butler.registry import ConflictingDefinitionError

    createRepo(tmp_path / "repo")
    butler = Butler.from_config(str(tmp_path / "repo"), writeable=True)
    butler.registry.registerDatasetType(
        DatasetType(
            "skyCorr", ("instrument", "visit", "detector"), "StructuredDataDict", universe=butler.dimensions
        )
    )
    with pytest.raises(
        ConflictingDefinitionError, match=r"dataset type 'skyCorr' already exists as .*StructuredDataDict"
    ):
        registerOutputDatasetTypes(butler)


def test_quantum_inputs_must_cover_the_same_detectors(tmp_path: Path) -> None:
    bbox = Box2I(Point2I(0, 0), Point2I(9, 9))
    with pytest.raises(ValueError, match=r"visit 3: .* cover different detectors: \[1, 2\], \[1\], \[1, 2\]"):
        putQuantumInputs(
            None,
            INSTRUMENT,
            3,
            FILTER,
            {1: ExposureF(bbox), 2: ExposureF(bbox)},
            {1: makeConstantBackground(bbox, 1.0)},
            {1: ExposureF(bbox), 2: ExposureF(bbox)},
            makeTinyCamera(),
        )


def test_mocked_quantum_passes_sorted_deferred_handles(testCollection: Butler) -> None:
    task = SkyCorrectionTask(config=tinyConfig())
    run = pbTest.runTestQuantum(task, testCollection, makeQuantum(task, testCollection), mockRun=True)
    kwargs = run.call_args.kwargs
    assert all(isinstance(handle, DeferredDatasetHandle) for handle in kwargs["calExps"])
    assert all(isinstance(handle, DeferredDatasetHandle) for handle in kwargs["skyFrames"])
    assert [h.dataId["detector"] for h in kwargs["calExps"]] == [0, 1, 2, 3]
    assert [h.dataId["detector"] for h in kwargs["skyFrames"]] == [0, 1, 2, 3]
    assert all(isinstance(background, BackgroundList) for background in kwargs["calBkgs"])
    assert isinstance(kwargs["calExps"][0].get(), ExposureF)
    assert kwargs["camera"].getName() == "TinyCam"


def test_real_quantum_writes_valid_outputs(testCollection: Butler) -> None:
    task = SkyCorrectionTask(config=tinyConfig())
    pbTest.assertValidInitOutput(task)
    assert pbTest.getInitInputs(testCollection, task.config) == {}
    pbTest.runTestQuantum(task, testCollection, makeQuantum(task, testCollection), mockRun=False)
    skyCorr = testCollection.get("skyCorr", instrument=INSTRUMENT, visit=1, detector=3)
    assert isinstance(skyCorr, BackgroundList) and len(skyCorr) == 4
    # run() on the same inputs, through handles, gives what the quantum wrote.
    handles = [
        testCollection.getDeferred("calexp", instrument=INSTRUMENT, visit=1, detector=d) for d in range(4)
    ]
    result = task.run(
        calExps=handles,
        calBkgs=[
            testCollection.get("calexpBackground", instrument=INSTRUMENT, visit=1, detector=d)
            for d in range(4)
        ],
        skyFrames=[
            testCollection.getDeferred("sky", instrument=INSTRUMENT, physical_filter=FILTER, detector=d)
            for d in range(4)
        ],
        camera=testCollection.get("camera", instrument=INSTRUMENT),
    )
    pbTest.assertValidOutput(task, result)
    written = testCollection.get("calexp_skyCorr_visit_mosaic", instrument=INSTRUMENT, visit=1)
    np.testing.assert_array_equal(written.array, result.calExpMosaic.array)
    assert result.skyFrameScale == pytest.approx(SKY_SCALES[1], rel=0.02)


# Instruments and repository options -------------------------------------------------------------------


def test_every_instrument_registers(tmp_path: Path) -> None:
    butler = initRepo(tmp_path / "all", "LSSTCam")
    for name in [*INSTRUMENTS, *TEST_INSTRUMENTS]:
        if name != "LSSTCam":
            initRepo(tmp_path / "all", name)
    butler = Butler.from_config(str(tmp_path / "all"))
    records = {r.name: r for r in butler.registry.queryDimensionRecords("instrument")}
    assert set(records) == set(INSTRUMENTS) | set(TEST_INSTRUMENTS)
    assert records["HSC"].class_name == "lsst.sky.correction.butler.instrument.HSC"
    lsst = {r.full_name: r for r in butler.registry.queryDimensionRecords("detector", instrument="LSSTCam")}
    assert len(lsst) == len(getCamera("LSSTCam"))
    assert (lsst["R22_S11"].raft, lsst["R22_S11"].name_in_raft, lsst["R22_S11"].purpose) == (
        "R22",
        "S11",
        "SCIENCE",
    )
    assert lsst["R00_SW0"].purpose == "WAVEFRONT" and lsst["R04_SG1"].purpose == "GUIDER"
    hsc = {r.full_name: r for r in butler.registry.queryDimensionRecords("detector", instrument="HSC")}
    assert hsc["1_53"].raft is None and hsc["0_57"].purpose == "FOCUS"
    bands = {
        r.name: r.band for r in butler.registry.queryDimensionRecords("physical_filter", instrument="HSC")
    }
    assert bands["HSC-I2"] == "i" and bands["HSC-Y"] == "y"
    decam = {
        r.name: r.band for r in butler.registry.queryDimensionRecords("physical_filter", instrument="DECam")
    }
    assert decam["Y DECam c0005 10095.0 1130.0"] == "y"
    assert len(butler.get("camera", instrument="DECam", collections="DECam/calib/unbounded")) == 62


def test_instrument_applies_the_shipped_config_overrides() -> None:
    config = SkyCorrectionConfig()
    INSTRUMENTS["HSC"]().applyConfigOverrides(SkyCorrectionTask._DefaultName, config)
    assert config.bgModel1.pixelSize == 0.015 and config.bgModel2.minFrac == 0.5
    tiny = SkyCorrectionConfig()
    getInstrumentClass("TinyCam")().applyConfigOverrides(SkyCorrectionTask._DefaultName, tiny)
    assert tiny.bgModel1.pixelSize == SkyCorrectionConfig().bgModel1.pixelSize  # none shipped


def test_copy_mode_expands_the_definitions(tmp_path: Path) -> None:
    createRepo(tmp_path / "copied", link=False)
    config = yaml.safe_load((tmp_path / "copied" / "butler.yaml").read_text())
    assert (
        config["storageClasses"]["AfwliteExposureF"]["pytype"]
        == "lsst.sky.correction.afwlite.image.ExposureF"
    )
    assert "includeConfigs" not in config["storageClasses"]
    # Linking an existing repository adds the include directives once.
    createRepo(tmp_path / "copied")
    createRepo(tmp_path / "copied")
    text = (tmp_path / "copied" / "butler.yaml").read_text()
    assert text.count("resource://lsst.sky.correction/data/butler/storageClasses.yaml") == 1


def test_write_visit_rejects_unknown_filters(repo: Repo) -> None:
    butler = Butler.from_config(str(repo.root), writeable=True)
    simulated = repo.visits[1]
    with pytest.raises(ValueError, match="physical filter 'HSC-R' is not registered"):
        writeVisit(butler, INSTRUMENT, 9, "HSC-R", simulated.calexps, simulated.calexpBackgrounds)


def test_simulate_command_writes_the_simulators_visit(tmp_path: Path) -> None:
    """The command writes exactly what the in-memory simulator produces for the same seed.

    Two worker processes write the files, which are then ingested (the notebook test covers
    the in-process path).
    """
    from lsst.sky.correction.simulation import VisitSimulator, VisitTruth

    root = tmp_path / "hsc"
    detectors = [49, 50]
    result = CliRunner().invoke(
        butlerCli,
        ["sky-correction-simulate", str(root), "-i", "HSC", "--visit", "11", "--seed", "5",
         "--detectors", ",".join(map(str, detectors)), "-j", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "wrote visit 11 of HSC (HSC-G, seed 5): 2 detectors" in result.output
    butler = Butler.from_config(str(root), collections="HSC/defaults")
    simulator = VisitSimulator(getCamera("HSC"), seed=5, visit=11)
    truth = VisitTruth.fromDict(butler.get("skyCorrTruth", instrument="HSC", visit=11))
    assert truth.skyFrameScale == simulator.truth().skyFrameScale
    assert truth.detectors == tuple(detectors)
    for detector in detectors:
        expected = simulator.makeDetector(detector)
        calexp = butler.get("calexp", instrument="HSC", visit=11, detector=detector)
        np.testing.assert_array_equal(calexp.image.array, expected.calexp.image.array)
        np.testing.assert_array_equal(calexp.mask.array, expected.calexp.mask.array)
        background = butler.get("calexpBackground", instrument="HSC", visit=11, detector=detector)
        np.testing.assert_allclose(
            background.getImage().array, expected.calexpBackground.getImage().array, rtol=0, atol=1e-3
        )
        sky = butler.get("sky", instrument="HSC", detector=detector, physical_filter="HSC-G", visit=11)
        np.testing.assert_array_equal(sky.image.array, simulator.makeSkyFrame(detector).image.array)
    butler.close()


def test_simulate_command_rejects_bad_detector_lists(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        butlerCli,
        ["sky-correction-simulate", str(tmp_path / "r"), "-i", "HSC", "--visit", "1", "--detectors", "4,x"],
    )
    assert result.exit_code != 0
    assert "--detectors must be comma-separated integers, got '4,x'" in result.output


def test_simulate_command_set_changes_the_simulation(tmp_path: Path) -> None:
    """--set reaches SimulationConfig: without the LSB galaxy and bright star TinyCam simulates."""
    from lsst.sky.correction.simulation import VisitTruth

    root = tmp_path / "tiny"
    command = ["sky-correction-simulate", str(root), "-i", "TinyCam", "--visit", "1"]
    result = CliRunner().invoke(butlerCli, [*command, "--set", "nope.x=1"])
    assert result.exit_code != 0
    assert "--set: simulation settings ['nope.x=1']: SimulationConfig has no part 'nope'" in result.output
    settings = [
        "--set",
        "lsbGalaxy.enabled=false",
        "--set",
        "brightStar.enabled=false",
        "--set",
        "sky.level=500",
    ]
    result = CliRunner().invoke(butlerCli, [*command, *settings])
    assert result.exit_code == 0, result.output
    butler = Butler.from_config(str(root), collections="TinyCam/defaults")
    truth = VisitTruth.fromDict(butler.get("skyCorrTruth", instrument="TinyCam", visit=1))
    assert truth.lsbGalaxy is None and truth.brightStar is None
    assert truth.smoothSky.level == 500.0
    butler.close()


def test_camera_pipelines_apply_the_camera_overrides(tmp_path: Path) -> None:
    """pipelines/<camera>/SkyCorrection.yaml declares the instrument, so its overrides apply."""
    from lsst.pipe.base import Pipeline

    generic = Pipeline.from_uri(str(ROOT / "pipelines" / "SkyCorrection.yaml"))
    assert generic.getInstrument() is None  # the superpixel sizes are left to the user, as in the stack
    expected = {"HSC": 256 * 0.015, "LSSTCam": 4096 * 0.010, "DECam": 256 * 0.015}
    for camera, xSize in expected.items():
        graph = Pipeline.from_uri(str(ROOT / "pipelines" / camera / "SkyCorrection.yaml")).to_graph()
        assert graph.tasks["skyCorr"].config.bgModel2.xSize == pytest.approx(xSize), camera


def test_butler_lists_the_commands() -> None:
    assert shutil.which("butler", path=str(BIN)) is not None
    result = CliRunner().invoke(butlerCli, ["--help"])
    assert "sky-correction-init-repo" in result.output and "sky-correction-simulate" in result.output


# BPS with Parsl ------------------------------------------------------------------------------------


def test_bps_parsl_runs_two_visits_locally(repo: Repo, tmp_path: Path) -> None:
    output = "u/test/skyCorr-bps"
    command = [
        str(BIN / "bps"),
        "submit",
        str(ROOT / "bps" / "skyCorrection_local.yaml"),
        "-b",
        str(repo.root),
        "-i",
        f"{INSTRUMENT}/defaults",
        "-o",
        output,
        "-p",
        str(repo.pipeline),
        "-d",
        f"instrument='{INSTRUMENT}' AND visit IN (1, 2)",
        "--extra-qgraph-options",
        f"-C skyCorr:{repo.configFile}",
    ]
    # BPS puts its submit directory under ${PWD}, which a subprocess's cwd does not change.
    env = {**PIPETASK_ENV, "PWD": str(tmp_path)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "'tasks_failed_count': 0, 'tasks_completed_count': 2" in done.stdout + done.stderr
    butler = Butler.from_config(str(repo.root), collections=output)
    for visit in (1, 2):
        log = butler.get("skyCorr_log", instrument=INSTRUMENT, visit=visit)
        (scale,) = [r.message for r in log if r.message.startswith("Sky frame scale: ")]
        assert float(scale.split(": ")[1]) == pytest.approx(SKY_SCALES[visit], rel=0.02)
        assert len(butler.query_datasets("skyCorr", instrument=INSTRUMENT, visit=visit)) == 4
    assert list((tmp_path / "submit").rglob("finalJob.stdout"))
