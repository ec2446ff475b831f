"""Exports through a real Celery worker: the job row moves on, a redelivery does nothing twice."""

import pytest
from rest_framework.test import APIClient

from iqa_platform.jobs import JobStatus
from ratings.models import DatasetRelease, ExportJob
from ratings.tasks import run_export_job
from tests.conftest import wait_for
from tests.factories import make_study, names

from .export_helpers import attach_dicom, rate_everything

pytestmark = [pytest.mark.worker]


def _finished(job_id):
    job = ExportJob.objects.get(pk=job_id)
    return job if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED) else None


def test_release_export_runs_on_the_worker_once_even_when_delivered_three_times(
    celery_worker, people, settings
):
    study = make_study(people, n_images=4)
    for image in study.images.all():
        attach_dicom(image, settings.MEDIA_ROOT)
    rate_everything(study, [people[names.RATER], people[names.RATER2]])
    client = APIClient()
    client.force_authenticate(people[names.COORDINATOR])

    response = client.post(
        f"/api/v1/studies/{study.pk}/exports/", {"kind": "release"}, format="json"
    )
    assert response.status_code == 202
    job = wait_for(lambda: _finished(response.data["id"]), timeout=120)
    assert job.status == JobStatus.SUCCEEDED, job.error
    first = (job.sha256, job.finished_at, job.attempts)

    # The same task delivered again (a retry, a duplicate message): nothing doubles.
    run_export_job.delay(job_id=job.pk)
    run_export_job.delay(job_id=job.pk)
    marker = client.post(f"/api/v1/studies/{study.pk}/exports/", {"kind": "mos_csv"}, format="json")
    wait_for(lambda: _finished(marker.data["id"]), timeout=120)  # the worker got past both

    job.refresh_from_db()
    assert (job.sha256, job.finished_at, job.attempts) == first
    assert DatasetRelease.objects.filter(study=study).count() == 1
    download = client.get(f"/api/v1/exports/{job.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
