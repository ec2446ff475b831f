"""ICC from REML variance components: equal to Shrout & Fleiss on a complete table, equal to
statsmodels' MixedLM on a table with gaps, and recovering known components from simulated
ratings where the complete-case ANOVA has little left to work with."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from ratings.stats.icc import icc
from ratings.stats.icc_reml import icc_reml
from tests.ratings.stats.test_icc_published import SHROUT_FLEISS, TABLE_4

FORMS = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")


def test_a_complete_table_gives_shrout_and_fleiss_table_4():
    result = icc_reml(SHROUT_FLEISS)
    for key, published in TABLE_4.items():
        assert round(result[key]["value"], 2) == published, key
    anova = icc(SHROUT_FLEISS)
    for key in FORMS:  # REML = ANOVA on balanced data with positive estimates, CIs included
        assert result[key]["value"] == pytest.approx(anova[key]["value"], abs=1e-6), key
        assert result[key]["ci95"] == pytest.approx(anova[key]["ci95"], abs=1e-6), key
        assert result[key]["name"] == anova[key]["name"]
    # The components behind them (Table 3's mean squares, n = 6 targets, k = 4 judges):
    # images (BMS - EMS) / k, raters (JMS - EMS) / n, residual EMS, within WMS.
    ms = anova["mean_squares"]
    assert result["variance"]["images"] == pytest.approx((ms["BMS"] - ms["EMS"]) / 4, rel=1e-5)
    assert result["variance"]["raters"] == pytest.approx((ms["JMS"] - ms["EMS"]) / 6, rel=1e-5)
    assert result["variance"]["residual"] == pytest.approx(ms["EMS"], rel=1e-5)
    assert result["variance"]["within_images"] == pytest.approx(ms["WMS"], rel=1e-5)
    assert (result["n_images_used"], result["n_ratings_used"]) == (6, 24)


def simulate(n_images, n_raters, var_images, var_raters, var_res, missing, seed):
    rng = np.random.default_rng(seed)
    x = (
        5.0
        + rng.normal(0, np.sqrt(var_images), (n_images, 1))
        + rng.normal(0, np.sqrt(var_raters), (1, n_raters))
        + rng.normal(0, np.sqrt(var_res), (n_images, n_raters))
    )
    x[rng.random(x.shape) < missing] = np.nan
    return x


def statsmodels_components(x):
    rows = [
        (i, j, x[i, j]) for i in range(x.shape[0]) for j in range(x.shape[1]) if x[i, j] == x[i, j]
    ]
    df = pd.DataFrame(rows, columns=["image", "rater", "y"])
    df["all"] = 1
    model = smf.mixedlm(
        "y ~ 1",
        df,
        groups="all",
        re_formula="0",
        vc_formula={"image": "0 + C(image)", "rater": "0 + C(rater)"},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(reml=True, method="lbfgs")
    components = dict(zip(model.exog_vc.names, fit.vcomp, strict=True))
    return components["image"], components["rater"], fit.scale


def test_a_table_with_gaps_matches_statsmodels_mixedlm():
    x = simulate(40, 5, var_images=2.0, var_raters=0.6, var_res=1.0, missing=0.25, seed=11)
    images, raters, residual = statsmodels_components(x)
    result = icc_reml(x)["variance"]
    assert result["images"] == pytest.approx(images, rel=1e-3)
    assert result["raters"] == pytest.approx(raters, rel=1e-3)
    assert result["residual"] == pytest.approx(residual, rel=1e-3)


def test_known_components_are_recovered_with_many_gaps():
    # 10 raters, each missing 30% at random: about 3% of the images are complete.
    x = simulate(3000, 10, var_images=2.0, var_raters=0.5, var_res=1.0, missing=0.3, seed=5)
    result = icc_reml(x)
    assert result["variance"]["images"] == pytest.approx(2.0, rel=0.08)
    assert result["variance"]["raters"] == pytest.approx(0.5, rel=0.6)  # only 10 raters
    assert result["variance"]["residual"] == pytest.approx(1.0, rel=0.05)
    assert result["ICC3"]["value"] == pytest.approx(2.0 / 3.0, abs=0.03)
    assert result["n_images_used"] == 3000
    assert icc(x)["n_images_used"] < 200


def test_no_rater_effect_is_estimated_at_the_boundary():
    x = simulate(200, 4, var_images=1.0, var_raters=0.0, var_res=1.0, missing=0.1, seed=3)
    x -= np.nanmean(x, axis=0) - np.nanmean(x)  # raters' means made equal: no rater variance
    result = icc_reml(x)
    assert result["variance"]["raters"] == pytest.approx(0.0, abs=1e-6)
    assert result["ICC2"]["value"] == pytest.approx(result["ICC3"]["value"], abs=1e-6)


def test_an_exact_fit_gives_the_anova_values_not_a_bound():
    """Raters who differ only by a constant: no residual at all, where the likelihood has no
    maximum. ICC(C,1) is 1 and ICC(A,1) the ANOVA value (n = 4, k = 3: 6.67 / 7.67)."""
    table = np.array([[1, 2, 3], [5, 6, 7], [7, 8, 9], [3, 4, 5]], dtype=float)
    result = icc_reml(table)
    assert result["ICC3"]["value"] == 1.0
    assert result["ICC2"]["value"] == pytest.approx(icc(table)["ICC2"]["value"], abs=1e-9)
    table[0, 1] = np.nan  # with a gap too
    assert icc_reml(table)["ICC3"]["value"] == 1.0


@pytest.mark.parametrize(
    "table",
    [
        np.full((5, 3), 7.0),  # no variation at all
        np.array([[7.0, np.nan], [np.nan, 5.0], [6.0, np.nan]]),  # no image rated twice
        np.array([[7.0], [5.0], [6.0]]),  # one rater
        np.full((4, 3), np.nan),  # nothing rated
    ],
)
def test_undefined_cases_give_none_not_nan(table):
    result = icc_reml(table)
    assert all(result[key]["value"] is None for key in FORMS)
    assert all(result[key]["ci95"] == [None, None] for key in FORMS)


def test_the_intervals_cover_the_truth_about_95_percent_of_the_time_with_gaps():
    """The approximate intervals (mean squares rebuilt from the components, df of the complete
    table the ratings are worth) checked by simulation: 60 images x 5 raters, 15% of ratings
    missing, true ICC(C,1) 2/3 and ICC(A,1) 0.5; 150 studies, so a 95% interval should miss
    about 7 times (binomial SD 2.7)."""
    truth = {"ICC3": 2.0 / 3.0, "ICC2": 2.0 / 4.0}
    covered = dict.fromkeys(truth, 0)
    runs = 150
    for seed in range(runs):
        x = simulate(60, 5, var_images=2.0, var_raters=1.0, var_res=1.0, missing=0.15, seed=seed)
        result = icc_reml(x)
        for key, value in truth.items():
            lo, hi = result[key]["ci95"]
            covered[key] += lo <= value <= hi
    for key in truth:
        assert 0.88 <= covered[key] / runs <= 0.995, (key, covered[key])
