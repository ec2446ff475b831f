"""Background jobs that a user starts and then follows: status, progress, report, error."""

from django.conf import settings
from django.db import models

from .datasets import Dataset


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class IngestJob(models.Model):
    """An upload of DICOM files (or zips) into a dataset, imported by a worker."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="ingest_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    # Where the uploaded files wait for the worker; removed when the job ends.
    upload_dir = models.CharField(max_length=500)
    # The uploader attests that images which may carry burned-in text are clean.
    allow_burned_in = models.BooleanField(default=False)
    n_files_total = models.PositiveIntegerField(default=0)
    n_files_done = models.PositiveIntegerField(default=0)
    # Per-file outcome: [{"name", "status": "imported"|"skipped", "reason", "image"}...]
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"ingest job {self.pk} ({self.status})"

    @property
    def progress(self) -> float:
        return self.n_files_done / self.n_files_total if self.n_files_total else 0.0
