"""records_for_study: a study's submitted ratings as the long-format records ratings.stats reads."""

import pytest

from ratings.models import Assessment, AssessmentStatus, Dimension, DimensionKind, Rating
from ratings.results.records import category_orders, records_for_study
from tests.factories import names

pytestmark = pytest.mark.django_db


def _rate(study, rater, image, values: dict[str, int], status=AssessmentStatus.SUBMITTED, **kw):
    assessment = Assessment.objects.create(
        study=study, image=image, rater=rater, status=status, **kw
    )
    for key, value in values.items():
        Rating.objects.create(
            assessment=assessment, dimension=study.dimensions.get(key=key), value=value
        )
    return assessment


def test_records_carry_pseudonyms_keys_and_category_labels(study, people):
    Dimension.objects.create(
        study=study,
        key="grade",
        label="Grade",
        kind=DimensionKind.CATEGORY,
        min_value=0,
        max_value=2,
        categories=["non-diagnostic", "diagnostic", "excellent"],
    )
    image = study.images.first()
    _rate(
        study,
        people[names.RATER],
        image,
        {"gray-level": 7, "acceptable": 1, "grade": 2},
        active_ms=4200,
    )
    # An open (unsubmitted) reading is not a result.
    _rate(study, people[names.RATER2], image, {"gray-level": 3}, status=AssessmentStatus.OPEN)

    records = sorted(records_for_study(study), key=lambda r: r["dimension"])

    assert records == [
        {
            "image": image.label,
            "rater": "R-alice",
            "dimension": "acceptable",
            "value": 1,
            "duration_ms": 4200,
            "group": "other",
        },
        {
            "image": image.label,
            "rater": "R-alice",
            "dimension": "grade",
            "value": "excellent",
            "duration_ms": 4200,
            "group": "other",
        },
        {
            "image": image.label,
            "rater": "R-alice",
            "dimension": "gray-level",
            "value": 7,
            "duration_ms": 4200,
            "group": "other",
        },
    ]
    assert category_orders(study) == {"grade": ["non-diagnostic", "diagnostic", "excellent"]}
    assert "alice" not in str(records).replace("R-alice", "")


def test_repeat_readings_come_after_every_first_reading(study, people):
    first, second = list(study.images.all())[:2]
    alice = people[names.RATER]
    _rate(study, alice, first, {"gray-level": 4}, repeat_index=1)
    _rate(study, alice, first, {"gray-level": 5})
    _rate(study, alice, second, {"gray-level": 6})

    values = [r["value"] for r in records_for_study(study)]
    assert values[-1] == 4
    assert sorted(values[:2]) == [5, 6]
    assert [r["value"] for r in records_for_study(study, repeats=False)] != []
    assert 4 not in [r["value"] for r in records_for_study(study, repeats=False)]
    assert {r["dimension"] for r in records_for_study(study, dimensions=["sharpness"])} == set()
