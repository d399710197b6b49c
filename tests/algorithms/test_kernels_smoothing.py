"""The compiled Gaussian smoothing against scipy's ``correlate1d`` formulation it replaced.

The expectation is the separable correlation as scipy computes it (a float64
line buffer per pass, the intermediate stored as float32), cropped to the
valid middle: the compiled kernel must reproduce it bit for bit, NaN
propagation and the image borders included.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from lsst.sky.correction._smoothing import (
    calculateKernelSize,
    gaussianKernel,
    smoothImage,
    smoothVariance,
)


def scipy_valid_middle(array: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """x then y ``correlate1d`` into float32, keeping only where the kernel fits."""
    half = len(kernel) // 2
    height, width = array.shape
    alongX = ndimage.correlate1d(array, kernel, axis=1, output=np.float32, mode="nearest")
    alongX = alongX[:, half : width - half]
    alongY = ndimage.correlate1d(alongX, kernel, axis=0, output=np.float32, mode="nearest")
    return alongY[half : height - half]


@pytest.mark.parametrize(
    ("sigma", "shape"),
    [(5.0, (97, 131)), (1.0, (40, 67)), (3.0, (60, 200)), (1.3, (20, 11)), (2.0, (15, 15)), (0.2, (3, 4))],
)
def test_smoothing_is_bitwise_scipy(sigma: float, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(7)
    kernel = gaussianKernel(sigma, calculateKernelSize(sigma, 7.0))
    image = rng.normal(1000.0, 30.0, shape).astype(np.float32)
    image[0, 0] = 1e30  # a corner pixel is read only by the first output pixels
    expected = scipy_valid_middle(image, kernel)
    got = smoothImage(image, kernel)
    assert got.dtype == np.float32
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    variance = rng.uniform(100.0, 2000.0, shape).astype(np.float32)
    np.testing.assert_array_equal(
        smoothVariance(variance, kernel), scipy_valid_middle(variance, kernel * kernel)
    )


def test_nan_spreads_over_the_kernel_footprint_only() -> None:
    kernel = gaussianKernel(2.0, calculateKernelSize(2.0, 7.0))
    half = len(kernel) // 2
    image = np.ones((60, 50), dtype=np.float32)
    image[30, 20] = np.nan
    image[0, 49] = np.nan  # on the border: reaches only the corner output pixel
    got = smoothImage(image, kernel)
    expected = scipy_valid_middle(image, kernel)
    np.testing.assert_array_equal(got, expected)
    nanRows, nanCols = np.nonzero(np.isnan(got))
    # Output (i, j) is centred on input (i + half, j + half).
    inner = (np.abs(nanRows + half - 30) <= half) & (np.abs(nanCols + half - 20) <= half)
    corner = (nanRows == 0) & (nanCols == got.shape[1] - 1)
    assert np.all(inner | corner)
    assert inner.sum() == (2 * half + 1) ** 2 and corner.sum() == 1
    assert np.all(got[~np.isnan(got)] == pytest.approx(1.0, abs=1e-6))


def test_non_contiguous_input_is_accepted_and_not_modified() -> None:
    rng = np.random.default_rng(3)
    kernel = gaussianKernel(1.5, calculateKernelSize(1.5, 7.0))
    base = rng.normal(0.0, 1.0, (40, 80)).astype(np.float32)
    view = base[:, ::2]
    before = base.copy()
    np.testing.assert_array_equal(
        smoothImage(view, kernel), scipy_valid_middle(np.ascontiguousarray(view), kernel)
    )
    np.testing.assert_array_equal(base, before)


def test_too_small_or_asymmetric_kernels_raise() -> None:
    kernel = gaussianKernel(2.0, 15)
    with pytest.raises(ValueError, match="too small"):
        smoothImage(np.zeros((14, 40), dtype=np.float32), kernel)
    with pytest.raises(TypeError, match="float32"):
        smoothImage(np.zeros((40, 40)), kernel)
    with pytest.raises(ValueError, match="symmetric"):
        smoothImage(np.zeros((40, 40), dtype=np.float32), np.array([0.2, 0.5, 0.3]))
