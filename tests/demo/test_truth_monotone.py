"""The planted truth falls exactly when objective image metrics say the image got worse."""

import numpy as np
import pytest

from demo.synthetic.degrade import (
    GRAY_LEVEL_CUTOFF,
    SHARPNESS_CUTOFF,
    ChestDegradation,
    chest_truth,
    degrade_chest,
    random_chest_degradation,
)
from demo.synthetic.metrics import gradient_retained, laplacian_variance, psnr
from demo.synthetic.phantoms import chest_phantom, chest_region_masks, random_chest_anatomy


@pytest.fixture(scope="module")
def phantom():
    anatomy = random_chest_anatomy(np.random.default_rng(11))
    return chest_phantom(anatomy), chest_region_masks(anatomy)


def _gray_metric(image, clean, masks):
    """Contrast left where Table 1 looks: the worse of lung fields and heart shadow."""
    return min(gradient_retained(image, clean, m) for m in masks.values())


@pytest.mark.parametrize(
    "name, values",
    [
        ("exposure_ev", [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]),
        ("exposure_ev", [0.0, -0.5, -1.0, -1.5, -2.0]),
        ("contrast", [1.0, 0.8, 0.6, 0.4, 0.25]),
        ("gamma", [1.0, 1.3, 1.7, 2.2]),
        ("gamma", [1.0, 0.8, 0.6, 0.4]),
    ],
)
def test_gray_level_truth_falls_with_retained_contrast(phantom, name, values):
    clean, masks = phantom
    truths, metrics = [], []
    for x in values:
        spec = ChestDegradation(**{name: x})
        truths.append(chest_truth(spec).gray_level)
        metrics.append(_gray_metric(degrade_chest(clean, spec), clean, masks))
    assert np.all(np.diff(truths) < 0)
    # Small exposure errors shift without clipping, so the metric may stay flat but never rise.
    assert np.all(np.diff(metrics) <= 1e-3)
    assert metrics[-1] < 0.8 * metrics[0]


@pytest.mark.parametrize(
    "name, values",
    [
        ("blur_sigma_px", [0.0, 0.5, 1.0, 2.0, 3.5]),
        ("motion_length_px", [0.0, 2.0, 5.0, 10.0, 15.0]),
    ],
)
def test_sharpness_truth_falls_with_laplacian_variance(phantom, name, values):
    clean, masks = phantom
    truths, metrics = [], []
    for x in values:
        spec = ChestDegradation(**{name: x}, motion_angle_deg=30.0)
        truths.append(chest_truth(spec).sharpness)
        metrics.append(laplacian_variance(degrade_chest(clean, spec), masks["lung"]))
    assert np.all(np.diff(truths) < 0)
    assert np.all(np.diff(metrics) < 0)


def test_sharpness_truth_falls_with_psnr_under_noise(phantom):
    clean, _ = phantom
    values = [0.0, 0.005, 0.01, 0.02, 0.04]
    truths = [chest_truth(ChestDegradation(noise_sigma=x)).sharpness for x in values]
    metrics = [psnr(degrade_chest(clean, ChestDegradation(noise_sigma=x)), clean) for x in values]
    assert np.all(np.diff(truths) < 0)
    assert np.all(np.diff(metrics) < 0)


def test_random_blur_specs_rank_like_laplacian_variance(phantom):
    """Across random specs (noise off, since it raises the Laplacian), truth and metric agree."""
    clean, masks = phantom
    rng = np.random.default_rng(5)
    truths, metrics = [], []
    for _ in range(25):
        spec = random_chest_degradation(rng)
        spec = ChestDegradation(
            blur_sigma_px=spec.blur_sigma_px,
            motion_length_px=spec.motion_length_px,
            motion_angle_deg=spec.motion_angle_deg,
        )
        truths.append(chest_truth(spec).sharpness)
        metrics.append(np.log(laplacian_variance(degrade_chest(clean, spec), masks["lung"])))
    rank = lambda x: np.argsort(np.argsort(x))  # noqa: E731
    assert np.corrcoef(rank(truths), rank(metrics))[0, 1] > 0.85


def test_truth_is_on_scale_and_acceptable_follows_the_paper_cutoffs():
    rng = np.random.default_rng(0)
    truths = [chest_truth(random_chest_degradation(rng)) for _ in range(2000)]
    gray = np.array([t.gray_level for t in truths])
    sharp = np.array([t.sharpness for t in truths])
    assert gray.min() >= 1 and gray.max() <= 10 and sharp.min() >= 1 and sharp.max() <= 10
    # Close to the paper's MOS (7.75 +/- 1.24 gray, 8.01 +/- 1.21 sharpness), a little wider.
    assert 7.3 < gray.mean() < 8.3 and 1.2 < gray.std() < 2.0
    assert 7.3 < sharp.mean() < 8.3 and 1.2 < sharp.std() < 2.0
    expected = (gray >= GRAY_LEVEL_CUTOFF) & (sharp >= SHARPNESS_CUTOFF)
    assert [t.acceptable for t in truths] == expected.tolist()
    assert 0.4 < expected.mean() < 0.8


def test_untouched_spec_scores_ten_and_keeps_the_image(phantom):
    clean, _ = phantom
    spec = ChestDegradation()
    assert chest_truth(spec).gray_level == 10 and chest_truth(spec).sharpness == 10
    np.testing.assert_allclose(degrade_chest(clean, spec), clean, atol=1e-6)
