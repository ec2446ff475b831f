"""The saliency heatmap over HTTP: the study's researchers and coordinators get a PNG of the
image's size with the model's score; raters get it only as an assisted-reading arm."""

import io

import numpy as np
import pytest
from PIL import Image as PILImage
from rest_framework.test import APIClient

from imaging.models import Image
from imaging.services import representative_file
from inference import assist
from inference.predict import Predictor
from ratings.models import Membership, ReaderStudy, Role, StudyImage
from tests.factories import make_dataset, names
from tests.inference.versions import make_iqm_version, make_version


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _png(response) -> np.ndarray:
    assert response["Content-Type"] == "image/png"
    return np.asarray(PILImage.open(io.BytesIO(response.content)))


@pytest.mark.django_db
def test_researcher_and_coordinator_get_the_heatmap_at_the_image_size_with_the_score(
    people, rated_study
):
    version = make_version(rated_study)
    image = rated_study.dataset.images.order_by("pk").first()
    expected = Predictor(version).score_file(representative_file(image.pk))[0]
    url = f"/api/v1/model-versions/{version.pk}/saliency/?image={image.pk}"
    for who in (names.RESEARCHER, names.COORDINATOR):
        response = _client(people[who]).get(url)
        assert response.status_code == 200, response.content
        pixels = _png(response)
        assert pixels.shape == (image.rows, image.columns, 4)
        assert float(response["X-Model-Score"]) == pytest.approx(expected, rel=1e-5)
        assert response["X-Saliency-Method"] == "grad-cam"
    # Cached on disk under MEDIA_ROOT, keyed by version and image.
    assert (assist._cache_dir(version) / f"{image.pk}.png").is_file()


@pytest.mark.django_db
def test_cahdc_rga_serves_its_attention_map(people, rated_study):
    version = make_version(rated_study, arch="cahdc-rga", input_width=32, input_height=48)
    image = rated_study.dataset.images.order_by("pk").first()
    url = f"/api/v1/model-versions/{version.pk}/saliency/?image={image.pk}"
    response = _client(people[names.RESEARCHER]).get(url)
    assert response.status_code == 200
    assert response["X-Saliency-Method"] == "attention"
    expected = Predictor(version).score_file(representative_file(image.pk))[0]
    assert float(response["X-Model-Score"]) == pytest.approx(expected, rel=1e-5)
    pixels = _png(response)
    assert pixels.shape == (image.rows, image.columns, 4) and pixels[..., 3].max() > 0


@pytest.mark.django_db
def test_raters_outsiders_bad_and_foreign_images_are_refused(people, rated_study):
    version = make_version(rated_study)
    image = rated_study.dataset.images.first()
    base = f"/api/v1/model-versions/{version.pk}/saliency/"
    for who in (names.RATER, names.OUTSIDER):
        assert _client(people[who]).get(f"{base}?image={image.pk}").status_code == 404
    researcher = _client(people[names.RESEARCHER])
    for bad in ("", "?image=", "?image=abc", "?image=-1", "?image=" + "9" * 30):
        response = researcher.get(base + bad)
        assert response.status_code == 400, bad
        assert "image" in response.json()
    foreign = make_dataset(n_images=1).images.first()
    assert researcher.get(f"{base}?image={foreign.pk}").status_code == 404
    assert researcher.get(f"{base}?image=999999").status_code == 404


def _worklist(client, study):
    response = client.get(f"/api/v1/studies/{study.pk}/worklist/")
    assert response.status_code == 200
    return response.json()["items"]


@pytest.mark.django_db
def test_the_reading_payload_carries_model_output_only_in_an_assisted_study(
    people, rated_study, monkeypatch
):
    # Score every image while building the payload, however loaded the machine.
    monkeypatch.setattr(assist, "PAYLOAD_SCORING_BUDGET_S", 600.0)
    rater = _client(people[names.RATER])
    version = make_version(rated_study, active=True)
    # Not an assisted arm: nothing, and the rater's saliency URL does not exist for them.
    items = _worklist(rater, rated_study)
    assert all("model" not in item for item in items)
    url = f"/api/v1/studies/{rated_study.pk}/items/{items[0]['item']}/saliency/"
    assert rater.get(url).status_code == 404

    ReaderStudy.objects.filter(pk=rated_study.pk).update(show_model_output=True)
    items = _worklist(rater, rated_study)
    predictor = Predictor(version)
    by_label = {i.label: i for i in Image.objects.filter(dataset=rated_study.dataset)}
    for item in items:
        model = item["model"]
        assert model["version"] == version.pk and model["dimension"] == "gray-level"
        expected = predictor.score_file(representative_file(by_label[item["label"]].pk))[0]
        assert model["score"] == pytest.approx(expected, rel=1e-5)
        assert model["saliency"] == url.replace(items[0]["item"], item["item"])
    response = rater.get(items[0]["model"]["saliency"])
    assert response.status_code == 200
    assert float(response["X-Model-Score"]) == pytest.approx(items[0]["model"]["score"], rel=1e-5)
    assert _png(response).shape[2] == 4
    # Another rater's item token names nothing in this rater's worklist.
    other = _client(people[names.RATER2])
    assert other.get(items[0]["model"]["saliency"]).status_code == 404

    # No active version: the assisted study shows nothing.
    version.is_active = False
    version.save()
    assert all("model" not in item for item in _worklist(rater, rated_study))


@pytest.mark.django_db
def test_scores_beyond_the_payload_budget_come_with_the_saliency_png(
    people, rated_study, monkeypatch
):
    monkeypatch.setattr(assist, "PAYLOAD_SCORING_BUDGET_S", 0.0)
    ReaderStudy.objects.filter(pk=rated_study.pk).update(show_model_output=True)
    make_version(rated_study, active=True)
    rater = _client(people[names.RATER])
    items = _worklist(rater, rated_study)
    assert all(item["model"]["score"] is None for item in items)
    response = rater.get(items[3]["model"]["saliency"])
    assert response.status_code == 200 and float(response["X-Model-Score"]) > -1e9
    # Once computed, the score is cached and rides in the next payload.
    assert _worklist(rater, rated_study)[3]["model"]["score"] == pytest.approx(
        float(response["X-Model-Score"]), rel=1e-5
    )


@pytest.mark.django_db
def test_an_iqm_model_gives_its_score_and_an_empty_map(people, rated_study):
    version = make_iqm_version(rated_study)
    image = rated_study.dataset.images.order_by("pk").first()
    expected = Predictor(version).score_file(representative_file(image.pk))[0]
    url = f"/api/v1/model-versions/{version.pk}/saliency/?image={image.pk}"
    response = _client(people[names.RESEARCHER]).get(url)
    assert response.status_code == 200 and response["X-Saliency-Method"] == "none"
    assert float(response["X-Model-Score"]) == pytest.approx(expected, rel=1e-5)
    pixels = _png(response)
    assert pixels.shape == (image.rows, image.columns, 4) and pixels[..., 3].max() == 0


@pytest.mark.django_db
def test_a_researcher_who_also_rates_the_image_blind_elsewhere_gets_no_map(people, rated_study):
    version = make_version(rated_study)
    image = rated_study.dataset.images.first()
    blind = ReaderStudy.objects.create(name="blind second reading", dataset=rated_study.dataset)
    StudyImage.objects.create(study=blind, image=image)
    Membership.objects.create(user=people[names.RESEARCHER], study=blind, role=Role.RATER)
    url = f"/api/v1/model-versions/{version.pk}/saliency/?image={image.pk}"
    assert _client(people[names.RESEARCHER]).get(url).status_code == 403
    assert _client(people[names.COORDINATOR]).get(url).status_code == 200
