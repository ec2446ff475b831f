"""Training runs, model versions and their predictions over the API: POST a run (202), follow
it, cancel, retry; list versions, download a checkpoint, activate one, set its QC threshold;
POST an inference job (202) and read the stored predictions. Researchers launch; coordinators
read; raters see nothing."""

from __future__ import annotations

import math
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from imaging.models import Image
from iqa_platform.job_api import JobActionsMixin
from ratings.models import AuditAction, Split
from ratings.permissions import Action, can, get_study, studies_for
from ratings.services import audit
from ratings.worklist import resolve_item

from . import assist, assisted, compare, runs, scoring
from .active import query as queries
from .models import (
    ActiveLearningQuery,
    Architecture,
    HoldOut,
    InferenceJob,
    ModelVersion,
    Prediction,
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

    def job_cancelled(self, request: Request, job) -> None:
        audit.record(
            AuditAction.TRAINING_RUN_CANCELLED,
            actor=request.user,
            study=job.study_id,
            object_type="training_run",
            object_id=job.pk,
            details={"status_before": job.status},
        )

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
            "labels_fingerprint", "is_active", "qc_threshold", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class QCThresholdRequest(serializers.Serializer):
    qc_threshold = serializers.FloatField(allow_null=True, min_value=-1e6, max_value=1e6)


class InferenceJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = InferenceJob
        fields = [
            "id", "model_version", "study", "dataset", "part", "image_ids", "trigger",
            "status", "progress", "error", "attempts", "n_images", "n_done", "n_predicted",
            "n_flagged", "n_missing", "created_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields


class InferenceJobRequest(serializers.Serializer):
    study = serializers.IntegerField(required=False, min_value=1, max_value=2**62)
    dataset = serializers.IntegerField(required=False, min_value=1, max_value=2**62)
    part = serializers.ChoiceField(
        choices=[("", "every image"), *[(p, p) for p in scoring.PARTS]],
        required=False,
        default="",
    )


class PredictionSerializer(serializers.ModelSerializer):
    image_label = serializers.CharField(source="image.label", read_only=True)

    class Meta:
        model = Prediction
        fields = [
            "id", "image", "image_label", "model_version", "job", "score", "probabilities",
            "uncertainty", "qc_value", "flagged", "seconds", "preprocessing", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ReportQuery(serializers.Serializer):
    part = serializers.ChoiceField(choices=["train", "val", "test", "all"], default="test")
    label_dimension = serializers.CharField(max_length=64, required=False, default="")
    threshold = serializers.FloatField(required=False, default=None, allow_null=True)

    def validate_threshold(self, value):
        if value is not None and not math.isfinite(value):
            raise serializers.ValidationError("A finite number.")
        return value


class ModelVersionReportMixin:
    """The model-versus-expert report of a version on its study (ratings/stats/README.md has
    the contract), computed live from the version's predictions: it may take seconds."""

    def _report_query(self, request: Request) -> dict:
        query = ReportQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = dict(query.validated_data)
        data["part"] = "" if data["part"] == "all" else data["part"]
        return data

    def _labels(self, version: ModelVersion, query: dict) -> tuple[str | None, dict]:
        try:
            return compare.binary_labels(version.study, query["label_dimension"] or None)
        except compare.CompareError as exc:
            raise ValidationError({"label_dimension": [str(exc)]}) from None

    def _gather(self, version: ModelVersion, part: str) -> compare.Pairs:
        try:
            return compare.model_expert_pairs(version, version.study, version.dimension_key, part)
        except compare.ScoringError as exc:
            raise ScoringConflict(str(exc)) from None
        except compare.CompareError as exc:
            raise ValidationError({"detail": [str(exc)]}) from None

    @extend_schema(
        parameters=[ReportQuery],
        responses={200: OpenApiTypes.OBJECT},
        description="?part=train|val|test|all (default test), ?label_dimension=KEY (a binary "
        "dimension; default the study's first), ?threshold=X.",
    )
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk=None, format=None) -> Response:
        version = self.get_object()
        query = self._report_query(request)
        self._labels(version, query)
        pairs = self._gather(version, query["part"])
        try:
            body = compare.version_report(
                version,
                part=query["part"],
                label_dimension=query["label_dimension"] or None,
                threshold=query["threshold"],
                gathered=pairs,
            )
        except compare.CompareError as exc:
            raise ValidationError({"label_dimension": [str(exc)]}) from None
        return Response(body)

    @extend_schema(parameters=[ReportQuery], responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], url_path="report/pairs")
    def report_pairs(self, request: Request, pk=None, format=None) -> HttpResponse:
        """The per-image pairs (image, model, expert, label, diff, part, subgroups) as CSV, in
        the shape `manage.py compare --csv` reads."""
        version = self.get_object()
        query = self._report_query(request)
        key, labels = self._labels(version, query)
        pairs = self._gather(version, query["part"])
        response = HttpResponse(
            compare.pairs_csv(pairs.pairs, labels if key else None), content_type="text/csv"
        )
        name = f"model-version-{version.pk}-{query['part'] or 'all'}-pairs.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class ScoringConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "cannot_score"
    default_detail = "The model version cannot score the images."


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


class ModelVersionViewSet(ModelVersionReportMixin, viewsets.ReadOnlyModelViewSet):
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

    @extend_schema(
        parameters=[OpenApiParameter("image", int, required=True, description="An image id.")],
        responses={(200, "image/png"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"])
    def saliency(self, request: Request, pk=None, format=None) -> HttpResponse:
        """Where the model looks in `?image=ID`: an RGBA heatmap PNG of the image's pixel size
        (transparent where low), the score in the X-Model-Score header."""
        version = self.get_object()
        raw = request.query_params.get("image", "")
        if not raw.isdigit() or len(raw) > 18:
            raise ValidationError({"image": ["An image id, e.g. ?image=12."]})
        study = version.study
        image = (
            Image.objects.filter(pk=int(raw))
            .filter(Q(dataset_id=study.dataset_id) | Q(study_images__study=study))
            .first()
        )
        if image is None:
            raise NotFound("No such image in this model's study or its dataset.")
        if assist.rates_blind(request.user, image):
            raise PermissionDenied("You rate this image in a study blinded to model output.")
        return _saliency_response(version, image)

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
                audit.record(
                    AuditAction.MODEL_VERSION_ACTIVATED,
                    actor=request.user,
                    study=version.study_id,
                    object_type="model_version",
                    object_id=version.pk,
                    details={"dimension_key": version.dimension_key, "run": version.run_id},
                )
        except IntegrityError:  # two activations at once: the other one won
            return Response(
                {"detail": "Another version was activated at the same time; try again.",
                 "code": "conflict"},
                status=status.HTTP_409_CONFLICT,
            )  # fmt: skip
        version.refresh_from_db()
        return Response(ModelVersionSerializer(version).data)

    def _researched(self, request: Request) -> ModelVersion:
        version = self.get_object()
        if not can(request.user, version.study, Action.TRAIN_MODELS):
            raise PermissionDenied("Only the study's researchers do this.")
        return version

    @extend_schema(request=QCThresholdRequest, responses=ModelVersionSerializer)
    def partial_update(self, request: Request, pk=None, format=None) -> Response:
        """Set the real-time QC threshold (`qc_threshold`, null: flag nothing); the version's
        stored predictions are flagged again by it."""
        version = self._researched(request)
        body = QCThresholdRequest(data=request.data)
        body.is_valid(raise_exception=True)
        threshold = body.validated_data["qc_threshold"]
        classifier = version.target != Target.REGRESSION
        if threshold is not None and classifier and not 0.0 <= threshold <= 1.0:
            raise ValidationError(
                {"qc_threshold": ["A classifier's threshold is a probability, in [0, 1]."]}
            )
        scoring.set_qc_threshold(version, threshold)
        version.refresh_from_db()
        return Response(ModelVersionSerializer(version).data)

    @extend_schema(methods=["get"], request=None, responses=PredictionSerializer(many=True))
    @extend_schema(
        methods=["post"], request=InferenceJobRequest, responses={202: InferenceJobSerializer}
    )
    @action(detail=True, methods=["get", "post"])
    def predictions(self, request: Request, pk=None, format=None) -> Response:
        """GET: the version's stored predictions, newest first (`?flagged=1`: flagged only).
        POST: score a study (default: the version's own), one `part` of its split, or a
        `dataset`: an inference job, answered 202."""
        if request.method == "POST":
            return self._start_inference(request)
        version = self.get_object()
        queryset = Prediction.objects.filter(model_version=version).select_related("image")
        flagged = request.query_params.get("flagged")
        if flagged is not None:
            if flagged not in ("0", "1", "true", "false"):
                raise ValidationError({"flagged": ["1 or 0."]})
            queryset = queryset.filter(flagged=flagged in ("1", "true"))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(PredictionSerializer(page, many=True).data)

    def _start_inference(self, request: Request) -> Response:
        version = self._researched(request)
        body = InferenceJobRequest(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        study = dataset = None
        if "study" in data:
            study = get_study(request.user, data["study"], Action.TRAIN_MODELS)
        if "dataset" in data:
            researched = studies_for(request.user, Action.TRAIN_MODELS)
            study_on = researched.filter(dataset_id=data["dataset"]).select_related("dataset")
            found = study_on.first()
            if found is None:
                raise NotFound("No such dataset under a study you research.")
            dataset = found.dataset
        try:
            job = scoring.create_job(
                version, study=study, dataset=dataset, part=data["part"], user=request.user
            )
        except scoring.JobRejected as exc:
            raise ValidationError(exc.problems) from None
        url = reverse("inference-job-detail", args=[job.pk], request=request)
        return Response(
            InferenceJobSerializer(job).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": url},
        )

    # ---------------------------------------------------------------- active learning
    # Queries run synchronously in the request for now (a few seconds for a study of a few
    # thousand images; bench/query.py); `queries.run_query` is what a job would call.

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
        version = self._researched(request)
        if request.method == "GET":
            found = ActiveLearningQuery.objects.filter(model_version=version)
            page = self.paginate_queryset(found)
            return self.get_paginated_response(QuerySerializer(page, many=True).data)
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
        version = self._researched(request)
        return Response(QuerySerializer(self._query(version, query_pk)).data)

    @extend_schema(request=None, responses={200: QuerySerializer})
    @action(detail=True, methods=["post"], url_path=r"queries/(?P<query_pk>\d+)/send")
    def send_query(self, request: Request, pk=None, query_pk=None, format=None) -> Response:
        """Put the query's images first in every rater's worklist (raters are not told why)."""
        version = self._researched(request)
        query = self._query(version, query_pk)
        try:
            query = queries.send_to_raters(query, user=request.user)
        except queries.AlreadySent as exc:
            return Response(
                {"detail": f"{exc}; its images are already first.", "code": "already_sent"},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(QuerySerializer(query).data)


class InferenceJobViewSet(
    JobActionsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Inference jobs of the studies you research or coordinate (researchers' and real-time
    QC's); follow one's progress, cancel or retry it (researchers)."""

    serializer_class = InferenceJobSerializer
    enqueue_job = staticmethod(scoring.enqueue)

    def get_queryset(self):
        visible = studies_for(self.request.user, Action.VIEW_RESULTS)
        return InferenceJob.objects.filter(model_version__study__in=visible).select_related(
            "model_version__study"
        )

    def may_control(self, request: Request, job) -> bool:
        return can(request.user, job.model_version.study, Action.TRAIN_MODELS)


def _saliency_response(version: ModelVersion, image: Image) -> HttpResponse:
    try:
        explained = assist.explain(version, image)
    except Image.DoesNotExist:
        raise NotFound("This image has no file to score.") from None
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
        # A checkpoint gone or unreadable, an image the decoder refuses: say so, never a 500.
        return Response(
            {"detail": f"The model could not score this image: {exc}", "code": "model_unavailable"},
            status=status.HTTP_409_CONFLICT,
        )
    response = HttpResponse(explained.png, content_type="image/png")
    response["X-Model-Score"] = "" if explained.score is None else f"{explained.score:.6g}"
    response["X-Model-Version"] = str(version.pk)
    response["X-Saliency-Method"] = explained.method
    response["Cache-Control"] = "private, max-age=3600"
    return response


@extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
@api_view(["GET"])
def item_saliency(request: Request, study_id: int, item: str) -> HttpResponse:
    """An assisted-reading rater's view of where the model looks in one worklist item.

    Only in a study with show_model_output on; everywhere else 404, as if no model existed.
    """
    study = get_study(request.user, study_id, Action.RATE)
    if not study.show_model_output:
        raise Http404("No such item.")
    found = resolve_item(study, request.user, item)
    version = assist.active_version_for(study) if found is not None else None
    if version is None:
        raise Http404("No such item.")
    return _saliency_response(version, Image.objects.get(pk=found[0]))


def _study_param(request: Request, name: str, required: bool):
    raw = request.query_params.get(name, "")
    if not raw:
        if required:
            raise ValidationError({name: ["A study id is required, e.g. ?against=12."]})
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationError({name: ["A study id."]})
    return get_study(request.user, int(raw), Action.VIEW_RESULTS)


@extend_schema(
    parameters=[
        OpenApiParameter("against", int, required=True, description="The unassisted study."),
        OpenApiParameter("dimension", str, description="A score dimension both rate."),
        OpenApiParameter("reference", int, description="Reference study (default: against)."),
    ],
    responses={200: OpenApiTypes.OBJECT},
)
@api_view(["GET"])
def assisted_comparison(request: Request, pk: int) -> Response:
    """This assisted-reading study against an unassisted reading of the same images: median
    active time per image and agreement (MAD, ICC(A,1)) with the reference, per arm."""
    study = get_study(request.user, pk, Action.VIEW_RESULTS)
    against = _study_param(request, "against", required=True)
    reference = _study_param(request, "reference", required=False)
    if not study.show_model_output:
        raise ValidationError({"detail": "This study does not show model output to its raters."})
    if against.show_model_output:
        raise ValidationError(
            {"against": ["That study shows model output: not an unassisted arm."]}
        )
    try:
        body = assisted.assisted_comparison(
            study, against, request.query_params.get("dimension") or None, reference
        )
    except assisted.ComparisonError as exc:
        raise ValidationError({"detail": str(exc)}) from None
    return Response(body)
