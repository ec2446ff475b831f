"""BT.500 observer screening rejects a planted erratic rater and only records it unless asked."""

import numpy as np

from ratings.stats.records import DimensionData
from ratings.stats.report import dimension_report
from ratings.stats.screening import bt500_screening

RATERS = [f"r{i}" for i in range(8)]


def _panel(seed=11, n=200):
    rng = np.random.default_rng(seed)
    quality = rng.uniform(2, 9, size=n)
    x = np.clip(np.round(quality[:, None] + rng.normal(0, 0.6, size=(n, 8))), 1, 10)
    x[:, 5] = rng.integers(1, 11, size=n)  # r5 scores at random: deviates both ways
    x[:, 6] = np.clip(x[:, 6] + 1, 1, 10)  # r6 is merely lenient: one-sided, kept by the rule
    x[rng.random(x.shape) < 0.05] = np.nan
    return x


def test_erratic_rater_rejected_biased_rater_kept():
    result = bt500_screening(_panel(), RATERS)
    assert result["rejected"] == ["r5"]
    r5 = result["raters"]["r5"]
    assert r5["outlier_share"] > 0.05 and r5["asymmetry"] < 0.3
    assert not result["raters"]["r6"]["rejected"]
    assert "BT.500" in result["rule"]


def test_zero_spread_images_are_not_counted():
    x = np.full((10, 5), 7.0)
    result = bt500_screening(x, RATERS[:5])
    assert result["n_images_screened"] == 0
    assert result["rejected"] == []


def _data(x):
    return DimensionData(
        name="sharpness",
        kind="score",
        images=list(range(x.shape[0])),
        raters=RATERS,
        values=x,
    )


def test_report_excludes_rejected_rater_from_mos_only_when_asked():
    x = _panel()
    plain = dimension_report(_data(x))
    assert plain["screening"]["applied"] is False
    assert plain["screening"]["rejected"] == ["r5"]
    screened = dimension_report(_data(x), screen=True)
    assert screened["screening"]["applied"] is True
    keep = [i for i in range(8) if i != 5]
    row = x[0, keep]
    assert screened["mos"][0]["mean"] == np.nanmean(row)
    assert screened["mos"][0]["n"] == int((~np.isnan(row)).sum())
    assert any("BT.500" in note for note in screened["notes"])
