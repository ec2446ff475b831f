"""Krippendorff's alpha reproduces Krippendorff (2011)'s worked example with missing values."""

import krippendorff
import numpy as np
import pytest

from ratings.stats.coding import codes_from_values
from ratings.stats.kappa import krippendorff_alpha

N = np.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section E: observers A-D
# (rows) x 12 units (columns), "." = missing. Published: nominal .743, ordinal .815,
# interval .849.
OBSERVERS_X_UNITS = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
        [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
    ]
)


def test_published_alphas():
    codes, values = codes_from_values(OBSERVERS_X_UNITS.T)  # our matrices are images x raters
    alphas = krippendorff_alpha(codes, values, ["nominal", "ordinal", "interval"])
    assert round(alphas["nominal"], 3) == 0.743
    assert round(alphas["ordinal"], 3) == 0.815
    assert round(alphas["interval"], 3) == 0.849


def test_undefined_alpha_is_none():
    codes = np.zeros((5, 3), dtype=np.int64)  # everybody gave the same single value
    alphas = krippendorff_alpha(codes, [7.0], ["nominal", "interval"])
    assert alphas == {"nominal": None, "interval": None}


def test_matches_krippendorff_package_with_missing_data():
    rng = np.random.default_rng(9)
    truth = rng.integers(1, 11, size=400)
    x = np.clip(truth[:, None] + rng.integers(-2, 3, size=(400, 6)), 1, 10).astype(float)
    x[rng.random(x.shape) < 0.2] = np.nan
    codes, values = codes_from_values(x)
    ours = krippendorff_alpha(codes, values, ["nominal", "ordinal", "interval"])
    for level in ("nominal", "ordinal", "interval"):
        theirs = krippendorff.alpha(reliability_data=x.T, level_of_measurement=level)
        assert ours[level] == pytest.approx(theirs, abs=1e-10), level
