"""Real-time QC: a radiograph uploaded into a dataset whose study has an active model version is
scored by the worker with nobody asking, flagged when below the version's threshold, and listed
on the study's QC page for its coordinator (never for a rater)."""

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from frontend import qc
from imaging.ingest import ingest_paths
from imaging.services import representative_file
from inference import scoring
from inference.models import InferenceJob, Prediction
from inference.predict import Predictor
from tests.conftest import wait_for
from tests.factories import make_study, names
from tests.inference.synthetic import clean_chest, degraded, write_chest_dicom
from tests.inference.tiny_versions import make_version


def _radiograph(folder, name="arrival.dcm", seed=7):
    folder.mkdir(exist_ok=True)
    return write_chest_dicom(folder / name, degraded(clean_chest(seed, shape=(96, 64)), blur=2))


@pytest.mark.worker
def test_an_uploaded_radiograph_is_scored_flagged_and_listed_with_nobody_asking(
    people, study, tmp_path, celery_worker
):
    gray = make_version(study, dropout=0.3, active=True, qc_threshold=1e6)
    sharp = make_version(study, dimension_key="sharpness", active=True, qc_threshold=-1e6)
    idle = make_version(study, dimension_key="gray-level", seed=1)  # not active
    elsewhere = make_study(people, n_images=1)
    other = make_version(elsewhere, active=True, qc_threshold=1e6)

    coordinator = APIClient()
    coordinator.force_authenticate(people[names.COORDINATOR])
    path = _radiograph(tmp_path / "incoming")
    with open(path, "rb") as handle:
        response = coordinator.post(
            f"/api/v1/datasets/{study.dataset.pk}/uploads/", {"files": [handle]}
        )
    assert response.status_code == 202, response.content
    # Nobody asks for a prediction: the import alone brings it.
    stored = wait_for(lambda: Prediction.objects.filter(model_version=gray).first(), timeout=180)
    wait_for(lambda: Prediction.objects.filter(model_version=sharp).exists(), timeout=60)
    image = stored.image
    assert image.dataset_id == study.dataset_id and image.created_at <= stored.created_at
    job = InferenceJob.objects.get(pk=stored.job_id)
    assert (job.trigger, job.image_ids, job.created_by) == ("import", [image.pk], None)
    # The worker's prediction is the version's own, with its MC-dropout SD.
    score, _, _ = Predictor(gray).score_file(representative_file(image.pk))
    assert stored.score == pytest.approx(score, abs=1e-5)
    assert stored.uncertainty is not None and stored.uncertainty > 0
    assert stored.flagged  # below 1e6
    assert not Prediction.objects.get(model_version=sharp).flagged  # above -1e6
    assert not Prediction.objects.filter(model_version__in=[idle, other]).exists()

    page = Client()
    page.force_login(people[names.COORDINATOR])
    html = page.get(f"/studies/{study.pk}/qc/").content.decode()
    assert f'data-prediction="{stored.pk}"' in html
    assert html.count("data-prediction=") == 1  # the sharpness prediction is not flagged
    thumbnail = f"/studies/{study.pk}/qc/images/{image.pk}/thumbnail/"
    assert thumbnail in html
    answer = page.get(thumbnail)
    assert answer.status_code == 200 and answer["Content-Type"] == "image/png"
    researcher = Client()
    researcher.force_login(people[names.RESEARCHER])
    assert researcher.get(f"/studies/{study.pk}/qc/").status_code == 200
    for name, expected in ((names.RATER, 403), (names.OUTSIDER, 404)):
        client = Client()
        client.force_login(people[name])
        assert client.get(f"/studies/{study.pk}/qc/").status_code == expected
        assert client.get(thumbnail).status_code == expected


def test_only_new_images_of_a_dataset_with_an_active_version_are_queued(
    people, study, tmp_path, django_capture_on_commit_callbacks
):
    make_version(study, active=True)
    make_version(study, dimension_key="sharpness")  # inactive: never queued
    folder = tmp_path / "incoming"
    _radiograph(folder, "a.dcm", seed=1)
    _radiograph(folder, "b.dcm", seed=2)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = ingest_paths(study.dataset, [folder], workers=1)
    new = sorted({outcome.image for outcome in report.outcomes})
    jobs = list(InferenceJob.objects.all())
    assert [(j.trigger, j.image_ids, j.model_version.dimension_key) for j in jobs] == [
        ("import", new, "gray-level")
    ]
    assert len(callbacks) == 2  # the hook, then the job's queueing
    # The same files again are duplicates: no new image, nothing queued.
    with django_capture_on_commit_callbacks(execute=True):
        ingest_paths(study.dataset, [folder], workers=1)
    assert InferenceJob.objects.count() == 1


def test_the_qc_page_pages_flags_newest_first_and_researchers_set_the_threshold(
    people, rated_study, monkeypatch
):
    monkeypatch.setattr(qc, "PAGE_SIZE", 5)
    version = make_version(rated_study, active=True)
    scoring.run_inference(scoring.create_job(version, queue=False).pk)
    researcher = Client()
    researcher.force_login(people[names.RESEARCHER])
    url = f"/studies/{rated_study.pk}/qc/"
    assert "data-prediction=" not in researcher.get(url).content.decode()  # no threshold yet
    answer = researcher.post(url, {"version": version.pk, "qc_threshold": "1e6"})
    assert answer.status_code == 302
    newest_first = list(
        Prediction.objects.order_by("-created_at", "-id").values_list("pk", flat=True)
    )
    assert len(newest_first) == 16
    shown = []
    for number in (1, 2, 3, 4):
        html = researcher.get(f"{url}?page={number}").content.decode()
        shown.append([int(pk) for pk in re.findall(r'data-prediction="(\d+)"', html)])
    assert [len(page) for page in shown] == [5, 5, 5, 1]
    assert sum(shown, []) == newest_first
    coordinator = Client()
    coordinator.force_login(people[names.COORDINATOR])
    assert coordinator.post(url, {"version": version.pk, "qc_threshold": ""}).status_code == 403
    assert f'href="/studies/{rated_study.pk}/qc/"' in coordinator.get("/qc/").content.decode()
    assert 'href="/qc/"' in coordinator.get("/").content.decode()  # the nav link
    researcher.post(url, {"version": version.pk, "qc_threshold": "lots"})
    assert Prediction.objects.filter(flagged=True).count() == 16  # refused, nothing changed
