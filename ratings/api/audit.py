"""A study's audit trail over the API (coordinators and staff; a rater gets 403, others 404).

Newest first, a page at a time (a cursor: new events never shift the pages already read);
``?action=rating.changed`` and ``?actor=<user id>`` narrow it.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination

from ..models import AuditAction, AuditEvent
from ..permissions import Action, get_study
from ..services import audit


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.IntegerField(source="actor_id", allow_null=True)
    actor_username = serializers.CharField()

    class Meta:
        model = AuditEvent
        fields = [
            "id", "created_at", "actor", "actor_username", "action", "study", "object_type",
            "object_id", "details",
        ]  # fmt: skip
        read_only_fields = fields


class AuditPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


@extend_schema(
    parameters=[
        OpenApiParameter("action", str, enum=AuditAction.values, required=False),
        OpenApiParameter("actor", int, description="Who acted (user id).", required=False),
    ]
)
class StudyAuditView(generics.ListAPIView):
    """The study's audit trail: who rated, changed, exported, released, closed, trained."""

    serializer_class = AuditEventSerializer
    pagination_class = AuditPagination

    def get_queryset(self):
        study = get_study(self.request.user, self.kwargs["pk"], Action.MANAGE_STUDY)
        params = self.request.query_params
        action = params.get("action", "")
        if action and action not in AuditAction.values:
            raise ValidationError({"action": [f"Choose one of {', '.join(AuditAction.values)}."]})
        actor = params.get("actor")
        if actor is not None and not (actor.isascii() and actor.isdigit() and len(actor) < 19):
            raise ValidationError({"actor": ["A user id."]})
        return audit.study_events(
            study, action=action, actor=int(actor) if actor is not None else None
        )
