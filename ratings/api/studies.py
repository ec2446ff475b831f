"""Reader studies as the API shows them: to every member, with dimensions and no patient data."""

from django.db.models import Count
from rest_framework import serializers, viewsets

from ..models import Dimension, ReaderStudy
from ..permissions import Action, studies_for


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

    def get_queryset(self):
        return (
            studies_for(self.request.user, Action.VIEW_STUDY)
            .annotate(n_images=Count("study_images", distinct=True))
            .prefetch_related("dimensions", "memberships")
        )
