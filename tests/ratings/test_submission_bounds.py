"""Every value a client sends with a reading is range-checked: bad input is a 400, never a 500,
and only the documented timing fields are stored, bounded."""

import json
import time
import uuid

import pytest
from django.test import Client

from ratings.models import Assessment
from tests.factories import names

GOOD = {"gray-level": 7, "sharpness": 6, "acceptable": 1}


@pytest.fixture
def rater(study, people):
    client = Client(raise_request_exception=False)  # a 500 is an answer to look at, not a raise
    client.force_login(people[names.RATER])
    return client


def body(study, **fields) -> dict:
    now = time.time() * 1000
    timing = {
        "submitted_ms": 9000, "rendered_ms": 40, "active_ms": 8000,
        "submitted_wall": now - 100, "sent_wall": now,
    }  # fmt: skip
    timing.update(fields.pop("timing", {}))
    return {
        "client_id": str(uuid.uuid4()),
        "image": study.images.order_by("pk").first().id,
        "ratings": GOOD,
        "timing": timing,
        **fields,
    }


def post_raw(client, study, raw: str):
    url = f"/api/v1/studies/{study.id}/assessments/"
    return client.post(url, raw, content_type="application/json")


@pytest.mark.parametrize(
    "fields",
    [
        {"submitted_wall": 1e20},
        {"submitted_wall": -1e20},
        {"sent_wall": 1e300},
        {"sent_wall": -1e18},
    ],
)
def test_a_wall_clock_out_of_range_is_a_400(rater, study, fields):
    response = post_raw(rater, study, json.dumps(body(study, timing=fields)))
    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "invalid"
    assert not Assessment.objects.exists()


@pytest.mark.parametrize("image", ["1" + "0" * 30, "1e400", "true", "-1", "2.5"])
def test_an_image_that_is_not_an_id_is_a_400(rater, study, image):
    raw = json.dumps(body(study, image="IMAGE")).replace('"IMAGE"', image)
    response = post_raw(rater, study, raw)
    assert response.status_code == 400, response.content[:300]
    assert not Assessment.objects.exists()


def test_a_deeply_nested_body_is_a_400(rater, study):
    response = post_raw(rater, study, "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400, response.content[:300]


def test_a_non_finite_viewport_value_is_a_400(rater, study):
    raw = json.dumps(body(study, timing={"viewport": {"slice": "X"}})).replace('"X"', "1e400")
    response = post_raw(rater, study, raw)
    assert response.status_code == 400, response.content[:300]
    assert not Assessment.objects.exists()


def test_only_the_documented_timing_fields_are_stored_bounded(rater, study):
    junk = "x" * 1_000_000
    sent = body(study, timing={"junk": junk, "counts": {"zoom": 2, "junk": junk}})
    response = post_raw(rater, study, json.dumps(sent))
    assert response.status_code == 201, response.content[:300]
    stored = Assessment.objects.get()
    assert len(json.dumps(stored.client_timing)) < 4_000
    assert stored.client_timing["client"]["counts"] == {"zoom": 2}
    assert stored.client_timing["client"]["submitted_ms"] == 9000
    # Each change with a new edit id is recorded, but bounded too.
    url = f"/api/v1/studies/{study.id}/assessments/{sent['client_id']}/"
    for value in (3, 4):
        change = {
            "ratings": {"gray-level": value}, "edit_id": str(uuid.uuid4()),
            "timing": {"submitted_ms": 500, "junk": junk},
        }  # fmt: skip
        patched = rater.patch(url, json.dumps(change), content_type="application/json")
        assert patched.status_code == 200, patched.content[:300]
    stored.refresh_from_db()
    assert len(stored.client_timing["edits"]) == 2
    assert len(json.dumps(stored.client_timing)) < 6_000
