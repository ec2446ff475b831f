"""Exports over the API: who may start them, 202 + job, polling, download, running twice."""

import hashlib

import pytest
from rest_framework.test import APIClient

from iqa_platform.jobs import JobStatus
from ratings.models import ExportJob, ExportKind
from ratings.results import jobs
from ratings.results.ratings_export import iter_csv
from tests.factories import names

from .export_helpers import rate_everything

pytestmark = pytest.mark.django_db


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def rated(study, people):
    rate_everything(study, [people[names.RATER], people[names.RATER2]])
    return study


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (names.COORDINATOR, 202),
        (names.RESEARCHER, 202),
        (names.STAFF, 202),
        (names.RATER, 403),
        (names.OUTSIDER, 404),
        (None, 403),
    ],
)
def test_who_may_start_an_export(study, people, who, expected):
    client = client_for(people[who] if who else None)
    response = client.post(
        f"/api/v1/studies/{study.pk}/exports/", {"kind": "ratings_csv"}, format="json"
    )
    assert response.status_code == expected, response.content
    assert ExportJob.objects.count() == (1 if expected == 202 else 0)
    if expected == 202:
        assert response.data["status"] == JobStatus.PENDING
        assert response["Location"].endswith(f"/api/v1/exports/{response.data['id']}/")


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "everything"},
        {"kind": "ratings_csv", "params": {"zip": True}},
        {"kind": "agreement_json", "params": {"screen": "maybe"}},
        {"kind": "release", "params": {"image_format": "tiff"}},
        {"kind": "release", "params": {"split": 999999}},
    ],
)
def test_bad_export_requests_get_a_clear_400_and_queue_nothing(study, people, body):
    response = client_for(people[names.COORDINATOR]).post(
        f"/api/v1/studies/{study.pk}/exports/", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert ExportJob.objects.count() == 0


def test_job_is_polled_then_downloaded_with_its_checksum(rated, people):
    carol = client_for(people[names.COORDINATOR])
    job_id = carol.post(
        f"/api/v1/studies/{rated.pk}/exports/", {"kind": "ratings_csv"}, format="json"
    ).data["id"]
    early = carol.get(f"/api/v1/exports/{job_id}/download/")
    assert early.status_code == 409

    jobs.run_export_job(job_id)

    job = carol.get(f"/api/v1/exports/{job_id}/").data
    assert job["status"] == JobStatus.SUCCEEDED and job["progress"] == 1.0
    response = carol.get(job["download_url"])
    body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert body == b"".join(iter_csv(rated))
    assert hashlib.sha256(body).hexdigest() == job["sha256"] == response["X-Content-SHA256"]
    assert job["size_bytes"] == len(body)


def test_a_rater_cannot_read_or_download_an_export_job(rated, people):
    job = jobs.create_export(rated, ExportKind.RATINGS_CSV, {}, people[names.COORDINATOR])
    jobs.run_export_job(job.pk)
    assert client_for(people[names.RATER]).get(f"/api/v1/exports/{job.pk}/").status_code == 403
    alice_download = client_for(people[names.RATER]).get(f"/api/v1/exports/{job.pk}/download/")
    assert alice_download.status_code == 403
    assert client_for(people[names.OUTSIDER]).get(f"/api/v1/exports/{job.pk}/").status_code == 404


def test_running_a_job_twice_does_the_work_once(rated, people):
    job = jobs.create_export(rated, ExportKind.MOS_CSV, {}, people[names.COORDINATOR])
    jobs.run_export_job(job.pk)
    job.refresh_from_db()
    finished, digest = job.finished_at, job.sha256

    jobs.run_export_job(job.pk)

    job.refresh_from_db()
    assert (job.attempts, job.finished_at, job.sha256) == (1, finished, digest)
    assert sorted(p.name for p in jobs.export_dir(job).iterdir()) == [job.file_name]


def test_a_failing_export_records_its_error(rated, people, monkeypatch):
    job = jobs.create_export(rated, ExportKind.RATINGS_JSON, {}, people[names.COORDINATOR])

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(jobs, "write_chunks", broken)
    jobs.run_export_job(job.pk)
    data = client_for(people[names.COORDINATOR]).get(f"/api/v1/exports/{job.pk}/").data
    assert data["status"] == JobStatus.FAILED
    assert "disk full" in data["error"]
    assert data["download_url"] is None


@pytest.mark.parametrize(("who", "expected"), [(names.RESEARCHER, 200), (names.RATER, 403)])
def test_small_exports_stream_directly(rated, people, who, expected):
    response = client_for(people[who]).get(f"/api/v1/studies/{rated.pk}/exports/ratings.csv")
    assert response.status_code == expected
    if expected == 200:
        assert response.streaming
        assert b"".join(response.streaming_content) == b"".join(iter_csv(rated))


def test_unknown_stream_format_is_404(rated, people):
    client = client_for(people[names.COORDINATOR])
    assert client.get(f"/api/v1/studies/{rated.pk}/exports/ratings.xlsx").status_code == 404


def test_mos_export_has_one_row_per_image_and_dimension(rated, people):
    job = jobs.create_export(rated, ExportKind.MOS_CSV, {}, people[names.COORDINATOR])
    jobs.run_export_job(job.pk)
    job.refresh_from_db()
    text = jobs.file_path(job).read_text()
    lines = text.splitlines()
    assert lines[0].startswith("image,dimension,kind,n,mos,sd,median,ci95_low,ci95_high,majority")
    assert len(lines) == 1 + 3 * 3
    binary = [line for line in lines if ",acceptable,binary," in line]
    assert all(line.split(",")[3] == "2" for line in binary)


def test_agreement_report_exports_as_json_and_self_contained_html(rated, people):
    from ratings.results.agreement import study_agreement_report

    carol = client_for(people[names.COORDINATOR])
    for kind in ("agreement_json", "agreement_html"):
        job_id = carol.post(
            f"/api/v1/studies/{rated.pk}/exports/", {"kind": kind}, format="json"
        ).data["id"]
        jobs.run_export_job(job_id)
        job = ExportJob.objects.get(pk=job_id)
        assert job.status == JobStatus.SUCCEEDED, job.error
        body = b"".join(carol.get(f"/api/v1/exports/{job_id}/download/").streaming_content)
        if kind == "agreement_json":
            import json

            assert json.loads(body) == json.loads(json.dumps(study_agreement_report(rated)))
        else:
            assert body.lstrip().lower().startswith(b"<!doctype html")
            assert b"<svg" in body and b"R-alice" in body
            assert b'src="http' not in body and b"<script src" not in body
