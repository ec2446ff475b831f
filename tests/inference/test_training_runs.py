"""Training runs through the API and a real worker: launched by researchers, invisible to raters,
refused whole when wrong, resumed from their last checkpoint after a worker dies."""

import os
import signal
import time

import pytest
from rest_framework.test import APIClient

from inference.models import ModelVersion, TrainingRun
from iqa_platform.jobs import JobStatus
from tests.conftest import wait_for
from tests.factories import names

TINY = {"input_width": 32, "input_height": 48, "batch_size": 4, "seed": 3}


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _launch(client, study, **extra):
    body = {"study": study.pk, "dimension": "gray-level", "arch": "convnet4", "settings": TINY}
    body.update(extra)
    return client.post("/api/v1/training-runs/", body, format="json")


def _finished(client, run_id):
    body = client.get(f"/api/v1/training-runs/{run_id}/").json()
    return body if body["status"] in ("succeeded", "failed", "cancelled") else None


@pytest.mark.worker
def test_a_researcher_launches_a_run_a_worker_trains_it_and_a_version_comes_out(
    people, rated_study, celery_worker
):
    client = _client(people[names.RESEARCHER])
    response = _launch(client, rated_study, settings={**TINY, "epochs": 3})
    assert response.status_code == 202, response.content
    body = wait_for(lambda: _finished(client, response.json()["id"]), timeout=300)
    assert body["status"] == "succeeded", body["error"]
    assert [h["epoch"] for h in body["history"]] == [1, 2, 3]
    assert body["counts"]["train"] >= 8 and body["metrics"]["validation"]["n"] >= 1
    version = ModelVersion.objects.get(run_id=body["id"])
    assert version.labels_fingerprint and version.checkpoint_sha256
    download = client.get(f"/api/v1/model-versions/{version.pk}/download/")
    assert download.status_code == 200
    assert download["X-Content-SHA256"] == version.checkpoint_sha256
    assert client.post(f"/api/v1/model-versions/{version.pk}/activate/").json()["is_active"]


def test_a_bad_run_is_refused_whole_with_every_problem(people, rated_study):
    client = _client(people[names.RESEARCHER])
    response = _launch(client, rated_study, dimension="noise", hold_out=["site-a"])
    assert response.status_code == 400
    assert set(response.json()) >= {"dimension", "hold_out_by"}
    response = _launch(client, rated_study, settings={"epochs": 0})
    assert response.status_code == 400 and "epochs" in str(response.json())
    response = _launch(client, rated_study, dimension="acceptable", target="regression")
    assert response.status_code == 400 and "target" in response.json()
    assert not TrainingRun.objects.exists()


def test_raters_and_outsiders_see_no_training(people, rated_study):
    run = TrainingRun.objects.create(
        study=rated_study, dimension_key="gray-level", target="regression", arch="convnet4",
        status=JobStatus.FAILED,
    )  # fmt: skip
    for name in (names.RATER, names.OUTSIDER):
        client = _client(people[name])
        assert _launch(client, rated_study).status_code in (403, 404)
        assert client.get("/api/v1/training-runs/").json()["results"] == []
        assert client.get("/api/v1/model-versions/").json()["results"] == []
        for method, url in [
            ("get", f"/api/v1/training-runs/{run.pk}/"),
            ("post", f"/api/v1/training-runs/{run.pk}/retry/"),
            ("post", f"/api/v1/training-runs/{run.pk}/cancel/"),
        ]:
            assert getattr(client, method)(url).status_code in (403, 404), (name, url)
    # A coordinator follows the runs but does not launch or retry them.
    coordinator = _client(people[names.COORDINATOR])
    assert coordinator.get(f"/api/v1/training-runs/{run.pk}/").status_code == 200
    assert _launch(coordinator, rated_study).status_code == 403
    assert coordinator.post(f"/api/v1/training-runs/{run.pk}/retry/").status_code == 403


@pytest.mark.worker
def test_a_worker_killed_mid_run_leaves_it_failed_and_a_retry_resumes_from_its_checkpoint(
    people, rated_study, start_worker, settings
):
    settings.IQA_JOB_STALE_AFTER_S = 10  # generous: a busy CI machine may starve a heartbeat
    client = _client(people[names.RESEARCHER])
    worker = start_worker()
    run_id = _launch(client, rated_study, settings={**TINY, "epochs": 40}).json()["id"]
    wait_for(lambda: TrainingRun.objects.get(pk=run_id).epoch >= 2, timeout=300, interval=0.1)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    stopped_at = TrainingRun.objects.get(pk=run_id).epoch

    time.sleep(settings.IQA_JOB_STALE_AFTER_S + 1)
    body = client.get(f"/api/v1/training-runs/{run_id}/").json()
    assert body["status"] == "failed" and "stopped" in body["error"]
    assert client.post(f"/api/v1/training-runs/{run_id}/retry/").status_code == 202
    start_worker()
    body = wait_for(lambda: _finished(client, run_id), timeout=600)
    assert body["status"] == "succeeded", body["error"]
    assert body["attempts"] == 2
    epochs = [h["epoch"] for h in body["history"]]
    assert epochs == list(range(1, 41))
    # The first epochs' reports are the ones written before the kill, kept in the checkpoint:
    # the retry did not train them again.
    resumed_from = min(h["epoch"] for h in body["history"] if h.get("resumed"))
    assert 1 < resumed_from <= stopped_at + 2  # (a checkpoint may land just before the kill)
