"""The dashboard serves a snapshot a worker computes: a view never computes the report, every
change to the ratings makes the snapshot stale, and the worker brings it up to date."""

import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from ratings.models import Assessment, Membership, Rating, Role, StudyResults
from ratings.reading import change_assessment, submit_assessment
from ratings.results.snapshot import refresh
from tests.conftest import wait_for
from tests.factories import names, rate

GOOD = {"gray-level": 7, "sharpness": 6, "acceptable": 1}
TIMING = {"submitted_ms": 9000, "rendered_ms": 30, "active_ms": 8000}
RATING_TABLES = (Rating._meta.db_table, Assessment._meta.db_table)


def url(study) -> str:
    return f"/studies/{study.pk}/dashboard/"


def version(study) -> int:
    return StudyResults.objects.get(study=study).version


def kappa_cells(html: str) -> int:
    kappa = re.search(r'id="fig-kappa".*?</svg>', html, flags=re.DOTALL).group(0)
    return kappa.count('id="cell-')


def reads_ratings(queries) -> list[str]:
    return [q["sql"] for q in queries if any(t in q["sql"] for t in RATING_TABLES)]


@pytest.mark.django_db
def test_a_view_shows_the_last_snapshot_and_never_computes(client, rated, people):
    client.force_login(people[names.COORDINATOR])
    html = client.get(url(rated)).content.decode()
    assert "Results computed" in html
    assert "updating..." not in html
    assert kappa_cells(html) == 9  # three raters

    # A fourth rater's reading: the snapshot is now behind.
    rate(rated, people[names.STAFF], rated.images.order_by("pk").first(), GOOD)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(url(rated)).content.decode()
    assert reads_ratings(queries) == []
    assert "updating..." in html
    assert kappa_cells(html) == 9  # the last snapshot's figures, shown while updating

    refresh(rated.pk)  # what the worker does
    html = client.get(url(rated)).content.decode()
    assert "updating..." not in html
    assert kappa_cells(html) == 16


@pytest.mark.django_db
def test_a_never_computed_study_says_computing_without_reading_ratings(client, study, people):
    rate(study, people[names.RATER], study.images.first(), GOOD)
    client.force_login(people[names.COORDINATOR])
    with CaptureQueriesContext(connection) as queries:
        html = client.get(url(study)).content.decode()
    assert reads_ratings(queries) == []
    assert "Computing..." in html
    assert 'src="/static/frontend/results-status.js"' in html
    status = client.get(f"/studies/{study.pk}/dashboard/status/").json()
    assert status["computed_version"] is None
    assert status["version"] == version(study)


@pytest.mark.django_db
def test_every_change_to_the_ratings_bumps_the_version(study, people):
    from ratings.results.importer import import_ratings
    from ratings.studysetup import set_images
    from tests.factories import make_image

    alice = people[names.RATER]
    image = study.images.order_by("pk").first()
    seen = [version(study)]

    def bumped() -> bool:
        seen.append(version(study))
        return seen[-1] > seen[-2]

    client_id = uuid.uuid4()
    submit_assessment(
        study=study, rater=alice, image_id=image.pk, client_id=client_id, values=GOOD, timing=TIMING
    )
    assert bumped(), "submission"
    change_assessment(study=study, rater=alice, client_id=client_id, values={"gray-level": 3})
    assert bumped(), "edit"
    label = study.images.order_by("pk").last().label
    import_ratings(study, f"image,rater,dimension,value\n{label},R-imported,gray-level,4\n")
    assert bumped(), "import_ratings"
    set_images(study, [make_image(study.dataset).pk], replace=False)
    assert bumped(), "a new image"
    Assessment.objects.get(client_id=client_id).delete()
    assert bumped(), "deletion"
    Membership.objects.create(user=people[names.OUTSIDER], study=study, role=Role.RATER)
    assert bumped(), "a new rater"
    dimension = study.dimensions.get(key="gray-level")
    dimension.label = "Grey level"
    dimension.save()
    assert bumped(), "a dimension edit"


@pytest.mark.django_db
def test_refreshing_twice_computes_once(study, people):
    rate(study, people[names.RATER], study.images.first(), GOOD)
    assert refresh(study.pk) is True
    assert refresh(study.pk) is False
    row = StudyResults.objects.get(study=study)
    assert row.computed_version == row.version
    assert row.compute_ms is not None


@pytest.mark.worker
def test_a_submission_reaches_the_dashboard_through_the_worker(
    celery_worker, people, study, client
):
    # The worker's fixture first: setting the study up already queues a refresh, on its queue.
    client.force_login(people[names.COORDINATOR])
    rater = APIClient()
    rater.force_authenticate(people[names.RATER])
    wait_for(lambda: "Results computed" in client.get(url(study)).content.decode(), 90)
    html = client.get(url(study)).content.decode()
    assert re.search(r'data-rater="R-alice".*?0 / 3', html, flags=re.DOTALL)

    before = version(study)
    response = rater.post(
        f"/api/v1/studies/{study.pk}/assessments/",
        {
            "client_id": str(uuid.uuid4()),
            "image": study.images.order_by("pk").first().pk,
            "ratings": GOOD,
            "timing": TIMING,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert version(study) > before

    def shows_the_new_rating():
        html = client.get(url(study)).content.decode()
        return "updating..." not in html and re.search(
            r'data-rater="R-alice".*?1 / 3', html, flags=re.DOTALL
        )

    wait_for(shows_the_new_rating, 90)


@pytest.mark.browser
@pytest.mark.worker
def test_the_computing_page_reloads_itself_when_the_worker_is_done(
    celery_worker, people, study, live_server, page, login
):
    for who in (names.RATER, names.RATER2):
        for image in study.images.all():
            rate(study, people[who], image, GOOD)

    def settled():
        row = StudyResults.objects.get(study=study)
        return row.is_current and row.refresh_queued_at is None

    wait_for(settled, 90)
    # As a study from before results versions: never computed, nothing queued.
    StudyResults.objects.filter(study=study).update(computed_version=None, snapshot={})

    login(page, names.COORDINATOR)
    response = page.goto(f"{live_server.url}{url(study)}")
    assert "Computing..." in response.text()
    # The page's own script polls and reloads: the figures appear without a click.
    page.wait_for_selector("#results-status[data-state=current]", timeout=90_000)
    assert page.locator("svg.figure").count() >= 3
    assert "Results computed" in page.locator("#results-status").inner_text()
