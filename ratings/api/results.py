"""Per-study results over the API: the agreement report, the MOS per image, progress per rater.

Coordinators, researchers and staff may read them; a rater of the study gets 403 (they must
not see the others' ratings); anyone else gets 404. ``?dimension=<key>`` narrows the agreement
and MOS answers to one dimension.
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import StudyImage
from ..permissions import Action, get_study
from ..results.dashboard import rater_progress, study_report
from ..results.mos_table import MOS_COLUMNS, mos_rows

DIMENSION = OpenApiParameter(
    "dimension", str, description="Only this dimension (its key).", required=False
)


def _one_dimension(report: dict[str, Any], key: str | None) -> dict[str, Any]:
    sections = report.get("dimensions", {})
    if key is None:
        return sections
    if key not in sections:
        known = ", ".join(sections) or "none rated yet"
        raise NotFound(f"No rated dimension {key!r} in this study (rated: {known}).")
    return {key: sections[key]}


class AgreementView(APIView):
    """The whole agreement report (contract: ratings/stats/report.py), computed and cached."""

    @extend_schema(parameters=[DIMENSION], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        study = get_study(request.user, pk, Action.VIEW_RESULTS)
        report = study_report(study)
        return Response(
            {"dimensions": _one_dimension(report, request.query_params.get("dimension"))}
        )


class MosPagination(CursorPagination):
    """Pages of images in id order: a cursor stays valid while images and ratings are added."""

    ordering = "image_id"
    page_size = 500
    page_size_query_param = "page_size"
    max_page_size = 5000


class MosView(APIView):
    """The MOS table, a page of images at a time: the rows of the MOS CSV export.

    One row per image and dimension (n, MOS, SD, median, t-based 95% CI, majority label),
    computed from the page's ratings when asked (so always current). Follow ``next`` for the
    rest; the whole table at once is the ``mos_csv`` export.
    """

    pagination_class = MosPagination

    @extend_schema(parameters=[DIMENSION], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        study = get_study(request.user, pk, Action.VIEW_RESULTS)
        key = request.query_params.get("dimension")
        if key is not None and not study.dimensions.filter(key=key).exists():
            known = ", ".join(study.dimensions.values_list("key", flat=True)) or "none"
            raise NotFound(f"No dimension {key!r} in this study (dimensions: {known}).")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            StudyImage.objects.filter(study=study), request, view=self
        )
        image_ids = [item.image_id for item in page]
        rows = [
            dict(zip(MOS_COLUMNS, row, strict=True))
            for row in mos_rows(study, image_ids)
            if key is None or row[1] == key
        ]
        return paginator.get_paginated_response(rows)


class ProgressView(APIView):
    """First readings submitted and skipped per rater, and their median active time."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        study = get_study(request.user, pk, Action.VIEW_RESULTS)
        rows = rater_progress(study)
        return Response(
            {
                "study": study.pk,
                "n_images": study.study_images.count(),
                "raters": [
                    {
                        "rater": row.pseudonym,
                        "profession": row.profession,
                        "done": row.done,
                        "skipped": row.skipped,
                        "total": row.total,
                        "median_active_ms": row.median_active_ms,
                        "last_submitted_at": row.last_submitted_at,
                    }
                    for row in rows
                ],
            }
        )
