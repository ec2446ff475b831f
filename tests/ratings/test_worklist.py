"""Worklists: a reproducible order per rater, priority first, resuming, dimensions that apply."""

import pytest

from ratings.models import Assessment, AssessmentStatus, Dimension, ReaderStudy, StudyImage
from ratings.worklist import build_worklist, dimensions_by_image, dimensions_for
from tests.factories import make_study, names


@pytest.fixture
def big_study(people):
    return make_study(people, n_images=30)


def order(study, user):
    return [item.image_id for item in build_worklist(study, user).items]


def test_each_rater_has_an_own_order_that_is_the_same_every_time(big_study, people):
    alice, bob = people[names.RATER], people[names.RATER2]
    first = order(big_study, alice)
    assert order(big_study, alice) == first
    assert ReaderStudy.objects.get(pk=big_study.pk) and order(big_study, alice) == first
    assert sorted(first) == sorted(big_study.images.values_list("id", flat=True))
    assert order(big_study, bob) != first
    assert first != sorted(first)  # shuffled, not the import order


def test_the_order_depends_on_the_study_seed(big_study, people):
    alice = people[names.RATER]
    before = order(big_study, alice)
    big_study.order_seed = 12345
    big_study.save()
    assert order(big_study, alice) != before


def test_higher_priority_images_come_first_and_the_rest_keep_their_order(big_study, people):
    alice = people[names.RATER]
    before = order(big_study, alice)
    wanted = [before[-1], before[10]]
    StudyImage.objects.filter(study=big_study, image_id__in=wanted).update(priority=5)
    after = order(big_study, alice)
    assert set(after[:2]) == set(wanted)
    assert after[2:] == [i for i in before if i not in wanted]


def test_resume_is_the_first_unfinished_image_in_the_order(big_study, people):
    alice, bob = people[names.RATER], people[names.RATER2]
    ids = order(big_study, alice)
    worklist = build_worklist(big_study, alice)
    assert worklist.next_position == 0 and worklist.n_finished == 0
    for image_id, status in [
        (ids[0], AssessmentStatus.SUBMITTED),
        (ids[1], AssessmentStatus.SKIPPED),
        (ids[3], AssessmentStatus.SUBMITTED),
    ]:
        Assessment.objects.create(study=big_study, image_id=image_id, rater=alice, status=status)
    # Bob's readings do not move Alice's place.
    Assessment.objects.create(
        study=big_study, image_id=ids[2], rater=bob, status=AssessmentStatus.SUBMITTED
    )
    worklist = build_worklist(big_study, alice)
    assert worklist.next_position == 2
    assert (worklist.n_submitted, worklist.n_skipped, worklist.n_finished) == (2, 1, 3)
    assert [item.status for item in worklist.items[:4]] == [
        "submitted",
        "skipped",
        "todo",
        "submitted",
    ]


def test_all_done_has_no_next_position(study, people):
    alice = people[names.RATER]
    for image in study.images.all():
        Assessment.objects.create(
            study=study, image=image, rater=alice, status=AssessmentStatus.SUBMITTED
        )
    assert build_worklist(study, alice).next_position is None


def test_dimensions_limited_to_raters_or_images_apply_only_there(study, people):
    alice, bob = people[names.RATER], people[names.RATER2]
    images = list(study.images.all())
    only_bob = Dimension.objects.create(study=study, key="noise", label="Noise", order=5)
    only_bob.raters.add(bob)
    only_first = Dimension.objects.create(study=study, key="motion", label="Motion", order=6)
    only_first.images.add(images[0])
    everyone = {"gray-level", "sharpness", "acceptable"}

    def keys(user, image):
        return {d.key for d in dimensions_for(study, user, image.id)}

    assert keys(alice, images[0]) == everyone | {"motion"}
    assert keys(alice, images[1]) == everyone
    assert keys(bob, images[0]) == everyone | {"noise", "motion"}
    assert keys(bob, images[1]) == everyone | {"noise"}
    # The bulk form used by the worklist agrees with the per-image one.
    for user in (alice, bob):
        bulk = dimensions_by_image(study, user, [i.id for i in images])
        for image in images:
            assert bulk[image.id] == [d.id for d in dimensions_for(study, user, image.id)]
