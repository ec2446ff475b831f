"""API errors carry a machine-readable `code`: clients decide by status and code, not by text."""

import uuid

from django.test import Client

from tests.factories import names


def post(client, study):
    return client.post(
        f"/api/v1/studies/{study.id}/assessments/",
        {"client_id": str(uuid.uuid4()), "ratings": {}},
        content_type="application/json",
    )


def test_each_refusal_has_its_code(study, people):
    anonymous = post(Client(), study)
    assert (anonymous.status_code, anonymous.json()["code"]) == (403, "not_authenticated")

    stale = Client(enforce_csrf_checks=True)  # a session whose page lost its CSRF token
    stale.force_login(people[names.RATER])
    csrf = post(stale, study)
    assert (csrf.status_code, csrf.json()["code"]) == (403, "csrf_failed")

    coordinator = Client()
    coordinator.force_login(people[names.COORDINATOR])
    denied = post(coordinator, study)
    assert (denied.status_code, denied.json()["code"]) == (403, "permission_denied")

    rater = Client()
    rater.force_login(people[names.RATER])
    invalid = post(rater, study)
    assert (invalid.status_code, invalid.json()["code"]) == (400, "invalid")
    missing = rater.get(f"/api/v1/studies/{study.id + 999}/worklist/")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
