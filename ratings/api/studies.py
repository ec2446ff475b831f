"""Reader studies as the API shows them: to every member, with dimensions and no patient data.

POST creates a whole study from a definition, the same one `manage.py create_study` reads.
Coordinators also close / reopen / archive a study here and edit its dimensions; what has
readings is protected by the same rules as on the setup pages (ratings/protection.py).
"""

from django.db.models import Count
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from .. import lifecycle, protection
from ..models import Dimension, DimensionKind, ReaderStudy
from ..permissions import Action, datasets_for, get_study, may_create_study, studies_for
from ..study_definition import DefinitionRejected, create_from_definition


class Refused(APIException):
    """409 with the protection's machine-readable code (e.g. dimension_rated)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "refused"

    def __init__(self, message: str, code: str):
        super().__init__({"detail": message, "code": code})


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
    state = serializers.CharField(read_only=True)
    n_images = serializers.IntegerField(read_only=True)

    class Meta:
        model = ReaderStudy
        fields = [
            "id",
            "name",
            "instructions",
            "is_open",
            "state",
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


class StateChangeSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=lifecycle.ACTIONS)


class StudyViewSet(viewsets.ReadOnlyModelViewSet):
    """Studies the user belongs to (all of them for staff); archived ones only with ?archived=1."""

    serializer_class = StudySerializer
    parser_classes = [JSONParser]

    def get_queryset(self):
        studies = studies_for(self.request.user, Action.VIEW_STUDY)
        if self.action == "list" and self.request.query_params.get("archived") != "1":
            studies = studies.filter(archived_at__isnull=True)
        return studies.annotate(n_images=Count("study_images", distinct=True)).prefetch_related(
            "dimensions", "memberships"
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

    @extend_schema(request=StateChangeSerializer, responses=StudySerializer)
    @action(detail=True, methods=["post"], url_path="state")
    def change_state(self, request: Request, pk=None, format=None) -> Response:
        """Close, reopen or archive the study (coordinators). Nothing rated is deleted."""
        study = get_study(request.user, pk, Action.MANAGE_STUDY)
        change = StateChangeSerializer(data=request.data)
        change.is_valid(raise_exception=True)
        try:
            lifecycle.change_state(study, change.validated_data["action"], request.user)
        except lifecycle.LifecycleError as error:
            raise Refused(str(error), "state_unchanged") from None
        return Response(self.get_serializer(self.get_queryset().get(pk=study.pk)).data)


class DimensionEditSerializer(DimensionSerializer):
    class Meta(DimensionSerializer.Meta):
        read_only_fields = ["id"]

    def validate(self, data):
        kind = data.get("kind", getattr(self.instance, "kind", DimensionKind.SCORE))
        categories = data.get("categories", getattr(self.instance, "categories", []))
        implied = Dimension.range_for(kind, categories)
        if implied:
            data["min_value"], data["max_value"] = implied
        low = data.get("min_value", getattr(self.instance, "min_value", 1))
        high = data.get("max_value", getattr(self.instance, "max_value", 10))
        if low > high:
            raise ValidationError({"max_value": "The highest value must not be below the lowest."})
        if self.instance is not None:
            try:
                protection.check_dimension_scale(
                    self.instance, kind=kind, min_value=low, max_value=high, categories=categories
                )
            except protection.Protected as refusal:
                raise Refused(str(refusal), refusal.code) from None
        return data


class StudyDimensionViewSet(viewsets.ModelViewSet):
    """A study's dimensions, for its coordinators: a rated one keeps its scale and stays."""

    serializer_class = DimensionEditSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def study(self) -> ReaderStudy:
        return get_study(self.request.user, self.kwargs["study_pk"], Action.MANAGE_STUDY)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no request
            return Dimension.objects.none()
        return Dimension.objects.filter(study=self.study())

    def perform_create(self, serializer):
        study = self.study()
        if study.dimensions.filter(key=serializer.validated_data["key"]).exists():
            raise ValidationError({"key": "This study already has a dimension with this key."})
        serializer.save(study=study)

    def perform_destroy(self, instance):
        try:
            protection.delete_dimension(instance)
        except protection.Protected as refusal:
            raise Refused(str(refusal), refusal.code) from None
