"""Training runs in the audit trail: who launched, cancelled and activated what."""

import pytest
from rest_framework.test import APIClient

from inference.models import ModelVersion, TrainingRun
from ratings.models import AuditAction, AuditEvent
from tests.factories import names

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_launching_cancelling_and_activating_are_audited(people, study):
    dave = people[names.RESEARCHER]
    client = _client(dave)
    body = {"study": study.pk, "dimension": "gray-level", "arch": "convnet4"}
    response = client.post("/api/v1/training-runs/", body, format="json")
    assert response.status_code == 202, response.json()
    run_id = response.json()["id"]
    [launched] = AuditEvent.objects.filter(action=AuditAction.TRAINING_RUN_LAUNCHED)
    assert (launched.actor, launched.study_id, launched.object_id) == (dave, study.pk, str(run_id))
    assert launched.details["arch"] == "convnet4"

    assert client.post(f"/api/v1/training-runs/{run_id}/cancel/").status_code == 202
    assert client.post(f"/api/v1/training-runs/{run_id}/cancel/").status_code == 409
    [cancelled] = AuditEvent.objects.filter(action=AuditAction.TRAINING_RUN_CANCELLED)
    assert (cancelled.actor, cancelled.object_id) == (dave, str(run_id))

    version = ModelVersion.objects.create(
        run=TrainingRun.objects.get(pk=run_id), study=study, dimension_key="gray-level",
        arch="convnet4", target="regression", checkpoint="x.pt", checkpoint_sha256="0" * 64,
        labels_fingerprint="0" * 64,
    )  # fmt: skip
    assert client.post(f"/api/v1/model-versions/{version.pk}/activate/").status_code == 200
    [activated] = AuditEvent.objects.filter(action=AuditAction.MODEL_VERSION_ACTIVATED)
    assert (activated.actor, activated.object_id) == (dave, str(version.pk))

    # The coordinator reads it in the study's trail; the run is named, never a patient.
    trail = _client(people[names.COORDINATOR]).get(f"/api/v1/studies/{study.pk}/audit/").json()
    assert [e["action"] for e in trail["results"]] == [
        "model_version.activated", "training_run.cancelled", "training_run.launched",
    ]  # fmt: skip


def test_a_refused_run_leaves_no_event(people, study):
    client = _client(people[names.RESEARCHER])
    body = {"study": study.pk, "dimension": "nope", "arch": "convnet4"}
    assert client.post("/api/v1/training-runs/", body, format="json").status_code == 400
    assert not AuditEvent.objects.exists()
