"""Study life cycle: closed takes no ratings (409 study_closed), archived is hidden, data stays."""

import uuid

import pytest
from rest_framework.test import APIClient

from ratings.models import Assessment, Rating
from tests.factories import names, rate
from tests.ratings.test_submission import GOOD, timing

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def change(study, user, action):
    return api(user).post(f"/api/v1/studies/{study.pk}/state/", {"action": action}, format="json")


def submit(client, study, client_id=None):
    image = study.images.order_by("pk").first()
    body = {
        "client_id": str(client_id or uuid.uuid4()),
        "image": image.pk,
        "ratings": GOOD,
        "timing": timing(),
    }
    return client.post(f"/api/v1/studies/{study.pk}/assessments/", body, format="json")


def test_a_closed_study_refuses_ratings_with_a_code_and_reopens(study, people):
    alice = api(people[names.RATER])
    stored_id = uuid.uuid4()
    assert submit(alice, study, stored_id).status_code == 201

    closed = change(study, people[names.COORDINATOR], "close")
    assert closed.status_code == 200
    assert closed.json()["state"] == "closed"

    refused = api(people[names.RATER2]).post(
        f"/api/v1/studies/{study.pk}/assessments/",
        {
            "client_id": str(uuid.uuid4()),
            "image": study.images.order_by("pk").first().pk,
            "ratings": GOOD,
            "timing": timing(),
        },
        format="json",
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "study_closed"
    assert "takes no new or changed ratings" in refused.json()["detail"]
    changed = alice.patch(
        f"/api/v1/studies/{study.pk}/assessments/{stored_id}/",
        {"ratings": {"gray-level": 2}, "edit_id": str(uuid.uuid4()), "timing": timing()},
        format="json",
    )
    assert changed.status_code == 409
    assert changed.json()["code"] == "study_closed"
    assert alice.get(f"/api/v1/studies/{study.pk}/worklist/").json()["code"] == "study_closed"
    # A retry of what was stored before closing learns that it was stored.
    assert submit(alice, study, stored_id).status_code == 200
    assert Assessment.objects.count() == 1
    assert Rating.objects.get(dimension__key="gray-level").value == GOOD["gray-level"]

    assert change(study, people[names.COORDINATOR], "reopen").json()["state"] == "open"
    assert submit(api(people[names.RATER2]), study).status_code == 201


def test_only_coordinators_change_the_state_and_bad_actions_are_400(study, people):
    assert change(study, people[names.RATER], "close").status_code == 403
    assert change(study, people[names.RESEARCHER], "archive").status_code == 403
    assert change(study, people[names.COORDINATOR], "delete").status_code == 400
    assert change(study, people[names.COORDINATOR], "reopen").json()["code"] == "state_unchanged"
    study.refresh_from_db()
    assert study.state == "open"


def test_an_archived_study_is_hidden_but_its_data_stays(client, study, people):
    rate(study, people[names.RATER], study.images.first(), {"gray-level": 4})
    assert change(study, people[names.COORDINATOR], "archive").json()["state"] == "archived"

    rater = api(people[names.RATER])
    assert study.pk not in [s["id"] for s in rater.get("/api/v1/studies/").json()["results"]]
    client.force_login(people[names.RATER])
    assert study.name not in client.get("/").content.decode()

    coordinator = api(people[names.COORDINATOR])
    assert not coordinator.get("/api/v1/studies/").json()["results"]
    everything = coordinator.get("/api/v1/studies/?archived=1").json()["results"]
    assert [s["state"] for s in everything] == ["archived"]
    client.force_login(people[names.COORDINATOR])
    assert study.name not in client.get("/studies/").content.decode()
    assert study.name in client.get("/studies/?archived=1").content.decode()
    assert Rating.objects.filter(assessment__study=study).count() == 1
    assert coordinator.get(f"/api/v1/studies/{study.pk}/mos/").status_code == 200


def test_the_reading_page_of_a_closed_study_says_so(client, study, people):
    change(study, people[names.COORDINATOR], "close")
    client.force_login(people[names.RATER])
    response = client.get(f"/studies/{study.pk}/read/")
    assert response.status_code == 409
    assert "is closed: it takes no new or changed ratings" in response.content.decode()
    assert "closed: no new ratings" in client.get("/").content.decode()
