"""The reading API: a rater's worklist, the viewer's image info, submit / change / skip.

Everything here is the requesting rater's own: no other rater's scores, no patient or clinical
data (patient_key, site_key, sex, age band, truth never leave the server), no model output.

    GET   /api/v1/studies/{id}/worklist/                    the rater's ordered worklist + progress
    GET   /api/v1/studies/{id}/items/{item}/                what the viewer needs for one item
    GET   /api/v1/studies/{id}/items/{item}/file/?index=K   its K-th DICOM file (item_files.py)
    GET   /api/v1/studies/{id}/assessments/                 the rater's own assessments
    POST  /api/v1/studies/{id}/assessments/                 submit or skip (idempotent by client_id;
                                                            `item`: the worklist item's opaque id)

Blinding of test-retest repeats: a rater's browser gets no image id, no repeat_index, no image
label (when the list holds repeats) and no URL that one reading shares with another: every item
has an opaque id of its own (worklist.item_token), and its files are fetched under it. Only the
pixels (the file's bytes) are the same.
    GET   /api/v1/studies/{id}/assessments/{client_id}/     one of the rater's own assessments
    PATCH /api/v1/studies/{id}/assessments/{client_id}/     change it (old values kept as revisions)
"""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from .. import reading
from ..models import Assessment, Image, ImageFile, Rating, ReaderStudy
from ..permissions import Action, get_study
from ..worklist import (
    build_worklist,
    dimensions_by_image,
    item_token,
    median_reading_ms,
    resolve_item,
)
from .studies import DimensionSerializer

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
        # Model output is not sent to raters yet; when a study allows it, it goes here.
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


def _own_assessments(study: ReaderStudy, rater):
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


def worklist_payload(study: ReaderStudy, rater) -> dict:
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
    """
    worklist = build_worklist(study, rater)
    image_ids = [item.image_id for item in worklist.items]
    files: dict[int, list[ImageFile]] = {}
    # Through the study, not `id__in` the whole list: psycopg splits a query of a thousand
    # placeholders client-side at ~50 ms (measured at 1138 images, the chest paper's size).
    for f in ImageFile.objects.filter(image__study_images__study=study).only(
        "id", "image_id", "sop_instance_uid", "n_frames", "position", "instance_number"
    ):
        files.setdefault(f.image_id, []).append(f)
    images = {
        i["id"]: i
        for i in Image.objects.filter(study_images__study=study).values(
            "id", "modality", "n_frames"
        )
    }
    dims = dimensions_by_image(study, rater, image_ids)
    mine = {(a.image_id, a.repeat_index): assessment_out(a) for a in _own_assessments(study, rater)}
    neutral_labels = any(item.repeat_index for item in worklist.items)
    items = []
    for item in worklist.items:
        token = item_token(study.id, rater.id, item.image_id, item.repeat_index)
        items.append(
            {
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
        )
    return {
        "study": study_info(study),
        "dimensions": DimensionSerializer(study.dimensions.all(), many=True).data,
        "items": items,
        "n_total": worklist.n_total,
        "n_finished": worklist.n_finished,
        "n_submitted": worklist.n_submitted,
        "n_skipped": worklist.n_skipped,
        "next_position": worklist.next_position,
        "median_ms": median_reading_ms(study, rater),
    }


# --- endpoints -------------------------------------------------------------------------------


def _error(exc: reading.ReadingError) -> Response:
    return Response({"detail": exc.detail, "code": exc.code, **exc.extra}, status=exc.status)


# The reading endpoints answer plain JSON documents (described in their docstrings).
_JSON = {"request": OpenApiTypes.OBJECT, "responses": OpenApiTypes.OBJECT}


@extend_schema(operation_id="reading_worklist", **_JSON)
@api_view(["GET"])
def worklist(request: Request, study_id: int) -> Response:
    study = get_study(request.user, study_id, Action.RATE)
    return Response(worklist_payload(study, request.user))


@extend_schema(operation_id="reading_item", **_JSON)
@api_view(["GET"])
def item_info(request: Request, study_id: int, item: str) -> Response:
    """One worklist item as the page gets it (label, dimensions, image ids, the rater's values)."""
    study = get_study(request.user, study_id, Action.RATE)
    found = resolve_item(study, request.user, item)
    if found is None:
        return Response(
            {"detail": "No such item in your worklist.", "code": "not_found"}, status=404
        )
    payload = worklist_payload(study, request.user)
    return Response(next(i for i in payload["items"] if i["item"] == item))


@extend_schema(methods=["GET"], operation_id="reading_assessments_list", **_JSON)
@extend_schema(methods=["POST"], operation_id="reading_assessments_submit", **_JSON)
@api_view(["GET", "POST"])
def assessments(request: Request, study_id: int) -> Response:
    if request.method == "GET":
        study = get_study(request.user, study_id, Action.VIEW_STUDY)
        return Response([assessment_out(a) for a in _own_assessments(study, request.user)])
    study = get_study(request.user, study_id, Action.RATE)
    data = request.data if isinstance(request.data, dict) else {}
    try:
        outcome = reading.submit_assessment(
            study=study,
            rater=request.user,
            image_id=data.get("image"),
            item=data.get("item"),
            client_id=data.get("client_id"),
            values=data.get("ratings"),
            timing=data.get("timing"),
            skip_reason=data.get("skip_reason") or "",
            repeat_index=data.get("repeat_index"),
        )
    except reading.ReadingError as exc:
        return _error(exc)
    fresh = _own_assessments(study, request.user).get(pk=outcome.assessment.pk)
    return Response(
        assessment_out(fresh),
        status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK,
    )


@extend_schema(methods=["GET"], operation_id="reading_assessment_get", **_JSON)
@extend_schema(methods=["PATCH"], operation_id="reading_assessment_change", **_JSON)
@api_view(["GET", "PATCH"])
def assessment_detail(request: Request, study_id: int, client_id: str) -> Response:
    action = Action.VIEW_STUDY if request.method == "GET" else Action.RATE
    study = get_study(request.user, study_id, action)
    if request.method == "GET":
        try:
            key = reading.parse_client_id(client_id)
        except reading.ReadingError:
            key = None
        own = key and _own_assessments(study, request.user).filter(client_id=key).first()
        if not own:
            return Response(
                {"detail": "No such assessment of yours in this study.", "code": "not_found"},
                status=404,
            )
        return Response(assessment_out(own))
    data = request.data if isinstance(request.data, dict) else {}
    try:
        outcome = reading.change_assessment(
            study=study,
            rater=request.user,
            client_id=client_id,
            values=data.get("ratings"),
            edit_id=data.get("edit_id"),
            timing=data.get("timing"),
        )
    except reading.ReadingError as exc:
        return _error(exc)
    fresh = _own_assessments(study, request.user).get(pk=outcome.assessment.pk)
    return Response(assessment_out(fresh))
