"""The audit trail: who changed which rating when, who exported or released what; written in
the change's own transaction, append-only, shown to coordinators only, exported with the study."""

import csv
import io
import uuid
import zipfile

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from ratings import lifecycle
from ratings.models import AuditAction, AuditEvent, ExportKind, RaterProfile, Rating
from ratings.results import jobs
from ratings.results.records import rater_names
from ratings.services import audit
from tests.factories import names

from .export_helpers import attach_dicom, rate_everything
from .test_submission import GOOD, submit

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def test_a_rating_and_its_change_are_audited_with_old_and_new_values(study, people):
    alice = people[names.RATER]
    client = _client(alice)
    image = study.images.order_by("pk").first()
    client_id = submit(client, study, image).json()["client_id"]
    [created] = _events(AuditAction.RATING_CREATED)
    assert (created.actor, created.study_id, created.details["values"]) == (alice, study.pk, GOOD)

    edit_id = str(uuid.uuid4())
    url = f"/api/v1/studies/{study.id}/assessments/{client_id}/"
    edit = {"ratings": {**GOOD, "gray-level": 4}, "edit_id": edit_id}
    assert client.patch(url, edit, format="json").status_code == 200
    assert client.patch(url, edit, format="json").status_code == 200  # a retry: no new event
    [changed] = _events(AuditAction.RATING_CHANGED)
    assert changed.actor == alice
    assert changed.details["old"] == {"gray-level": 7}
    assert changed.details["new"] == {"gray-level": 4}
    assert changed.details["edit_id"] == edit_id
    assert changed.object_id == str(created.object_id)


def test_a_refused_change_leaves_no_event(study, people):
    client = _client(people[names.RATER])
    image = study.images.order_by("pk").first()
    client_id = submit(client, study, image).json()["client_id"]
    url = f"/api/v1/studies/{study.id}/assessments/{client_id}/"
    bad = client.patch(url, {"ratings": {**GOOD, "gray-level": 99}}, format="json")
    assert bad.status_code == 400
    assert _events(AuditAction.RATING_CHANGED) == []


def test_a_rolled_back_change_leaves_no_event(study, people):
    with pytest.raises(RuntimeError), transaction.atomic():
        lifecycle.change_state(study, "close", people[names.COORDINATOR])
        raise RuntimeError("the request failed after the change")
    study.refresh_from_db()
    assert study.is_open
    assert _events(AuditAction.STUDY_CLOSED) == []


def test_closing_a_study_is_audited(study, people):
    carol = _client(people[names.COORDINATOR])
    response = carol.post(f"/api/v1/studies/{study.pk}/state/", {"action": "close"}, "json")
    assert response.status_code == 200
    [closed] = _events(AuditAction.STUDY_CLOSED)
    assert closed.actor == people[names.COORDINATOR]
    assert closed.details == {"from": "open", "to": "closed"}


def test_an_export_and_its_download_are_audited(study, people):
    carol = _client(people[names.COORDINATOR])
    response = carol.post(f"/api/v1/studies/{study.pk}/exports/", {"kind": "mos_csv"}, "json")
    assert response.status_code == 202
    job_id = response.json()["id"]
    [created] = _events(AuditAction.EXPORT_CREATED)
    assert (created.actor, created.object_id, created.details["kind"]) == (
        people[names.COORDINATOR], str(job_id), "mos_csv"
    )  # fmt: skip
    jobs.run_export_job(job_id)
    assert carol.get(f"/api/v1/exports/{job_id}/download/").status_code == 200
    [downloaded] = _events(AuditAction.EXPORT_DOWNLOADED)
    assert (downloaded.actor, downloaded.object_id) == (people[names.COORDINATOR], str(job_id))


@pytest.fixture
def rated(study, people):
    for i, image in enumerate(study.images.order_by("pk")):
        attach_dicom(image, settings.MEDIA_ROOT, "CT_small.dcm" if i % 2 else "MR_small.dcm")
    rate_everything(study, [people[names.RATER], people[names.RATER2]])
    return study


def test_a_release_is_audited_and_carries_audit_csv(rated, people, client):
    carol = people[names.COORDINATOR]
    alice = people[names.RATER]
    # A pseudonym a spreadsheet would run as a formula: neutralised in audit.csv.
    RaterProfile.objects.update_or_create(user=alice, defaults={"pseudonym": "=HYPERLINK(1)"})
    image = rated.images.order_by("pk").first()
    extra = rated.dimensions.get(key="gray-level")
    rating = image.assessments.get(rater=alice).ratings.get(dimension=extra)
    audit.record(
        AuditAction.RATING_CHANGED, actor=alice, study=rated, object_type="assessment",
        object_id=rating.assessment_id,
        details={"old": {"gray-level": 1}, "new": {"gray-level": 2}},
    )  # fmt: skip
    job = jobs.create_export(rated, ExportKind.RELEASE, {}, carol)
    jobs.run_export_job(job.pk)
    job.refresh_from_db()
    [frozen] = _events(AuditAction.RELEASE_FROZEN)
    assert (frozen.actor, frozen.object_id) == (carol, str(job.release_id))

    archive = zipfile.ZipFile(jobs.file_path(job))
    [name] = [n for n in archive.namelist() if n.endswith("/audit.csv")]
    rows = list(csv.DictReader(io.StringIO(archive.read(name).decode())))
    # Oldest first, up to the freeze (the release.frozen event itself comes after).
    assert [r["action"] for r in rows] == ["rating.changed", "export.created"]
    assert rows[0]["actor"] == "'=HYPERLINK(1)"  # a pseudonym, neutralised; never "alice"
    assert '"new": {"gray-level": 2}' in rows[0]["details"]
    assert "alice" not in archive.read(name).decode()
    assert rows[1]["actor"] == rater_names(rated, [carol.pk])[carol.pk][0] != names.COORDINATOR
    sums = archive.read(name.replace("audit.csv", "SHA256SUMS")).decode()
    assert "  audit.csv\n" in sums

    client.force_login(carol)
    download = client.get(f"/studies/{rated.pk}/releases/1/download/")
    assert download.status_code == 200
    b"".join(download.streaming_content)
    [downloaded] = _events(AuditAction.RELEASE_DOWNLOADED)
    assert (downloaded.actor, downloaded.object_id) == (carol, str(job.release_id))


def test_coordinators_read_the_trail_raters_and_researchers_do_not(study, people, client):
    alice_api = _client(people[names.RATER])
    for image in study.images.order_by("pk"):
        assert submit(alice_api, study, image).status_code == 201
    lifecycle.change_state(study, "close", people[names.COORDINATOR])
    url = f"/api/v1/studies/{study.pk}/audit/"

    carol = _client(people[names.COORDINATOR])
    body = carol.get(url, {"page_size": 2}).json()
    assert [e["action"] for e in body["results"]] == ["study.closed", "rating.created"]
    assert body["next"]
    rest = carol.get(body["next"]).json()["results"]
    assert [e["action"] for e in rest] == ["rating.created", "rating.created"]
    only_alice = carol.get(url, {"actor": people[names.RATER].pk}).json()["results"]
    assert {e["actor_username"] for e in only_alice} == {names.RATER}
    assert len(only_alice) == 3
    closed = carol.get(url, {"action": "study.closed"}).json()["results"]
    assert [e["actor_username"] for e in closed] == [names.COORDINATOR]
    assert carol.get(url, {"action": "nonsense"}).status_code == 400
    assert carol.get(url, {"actor": "1e400"}).status_code == 400

    assert alice_api.get(url).status_code == 403
    assert _client(people[names.RESEARCHER]).get(url).status_code == 403
    assert _client(people[names.OUTSIDER]).get(url).status_code == 404

    page = f"/studies/{study.pk}/audit/"
    client.force_login(people[names.COORDINATOR])
    html = client.get(page, {"action": "study.closed"}).content.decode()
    assert "Study closed" in html and names.COORDINATOR in html
    assert 'data-action="rating.created"' not in html
    client.force_login(people[names.RATER])
    assert client.get(page).status_code == 403


def test_events_are_append_only(study, people):
    event = audit.record(
        AuditAction.STUDY_CLOSED, actor=people[names.COORDINATOR], study=study,
        object_type="study", object_id=study.pk,
    )  # fmt: skip
    event.details = {"forged": True}
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(details={})
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    # Not even by hand in SQL: the database's trigger refuses.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE ratings_auditevent SET actor_username = 'mallory'")
    assert AuditEvent.objects.get(pk=event.pk).actor_username == names.COORDINATOR


def test_details_are_bounded_and_never_carry_patient_identifiers(study):
    with pytest.raises(ValueError, match="patient_key"):
        audit.record(
            AuditAction.EXPORT_CREATED, study=study, object_type="export",
            details={"images": [{"patient_key": "abc"}]},
        )  # fmt: skip
    event = audit.record(
        AuditAction.EXPORT_CREATED, study=study, object_type="export",
        details={"junk": "x" * 100_000},
    )  # fmt: skip
    assert event.details == {"truncated": True, "keys": ["junk"]}
    assert event.actor is None  # the system
    # A dimension a coordinator keyed "site" is a rating, not a patient's site.
    event = audit.record(
        AuditAction.RATING_CHANGED, study=study, object_type="assessment",
        details={"old": {"site": 1}, "new": {"site": 2}},
    )  # fmt: skip
    assert event.details["new"] == {"site": 2}


def test_staff_changes_and_deletions_in_the_admin_are_audited(study, people, admin_client):
    image = study.images.order_by("pk").first()
    submit(_client(people[names.RATER]), study, image)
    rating = Rating.objects.get(dimension__key="gray-level")
    form = {"assessment": rating.assessment_id, "dimension": rating.dimension_id, "value": 3}
    response = admin_client.post(f"/admin/ratings/rating/{rating.pk}/change/", form)
    assert response.status_code == 302
    [changed] = _events(AuditAction.RATING_CHANGED)
    assert changed.details["old"] == {"gray-level": 7}
    assert changed.details["new"] == {"gray-level": 3}
    assessment = rating.assessment
    url = f"/admin/ratings/assessment/{assessment.pk}/delete/"
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    [deleted] = _events(AuditAction.RATING_DELETED)
    assert deleted.object_id == str(assessment.pk)
    assert deleted.details["values"] == {**GOOD, "gray-level": 3}
    assert deleted.study_id == study.pk
    # The admin shows the trail and offers no way to change it.
    assert admin_client.get(f"/admin/ratings/auditevent/{deleted.pk}/change/").status_code == 200
    assert admin_client.post(f"/admin/ratings/auditevent/{deleted.pk}/delete/").status_code == 403
