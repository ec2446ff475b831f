"""Training runs and model versions over the API: POST a run (202), follow it, cancel, retry;
list versions, download a checkpoint, activate one. Researchers launch; raters see nothing."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from iqa_platform.job_api import JobActionsMixin
from ratings.models import Split
from ratings.permissions import Action, can, get_study, studies_for

from . import runs
from .active import query as queries
from .models import (
    ActiveLearningQuery,
    Architecture,
    HoldOut,
    ModelVersion,
    QueryStrategy,
    Target,
    TrainingRun,
)


class TrainingRunSerializer(serializers.ModelSerializer):
    model_version = serializers.SerializerMethodField()

    class Meta:
        model = TrainingRun
        fields = [
            "id", "study", "dimension_key", "target", "arch", "config", "split",
            "hold_out_by", "hold_out", "status", "progress", "error", "attempts",
            "epoch", "n_epochs", "step", "n_steps", "images_per_s", "eta_s",
            "history", "metrics", "counts", "model_version",
            "created_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_model_version(self, run) -> int | None:
        version = getattr(run, "model_version", None)
        return version.pk if version is not None else None


class TrainingRunRequest(serializers.Serializer):
    study = serializers.IntegerField(min_value=1, max_value=2**62)
    dimension = serializers.CharField(max_length=64)
    arch = serializers.ChoiceField(choices=Architecture.choices)
    target = serializers.ChoiceField(choices=Target.choices, required=False)
    split = serializers.IntegerField(required=False, min_value=1, max_value=2**62)
    hold_out_by = serializers.ChoiceField(choices=HoldOut.choices, required=False, default="")
    hold_out = serializers.ListField(
        child=serializers.CharField(max_length=128), required=False, default=list, max_length=100
    )
    settings = serializers.DictField(required=False, default=dict)


class TrainingRunViewSet(
    JobActionsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Training runs of the studies you research or coordinate. POST starts one (202)."""

    serializer_class = TrainingRunSerializer
    enqueue_job = staticmethod(runs.enqueue)

    def get_queryset(self):
        visible = studies_for(self.request.user, Action.VIEW_RESULTS)
        queryset = TrainingRun.objects.filter(study__in=visible).select_related("model_version")
        study = self.request.query_params.get("study")
        if study is not None:
            if not study.isdigit():
                raise ValidationError({"study": ["A study id."]})
            queryset = queryset.filter(study_id=int(study))
        return queryset

    def may_control(self, request: Request, job) -> bool:
        return can(request.user, job.study, Action.TRAIN_MODELS)

    @extend_schema(request=TrainingRunRequest, responses={202: TrainingRunSerializer})
    def create(self, request: Request) -> Response:
        body = TrainingRunRequest(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        study = get_study(request.user, data["study"], Action.TRAIN_MODELS)
        split = None
        if "split" in data:
            split = Split.objects.filter(pk=data["split"], study=study).first()
            if split is None:
                raise ValidationError({"split": ["No such split in this study."]})
        try:
            run = runs.create_run(
                runs.RunRequest(
                    study=study,
                    dimension_key=data["dimension"],
                    arch=data["arch"],
                    target=data.get("target"),
                    split=split,
                    hold_out_by=data["hold_out_by"],
                    hold_out=tuple(data["hold_out"]),
                    settings=data["settings"],
                ),
                user=request.user,
            )
        except runs.RunRejected as exc:
            raise ValidationError(exc.problems) from None
        url = reverse("training-run-detail", args=[run.pk], request=request)
        return Response(
            TrainingRunSerializer(run).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": url},
        )


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = [
            "id", "run", "study", "dimension_key", "arch", "target", "config", "split",
            "metrics", "checkpoint_sha256", "checkpoint_bytes", "code_version",
            "labels_fingerprint", "is_active", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class QuerySerializer(serializers.ModelSerializer):
    class Meta:
        model = ActiveLearningQuery
        fields = [
            "id", "model_version", "study", "dimension_key", "strategy", "k", "seed", "options",
            "pool_size", "items", "seconds", "created_at", "sent_at", "sent_priority",
        ]  # fmt: skip
        read_only_fields = fields


class QueryRequest(serializers.Serializer):
    strategy = serializers.ChoiceField(choices=QueryStrategy.choices)
    k = serializers.IntegerField(min_value=1, max_value=queries.MAX_K)
    seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=2**62)
    measure = serializers.ChoiceField(
        choices=["entropy", "margin"], required=False, default="entropy"
    )
    ensemble = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62),
        required=False,
        default=list,
        max_length=queries.MAX_ENSEMBLE - 1,
    )


class ModelVersionViewSet(viewsets.ReadOnlyModelViewSet):
    """Model versions; `download/` gives the checkpoint, POST `activate/` makes it the one
    version of its study and dimension that scores new images; `queries/` ranks the study's
    unrated images for experts to rate next (researchers only), `queries/{id}/send/` puts them
    first in the raters' worklists."""

    serializer_class = ModelVersionSerializer

    def get_queryset(self):
        visible = studies_for(self.request.user, Action.VIEW_RESULTS)
        return ModelVersion.objects.filter(study__in=visible)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk=None, format=None):
        version = self.get_object()
        path = Path(settings.MEDIA_ROOT) / version.checkpoint
        if not path.is_file():
            raise NotFound("The checkpoint file is gone.")
        response = FileResponse(
            open(path, "rb"),  # noqa: SIM115 - FileResponse closes it after streaming
            as_attachment=True,
            filename=path.name,
            content_type="application/octet-stream",
        )
        response["X-Content-SHA256"] = version.checkpoint_sha256
        return response

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk=None, format=None) -> Response:
        version = self.get_object()
        if not can(request.user, version.study, Action.TRAIN_MODELS):
            raise PermissionDenied("Only the study's researchers activate model versions.")
        try:
            with transaction.atomic():
                ModelVersion.objects.filter(
                    study=version.study, dimension_key=version.dimension_key, is_active=True
                ).exclude(pk=version.pk).update(is_active=False)
                ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
        except IntegrityError:  # two activations at once: the other one won
            return Response(
                {"detail": "Another version was activated at the same time; try again.",
                 "code": "conflict"},
                status=status.HTTP_409_CONFLICT,
            )  # fmt: skip
        version.refresh_from_db()
        return Response(ModelVersionSerializer(version).data)

    # ---------------------------------------------------------------- active learning
    # Queries run synchronously in the request for now (a few seconds for a study of a few
    # thousand images; bench/query.py); `queries.run_query` is what a job would call.

    def _researched_version(self, request: Request) -> ModelVersion:
        version = self.get_object()
        if not can(request.user, version.study, Action.TRAIN_MODELS):
            raise PermissionDenied("Only the study's researchers query a model version.")
        return version

    def _query(self, version: ModelVersion, query_pk: str) -> ActiveLearningQuery:
        found = ActiveLearningQuery.objects.filter(pk=int(query_pk), model_version=version).first()
        if found is None:
            raise NotFound("No such query of this model version.")
        return found

    @extend_schema(request=QueryRequest, responses={200: QuerySerializer(many=True),
                                                    201: QuerySerializer})  # fmt: skip
    @action(detail=True, methods=["get", "post"], url_path="queries")
    def queries(self, request: Request, pk=None, format=None) -> Response:
        """GET: this version's queries, newest first. POST {strategy, k, seed}: rank the
        study's unrated images on the version's dimension and keep the top k (201)."""
        version = self._researched_version(request)
        if request.method == "GET":
            found = ActiveLearningQuery.objects.filter(model_version=version)
            return Response(QuerySerializer(found, many=True).data)
        body = QueryRequest(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            query = queries.run_query(
                queries.QueryRequest(
                    version=version,
                    strategy=data["strategy"],
                    k=data["k"],
                    seed=data["seed"],
                    measure=data["measure"],
                    ensemble=tuple(data["ensemble"]),
                ),
                user=request.user,
            )
        except queries.QueryRejected as exc:
            raise ValidationError(exc.problems) from None
        return Response(QuerySerializer(query).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: QuerySerializer})
    @action(detail=True, methods=["get"], url_path=r"queries/(?P<query_pk>\d+)")
    def query(self, request: Request, pk=None, query_pk=None, format=None) -> Response:
        version = self._researched_version(request)
        return Response(QuerySerializer(self._query(version, query_pk)).data)

    @extend_schema(request=None, responses={200: QuerySerializer})
    @action(detail=True, methods=["post"], url_path=r"queries/(?P<query_pk>\d+)/send")
    def send_query(self, request: Request, pk=None, query_pk=None, format=None) -> Response:
        """Put the query's images first in every rater's worklist (raters are not told why)."""
        version = self._researched_version(request)
        query = self._query(version, query_pk)
        try:
            query = queries.send_to_raters(query, user=request.user)
        except queries.AlreadySent as exc:
            return Response(
                {"detail": f"{exc}; its images are already first.", "code": "already_sent"},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(QuerySerializer(query).data)
