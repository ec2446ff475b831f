"""Reader studies as the API shows them: to every member, with dimensions and no patient data.

POST creates a whole study from a definition, the same one `manage.py create_study` reads.
"""

from django.db.models import Count
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from ..models import Dimension, ReaderStudy
from ..permissions import Action, datasets_for, may_create_study, studies_for
from ..study_definition import DefinitionRejected, create_from_definition


class DimensionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Dimension
        fields = [
            "id",
            "key",
            "label",
            "kind",
            "min_value",
            "max_value",
            "categories",
            "criteria",
            "order",
        ]


class StudySerializer(serializers.ModelSerializer):
    dimensions = DimensionSerializer(many=True, read_only=True)
    my_roles = serializers.SerializerMethodField()
    n_images = serializers.IntegerField(read_only=True)

    class Meta:
        model = ReaderStudy
        fields = [
            "id",
            "name",
            "instructions",
            "is_open",
            "min_view_ms",
            "idle_threshold_ms",
            "show_model_output",
            "n_images",
            "dimensions",
            "my_roles",
        ]

    def get_my_roles(self, study) -> list[str]:
        user = self.context["request"].user
        return sorted({m.role for m in study.memberships.all() if m.user_id == user.id})


class StudyViewSet(viewsets.ReadOnlyModelViewSet):
    """Studies the user belongs to (all of them for staff)."""

    serializer_class = StudySerializer
    parser_classes = [JSONParser]

    def get_queryset(self):
        return (
            studies_for(self.request.user, Action.VIEW_STUDY)
            .annotate(n_images=Count("study_images", distinct=True))
            .prefetch_related("dimensions", "memberships")
        )

    @extend_schema(
        request={"application/json": {"type": "object"}},
        responses={
            201: StudySerializer,
            400: OpenApiResponse(description="Every problem, keyed by where it is."),
        },
    )
    def create(self, request):
        """Create a study from a definition: {"name", "dataset", "images": "all" or labels,
        "dimensions": [{"key", "label", "kind", "min", "max", "categories", "criteria"}],
        "raters", "coordinators", "researchers"} (usernames). Whoever may create studies on
        the setup pages may post one, from the datasets they manage; they become its first
        coordinator. A bad definition is refused whole: 400 with every problem."""
        if not may_create_study(request.user):
            raise PermissionDenied("You may not create reader studies.")
        try:
            study = create_from_definition(
                request.data, creator=request.user, datasets=datasets_for(request.user)
            )
        except DefinitionRejected as rejected:
            return Response(rejected.problems, status=status.HTTP_400_BAD_REQUEST)
        study = self.get_queryset().get(pk=study.pk)
        return Response(self.get_serializer(study).data, status=status.HTTP_201_CREATED)
