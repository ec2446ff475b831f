"""Reader studies (rating campaigns), what is rated in them, and who takes part."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from imaging.models import Dataset, Image


class ReaderStudy(models.Model):
    """A rating campaign over images of one dataset (not a DICOM study, which is an exam)."""

    name = models.CharField(max_length=200, unique=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="studies")
    instructions = models.TextField(blank=True)
    images = models.ManyToManyField(Image, through="StudyImage", related_name="studies")
    # Each rater's worklist is shuffled with a seed derived from this and the rater's id.
    order_seed = models.PositiveIntegerField(default=0)
    show_model_output = models.BooleanField(
        default=False, help_text="Raters may see model predictions (off: raters are blinded)."
    )
    min_view_ms = models.PositiveIntegerField(
        default=0, help_text="Submit stays disabled until the image was viewed this long."
    )
    idle_threshold_ms = models.PositiveIntegerField(
        default=30_000, help_text="Gaps without input longer than this are not active time."
    )
    repeat_fraction = models.FloatField(
        default=0.0, help_text="Share of images shown a second time for test-retest reliability."
    )
    # Life cycle (ratings/lifecycle.py): open -> closed (no new ratings) <-> open; archived is
    # closed and hidden from raters and default lists. Nothing rated is ever deleted.
    is_open = models.BooleanField(default=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "reader studies"
        constraints = [
            models.CheckConstraint(
                condition=Q(repeat_fraction__gte=0) & Q(repeat_fraction__lte=1),
                name="study_repeat_fraction_0_1",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def state(self) -> str:
        """open, closed or archived: what raters and lists go by."""
        if self.archived_at is not None:
            return "archived"
        return "open" if self.is_open else "closed"


class StudyImage(models.Model):
    """An image included in a study. Higher priority comes first in every worklist.

    Priority is the hook for active learning: a model's query raises the priority of the
    images it wants rated next, and worklists put them at the front.
    """

    study = models.ForeignKey(ReaderStudy, on_delete=models.CASCADE, related_name="study_images")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="study_images")
    priority = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "image"], name="studyimage_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.study_id}/{self.image_id} (priority {self.priority})"


class DimensionKind(models.TextChoices):
    SCORE = "score", "Score (integer range)"
    BINARY = "binary", "Acceptable / non-acceptable"
    CATEGORY = "category", "Labelled categories"


class Dimension(models.Model):
    """One aspect of quality rated in a study.

    Every rating is stored as an integer within [min_value, max_value]: scores as given,
    binary as 0 (non-acceptable) / 1 (acceptable), categories as the index into `categories`.
    """

    study = models.ForeignKey(ReaderStudy, on_delete=models.CASCADE, related_name="dimensions")
    key = models.SlugField(max_length=64)
    label = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=16, choices=DimensionKind.choices, default=DimensionKind.SCORE
    )
    min_value = models.IntegerField(default=1)
    max_value = models.IntegerField(default=10)
    categories = models.JSONField(default=list, blank=True, help_text="Labels, lowest first.")
    criteria = models.TextField(blank=True, help_text="What raters should look at.")
    order = models.PositiveSmallIntegerField(default=0)
    # Empty means every rater / every image of the study.
    raters = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    images = models.ManyToManyField(Image, blank=True, related_name="+")

    class Meta:
        ordering = ["study_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name="dimension_unique_key"),
            models.CheckConstraint(
                condition=Q(min_value__lte=F("max_value")), name="dimension_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study}: {self.label}"

    @classmethod
    def range_for(cls, kind: str, categories: list | None = None) -> tuple[int, int] | None:
        """The value range a kind implies, or None for scores (free range)."""
        if kind == DimensionKind.BINARY:
            return 0, 1
        if kind == DimensionKind.CATEGORY:
            return 0, max(len(categories or []) - 1, 0)
        return None

    def value_label(self, value: int) -> str:
        if self.kind == DimensionKind.BINARY:
            return "acceptable" if value == 1 else "non-acceptable"
        if self.kind == DimensionKind.CATEGORY and 0 <= value < len(self.categories):
            return str(self.categories[value])
        return str(value)


class Role(models.TextChoices):
    RATER = "rater", "Rater"
    COORDINATOR = "coordinator", "Study coordinator"
    RESEARCHER = "researcher", "Researcher"


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    study = models.ForeignKey(ReaderStudy, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "study", "role"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} in {self.study}"
