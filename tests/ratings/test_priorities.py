"""ratings.services.priorities: the one writer of StudyImage.priority (active learning's hook)."""

import pytest

from ratings.models import StudyImage
from ratings.services.priorities import NotInStudy, prioritise
from tests.factories import make_dataset, make_study


@pytest.fixture
def big_study(people):
    return make_study(people, n_images=8)


def priorities(study) -> dict[int, int]:
    return dict(StudyImage.objects.filter(study=study).values_list("image_id", "priority"))


def test_each_call_goes_above_everything_before_it(big_study):
    ids = sorted(priorities(big_study))
    assert prioritise(big_study, ids[:2]) == 1
    assert prioritise(big_study, ids[2:3]) == 2
    assert priorities(big_study) == {**dict.fromkeys(ids, 0), ids[0]: 1, ids[1]: 1, ids[2]: 2}


def test_an_image_of_another_study_changes_nothing(big_study):
    stranger = make_dataset(n_images=1).images.first()
    ids = sorted(priorities(big_study))
    with pytest.raises(NotInStudy, match=str(stranger.pk)):
        prioritise(big_study, [ids[0], stranger.pk])
    with pytest.raises(NotInStudy):
        prioritise(big_study, [])
    assert set(priorities(big_study).values()) == {0}
