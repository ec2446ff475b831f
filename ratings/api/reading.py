"""The reading API: a rater's worklist, the viewer's image info, submit / change / skip.

Everything here is the requesting rater's own: no other rater's scores, no patient or clinical
data (patient_key, site_key, sex, age band, truth never leave the server), no model output.

    GET   /api/v1/studies/{id}/worklist/                    the rater's ordered worklist + progress
    GET   /api/v1/studies/{id}/images/{image}/              what the viewer needs for one image
    GET   /api/v1/studies/{id}/assessments/                 the rater's own assessments
    POST  /api/v1/studies/{id}/assessments/                 submit or skip (idempotent by client_id;
                                                            repeat_index 1: a worklist repeat)
    GET   /api/v1/studies/{id}/assessments/{client_id}/     one of the rater's own assessments
    PATCH /api/v1/studies/{id}/assessments/{client_id}/     change it (old values kept as revisions)

A closed or archived study answers the rating calls with 409 {"detail", "code": "study_closed"}
(a retried POST of a reading stored before it closed still gets that reading back).
"""

from __future__ import annotations

from urllib.parse import quote

from django.db.models import Prefetch
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from imaging.models import Image, ImageFile

from .. import reading
from ..models import Assessment, Rating, ReaderStudy
from ..permissions import Action, StudyClosed, get_study
from ..worklist import build_worklist, dimensions_by_image, median_reading_ms
from .studies import DimensionSerializer

# --- what the viewer gets --------------------------------------------------------------------


def image_ids_for(files: list[ImageFile], base: str | None = None) -> list[str]:
    """cornerstone image ids (WADO-URI, one per slice or frame) of an image's files, in order.

    `base`: the WADO-URI path, when the caller builds many lists (one reverse() for all).
    """
    base = base or reverse("wado-uri")
    ids = []
    for f in files:
        url = f"{base}?requestType=WADO&objectUID={quote(f.sop_instance_uid, safe='.')}"
        if f.n_frames > 1:
            ids.extend(f"wadouri:{url}&frame={i}" for i in range(f.n_frames))
        else:
            ids.append(f"wadouri:{url}")
    return ids


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
    """One of the rater's own assessments, as the reading page uses it."""
    ratings = {r.dimension.key: r.value for r in assessment.ratings.all()}
    return {
        "client_id": str(assessment.client_id),
        "image": assessment.image_id,
        "repeat_index": assessment.repeat_index,
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

    Repeats are blinded too: an item's `repeat_index` is only sent back with its submission and
    never shown, its `mine` is its own reading (a repeat opens with an empty panel, not the first
    reading's values), and when the list holds repeats every item is labelled by its place
    ("Case 12") instead of the image label, which would show the same name twice.
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
    wado = reverse("wado-uri")
    for item in worklist.items:
        items.append(
            {
                "position": item.position,
                "image": item.image_id,
                "repeat_index": item.repeat_index,
                "label": f"Case {item.position + 1}" if neutral_labels else item.label,
                "modality": images[item.image_id]["modality"],
                "status": item.status,
                "dimensions": dims[item.image_id],
                "image_ids": image_ids_for(files.get(item.image_id, []), wado),
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


class StudyClosedError(APIException):
    """409 with a machine-readable code: clients decide by `code`, never by the message."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "study_closed"


def _study_to_rate(request: Request, study_id) -> ReaderStudy:
    try:
        return get_study(request.user, study_id, Action.RATE)
    except StudyClosed as closed:
        raise StudyClosedError({"detail": str(closed), "code": StudyClosed.code}) from None


def _already_stored(request: Request, study_id, client_id) -> Assessment | None:
    try:
        key = reading.parse_client_id(client_id)
    except reading.ReadingError:
        return None
    study = get_study(request.user, study_id, Action.VIEW_STUDY)
    return _own_assessments(study, request.user).filter(client_id=key).first()


def _error(exc: reading.ReadingError) -> Response:
    return Response({"detail": exc.detail, **exc.extra}, status=exc.status)


# The reading endpoints answer plain JSON documents (described in their docstrings).
_JSON = {"request": OpenApiTypes.OBJECT, "responses": OpenApiTypes.OBJECT}


@extend_schema(operation_id="reading_worklist", **_JSON)
@api_view(["GET"])
def worklist(request: Request, study_id: int) -> Response:
    study = _study_to_rate(request, study_id)
    return Response(worklist_payload(study, request.user))


@extend_schema(operation_id="reading_image", **_JSON)
@api_view(["GET"])
def image_info(request: Request, study_id: int, image_id: int) -> Response:
    study = _study_to_rate(request, study_id)
    image = Image.objects.filter(pk=image_id, study_images__study=study).first()
    if image is None:
        return Response({"detail": "No such image in this study."}, status=404)
    repeat_index = 1 if request.query_params.get("repeat_index") == "1" else 0
    own = (
        _own_assessments(study, request.user).filter(image=image, repeat_index=repeat_index).first()
    )
    return Response(
        {
            "image": image.id,
            "label": image.label,
            "modality": image.modality,
            "dimensions": dimensions_by_image(study, request.user, [image.id])[image.id],
            "image_ids": image_ids_for(list(image.files.all())),
            "mine": assessment_out(own) if own else None,
        }
    )


@extend_schema(methods=["GET"], operation_id="reading_assessments_list", **_JSON)
@extend_schema(methods=["POST"], operation_id="reading_assessments_submit", **_JSON)
@api_view(["GET", "POST"])
def assessments(request: Request, study_id: int) -> Response:
    if request.method == "GET":
        study = get_study(request.user, study_id, Action.VIEW_STUDY)
        return Response([assessment_out(a) for a in _own_assessments(study, request.user)])
    data = request.data if isinstance(request.data, dict) else {}
    try:
        study = _study_to_rate(request, study_id)
    except StudyClosedError:
        # A retry of a submission stored before the study closed still learns it was stored.
        stored = _already_stored(request, study_id, data.get("client_id"))
        if stored is None:
            raise
        return Response(assessment_out(stored))
    try:
        outcome = reading.submit_assessment(
            study=study,
            rater=request.user,
            image_id=data.get("image"),
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
    if request.method == "GET":
        study = get_study(request.user, study_id, Action.VIEW_STUDY)
        try:
            key = reading.parse_client_id(client_id)
        except reading.ReadingError:
            key = None
        own = key and _own_assessments(study, request.user).filter(client_id=key).first()
        if not own:
            return Response({"detail": "No such assessment of yours in this study."}, status=404)
        return Response(assessment_out(own))
    study = _study_to_rate(request, study_id)
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
