"""Exports a coordinator asks for (background jobs with a file), dataset splits and releases."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from imaging.models import Dataset, Image
from iqa_platform.jobs import Job

from .studies import ReaderStudy


class ExportKind(models.TextChoices):
    RATINGS_CSV = "ratings_csv", "Ratings, long format (CSV)"
    RATINGS_JSON = "ratings_json", "Ratings, long format (JSON)"
    MOS_CSV = "mos_csv", "MOS table, image x dimension (CSV)"
    AGREEMENT_JSON = "agreement_json", "Agreement report (JSON)"
    AGREEMENT_HTML = "agreement_html", "Agreement report (self-contained HTML)"
    RELEASE = "release", "Dataset release (zip)"


class ExportJob(Job):
    """One export of a study, written by a worker to a file that is then downloaded."""

    study = models.ForeignKey(ReaderStudy, on_delete=models.CASCADE, related_name="export_jobs")
    kind = models.CharField(max_length=32, choices=ExportKind.choices)
    params = models.JSONField(default=dict, blank=True)
    # Relative to MEDIA_ROOT; set once the whole file is written.
    file_path = models.CharField(max_length=500, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    release = models.ForeignKey(
        "DatasetRelease", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="exportjob_progress_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} export {self.pk} ({self.status})"


class SplitSubset(models.TextChoices):
    TRAIN = "train", "Training"
    VALIDATION = "val", "Validation"
    TEST = "test", "Test"


class StratifyBy(models.TextChoices):
    NONE = "none", "No stratification"
    MOS_BINS = "mos_bins", "MOS bins of a score dimension"
    LABEL = "label", "Majority label of a binary or category dimension"


class Split(models.Model):
    """A train / validation / test assignment of images, grouped by patient, from a seed.

    Training runs keep a reference to the split they used, so their test set never leaks.
    """

    study = models.ForeignKey(
        ReaderStudy, null=True, blank=True, on_delete=models.CASCADE, related_name="splits"
    )
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="splits")
    name = models.CharField(max_length=200, blank=True)
    seed = models.BigIntegerField()
    train_ratio = models.FloatField()
    val_ratio = models.FloatField()
    test_ratio = models.FloatField()
    stratify_by = models.CharField(
        max_length=16, choices=StratifyBy.choices, default=StratifyBy.NONE
    )
    stratify_dimension = models.CharField(max_length=64, blank=True)
    n_bins = models.PositiveSmallIntegerField(default=3)
    # Images per subset and per stratum, as computed when the split was made.
    summary = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(train_ratio__gte=0) & Q(val_ratio__gte=0) & Q(test_ratio__gte=0),
                name="split_ratios_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"split {self.pk} (seed {self.seed})"

    @property
    def ratios(self) -> tuple[float, float, float]:
        return (self.train_ratio, self.val_ratio, self.test_ratio)


class SplitAssignment(models.Model):
    split = models.ForeignKey(Split, on_delete=models.CASCADE, related_name="assignments")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")
    subset = models.CharField(max_length=8, choices=SplitSubset.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["split", "image"], name="splitassignment_unique"),
        ]
        indexes = [models.Index(fields=["split", "subset"])]

    def __str__(self) -> str:
        return f"{self.image_id} -> {self.subset}"


class ImageFormat(models.TextChoices):
    DICOM = "dicom", "De-identified DICOM"
    PNG = "png", "PNG (8-bit display values)"


class DatasetRelease(models.Model):
    """A frozen, versioned dataset of a study: its zip never changes once built.

    ``snapshot`` holds everything the zip is built from except the image files (which are
    immutable), so rebuilding a release gives the same bytes; later ratings make a new version.
    """

    study = models.ForeignKey(ReaderStudy, on_delete=models.PROTECT, related_name="releases")
    version = models.PositiveIntegerField()
    split = models.ForeignKey(
        Split, null=True, blank=True, on_delete=models.PROTECT, related_name="releases"
    )
    image_format = models.CharField(
        max_length=8, choices=ImageFormat.choices, default=ImageFormat.DICOM
    )
    png_size = models.PositiveIntegerField(null=True, blank=True)
    snapshot = models.JSONField(default=dict)
    zip_path = models.CharField(max_length=500, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["study", "version"], name="release_unique_version"),
        ]

    def __str__(self) -> str:
        return f"{self.study} v{self.version}"
