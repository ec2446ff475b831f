"""The one job machinery (iqa_platform/jobs.py): claimed once, taken over when stale, failed
with a reason when its worker dies, retried, cancelled - the same for every kind of job."""

import os
import signal
import threading
import time
import zipfile
from datetime import timedelta

import pydicom
import pydicom.data
import pytest
from django.db import connection
from django.utils import timezone
from pydicom.uid import generate_uid
from rest_framework.test import APIClient

from imaging.models import Image, IngestJob
from iqa_platform import jobs
from iqa_platform.jobs import JobStatus
from ratings.models import ExportJob, ExportKind
from ratings.results.jobs import create_export, run_export_job
from tests.conftest import wait_for
from tests.factories import names


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _export(study, **fields) -> ExportJob:
    return ExportJob.objects.create(study=study, kind=ExportKind.MOS_CSV, **fields)


def test_a_pending_job_is_claimed_once(study):
    job = _export(study)
    assert jobs.claim(ExportJob, job.pk) is True
    assert jobs.claim(ExportJob, job.pk) is False  # a second delivery of the same task
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("sqlite") or "DATABASE_URL" not in os.environ,
    reason="SQLite serialises writers: the race needs a server database",
)
def test_four_simultaneous_deliveries_claim_once(transactional_db, study):
    job = _export(study)
    barrier = threading.Barrier(4)
    results = []

    def deliver():
        barrier.wait()
        try:
            results.append(jobs.claim(ExportJob, job.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]


def test_a_stale_running_job_is_taken_over_by_a_redelivery_and_finishes(study, settings):
    lost = timezone.now() - timedelta(seconds=settings.IQA_JOB_STALE_AFTER_S + 60)
    job = _export(study, status=JobStatus.RUNNING, heartbeat_at=lost, attempts=1)
    run_export_job(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 2
    assert job.sha256


def test_a_running_job_with_a_live_heartbeat_is_left_alone(study):
    job = _export(study, status=JobStatus.RUNNING, heartbeat_at=timezone.now(), attempts=1)
    run_export_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.sha256) == (JobStatus.RUNNING, 1, "")


def test_a_job_whose_worker_died_is_shown_failed_with_why_and_can_be_retried(
    people, study, settings, django_capture_on_commit_callbacks
):
    lost = timezone.now() - timedelta(seconds=settings.IQA_JOB_STALE_AFTER_S + 60)
    job = _export(study, status=JobStatus.RUNNING, heartbeat_at=lost, attempts=1)
    client = _client(people[names.COORDINATOR])

    body = client.get(f"/api/v1/exports/{job.pk}/").json()
    assert body["status"] == "failed"
    assert "worker" in body["error"] and "stopped" in body["error"]

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(f"/api/v1/exports/{job.pk}/retry/")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending"
    assert len(queued) == 1  # enqueued once the retry is committed
    run_export_job(job.pk)  # what the worker does with that message
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2)

    again = client.post(f"/api/v1/exports/{job.pk}/retry/")
    assert again.status_code == 409  # nothing to retry on a job that succeeded
    assert again.json()["code"] == "job_state"


def test_a_pending_job_cancelled_never_runs(people, study):
    job = create_export(study, ExportKind.MOS_CSV)
    response = _client(people[names.COORDINATOR]).post(f"/api/v1/exports/{job.pk}/cancel/")
    assert response.status_code == 202
    run_export_job(job.pk)  # the queued message arrives after all
    job.refresh_from_db()
    assert (job.status, job.sha256) == (JobStatus.CANCELLED, "")


def test_a_running_job_stops_at_its_next_progress_step_when_cancelled(transactional_db, study):
    job = _export(study)
    steps = []

    def work(context):
        for step in range(10):
            if step == 3:
                jobs.cancel(context.job)  # a user presses "cancel" meanwhile
            context.progress(step / 10, force=True)
            steps.append(step)
        return {}

    jobs.run_job(ExportJob, job.pk, work)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert steps == [0, 1, 2]  # stopped within one step


def test_a_rater_may_neither_retry_nor_cancel_an_export(people, study):
    job = _export(study, status=JobStatus.FAILED)
    client = _client(people[names.RATER])
    assert client.post(f"/api/v1/exports/{job.pk}/retry/").status_code in (403, 404)
    assert client.post(f"/api/v1/exports/{job.pk}/cancel/").status_code in (403, 404)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def _distinct_ct_files(folder, n):
    """n copies of pydicom's CT_small, each its own series and instance (n images to import)."""
    source = pydicom.dcmread(pydicom.data.get_testdata_file("CT_small.dcm"))
    paths = []
    for index in range(n):
        source.SOPInstanceUID = generate_uid()
        source.file_meta.MediaStorageSOPInstanceUID = source.SOPInstanceUID
        source.SeriesInstanceUID = generate_uid()
        path = folder / f"ct-{index:03d}.dcm"
        source.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


@pytest.mark.worker
def test_a_worker_killed_mid_ingest_leaves_the_job_failed_with_why_and_a_retry_imports_all(
    people, study, settings, start_worker, tmp_path
):
    settings.IQA_JOB_STALE_AFTER_S = 10  # generous: a busy CI machine may starve a heartbeat
    files = _distinct_ct_files(tmp_path, 80)
    before = Image.objects.filter(dataset=study.dataset).count()
    client = _client(people[names.COORDINATOR])
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in files:
            zipped.write(path, path.name)
    worker = start_worker()
    with open(archive, "rb") as upload:
        response = client.post(
            f"/api/v1/datasets/{study.dataset.pk}/uploads/", {"files": [upload]}, format="multipart"
        )
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]

    wait_for(lambda: IngestJob.objects.get(pk=job_id).status == JobStatus.RUNNING, 60, 0.05)
    os.kill(worker.pid, signal.SIGKILL)  # the worker dies in the middle of the import
    worker.wait()
    assert IngestJob.objects.get(pk=job_id).status == JobStatus.RUNNING

    time.sleep(settings.IQA_JOB_STALE_AFTER_S + 1)
    body = client.get(f"/api/v1/ingest-jobs/{job_id}/").json()
    assert body["status"] == "failed"
    assert "stopped" in body["error"]

    retried = client.post(f"/api/v1/ingest-jobs/{job_id}/retry/")
    assert retried.status_code == 202, retried.content
    start_worker()

    def finished():
        job = client.get(f"/api/v1/ingest-jobs/{job_id}/").json()
        return job if job["status"] in ("succeeded", "failed") else None

    body = wait_for(finished, timeout=180)
    assert body["status"] == "succeeded", body["error"]
    assert body["attempts"] == 2
    # Every file is in, once: what the dead worker had recorded is not imported twice.
    assert Image.objects.filter(dataset=study.dataset).count() == before + 80
