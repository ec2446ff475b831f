"""A model's output beside one image: its score and saliency heatmap, cached on disk.

Served to the study's researchers and coordinators (the viewer's overlay), and to the raters of
an assisted-reading study (`ReaderStudy.show_model_output`) through the reading payload's hook
`settings.READING_MODEL_OUTPUT`, which points at `model_output` below. Every other rater is
blinded: nothing here is reachable for them.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from django.conf import settings
from django.urls import reverse

from imaging.models import Image
from imaging.services import representative_files
from ratings.models import Membership, ReaderStudy, Role

from .models import Architecture, ModelVersion, Target
from .preprocess import decode, prepare
from .saliency import attention_to_map, heatmap_png, method_for, saliency_map, to_image_grid

# Scores computed while building a reading payload stop after this long; the rest come with
# each image's saliency PNG (its X-Model-Score header) when the page asks for it.
PAYLOAD_SCORING_BUDGET_S = 2.0


@dataclass(frozen=True)
class Explained:
    png: bytes
    score: float | None
    method: str


def _cache_dir(version: ModelVersion) -> Path:
    # The checkpoint's hash in the key: a version's file never changes, but a database restored
    # beside another media folder must not serve another model's maps.
    return Path(settings.MEDIA_ROOT) / "saliency" / f"{version.pk}-{version.checkpoint_sha256[:12]}"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    partial.write_bytes(data)
    os.replace(partial, path)


_PREDICTORS: dict[tuple[int, str, str], object] = {}
# Grad-CAM hooks the shared model for one call: two threads of one process must not interleave.
_MODEL_LOCK = threading.Lock()


def _predictor(version: ModelVersion):
    """The loaded model, kept for the last two versions asked for (a page asks per image)."""
    from .predict import Predictor

    key = (version.pk, version.checkpoint_sha256, str(settings.MEDIA_ROOT))
    if key not in _PREDICTORS:
        while len(_PREDICTORS) >= 2:
            _PREDICTORS.pop(next(iter(_PREDICTORS)))
        _PREDICTORS[key] = Predictor(version)
    return _PREDICTORS[key]


def _file_of(image: Image) -> Path:
    path = representative_files([image.pk]).get(image.pk)
    if path is None:
        raise Image.DoesNotExist(f"image {image.pk} has no file")
    return path


def _score_of_input(predictor, version: ModelVersion, x: torch.Tensor) -> float:
    """As inference.predict.Predictor: the regression score, or the predicted class index."""
    from .training.engine import outputs

    with torch.inference_mode():
        out = outputs(predictor.model, x)
    if version.target == Target.REGRESSION:
        return float(out[0])
    return float(out.softmax(dim=1)[0].argmax())


def cached_score(version: ModelVersion, image_id: int) -> float | None:
    meta = _cache_dir(version) / f"{image_id}.json"
    if not meta.is_file():
        return None
    return json.loads(meta.read_text())["score"]


def score(version: ModelVersion, image: Image) -> float:
    """The version's score for the image (cached beside its heatmap)."""
    found = cached_score(version, image.pk)
    if found is not None:
        return found
    path = _file_of(image)
    with _MODEL_LOCK:
        predictor = _predictor(version)
        if version.arch == Architecture.IQM_LINEAR:
            value = predictor.score_file(path)[0]
        else:
            x = prepare(decode(path), predictor.prep)[None]
            value = _score_of_input(predictor, version, x)
    _write(_cache_dir(version) / f"{image.pk}.json", json.dumps({"score": value}).encode())
    return value


def explain(version: ModelVersion, image: Image) -> Explained:
    """The version's heatmap of the image at the image's pixel size, and its score."""
    folder = _cache_dir(version)
    png_path, meta_path = folder / f"{image.pk}.png", folder / f"{image.pk}.json"
    method = method_for(version.arch)
    if png_path.is_file() and meta_path.is_file():
        return Explained(png_path.read_bytes(), cached_score(version, image.pk), method)
    path = _file_of(image)
    pixels = decode(path)
    with _MODEL_LOCK:
        value, grid = _compute(version, path, pixels)
    png = heatmap_png(grid, *pixels.shape)
    _write(png_path, png)
    _write(meta_path, json.dumps({"score": value}).encode())
    return Explained(png, value, method)


def _compute(version: ModelVersion, path: Path, pixels) -> tuple[float, object]:
    """(score, map on the image grid or None) of one decoded image."""
    predictor = _predictor(version)
    if version.arch == Architecture.IQM_LINEAR:
        return predictor.score_file(path)[0], None
    x = prepare(pixels, predictor.prep)[None]
    if version.arch == Architecture.CAHDC_RGA:
        # One forward pass gives both the score and the attention map.
        with torch.inference_mode():
            out = predictor.model(x)
        value, cam = float(out.score[0]), attention_to_map(out.attention, tuple(x.shape[-2:]))
    else:
        value = _score_of_input(predictor, version, x)
        cam = saliency_map(predictor.model, version.arch, x)
    grid = to_image_grid(cam, *pixels.shape, predictor.prep) if cam is not None else None
    return value, grid


def rates_blind(user, image: Image) -> bool:
    """Whether the user rates the image in a study that hides model output: then no door shows
    them a model's view of it, whatever else they coordinate or research (as the subject fields,
    ratings.permissions.may_see_subject_fields)."""
    return Membership.objects.filter(
        user=user,
        role=Role.RATER,
        study__show_model_output=False,
        study__study_images__image=image,
    ).exists()


def active_version_for(study: ReaderStudy) -> ModelVersion | None:
    """The model an assisted study shows: its own active version, else the newest active
    version of another study on the same dataset (an assisted arm is usually a second
    reading of images a model was trained on elsewhere)."""
    own = ModelVersion.objects.filter(study=study, is_active=True).order_by("-created_at", "-pk")
    return (
        own.first()
        or ModelVersion.objects.filter(is_active=True, study__dataset_id=study.dataset_id)
        .order_by("-created_at", "-pk")
        .first()
    )


def item_saliency_url(study_id: int, token: str) -> str:
    return reverse("reading-item-saliency", kwargs={"study_id": study_id, "item": token})


def model_output(study: ReaderStudy, items: list[tuple[int, str]]) -> dict[str, dict] | None:
    """settings.READING_MODEL_OUTPUT: per worklist item (image id, opaque token), what the rater
    of an assisted study sees - the score and the item's saliency URL - or None when no model.

    The reading payload calls this only for a study with show_model_output on. Scores not yet
    cached are computed within PAYLOAD_SCORING_BUDGET_S; later ones are null in the payload
    and come with the saliency PNG.
    """
    version = active_version_for(study)
    if version is None:
        return None
    deadline = time.monotonic() + PAYLOAD_SCORING_BUDGET_S
    images = Image.objects.in_bulk([image_id for image_id, _ in items])
    out = {}
    for image_id, token in items:
        value = cached_score(version, image_id)
        if value is None and time.monotonic() < deadline and image_id in images:
            try:
                value = score(version, images[image_id])
            except (Image.DoesNotExist, OSError, ValueError):
                value = None
        out[token] = {
            "version": version.pk,
            "dimension": version.dimension_key,
            "target": version.target,
            "score": value,
            "saliency": item_saliency_url(study.pk, token),
        }
    return out
