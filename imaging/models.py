"""Datasets of imported images, each image with its de-identified DICOM files, and uploads.

The tables keep the names they had when these models lived in `ratings` (db_table), so the
move to this app changed no data (migrations: SeparateDatabaseAndState).
"""

from django.conf import settings
from django.db import models

from iqa_platform.jobs import Job


class Dataset(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "ratings_dataset"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Image(models.Model):
    """The unit that is rated: one radiograph, or one series shown as a scrollable stack."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="images")
    # The de-identified SeriesInstanceUID (never the original one).
    series_uid = models.CharField(max_length=64)
    # A short neutral label shown to raters and in exports (e.g. "IMG-000042").
    label = models.CharField(max_length=64, blank=True)
    patient_key = models.CharField(max_length=64, db_index=True)
    site_key = models.CharField(max_length=64, blank=True)
    patient_sex = models.CharField(max_length=1, blank=True)
    age_band = models.CharField(max_length=16, blank=True)
    modality = models.CharField(max_length=16, blank=True)
    manufacturer = models.CharField(max_length=128, blank=True)
    rows = models.PositiveIntegerField(default=0)
    columns = models.PositiveIntegerField(default=0)
    n_frames = models.PositiveIntegerField(default=1, help_text="Slices or frames in the stack.")
    thumbnail = models.FileField(upload_to="thumbnails/", blank=True)
    # For generated (synthetic) images: the known degradation and true quality, so that
    # statistics and models can be checked against the truth. Empty for real images.
    truth = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "ratings_image"
        ordering = ["id"]
        # The dataset page walks a dataset's images in id order (keyset): without this index
        # a database sorts every image of the dataset for each page.
        indexes = [models.Index(fields=["dataset", "id"], name="image_dataset_id")]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "series_uid"], name="image_unique_series"),
        ]

    def __str__(self) -> str:
        return self.label or f"image {self.pk}"


class ImageFile(models.Model):
    """One de-identified DICOM instance (file) of an image."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="files")
    # Denormalised so a duplicate instance within a dataset is refused by the database.
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    file = models.FileField(upload_to="dicom/", max_length=255)
    sop_instance_uid = models.CharField(max_length=64, unique=True)  # the replaced UID
    # Keyed hash of the original SOP Instance UID: finds re-imports without keeping the UID.
    source_uid_hash = models.CharField(max_length=64)
    instance_number = models.IntegerField(null=True, blank=True)
    position = models.FloatField(default=0.0, help_text="Sort key along the stack.")
    n_frames = models.PositiveIntegerField(default=1)
    transfer_syntax = models.CharField(max_length=64)
    photometric = models.CharField(max_length=16, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)

    class Meta:
        db_table = "ratings_imagefile"
        ordering = ["image_id", "position", "instance_number", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "source_uid_hash"], name="imagefile_unique_source_in_dataset"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.image} #{self.instance_number}"


class IngestJob(Job):
    """An upload of DICOM files (or zips) into a dataset, imported by a worker."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="ingest_jobs")
    # Where the uploaded files wait for the worker; removed when the job ends.
    upload_dir = models.CharField(max_length=500)
    # The uploader attests that images which may carry burned-in text are clean.
    allow_burned_in = models.BooleanField(default=False)
    n_files_total = models.PositiveIntegerField(default=0)
    n_files_done = models.PositiveIntegerField(default=0)
    # Per-file outcome: [{"name", "status": "imported"|"skipped", "reason", "image"}...]
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "ratings_ingestjob"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"ingest job {self.pk} ({self.status})"
