"""Raters are blind to the model (issue 10 §4): no prediction, score, saliency map, uncertainty
or priority reason on any endpoint a rater can reach, unless the study is an assisted-reading arm.

Every route of the URL conf is requested as a rater, with real ids (the authorization matrix's
world), after planting an active model version whose cached score for every image is PLANTED
and raising the images' priorities as an active-learning query would. The second test turns
the study into an assisted arm and checks that the same walk then finds the model's output:
the check can fail.
"""

import json
import re

import pytest
from rest_framework.test import APIClient

from inference import assist
from inference.models import ModelVersion
from inference.saliency import heatmap_png
from ratings.models import ReaderStudy, StudyImage
from ratings.worklist import item_token
from tests import test_authorization_matrix as matrix

# The authorization matrix's world: a study, its members, and one of every object a route names.
world = matrix.world

PLANTED = "7.314159"
MODEL_KEYS = (
    "prediction", "predictions", "score", "scores", "probabilities", "uncertainty", "saliency",
    "model", "model_output", "reason", "priority",
)  # fmt: skip
KEY = re.compile(r'"(' + "|".join(MODEL_KEYS) + r')"\s*:')
# The API's description of itself names its routes (saliency among them); it carries no data.
DESCRIPTIONS = {"api-docs", "schema"}


def _plant(world) -> ModelVersion:
    study = ReaderStudy.objects.get(pk=world["study"])
    version = ModelVersion.objects.get(pk=world["version"])
    ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    for image_id in StudyImage.objects.filter(study=study).values_list("image_id", flat=True):
        path = assist._cache_dir(version) / f"{image_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"score": float(PLANTED)}))
        path.with_suffix(".png").write_bytes(heatmap_png(None, 4, 4))
    StudyImage.objects.filter(study=study).update(priority=5)
    return version


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "ignore")
    return response.content.decode("utf-8", "ignore")


def leaks(world) -> list[str]:
    """What a rater of the world's study receives of the model, route by route."""
    rater = APIClient()
    rater.force_login(world["users"]["rater"])
    found = []
    for route, (name, _) in sorted(matrix.ROUTES.items()):
        if name in DESCRIPTIONS:
            continue
        path = matrix._path(route, world)
        response = rater.get(path)
        if response.status_code != 200:
            continue
        body = _body(response)
        if PLANTED in body:
            found.append(f"{path}: the planted score")
        keys = sorted(set(KEY.findall(body)))
        if keys:
            found.append(f"{path}: keys {keys}")
        if "saliency" in body.lower():
            found.append(f"{path}: a saliency map or its URL")
    # The model's own doors, asked directly.
    image, study = world["image"], world["study"]
    token = item_token(study, world["users"]["rater"].pk, image, 0)
    for path in (
        f"/api/v1/model-versions/{world['version']}/saliency/?image={image}",
        f"/api/v1/studies/{study}/items/{token}/saliency/",
        f"/api/v1/model-versions/{world['version']}/",
    ):
        status = rater.get(path).status_code
        if status not in (403, 404):
            found.append(f"{path}: answered {status}")
    return found


@pytest.mark.django_db
def test_a_rater_receives_no_model_output_anywhere(world):
    _plant(world)
    assert leaks(world) == []


@pytest.mark.django_db
def test_the_walk_finds_model_output_when_the_study_is_an_assisted_arm(world):
    _plant(world)
    ReaderStudy.objects.filter(pk=world["study"]).update(show_model_output=True)
    found = leaks(world)
    worklist = f"/api/v1/studies/{world['study']}/worklist/"
    assert f"{worklist}: the planted score" in found
    assert any(f.startswith(f"/studies/{world['study']}/read/") for f in found)
    token = item_token(world["study"], world["users"]["rater"].pk, world["image"], 0)
    assert f"/api/v1/studies/{world['study']}/items/{token}/saliency/: answered 200" in found
