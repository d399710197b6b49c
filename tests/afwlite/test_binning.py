"""Tests of binImage, rotateImageBy90 and flipImage against afw's loops written out in Python."""

from __future__ import annotations

import numpy as np
import pytest

from lsst.sky.correction.afwlite import math as afwMath
from lsst.sky.correction.afwlite.geom import Extent2I, Point2I
from lsst.sky.correction.afwlite.image import ImageD, ImageF, Mask, MaskedImageF, MaskPlaneDict


# --------------------------------------------------------------------------
# binImage
# --------------------------------------------------------------------------
def naive_block_sum(pixels: np.ndarray, bin_x: int, bin_y: int) -> np.ndarray:
    """afw binImage.cc: per output pixel, each block row summed left to right
    in the pixel type, then the row sums added top to bottom onto zero."""
    kind = pixels.dtype.type
    out_h, out_w = pixels.shape[0] // bin_y, pixels.shape[1] // bin_x
    out = np.zeros((out_h, out_w), dtype=pixels.dtype)
    for oy in range(out_h):
        for ox in range(out_w):
            total = kind(0)
            for i in range(bin_y):
                row = pixels[oy * bin_y + i]
                value = row[ox * bin_x]
                for j in range(1, bin_x):
                    value = kind(value + row[ox * bin_x + j])
                total = kind(total + value)
            out[oy, ox] = total
    return out


def naive_bin(pixels: np.ndarray, bin_x: int, bin_y: int) -> np.ndarray:
    return naive_block_sum(pixels, bin_x, bin_y) / pixels.dtype.type(bin_x * bin_y)


def naive_bin_variance(variance: np.ndarray, bin_x: int, bin_y: int) -> np.ndarray:
    return naive_block_sum(variance, bin_x, bin_y) / np.float32((bin_x * bin_y) ** 2)


def naive_bin_mask(mask: np.ndarray, bin_x: int, bin_y: int) -> np.ndarray:
    out_h, out_w = mask.shape[0] // bin_y, mask.shape[1] // bin_x
    out = np.zeros((out_h, out_w), dtype=mask.dtype)
    for oy in range(out_h):
        for ox in range(out_w):
            bits = 0
            for y in range(oy * bin_y, (oy + 1) * bin_y):
                for x in range(ox * bin_x, (ox + 1) * bin_x):
                    bits |= int(mask[y, x])
            out[oy, ox] = bits
    return out


@pytest.mark.parametrize(("bin_x", "bin_y"), [(1, 1), (2, 2), (4, 3), (3, 5), (7, 7), (37, 2)])
def test_bin_image_matches_afw_loop_bit_for_bit(bin_x: int, bin_y: int) -> None:
    rng = np.random.default_rng(bin_x * 10 + bin_y)
    pixels = (rng.normal(0, 1, (29, 37)) * 10 ** rng.uniform(-3, 4, (29, 37))).astype(np.float32)
    image = ImageF(pixels, xy0=Point2I(101, -7))
    binned = afwMath.binImage(image, bin_x, bin_y)
    assert isinstance(binned, ImageF)
    assert binned.getDimensions() == Extent2I(37 // bin_x, 29 // bin_y)
    assert binned.getXY0() == Point2I(101, -7)  # not divided by the binning
    np.testing.assert_array_equal(binned.array, naive_bin(pixels, bin_x, bin_y))
    # And to float32 precision it is the mean of each block.
    if bin_x * bin_y >= 9:
        blocks = pixels[: 29 // bin_y * bin_y, : 37 // bin_x * bin_x].astype(np.float64)
        mean64 = blocks.reshape(29 // bin_y, bin_y, 37 // bin_x, bin_x).mean(axis=(1, 3))
        np.testing.assert_allclose(binned.array, mean64, rtol=1e-5, atol=1e-3)


def test_bin_masked_image_planes() -> None:
    rng = np.random.default_rng(3)
    height, width, bin_x, bin_y = 22, 31, 4, 3
    mi = MaskedImageF(ImageF(rng.normal(100, 5, (height, width)).astype(np.float32), xy0=Point2I(5, 6)))
    mi.mask.array[...] = rng.choice([0, 1, 2, 16, 1 << 30], size=(height, width))
    mi.variance.array[...] = rng.uniform(1, 50, (height, width)).astype(np.float32)
    binned = afwMath.binImage(mi, bin_x, bin_y)
    assert isinstance(binned, MaskedImageF)
    assert binned.getDimensions() == Extent2I(width // bin_x, height // bin_y)
    assert binned.getXY0() == Point2I(5, 6)
    np.testing.assert_array_equal(binned.image.array, naive_bin(mi.image.array, bin_x, bin_y))
    np.testing.assert_array_equal(binned.mask.array, naive_bin_mask(mi.mask.array, bin_x, bin_y))
    np.testing.assert_array_equal(binned.variance.array, naive_bin_variance(mi.variance.array, bin_x, bin_y))
    # Variance of a mean of n independent pixels: sum / n^2.
    block = mi.variance.array[:bin_y, :bin_x].astype(np.float64)
    np.testing.assert_allclose(binned.variance.array[0, 0], block.sum() / (bin_x * bin_y) ** 2, rtol=1e-6)
    assert binned.mask.planeDict is mi.mask.planeDict


def test_bin_image_drops_remainders_and_keeps_nan() -> None:
    pixels = np.arange(7 * 10, dtype=np.float32).reshape(7, 10)
    pixels[4, 3] = np.nan  # in output block (1, 1) for 3x3 binning
    pixels[6, 9] = np.nan  # in the dropped remainder
    binned = afwMath.binImage(ImageF(pixels), 3)
    assert binned.array.shape == (2, 3)
    assert np.isnan(binned.array[1, 1])
    finite = np.isfinite(binned.array)
    assert finite.sum() == 5
    expected = pixels[:6, :9].reshape(2, 3, 3, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(binned.array[finite], expected[finite], rtol=1e-6)


def test_bin_image_d_accumulates_in_double() -> None:
    rng = np.random.default_rng(12)
    pixels = rng.normal(0, 1, (12, 16))
    binned = afwMath.binImage(ImageD(pixels, xy0=Point2I(1, 2)), 4)
    assert isinstance(binned, ImageD)
    assert binned.array.dtype == np.float64
    np.testing.assert_array_equal(binned.array, naive_bin(pixels, 4, 4))


def test_bin_image_arguments() -> None:
    image = ImageF(np.ones((8, 8), dtype=np.float32))
    # binImage(image, binsize, flags) is afw's overload with one factor.
    assert afwMath.binImage(image, 4, afwMath.MEAN).getDimensions() == Extent2I(2, 2)
    assert afwMath.binImage(image, 4, 2).getDimensions() == Extent2I(2, 4)
    with pytest.raises(ValueError, match="only MEAN"):
        afwMath.binImage(image, 2, 2, afwMath.MEDIAN)
    with pytest.raises(ValueError, match="only MEAN"):
        afwMath.binImage(image, 2, afwMath.MEANCLIP)
    with pytest.raises(ValueError, match="must be > 0"):
        afwMath.binImage(image, 0)
    with pytest.raises(ValueError, match="must be > 0"):
        afwMath.binImage(image, 2, -1)
    with pytest.raises(TypeError, match="Mask"):
        afwMath.binImage(Mask(8, 8), 2)  # type: ignore[type-var]


def test_bin_large_image_is_vectorised() -> None:
    rng = np.random.default_rng(0)
    pixels = rng.normal(1000, 10, (4000, 4072)).astype(np.float32)
    binned = afwMath.binImage(ImageF(pixels), 8)
    assert binned.array.shape == (500, 509)
    expected = pixels[:, : 509 * 8].astype(np.float64).reshape(500, 8, 509, 8).mean(axis=(1, 3))
    np.testing.assert_allclose(binned.array, expected, rtol=1e-6)
    np.testing.assert_array_equal(
        binned.array[123:125, 400:403], naive_bin(pixels[984:1000, 3200:3224], 8, 8)
    )


# --------------------------------------------------------------------------
# rotateImageBy90 and flipImage
# --------------------------------------------------------------------------
def afw_rotate_loop(array: np.ndarray, n_quarter: int) -> np.ndarray:
    """afw's rotation loops (lsst/afw src/math/rotateImage.cc, rotateImageBy90), written out."""
    height, width = array.shape
    turns = n_quarter % 4
    if turns == 0:
        return array.copy()
    shape = (width, height) if turns % 2 else (height, width)
    out = np.zeros(shape, dtype=array.dtype)
    for y in range(height):
        for x in range(width):
            if turns == 1:
                out[x, height - 1 - y] = array[y, x]
            elif turns == 2:
                out[height - 1 - y, width - 1 - x] = array[y, x]
            else:
                out[width - 1 - x, y] = array[y, x]
    return out


def afw_flip_loop(array: np.ndarray, flip_lr: bool, flip_tb: bool) -> np.ndarray:
    height, width = array.shape
    out = np.zeros_like(array)
    for y in range(height):
        for x in range(width):
            out[height - 1 - y if flip_tb else y, width - 1 - x if flip_lr else x] = array[y, x]
    return out


def small_masked_image() -> MaskedImageF:
    pixels = np.arange(15, dtype=np.float32).reshape(3, 5) * 1.5
    planes = MaskPlaneDict({"BAD": 0, "NO_DATA": 9})
    mask = Mask((np.arange(15, dtype=np.int32).reshape(3, 5) % 4) * 3, planeDict=planes)
    mi = MaskedImageF(ImageF(pixels), mask=mask, variance=ImageF(pixels + 100))
    mi.setXY0(Point2I(7, 9))
    return mi


@pytest.mark.parametrize("n_quarter", [-5, -1, 0, 1, 2, 3, 4, 6, 7])
def test_rotate_image_by_90_matches_afw_loops(n_quarter: int) -> None:
    mi = small_masked_image()
    original = mi.clone()
    expected_xy0 = Point2I(7, 9) if n_quarter % 4 == 0 else Point2I(0, 0)

    image = afwMath.rotateImageBy90(mi.image, n_quarter)
    assert isinstance(image, ImageF)
    np.testing.assert_array_equal(image.array, afw_rotate_loop(mi.image.array, n_quarter))
    assert image.getXY0() == expected_xy0

    mask = afwMath.rotateImageBy90(mi.mask, n_quarter)
    assert isinstance(mask, Mask)
    np.testing.assert_array_equal(mask.array, afw_rotate_loop(mi.mask.array, n_quarter))
    assert mask.planeDict is mi.mask.planeDict
    assert mask.getXY0() == expected_xy0

    rotated = afwMath.rotateImageBy90(mi, n_quarter)
    assert isinstance(rotated, MaskedImageF)
    for plane in ("image", "mask", "variance"):
        np.testing.assert_array_equal(
            getattr(rotated, plane).array, afw_rotate_loop(getattr(mi, plane).array, n_quarter)
        )
    assert rotated.getXY0() == expected_xy0
    assert rotated.getDimensions() == (Extent2I(3, 5) if n_quarter % 2 else Extent2I(5, 3))

    # A new image: writing to it leaves the input alone.
    rotated.image.array[...] = -1
    rotated.mask.array[...] = 1
    np.testing.assert_array_equal(mi.image.array, original.image.array)
    np.testing.assert_array_equal(mi.mask.array, original.mask.array)


def test_rotation_is_counter_clockwise_with_y_up() -> None:
    # With y up, pixel (x, y) = (2, 0) is the bottom-right corner; a
    # counter-clockwise quarter turn takes it to the top-right, (2, 2).
    image = ImageF(3, 3)
    image[2, 0] = 1.0
    rotated = afwMath.rotateImageBy90(image, 1)
    assert rotated[2, 2] == 1.0
    assert rotated.array.sum() == 1.0


def test_rotate_single_pixel_is_a_copy() -> None:
    image = ImageF(np.array([[4.0]], dtype=np.float32))
    rotated = afwMath.rotateImageBy90(image, 1)
    rotated.array[0, 0] = 0.0
    assert image.array[0, 0] == 4.0


@pytest.mark.parametrize(("flip_lr", "flip_tb"), [(False, False), (True, False), (False, True), (True, True)])
def test_flip_image_matches_afw_loops(flip_lr: bool, flip_tb: bool) -> None:
    mi = small_masked_image()
    flipped = afwMath.flipImage(mi, flip_lr, flip_tb)
    for plane in ("image", "mask", "variance"):
        np.testing.assert_array_equal(
            getattr(flipped, plane).array, afw_flip_loop(getattr(mi, plane).array, flip_lr, flip_tb)
        )
    assert flipped.getXY0() == Point2I(7, 9)
    assert flipped.mask.planeDict is mi.mask.planeDict
    single = afwMath.flipImage(mi.image, flip_lr, flip_tb)
    np.testing.assert_array_equal(single.array, afw_flip_loop(mi.image.array, flip_lr, flip_tb))
    single.array[...] = 0  # never a view of the input
    assert mi.image.array.any()


def test_rotate_rejects_bad_input() -> None:
    with pytest.raises(TypeError, match="nQuarter"):
        afwMath.rotateImageBy90(ImageF(2, 2), 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ndarray"):
        afwMath.rotateImageBy90(np.zeros((2, 2)), 1)  # type: ignore[type-var]
