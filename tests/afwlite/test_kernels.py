"""The compiled kernels against the numpy formulations they replaced.

Each expectation below is written independently of the kernels, with plain
whole-array numpy in afw's order of operations (the code the library ran
before the kernels); the kernels must agree bit for bit, NaN included.
"""

from __future__ import annotations

import numpy as np
import pytest

from lsst.sky.correction.afwlite.image import ImageD, ImageF, Mask, MaskedImageF
from lsst.sky.correction.afwlite.math import binImage
from lsst.sky.correction.afwlite.math._kernels import blockOr, blockSum, evaluatePieces
from lsst.sky.correction.afwlite.math._piecewise import fitPiecewise
from lsst.sky.correction.sky_correction import _blockAnyBits

# Independent expectations (the numpy formulations the kernels replaced) ----------------------------


def _numpyHorner(coeffs: tuple[np.ndarray, ...], piece: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``((c3[piece] t + c2[piece]) t + c1[piece]) t + c0[piece]`` with one numpy op per step."""
    value = np.take(coeffs[-1], piece, axis=1)
    for coefficient in reversed(coeffs[:-1]):
        value = value * t
        value = value + np.take(coefficient, piece, axis=1)
    return value


def _numpyBlockSum(array: np.ndarray, binX: int, binY: int) -> np.ndarray:
    """afw's order: each block row left to right, then the row sums top to bottom onto zero."""
    outHeight, outWidth = array.shape[0] // binY, array.shape[1] // binX
    blocks = array[: outHeight * binY, : outWidth * binX].reshape(outHeight, binY, outWidth, binX)
    rowSums = blocks[:, :, :, 0].copy()
    for dx in range(1, binX):
        rowSums += blocks[:, :, :, dx]
    total = np.zeros((outHeight, outWidth), dtype=array.dtype)
    for dy in range(binY):
        total += rowSums[:, dy, :]
    return total


def _numpyBlockOr(array: np.ndarray, binX: int, binY: int) -> np.ndarray:
    outHeight, outWidth = array.shape[0] // binY, array.shape[1] // binX
    blocks = array[: outHeight * binY, : outWidth * binX].reshape(outHeight, binY, outWidth, binX)
    return np.bitwise_or.reduce(np.bitwise_or.reduce(blocks, axis=3), axis=1)


def _numpyBlockAny(flags: np.ndarray, binning: int) -> np.ndarray:
    height, width = flags.shape[0] // binning, flags.shape[1] // binning
    blocks = flags[: height * binning, : width * binning].reshape(height, binning, width, binning)
    return blocks.any(axis=(1, 3))


# evaluatePieces -----------------------------------------------------------------------------------


@pytest.mark.parametrize("nterms", [1, 2, 4])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_evaluate_pieces_matches_numpy_horner(nterms: int, dtype: type) -> None:
    rng = np.random.default_rng(nterms)
    ncurves, npieces, npositions = 7, 9, 301
    coeffs = tuple(rng.normal(scale=10.0 ** (2 - j), size=(ncurves, npieces)) for j in range(nterms))
    coeffs[0][2, 3] = np.nan  # a NaN piece spoils only the positions on that piece of that curve
    coeffs[-1][4, 0] = np.inf
    piece = rng.integers(0, npieces, size=npositions)
    piece[:3] = [0, npieces - 1, 3]  # both ends of the piece table
    t = rng.uniform(-40.0, 40.0, size=npositions)
    out = np.empty((ncurves, npositions), dtype=dtype)
    evaluatePieces(np.stack(coeffs), piece, t, out)
    expected = _numpyHorner(coeffs, piece, t).astype(dtype)
    np.testing.assert_array_equal(out, expected)
    assert np.isnan(out[2, piece == 3]).all()
    assert not np.isnan(out[2, piece != 3]).any()


def test_evaluate_pieces_cubic_analytic() -> None:
    """A cubic with known coefficients on one piece: exact values at integer offsets."""
    coeffs = np.array([[[1.0]], [[-2.0]], [[0.5]], [[3.0]]])  # 1 - 2t + 0.5t^2 + 3t^3
    t = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    out = np.empty((1, t.size))
    evaluatePieces(coeffs, np.zeros(t.size, dtype=np.intp), t, out)
    np.testing.assert_array_equal(out[0], 1 - 2 * t + 0.5 * t**2 + 3 * t**3)


@pytest.mark.parametrize("kind", ["constant", "linear", "cspline", "akima"])
def test_piecewise_evaluate_matches_numpy_horner(kind: str) -> None:
    """`PiecewisePolynomials.evaluate`, inside and beyond the nodes, float32 and float64 outputs."""
    rng = np.random.default_rng(3)
    nodes = np.cumsum(rng.uniform(20.0, 80.0, size=8))
    values = rng.normal(100.0, 5.0, size=(5, nodes.size))
    values[1, 4] = np.nan  # NaN propagates through a spline row as in GSL
    curves = fitPiecewise(kind, nodes, values)
    x = np.arange(nodes[0] - 50.0, nodes[-1] + 50.0, 0.75)
    x = np.concatenate((x, nodes))  # the nodes themselves, the last one on the last segment
    piece, t = curves.locate(x)
    expected = _numpyHorner(curves.coeffs, piece, t)
    np.testing.assert_array_equal(curves.evaluate(x), expected)
    out32 = np.empty((5, x.size), dtype=np.float32)
    curves.evaluate(x, out=out32)
    np.testing.assert_array_equal(out32, expected.astype(np.float32))


# blockSum, blockOr and binImage -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("binX", "binY"), [(1, 1), (3, 2), (4, 4), (7, 5)])
def test_block_sum_matches_afw_order(dtype: type, binX: int, binY: int) -> None:
    rng = np.random.default_rng(binX * 10 + binY)
    # Values spanning many magnitudes, so that the order of the float32 sums shows.
    array = (rng.normal(size=(23, 31)) * 10.0 ** rng.integers(-3, 6, size=(23, 31))).astype(dtype)
    array[4, 5] = np.nan  # one NaN makes its block NaN
    array[10, 0] = -0.0
    np.testing.assert_array_equal(blockSum(array, binX, binY), _numpyBlockSum(array, binX, binY))


def test_block_sum_edges_dropped_and_empty() -> None:
    array = np.arange(30, dtype=np.float32).reshape(5, 6)
    # 4 x 4 blocks: one block, rows 4 and columns 4-5 dropped.
    np.testing.assert_array_equal(blockSum(array, 4, 4), [[np.sum(array[:4, :4])]])
    assert blockSum(array, 7, 2).shape == (2, 0)
    assert blockSum(array, 2, 6).shape == (0, 3)


def test_block_or_matches_numpy() -> None:
    rng = np.random.default_rng(5)
    mask = (1 << rng.integers(0, 31, size=(19, 26))).astype(np.int32)
    mask[rng.uniform(size=mask.shape) < 0.5] = 0
    mask[0, 0] = np.int32(-(2**31))  # the sign bit survives
    for binX, binY in [(1, 1), (2, 3), (5, 4), (26, 19)]:
        np.testing.assert_array_equal(blockOr(mask, binX, binY), _numpyBlockOr(mask, binX, binY))


def test_block_any_bits_flags_blocks_with_the_bit() -> None:
    mask = np.zeros((9, 10), dtype=np.int32)
    mask[0, 0] = 0b100  # the bit in block (0, 0)
    mask[4, 7] = 0b010  # another bit only: block (1, 2) stays clear
    mask[8, 9] = 0b100  # in the dropped remainder row and column
    mask[5, 3] = 0b110
    flags = _blockAnyBits(mask, 0b100, 4)
    np.testing.assert_array_equal(flags, _numpyBlockAny((mask & 0b100) != 0, 4))
    np.testing.assert_array_equal(flags, [[True, False], [True, False]])


def test_bin_image_all_types_match_numpy() -> None:
    rng = np.random.default_rng(8)
    pixels = rng.normal(1000.0, 30.0, size=(20, 27)).astype(np.float32)
    pixels[3, 3] = np.nan
    binned = binImage(ImageF(pixels), 4, 3)
    np.testing.assert_array_equal(binned.array, _numpyBlockSum(pixels, 4, 3) / np.float32(12))
    binnedD = binImage(ImageD(pixels.astype(np.float64)), 4)
    np.testing.assert_array_equal(binnedD.array, _numpyBlockSum(pixels.astype(np.float64), 4, 4) / 16.0)
    mask = (rng.uniform(size=pixels.shape) < 0.1).astype(np.int32) << 3
    masked = MaskedImageF(ImageF(pixels), mask=Mask(mask), variance=ImageF(pixels * 2))
    binnedMasked = binImage(masked, 3)
    np.testing.assert_array_equal(binnedMasked.mask.array, _numpyBlockOr(mask, 3, 3))
    np.testing.assert_array_equal(
        binnedMasked.variance.array, _numpyBlockSum(pixels * 2, 3, 3) / np.float32(81)
    )
