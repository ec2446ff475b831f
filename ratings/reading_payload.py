"""What the reading page gets at load time, and the API's worklist: built once, here.

The page view (frontend/reading.py) and the API (ratings/api/reading.py) both serve this
payload; it lives outside the API package so the pages need no API module.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch
from django.utils.module_loading import import_string

from imaging.models import Image, ImageFile

from .models import Assessment, Dimension, Rating, ReaderStudy
from .worklist import build_worklist, dimensions_by_image, item_token, median_reading_ms

DIMENSION_FIELDS = (
    "id", "key", "label", "kind", "min_value", "max_value", "categories", "criteria", "order",
)  # fmt: skip


def dimension_out(dimension: Dimension) -> dict:
    return {name: getattr(dimension, name) for name in DIMENSION_FIELDS}


# --- what the viewer gets --------------------------------------------------------------------


def image_ids_for(files: list[ImageFile], base: str) -> list[str]:
    """cornerstone image ids (one per slice or frame) of an item's files, in order.

    `base`: the item's file URL (item_file_url), the file's index appended.
    """
    ids = []
    for index, f in enumerate(files):
        url = f"{base}?index={index}"
        if f.n_frames > 1:
            ids.extend(f"wadouri:{url}&frame={i}" for i in range(f.n_frames))
        else:
            ids.append(f"wadouri:{url}")
    return ids


def item_file_url(study_id: int, item: str) -> str:
    return f"/api/v1/studies/{study_id}/items/{item}/file/"


def study_info(study: ReaderStudy) -> dict:
    return {
        "id": study.id,
        "name": study.name,
        "instructions": study.instructions,
        "min_view_ms": study.min_view_ms,
        "idle_threshold_ms": study.idle_threshold_ms,
        # An assisted-reading arm: each item then carries `model` (score, saliency URL).
        "show_model_output": study.show_model_output,
    }


def assessment_out(assessment: Assessment) -> dict:
    """One of the rater's own assessments, as the reading page uses it: its item by opaque id."""
    ratings = {r.dimension.key: r.value for r in assessment.ratings.all()}
    return {
        "client_id": str(assessment.client_id),
        "item": item_token(
            assessment.study_id, assessment.rater_id, assessment.image_id, assessment.repeat_index
        ),
        "status": assessment.status,
        "skip_reason": assessment.skip_reason,
        "ratings": ratings,
        "submitted_at": assessment.submitted_at.isoformat() if assessment.submitted_at else None,
        "active_ms": assessment.active_ms,
    }


def own_assessments(study: ReaderStudy, rater):
    return (
        Assessment.objects.filter(study=study, rater=rater)
        .select_related(None)
        .prefetch_related(
            Prefetch(
                "ratings",
                queryset=Rating.objects.select_related("dimension").only(
                    "id", "assessment_id", "value", "dimension__key"
                ),
            )
        )
    )


def model_output(study: ReaderStudy, items: list[tuple[int, str]]) -> dict[str, dict]:
    """Per item token, the model output a rater may see: nothing unless the study is an
    assisted-reading arm (show_model_output), then what settings.READING_MODEL_OUTPUT gives."""
    if not study.show_model_output or not settings.READING_MODEL_OUTPUT:
        return {}
    return import_string(settings.READING_MODEL_OUTPUT)(study, items) or {}


def worklist_payload(study: ReaderStudy, rater, only_item: str | None = None) -> dict:
    """Everything the reading page needs at load time: study, dimensions, ordered items, progress.

    Each item carries its cornerstone image ids, so the page can prefetch the next images with
    no further request; and the rater's own current values, so going back needs none either.
    Priorities order the list but are not sent: a model's choice is model output, and raters
    are blinded to it.

    Repeats are blinded too: an item is known by its opaque id alone (no image id, no
    repeat_index; its files are fetched under that id), its `mine` is its own reading (a repeat
    opens with an empty panel, not the first reading's values), and when the list holds repeats
    every item is labelled by its place ("Case 12") instead of the image label, which would show
    the same name twice.

    With `only_item` (an item id) the list holds that item alone, built without the others'
    files, dimensions or model output (the API's one-item door); the counts stay the list's.
    """
    worklist = build_worklist(study, rater)
    tokens = [item_token(study.id, rater.id, i.image_id, i.repeat_index) for i in worklist.items]
    chosen = [
        (item, token)
        for item, token in zip(worklist.items, tokens, strict=True)
        if only_item is None or token == only_item
    ]
    image_ids = [item.image_id for item, _ in chosen]
    # Through the study, not `id__in` the whole list: psycopg splits a query of a thousand
    # placeholders client-side at ~50 ms (measured at 1138 images, the chest paper's size).
    file_rows = ImageFile.objects.filter(image__study_images__study=study)
    image_rows = Image.objects.filter(study_images__study=study)
    if only_item is not None:
        file_rows = ImageFile.objects.filter(image_id__in=image_ids)
        image_rows = Image.objects.filter(id__in=image_ids)
    files: dict[int, list[ImageFile]] = {}
    for f in file_rows.only(
        "id", "image_id", "sop_instance_uid", "n_frames", "position", "instance_number"
    ):
        files.setdefault(f.image_id, []).append(f)
    images = {i["id"]: i for i in image_rows.values("id", "modality", "n_frames")}
    dims = dimensions_by_image(study, rater, image_ids)
    mine = {(a.image_id, a.repeat_index): assessment_out(a) for a in own_assessments(study, rater)}
    neutral_labels = any(item.repeat_index for item in worklist.items)
    assisted = model_output(study, [(item.image_id, token) for item, token in chosen])
    items = []
    for item, token in chosen:
        entry = {
            "position": item.position,
            "item": token,
            "label": f"Case {item.position + 1}" if neutral_labels else item.label,
            "modality": images[item.image_id]["modality"],
            "status": item.status,
            "dimensions": dims[item.image_id],
            "image_ids": image_ids_for(
                files.get(item.image_id, []), item_file_url(study.id, token)
            ),
            "mine": mine.get((item.image_id, item.repeat_index)),
        }
        if token in assisted:
            entry["model"] = assisted[token]
        items.append(entry)
    return {
        "study": study_info(study),
        "dimensions": [dimension_out(d) for d in study.dimensions.all()],
        "items": items,
        "n_total": worklist.n_total,
        "n_finished": worklist.n_finished,
        "n_submitted": worklist.n_submitted,
        "n_skipped": worklist.n_skipped,
        "next_position": worklist.next_position,
        "median_ms": median_reading_ms(study, rater),
    }
