"""Datasets and DICOM uploads: POST files or zips, get 202 and a job to follow."""

from django.conf import settings
from django.db import IntegrityError
from django.db.models import Count
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from imaging.models import Dataset, Image, IngestJob
from iqa_platform.job_api import JobActionsMixin
from iqa_platform.jobs import JobStatus

from .access import get_dataset, policy
from .ingest_jobs import discard_partial_output, enqueue_ingest, remove_upload, start_upload_job


class DatasetSerializer(serializers.ModelSerializer):
    n_images = serializers.IntegerField(read_only=True)

    class Meta:
        model = Dataset
        fields = ["id", "name", "description", "created_at", "n_images"]
        read_only_fields = ["created_at"]


class DatasetViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Datasets the user manages (staff, their creator, coordinators of a study on them)."""

    serializer_class = DatasetSerializer

    def get_queryset(self):
        return policy().datasets_for(self.request.user).annotate(n_images=Count("images"))

    def perform_create(self, serializer):
        if not policy().may_create_dataset(self.request.user):
            raise PermissionDenied("You may not create datasets.")
        try:
            dataset = serializer.save(created_by=self.request.user)
        except IntegrityError:
            raise ValidationError({"name": ["A dataset with this name exists."]}) from None
        dataset.n_images = 0  # the list's annotation; a new dataset has no images yet


SUBJECT_FIELDS = ("patient_key", "site_key", "patient_sex", "age_band")


class ImageSerializer(serializers.ModelSerializer):
    """For dataset managers: pseudonymous keys included, never identifiers. The subject
    fields are null for a manager who also rates on the dataset (policy: may_see_subject_fields).
    """

    # Declared nullable so the schema tells clients these may be withheld (null).
    patient_key = serializers.CharField(read_only=True, allow_null=True)
    site_key = serializers.CharField(read_only=True, allow_null=True)
    patient_sex = serializers.CharField(read_only=True, allow_null=True)
    age_band = serializers.CharField(read_only=True, allow_null=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("subject_fields", True):
            data.update(dict.fromkeys(SUBJECT_FIELDS))
        return data

    class Meta:
        model = Image
        fields = [
            "id", "label", "series_uid", "modality", "manufacturer", "rows", "columns",
            "n_frames", "patient_key", "site_key", "patient_sex", "age_band",
        ]  # fmt: skip


class IngestJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = IngestJob
        fields = [
            "id", "dataset", "status", "allow_burned_in", "n_files_total", "n_files_done",
            "progress", "report", "error", "attempts",
            "created_at", "started_at", "finished_at",
        ]  # fmt: skip


class UploadView(GenericAPIView):
    """POST multipart `files` (DICOM files and/or zip archives): 202 with the job to poll.

    `allow_burned_in=true` also imports images that may carry burned-in text (ultrasound,
    screen captures) - the uploader attests that their pixels identify no one.
    """

    parser_classes = [MultiPartParser]
    serializer_class = IngestJobSerializer

    def post(self, request, pk):
        dataset = get_dataset(request.user, pk)
        files = request.FILES.getlist("files") or request.FILES.getlist("file")
        if not files:
            raise ValidationError({"files": ["Attach one or more DICOM files or zip archives."]})
        total = sum(f.size or 0 for f in files)
        if total > settings.IQA_MAX_UPLOAD_BYTES:
            raise ValidationError(
                {"files": [f"The upload is {total} bytes; the limit is "
                           f"{settings.IQA_MAX_UPLOAD_BYTES}. Split it into several uploads."]}
            )  # fmt: skip
        allow = str(request.data.get("allow_burned_in", "false")).lower()
        if allow not in ("true", "false", "1", "0"):
            raise ValidationError({"allow_burned_in": ["Must be true or false."]})
        job = start_upload_job(dataset, files, request.user, allow_burned_in=allow in ("true", "1"))
        data = IngestJobSerializer(job).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": job_url(job)})


def job_url(job: IngestJob) -> str:
    return f"/api/v1/ingest-jobs/{job.pk}/"


class IngestJobViewSet(JobActionsMixin, viewsets.ReadOnlyModelViewSet):
    """Upload jobs on datasets the user manages: status, progress and the per-file report.

    POST `cancel/` stops one; `retry/` runs a failed one again on the files it kept.
    """

    serializer_class = IngestJobSerializer
    enqueue_job = staticmethod(enqueue_ingest)

    def job_abandoned(self, job) -> None:
        discard_partial_output(job)

    def job_changed(self, job) -> None:
        # A job cancelled before any worker took it never reaches run_ingest_job's cleanup.
        if job.status == JobStatus.CANCELLED:
            remove_upload(job)

    def get_queryset(self):
        return IngestJob.objects.filter(dataset__in=policy().datasets_for(self.request.user))


class DatasetImageViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ImageSerializer

    def get_queryset(self):
        return self.dataset.images.all()

    @property
    def dataset(self):
        if not hasattr(self, "_dataset"):
            self._dataset = get_dataset(self.request.user, self.kwargs["dataset_pk"])
        return self._dataset

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False):
            return context
        context["subject_fields"] = policy().may_see_subject_fields(self.request.user, self.dataset)
        return context
