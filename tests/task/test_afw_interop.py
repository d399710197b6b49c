"""The afw bridge: the task reads inputs only through the afw API subset.

afw itself cannot be installed here, so the reading side is exercised with
"foreign" proxies: objects that expose exactly the afwlite (= afw-shaped) API
but are not afwlite types, so every conversion path runs.  The writing side
is exercised with a family whose modules are afwlite's under another name.
The last test runs only where lsst.afw imports (a full stack).
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np
import pytest
from test_sky_correction import reference_config, reference_visit, small_config, small_visit

from lsst.pipe.base import InMemoryDatasetHandle
from lsst.sky.correction import SkyCorrectionTask
from lsst.sky.correction._afw_interop import (
    AFWLITE,
    ImageFamily,
    backgroundListFrom,
    backgroundListTo,
    cameraFrom,
    detectorFrom,
    exposureFrom,
    familyOf,
    imageTo,
)
from lsst.sky.correction.afwlite import geom as liteGeom
from lsst.sky.correction.afwlite import image as liteImage
from lsst.sky.correction.afwlite import math as liteMath
from lsst.sky.correction.afwlite.cameraGeom import FOCAL_PLANE


def _wrap(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, enum.Enum | np.ndarray) or value is None:
        return value
    if type(value).__module__.startswith("lsst.sky.correction.afwlite"):
        return Foreign(value)
    return value


class Foreign:
    """A stand-in for an afw object: the same API, a different type."""

    def __init__(self, obj: Any) -> None:
        object.__setattr__(self, "_obj", obj)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._obj, name)
        if callable(attr):
            return lambda *args, **kwargs: _wrap(attr(*args, **kwargs))
        return _wrap(attr)

    def __iter__(self) -> Any:
        return (_wrap(item) for item in self._obj)

    def __getitem__(self, index: Any) -> Any:
        return _wrap(self._obj[index])

    def __len__(self) -> int:
        return len(self._obj)


def test_detector_and_camera_geometry_survive_conversion() -> None:
    visit = small_visit(lambda x, y: np.full_like(x, 1.0))
    camera = cameraFrom(Foreign(visit.camera))
    assert camera is not visit.camera
    for original in visit.camera:
        converted = camera[original.getId()]
        assert converted.getName() == original.getName()
        assert converted.getBBox() == original.getBBox()
        assert converted.getOrientation().getNQuarter() == original.getOrientation().getNQuarter()
        for a, b in zip(converted.getCorners(FOCAL_PLANE), original.getCorners(FOCAL_PLANE), strict=True):
            assert a.getX() == pytest.approx(b.getX(), abs=1e-12)
            assert a.getY() == pytest.approx(b.getY(), abs=1e-12)
    assert detectorFrom(visit.camera[0]) is visit.camera[0]  # afwlite objects pass through


def test_exposure_and_background_conversion_keep_pixels_planes_and_metadata() -> None:
    visit = reference_visit()
    exposure = visit.calExps[0].clone()
    exposure.mask.array[5, 7] = exposure.mask.getPlaneBitMask("SAT")
    exposure.getMetadata().set("EXPTIME", 30.0)
    converted = exposureFrom(Foreign(exposure))
    assert type(converted) is liteImage.ExposureF
    np.testing.assert_array_equal(converted.image.array, exposure.image.array)
    np.testing.assert_array_equal(converted.mask.array, exposure.mask.array)
    assert converted.mask.getMaskPlaneDict() == exposure.mask.getMaskPlaneDict()
    assert converted.getMetadata().getScalar("EXPTIME") == 30.0
    assert converted.getDetector().getId() == 0
    backgrounds = backgroundListFrom(Foreign(visit.calBkgs[0]))
    np.testing.assert_array_equal(backgrounds.getImage().array, visit.calBkgs[0].getImage().array)
    backgrounds[0][0].getStatsImage().image.array[:] = 0.0  # a deep copy
    assert visit.calBkgs[0][0][0].getStatsImage().image.array[0, 0] == 3000.0


def test_outputs_are_rebuilt_in_another_family() -> None:
    other = ImageFamily("stand-in", liteImage, liteMath, liteGeom)
    visit = small_visit(lambda x, y: 100.0 + x)
    backgrounds = visit.calBkgs[1]
    rebuilt = backgroundListTo(backgrounds, other)
    assert rebuilt is not backgrounds and len(rebuilt) == len(backgrounds)
    np.testing.assert_array_equal(rebuilt.getImage().array, backgrounds.getImage().array)
    assert rebuilt[0][1:] == backgrounds[0][1:]
    image = liteImage.ImageF(np.arange(12, dtype=np.float32).reshape(3, 4), xy0=liteGeom.Point2I(2, 5))
    copy = imageTo(image, other)
    assert copy is not image and copy.getXY0() == liteGeom.Point2I(2, 5)
    np.testing.assert_array_equal(copy.array, image.array)
    assert familyOf(image) is AFWLITE and imageTo(image, AFWLITE) is image


def test_task_on_foreign_inputs_equals_task_on_afwlite_inputs() -> None:
    visit = small_visit(lambda x, y: 300.0 + 4.0 * x - y)
    config = small_config()
    native = SkyCorrectionTask(config=config).run(visit.calExps, visit.calBkgs, None, visit.camera)
    foreign = SkyCorrectionTask(config=config).run(
        [Foreign(e) for e in visit.calExps], [Foreign(b) for b in visit.calBkgs], None, Foreign(visit.camera)
    )
    for a, b in zip(native.skyCorr, foreign.skyCorr, strict=True):
        np.testing.assert_array_equal(a.getImage().array, b.getImage().array)
    np.testing.assert_array_equal(native.calExpMosaic.array, foreign.calExpMosaic.array)


def test_task_accepts_real_afw_objects() -> None:
    afwImage = pytest.importorskip(
        "lsst.afw.image", reason="lsst.afw is not installable from PyPI; this test runs in a full stack"
    )
    from lsst.sky.correction._afw_interop import afwFamily

    family = afwFamily()
    visit = reference_visit()
    calExps = []
    for exposure in visit.calExps:
        afwExposure = afwImage.ExposureF(
            afwImage.MaskedImageF(
                imageTo(exposure.image, family),
                afwImage.Mask(exposure.mask.array.copy(), deep=True),
                imageTo(exposure.variance, family),
            )
        )
        calExps.append(afwExposure)
    calBkgs = [backgroundListTo(b, family) for b in visit.calBkgs]
    # No detector on the afw exposures: the task takes it from the camera by the handle's data ID.
    handles = [InMemoryDatasetHandle(e, detector=d) for d, e in enumerate(calExps)]
    result = SkyCorrectionTask(config=reference_config(doSky=False)).run(handles, calBkgs, None, visit.camera)
    assert type(result.calExpMosaic).__module__.startswith("lsst.afw")
    assert type(result.skyCorr[0]).__module__.startswith("lsst.afw")
    assert np.nanmean(result.calExpMosaic.array) == pytest.approx(0.0, abs=0.05)
