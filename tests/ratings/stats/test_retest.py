"""Test-retest reliability per rater and pooled; None with too few repeats."""

import numpy as np
import pytest

from ratings.stats.icc import icc
from ratings.stats.retest import retest_reliability


def test_per_rater_and_pooled():
    rng = np.random.default_rng(2)
    first = rng.integers(1, 11, size=(40, 2)).astype(float)
    second = np.clip(first + rng.integers(-1, 2, size=first.shape), 1, 10)
    second[20:, 1] = np.nan  # bob re-read only 20 images
    second[3:, 0] = np.nan  # alice re-read only 3: too few
    out = retest_reliability(first, second, ["alice", "bob"], min_pairs=5)
    assert out["raters"]["alice"] == {"n_pairs": 3, "icc": None, "ci95": [None, None], "mad": None}
    bob = out["raters"]["bob"]
    assert bob["n_pairs"] == 20
    expected = icc(np.column_stack([first[:20, 1], second[:20, 1]]))["ICC2"]["value"]
    assert bob["icc"] == pytest.approx(expected)
    assert out["pooled"]["n_pairs"] == 23
    assert out["form"] == "ICC(A,1)"
