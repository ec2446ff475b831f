"""Statistics recover the planted rater biases, and the simulated readings look like the paper's."""

import numpy as np
import pytest

from demo.synthetic.degrade import chest_truth, random_chest_degradation
from demo.synthetic.raters import (
    ACCEPTABLE,
    GRAY_LEVEL,
    MR_QUALITY,
    PLANTED_BIASES,
    RADIOGRAPHER,
    RADIOLOGIST,
    SHARPNESS,
    default_raters,
    simulate_chest_ratings,
    simulate_mr_ratings,
)


@pytest.fixture(scope="module")
def readings():
    rng = np.random.default_rng(1)
    truths = {f"img{i}": chest_truth(random_chest_degradation(rng)) for i in range(800)}
    return truths, simulate_chest_ratings(truths, seed=4)


def _table(truths, records, dim):
    """images x raters matrix of scores, NaN where a rater skipped the image."""
    raters = [r.key for r in default_raters()]
    keys = list(truths)
    table = np.full((len(keys), len(raters)), np.nan)
    for rec in records:
        table[keys.index(rec.image_key), raters.index(rec.rater_key)] = rec.values[dim]
    return table


@pytest.mark.parametrize("dim", [GRAY_LEVEL, SHARPNESS])
def test_biases_recovered_by_mean_difference_from_mos(readings, dim):
    truths, records = readings
    table = _table(truths, records, dim)
    mos = np.nanmean(table, axis=1)
    truth = np.array([getattr(t, dim) for t in truths.values()])
    # Mid-range images only: near 10 a lenient rater's scores are clipped and the bias censored.
    mid = (truth >= 3.5) & (truth <= 7.5)
    recovered = np.nanmean(table[mid] - mos[mid, None], axis=0)
    np.testing.assert_allclose(recovered, PLANTED_BIASES, atol=0.2)
    assert int(np.argmax(np.abs(recovered))) == int(np.argmax(np.abs(PLANTED_BIASES)))
    assert default_raters()[int(np.argmax(np.abs(recovered)))].key == "rater03"


def test_scores_are_integers_1_to_10_and_coverage_is_partial(readings):
    truths, records = readings
    values = [r.values[d] for r in records for d in (GRAY_LEVEL, SHARPNESS)]
    assert set(values) <= set(range(1, 11)) and all(type(v) is int for v in values)
    per_rater = {r.key: sum(rec.rater_key == r.key for rec in records) for r in default_raters()}
    for rater in default_raters():
        assert per_rater[rater.key] / len(truths) == pytest.approx(rater.coverage, abs=0.04)
    assert min(per_rater.values()) < len(truths)


def test_panel_is_five_plus_five_with_three_acceptability_voters(readings):
    raters = default_raters()
    assert sum(r.profession == RADIOLOGIST for r in raters) == 5
    assert sum(r.profession == RADIOGRAPHER for r in raters) == 5
    _, records = readings
    voters = {r.rater_key for r in records if ACCEPTABLE in r.values}
    assert voters == {r.key for r in raters if r.votes_acceptable} and len(voters) == 3


def test_acceptable_votes_agree_with_truth_mostly(readings):
    truths, records = readings
    votes = [
        (r.values[ACCEPTABLE], truths[r.image_key].acceptable)
        for r in records
        if ACCEPTABLE in r.values
    ]
    agreement = np.mean([v == t for v, t in votes])
    assert 0.75 < agreement < 0.98  # experts agree with the truth, but not perfectly


def test_reading_time_median_near_eleven_seconds_and_slower_on_poor_images(readings):
    truths, records = readings
    seconds = np.array([r.active_ms for r in records]) / 1000
    assert 9.5 < np.median(seconds) < 12.5
    worst = np.array(
        [min(truths[r.image_key].gray_level, truths[r.image_key].sharpness) for r in records]
    )
    assert np.median(seconds[worst < 5]) > 1.2 * np.median(seconds[worst > 8.5])


def test_mr_labels_from_two_raters_confuse_only_adjacent_classes():
    rng = np.random.default_rng(3)
    severities = {f"mr{i}": float(rng.uniform(0, 1)) for i in range(400)}
    records = simulate_mr_ratings(severities, seed=1)
    assert len({r.rater_key for r in records}) == 2
    by_rater = {}
    for r in records:
        by_rater.setdefault(r.rater_key, {})[r.image_key] = r.values[MR_QUALITY]
    a, b = by_rater.values()
    diffs = np.array([a[k] - b[k] for k in severities])
    assert 0.05 < np.mean(diffs != 0) < 0.4
    assert np.abs(diffs).max() <= 1
