"""Model-versus-expert statistics against published worked examples and hand-computed values."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from ratings.stats.compare import (
    bland_altman,
    compare,
    confusion,
    hanley_mcneil_se,
    paired_statistics,
    regression_line,
    roc,
)

# Bland & Altman (1986), Lancet i:307-310, Table 1: PEFR (l/min), first reading of each meter.
WRIGHT = [494, 395, 516, 434, 476, 557, 413, 442, 650, 433, 417, 656, 267, 478, 178, 423, 427]
MINI = [512, 430, 520, 428, 500, 600, 364, 380, 658, 445, 432, 626, 260, 477, 259, 350, 451]


def test_bland_altman_1986_pefr_as_published():
    # The paper: Wright minus mini, mean -2.1, SD 38.8, limits -79.7 to 75.5 (d +- 2 s), mean
    # difference CI -22.0 to 17.8, limit CIs -114.3 to -45.1 and 40.9 to 110.1 (SE 16.3, t 2.12).
    ba = bland_altman(WRIGHT, MINI, z=2)
    assert ba["n"] == 17
    assert round(ba["mean_diff"], 1) == -2.1
    assert round(ba["sd_diff"], 1) == 38.8
    assert ba["loa"] == pytest.approx([-79.7, 75.5], abs=0.1)
    assert ba["mean_diff_ci95"] == pytest.approx([-22.0, 17.8], abs=0.1)
    # The paper rounds the mean, SD and SE before multiplying: within 0.2 of its figures.
    assert ba["loa_ci95"]["lower"] == pytest.approx([-114.3, -45.1], abs=0.2)
    assert ba["loa_ci95"]["upper"] == pytest.approx([40.9, 110.1], abs=0.2)


def test_bland_altman_default_is_1_96_sd_and_the_sign_is_model_minus_expert():
    ba = bland_altman(WRIGHT, MINI)
    assert ba["z"] == 1.96
    mean, sd = -2.1176470588, 38.7651298736
    assert ba["loa"] == pytest.approx([mean - 1.96 * sd, mean + 1.96 * sd])
    swapped = bland_altman(MINI, WRIGHT)
    assert swapped["mean_diff"] == pytest.approx(-ba["mean_diff"])
    assert swapped["loa"] == pytest.approx([-ba["loa"][1], -ba["loa"][0]])


def test_paired_statistics_match_scipy_and_hand_values():
    p = paired_statistics(WRIGHT, MINI)
    t = stats.ttest_rel(WRIGHT, MINI)
    assert p["t"] == pytest.approx(t.statistic) and p["p"] == pytest.approx(t.pvalue)
    assert p["df"] == 16
    assert p["pearson_r"] == pytest.approx(stats.pearsonr(WRIGHT, MINI)[0])
    d = np.subtract(WRIGHT, MINI)
    assert p["mad"] == pytest.approx(np.abs(d).mean())
    assert p["rmse"] == pytest.approx(math.sqrt((d**2).mean()))
    # MAPE by hand on two pairs: |12-10|/10 = 20 %, |3-4|/4 = 25 % -> 22.5 %.
    assert paired_statistics([12, 3], [10, 4])["mape"] == pytest.approx(22.5)
    assert paired_statistics([1, 2], [0, 2])["mape"] is None  # an expert 0: undefined


def _hanley_mcneil_table():
    # Hanley & McNeil (1982), Table 1: 58 normal and 51 abnormal CT images, ratings 1-5.
    normals, abnormals = [33, 6, 6, 11, 2], [3, 2, 2, 11, 33]
    scores, labels = [], []
    for rating, (n_norm, n_abn) in enumerate(zip(normals, abnormals, strict=True), start=1):
        scores += [rating] * (n_norm + n_abn)
        labels += [0] * n_norm + [1] * n_abn
    return scores, labels


def test_roc_hanley_mcneil_1982_worked_example():
    scores, labels = _hanley_mcneil_table()
    result = roc(scores, labels)
    assert (result["n_positive"], result["n_negative"]) == (51, 58)
    assert round(result["auc"], 3) == 0.893
    assert round(result["auc_se"], 3) == 0.032
    assert result["auc_ci95"] == pytest.approx(
        [result["auc"] - 1.95996 * result["auc_se"], result["auc"] + 1.95996 * result["auc_se"]],
        abs=1e-4,
    )
    assert hanley_mcneil_se(result["auc"], 51, 58) == result["auc_se"]


def test_roc_by_hand_on_four_images():
    # Scores 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.2 (neg). Positive when score >= threshold.
    # Pairs: (0.9>0.8) (0.9>0.2) (0.7<0.8) (0.7>0.2) -> AUC 3/4.
    result = roc([0.9, 0.8, 0.7, 0.2], [1, 0, 1, 0])
    assert result["auc"] == pytest.approx(0.75)
    points = [(p["threshold"], p["fpr"], p["tpr"]) for p in result["curve"]]
    assert points == [
        (None, 0.0, 0.0),
        (0.9, 0.0, 0.5),
        (0.8, 0.5, 0.5),
        (0.7, 0.5, 1.0),
        (0.2, 1.0, 1.0),
    ]
    # J: 0.5 at 0.9, 0 at 0.8, 0.5 at 0.7: the tie goes to the higher threshold.
    assert result["youden"] == {"threshold": 0.9, "sensitivity": 0.5, "specificity": 1.0, "j": 0.5}


def test_roc_is_null_with_one_class():
    assert roc([1.0, 2.0], [1, 1]) is None


def test_regression_line_and_confusion_by_hand():
    line = regression_line(model=[3.0, 5.0, 7.0], expert=[1.0, 2.0, 3.0])
    assert line == {"slope": pytest.approx(2.0), "intercept": pytest.approx(1.0)}
    assert regression_line([1.0, 2.0], [4.0, 4.0]) == {"slope": None, "intercept": None}
    # Expert rows, model columns: 2 good (1 called bad), 2 bad (both called bad), 0 excellent.
    c = confusion(predicted=[0, 1, 1, 1], actual=[0, 0, 1, 1], classes=["good", "bad", "excellent"])
    assert c["counts"] == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]
    assert c["row_normalised"] == [[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [None, None, None]]
    assert c["per_class"]["bad"] == {
        "support": 2,
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "f1": pytest.approx(0.8),
    }
    assert c["per_class"]["excellent"]["precision"] is None
    assert c["accuracy"] == 0.75


CONTRACT_PAIRED = {
    "mean_diff", "sd_diff", "mean_diff_ci95", "t", "df", "p",
    "pearson_r", "pearson_p", "mad", "rmse", "mape",
}  # fmt: skip


def _floats(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _floats(v)
    elif isinstance(value, list):
        for v in value:
            yield from _floats(v)
    elif isinstance(value, float):
        yield value


def test_contract_keys_and_json_safety():
    report = compare(
        [7.0, 6.5, 8.0, 4.0, 9.0, 5.0],
        [7.5, 6.0, 8.5, 3.0, 9.0, 5.5],
        images=list("abcdef"),
        labels=[1, 1, 1, 0, 1, 0],
        subgroups={"site": ["A", "A", "A", "B", "B", ""]},
    )
    assert report["n"] == 6
    assert set(report["paired"]) >= CONTRACT_PAIRED
    assert set(report["icc"]) == {"ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"}
    assert set(report["icc"]["ICC2"]) >= {"value", "ci95"}
    ba = report["bland_altman"]
    assert set(ba) >= {"mean_diff", "sd_diff", "loa", "loa_ci95"}
    assert set(ba["loa_ci95"]) == {"lower", "upper"}
    assert set(report["roc"]) >= {
        "auc", "auc_se", "auc_ci95", "n_positive", "n_negative", "youden", "curve",
    }  # fmt: skip
    assert set(report["roc"]["youden"]) == {"threshold", "sensitivity", "specificity", "j"}
    site = report["subgroups"]["site"]
    assert {k: v["n"] for k, v in site.items()} == {"A": 3, "B": 2, "unknown": 1}
    # One image: everything needing two is null, never NaN; B has one class only: no ROC.
    unknown = site["unknown"]
    assert unknown["paired"]["sd_diff"] is None and unknown["paired"]["t"] is None
    assert unknown["icc"]["ICC2"]["value"] is None and unknown["bland_altman"]["loa"] == [
        None,
        None,
    ]
    assert site["A"]["roc"] is None
    assert report["worst"][0]["image"] == "d" and report["worst"][0]["diff"] == 1.0
    assert all(math.isfinite(x) for x in _floats(report))
    json.dumps(report, allow_nan=False)


def test_threshold_without_labels_labels_by_the_expert_score():
    report = compare([8.0, 6.0, 4.0, 7.0], [9.0, 7.0, 3.0, 4.0], threshold=6.0)
    assert report["label_source"] == "expert >= threshold"
    assert (report["roc"]["n_positive"], report["roc"]["n_negative"]) == (2, 2)
    at = report["roc"]["at_threshold"]
    # Model calls 8, 6, 7 positive: both experts' positives found, one of two negatives wrong.
    assert at == {"threshold": 6.0, "sensitivity": 1.0, "specificity": 0.5}


def test_no_labels_means_no_roc_and_identical_scores_give_null_t():
    report = compare([5.0, 6.0, 7.0], [4.0, 5.0, 6.0])
    assert report["roc"] is None and report["label_source"] is None
    assert report["paired"]["mean_diff"] == 1.0 and report["paired"]["t"] is None
