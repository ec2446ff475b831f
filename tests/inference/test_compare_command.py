"""manage.py compare: a pairs CSV end to end (no database rows), a bad CSV named by its line,
and a trained model version against its study's MOS, with subgroups, ROC labels and timing."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from inference.runs import RunRequest, create_run, run_training
from tests.inference.compare_fixtures import (
    TINY,
    judge_acceptable,
    time_the_readings,
    train_version,
)

CSV = """image,model,expert,label,site
a,7,7.5,1,A
b,6.5,6,1,A
c,4,3,0,B
d,9,9,1,B
e,3,4.5,0,
"""


def _run(*args) -> dict:
    out = StringIO()
    call_command("compare", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_csv_mode_prints_the_contract(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text(CSV)
    report = _run("--csv", str(path))
    assert report["n"] == 5
    # Differences (model - expert): -0.5, 0.5, 1, 0, -1.5 -> mean -0.1, MAD 0.7.
    assert report["paired"]["mean_diff"] == pytest.approx(-0.1)
    assert report["paired"]["mad"] == pytest.approx(0.7)
    assert report["roc"]["n_positive"] == 3 and report["roc"]["auc"] == 1.0
    assert {k: v["n"] for k, v in report["subgroups"]["site"].items()} == {
        "A": 2,
        "B": 2,
        "unknown": 1,
    }
    assert report["worst"][0] == {"image": "e", "model": 3.0, "expert": 4.5, "diff": -1.5}


def test_csv_threshold_gives_sensitivity_and_specificity(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text(CSV)
    at = _run("--csv", str(path), "--threshold", "5")["roc"]["at_threshold"]
    assert at == {"threshold": 5.0, "sensitivity": 1.0, "specificity": 1.0}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("image,model\na,1\n", "line 1: CSV header lacks column\\(s\\) expert"),
        ("image,model,expert\na,1,2\nb,one,2\n", "line 3: model 'one' is not a number"),
        ("image,model,expert,label\na,1,2,yes\n", "line 2: label 'yes' must be 1, 0 or empty"),
        ("image,model,expert\na,1,2\na,2,2\n", "line 3: image 'a' already on line 2"),
        ("image,model,expert\n", "no rows"),
        ("image,model,expert\na,1,nan\n", "not a finite number"),
    ],
)
def test_a_bad_csv_is_a_command_error_naming_the_line(tmp_path, text, message):
    path = tmp_path / "pairs.csv"
    path.write_text(text)
    with pytest.raises(CommandError, match=message):
        call_command("compare", "--csv", str(path), "--json")


def test_needs_exactly_one_source():
    with pytest.raises(CommandError, match="either"):
        call_command("compare")


@pytest.mark.django_db
def test_a_version_against_its_studys_mos(people, rated_study):
    version = train_version(rated_study)
    time_the_readings(rated_study, people)
    report = _run("--model-version", str(version.pk), "--study", str(rated_study.pk),
                  "--dimension", "gray-level", "--split-part", "test")  # fmt: skip
    test_images = version.run.counts["test"]
    assert report["n"] == test_images >= 2
    assert report["part"] == "test" and report["dimension"] == "gray-level"
    assert report["paired"]["sd_diff"] is not None and report["icc"]["ICC2"]["value"] is not None
    # Every image comes from the one synthetic site, manufacturer and modality.
    assert sum(b["n"] for b in report["subgroups"]["site"].values()) == test_images
    assert report["timing"]["model_s_per_image"] > 0
    experts = report["timing"]["experts"]
    assert experts["radiologist"]["median_s"] == 10.0
    assert experts["radiographer"]["median_s"] == 4.0
    assert experts["radiologist"]["n"] == test_images
    # The study's binary dimension has no ratings: no labels, no ROC, said so.
    assert report["label_dimension"] == "acceptable" and report["roc"] is None
    out = StringIO()
    call_command("compare", "--model-version", str(version.pk), "--split-part", "test", stdout=out)
    assert "experts (radiologist): median 10.000 s per image" in out.getvalue()


@pytest.mark.django_db
def test_version_mode_refuses_what_does_not_fit(people, rated_study):
    version = train_version(rated_study)
    with pytest.raises(CommandError, match="no binary dimension 'sharpness'"):
        call_command("compare", "--model-version", str(version.pk),
                     "--label-dimension", "sharpness")  # fmt: skip
    with pytest.raises(CommandError, match="no model version 999999"):
        call_command("compare", "--model-version", "999999")


@pytest.mark.django_db
def test_a_version_on_every_image_gets_an_roc_from_the_acceptable_majority(people, rated_study):
    version = train_version(rated_study)
    judge_acceptable(rated_study)
    report = _run("--model-version", str(version.pk), "--label-dimension", "acceptable")
    assert report["part"] == "" and report["n"] == 16
    roc = report["roc"]
    # Readers give s and s - 1; acceptable when >= 6: both agree on 5 images (s >= 7) and on 8
    # (s <= 5); the 3 images with s = 6 are a 1-1 tie, left out of the ROC only.
    assert (roc["n_positive"], roc["n_negative"]) == (5, 8)
    assert 0.0 <= roc["auc"] <= 1.0 and roc["auc_se"] is not None
    assert roc["curve"][0] == {"threshold": None, "fpr": 0.0, "tpr": 0.0}


@pytest.mark.django_db
def test_a_classifier_gets_the_row_normalised_confusion_matrix(people, rated_study):
    judge_acceptable(rated_study)
    run = create_run(
        RunRequest(study=rated_study, dimension_key="acceptable", arch="convnet4",
                   target="binary", settings=TINY),
        queue=False,
    )  # fmt: skip
    run_training(run.pk)
    report = _run("--model-version", str(run.model_version.pk))
    confusion = report["confusion"]
    # 13 images with a majority (3 ties left out): 5 acceptable, 8 not, in the expert rows.
    assert report["n"] == 13 and report["n_without_expert"] == 3
    assert [sum(row) for row in confusion["counts"]] == [8, 5]
    for row in confusion["row_normalised"]:
        assert sum(row) == pytest.approx(1.0)
    assert set(confusion["per_class"]) == set(confusion["classes"])
    # The ROC ranks the probability of "acceptable", not the 0/1 call: one point per image.
    assert (report["roc"]["n_positive"], report["roc"]["n_negative"]) == (5, 8)
    assert len(report["roc"]["curve"]) > 3


def test_csv_roc_score_column_is_what_the_roc_ranks(tmp_path):
    # Model calls are 0/1 (a tie in the ranking), the probabilities separate the classes.
    path = tmp_path / "pairs.csv"
    path.write_text("image,model,expert,label,roc_score\na,1,1,1,0.9\nb,1,0,0,0.6\nc,0,0,0,0.2\n")
    report = _run("--csv", str(path))
    assert report["roc"]["auc"] == 1.0
    assert "roc_score" not in report["subgroups"]


@pytest.mark.django_db
def test_another_study_is_refused_with_the_reason(people, rated_study, study):
    version = train_version(rated_study)
    with pytest.raises(CommandError, match="compared on that study only"):
        call_command("compare", "--model-version", str(version.pk), "--study", str(study.pk))
