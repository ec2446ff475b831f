"""Rater bias against the rest of the panel is recovered on simulated raters with known biases."""

import numpy as np
import pytest

from ratings.stats.raters import group_summary, rater_summary

PLANTED = np.array([0.0, 0.3, -0.4, 0.1, 2.0, -0.2])
RATERS = ["alice", "bob", "charlie", "dana", "erin", "frank"]


def _simulate(seed=5, n=3000):
    rng = np.random.default_rng(seed)
    quality = rng.uniform(2, 8, size=n)
    x = quality[:, None] + PLANTED[None, :] + rng.normal(0, 0.7, size=(n, len(PLANTED)))
    x[rng.random(x.shape) < 0.1] = np.nan
    return x


def test_bias_recovered_and_largest_flagged():
    out = rater_summary(_simulate(), RATERS)
    for j, name in enumerate(RATERS):
        # Leave-one-out: the rater's bias minus the mean bias of the others.
        expected = PLANTED[j] - np.delete(PLANTED, j).mean()
        assert out[name]["bias"] == pytest.approx(expected, abs=0.06), name
    assert out["erin"]["largest_bias"] is True
    assert out["erin"]["bias_outlier"] is True
    assert [n for n in RATERS if out[n]["bias_outlier"]] == ["erin"]
    assert all(out[n]["r_vs_rest"] > 0.9 for n in RATERS)


def test_times_and_groups():
    x = np.array([[5, 6], [7, 7], [np.nan, 3]], dtype=float)
    durations = np.array([[10000, 4000], [12000, 6000], [np.nan, 8000]], dtype=float)
    groups = {"alice": "radiologist", "bob": "radiographer"}
    per = rater_summary(x, ["alice", "bob"], durations, groups)
    assert per["bob"]["time_ms"] == {"n": 3, "median": 6000, "q1": 5000, "q3": 7000, "iqr": 2000}
    assert per["alice"]["group"] == "radiologist"
    grouped = group_summary(x, ["alice", "bob"], groups, per, durations)
    assert grouped["radiologist"]["time_ms"]["median"] == 11000
    assert grouped["radiographer"]["n_ratings"] == 3


def test_single_rater_has_undefined_bias():
    out = rater_summary(np.array([[5.0], [6.0]]), ["alice"])
    assert out["alice"]["bias"] is None and out["alice"]["r_vs_rest"] is None
