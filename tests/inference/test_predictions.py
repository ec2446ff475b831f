"""Stored predictions: an inference job scores a study's images once each (a retry or a
redelivered task scores nothing twice), researchers launch it, coordinators read the results,
raters see nothing, and the QC threshold flags what falls below it."""

import math
import threading

import pytest
import torch
from django.db import connection
from rest_framework.test import APIClient

from imaging.services import representative_file
from inference import scoring
from inference.fast import DEFAULT_VARIANT
from inference.models import InferenceJob, Prediction
from inference.predict import Predictor
from inference.preprocess import load_one
from inference.training.engine import outputs
from iqa_platform.jobs import JobStatus
from ratings.models import StudyImage
from tests.factories import names
from tests.inference.tiny_versions import make_version


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _run(job):
    scoring.run_inference(job.pk)
    job.refresh_from_db()
    return job


def test_a_job_scores_the_study_once_per_image_with_an_mc_dropout_uncertainty(rated_study):
    version = make_version(rated_study, dropout=0.3)
    job = _run(scoring.create_job(version, queue=False))
    n_images = StudyImage.objects.filter(study=rated_study).count()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.n_images, job.n_done, job.n_predicted, job.progress) == (
        n_images, n_images, n_images, 1.0,
    )  # fmt: skip
    predictions = list(Prediction.objects.filter(model_version=version))
    assert len(predictions) == n_images
    assert {p.image_id for p in predictions} == set(
        StudyImage.objects.filter(study=rated_study).values_list("image_id", flat=True)
    )
    # Dropout on: the SD over the MC passes is a real spread, not a placeholder.
    assert all(p.uncertainty is not None and p.uncertainty > 0 for p in predictions)
    assert all(p.seconds > 0 and p.probabilities is None for p in predictions)
    assert predictions[0].preprocessing == {
        "arch": "convnet4", "width": 32, "height": 48, "fit": "stretch", "normalise": "unit",
    }  # fmt: skip
    # The stored score is the version's own prediction of that image's file (the MC passes
    # leave the deterministic score alone).
    one = predictions[0]
    score, _, _ = Predictor(version).score_file(representative_file(one.image_id))
    assert one.score == pytest.approx(score, abs=1e-5)


def test_a_retry_and_a_redelivered_task_score_nothing_twice(rated_study):
    version = make_version(rated_study)
    job = _run(scoring.create_job(version, queue=False))
    kept = dict(Prediction.objects.values_list("image_id", "pk"))
    # A redelivered message finds the job done and changes nothing.
    scoring.run_inference(job.pk)
    assert dict(Prediction.objects.values_list("image_id", "pk")) == kept
    # One prediction lost (say the job failed before storing it): a retry scores that one only.
    lost = next(iter(kept))
    Prediction.objects.filter(image_id=lost).delete()
    InferenceJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED)
    researcher = _client(rated_study.memberships.get(role="researcher").user)
    response = researcher.post(f"/api/v1/inference-jobs/{job.pk}/retry/")
    assert response.status_code == 202, response.content
    job = _run(job)
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
    assert job.n_predicted == 1 and job.n_done == len(kept)
    again = dict(Prediction.objects.values_list("image_id", "pk"))
    assert set(again) == set(kept)
    assert {i: pk for i, pk in again.items() if i != lost} == {
        i: pk for i, pk in kept.items() if i != lost
    }


def test_a_classifier_stores_probabilities_their_entropy_and_flags_a_low_p_acceptable(
    rated_study,
):
    version = make_version(
        rated_study, target="binary", dimension_key="acceptable", n_classes=2, qc_threshold=0.99
    )
    _run(scoring.create_job(version, queue=False))
    prediction = Prediction.objects.filter(model_version=version).first()
    p = prediction.probabilities
    assert len(p) == 2 and sum(p) == pytest.approx(1.0)
    assert prediction.score == float(p.index(max(p)))
    assert prediction.uncertainty == pytest.approx(-sum(q * math.log(q) for q in p), rel=1e-5)
    assert prediction.qc_value == pytest.approx(p[1])  # P(acceptable)
    assert prediction.flagged == (p[1] < 0.99)


def test_the_threshold_flags_stored_predictions_again(people, rated_study):
    version = make_version(rated_study)
    _run(scoring.create_job(version, queue=False))
    scores = sorted(Prediction.objects.values_list("score", flat=True))
    assert not Prediction.objects.filter(flagged=True).exists()  # no threshold: no flag
    middle = (scores[3] + scores[4]) / 2
    researcher = _client(people[names.RESEARCHER])
    url = f"/api/v1/model-versions/{version.pk}/"
    response = researcher.patch(url, {"qc_threshold": middle}, format="json")
    assert response.status_code == 200 and response.json()["qc_threshold"] == middle
    flagged = sorted(Prediction.objects.filter(flagged=True).values_list("score", flat=True))
    assert flagged == scores[:4]
    listed = researcher.get(f"/api/v1/model-versions/{version.pk}/predictions/?flagged=1").json()
    assert listed["count"] == 4
    assert researcher.patch(url, {"qc_threshold": None}, format="json").status_code == 200
    assert not Prediction.objects.filter(flagged=True).exists()
    # Coordinators read, they do not set; nonsense is a clear 400.
    coordinator = _client(people[names.COORDINATOR])
    assert coordinator.patch(url, {"qc_threshold": 1}, format="json").status_code == 403
    bad = researcher.patch(url, {"qc_threshold": "high"}, format="json")
    assert bad.status_code == 400 and "qc_threshold" in bad.json()


def test_a_classifier_threshold_is_a_probability(people, rated_study):
    version = make_version(rated_study, target="binary", dimension_key="acceptable", n_classes=2)
    response = _client(people[names.RESEARCHER]).patch(
        f"/api/v1/model-versions/{version.pk}/", {"qc_threshold": 2}, format="json"
    )
    assert response.status_code == 400 and "probability" in str(response.json())


def test_researchers_launch_coordinators_read_raters_see_nothing(
    people, rated_study, django_capture_on_commit_callbacks
):
    version = make_version(rated_study)
    url = f"/api/v1/model-versions/{version.pk}/predictions/"
    researcher = _client(people[names.RESEARCHER])
    with django_capture_on_commit_callbacks() as queued:
        response = researcher.post(url, {"study": rated_study.pk, "part": "test"}, format="json")
    assert response.status_code == 202, response.content
    assert len(queued) == 1
    body = response.json()
    assert (body["trigger"], body["part"], body["status"]) == ("manual", "test", "pending")
    assert response["Location"].endswith(f"/api/v1/inference-jobs/{body['id']}/")
    job = _run(InferenceJob.objects.get(pk=body["id"]))
    in_test = version.split.assignments.filter(subset="test").count()
    assert job.n_predicted == in_test > 0

    coordinator = _client(people[names.COORDINATOR])
    assert coordinator.post(url, {}, format="json").status_code == 403
    assert coordinator.get(url).json()["count"] == in_test
    assert coordinator.get(f"/api/v1/inference-jobs/{job.pk}/").json()["n_done"] == in_test
    for name in (names.RATER, names.OUTSIDER):
        client = _client(people[name])
        assert client.get(url).status_code == 404
        assert client.post(url, {}, format="json").status_code == 404
        assert client.get(f"/api/v1/inference-jobs/{job.pk}/").status_code == 404
        assert client.get("/api/v1/inference-jobs/").json()["results"] == []
    bad = researcher.post(url, {"part": "holdout"}, format="json")
    assert bad.status_code == 400 and "part" in bad.json()
    # A whole dataset: every image on it, those in no study included.
    whole = researcher.post(url, {"dataset": rated_study.dataset_id}, format="json")
    assert whole.status_code == 202 and whole.json()["dataset"] == rated_study.dataset_id
    both = {"dataset": rated_study.dataset_id, "study": rated_study.pk}
    assert researcher.post(url, both, format="json").status_code == 400
    assert researcher.post(url, {"dataset": 999999}, format="json").status_code == 404


def test_cahdc_rga_is_scored_by_its_fast_form_with_the_eager_models_scores(rated_study):

    version = make_version(rated_study, arch="cahdc-rga", size=(64, 96))
    predictor = Predictor(version)
    path = representative_file(rated_study.dataset.images.first().pk)
    score, probabilities, uncertainty = predictor.score_file(path)
    with torch.inference_mode():
        eager = float(outputs(predictor.model, load_one(path, predictor.prep))[0])
    assert predictor.forward_kind == DEFAULT_VARIANT != "eager"
    assert score == pytest.approx(eager, abs=1e-4)
    assert probabilities is None and uncertainty is None  # no dropout: no MC spread


def test_the_predict_command_prints_the_stored_predictions(rated_study, tmp_path):
    from django.core.management import call_command

    version = make_version(rated_study)
    _run(scoring.create_job(version, queue=False))
    out = tmp_path / "stored.csv"
    call_command(
        "predict", model_version=version.pk, study=str(rated_study.pk), stored=True, csv=str(out)
    )
    lines = out.read_text().splitlines()
    assert lines[0] == "image,prediction,uncertainty" and len(lines) == 17
    first = Prediction.objects.select_related("image").order_by("image_id").first()
    assert lines[1] == f"{first.image.label},{round(first.score, 4)},"


def test_two_jobs_scoring_the_same_images_at_once_store_one_prediction_each(
    transactional_db, rated_study, monkeypatch
):
    version = make_version(rated_study)
    jobs = [scoring.create_job(version, queue=False) for _ in range(2)]
    # Both jobs pass their "already stored?" look before either stores anything.
    barrier = threading.Barrier(2, timeout=60)
    original = scoring.representative_files

    def files_after_both_looked(ids):
        barrier.wait()
        return original(ids)

    monkeypatch.setattr(scoring, "representative_files", files_after_both_looked)
    failures = []

    def go(job):
        try:
            scoring.run_inference(job.pk)
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    for job in jobs:
        job.refresh_from_db()
        assert job.status == JobStatus.SUCCEEDED, job.error
    assert Prediction.objects.count() == 16
    assert sum(job.n_predicted for job in jobs) == 16  # each row counted by its one maker
