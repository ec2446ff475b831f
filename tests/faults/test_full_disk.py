"""A full media disk during an upload: a 5 MB tmpfs as the upload folder or as MEDIA_ROOT, and
more sent than fits -> a clear error to the uploader (no 500) and nothing half-written (no row
without its file, no file without its row, no staging or upload folder left)."""

import io
import os
import subprocess
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from imaging.ingest_jobs import run_ingest_job
from imaging.models import Dataset, Image, ImageFile, IngestJob
from tests.factories import make_dataset, names

from .test_worker_killed import dicom_files

pytestmark = pytest.mark.faults

SIZE = "5m"


@pytest.fixture
def small_disk(tmp_path):
    """A 5 MB file system (tmpfs), unmounted after the test; skipped where mounting is denied."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a 5 MB tmpfs needs root (the CI runs as root)")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _big_files(n: int, size: int) -> list:
    """`n` uploads of `size` bytes each (content the upload step does not look at)."""
    files = []
    for i in range(n):
        f = io.BytesIO(os.urandom(size))
        f.name = f"big-{i}.dcm"
        files.append(f)
    return files


def test_an_upload_larger_than_the_free_space_is_refused_clearly(people, small_disk, settings):
    settings.UPLOAD_ROOT = small_disk / "uploads"
    dataset = make_dataset(n_images=0)
    client = _client(people[names.STAFF])
    response = client.post(
        f"/api/v1/datasets/{dataset.pk}/uploads/",
        {"files": _big_files(4, 2 * 1024 * 1024)},  # 8 MB into 5 MB
        format="multipart",
    )
    assert response.status_code == 507, response.content
    body = response.json()
    assert body["code"] == "storage_full"
    assert "storage is full" in body["detail"]
    assert not IngestJob.objects.exists(), "a job was queued for files that were not kept"
    assert not any(Path(settings.UPLOAD_ROOT).iterdir()), "half an upload was left on the disk"
    # The space is free again: the next upload that fits is taken.
    response = client.post(
        f"/api/v1/datasets/{dataset.pk}/uploads/", {"files": dicom_files(3)}, format="multipart"
    )
    assert response.status_code == 202, response.content


def test_a_media_disk_that_fills_during_the_import_stops_it_with_the_reason(
    people, small_disk, settings
):
    settings.MEDIA_ROOT = small_disk / "media"
    dataset = make_dataset(n_images=0)
    client = _client(people[names.STAFF])
    n = 200  # ~40 KB each after de-identification: more than 5 MB
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for upload in dicom_files(n):
            zf.writestr(upload.name, upload.getvalue())
    archive.seek(0)
    archive.name = "ct.zip"
    response = client.post(
        f"/api/v1/datasets/{dataset.pk}/uploads/", {"files": [archive]}, format="multipart"
    )
    assert response.status_code == 202, response.content
    job = IngestJob.objects.get(pk=response.json()["id"])
    run_ingest_job(job.pk)  # the worker's function, in this process

    body = client.get(response["Location"]).json()
    assert body["status"] == "failed", body
    assert "storage is full" in body["error"]
    _assert_nothing_half_written(dataset)
    assert Path(job.upload_dir).is_dir(), "the upload is kept for a retry"


def _assert_nothing_half_written(dataset: Dataset) -> None:
    media = Path(settings.MEDIA_ROOT)
    folder = media / "dicom" / f"ds{dataset.pk}"
    assert not list(folder.glob(".staging-*")), "a staging folder was left behind"
    rows = set(ImageFile.objects.filter(dataset=dataset).values_list("file", flat=True))
    on_disk = {str(p.relative_to(media)) for p in folder.rglob("*.dcm")}
    assert rows == on_disk, (
        f"rows without a file: {sorted(rows - on_disk)[:3]}, "
        f"files without a row: {sorted(on_disk - rows)[:3]}"
    )
    assert not Image.objects.filter(dataset=dataset, files__isnull=True).exists(), (
        "an image row without any file"
    )


def test_an_export_that_fills_the_disk_fails_with_the_reason_and_leaves_no_partial_file(
    people, small_disk, settings
):
    from ratings.results.jobs import create_export, run_export_job

    from .test_worker_killed import _many_ratings

    settings.MEDIA_ROOT = small_disk / "media"
    study = _many_ratings(people, n_images=100, n_raters=20)  # a CSV of ~6,000 rows, ~1 MB
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (5 * 1024 * 1024 - 256 * 1024))  # 256 KB left
    job = create_export(study, "ratings_csv", user=people[names.COORDINATOR])
    run_export_job(job.pk)  # the worker's function, in this process

    body = _client(people[names.COORDINATOR]).get(f"/api/v1/exports/{job.pk}/").json()
    assert body["status"] == "failed", body
    assert "storage is full" in body["error"]
    folder = Path(settings.MEDIA_ROOT) / "exports" / str(job.pk)
    assert not list(folder.iterdir()), "a partial export file was left on the full disk"
    filler.unlink()
    job.refresh_from_db()
    assert client_retry(people, job) == 202
    run_export_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert (Path(settings.MEDIA_ROOT) / job.file_path).stat().st_size == job.size_bytes


def client_retry(people, job) -> int:
    return _client(people[names.COORDINATOR]).post(f"/api/v1/exports/{job.pk}/retry/").status_code
