"""kill -9 of the Celery worker mid-ingest and mid-export: the job ends failed with the reason,
what the dead run half-wrote is removed (no staging folder, no partial export file), and a
retry succeeds."""

import io
import time
from contextlib import contextmanager
from pathlib import Path

import pydicom
import pydicom.data
import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils.timezone import now
from pydicom.uid import generate_uid
from rest_framework.test import APIClient

from imaging.models import Dataset, ImageFile, IngestJob
from ratings.models import Assessment, AssessmentStatus, ExportJob, Rating, StudyResults
from tests.conftest import wait_for
from tests.factories import make_dataset, make_study, names

pytestmark = [pytest.mark.faults, pytest.mark.worker]

STALE_AFTER_S = 2  # a worker silent this long is dead: its job is failed on the next look


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def dicom_files(n: int) -> list[io.BytesIO]:
    """`n` distinct CT images (pydicom's CT_small with new instance UIDs), as uploads."""
    template = pydicom.dcmread(pydicom.data.get_testdata_file("CT_small.dcm"))
    series = generate_uid()
    files = []
    for i in range(n):
        template.SeriesInstanceUID = series
        template.SOPInstanceUID = template.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        template.InstanceNumber = i + 1
        out = io.BytesIO()
        template.save_as(out, enforce_file_format=True)
        out.seek(0)
        out.name = f"ct-{i:03d}.dcm"
        files.append(out)
    return files


def _wait_until_failed(client, url: str) -> dict:
    def failed():
        body = client.get(url).json()
        return body if body["status"] == "failed" else None

    return wait_for(failed, timeout=30, interval=0.3)


def _wait_until_succeeded(client, url: str) -> dict:
    def finished():
        body = client.get(url).json()
        return body if body["status"] in ("succeeded", "failed") else None

    body = wait_for(finished, timeout=90, interval=0.3)
    assert body["status"] == "succeeded", body["error"]
    return body


def _kill_when(worker, condition, what: str) -> None:
    wait_for(condition, timeout=60, interval=0.01)
    assert worker.poll() is None, f"the worker ended before {what}"
    worker.kill()  # SIGKILL: no cleanup runs in the worker
    worker.wait(timeout=10)


def test_a_worker_killed_mid_ingest(people, start_worker):
    settings.IQA_JOB_STALE_AFTER_S = STALE_AFTER_S
    dataset = make_dataset(n_images=0)
    worker = start_worker()
    client = _client(people[names.STAFF])
    n = 40
    response = client.post(
        f"/api/v1/datasets/{dataset.pk}/uploads/", {"files": dicom_files(n)}, format="multipart"
    )
    assert response.status_code == 202, response.content
    url = response["Location"]
    job = IngestJob.objects.get(pk=response.json()["id"])
    staging = Path(settings.MEDIA_ROOT) / "dicom" / f"ds{dataset.pk}" / f".staging-job{job.pk}"

    _kill_when(worker, lambda: staging.is_dir() and any(staging.iterdir()), "it staged a file")

    body = _wait_until_failed(client, url)
    assert "worker running this job stopped" in body["error"]
    assert not staging.exists(), "the dead run's staging folder was left behind"
    assert Path(job.upload_dir).is_dir(), "the upload must be kept for the retry"
    _assert_every_row_has_its_file(dataset)

    start_worker()
    assert client.post(f"{url}retry/").status_code == 202
    body = _wait_until_succeeded(client, url)
    assert ImageFile.objects.filter(dataset=dataset).count() == n
    assert body["report"]["summary"]["imported"] + body["report"]["summary"].get("skipped", 0) == n
    _assert_every_row_has_its_file(dataset, complete=True)
    assert not list((Path(settings.MEDIA_ROOT) / "dicom" / f"ds{dataset.pk}").glob(".staging-*"))
    assert not Path(job.upload_dir).exists(), "a finished job's upload is removed"


def _assert_every_row_has_its_file(dataset: Dataset, complete: bool = False) -> None:
    media = Path(settings.MEDIA_ROOT)
    rows = set(ImageFile.objects.filter(dataset=dataset).values_list("file", flat=True))
    missing = [f for f in rows if not (media / f).is_file()]
    assert not missing, f"rows without a file: {missing[:3]}"
    folder = media / "dicom" / f"ds{dataset.pk}"
    on_disk = {
        str(p.relative_to(media))
        for p in folder.rglob("*.dcm")
        if not any(part.startswith(".staging-") for part in p.parts)
    }
    if complete:  # a file moved into place whose batch never committed is taken by the retry
        assert on_disk == rows, f"files without a row: {sorted(on_disk - rows)[:3]}"


def _many_ratings(people, n_images: int, n_raters: int):
    """A study whose ratings export takes a moment: n_images x n_raters readings (bulk)."""
    from django.contrib.auth import get_user_model

    study = make_study(people, n_images=n_images)
    raters = [
        get_user_model().objects.create_user(f"rater{i}", password="x") for i in range(n_raters)
    ]
    dims = list(study.dimensions.all())
    images = list(study.images.all())
    assessments = Assessment.objects.bulk_create(
        Assessment(
            study=study,
            image=image,
            rater=rater,
            status=AssessmentStatus.SUBMITTED,
            active_ms=1000,
        )
        for rater in raters
        for image in images
    )
    Rating.objects.bulk_create(
        Rating(assessment=a, dimension=d, value=1) for a in assessments for d in dims
    )
    # The dashboard's refresh, queued on the exports queue by the first look at the study,
    # would run ahead of the export for a while: not what this test is about.
    StudyResults.objects.update_or_create(study=study, defaults={"refresh_queued_at": now()})
    return study


@contextmanager
def ratings_held():
    """On PostgreSQL, hold the ratings table locked: the export opens its file, then waits for
    its query (COPY is too quick to be caught mid-file otherwise). SQLite's export of these
    rows takes long enough to be caught as it is (and its readers are never blocked)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {Rating._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        yield


def test_a_worker_killed_mid_export(people, start_worker):
    settings.IQA_JOB_STALE_AFTER_S = STALE_AFTER_S
    study = _many_ratings(people, n_images=200, n_raters=40)
    worker = start_worker()
    client = _client(people[names.COORDINATOR])
    response = client.post(
        f"/api/v1/studies/{study.pk}/exports/", {"kind": "ratings_csv"}, format="json"
    )
    assert response.status_code == 202, response.content
    url = response["Location"]
    folder = Path(settings.MEDIA_ROOT) / "exports" / str(response.json()["id"])

    def writing():
        return folder.is_dir() and any(p.name.endswith(".part") for p in folder.iterdir())

    started = time.monotonic()
    with ratings_held():
        _kill_when(worker, writing, "it began writing the export")
    body = _wait_until_failed(client, url)
    assert "worker running this job stopped" in body["error"]
    assert not list(folder.iterdir()), "the partial export file was left behind"
    assert client.get(f"{url}download/").status_code == 409

    start_worker()
    assert client.post(f"{url}retry/").status_code == 202
    _wait_until_succeeded(client, url)
    download = client.get(f"{url}download/")
    assert download.status_code == 200
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert len(lines) == 1 + 200 * 40 * 3, "the retried export is complete"
    assert [p.name for p in folder.iterdir() if p.name.endswith(".part")] == []
    assert ExportJob.objects.get(pk=response.json()["id"]).attempts == 2
    print(f"\nexport killed and retried in {time.monotonic() - started:.0f} s")
