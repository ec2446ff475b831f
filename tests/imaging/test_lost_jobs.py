"""Issue 12, found 6: an ingest job is never lost. A pending job whose message never reached a
worker is queued again on the next look, then failed with why; its upload goes when it ends."""

from datetime import timedelta
from pathlib import Path

import pydicom.data
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from imaging.models import IngestJob
from iqa_platform.jobs import JobStatus
from tests.conftest import wait_for
from tests.factories import names


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _upload_whose_message_is_lost(client, dataset, capture) -> IngestJob:
    # The commit hooks are captured and never run: the job row exists, no message was sent
    # (as when the broker or the database failed right after the row was written).
    with capture(execute=False), open(pydicom.data.get_testdata_file("CT_small.dcm"), "rb") as f:
        response = client.post(
            f"/api/v1/datasets/{dataset.pk}/uploads/", {"files": [f]}, format="multipart"
        )
    assert response.status_code == 202, response.content
    return IngestJob.objects.get(pk=response.json()["id"])


def _age(job: IngestJob, settings, **fields) -> None:
    old = timezone.now() - timedelta(seconds=settings.IQA_JOB_LOST_AFTER_S + 1)
    IngestJob.objects.filter(pk=job.pk).update(created_at=old, **fields)


@pytest.mark.worker
def test_a_pending_job_whose_message_was_lost_is_queued_again_and_imported(
    people, study, settings, start_worker, django_capture_on_commit_callbacks
):
    client = _client(people[names.COORDINATOR])
    start_worker()
    ours = settings.CELERY_QUEUE_PREFIX
    settings.CELERY_QUEUE_PREFIX = "nobody-listens-"  # the message goes where no worker is
    job = _upload_whose_message_is_lost(client, study.dataset, django_capture_on_commit_callbacks)
    settings.CELERY_QUEUE_PREFIX = ours
    url = f"/api/v1/ingest-jobs/{job.pk}/"
    assert client.get(url).json()["status"] == "pending"  # young: left alone
    _age(job, settings)
    body = client.get(url).json()
    assert body["status"] == "pending" and "queued again" in body["error"]

    def finished():
        body = client.get(url).json()
        return body if body["status"] in ("succeeded", "failed") else None

    body = wait_for(finished, timeout=90)
    assert body["status"] == "succeeded", body["error"]
    assert body["report"]["summary"]["imported"] == 1
    assert not Path(job.upload_dir).exists()


def test_a_job_no_worker_starts_even_when_queued_again_is_failed_with_why(
    people, study, settings, django_capture_on_commit_callbacks
):
    client = _client(people[names.COORDINATOR])
    job = _upload_whose_message_is_lost(client, study.dataset, django_capture_on_commit_callbacks)
    url = f"/api/v1/ingest-jobs/{job.pk}/"
    _age(job, settings)
    with django_capture_on_commit_callbacks(execute=False):  # no worker gets this one either
        assert "queued again" in client.get(url).json()["error"]
    _age(job, settings, heartbeat_at=timezone.now() - timedelta(hours=1))
    body = client.get(url).json()
    assert body["status"] == "failed"
    assert "No worker started this job" in body["error"]
    assert client.post(f"{url}retry/").status_code == 202  # the upload was kept for this


def test_a_pending_job_cancelled_removes_its_upload(
    people, study, django_capture_on_commit_callbacks
):
    client = _client(people[names.COORDINATOR])
    job = _upload_whose_message_is_lost(client, study.dataset, django_capture_on_commit_callbacks)
    assert Path(job.upload_dir).is_dir()
    assert client.post(f"/api/v1/ingest-jobs/{job.pk}/cancel/").status_code == 202
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert not Path(job.upload_dir).exists()
