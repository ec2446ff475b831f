"""Per-image MOS: values, t-based CI against scipy, and undefined cases."""

import numpy as np
import pytest
from scipy import stats

from ratings.stats.mos import mos


def test_mean_sd_median_ci():
    x = np.array([[7, 8, 9, np.nan], [5, 5, 6, 8], [3, np.nan, np.nan, np.nan], [np.nan] * 4])
    table = mos(x)
    assert table.n.tolist() == [3, 4, 1, 0]
    assert table.mean[0] == pytest.approx(8.0)
    assert table.sd[0] == pytest.approx(1.0)
    assert table.median.tolist()[:3] == [8.0, 5.5, 3.0]
    lo, hi = stats.t.interval(0.95, df=3, loc=6.0, scale=np.std([5, 5, 6, 8], ddof=1) / 2)
    assert table.ci_low[1] == pytest.approx(lo)
    assert table.ci_high[1] == pytest.approx(hi)


def test_undefined_with_fewer_than_two_ratings():
    table = mos(np.array([[3.0, np.nan], [np.nan, np.nan]]))
    assert table.mean[0] == 3.0 and np.isnan(table.sd[0]) and np.isnan(table.ci_low[0])
    assert np.isnan(table.mean[1]) and np.isnan(table.median[1])


def test_vectorised_matches_row_by_row():
    rng = np.random.default_rng(1)
    x = rng.integers(1, 11, size=(500, 10)).astype(float)
    x[rng.random(x.shape) < 0.3] = np.nan
    table = mos(x)
    for i in range(0, 500, 37):
        row = x[i][~np.isnan(x[i])]
        assert table.median[i] == pytest.approx(np.median(row))
        if row.size >= 2:
            assert table.sd[i] == pytest.approx(np.std(row, ddof=1))
