"""The assisted-reading arm against an unassisted reading of the same images, on planted times
and ratings whose medians, MADs and ICCs are worked out by hand below."""

import pytest
from rest_framework.test import APIClient

from demo.seeding import chest_paper_dimensions
from inference.assisted import assisted_comparison
from ratings.models import Membership, ReaderStudy, Role, StudyImage
from tests.factories import make_study, names, rate

KEY = "gray-level"


@pytest.fixture
def arms(people):
    """Unassisted: raters A and B read images 1-4. Assisted: rater C reads images 1-3 with the
    model's output (image 4 is not in it), once more image 1 as a repeat."""
    unassisted = make_study(people, n_images=4)
    images = list(unassisted.dataset.images.order_by("pk"))
    assisted = ReaderStudy.objects.create(
        name="assisted", dataset=unassisted.dataset, show_model_output=True
    )
    chest_paper_dimensions(assisted)
    for image in images[:3]:
        StudyImage.objects.create(study=assisted, image=image)
    for user, role in [(names.OUTSIDER, Role.RATER), (names.COORDINATOR, Role.COORDINATOR),
                       (names.RESEARCHER, Role.RESEARCHER)]:  # fmt: skip
        Membership.objects.create(user=people[user], study=assisted, role=role)
    a, b, c = people[names.RATER], people[names.RATER2], people[names.OUTSIDER]
    for image, (va, ma), (vb, mb) in zip(
        images,
        [(5, 4000), (3, 5000), (8, 3000), (2, 99_000)],
        [(7, 6000), (3, 7000), (6, 9000), (2, 99_000)],
        strict=True,
    ):
        rate(unassisted, a, image, {KEY: va}, active_ms=ma)
        rate(unassisted, b, image, {KEY: vb}, active_ms=mb)
    for image, (vc, mc) in zip(images, [(6, 2000), (3, 3000), (7, 4000)], strict=False):
        rate(assisted, c, image, {KEY: vc}, active_ms=mc)
    rate(assisted, c, images[0], {KEY: 1}, active_ms=500_000, repeat_index=1)
    return assisted, unassisted, images


@pytest.mark.django_db
def test_time_and_agreement_per_arm_against_the_unassisted_mos(arms):
    assisted, unassisted, _ = arms
    out = assisted_comparison(assisted, unassisted)
    assert out["dimension"] == KEY and out["n_images"] == 3
    # Assisted: C's 6, 3, 7 equal the unassisted MOS (6, 3, 7): MAD 0, ICC 1. Median of
    # 2000, 3000, 4000 (the repeat's 500 000 left out) = 3000.
    arm = out["assisted"]
    assert arm["median_active_ms"] == 3000 and arm["n_readings"] == 3 and arm["n_raters"] == 1
    assert arm["mad"] == 0 and arm["icc"]["value"] == pytest.approx(1.0)
    # Unassisted, leave-one-out: A's 5 against B's 7, B's 7 against A's 5, 3 v 3 twice,
    # 8 v 6 and 6 v 8: MAD = (2+2+0+0+2+2)/6 = 4/3. Image 4 (not in the assisted arm) is out:
    # median of 4000..9000 (six readings) = (5000 + 6000) / 2.
    arm = out["unassisted"]
    assert arm["median_active_ms"] == 5500 and arm["n_pairs"] == 6 and arm["n_raters"] == 2
    assert arm["mad"] == pytest.approx(4 / 3)
    # ICC(A,1) by hand: row means 6,6,3,3,7,7 (grand 16/3), both column means 16/3 so JMS = 0;
    # SS rows = 2 * 2 * (4/9 + 49/9 + 25/9) = 104/3, BMS = 104/15; SS total = 128/3, so
    # SSE = 8, EMS = 8/5; ICC = (BMS - EMS) / (BMS + EMS + 2 (JMS - EMS) / 6) = (16/3) / 8.
    assert arm["icc"]["value"] == pytest.approx(2 / 3)


@pytest.mark.django_db
def test_a_chosen_reference_study(arms, people):
    assisted, unassisted, images = arms
    reference = ReaderStudy.objects.create(name="reference", dataset=unassisted.dataset)
    chest_paper_dimensions(reference)
    for image, value in zip(images[:3], (6, 3, 7), strict=True):
        StudyImage.objects.create(study=reference, image=image)
        rate(reference, people[names.RESEARCHER], image, {KEY: value})
    out = assisted_comparison(assisted, unassisted, reference=reference)
    # No leave-one-out now: A 5/3/8 and B 7/3/6 against 6/3/7 -> MAD (1+0+1+1+0+1)/6.
    assert out["unassisted"]["mad"] == pytest.approx(4 / 6)
    assert out["reference"]["study"] == reference.pk


@pytest.mark.django_db
def test_the_api_for_coordinators_and_researchers_only(arms, people):
    assisted, unassisted, _ = arms
    url = f"/api/v1/studies/{assisted.pk}/assisted-comparison/"
    for who in (names.COORDINATOR, names.RESEARCHER):
        client = APIClient()
        client.force_login(people[who])
        response = client.get(url, {"against": unassisted.pk})
        assert response.status_code == 200
        assert response.json()["unassisted"]["median_active_ms"] == 5500
    client = APIClient()
    client.force_login(people[names.COORDINATOR])
    assert client.get(url).status_code == 400  # no ?against=
    assert client.get(url, {"against": "x"}).status_code == 400
    assert client.get(url, {"against": assisted.pk}).status_code == 400  # itself, assisted
    assert client.get(url, {"against": unassisted.pk, "dimension": "nope"}).status_code == 400
    backwards = f"/api/v1/studies/{unassisted.pk}/assisted-comparison/"
    assert client.get(backwards, {"against": assisted.pk}).status_code == 400
    rater = APIClient()
    rater.force_login(people[names.OUTSIDER])  # rates the assisted arm
    assert rater.get(url, {"against": unassisted.pk}).status_code == 403
