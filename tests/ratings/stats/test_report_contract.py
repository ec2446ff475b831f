"""agreement_report follows the JSON contract and is JSON-safe."""

import json

import numpy as np
import pytest

from ratings.stats.report import agreement_report

ICC_KEYS = {"ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"}


def _records(seed=4):
    rng = np.random.default_rng(seed)
    records = []
    for i in range(25):
        quality = rng.integers(2, 10)
        for r, rater in enumerate(["alice", "bob", "charlie"]):
            if (i + r) % 7 == 0:
                continue  # some missing ratings
            score = int(np.clip(quality + rng.integers(-1, 2), 1, 10))
            records.append(
                {
                    "image": f"img{i}",
                    "rater": rater,
                    "dimension": "gray_level",
                    "value": score,
                    "duration_ms": 1000 * (5 + r + i % 4),
                    "group": "radiologist" if rater != "charlie" else "radiographer",
                }
            )
            label = "acceptable" if score >= 6 else "non-acceptable"
            records.append({"image": f"img{i}", "rater": rater, "dimension": "ok", "value": label})
    return records


def test_contract_keys_and_json_safety():
    report = agreement_report(_records())
    json.dumps(report, allow_nan=False)  # no NaN / inf anywhere
    gray = report["dimensions"]["gray_level"]
    for key in (
        "n_images",
        "n_raters",
        "mos",
        "icc",
        "krippendorff_alpha",
        "fleiss_kappa",
        "cohen_kappa",
        "jaccard",
        "raters",
    ):
        assert key in gray
    assert gray["kind"] == "score" and gray["n_images"] == 25 and gray["n_raters"] == 3
    assert set(gray["mos"][0]) >= {"image", "n", "mean", "sd", "ci95"}
    assert set(gray["icc"]) >= ICC_KEYS
    assert set(gray["icc"]["ICC2"]) >= {"value", "ci95", "F", "df1", "df2", "p"}
    assert gray["icc"]["n_images_used"] == gray["n_images_complete"]
    reml = gray["icc_reml"]
    assert set(reml) >= ICC_KEYS | {"n_images_used", "n_ratings_used", "variance"}
    assert set(reml["variance"]) == {"images", "raters", "residual", "within_images"}
    assert reml["n_images_used"] == gray["n_images"]  # every rated image, not only complete ones
    assert set(gray["krippendorff_alpha"]) == {"nominal", "ordinal", "interval"}
    assert set(gray["cohen_kappa"]) == {"alice|bob", "alice|charlie", "bob|charlie"}
    assert set(gray["cohen_kappa"]["alice|bob"]) >= {"unweighted", "linear", "quadratic"}
    assert gray["jaccard"]["alice|bob"]["classes"] == ["poor", "moderate", "excellent"]
    assert gray["raters"]["charlie"]["group"] == "radiographer"
    assert set(gray["rater_groups"]) == {"radiologist", "radiographer"}


def test_text_labels_get_nominal_statistics_only():
    ok = agreement_report(_records(), dimensions=["ok"])["dimensions"]["ok"]
    assert ok["kind"] == "category"
    assert ok["mos"] == [] and ok["icc"] is None and ok["icc_reml"] is None
    assert ok["krippendorff_alpha"]["ordinal"] is None
    assert ok["krippendorff_alpha"]["nominal"] is not None
    assert ok["cohen_kappa"]["alice|bob"]["linear"] is None
    assert ok["jaccard"]["alice|bob"]["classes"] == ["acceptable", "non-acceptable"]
    assert {"image", "label", "tied"} <= set(ok["majority"]["labels"][0])


def test_category_order_enables_weighted_statistics():
    report = agreement_report(
        _records(), ["ok"], category_orders={"ok": ["non-acceptable", "acceptable"]}
    )
    ok = report["dimensions"]["ok"]
    assert ok["krippendorff_alpha"]["ordinal"] is not None
    assert ok["cohen_kappa"]["alice|bob"]["linear"] is not None


def test_undefined_statistics_are_null():
    records = [
        {"image": "a", "rater": "alice", "dimension": "d", "value": 5},
        {"image": "a", "rater": "bob", "dimension": "d", "value": 5},
        {"image": "b", "rater": "alice", "dimension": "d", "value": 5},
    ]
    dim = agreement_report(records)["dimensions"]["d"]
    assert dim["mos"][1]["sd"] is None and dim["mos"][1]["ci95"] == [None, None]
    assert dim["icc"]["ICC2"]["value"] is None  # one complete image
    assert dim["cohen_kappa"]["alice|bob"]["unweighted"] is None  # chance agreement 1
    assert dim["fleiss_kappa"] is None
    assert dim["krippendorff_alpha"] == {"nominal": None, "ordinal": None, "interval": None}


def test_repeat_reading_feeds_retest_only():
    records = _records()
    repeats = [dict(r, value=r["value"]) for r in records if r["dimension"] == "gray_level"]
    report = agreement_report(records + repeats[:12], ["gray_level"])
    gray = report["dimensions"]["gray_level"]
    assert gray["retest"]["pooled"]["n_pairs"] == 12
    assert gray["retest"]["pooled"]["icc"] == pytest.approx(1.0)
    plain = agreement_report(records, ["gray_level"])["dimensions"]["gray_level"]
    assert gray["mos"] == plain["mos"]


def test_unknown_dimension_is_an_error():
    with pytest.raises(ValueError, match="nope"):
        agreement_report(_records(), dimensions=["nope"])


def test_binned_jaccard_in_report_equals_direct_binning():
    from ratings.stats.coding import bin_scores
    from ratings.stats.jaccard import pairwise_jaccard

    records = _records()
    gray = agreement_report(records, ["gray_level"])["dimensions"]["gray_level"]
    raters = ["alice", "bob", "charlie"]
    images = [m["image"] for m in gray["mos"]]
    x = np.full((len(images), 3), np.nan)
    for r in records:
        if r["dimension"] == "gray_level":
            x[images.index(r["image"]), raters.index(r["rater"])] = r["value"]
    codes, labels = bin_scores(x)
    assert gray["jaccard"] == pairwise_jaccard(codes, labels, raters)
    assert gray["majority"] is None  # a 1-10 score's reference is its MOS
