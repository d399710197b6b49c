"""Reliability catalogue, part 1: partial visits, bad pixels, masks and geometry.

Each test is one row of ``docs/reliability.md`` (its id is in the docstring)
and checks the documented behaviour and the exact message.  The visit is
TinyCam's (`reliability_support.tinyVisit`): the restored image is
``PEDESTAL + SKY_SCALE * skyFrame + noise``, so a correct run recovers the
sky-frame scale ``SKY_SCALE`` and a sky correction equal to that image.
"""

from __future__ import annotations

import logging
import re
import warnings
from typing import Any

import numpy as np
import pytest
from reliability_support import (
    PEDESTAL,
    SKY_SCALE,
    TinyVisit,
    captureTaskLog,
    constantBackground,
    taskMessages,
    tinyConfig,
    tinyQuantum,
    tinyVisit,
)
from sky_frame_oracle import naturalSplineImage

from lsst.pipe.base import AnnotatedPartialOutputsError, InMemoryDatasetHandle, NoWorkFound
from lsst.sky.correction import SkyCorrectionTask
from lsst.sky.correction.afwlite.cameraGeom import Camera
from lsst.sky.correction.afwlite.geom import Box2I, Extent2I, Point2I
from lsst.sky.correction.afwlite.image import ExposureF, ImageF, Mask, MaskedImageF
from lsst.sky.correction.afwlite.math import BackgroundList
from lsst.sky.correction.errors import InputDataError, NoUsableBackgroundSuperpixelsError

DEFAULT_PLANES = "BAD, CR, DETECTED, DETECTED_NEGATIVE, EDGE, INTRP, NO_DATA, SAT, STREAK, SUSPECT, VIGNETTED"
TINY_BBOX = "Box2I(minimum=Point2I(0, 0), dimensions=Extent2I(256, 200))"


def exactly(message: str) -> str:
    """A ``match`` pattern for the whole message and nothing else."""
    return f"^{re.escape(message)}$"


def truthImage(visit: TinyVisit, index: int) -> np.ndarray:
    """The restored image without noise: what the sky correction should be."""
    samples = visit.skyFrames[index].image.array
    height, width = visit.calExps[index].image.array.shape
    return PEDESTAL + SKY_SCALE * naturalSplineImage(samples, width, height)


def newBackground(skyCorr: BackgroundList) -> np.ndarray:
    """The elements the task added (after the one-element inverted calexpBackground)."""
    image = BackgroundList(*skyCorr[1:]).getImage()
    assert image is not None
    return image.array


@pytest.fixture(scope="module")
def cleanRun() -> Any:
    """The undamaged visit's result, to compare the damaged runs with."""
    return tinyVisit().run()


def test_clean_visit_recovers_the_truth(cleanRun: Any) -> None:
    """The baseline the rows below are measured against."""
    visit = tinyVisit()
    assert cleanRun.skyFrameScale == pytest.approx(SKY_SCALE, abs=0.1)
    for index, skyCorr in enumerate(cleanRun.skyCorr):
        assert np.abs(newBackground(skyCorr) - truthImage(visit, index)).max() < 0.5


# Partial visits (runQuantum) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "connection", ["calExps", "calBkgs", "skyFrames", "backgroundToPhotometricRatioHandles"]
)
def test_a_detector_missing_one_input_is_dropped(caplog: pytest.LogCaptureFixture, connection: str) -> None:
    """P1-P4: the detectors with every input are processed; the log names the one dropped."""
    visit = tinyVisit()
    butlerQC, inputRefs, outputRefs = tinyQuantum(visit, **{connection: [3, 0, 2]})
    config = tinyConfig(doApplyFlatBackgroundRatio=connection == "backgroundToPhotometricRatioHandles")
    with captureTaskLog(caplog, logging.WARNING):
        SkyCorrectionTask(config=config).runQuantum(butlerQC, inputRefs, outputRefs)
    assert f"Detector 1 is not processed: it has no {connection}." in taskMessages(caplog)
    assert [ref.dataId["detector"] for ref in butlerQC.putRefs.skyCorr] == [0, 2, 3]
    assert butlerQC.putValues.skyFrameScale == pytest.approx(SKY_SCALE, abs=0.2)
    for index, skyCorr in zip((0, 2, 3), butlerQC.putValues.skyCorr, strict=True):
        assert np.abs(newBackground(skyCorr) - truthImage(visit, index)).max() < 1.0


def test_a_detector_missing_several_inputs_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    """P5: one warning per dropped detector, naming every input it lacks."""
    butlerQC, inputRefs, outputRefs = tinyQuantum(tinyVisit(), calBkgs=[0, 1, 2], skyFrames=[1, 2, 0])
    with captureTaskLog(caplog, logging.WARNING):
        SkyCorrectionTask(config=tinyConfig()).runQuantum(butlerQC, inputRefs, outputRefs)
    assert "Detector 3 is not processed: it has no calBkgs, skyFrames." in taskMessages(caplog)
    assert len(butlerQC.putValues.skyCorr) == 3


def test_no_detector_with_every_input_is_no_work() -> None:
    """P6: nothing in common is not an error of the task: NoWorkFound, nothing written."""
    butlerQC, inputRefs, outputRefs = tinyQuantum(tinyVisit(), calExps=[0, 1], calBkgs=[2, 3])
    message = (
        "No detector has every input this visit needs (calExps: 0-1; calBkgs: 2-3; skyFrames: 0-3); "
        "nothing to correct."
    )
    with pytest.raises(NoWorkFound, match=exactly(message)):
        SkyCorrectionTask(config=tinyConfig()).runQuantum(butlerQC, inputRefs, outputRefs)
    assert butlerQC.putValues is None


def maskEverything(visit: TinyVisit, keep: np.ndarray | None = None) -> None:
    for calExp in visit.calExps:
        calExp.mask.array[:] = calExp.mask.getPlaneBitMask("BAD")
        if keep is not None:
            calExp.mask.array[keep] = 0


@pytest.mark.parametrize(
    ("bgModel", "fraction", "keep"),
    [
        ("bgModel1", "2.0", None),
        # Every other row and column usable: bgModel1's superpixels (one detector each) are
        # 2.6% filled (above 2%), bgModel2's small ones at most 25% (below 30%).
        ("bgModel2", "30.0", (slice(0, None, 2), slice(0, None, 2))),
    ],
)
def test_an_unusable_visit_is_annotated_as_partial_outputs(bgModel: str, fraction: str, keep: Any) -> None:
    """P7-P8: NoUsableBackgroundSuperpixelsError, annotated; nothing written."""
    visit = tinyVisit()
    maskEverything(visit, keep)
    butlerQC, inputRefs, outputRefs = tinyQuantum(visit)
    config = tinyConfig()
    config.bgModel1.minFrac = 0.02
    with pytest.raises(AnnotatedPartialOutputsError) as info:
        SkyCorrectionTask(config=config).runQuantum(butlerQC, inputRefs, outputRefs)
    cause = info.value.__cause__
    assert isinstance(cause, NoUsableBackgroundSuperpixelsError)
    assert str(cause) == (
        f"No background model superpixels in {bgModel} are more than {fraction}% filled. Try decreasing the "
        "minFrac configuration parameter, optimizing the subset of detectors being processed, or "
        "increasing the number of detectors being processed."
    )
    assert butlerQC.putValues is None


def test_an_unreadable_calexp_background_is_named_by_the_quantum() -> None:
    """P9: the Butler's bulk read fails; the task finds and names the dataset that broke it."""
    butlerQC, inputRefs, outputRefs = tinyQuantum(tinyVisit())
    damage = ValueError("Failure from formatter 'AfwliteBackgroundFormatter': damaged file")
    butlerQC.datasets[("calBkgs", 2)] = damage
    message = (
        "calexpBackground for detector 2: cannot be read: "
        "Failure from formatter 'AfwliteBackgroundFormatter': damaged file"
    )
    with pytest.raises(InputDataError, match=exactly(message)):
        SkyCorrectionTask(config=tinyConfig()).runQuantum(butlerQC, inputRefs, outputRefs)
    assert butlerQC.putValues is None


# Pixel values --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_calexp_pixels_are_left_out(
    caplog: pytest.LogCaptureFixture, cleanRun: Any, value: float
) -> None:
    """V1: NaN and ±inf pixels (a dead amplifier) take no part; the rest is corrected as usual."""
    visit = tinyVisit()
    visit.calExps[1].image.array[:100, :128] = value  # a quarter of the detector
    with captureTaskLog(caplog), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = visit.run()
    assert (
        "Detector 1: Merged 38400 unmasked pixels (75.0% of detector area) into initial BG model"
        in taskMessages(caplog)
    )
    assert result.skyFrameScale == pytest.approx(SKY_SCALE, abs=0.2)
    for index, skyCorr in enumerate(result.skyCorr):
        background = newBackground(skyCorr)
        assert np.isfinite(background).all()
        assert np.abs(background - truthImage(visit, index)).max() < 1.0
    # The other detectors barely notice (they share the focal-plane models).
    np.testing.assert_allclose(newBackground(result.skyCorr[3]), newBackground(cleanRun.skyCorr[3]), atol=0.3)


@pytest.mark.parametrize("damage", ["nan", "mask"])
def test_a_detector_without_usable_pixels_gets_the_focal_plane_model(
    caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    """V2-V3: an all-NaN or all-masked detector is corrected from the other detectors."""
    visit = tinyVisit()
    calExp = visit.calExps[1]
    if damage == "nan":
        calExp.image.array[:] = np.nan
    else:
        calExp.mask.array[:] = calExp.mask.getPlaneBitMask("BAD")
    with captureTaskLog(caplog):
        result = visit.run()
    assert (
        "Detector 1: Merged 0 unmasked pixels (0.0% of detector area) into initial BG model"
        in taskMessages(caplog)
    )
    background = newBackground(result.skyCorr[1])
    assert np.isfinite(background).all()
    # The sky frame carries the detector's pattern; the focal-plane models fill in the level.
    assert np.median(np.abs(background - truthImage(visit, 1))) < 1.0


@pytest.mark.parametrize(
    ("where", "value", "count"),
    [((slice(None), slice(None)), np.nan, 51200), ((5, 5), np.inf, 4)],
)
def test_a_non_finite_calexp_background_is_refused(where: Any, value: float, count: int) -> None:
    """V4: a background model is finite where afw could fit it; NaN or inf means a damaged file."""
    visit = tinyVisit()
    visit.calBkgs[2][0][0].getStatsImage().image.array[where] = value
    message = (
        f"calexpBackground for detector 2: its image has {count} non-finite pixel(s) of 51200 (NaN or inf)"
    )
    with pytest.raises(InputDataError, match=exactly(message)):
        visit.run()


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_a_non_finite_sky_frame_cell_is_interpolated_over(
    caplog: pytest.LogCaptureFixture, value: float
) -> None:
    """V5: NaN cells of a sky frame are interpolated over (inf spoils its column, then the same)."""
    visit = tinyVisit()
    visit.skyFrames[2].image.array[2, 3] = value
    with captureTaskLog(caplog), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = visit.run()
    assert "Sky frame scale: 40" in taskMessages(caplog)
    assert all(np.isfinite(newBackground(skyCorr)).all() for skyCorr in result.skyCorr)


def test_a_sky_frame_without_finite_cells_is_refused() -> None:
    """V6: an all-NaN sky frame would put NaN into skyCorr; refused instead."""
    visit = tinyVisit()
    visit.skyFrames[2].image.array[:] = np.nan
    message = (
        "sky frame for detector 2: its interpolated image has 51200 non-finite pixel(s) of 51200 (NaN or inf)"
    )
    with pytest.raises(InputDataError, match=exactly(message)):
        visit.run()


# Mask planes ---------------------------------------------------------------------------------------


def withMaskPlanes(calExp: ExposureF, planes: dict[str, int]) -> ExposureF:
    """A copy of ``calExp`` whose mask knows only ``planes`` (as a file with few MP_* cards)."""
    mask = Mask(calExp.mask.array.copy(), xy0=calExp.mask.getXY0(), planeDict=planes)
    copy = ExposureF(MaskedImageF(calExp.image.clone(), mask=mask, variance=calExp.variance.clone()))
    copy.setDetector(calExp.getDetector())
    return copy


@pytest.mark.parametrize("doMaskObjects", [False, True])
def test_default_planes_missing_from_a_mask_are_added_unset(
    caplog: pytest.LogCaptureFixture, doMaskObjects: bool
) -> None:
    """M1: as afw's shared plane dictionary does; the result is the same as with every plane."""
    visit = tinyVisit(skyScale=0.0)  # a flat sky, so that object masking leaves sky to measure
    config = tinyConfig(doMaskObjects=doMaskObjects)
    # Object masking flags a third of these small noisy detectors, and TinyCam's bgModel1
    # superpixels each hold one detector: allow fuller masking than the default 10%.
    config.bgModel1.minFrac = 0.02
    full = visit.run(config=config)
    visit.calExps[1] = withMaskPlanes(visit.calExps[1], {"BAD": 0})
    with captureTaskLog(caplog):
        sparse = visit.run(config=config)
    assert (
        "calexp for detector 1: default mask planes SAT, INTRP, CR, EDGE, DETECTED, DETECTED_NEGATIVE, "
        "SUSPECT, NO_DATA, VIGNETTED, STREAK are not in its mask; added, unset, as afw does"
    ) in taskMessages(caplog)
    for a, b in zip(full.skyCorr, sparse.skyCorr, strict=True):
        np.testing.assert_array_equal(a.getImage().array, b.getImage().array)
    assert visit.calExps[1].mask.getMaskPlaneDict() == {"BAD": 0}  # the input is untouched


@pytest.mark.parametrize("field", ["bgModel1.mask", "bgModel2.mask", "sky.stats.mask"])
def test_an_unknown_mask_plane_in_the_config_is_refused(field: str) -> None:
    """M2: a plane named nowhere (a typo) is an error, as afw's getPlaneBitMask raises."""
    config = tinyConfig()
    section = config
    for name in field.split(".")[:-1]:
        section = getattr(section, name)
    section.mask = [*section.mask, "NOT_A_PLANE"]
    message = (
        f"calexp for detector 0: mask plane 'NOT_A_PLANE' named in config.{field} is not defined in its mask "
        f"(planes: {DEFAULT_PLANES}) nor among the default mask planes"
    )
    with pytest.raises(InputDataError, match=exactly(message)):
        tinyVisit().run(config=config)


def test_a_full_mask_cannot_take_the_default_planes() -> None:
    """M3: 32 custom planes leave no bit for the default ones."""
    visit = tinyVisit()
    visit.calExps[0] = withMaskPlanes(visit.calExps[0], {f"CUSTOM{bit}": bit for bit in range(32)})
    message = (
        "calexp for detector 0: its mask cannot take the default planes: "
        "cannot add mask plane 'BAD': all 32 bits are in use"
    )
    with pytest.raises(InputDataError, match=exactly(message)):
        visit.run()


# Geometry ------------------------------------------------------------------------------------------


def test_a_sky_frame_for_another_bbox_is_refused() -> None:
    """G1: the BOX.* cards must describe the calexp's bbox."""
    visit = tinyVisit()
    visit.skyFrames[2].getMetadata().set("BOX.MAXX", 300)
    message = (
        "sky frame for detector 2: its BOX.* cards describe "
        "Box2I(minimum=Point2I(0, 0), dimensions=Extent2I(301, 200)), "
        f"the calexp's bbox is {TINY_BBOX}"
    )
    with pytest.raises(InputDataError, match=exactly(message)):
        visit.run()


def test_a_sky_frame_without_box_cards_is_refused() -> None:
    """G2: a sky frame without its BOX.* cards cannot be placed."""
    visit = tinyVisit()
    visit.skyFrames[2].getMetadata().remove("BOX.MINY")
    message = (
        "sky frame for detector 2: not a usable sky frame: the metadata card BOX.MINY is missing "
        "(a sky frame needs ('BOX.MINX', 'BOX.MINY', 'BOX.MAXX', 'BOX.MAXY'))"
    )
    with pytest.raises(InputDataError, match=exactly(message)):
        visit.run()


def test_a_calexp_bbox_that_does_not_match_its_detector_is_refused() -> None:
    """G3: the calexp must cover its detector exactly."""
    visit = tinyVisit()
    small = ExposureF(Box2I(Point2I(0, 0), Extent2I(100, 80)))
    small.setDetector(visit.calExps[2].getDetector())
    visit.calExps[2] = small
    message = (
        "calexp for detector 2: its bbox Box2I(minimum=Point2I(0, 0), dimensions=Extent2I(100, 80)) "
        f"does not match the camera's detector bbox {TINY_BBOX}"
    )
    with pytest.raises(ValueError, match=exactly(message)):
        visit.run()


@pytest.mark.parametrize(
    ("background", "problem"),
    [
        (BackgroundList(), "it has no elements"),
        (
            constantBackground(Box2I(Point2I(0, 0), Extent2I(100, 80)), PEDESTAL),
            "it covers Extent2I(100, 80) pixels, the calexp Extent2I(256, 200)",
        ),
    ],
)
def test_a_calexp_background_of_the_wrong_size_is_refused(background: BackgroundList, problem: str) -> None:
    """G4-G5: the calexpBackground must cover the calexp."""
    visit = tinyVisit()
    visit.calBkgs[1] = background
    with pytest.raises(InputDataError, match=exactly(f"calexpBackground for detector 1: {problem}")):
        visit.run()


def test_a_ratio_image_of_the_wrong_size_is_refused() -> None:
    """G6: the background-to-photometric ratio must cover the calexp."""
    visit = tinyVisit()
    ratios = [ImageF(calExp.getBBox(), initialValue=1.0) for calExp in visit.calExps]
    ratios[0] = ImageF(10, 10, initialValue=1.0)
    message = (
        "background_to_photometric_ratio for detector 0: its bbox "
        f"Box2I(minimum=Point2I(0, 0), dimensions=Extent2I(10, 10)) differs from the calexp's {TINY_BBOX}"
    )
    with pytest.raises(InputDataError, match=exactly(message)):
        visit.run(
            config=tinyConfig(doApplyFlatBackgroundRatio=True), backgroundToPhotometricRatioHandles=ratios
        )


@pytest.mark.parametrize("attached", [True, False])
def test_a_detector_the_camera_lacks_is_refused_before_any_work(attached: bool) -> None:
    """G7: checked up front, from the detectors attached or the handles' data IDs."""
    visit = tinyVisit()
    camera = Camera("TinyCam", [detector for detector in visit.camera if detector.getId() != 3])
    calExps: list[Any] = visit.calExps
    if not attached:
        calExps = [
            InMemoryDatasetHandle(calExp, detector=index) for index, calExp in enumerate(visit.calExps)
        ]
        for calExp in visit.calExps:
            calExp.setDetector(None)
    message = "calexp for detector 3: the camera 'TinyCam' has no detector 3 (its detectors: 0-2)"
    with pytest.raises(InputDataError, match=exactly(message)):
        visit.run(calExps=calExps, camera=camera)


def test_a_calexp_carrying_another_detector_than_its_data_id_is_refused() -> None:
    """G8: the handle says detector 1, the exposure's own detector is 2."""
    visit = tinyVisit()
    visit.calExps[1].setDetector(visit.camera[2])
    handles = [InMemoryDatasetHandle(calExp, detector=index) for index, calExp in enumerate(visit.calExps)]
    with pytest.raises(ValueError, match=exactly("the calexp for detector 1 carries detector 2")):
        visit.run(calExps=handles)


def test_a_calexp_with_no_detector_at_all_is_refused() -> None:
    """G9: no attached detector and no data ID: the task cannot place it."""
    visit = tinyVisit()
    visit.calExps[2].setDetector(None)
    message = (
        "calexp #2 has no detector and no data ID naming one; attach a detector "
        "(exposure.setDetector(camera[id])) or pass a dataset handle with a 'detector' data ID"
    )
    with pytest.raises(ValueError, match=exactly(message)):
        visit.run()


# The sky-frame scale -------------------------------------------------------------------------------


def test_flat_zero_sky_frames_leave_the_scale_undetermined() -> None:
    """V7: sky frames that are zero everywhere cannot be scaled to anything."""
    visit = tinyVisit()
    for sky in visit.skyFrames:
        sky.image.array[:] = 0.0
    message = "solveScales: the 64 sky-frame samples in use are all zero; the scale is undetermined"
    with pytest.raises(ValueError, match=exactly(message)):
        visit.run()


def test_no_usable_sky_sample_leaves_the_scale_undetermined() -> None:
    """V8: every pixel masked for the sky statistics (not for the models): no sample to fit."""
    visit = tinyVisit()
    for calExp in visit.calExps:
        calExp.mask.array[:] = calExp.mask.getPlaneBitMask("DETECTED")
    config = tinyConfig()
    config.bgModel1.mask = ["BAD"]
    config.bgModel2.mask = ["BAD"]
    message = (
        "solveScales: no usable sky-frame samples (none finite, or all rejected); "
        "cannot fit a sky frame scale"
    )
    with pytest.raises(ValueError, match=exactly(message)):
        visit.run(config=config)
