"""afwlite.image in-memory semantics: origins, views, masks and afw's arithmetic rules."""

from __future__ import annotations

import numpy as np
import pytest

from lsst.sky.correction.afwlite.geom import Box2I, Extent2I, Point2I
from lsst.sky.correction.afwlite.image import (
    DEFAULT_MASK_PLANES,
    LOCAL,
    ExposureF,
    ImageF,
    Mask,
    MaskedImageF,
    PropertyList,
    makeMaskedImage,
)

RNG = np.random.default_rng(20261124)


def random_masked_image(width: int = 7, height: int = 5, xy0: tuple[int, int] = (3, -2)) -> MaskedImageF:
    mi = MaskedImageF(Box2I(Point2I(*xy0), Extent2I(width, height)))
    mi.image.array[:] = RNG.normal(10.0, 3.0, (height, width)).astype(np.float32)
    mi.mask.array[:] = RNG.integers(0, 16, (height, width), dtype=np.int32)
    mi.variance.array[:] = RNG.uniform(1.0, 4.0, (height, width)).astype(np.float32)
    return mi


def test_image_construction_and_origin() -> None:
    image = ImageF(Box2I(Point2I(10, 20), Extent2I(4, 3)))
    assert image.array.shape == (3, 4)
    assert image.array.dtype == np.float32
    assert (image.getX0(), image.getY0()) == (10, 20)
    assert image.getBBox() == Box2I(Point2I(10, 20), Extent2I(4, 3))
    assert image.getBBox(LOCAL) == Box2I(Point2I(0, 0), Extent2I(4, 3))
    assert ImageF(5, 2).array.shape == (2, 5)
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    shared = ImageF(array, xy0=Point2I(1, 1))
    array[0, 0] = 42.0
    assert shared.array[0, 0] == 42.0  # shares pixels unless deep
    assert ImageF(array, deep=True).array is not array


def test_image_rejects_wrong_dtype() -> None:
    with pytest.raises(TypeError, match="float32"):
        ImageF(np.zeros((2, 2), dtype=np.float64))
    with pytest.raises(TypeError, match="int32"):
        Mask(np.zeros((2, 2), dtype=np.uint16))


def test_subimage_is_a_view_in_parent_coordinates() -> None:
    image = ImageF(Box2I(Point2I(100, 200), Extent2I(10, 10)))
    sub = image[Box2I(Point2I(102, 203), Extent2I(3, 2))]
    assert sub.getXY0() == Point2I(102, 203)
    sub.array[:] = 5.0
    assert image.array[3:5, 2:5].tolist() == [[5.0] * 3] * 2
    assert image.array.sum() == 30.0
    with pytest.raises(IndexError, match="not inside"):
        image[Box2I(Point2I(0, 0), Extent2I(3, 3))]
    assert image[102, 203] == 5.0  # (x, y) pixel access in PARENT coordinates


def test_image_arithmetic_checks_size() -> None:
    a = ImageF(3, 3)
    a += 2.0
    a *= ImageF(np.full((3, 3), 1.5, dtype=np.float32))
    assert np.all(a.array == 3.0)
    with pytest.raises(ValueError, match="different size"):
        a += ImageF(2, 3)


def test_mask_planes_and_bitmasks() -> None:
    mask = Mask(4, 4)
    for bit, name in enumerate(DEFAULT_MASK_PLANES):
        assert mask.getMaskPlane(name) == bit
        assert Mask.getPlaneBitMask(name) == 1 << bit
    assert mask.getPlaneBitMask(["BAD", "NO_DATA"]) == 1 | (1 << 8)
    with pytest.raises(KeyError, match="NOT_A_PLANE"):
        mask.getPlaneBitMask("NOT_A_PLANE")
    # A file-specific dictionary stays with its mask (HSC data: NO_DATA is bit 9).
    hsc = Mask(2, 2, planeDict={"BAD": 0, "CROSSTALK": 8, "NO_DATA": 9})
    assert hsc.getPlaneBitMask("NO_DATA") == 512
    assert Mask.getPlaneBitMask("NO_DATA") == 256
    with pytest.raises(ValueError, match="both use bit"):
        Mask(1, 1, planeDict={"A": 3, "B": 3})


def test_mask_add_plane_uses_lowest_free_bit() -> None:
    mask = Mask(1, 1, planeDict={"BAD": 0, "SAT": 2})
    assert mask.addMaskPlane("NEW") == 1
    assert mask.addMaskPlane("NEW") == 1
    assert mask.getMaskPlaneDict() == {"BAD": 0, "SAT": 2, "NEW": 1}


def test_mask_conform_remaps_bits() -> None:
    mask = Mask(np.array([[1 << 9, 1, 0]], dtype=np.int32), planeDict={"BAD": 0, "NO_DATA": 9})
    mask.conformMaskPlanes({"BAD": 0, "NO_DATA": 8})
    assert mask.array.tolist() == [[1 << 8, 1, 0]]


def test_masked_image_scalar_arithmetic_follows_afw() -> None:
    mi = random_masked_image()
    image0, mask0, var0 = mi.image.array.copy(), mi.mask.array.copy(), mi.variance.array.copy()
    mi += 2.5
    np.testing.assert_array_equal(mi.image.array, image0 + np.float32(2.5))
    np.testing.assert_array_equal(mi.variance.array, var0)
    mi -= 2.5
    mi *= 3.0
    np.testing.assert_allclose(mi.image.array, image0 * 3, rtol=1e-6)
    np.testing.assert_allclose(mi.variance.array, var0 * 9, rtol=1e-6)
    mi /= 3.0
    np.testing.assert_allclose(mi.image.array, image0, rtol=1e-6)
    np.testing.assert_allclose(mi.variance.array, var0, rtol=1e-6)
    np.testing.assert_array_equal(mi.mask.array, mask0)


def test_masked_image_image_arithmetic_follows_afw() -> None:
    mi = random_masked_image()
    scale = ImageF(RNG.uniform(0.5, 2.0, mi.image.array.shape).astype(np.float32), xy0=mi.getXY0())
    image0, var0 = mi.image.array.astype(np.float64), mi.variance.array.astype(np.float64)
    mi *= scale
    np.testing.assert_allclose(mi.image.array, image0 * scale.array, rtol=1e-6)
    np.testing.assert_allclose(mi.variance.array, var0 * scale.array**2, rtol=1e-6)
    mi /= scale
    np.testing.assert_allclose(mi.image.array, image0, rtol=1e-5)
    np.testing.assert_allclose(mi.variance.array, var0, rtol=1e-5)


def test_masked_image_masked_arithmetic_follows_afw() -> None:
    a, b = random_masked_image(), random_masked_image()
    ia, ma, va = (p.array.astype(np.float64) for p in (a.image, a.mask, a.variance))
    ib, mb, vb = (p.array.astype(np.float64) for p in (b.image, b.mask, b.variance))
    s = a.clone()
    s -= b
    np.testing.assert_allclose(s.image.array, ia - ib, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(s.variance.array, va + vb, rtol=1e-6)
    np.testing.assert_array_equal(s.mask.array, ma.astype(np.int32) | mb.astype(np.int32))
    p = a.clone()
    p *= b
    np.testing.assert_allclose(p.image.array, ia * ib, rtol=1e-6)
    np.testing.assert_allclose(p.variance.array, ib**2 * va + ia**2 * vb, rtol=1e-5)
    q = a.clone()
    q /= b
    np.testing.assert_allclose(q.image.array, ia / ib, rtol=1e-6)
    np.testing.assert_allclose(q.variance.array, (ib**2 * va + ia**2 * vb) / ib**4, rtol=1e-5)
    with pytest.raises(ValueError, match="different size"):
        a += random_masked_image(width=3)


def test_masked_image_set_and_planes_share_pixels() -> None:
    mi = MaskedImageF(4, 3)
    mi.set(1.0, 0x4, 2.0)
    assert np.all(mi.image.array == 1.0) and np.all(mi.mask.array == 4) and np.all(mi.variance.array == 2.0)
    wrapped = makeMaskedImage(mi.image)
    wrapped.image.array[0, 0] = 9.0
    assert mi.image.array[0, 0] == 9.0
    assert np.all(wrapped.variance.array == 0.0)
    with pytest.raises(ValueError, match="dimensions differ"):
        MaskedImageF(ImageF(3, 3), mask=Mask(2, 3))


def test_exposure_views_clone_and_metadata() -> None:
    mi = random_masked_image(xy0=(0, 0))
    exposure = ExposureF(mi)
    exposure.getMetadata().set("EXPTIME", 30.0)
    sub = exposure[Box2I(Point2I(1, 1), Extent2I(2, 2))]
    sub.image.array[:] = -1.0
    assert np.all(mi.image.array[1:3, 1:3] == -1.0)
    assert sub.getBBox() == Box2I(Point2I(1, 1), Extent2I(2, 2))
    before = exposure.image.array.copy()
    copy = exposure.clone()
    copy.image.array[:] = 0.0
    copy.getMetadata().set("EXPTIME", 1.0)
    np.testing.assert_array_equal(exposure.image.array, before)
    assert exposure.getMetadata().getScalar("EXPTIME") == 30.0
    assert exposure.getDetector() is None
    with pytest.raises(ValueError, match="mask"):
        exposure.setMask(Mask(1, 1))


def test_property_list_order_and_access() -> None:
    md = PropertyList()
    md.set("B", 1)
    md.set("A", "x", "a comment")
    md.add("H", "first")
    md.add("H", "second")
    md.set("B", 2)
    assert md.names() == ["B", "A", "H"]
    assert md.getScalar("B") == 2 and md.get("A") == "x" and md.getComment("A") == "a comment"
    assert md.getArray("H") == ["first", "second"] and md.get("H") == "second"
    assert md.get("MISSING", 7) == 7
    with pytest.raises(KeyError, match="MISSING"):
        md.getScalar("MISSING")


def test_masked_image_from_planes_positionally_as_afw() -> None:
    image = ImageF(np.ones((2, 3), dtype=np.float32))
    mask = Mask(np.full((2, 3), 4, dtype=np.int32))
    variance = ImageF(np.full((2, 3), 9.0, dtype=np.float32))
    mi = MaskedImageF(image, mask, variance)
    assert mi.mask is mask and mi.variance is variance and mi.image is image
    only_mask = MaskedImageF(image, mask)
    assert only_mask.mask is mask and np.all(only_mask.variance.array == 0.0)
