"""The statistics' fast paths give exactly what the plain numpy formulations give."""

import gc

import numpy as np
import pytest

from ratings.stats._json import num_list
from ratings.stats.coding import codes_from_values
from ratings.stats.records import DimensionData
from ratings.stats.report import _gc_paused, dimension_report, dimension_reports
from ratings.stats.screening import bt500_screening


def _plain_codes(x):
    present = ~np.isnan(x)
    values = np.unique(x[present])
    codes = np.full(x.shape, -1, dtype=np.int64)
    codes[present] = np.searchsorted(values, x[present])
    return codes, values


@pytest.mark.parametrize(
    "x",
    [
        np.array([[1.0, 10.0, np.nan], [3.0, 3.0, 7.0]]),  # whole scores: counted
        np.array([[-3.0, 0.0, 2.0], [np.nan, -1.0, 2.0]]),
        np.array([[1.5, 2.5], [np.nan, 1.5]]),  # fractions: np.unique
        np.array([[0.0, -0.0, 1.0]]),  # a negative zero: np.unique
        np.array([[np.inf, 1.0]]),
        np.array([[1e9, -1e9]]),  # wide range: np.unique
        np.array([[np.nan, np.nan]]),
    ],
)
def test_codes_from_values_fast_path(x):
    codes, values = codes_from_values(x)
    expected_codes, expected_values = _plain_codes(x)
    assert np.array_equal(codes, expected_codes)
    assert np.array_equal(values, expected_values)
    assert np.array_equal(np.signbit(values), np.signbit(expected_values))


def _screening_with_pow(x, raters, min_ratings=4):
    """The P/Q counts with beta2 from dev**4 everywhere (the procedure as written)."""
    present = ~np.isnan(x)
    n = present.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(present, x, 0.0).sum(axis=1) / n
        dev = np.where(present, x - mean[:, None], 0.0)
        m2 = (dev**2).sum(axis=1) / n
        beta2 = ((dev**4).sum(axis=1) / n) / (m2 * m2)
        sd = np.sqrt((dev**2).sum(axis=1) / (n - 1))
    eligible = (n >= min_ratings) & (m2 > 0)
    band = np.where((beta2 >= 2.0) & (beta2 <= 4.0), 2.0, np.sqrt(20.0)) * sd
    p = (present & eligible[:, None] & (x >= (mean + band)[:, None])).sum(axis=0)
    q = (present & eligible[:, None] & (x <= (mean - band)[:, None])).sum(axis=0)
    return p.tolist(), q.tolist()


def test_screening_kurtosis_near_the_bounds_is_exact():
    # beta2 exactly 2 ({1, 2, 2, 3}) and exactly 4 ({1, 1, 1, 1, 1, 1, 4, 4, ...}) sit on the
    # bounds; with random panels around them the squares shortcut must decide as dev**4 does.
    rng = np.random.default_rng(7)
    rows = [[1, 2, 2, 3], [1, 2, 2, 3, np.nan], [0, 1, 1, 1, 1, 2]]
    rows += rng.integers(1, 5, (3000, 6)).tolist()
    width = max(len(r) for r in rows)
    x = np.array([list(r) + [np.nan] * (width - len(r)) for r in rows], dtype=float)
    x[rng.random(x.shape) < 0.1] = np.nan
    raters = [f"r{j}" for j in range(width)]
    out = bt500_screening(x, raters)
    p, q = _screening_with_pow(x, raters)
    assert [out["raters"][r]["P"] for r in raters] == p
    assert [out["raters"][r]["Q"] for r in raters] == q
    noisy = x + rng.normal(0, 1e-3, x.shape)
    out = bt500_screening(noisy, raters)
    p, q = _screening_with_pow(noisy, raters)
    assert [out["raters"][r]["P"] for r in raters] == p
    assert [out["raters"][r]["Q"] for r in raters] == q


def test_num_list():
    assert num_list(np.array([1.0, np.nan, -np.inf, 2.5, np.inf])) == [1.0, None, None, 2.5, None]
    assert num_list([]) == []
    assert all(type(v) is float for v in num_list(np.array([1, 2], dtype=np.int64)))


def _data(name, seed, n=300, k=5):
    rng = np.random.default_rng(seed)
    values = rng.integers(1, 11, (n, k)).astype(float)
    values[rng.random(values.shape) < 0.1] = np.nan
    durations = rng.lognormal(9, 0.4, (n, k))
    raters = [f"R{j}" for j in range(k)]
    return DimensionData(
        name=name, kind="score", images=[f"img{i}" for i in range(n)], raters=raters,
        values=values, durations_ms=durations,
        groups={r: ("radiologist" if j % 2 else "radiographer") for j, r in enumerate(raters)},
    )  # fmt: skip


def test_dimension_reports_in_parallel_equal_those_in_turn():
    data = {name: _data(name, seed) for seed, name in enumerate(["a", "b", "c"])}
    parallel = dimension_reports(data, {"a": None}, screen=True)
    assert list(parallel) == ["a", "b", "c"]
    for name, dim in data.items():
        assert parallel[name] == dimension_report(dim, screen=True)
    assert dimension_reports({}) == {}


def test_gc_pause_restores_the_collector():
    assert gc.isenabled()
    with _gc_paused():
        with _gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with _gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
