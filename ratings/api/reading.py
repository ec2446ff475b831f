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

A closed or archived study answers the rating calls with 409 {"detail", "code": "study_closed"}
(a retried POST of a reading stored before it closed still gets that reading back).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from .. import reading
from ..models import Assessment, ReaderStudy
from ..permissions import Action, StudyClosed, get_study
from ..reading_payload import (
    assessment_out,
    own_assessments,
    worklist_payload,
)
from ..worklist import (
    resolve_item,
)
from .reading_schema import AssessmentOutSerializer, ChangeSerializer, SubmissionSerializer

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
    return own_assessments(study, request.user).filter(client_id=key).first()


def _error(exc: reading.ReadingError) -> Response:
    return Response({"detail": exc.detail, "code": exc.code, **exc.extra}, status=exc.status)


# The reading endpoints answer plain JSON documents (described in their docstrings).
_JSON = {"request": OpenApiTypes.OBJECT, "responses": OpenApiTypes.OBJECT}


@extend_schema(operation_id="reading_worklist", **_JSON)
@api_view(["GET"])
def worklist(request: Request, study_id: int) -> Response:
    study = _study_to_rate(request, study_id)
    return Response(worklist_payload(study, request.user))


@extend_schema(operation_id="reading_item", **_JSON)
@api_view(["GET"])
def item_info(request: Request, study_id: int, item: str) -> Response:
    """One worklist item as the page gets it (label, dimensions, image ids, the rater's values)."""
    study = _study_to_rate(request, study_id)
    found = resolve_item(study, request.user, item)
    if found is None:
        return Response(
            {"detail": "No such item in your worklist.", "code": "not_found"}, status=404
        )
    return Response(worklist_payload(study, request.user, only_item=item)["items"][0])


@extend_schema(
    methods=["GET"],
    operation_id="reading_assessments_list",
    responses=AssessmentOutSerializer(many=True),
)
@extend_schema(
    methods=["POST"],
    operation_id="reading_assessments_submit",
    request=SubmissionSerializer,
    responses={200: AssessmentOutSerializer, 201: AssessmentOutSerializer},
)
@api_view(["GET", "POST"])
def assessments(request: Request, study_id: int) -> Response:
    if request.method == "GET":
        study = get_study(request.user, study_id, Action.VIEW_STUDY)
        return Response([assessment_out(a) for a in own_assessments(study, request.user)])
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
            item=data.get("item"),
            client_id=data.get("client_id"),
            values=data.get("ratings"),
            timing=data.get("timing"),
            skip_reason=data.get("skip_reason") or "",
            repeat_index=data.get("repeat_index"),
        )
    except reading.ReadingError as exc:
        return _error(exc)
    fresh = own_assessments(study, request.user).get(pk=outcome.assessment.pk)
    return Response(
        assessment_out(fresh),
        status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK,
    )


@extend_schema(
    methods=["GET"], operation_id="reading_assessment_get", responses=AssessmentOutSerializer
)
@extend_schema(
    methods=["PATCH"],
    operation_id="reading_assessment_change",
    request=ChangeSerializer,
    responses=AssessmentOutSerializer,
)
@api_view(["GET", "PATCH"])
def assessment_detail(request: Request, study_id: int, client_id: str) -> Response:
    if request.method == "GET":
        study = get_study(request.user, study_id, Action.VIEW_STUDY)
        try:
            key = reading.parse_client_id(client_id)
        except reading.ReadingError:
            key = None
        own = key and own_assessments(study, request.user).filter(client_id=key).first()
        if not own:
            return Response(
                {"detail": "No such assessment of yours in this study.", "code": "not_found"},
                status=404,
            )
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
    fresh = own_assessments(study, request.user).get(pk=outcome.assessment.pk)
    return Response(assessment_out(fresh))
