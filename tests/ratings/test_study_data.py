"""The fast route from the database to the report gives exactly the records route's report."""

import json

import numpy as np
import pytest

from ratings.models import Dimension, DimensionKind, Profession, RaterProfile
from ratings.results.records import category_orders, records_for_study
from ratings.results.study_data import study_report
from ratings.stats.report import agreement_report
from tests.factories import make_study, rate


@pytest.fixture
def rated_study(people, make_user):
    study = make_study(people, n_images=12)
    Dimension.objects.create(
        study=study, key="mr-quality", label="Quality", kind=DimensionKind.CATEGORY,
        min_value=0, max_value=2, categories=["non-diagnostic", "diagnostic", "excellent"],
        order=3,
    )  # fmt: skip
    rng = np.random.default_rng(5)
    raters = []
    for index in range(5):
        user = make_user(f"reader{index}")
        # Pseudonyms sort differently from user ids, as they may in real studies.
        RaterProfile.objects.create(
            user=user, pseudonym=f"P{(7 * index) % 5}",
            profession=[Profession.RADIOLOGIST, Profession.RADIOGRAPHER][index % 2],
        )  # fmt: skip
        raters.append(user)
    images = list(study.images.all())
    for r_index, rater in enumerate(raters):
        for i_index, image in enumerate(images):
            if rng.uniform() < 0.15:
                continue  # left unrated: missing data
            truth = 2 + i_index % 8
            values = {
                "gray-level": int(np.clip(truth + r_index - 2 + rng.integers(-1, 2), 1, 10)),
                "sharpness": int(np.clip(truth + rng.integers(-2, 3), 1, 10)),
                "mr-quality": int(min(2, truth // 4 + rng.integers(0, 2) * (r_index % 2))),
            }
            if r_index < 3:
                values["acceptable"] = int(truth >= 6)
            active = None if rng.uniform() < 0.1 else int(rng.lognormal(9.3, 0.4))
            rate(study, rater, image, values, active_ms=active)
            if i_index < 6 and r_index < 2:  # test-retest repeats
                rate(study, rater, image, values, active_ms=active, repeat_index=1)
    return study


def _canonical(report) -> str:
    return json.dumps(report, sort_keys=True, default=str)


def test_both_routes_give_the_same_report(rated_study):
    by_records = agreement_report(
        records_for_study(rated_study), category_orders=category_orders(rated_study)
    )
    direct = study_report(rated_study)
    assert set(direct["dimensions"]) == {"gray-level", "sharpness", "acceptable", "mr-quality"}
    assert _canonical(direct) == _canonical(by_records)


def test_one_dimension_only(rated_study):
    report = study_report(rated_study, ["sharpness"])
    assert list(report["dimensions"]) == ["sharpness"]
    assert report["dimensions"]["sharpness"]["n_raters"] == 5


def test_the_fast_read_matches_the_orm_and_leaves_out_open_readings(rated_study, people):
    from ratings.models import Rating
    from ratings.results.records import rating_columns

    open_reading = rate(
        rated_study, people["alice"], rated_study.images.first(), {"sharpness": 3},
        status="open",
    )  # fmt: skip
    columns = rating_columns(rated_study)
    fast = sorted(
        zip(
            columns.image_id.tolist(), columns.rater_id.tolist(), columns.dimension_id.tolist(),
            columns.value.tolist(), columns.repeat_index.tolist(), strict=True,
        )
    )  # fmt: skip
    orm = sorted(
        Rating.objects.filter(assessment__study=rated_study, assessment__status="submitted")
        .values_list(
            "assessment__image_id", "assessment__rater_id", "dimension_id", "value",
            "assessment__repeat_index",
        )
    )  # fmt: skip
    assert fast == orm
    assert open_reading.rater_id not in columns.rater_id.tolist()
