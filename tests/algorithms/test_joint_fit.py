"""The joint focal-plane model and its solver (`lsst.sky.correction.joint_fit`).

Expectations are independent of the module: analytic truth built here, a
dense KKT solve of the same constrained least squares written out in numpy,
and numpy block means for the binned statistics.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from lsst.sky.correction.afwlite.cameraGeom import FOCAL_PLANE, Camera, Detector, Orientation, degrees
from lsst.sky.correction.afwlite.geom import Box2I, Extent2D, Extent2I, Point2D, Point2I
from lsst.sky.correction.afwlite.image import ImageF, Mask, MaskedImageF
from lsst.sky.correction.afwlite.math import Interpolate
from lsst.sky.correction.joint_fit import (
    ChebyshevBasis,
    DetectorBins,
    JointFitConfig,
    binCentres,
    fitJointModel,
    measureDetectorBins,
    pistonBackground,
    pistonConstraints,
    smoothModelBackground,
    solveWithPistons,
)

PIXEL_MM = 0.01
WIDTH, HEIGHT = 256, 192
BIN = 32


def grid_camera(columns: int = 4, rows: int = 3) -> Camera:
    """Detectors on a grid, rotated in turn by 0, 90, 180 and 270 degrees."""
    pitch = WIDTH * PIXEL_MM + 0.2
    centre = Point2D((WIDTH - 1) / 2, (HEIGHT - 1) / 2)
    return Camera(
        "Grid",
        [
            Detector(
                f"D{index}",
                index,
                bbox=Box2I(Point2I(0, 0), Extent2I(WIDTH, HEIGHT)),
                orientation=Orientation(
                    ((index % columns - 1.5) * pitch, (index // columns - 1.0) * pitch, 0.0),
                    centre,
                    90.0 * (index % 4) * degrees,
                ),
                pixelSize=Extent2D(PIXEL_MM, PIXEL_MM),
            )
            for index in range(columns * rows)
        ],
    )


CAMERA = grid_camera()


def centres(camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    points = [detector.getCenter(FOCAL_PLANE) for detector in camera]
    return np.array([p.getX() for p in points]), np.array([p.getY() for p in points])


def synthetic_bins(
    values: Any, sky: Any, camera: Camera = CAMERA, error: float = 0.1, count: float = 1000.0
) -> list[DetectorBins]:
    """Bins on the real grid geometry whose values are ``values(detectorIndex, fpX, fpY)``."""
    bins = []
    for index, detector in enumerate(camera):
        nx, ny = WIDTH // BIN, HEIGHT // BIN
        fpX, fpY = binCentres(detector, detector.getBBox(), nx, ny)
        frame = sky(index, fpX, fpY)
        bins.append(
            DetectorBins(
                detectorId=detector.getId(),
                values=values(index, fpX, fpY, frame),
                errors=np.full(fpX.size, error),
                counts=np.full(fpX.size, count),
                areas=np.full(fpX.size, float(BIN * BIN)),
                focalPlaneX=fpX,
                focalPlaneY=fpY,
                skyFrame=frame,
                shape=(ny, nx),
            )
        )
    return bins


def sky_pattern(index: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A fringe-like pattern, different on each detector (as a sky frame is)."""
    return 3.0 * np.sin(4.0 * x + index) * np.cos(3.0 * y - 0.5 * index) + 0.2 * index


def joint_config(**overrides: Any) -> JointFitConfig:
    config = JointFitConfig()
    config.order = 3
    for name, value in overrides.items():
        setattr(config, name, value)
    config.validate()
    return config


def constrained(pistons: np.ndarray, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``pistons`` less their ``weights``-weighted least-squares fit by the rows' terms.

    What remains is orthogonal to every row under the weights (``C p = 0``
    with ``C = rows * weights``): the part of the pistons no constant or
    tilt over the detector centres can explain.
    """
    weighted = rows * weights[np.newaxis, :]
    return pistons - rows.T @ np.linalg.solve(weighted @ rows.T, weighted @ pistons)


# The basis --------------------------------------------------------------------------------------------


def test_chebyshev_basis_terms_match_numpy() -> None:
    basis = ChebyshevBasis(3, -2.0, 6.0, -1.0, 3.0)
    assert len(basis) == 10
    assert basis.terms[:3] == [(0, 0), (1, 0), (0, 1)]
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-2, 6, 50), rng.uniform(-1, 3, 50)
    u, v = (x - 2.0) / 4.0, (y - 1.0) / 2.0
    design = basis.design(x, y)
    for k, (i, j) in enumerate(basis.terms):
        expected = np.polynomial.chebyshev.chebval(u, [0] * i + [1]) * np.polynomial.chebyshev.chebval(
            v, [0] * j + [1]
        )
        np.testing.assert_allclose(design[:, k], expected, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="order"):
        ChebyshevBasis(-1, 0, 1, 0, 1)
    with pytest.raises(ValueError, match="empty box"):
        ChebyshevBasis(1, 0, 0, 0, 1)


# The solver ----------------------------------------------------------------------------------------------


def dense_kkt(
    design: np.ndarray,
    detectorIndex: np.ndarray,
    nDetectors: int,
    weights: np.ndarray,
    values: np.ndarray,
    constraints: np.ndarray,
    priorPrecision: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The same problem solved densely: pistons as indicator columns, constraints by a full KKT system."""
    indicator = np.zeros((values.size, nDetectors))
    indicator[np.arange(values.size), detectorIndex] = 1.0
    full = np.concatenate([design, indicator], axis=1)
    normal = full.T @ (weights[:, np.newaxis] * full)
    normal[design.shape[1] :, design.shape[1] :] += priorPrecision * np.eye(nDetectors)
    padded = np.concatenate([np.zeros((constraints.shape[0], design.shape[1])), constraints], axis=1)
    kkt = np.block([[normal, padded.T], [padded, np.zeros((padded.shape[0], padded.shape[0]))]])
    rhs = np.concatenate([full.T @ (weights * values), np.zeros(padded.shape[0])])
    solution = np.linalg.solve(kkt, rhs)
    return solution[: design.shape[1]], solution[design.shape[1] : design.shape[1] + nDetectors]


@pytest.mark.parametrize("priorPrecision", [0.0, 4.0])
def test_schur_solve_matches_a_dense_kkt_solve(priorPrecision: float) -> None:
    rng = np.random.default_rng(4)
    nDetectors, perDetector = 9, 40
    detectorIndex = np.repeat(np.arange(nDetectors), perDetector)
    basis = ChebyshevBasis(2, -5, 5, -5, 5)
    cx, cy = rng.uniform(-4, 4, nDetectors), rng.uniform(-4, 4, nDetectors)
    x = cx[detectorIndex] + rng.uniform(-0.5, 0.5, detectorIndex.size)
    y = cy[detectorIndex] + rng.uniform(-0.5, 0.5, detectorIndex.size)
    design = np.concatenate([basis.design(x, y), rng.normal(size=(x.size, 1))], axis=1)
    weights = rng.uniform(0.5, 2.0, x.size)
    weights[:25] = 0.0  # some bins left out
    values = rng.normal(100.0, 3.0, x.size)
    constraints = pistonConstraints(basis, cx, cy) * rng.uniform(0.5, 1.0, nDetectors)
    got = solveWithPistons(design, detectorIndex, nDetectors, weights, values, constraints, priorPrecision)
    expected = dense_kkt(design, detectorIndex, nDetectors, weights, values, constraints, priorPrecision)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-9, atol=1e-9)


def test_detector_without_data_or_prior_has_no_piston() -> None:
    detectorIndex = np.repeat(np.arange(3), 5)
    design = np.ones((15, 1))
    weights = np.ones(15)
    weights[5:10] = 0.0  # detector 1 has no usable bin
    values = np.r_[np.full(5, 1.0), np.full(5, np.nan), np.full(5, 3.0)]
    values[5:10] = 0.0
    globals_, pistons = solveWithPistons(design, detectorIndex, 3, weights, values, np.ones((1, 3)), 0.0)
    assert pistons[1] == 0.0
    assert globals_[0] == pytest.approx(2.0)
    np.testing.assert_allclose(pistons[[0, 2]], [-1.0, 1.0], atol=1e-12)


# Analytic truth -----------------------------------------------------------------------------------------


def test_noise_free_polynomial_scaled_frame_and_pistons_are_recovered_exactly() -> None:
    config = joint_config(doPistons=True)
    basis = ChebyshevBasis.fromCamera(config.order, CAMERA)
    rng = np.random.default_rng(7)
    coefficients = rng.normal(0.0, 20.0, len(basis))
    coefficients[0] = 1000.0
    scale = 4.2
    cx, cy = centres(CAMERA)
    rows = pistonConstraints(basis, cx, cy)
    pistons = constrained(rng.normal(0.0, 5.0, len(CAMERA)), np.ones(len(CAMERA)), rows)

    def values(index: int, x: np.ndarray, y: np.ndarray, frame: np.ndarray) -> np.ndarray:
        return basis.evaluate(coefficients, x, y) + scale * frame + pistons[index]

    result = fitJointModel(
        synthetic_bins(values, sky_pattern), basis, config, useSkyFrame=True, centres=(cx, cy)
    )
    np.testing.assert_allclose(result.coefficients, coefficients, rtol=1e-8, atol=1e-8 * 1000.0)
    assert result.skyScale == pytest.approx(scale, rel=1e-8)
    np.testing.assert_allclose(result.pistons, pistons, rtol=0, atol=1e-8 * 1000.0)
    assert result.chi2 == pytest.approx(0.0, abs=1e-10)
    assert all(used.all() for used in result.used)
    assert result.pistonRms == pytest.approx(np.sqrt(np.mean(pistons**2)), rel=1e-8)


def test_pistons_obey_the_constraint_and_leave_constant_and_tilt_to_the_polynomial() -> None:
    config = joint_config(doPistons=True, order=2)
    basis = ChebyshevBasis.fromCamera(config.order, CAMERA)
    cx, cy = centres(CAMERA)
    u, v = basis.scaled(cx, cy)
    rng = np.random.default_rng(11)
    tilt = 50.0 + 8.0 * u - 5.0 * v
    pedestals = tilt + rng.normal(0.0, 2.0, len(CAMERA))
    counts = rng.uniform(500.0, 1000.0, len(CAMERA))

    bins = synthetic_bins(lambda i, x, y, f: np.full(x.size, 700.0 + pedestals[i]), sky_pattern)
    for entry, count in zip(bins, counts, strict=True):
        entry.counts[:] = count
    result = fitJointModel(bins, basis, config, useSkyFrame=False, centres=(cx, cy))
    perDetectorPixels = counts * bins[0].values.size
    rows = pistonConstraints(basis, cx, cy)
    # The constraint holds exactly: to rounding of sums of the data's size (~750 counts).
    np.testing.assert_allclose(
        rows @ (perDetectorPixels * result.pistons), 0.0, atol=1e-12 * perDetectorPixels.sum() * 750.0
    )
    assert np.std(result.pistons) > 1.0  # the scatter went to the pistons

    # Pedestals that are exactly a constant plus a tilt over the detector centres (equal
    # pixel counts): nothing for the pistons, everything for the polynomial.  (With order 1:
    # higher orders may rightly use their curvature together with the pistons for such steps.)
    for constant, order in ((tilt, 1), (np.full(len(CAMERA), 123.0), 2)):
        fitted = fitJointModel(
            synthetic_bins(lambda i, x, y, f, c=constant: np.full(x.size, c[i]), sky_pattern),
            ChebyshevBasis.fromCamera(order, CAMERA),
            joint_config(doPistons=True, order=order),
            useSkyFrame=False,
            centres=(cx, cy),
        )
        np.testing.assert_allclose(fitted.pistons, 0.0, atol=1e-9)
    assert fitted.coefficients[0] == pytest.approx(123.0, rel=1e-12)
    np.testing.assert_allclose(fitted.coefficients[1:], 0.0, atol=1e-9)


def galaxy_bins(rng: np.random.Generator, target: int, amplitude: float, noise: float) -> list[DetectorBins]:
    """A gradient sky with small pedestals, plus a broad positive blob over all of ``target``."""
    pedestals = rng.normal(0.0, 0.3, len(CAMERA))
    centre = CAMERA[target].getCenter(FOCAL_PLANE)

    def values(index: int, x: np.ndarray, y: np.ndarray, frame: np.ndarray) -> np.ndarray:
        blob = amplitude * np.exp(-((x - centre.getX()) ** 2 + (y - centre.getY()) ** 2) / (2 * 1.5**2))
        sky = 500.0 + 3.0 * x - 2.0 * y + 2.0 * frame + pedestals[index]
        return sky + blob * (index == target) + rng.normal(0.0, noise, x.size)

    return synthetic_bins(values, sky_pattern, error=noise)


def test_galaxy_over_a_whole_detector_stays_out_of_its_piston_with_the_prior() -> None:
    rng = np.random.default_rng(5)
    target, amplitude, noise, prior = 5, 40.0, 0.1, 0.5
    bins = galaxy_bins(rng, target, amplitude, noise)
    # The blob covers the whole detector: even its faintest bin is far above the noise.
    assert min(b.values.min() for b in bins[target : target + 1]) > 0
    basis = ChebyshevBasis.fromCamera(2, CAMERA)
    cx, cy = centres(CAMERA)
    withPrior = joint_config(order=2, doPistons=True, pistonPriorSigma=prior)
    result = fitJointModel(bins, basis, withPrior, useSkyFrame=True, centres=(cx, cy))
    # The prior's allowance: clipHigh x (prior width + bin noise, with the clipping's spread).
    allowance = withPrior.clipHigh * (prior + 3.0 * noise)
    assert abs(result.pistons[target]) < allowance
    assert result.skyScale == pytest.approx(2.0, rel=0.01)
    assert not result.used[target].all()  # the blob's bins were clipped, not absorbed

    # Without the prior the piston takes the blob (Rubin's unregularised pistons do too).
    unregularised = joint_config(order=2, doPistons=True)
    free = fitJointModel(bins, basis, unregularised, useSkyFrame=True, centres=(cx, cy))
    assert free.pistons[target] > 0.25 * amplitude


def test_clipping_is_asymmetric() -> None:
    rng = np.random.default_rng(2)
    noise = 0.1
    outliers = [(0, 3, +8.0), (1, 4, -8.0), (2, 7, +0.45), (3, 8, -0.45)]

    def values(index: int, x: np.ndarray, y: np.ndarray, frame: np.ndarray) -> np.ndarray:
        result = 200.0 + x + rng.normal(0.0, noise, x.size)
        for detector, binIndex, excess in outliers:
            if detector == index:
                result[binIndex] = 200.0 + x[binIndex] + excess  # exactly that many sigmas out
        return result

    bins = synthetic_bins(values, sky_pattern, error=noise)
    config = joint_config(order=1, clipHigh=3.0, clipLow=5.0, systematicFloor=0.0)
    result = fitJointModel(bins, ChebyshevBasis.fromCamera(1, CAMERA), config, useSkyFrame=False)
    assert not result.used[0][3] and not result.used[1][4]  # large outliers either side go
    assert not result.used[2][7]  # +4.5 sigma: above clipHigh
    assert result.used[3][8]  # -4.5 sigma: within clipLow
    assert float(result.smoothModel(np.array(0.0), np.array(0.0))) == pytest.approx(200.0, abs=0.02)


def test_too_few_usable_bins_raises() -> None:
    bins = synthetic_bins(lambda i, x, y, f: np.full(x.size, np.nan), sky_pattern)
    with pytest.raises(ValueError, match="usable bins"):
        fitJointModel(bins, ChebyshevBasis.fromCamera(2, CAMERA), joint_config(), useSkyFrame=True)


def test_config_validation() -> None:
    for name, value in (("binSize", 0), ("order", -1), ("clipHigh", 0.0), ("pistonPriorSigma", -1.0)):
        config = JointFitConfig()
        setattr(config, name, value)
        with pytest.raises(Exception, match=name):
            config.validate()


# Binned statistics and skyCorr elements ----------------------------------------------------------------


def test_detector_bins_match_numpy_block_means() -> None:
    detector = CAMERA[1]
    bbox = detector.getBBox()
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    image = MaskedImageF(ImageF((100.0 + 0.5 * x - 0.25 * y).astype(np.float32)), Mask(bbox))
    bad = image.mask.getPlaneBitMask("BAD")
    image.mask.array[:32, :32] = bad  # bin (0, 0) wholly masked
    image.mask.array[32:48, 32:64] = bad  # half of bin (1, 1) masked
    image.image.array[100, 200] = np.nan  # ignored (NaN-safe)
    sky = ImageF((np.sin(x / 20.0) + y / 100.0).astype(np.float32))
    bins = measureDetectorBins(image, detector, bad, BIN, sky)

    assert bins.shape == (HEIGHT // BIN, WIDTH // BIN)
    usable = ((image.mask.array & bad) == 0) & np.isfinite(image.image.array)

    def blocks(array: np.ndarray) -> np.ndarray:
        return (
            array.reshape(HEIGHT // BIN, BIN, WIDTH // BIN, BIN).transpose(0, 2, 1, 3).reshape(-1, BIN * BIN)
        )

    count = blocks(usable).sum(axis=1)
    np.testing.assert_array_equal(bins.counts, count)
    with np.errstate(invalid="ignore"):
        imageMean = np.nansum(blocks(np.where(usable, image.image.array, 0.0)), axis=1) / count
        skyMean = blocks(np.where(usable, sky.array, 0.0)).sum(axis=1) / count
    # A linear ramp inside a bin loses no pixel to 3-sigma clipping: the clipped mean is the mean.
    np.testing.assert_allclose(bins.values, imageMean, rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(bins.skyFrame, skyMean, rtol=1e-5, atol=1e-6, equal_nan=True)
    assert np.isnan(bins.values[0]) and bins.counts[0] == 0
    np.testing.assert_array_equal(bins.areas, BIN * BIN)
    fpX, fpY = binCentres(detector, bbox, WIDTH // BIN, HEIGHT // BIN)
    np.testing.assert_array_equal(bins.focalPlaneX, fpX)
    # Bin centres are afw's: the first bin's centre is pixel (15.5, 15.5).
    from lsst.sky.correction.afwlite.cameraGeom import PIXELS

    first = detector.getTransform(PIXELS, FOCAL_PLANE).applyForward((np.array([15.5]), np.array([15.5])))
    assert (fpX[0], fpY[0]) == pytest.approx((first[0][0], first[1][0]))


def test_model_elements_evaluate_the_polynomial_and_the_piston() -> None:
    basis = ChebyshevBasis.fromCamera(2, CAMERA)
    bins = synthetic_bins(lambda i, x, y, f: 300.0 + 4.0 * x + 2.0 * y, sky_pattern)
    result = fitJointModel(bins, basis, joint_config(order=2), useSkyFrame=False)
    detector = CAMERA[2]
    bbox = detector.getBBox()
    element = smoothModelBackground(result, detector, bbox, BIN)[0]
    assert element[1] == Interpolate.AKIMA_SPLINE
    background = element[0]
    image = background.getImageF(element[1], element[2]).array
    # At the nodes the interpolated image is the polynomial; a plane is interpolated exactly.
    from lsst.sky.correction.afwlite.cameraGeom import PIXELS

    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    fp = detector.getTransform(PIXELS, FOCAL_PLANE).applyForward(
        (x.ravel().astype(float), y.ravel().astype(float))
    )
    expected = (300.0 + 4.0 * fp[0] + 2.0 * fp[1]).reshape(HEIGHT, WIDTH)
    np.testing.assert_allclose(image, expected, rtol=0, atol=1e-3)

    piston = pistonBackground(-2.5, bbox)[0]
    assert piston[1] == Interpolate.CONSTANT
    np.testing.assert_array_equal(piston[0].getImageF(piston[1], piston[2]).array, np.float32(-2.5))
