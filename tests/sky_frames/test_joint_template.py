"""The joint template fit against synthetic exposures made from a known template.

The exposures are ``a_e T + P_e + p_{e,d}`` built here from chosen parts
that already obey the fit's conventions (T orthogonal to the smooth basis,
each detector's pistons orthogonal to the amplitudes and each exposure's
pistons summing to zero, amplitudes averaging 1), so that the fit must give
back those very parts.
"""

from __future__ import annotations

import numpy as np
import pytest

from lsst.sky.correction.joint_fit import ChebyshevBasis
from lsst.sky.correction.sky_frames.joint_template import fitJointTemplate

N_EXPOSURES = 12


def layout() -> tuple[np.ndarray, np.ndarray]:
    """Four detectors of 8 x 10 bins in a 2 x 2 focal plane: the smooth design and detector indices."""
    xs, ys, detectors = [], [], []
    for detector, (x0, y0) in enumerate([(0.0, 0.0), (11.0, 0.0), (0.0, 9.0), (11.0, 9.0)]):
        yy, xx = np.mgrid[0:8, 0:10].astype(float)
        xs.append(x0 + xx.ravel())
        ys.append(y0 + yy.ravel())
        detectors.append(np.full(80, detector))
    x, y = np.concatenate(xs), np.concatenate(ys)
    basis = ChebyshevBasis(2, x.min(), x.max(), y.min(), y.max())
    return basis.design(x, y), np.concatenate(detectors)


def truth(rng: np.random.Generator) -> dict[str, np.ndarray]:
    design, detectorIndex = layout()
    template = rng.normal(0.0, 0.01, design.shape[0]) + 0.02 * (
        detectorIndex == 1
    )  # a sky-proportional offset
    template -= design @ np.linalg.lstsq(design, template, rcond=None)[0]
    amplitudes = rng.uniform(0.7, 1.3, N_EXPOSURES)
    amplitudes /= amplitudes.mean()
    pistons = rng.normal(0.0, 0.01, (N_EXPOSURES, 4))
    pistons -= pistons.mean(axis=1, keepdims=True)  # equal bins per detector: the bin sum is the mean
    pistons -= np.outer(amplitudes, amplitudes @ pistons) / (amplitudes @ amplitudes)
    coefficients = rng.normal(0.0, 0.05, (N_EXPOSURES, design.shape[1]))
    coefficients[:, 0] += 1.0 / design[0, 0]  # a level of about 1
    values = np.outer(amplitudes, template) + coefficients @ design.T + pistons[:, detectorIndex]
    return {
        "design": design,
        "detectorIndex": detectorIndex,
        "template": template,
        "amplitudes": amplitudes,
        "pistons": pistons,
        "coefficients": coefficients,
        "values": values,
    }


def test_noise_free_exposures_give_back_every_part() -> None:
    parts = truth(np.random.default_rng(1))
    # The conventions hold for the chosen parts.
    assert np.allclose(parts["amplitudes"] @ parts["pistons"], 0.0, atol=1e-14)
    result = fitJointTemplate(parts["values"], parts["design"], parts["detectorIndex"])
    assert not result.rejected.any()
    assert np.allclose(result.template, parts["template"], rtol=0, atol=1e-9)
    assert np.allclose(result.amplitudes, parts["amplitudes"], rtol=0, atol=1e-9)
    assert np.allclose(result.pistons, parts["pistons"], rtol=0, atol=1e-9)
    assert np.allclose(result.smoothCoefficients, parts["coefficients"], rtol=0, atol=1e-9)
    assert np.all(result.fractionalRms < 1e-9)
    assert result.kept.all()


def test_template_is_found_up_to_the_smooth_basis_and_the_scale() -> None:
    """A template with smooth parts and a different scale: the fit gives its non-smooth part, rescaled."""
    parts = truth(np.random.default_rng(2))
    design, detectorIndex = parts["design"], parts["detectorIndex"]
    smooth = design @ np.array([0.3, 0.1, -0.2, 0.05, 0.0, 0.02])
    amplitudes = 2.5 * parts["amplitudes"]
    values = np.outer(amplitudes, 0.4 * parts["template"] + smooth) + parts["coefficients"] @ design.T
    values += parts["pistons"][:, detectorIndex]
    result = fitJointTemplate(values, design, detectorIndex)
    assert np.allclose(result.template, parts["template"], rtol=0, atol=1e-9)
    assert np.allclose(result.amplitudes, parts["amplitudes"], rtol=0, atol=1e-9)
    model = result.model(design, detectorIndex)
    assert np.allclose(model, values, rtol=0, atol=1e-9)


def test_noise_outliers_and_a_bad_exposure() -> None:
    rng = np.random.default_rng(3)
    parts = truth(rng)
    design, detectorIndex = parts["design"], parts["detectorIndex"]
    noise = 2e-4
    values = parts["values"] + rng.normal(0.0, noise, parts["values"].shape)
    outliers = rng.random(values.shape) < 0.02
    values[outliers] += rng.choice([-1.0, 1.0], outliers.sum()) * rng.uniform(0.05, 0.5, outliers.sum())
    # Exposure 5 carries a pattern of its own (scattered light, say): 2% RMS of the level.
    bad = 5
    values[bad] += rng.normal(0.0, 0.02, values.shape[1])
    result = fitJointTemplate(values, design, detectorIndex)

    assert np.flatnonzero(result.rejected).tolist() == [bad]
    good = ~result.rejected
    assert np.all(result.fractionalRms[good] < 0.005)
    assert result.fractionalRms[bad] > 0.005
    assert np.all(np.isnan(result.pistons[bad])) and np.isnan(result.amplitudes[bad])
    # Almost every outlier is clipped, and almost no good bin.
    assert (~result.kept[good] & outliers[good]).sum() >= 0.95 * outliers[good].sum()
    assert (~result.kept[good] & ~outliers[good]).sum() <= 0.01 * (~outliers[good]).sum()
    # The template of the good exposures: the truth up to the noise of 11 exposures, once the
    # conventions are applied over the accepted exposures only: the part of the pistons that follows
    # the amplitudes of those 11 is a sky-proportional offset, and their amplitudes average 1.
    amplitudes, pistons = parts["amplitudes"][good], parts["pistons"][good]
    expected = parts["template"] + ((amplitudes @ pistons) / (amplitudes @ amplitudes))[detectorIndex]
    expected -= design @ np.linalg.lstsq(design, expected, rcond=None)[0]
    scale = amplitudes.mean()
    expected *= scale
    assert np.sqrt(np.mean((result.template - expected) ** 2)) < 2.0 * noise / np.sqrt(good.sum()) * 1.5
    assert np.allclose(result.amplitudes[good], parts["amplitudes"][good] / scale, rtol=0, atol=0.01)


def test_missing_bins_and_an_empty_exposure() -> None:
    rng = np.random.default_rng(4)
    parts = truth(rng)
    design, detectorIndex = parts["design"], parts["detectorIndex"]
    values = parts["values"].copy()
    holes = rng.random(values.shape) < 0.1
    values[holes] = np.nan
    values[:, 7] = np.nan  # a bin with no value in any exposure
    values = np.vstack([values, np.full(values.shape[1], np.nan)])  # an exposure with no value
    result = fitJointTemplate(values, design, detectorIndex)

    assert np.flatnonzero(result.rejected).tolist() == [N_EXPOSURES]
    assert np.isnan(result.template[7])
    # The determined bins' template is orthogonal to the smooth basis over those bins, so the
    # truth's is rebased on them before comparing.
    determined = np.arange(design.shape[0]) != 7
    expected = parts["template"][determined]
    expected -= design[determined] @ np.linalg.lstsq(design[determined], expected, rcond=None)[0]
    assert np.allclose(result.template[determined], expected, rtol=0, atol=1e-9)
    model = result.model(design, detectorIndex)[:N_EXPOSURES]
    finite = np.isfinite(values[:N_EXPOSURES])
    assert np.allclose(model[finite], values[:N_EXPOSURES][finite], rtol=0, atol=1e-9)
    assert not result.kept[holes[:N_EXPOSURES].nonzero()].any()


def test_refuses_bad_inputs() -> None:
    design, detectorIndex = layout()
    values = np.ones((3, design.shape[0]))
    with pytest.raises(ValueError, match="exposures, bins"):
        fitJointTemplate(values[0], design, detectorIndex)
    with pytest.raises(ValueError, match="smooth design"):
        fitJointTemplate(values[:, :-1], design, detectorIndex)
    with pytest.raises(ValueError, match="constant column"):
        fitJointTemplate(values, design[:, 1:], detectorIndex)
    values[1:] = np.nan
    with pytest.raises(ValueError, match="two or more"):
        fitJointTemplate(values, design, detectorIndex)
