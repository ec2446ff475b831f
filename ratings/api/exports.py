"""Exports over the API: POST answers 202 with a job to poll, then its file is downloaded.

Only coordinators, researchers and staff may export (Action.VIEW_RESULTS): a rater of the study
gets 403, anyone else 404. Small ratings exports may also be streamed directly.
"""

from django.http import FileResponse, Http404, StreamingHttpResponse
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from iqa_platform.job_api import JobActionsMixin
from iqa_platform.jobs import JobStatus

from ..models import AuditAction, ExportJob, ExportKind
from ..permissions import Action, can, get_study, studies_for
from ..results import jobs
from ..results.ratings_export import ExportFormat, iter_ratings
from ..services import audit


class ExportJobSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "study",
            "kind",
            "params",
            "status",
            "progress",
            "error",
            "attempts",
            "file_name",
            "size_bytes",
            "sha256",
            "release",
            "created_at",
            "started_at",
            "finished_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, job) -> str | None:
        if job.status != JobStatus.SUCCEEDED:
            return None
        return reverse("export-download", args=[job.pk], request=self.context.get("request"))


class ExportRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ExportKind.choices)
    params = serializers.JSONField(required=False, default=dict)


class StudyExportsView(APIView):
    """GET the study's export jobs; POST {"kind", "params"} to start one (202 + the job)."""

    @extend_schema(responses=ExportJobSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        study = get_study(request.user, pk, Action.VIEW_RESULTS)
        jobs_ = ExportJob.objects.filter(study=study)[:100]
        return Response(ExportJobSerializer(jobs_, many=True, context={"request": request}).data)

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportJobSerializer})
    def post(self, request: Request, pk: int) -> Response:
        study = get_study(request.user, pk, Action.VIEW_RESULTS)
        body = ExportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            job = jobs.create_export(
                study, body.validated_data["kind"], body.validated_data["params"], request.user
            )
        except jobs.ExportParamsError as exc:
            raise ValidationError({"params": [str(exc)]}) from None
        data = ExportJobSerializer(job, context={"request": request}).data
        url = reverse("export-detail", args=[job.pk], request=request)
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": url})


class ExportJobViewSet(JobActionsMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """An export job's status, progress and error; `download/` streams its finished file.

    POST `cancel/` stops one; `retry/` runs a failed or cancelled one again.
    """

    serializer_class = ExportJobSerializer
    enqueue_job = staticmethod(jobs.enqueue)

    def get_queryset(self):
        visible = studies_for(self.request.user, Action.VIEW_STUDY)
        return ExportJob.objects.filter(study__in=visible).select_related("study")

    def job_abandoned(self, job) -> None:
        jobs.discard_partial_output(job)

    def get_object(self):
        job = super().get_object()
        if not can(self.request.user, job.study, Action.VIEW_RESULTS):
            raise PermissionDenied("You may not see this study's exports.")
        return job

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk=None, **kwargs):  # kwargs: format suffix
        job = self.get_object()
        if job.status != JobStatus.SUCCEEDED:
            return Response(
                {
                    "detail": f"The export is {job.status}; download it once it has succeeded.",
                    "code": "not_ready",
                },
                status=status.HTTP_409_CONFLICT,
            )
        path = jobs.file_path(job)
        if path is None:
            raise NotFound("The export's file is gone; start the export again.")
        if job.kind == ExportKind.RELEASE and job.release_id is not None:
            audit.record(
                AuditAction.RELEASE_DOWNLOADED,
                actor=request.user,
                study=job.study,
                object_type="release",
                object_id=job.release_id,
                details={"export": job.pk, "sha256": job.sha256},
            )
        else:
            audit.record(
                AuditAction.EXPORT_DOWNLOADED,
                actor=request.user,
                study=job.study,
                object_type="export",
                object_id=job.pk,
                details={"kind": job.kind, "sha256": job.sha256},
            )
        response = FileResponse(
            open(path, "rb"),  # noqa: SIM115 - FileResponse closes it after streaming
            as_attachment=True,
            filename=job.file_name,
            content_type=job.content_type or "application/octet-stream",
        )
        response["ETag"] = f'"{job.sha256}"'
        response["X-Content-SHA256"] = job.sha256
        return response


class StreamRatingsView(APIView):
    """GET ratings.csv / ratings.json: the ratings export streamed directly (constant memory)."""

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int, fmt: str):
        if fmt not in ExportFormat.values:
            raise Http404("No such format: use ratings.csv or ratings.json.")
        study = get_study(request.user, pk, Action.VIEW_RESULTS)
        content_type = "text/csv" if fmt == ExportFormat.CSV else "application/json"
        audit.record(
            AuditAction.EXPORT_DOWNLOADED,
            actor=request.user,
            study=study,
            object_type="ratings_stream",
            object_id=fmt,
            details={"format": fmt},
        )
        response = StreamingHttpResponse(iter_ratings(study, fmt), content_type=content_type)
        name = f"{slugify(study.name) or study.pk}-ratings.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
