"""Resumable chunked uploads: chunks at offsets, retries harmless, gaps refused, finish once."""

import os
import time
from pathlib import Path

import pydicom.data
import pytest
from rest_framework.test import APIClient

from imaging import chunked
from imaging.ingest_jobs import run_ingest_job
from imaging.models import ImageFile, IngestJob
from iqa_platform.jobs import JobStatus
from tests.factories import names

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _start(client, dataset, files):
    return client.post(
        f"/api/v1/datasets/{dataset.pk}/upload-sessions/", {"files": files}, format="json"
    )


def _put(client, sid, index, offset, data):
    return client.generic(
        "PUT",
        f"/api/v1/upload-sessions/{sid}/files/{index}/?offset={offset}",
        data,
        content_type="application/octet-stream",
    )


def test_chunks_with_a_retry_and_a_gap_then_finish_imports(people, study, settings):
    settings.IQA_INGEST_WORKERS = 1
    client = _client(people[names.COORDINATOR])
    ct = Path(pydicom.data.get_testdata_file("CT_small.dcm")).read_bytes()
    created = _start(client, study.dataset, [{"name": "scan/CT.dcm", "size": len(ct)}])
    assert created.status_code == 201, created.content
    sid = created.json()["id"]
    half = len(ct) // 2

    assert _put(client, sid, 0, 0, ct[:half]).json()["received"] == half
    # The answer to that chunk was lost: the client sends it again; nothing is doubled.
    assert _put(client, sid, 0, 0, ct[:half]).json()["received"] == half
    # A chunk beyond what arrived would leave a hole: 409 says where to resume.
    gap = _put(client, sid, 0, half + 10, ct[half + 10 :])
    assert gap.status_code == 409 and gap.json()["received"] == half
    early = client.post(f"/api/v1/upload-sessions/{sid}/finish/")
    assert early.status_code == 400 and "not complete" in str(early.json())
    assert _put(client, sid, 0, half, ct[half:]).json()["received"] == len(ct)
    assert client.get(f"/api/v1/upload-sessions/{sid}/").json()["files"][0]["received"] == len(ct)

    finished = client.post(f"/api/v1/upload-sessions/{sid}/finish/")
    assert finished.status_code == 202, finished.content
    again = client.post(f"/api/v1/upload-sessions/{sid}/finish/")
    assert again.json()["id"] == finished.json()["id"]  # finishing twice queues one job
    run_ingest_job(finished.json()["id"])
    job = IngestJob.objects.get(pk=finished.json()["id"])
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert ImageFile.objects.filter(dataset=study.dataset).count() == 1
    assert _put(client, sid, 0, 0, b"x").status_code == 400  # a finished upload takes no chunk


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (None, "Name one or more files"),
        ([{"name": "a.dcm"}], "size must be a byte count"),
        ([{"name": "", "size": 3}], "name must be a file name"),
        ([{"name": "a.dcm", "size": 3 * 1024**3}], "the limit is"),
    ],
)
def test_bad_sessions_are_refused_clearly(people, study, files, message):
    response = _start(_client(people[names.COORDINATOR]), study.dataset, files)
    assert response.status_code == 400 and message in str(response.json())


@pytest.mark.parametrize("body", [[{"name": "a.dcm", "size": 3}], True, 7, "files"])
def test_a_body_that_is_not_an_object_is_refused_clearly(people, study, body):
    # Schemathesis found these answered 500 (AttributeError: 'list' object has no 'get').
    response = _client(people[names.COORDINATOR]).post(
        f"/api/v1/datasets/{study.dataset.pk}/upload-sessions/", body, format="json"
    )
    assert response.status_code == 400
    assert "Name one or more files" in str(response.json())


def test_chunk_errors_are_4xx(people, study):
    client = _client(people[names.COORDINATOR])
    sid = _start(client, study.dataset, [{"name": "a.dcm", "size": 4}]).json()["id"]
    assert _put(client, sid, 0, 0, b"12345").status_code == 400  # past the declared size
    assert _put(client, sid, 3, 0, b"1").status_code == 400  # no such file
    bad = client.generic("PUT", f"/api/v1/upload-sessions/{sid}/files/0/?offset=x", b"1")
    assert bad.status_code == 400
    too_big = _put(client, sid, 0, 0, b"0" * (chunked.CHUNK_BYTES + 1))
    assert too_big.status_code == 400


def test_only_the_uploader_sees_a_session_and_raters_cannot_start_one(people, study):
    owner = _client(people[names.COORDINATOR])
    sid = _start(owner, study.dataset, [{"name": "a.dcm", "size": 1}]).json()["id"]
    for who in (names.RATER, names.RESEARCHER):
        other = _client(people[who])
        assert other.get(f"/api/v1/upload-sessions/{sid}/").status_code == 404
        assert _put(other, sid, 0, 0, b"1").status_code == 404
    rater = _client(people[names.RATER])
    assert _start(rater, study.dataset, [{"name": "a", "size": 1}]).status_code == 404
    assert owner.delete(f"/api/v1/upload-sessions/{sid}/").status_code == 204
    assert owner.get(f"/api/v1/upload-sessions/{sid}/").status_code == 404


def test_abandoned_uploads_are_removed_and_live_ones_kept(people, study):
    client = _client(people[names.COORDINATOR])
    old = _start(client, study.dataset, [{"name": "a.dcm", "size": 2}]).json()["id"]
    _put(client, old, 0, 0, b"1")
    live = _start(client, study.dataset, [{"name": "b.dcm", "size": 2}]).json()["id"]
    # An hour before the live one would count as abandoned; the old one's last chunk is older.
    now = time.time() + chunked.ABANDONED_AFTER_S - 3600
    for path in (chunked.sessions_root() / old).rglob("*"):
        os.utime(path, (now - chunked.ABANDONED_AFTER_S - 3600,) * 2)
    assert chunked.prune_abandoned(now=now) == 1
    assert client.get(f"/api/v1/upload-sessions/{old}/").status_code == 404
    assert client.get(f"/api/v1/upload-sessions/{live}/").status_code == 200
