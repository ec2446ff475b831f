"""Training runs through the API and a real worker: launched by researchers, invisible to raters,
refused whole when wrong, resumed from their last checkpoint after a worker dies."""

import os
import signal
import time

import pytest
from django.test import Client
from rest_framework.test import APIClient

from imaging.models import Image
from inference.models import ModelVersion, TrainingRun
from inference.runs import run_training, split_parts
from iqa_platform.jobs import JobStatus
from ratings.services.labels import study_labels
from tests.conftest import wait_for
from tests.factories import names

TINY = {"input_width": 32, "input_height": 48, "batch_size": 4, "seed": 3}


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _page_client(user) -> Client:
    client = Client()
    client.force_login(user)
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


def test_a_run_holding_out_a_site_never_trains_on_it_and_reports_it_beside_the_in_site_parts(
    people, rated_study
):
    """Leave-one-site-out: the held-out site's images are in no training, validation or test
    part; they are scored apart as "out of site", beside the in-site metrics, on the run page."""
    images = list(rated_study.dataset.images.order_by("pk"))
    held = {image.pk for image in images[::3]}  # six of the sixteen, across the blur range
    Image.objects.filter(pk__in=held).update(site_key="site-b")
    Image.objects.exclude(pk__in=held).update(site_key="site-a")
    client = _client(people[names.RESEARCHER])
    response = _launch(
        client, rated_study, hold_out_by="site", hold_out=["site-b"],
        settings={**TINY, "epochs": 2},
    )  # fmt: skip
    assert response.status_code == 202, response.content
    run_id = response.json()["id"]
    run_training(run_id)  # in this process: what a worker would run
    run = TrainingRun.objects.get(pk=run_id)
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.counts["out_of_site"] == len(held)
    assert run.counts["train"] + run.counts.get("val", 0) + run.counts.get("test", 0) == 16 - len(
        held
    )
    assert run.metrics["out_of_site"]["n"] == len(held)
    assert run.metrics["validation"]["n"] >= 1
    # The parts the run used never include a held-out image outside "out_of_site".
    labels = study_labels(rated_study, "gray-level", rated_study.splits.latest("created_at"))
    parts = split_parts(run, labels)
    assert {image.image_id for image in parts["out_of_site"].images} == held
    in_site = [image.image_id for part in ("train", "val", "test") for image in parts[part].images]
    assert not held & set(in_site)
    page = _page_client(people[names.RESEARCHER]).get(f"/training/runs/{run_id}/")
    assert page.status_code == 200
    assert "Out of site (held out)" in page.content.decode()
