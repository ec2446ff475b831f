"""Per-study results over the API: the agreement report, the MOS per image, progress per rater.

Coordinators, researchers and staff may read them; a rater of the study gets 403 (they must
not see the others' ratings); anyone else gets 404. ``?dimension=<key>`` narrows the agreement
and MOS answers to one dimension.
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..permissions import Action, get_study
from ..results.dashboard import rater_progress, study_report

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


class MosView(APIView):
    """MOS per image and dimension: n, mean, SD, median and t-based 95% CI."""

    @extend_schema(parameters=[DIMENSION], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        study = get_study(request.user, pk, Action.VIEW_RESULTS)
        sections = _one_dimension(study_report(study), request.query_params.get("dimension"))
        return Response(
            {
                "dimensions": {
                    key: {"n_images": section["n_images"], "mos": section["mos"]}
                    for key, section in sections.items()
                }
            }
        )


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
