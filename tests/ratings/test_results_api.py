"""The per-study results API: agreement report, MOS and progress, and who may read them."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ratings.models import AssessmentStatus
from tests.factories import names, rate

pytestmark = pytest.mark.django_db

GRAY = {"alice": [7, 5, 9], "bob": [8, 5, 3]}
SHARP = {"alice": [6, 6, 8], "bob": [6, 7, 8]}


@pytest.fixture
def rated(study, people):
    """alice and bob have each rated the study's three images on both score dimensions."""
    images = list(study.images.order_by("pk"))
    for who in (names.RATER, names.RATER2):
        for i, image in enumerate(images):
            rate(
                study,
                people[who],
                image,
                {"gray-level": GRAY[who][i], "sharpness": SHARP[who][i], "acceptable": 1},
                active_ms=(i + 1) * 1000 + (500 if who == names.RATER2 else 0),
                submitted_at=timezone.now(),
            )
    return study


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


ENDPOINTS = ["agreement", "mos", "progress"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("who", "status"),
    [
        (names.COORDINATOR, 200),
        (names.RESEARCHER, 200),
        (names.STAFF, 200),
        (names.RATER, 403),
        (names.OUTSIDER, 404),
    ],
)
def test_who_may_read_results(rated, people, endpoint, who, status):
    response = client_for(people[who]).get(f"/api/v1/studies/{rated.pk}/{endpoint}/")
    assert response.status_code == status


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_is_refused(rated, endpoint):
    response = APIClient().get(f"/api/v1/studies/{rated.pk}/{endpoint}/")
    assert response.status_code in (401, 403)


def test_agreement_follows_the_json_contract(rated, people):
    body = (
        client_for(people[names.COORDINATOR]).get(f"/api/v1/studies/{rated.pk}/agreement/").json()
    )
    gray = body["dimensions"]["gray-level"]
    assert gray["n_images"] == 3
    assert gray["n_raters"] == 2
    assert set(gray["icc"]) >= {"ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"}
    assert set(gray["icc"]["ICC2"]) >= {"value", "ci95", "F", "df1", "df2", "p"}
    assert set(gray["krippendorff_alpha"]) == {"nominal", "ordinal", "interval"}
    assert "fleiss_kappa" in gray
    assert set(gray["cohen_kappa"]["R-alice|R-bob"]) >= {"unweighted", "linear", "quadratic"}
    assert set(gray["jaccard"]["R-alice|R-bob"]) >= {"classes", "matrix"}
    # The report names raters by pseudonym only.
    assert set(gray["raters"]) == {"R-alice", "R-bob"}
    assert '"alice"' not in str(body).replace("'", '"')


def test_mos_values_match_the_ratings(rated, people):
    body = client_for(people[names.RESEARCHER]).get(
        f"/api/v1/studies/{rated.pk}/mos/", {"dimension": "gray-level"}
    )
    assert body.status_code == 200
    rows = body.json()["results"]
    assert {row["dimension"] for row in rows} == {"gray-level"}
    assert [row["mos"] for row in rows] == pytest.approx([7.5, 5.0, 6.0])
    assert rows[0]["n"] == 2
    assert set(rows[0]) >= {"image", "n", "mos", "sd", "median", "ci95_low", "ci95_high"}


def test_mos_pages_with_a_cursor_and_the_pages_make_the_whole_table(study, people):
    """Seven images, two per page: four pages, following `next`, equal the MOS export."""
    from ratings.models import StudyImage
    from ratings.results.mos_table import MOS_COLUMNS, mos_rows
    from tests.factories import make_image

    for _ in range(4):
        StudyImage.objects.create(study=study, image=make_image(study.dataset))
    for i, image in enumerate(study.images.order_by("pk")):
        for j, who in enumerate((names.RATER, names.RATER2)):
            if (i + j) % 3:  # some gaps; image 0 is rated by one rater only
                rate(study, people[who], image, {"gray-level": 1 + (i * 3 + j) % 10})
    api = client_for(people[names.COORDINATOR])
    url, pages = f"/api/v1/studies/{study.pk}/mos/?page_size=2", []
    while url:
        body = api.get(url).json()
        pages.append(body["results"])
        url = body["next"]
    assert len(pages) == 4
    assert all(len(page) == 2 * study.dimensions.count() for page in pages[:3])
    whole = [dict(zip(MOS_COLUMNS, row, strict=True)) for row in mos_rows(study)]
    assert [row for page in pages for row in page] == whole
    # Backwards too: the last page's `previous` is the third page.
    assert api.get(body["previous"]).json()["results"] == pages[2]


def test_mos_of_an_unknown_dimension_is_a_clear_404(rated, people):
    response = client_for(people[names.COORDINATOR]).get(
        f"/api/v1/studies/{rated.pk}/mos/", {"dimension": "contrast"}
    )
    assert response.status_code == 404
    assert "contrast" in response.json()["detail"]


def test_unknown_dimension_is_a_clear_404(rated, people):
    response = client_for(people[names.COORDINATOR]).get(
        f"/api/v1/studies/{rated.pk}/agreement/", {"dimension": "contrast"}
    )
    assert response.status_code == 404
    assert "contrast" in response.json()["detail"]
    assert "gray-level" in response.json()["detail"]


def test_progress_counts_first_readings_and_median_time(rated, people):
    # A skipped image and an open reading of a fourth rater-less image change nothing done.
    extra = rated.images.order_by("pk").first()
    rate(rated, people[names.RATER], extra, {}, repeat_index=1, status=AssessmentStatus.OPEN)
    body = client_for(people[names.COORDINATOR]).get(f"/api/v1/studies/{rated.pk}/progress/").json()
    rows = {row["rater"]: row for row in body["raters"]}
    assert body["n_images"] == 3
    assert rows["R-alice"]["done"] == 3
    assert rows["R-alice"]["total"] == 3
    assert rows["R-alice"]["median_active_ms"] == 2000
    assert rows["R-bob"]["median_active_ms"] == 2500
    assert "alice" not in rows


def test_report_is_recomputed_after_a_new_rating(rated, people):
    client = client_for(people[names.COORDINATOR])
    url = f"/api/v1/studies/{rated.pk}/mos/"
    before = client.get(url, {"dimension": "gray-level"}).json()
    assert before["results"][0]["n"] == 2
    rate(rated, people[names.STAFF], rated.images.order_by("pk").first(), {"gray-level": 1})
    after = client.get(url, {"dimension": "gray-level"}).json()
    assert after["results"][0]["n"] == 3
    assert after["results"][0]["mos"] == pytest.approx(16 / 3, abs=1e-4)


def test_a_study_without_ratings_answers_an_empty_report(study, people):
    client = client_for(people[names.COORDINATOR])
    assert client.get(f"/api/v1/studies/{study.pk}/agreement/").json() == {"dimensions": {}}
    progress = client.get(f"/api/v1/studies/{study.pk}/progress/").json()
    assert [row["done"] for row in progress["raters"]] == [0, 0]


def test_command_prints_the_same_report_as_the_api(rated, people):
    import json
    from io import StringIO

    from django.core.management import call_command

    from ratings.models import Dimension, DimensionKind

    # Labels whose order is not alphabetical: both must use the study's order.
    grade = Dimension.objects.create(
        study=rated,
        key="grade",
        label="Grade",
        kind=DimensionKind.CATEGORY,
        min_value=0,
        max_value=2,
        categories=["poor", "moderate", "excellent"],
    )
    for reading in rated.assessments.all():
        reading.ratings.create(dimension=grade, value=reading.image_id % 3)
    out = StringIO()
    call_command("agreement", str(rated.pk), "--json", stdout=out)
    api = client_for(people[names.COORDINATOR]).get(f"/api/v1/studies/{rated.pk}/agreement/")
    assert json.loads(out.getvalue()) == api.json()
    assert api.json()["dimensions"]["grade"]["majority"]["classes"] == [
        "poor",
        "moderate",
        "excellent",
    ]
