"""ICC forms reproduce Shrout & Fleiss (1979) Tables 3-4 and agree with pingouin."""

import numpy as np
import pandas as pd
import pingouin as pg
import pytest

from ratings.stats.icc import icc

# Shrout & Fleiss (1979), Table 2: 6 targets (rows) x 4 judges (columns).
SHROUT_FLEISS = np.array(
    [
        [9, 2, 5, 8],
        [6, 1, 3, 2],
        [8, 4, 6, 8],
        [7, 1, 2, 6],
        [10, 5, 6, 9],
        [6, 2, 4, 7],
    ],
    dtype=float,
)

# Table 4 of the paper (two decimals, as printed).
TABLE_4 = {"ICC1": 0.17, "ICC2": 0.29, "ICC3": 0.71, "ICC1k": 0.44, "ICC2k": 0.62, "ICC3k": 0.91}


def test_table_4_values():
    result = icc(SHROUT_FLEISS)
    for key, published in TABLE_4.items():
        assert round(result[key]["value"], 2) == published, key
    assert result["n_images_used"] == 6


def test_table_3_mean_squares():
    # Table 3: BMS 11.24, WMS 6.26, JMS 32.49, EMS 1.02.
    ms = icc(SHROUT_FLEISS)["mean_squares"]
    assert [round(ms[k], 2) for k in ("BMS", "WMS", "JMS", "EMS")] == [11.24, 6.26, 32.49, 1.02]


def test_mcgraw_wong_names():
    result = icc(SHROUT_FLEISS)
    assert result["ICC2"]["name"] == "ICC(A,1)"
    assert result["ICC3k"]["name"] == "ICC(C,k)"


def _pingouin(x):
    rows = [(i, j, x[i, j]) for i in range(x.shape[0]) for j in range(x.shape[1])]
    df = pd.DataFrame(rows, columns=["target", "rater", "score"])
    out = pg.intraclass_corr(df, "target", "rater", "score", nan_policy="omit")
    return out.set_index("Type")


PINGOUIN_TYPE = {
    "ICC1": "ICC(1,1)",
    "ICC2": "ICC(A,1)",
    "ICC3": "ICC(C,1)",
    "ICC1k": "ICC(1,k)",
    "ICC2k": "ICC(A,k)",
    "ICC3k": "ICC(C,k)",
}


@pytest.mark.parametrize("key", list(PINGOUIN_TYPE))
def test_f_p_ci_match_pingouin(key):
    ours = icc(SHROUT_FLEISS)[key]
    theirs = _pingouin(SHROUT_FLEISS).loc[PINGOUIN_TYPE[key]]
    assert ours["value"] == pytest.approx(theirs["ICC"], abs=1e-9)
    assert ours["F"] == pytest.approx(theirs["F"], rel=1e-9)
    assert (ours["df1"], ours["df2"]) == (theirs["df1"], theirs["df2"])
    assert ours["p"] == pytest.approx(theirs["pval"], rel=1e-6)
    # pingouin rounds its CI to two decimals.
    assert ours["ci95"] == pytest.approx(list(theirs["CI95"]), abs=0.0051)


def test_missing_data_uses_complete_cases_like_pingouin():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 11, size=(40, 5)).astype(float) + rng.normal(0, 1, size=(40, 1))
    x[rng.random(x.shape) < 0.08] = np.nan
    ours = icc(x)
    complete = int((~np.isnan(x).any(axis=1)).sum())
    assert ours["n_images_used"] == complete
    theirs = _pingouin(x).loc["ICC(A,1)"]
    assert ours["ICC2"]["value"] == pytest.approx(theirs["ICC"], abs=1e-9)
    assert ours["ICC2"]["ci95"] == pytest.approx(list(theirs["CI95"]), abs=0.0051)


def test_fewer_than_two_complete_images_is_none():
    x = np.array([[1, 2, 3], [4, np.nan, 5], [np.nan, 1, 1]], dtype=float)
    result = icc(x)
    assert result["n_images_used"] == 1
    assert all(result[k]["value"] is None for k in PINGOUIN_TYPE)
    assert all(result[k]["ci95"] == [None, None] for k in PINGOUIN_TYPE)


def test_perfect_agreement_is_json_safe():
    x = np.array([[1, 1], [2, 2], [3, 3]], dtype=float)
    result = icc(x)
    assert result["ICC2"]["value"] == pytest.approx(1.0)
    assert result["ICC2"]["F"] is None  # MSR / 0: infinite, reported as null
    assert result["ICC2"]["p"] is None
