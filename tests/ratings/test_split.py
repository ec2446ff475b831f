"""Splits: patient-grouped, stratified, reproducible from a seed, stored for training runs."""

import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from ratings.models import Split, SplitAssignment, StratifyBy
from ratings.results.splits import make_split, patients_in_two_subsets, split_subsets
from ratings.results.splitting import SplitError, assign_subsets, normalise_ratios
from tests.factories import make_image, make_study, names

from .export_helpers import rate_everything


def _patients(n_patients=200, seed=0):
    """Patients with 1-4 images each, and a stratum per image."""
    import random

    rnd = random.Random(seed)
    groups, strata = [], []
    for p in range(n_patients):
        for _ in range(rnd.randint(1, 4)):
            groups.append(f"P{p}")
            strata.append(rnd.choice(["low", "mid", "high"]))
    return groups, strata


def test_no_patient_is_in_two_subsets_and_ratios_are_met():
    groups, strata = _patients()
    subsets = assign_subsets(groups, strata, (0.7, 0.15, 0.15), seed=1)
    by_patient = {}
    for g, s in zip(groups, subsets, strict=True):
        by_patient.setdefault(g, set()).add(s)
    assert all(len(s) == 1 for s in by_patient.values())
    shares = {k: v / len(groups) for k, v in Counter(subsets).items()}
    assert shares["train"] == pytest.approx(0.7, abs=0.03)
    assert shares["val"] == pytest.approx(0.15, abs=0.03)
    assert shares["test"] == pytest.approx(0.15, abs=0.03)


def test_each_stratum_is_spread_like_the_whole():
    groups, strata = _patients(400)
    subsets = assign_subsets(groups, strata, (0.6, 0.2, 0.2), seed=5)
    for stratum in ("low", "mid", "high"):
        mine = [s for s, st in zip(subsets, strata, strict=True) if st == stratum]
        assert Counter(mine)["test"] / len(mine) == pytest.approx(0.2, abs=0.06)


def test_same_seed_same_split_whatever_the_input_order():
    groups, strata = _patients()
    first = assign_subsets(groups, strata, (0.8, 0.1, 0.1), seed=42)
    order = list(range(len(groups)))[::-1]
    again = assign_subsets([groups[i] for i in order], [strata[i] for i in order], (8, 1, 1), 42)
    assert [again[order.index(i)] for i in range(len(groups))] == first
    assert assign_subsets(groups, strata, (0.8, 0.1, 0.1), seed=43) != first


def test_a_zero_ratio_leaves_that_subset_empty():
    groups, strata = _patients(50)
    assert "test" not in assign_subsets(groups, strata, (0.8, 0.2, 0), seed=0)


@pytest.mark.parametrize("ratios", [(0.5, 0.5), (-1, 1, 1), (0, 0, 0), (float("nan"), 1, 1)])
def test_bad_ratios_are_refused(ratios):
    with pytest.raises(SplitError):
        normalise_ratios(ratios)


@pytest.mark.django_db
def test_stored_split_stratified_by_mos_bins_keeps_patients_together(people):
    study = make_study(people, n_images=30)
    for i, image in enumerate(study.images.order_by("pk")):
        image.patient_key = f"P{i // 3}"  # three images per patient
        image.save()
    rate_everything(study, [people[names.RATER], people[names.RATER2]])

    split = make_split(
        study=study,
        ratios=(0.6, 0.2, 0.2),
        seed=7,
        stratify_by=StratifyBy.MOS_BINS,
        dimension="gray-level",
    )

    assert patients_in_two_subsets(split) == []
    assert SplitAssignment.objects.filter(split=split).count() == 30
    assert sum(split.summary["n_images"].values()) == 30
    assert set(split.summary["strata"]) <= {"1-4", "4-7", "7-10"}
    again = make_split(
        study=study,
        ratios=(0.6, 0.2, 0.2),
        seed=7,
        stratify_by=StratifyBy.MOS_BINS,
        dimension="gray-level",
    )
    assert split_subsets(again) == split_subsets(split)


@pytest.mark.django_db
def test_split_by_majority_label_and_a_dataset_split(people, study):
    rate_everything(study, [people[names.RATER], people[names.RATER2]])
    by_label = make_split(
        study=study, ratios=(1, 1, 1), seed=0, stratify_by="label", dimension="acceptable"
    )
    assert set(by_label.summary["strata"]) <= {"acceptable", "non-acceptable", "no majority"}
    make_image(study.dataset, patient_key="")  # not in the study; no key: its own group
    whole = make_split(dataset=study.dataset, ratios=(0.5, 0.5, 0), seed=1)
    assert whole.assignments.count() == 4


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stratify_by": "label", "dimension": "gray-level"}, "binary or category"),
        ({"stratify_by": "mos_bins", "dimension": "acceptable"}, "score dimension"),
        ({"stratify_by": "mos_bins", "dimension": "loudness"}, "no dimension 'loudness'"),
        ({"stratify_by": "mos_bins"}, "needs a dimension"),
        ({"stratify_by": "coin"}, "stratify_by must be"),
    ],
)
def test_split_errors_are_explained(study, kwargs, message):
    with pytest.raises(SplitError, match=message):
        make_split(study=study, ratios=(0.7, 0.15, 0.15), seed=0, **kwargs)
    assert Split.objects.count() == 0


@pytest.mark.django_db
def test_make_split_command_prints_the_split_id(study):
    out = io.StringIO()
    call_command(
        "make_split",
        study.name,
        "--seed",
        "3",
        "--ratios",
        "2",
        "1",
        "1",
        stdout=out,
        stderr=io.StringIO(),
    )
    split = Split.objects.get(pk=int(out.getvalue()))
    assert split.ratios == (0.5, 0.25, 0.25)
    with pytest.raises(CommandError, match="score"):
        call_command(
            "make_split",
            study.name,
            "--seed",
            "3",
            "--stratify",
            "label",
            "--dimension",
            "sharpness",
        )
