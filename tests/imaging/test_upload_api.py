"""Uploading DICOM over the API: 202, a job a real Celery worker runs, a per-file report."""

import pydicom.data
import pytest
from rest_framework.test import APIClient

from imaging.ingest_jobs import run_ingest_job
from imaging.models import Dataset, ImageFile, IngestJob
from iqa_platform.jobs import JobStatus
from tests.conftest import wait_for
from tests.factories import names


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _files(*names_):
    return [open(pydicom.data.get_testdata_file(n), "rb") for n in names_]


@pytest.mark.worker
def test_upload_is_imported_by_a_real_worker(people, study, celery_worker):
    dataset = study.dataset
    client = _client(people[names.COORDINATOR])
    response = client.post(
        f"/api/v1/datasets/{dataset.pk}/uploads/",
        {"files": _files("CT_small.dcm", "MR_small.dcm", "README.txt")},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    job_url = response["Location"]

    def finished():
        body = client.get(job_url).json()
        return body if body["status"] in ("succeeded", "failed") else None

    body = wait_for(finished, timeout=90)
    assert body["status"] == "succeeded", body["error"]
    assert body["report"]["summary"]["imported"] == 2
    skipped = [f for f in body["report"]["files"] if f["status"] == "skipped"]
    assert [f["reason_code"] for f in skipped] == ["not_dicom"]
    assert body["progress"] == 1.0
    assert ImageFile.objects.filter(dataset=dataset).count() == 2


def test_running_the_job_twice_doubles_nothing(people, study):
    client = _client(people[names.COORDINATOR])
    response = client.post(
        f"/api/v1/datasets/{study.dataset.pk}/uploads/",
        {"files": _files("CT_small.dcm")},
        format="multipart",
    )
    job = IngestJob.objects.get(pk=response.json()["id"])
    run_ingest_job(job.pk)
    run_ingest_job(job.pk)  # a redelivered task
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.report["summary"]["imported"] == 1
    assert ImageFile.objects.filter(dataset=study.dataset).count() == 1


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (names.COORDINATOR, 202),
        (names.STAFF, 202),
        (names.RATER, 404),
        (names.RESEARCHER, 404),
        (names.OUTSIDER, 404),
    ],
)
def test_who_may_upload(people, study, who, expected, django_capture_on_commit_callbacks):
    client = _client(people[who])
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            f"/api/v1/datasets/{study.dataset.pk}/uploads/",
            {"files": _files("CT_small.dcm")},
            format="multipart",
        )
    assert response.status_code == expected


def test_an_upload_without_files_is_a_clear_400(people, study):
    client = _client(people[names.COORDINATOR])
    response = client.post(f"/api/v1/datasets/{study.dataset.pk}/uploads/", {}, format="multipart")
    assert response.status_code == 400
    assert "files" in response.json()


def test_an_upload_to_an_unknown_dataset_is_404(people):
    client = _client(people[names.STAFF])
    response = client.post("/api/v1/datasets/99999/uploads/", {"files": _files("CT_small.dcm")})
    assert response.status_code == 404


def test_dataset_names_are_unique_with_a_clear_error(people):
    client = _client(people[names.STAFF])
    assert client.post("/api/v1/datasets/", {"name": "Chest"}).status_code == 201
    response = client.post("/api/v1/datasets/", {"name": "Chest"})
    assert response.status_code == 400
    assert "name" in response.json()
    assert Dataset.objects.filter(name="Chest").count() == 1


def test_a_created_dataset_answers_like_a_listed_one(people):
    # Schemathesis found the 201 without `n_images`, which the schema says is always there.
    client = _client(people[names.STAFF])
    created = client.post("/api/v1/datasets/", {"name": "Chest"}).json()
    listed = client.get("/api/v1/datasets/").json()["results"][0]
    assert created == listed
    assert created["n_images"] == 0


def test_a_rater_may_not_create_datasets(people):
    response = _client(people[names.RATER]).post("/api/v1/datasets/", {"name": "Mine"})
    assert response.status_code == 403


def test_an_ultrasound_upload_is_refused_unless_the_uploader_allows_burned_in(people, study):
    client = _client(people[names.COORDINATOR])
    url = f"/api/v1/datasets/{study.dataset.pk}/uploads/"
    for allow, expected in (("false", "skipped"), ("true", "imported")):
        response = client.post(
            url, {"files": _files("US1_J2KR.dcm"), "allow_burned_in": allow}, format="multipart"
        )
        assert response.json()["allow_burned_in"] is (allow == "true")
        run_ingest_job(response.json()["id"])
        report = IngestJob.objects.get(pk=response.json()["id"]).report
        assert [f["status"] for f in report["files"]] == [expected]
        if expected == "skipped":
            assert report["files"][0]["reason_code"] == "burned_in_annotation"


def test_a_malformed_allow_flag_is_a_clear_400(people, study):
    response = _client(people[names.COORDINATOR]).post(
        f"/api/v1/datasets/{study.dataset.pk}/uploads/",
        {"files": _files("CT_small.dcm"), "allow_burned_in": "perhaps"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "allow_burned_in" in response.json()


def test_subject_fields_are_hidden_from_a_manager_who_also_rates_on_the_dataset(people, study):
    """Issue 12, found 8: a rater of study A who coordinates study B on the same dataset may
    list the dataset's images, but not with the fields raters are blind to."""
    from ratings.models import Membership, ReaderStudy, Role

    rater = people[names.RATER]
    other = ReaderStudy.objects.create(name="study B", dataset=study.dataset)
    Membership.objects.create(user=rater, study=other, role=Role.COORDINATOR)
    url = f"/api/v1/datasets/{study.dataset.pk}/images/"
    fields = ("patient_key", "site_key", "patient_sex", "age_band")

    rows = _client(rater).get(url).json()["results"]
    assert rows and all(row[f] is None for row in rows for f in fields)
    assert all(row["label"] for row in rows)  # the rest of the listing is still there

    coordinator_rows = _client(people[names.COORDINATOR]).get(url).json()["results"]
    assert all(row["patient_key"] for row in coordinator_rows)
    staff_rows = _client(people[names.STAFF]).get(url).json()["results"]
    assert all(row["patient_key"] for row in staff_rows)
