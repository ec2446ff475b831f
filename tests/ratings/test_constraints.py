"""The database itself refuses impossible data: out-of-range values, duplicate readings."""

import pytest
from django.db import IntegrityError, transaction

from ratings.models import Assessment, Rating
from tests.factories import names


@pytest.fixture
def assessment(study, people):
    return Assessment.objects.create(
        study=study, image=study.images.first(), rater=people[names.RATER]
    )


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("gray-level", 1, True),
        ("gray-level", 10, True),
        ("gray-level", 0, False),
        ("gray-level", 11, False),
        ("acceptable", 1, True),
        ("acceptable", 2, False),
        ("acceptable", -1, False),
    ],
)
def test_rating_value_must_lie_in_its_dimension_range(assessment, study, key, value, allowed):
    dimension = study.dimensions.get(key=key)
    if allowed:
        Rating.objects.create(assessment=assessment, dimension=dimension, value=value)
        return
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.create(assessment=assessment, dimension=dimension, value=value)


def test_an_update_out_of_range_is_refused_too(assessment, study):
    rating = Rating.objects.create(
        assessment=assessment, dimension=study.dimensions.get(key="sharpness"), value=5
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.filter(pk=rating.pk).update(value=42)
    rating.refresh_from_db()
    assert rating.value == 5


def test_one_current_rating_per_assessment_and_dimension(assessment, study):
    dimension = study.dimensions.get(key="sharpness")
    Rating.objects.create(assessment=assessment, dimension=dimension, value=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.create(assessment=assessment, dimension=dimension, value=6)


def test_one_assessment_per_rater_image_and_study(assessment):
    with pytest.raises(IntegrityError), transaction.atomic():
        Assessment.objects.create(
            study=assessment.study, image=assessment.image, rater=assessment.rater
        )
