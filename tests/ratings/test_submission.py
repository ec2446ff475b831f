"""Submitting, changing and skipping readings through the API: idempotency, revisions, timing."""

import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from ratings import reading
from ratings.models import (
    Assessment,
    AuditAction,
    AuditEvent,
    Dimension,
    DimensionKind,
    Rating,
    RatingRevision,
)
from tests.factories import names

GOOD = {"gray-level": 7, "sharpness": 6, "acceptable": 1}


def timing(**overrides):
    now = time.time() * 1000
    body = {
        "opened_wall": now - 12_000,
        "submitted_wall": now - 10,
        "sent_wall": now,
        "rendered_ms": 40,
        "submitted_ms": 12_000,
        "active_ms": 9_500,
        "first_input_ms": {"gray-level": 5_000, "sharpness": 7_000, "acceptable": 9_000},
        "counts": {"zoom": 2, "pan": 1, "window": 3, "scroll": 0},
        "viewport": {"window_width": 4096, "window_center": 2048, "zoom": 1.5, "invert": False},
    }
    body.update(overrides)
    return body


@pytest.fixture
def alice(people):
    client = APIClient()
    client.force_authenticate(people[names.RATER])
    return client


@pytest.fixture
def image(study):
    return study.images.order_by("id").first()


def submit(client, study, image, client_id=None, **body):
    payload = {
        "client_id": str(client_id or uuid.uuid4()),
        "image": image.id,
        "ratings": GOOD,
        "timing": timing(),
    }
    payload.update(body)
    return client.post(f"/api/v1/studies/{study.id}/assessments/", payload, format="json")


def test_a_submission_stores_ratings_and_checked_timing(alice, study, image, people):
    response = submit(alice, study, image)
    assert response.status_code == 201, response.json()
    assert response.json()["ratings"] == GOOD
    a = Assessment.objects.get()
    assert (a.rater, a.image, a.status) == (people[names.RATER], image, "submitted")
    assert a.active_ms == 9_500
    assert (a.zoom_count, a.pan_count, a.window_count, a.scroll_count) == (2, 1, 3, 0)
    assert a.final_viewport == {
        "window_width": 4096,
        "window_center": 2048,
        "zoom": 1.5,
        "invert": False,
    }
    assert abs((a.submitted_at - a.opened_at).total_seconds() - 12.0) < 0.01
    assert abs((a.first_rendered_at - a.opened_at).total_seconds() - 0.04) < 0.01
    assert abs((timezone.now() - a.submitted_at).total_seconds()) < 5
    assert a.client_timing["client"]["active_ms"] == 9_500  # the raw values, kept
    assert a.client_timing["server"]["flags"] == []
    first_inputs = dict(a.ratings.values_list("dimension__key", "first_input_ms"))
    assert first_inputs == {"gray-level": 5_000, "sharpness": 7_000, "acceptable": 9_000}


def test_the_same_client_id_again_stores_one_rating_and_answers_the_stored_one(alice, study, image):
    client_id = uuid.uuid4()
    first = submit(alice, study, image, client_id)
    assert first.status_code == 201
    # A retry after a network error (even one whose body changed) stores nothing new.
    again = submit(alice, study, image, client_id, ratings={**GOOD, "gray-level": 2})
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Assessment.objects.count() == 1
    assert Rating.objects.count() == 3
    assert Rating.objects.get(dimension__key="gray-level").value == 7


def test_concurrent_retries_with_one_client_id_make_one_row(transactional_db, people, study, image):
    client_id = uuid.uuid4()
    barrier = threading.Barrier(4)
    outcomes, failures = [], []

    def go():
        try:
            barrier.wait()
            outcome = reading.submit_assessment(
                study=study,
                rater=people[names.RATER],
                image_id=image.id,
                client_id=client_id,
                values=GOOD,
                timing=timing(),
            )
            outcomes.append(outcome.created)
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    assert sorted(outcomes) == [False, False, False, True]
    assert Assessment.objects.count() == 1
    # The losers' audit events rolled back with their rows: one reading, one event.
    assert AuditEvent.objects.filter(action=AuditAction.RATING_CREATED).count() == 1


def test_a_second_tab_cannot_create_a_second_assessment(alice, study, image):
    first = submit(alice, study, image)
    second = submit(alice, study, image)  # another client id: another tab
    assert second.status_code == 409
    assert second.json()["existing_client_id"] == first.json()["client_id"]
    assert Assessment.objects.count() == 1


def test_a_change_keeps_the_old_value_as_a_revision_and_is_idempotent(alice, study, image, people):
    client_id = submit(alice, study, image).json()["client_id"]
    url = f"/api/v1/studies/{study.id}/assessments/{client_id}/"
    edit = {"ratings": {**GOOD, "gray-level": 4}, "edit_id": str(uuid.uuid4())}
    response = alice.patch(url, edit, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["ratings"]["gray-level"] == 4
    assert alice.patch(url, edit, format="json").status_code == 200  # retried
    assert alice.patch(url, {"ratings": edit["ratings"]}, format="json").status_code == 200
    revisions = list(RatingRevision.objects.all())
    assert [(r.rating.dimension.key, r.value, r.replaced_by) for r in revisions] == [
        ("gray-level", 7, people[names.RATER])
    ]
    assert Rating.objects.get(dimension__key="gray-level").value == 4
    a = Assessment.objects.get()
    assert [e["changed"] for e in a.client_timing["edits"]] == [["gray-level"]]
    # The first reading's timing is not overwritten by the change.
    assert a.active_ms == 9_500


def test_skip_needs_a_reason_and_can_be_rated_later(alice, study, image):
    response = submit(alice, study, image, ratings=None, skip_reason="Image cut off")
    assert response.status_code == 201, response.json()
    a = Assessment.objects.get()
    assert (a.status, a.skip_reason, a.ratings.count()) == ("skipped", "Image cut off", 0)
    url = f"/api/v1/studies/{study.id}/assessments/{a.client_id}/"
    partial = alice.patch(url, {"ratings": {"gray-level": 3}}, format="json")
    assert partial.status_code == 400  # a skipped image is rated whole
    assert alice.patch(url, {"ratings": GOOD}, format="json").status_code == 200
    a.refresh_from_db()
    assert (a.status, a.skip_reason, a.ratings.count()) == ("submitted", "", 3)


@pytest.mark.parametrize(
    ("ratings", "message"),
    [
        ({"gray-level": 7, "sharpness": 6}, "missing"),
        ({**GOOD, "gray-level": 11}, "outside"),
        ({**GOOD, "gray-level": 0}, "outside"),
        ({**GOOD, "acceptable": 2}, "outside"),
        ({**GOOD, "gray-level": "7"}, "integer"),
        ({**GOOD, "gray-level": True}, "integer"),
        ({**GOOD, "noise": 3}, "Not rated"),
        ([7, 6, 1], "object"),
    ],
)
def test_invalid_values_are_refused(alice, study, image, ratings, message):
    response = submit(alice, study, image, ratings=ratings)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Assessment.objects.exists()


def test_a_dimension_limited_to_another_rater_is_neither_asked_nor_accepted(
    alice, study, image, people
):
    noise = Dimension.objects.create(study=study, key="noise", label="Noise", order=4)
    noise.raters.add(people[names.RATER2])
    assert submit(alice, study, image, ratings={**GOOD, "noise": 4}).status_code == 400
    assert submit(alice, study, image).status_code == 201


def test_category_values_are_indices_into_the_labels(alice, study, image):
    Dimension.objects.create(
        study=study,
        key="diagnostic",
        label="Diagnostic quality",
        kind=DimensionKind.CATEGORY,
        min_value=0,
        max_value=2,
        categories=["non-diagnostic", "diagnostic", "excellent"],
        order=3,
    )
    assert submit(alice, study, image, ratings={**GOOD, "diagnostic": 3}).status_code == 400
    assert submit(alice, study, image, ratings={**GOOD, "diagnostic": 2}).status_code == 201


def test_timing_out_of_bounds_is_clamped_and_flagged(alice, study, image):
    now = time.time() * 1000
    body = timing(
        submitted_ms=5_000,
        rendered_ms=9_000,  # after the submission
        active_ms=60_000,  # more than the image was on screen
        counts={"zoom": -3, "pan": 2},
        first_input_ms={"gray-level": 999_999},
        # A client clock an hour fast: the server's clock places the reading.
        submitted_wall=now + 3_600_000 - 20,
        sent_wall=now + 3_600_000,
    )
    response = submit(alice, study, image, timing=body)
    assert response.status_code == 201, response.json()
    a = Assessment.objects.get()
    flags = set(a.client_timing["server"]["flags"])
    assert {"rendered_ms_clamped", "active_ms_clamped", "zoom_count_clamped"} <= flags
    assert a.first_rendered_at == a.submitted_at
    assert a.active_ms == 0  # no time on screen after the (clamped) first render
    assert a.zoom_count == 0 and a.pan_count == 2
    assert abs((timezone.now() - a.submitted_at).total_seconds()) < 5
    assert a.client_timing["client"]["active_ms"] == 60_000


def test_an_offline_rating_sent_later_keeps_its_own_time(alice, study, image):
    now = time.time() * 1000
    body = timing(submitted_wall=now - 3_600_000, sent_wall=now)  # queued for an hour
    assert submit(alice, study, image, timing=body).status_code == 201
    a = Assessment.objects.get()
    assert abs((timezone.now() - timedelta(hours=1) - a.submitted_at).total_seconds()) < 5


@pytest.mark.parametrize("bad", [{"submitted_ms": -5}, {"submitted_ms": None}, "nonsense"])
def test_unusable_timing_is_refused(alice, study, image, bad):
    body = timing(**bad) if isinstance(bad, dict) else bad
    assert submit(alice, study, image, timing=body).status_code == 400
    assert not Assessment.objects.exists()


def test_a_study_minimum_viewing_time_is_enforced(alice, study, image):
    study.min_view_ms = 5_000
    study.save()
    too_quick = submit(alice, study, image, timing=timing(submitted_ms=3_000, active_ms=2_000))
    assert too_quick.status_code == 400
    assert "at least 5 s" in too_quick.json()["detail"]
    assert submit(alice, study, image, timing=timing(submitted_ms=6_000)).status_code == 201


def test_an_image_that_never_showed_can_be_skipped_at_once(alice, study, image):
    study.min_view_ms = 5_000
    study.save()
    never_shown = timing(submitted_ms=800, rendered_ms=None, active_ms=700)
    refused = submit(alice, study, image, timing=never_shown)
    assert refused.status_code == 400
    skipped = submit(
        alice, study, image, ratings=None, skip_reason="Does not load", timing=never_shown
    )
    assert skipped.status_code == 201, skipped.json()
    assert Assessment.objects.get().first_rendered_at is None


def test_a_closed_study_takes_no_ratings(alice, study, image):
    study.is_open = False
    study.save()
    refused = submit(alice, study, image)
    assert refused.status_code == 409
    assert refused.json()["code"] == "study_closed"
    assert not Assessment.objects.exists()
