"""Training runs (jobs on the `training` queue), the model versions they produce, and the
predictions those versions store (inference jobs on the `inference` queue)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from imaging.models import Dataset, Image
from iqa_platform.jobs import Job
from ratings.models import ReaderStudy, Split


class Architecture(models.TextChoices):
    CAHDC_RGA = "cahdc-rga", "CaHDC-RGA (chest radiograph paper)"
    CONVNET4 = "convnet4", "ConvNet-4 (MRI paper)"
    RESNET10 = "resnet10", "ResNet-10 (MONAI)"
    IQM_LINEAR = "iqm-linear", "Image-quality metrics + linear regression (head-CT paper)"


class Target(models.TextChoices):
    REGRESSION = "regression", "Regression on the MOS"
    BINARY = "binary", "Binary: the majority vote"
    CATEGORY = "category", "Classes: the majority vote"


class HoldOut(models.TextChoices):
    NONE = "", "No held-out group"
    SITE = "site", "Hold out sites"
    MANUFACTURER = "manufacturer", "Hold out manufacturers"


class TrainingRun(Job):
    """One training of one architecture on one dimension of a study's expert labels."""

    study = models.ForeignKey(ReaderStudy, on_delete=models.PROTECT, related_name="training_runs")
    dimension_key = models.CharField(max_length=64)
    target = models.CharField(max_length=16, choices=Target.choices)
    arch = models.CharField(max_length=16, choices=Architecture.choices)
    # The whole TrainConfig (inference/training/config.py), as cleaned when the run was made.
    config = models.JSONField(default=dict)
    split = models.ForeignKey(
        Split, null=True, blank=True, on_delete=models.PROTECT, related_name="training_runs"
    )
    # Leave-group-out validation: images of these sites / manufacturers are never trained on
    # and are reported apart ("out of site"), beside the in-site metrics.
    hold_out_by = models.CharField(max_length=16, choices=HoldOut.choices, blank=True)
    hold_out = models.JSONField(default=list, blank=True)
    # Live progress, written by the worker.
    epoch = models.PositiveIntegerField(default=0)
    n_epochs = models.PositiveIntegerField(default=0)
    step = models.PositiveIntegerField(default=0)
    n_steps = models.PositiveIntegerField(default=0)
    images_per_s = models.FloatField(null=True, blank=True)
    eta_s = models.FloatField(null=True, blank=True)
    # [{"epoch", "train_loss", "val_loss", "val": {metrics}, "seconds"}...], one per epoch.
    history = models.JSONField(default=list, blank=True)
    # {"validation": {...}, "test": {...}, "out_of_site": {...}} of the version it produced.
    metrics = models.JSONField(default=dict, blank=True)
    # Images per split part actually used: {"train": n, "val": n, "test": n, "out_of_site": n}.
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="trainingrun_progress_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"training run {self.pk} ({self.arch}, {self.status})"


class ModelVersion(models.Model):
    """A trained model a researcher can trust: its checkpoint, and everything it came from."""

    run = models.OneToOneField(TrainingRun, on_delete=models.PROTECT, related_name="model_version")
    study = models.ForeignKey(ReaderStudy, on_delete=models.PROTECT, related_name="model_versions")
    dimension_key = models.CharField(max_length=64)
    arch = models.CharField(max_length=16, choices=Architecture.choices)
    target = models.CharField(max_length=16, choices=Target.choices)
    config = models.JSONField(default=dict)
    split = models.ForeignKey(
        Split, null=True, blank=True, on_delete=models.PROTECT, related_name="model_versions"
    )
    metrics = models.JSONField(default=dict, blank=True)
    # Relative to MEDIA_ROOT; never changes once written.
    checkpoint = models.CharField(max_length=500)
    checkpoint_sha256 = models.CharField(max_length=64)
    checkpoint_bytes = models.BigIntegerField(default=0)
    code_version = models.CharField(max_length=64, blank=True)
    # SHA-256 of the (image, label) pairs it was trained and validated on.
    labels_fingerprint = models.CharField(max_length=64)
    is_active = models.BooleanField(default=False)
    # Real-time QC: a new image whose prediction falls below this is flagged for the study's
    # coordinators (regression: the score; classifiers: the probability of an acceptable
    # class, see inference.scoring.qc_value). None: nothing is flagged.
    qc_threshold = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One active version per study and dimension: what real-time QC scores with.
            models.UniqueConstraint(
                fields=["study", "dimension_key"],
                condition=Q(is_active=True),
                name="modelversion_one_active_per_dimension",
            ),
        ]

    def __str__(self) -> str:
        return f"model version {self.pk} ({self.arch}, {self.dimension_key})"


class InferenceTrigger(models.TextChoices):
    MANUAL = "manual", "Asked for by a researcher"
    IMPORT = "import", "New images imported (real-time QC)"


class InferenceJob(Job):
    """Scoring images with one model version: a study's images (or one split part of them),
    a whole dataset, or exactly the images an import has just added."""

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="inference_jobs"
    )
    study = models.ForeignKey(
        ReaderStudy, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    dataset = models.ForeignKey(
        Dataset, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    part = models.CharField(max_length=16, blank=True)  # of the version's split; "" = all
    # An import's new images: exactly these are scored (empty: the study's or dataset's).
    image_ids = models.JSONField(default=list, blank=True)
    trigger = models.CharField(
        max_length=16, choices=InferenceTrigger.choices, default=InferenceTrigger.MANUAL
    )
    n_images = models.PositiveIntegerField(default=0)
    n_done = models.PositiveIntegerField(default=0)
    # Predictions this job stored (a retry skips the images an earlier attempt scored).
    n_predicted = models.PositiveIntegerField(default=0)
    n_flagged = models.PositiveIntegerField(default=0)
    # Images with no file to read (listed by id in `error` when the job ends).
    n_missing = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="inferencejob_progress_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"inference job {self.pk} (version {self.model_version_id}, {self.status})"


class Prediction(models.Model):
    """One image scored by one model version: stored once, never scored again."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="predictions")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="predictions"
    )
    job = models.ForeignKey(
        InferenceJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The regression score, or the index of the most probable class.
    score = models.FloatField()
    probabilities = models.JSONField(null=True, blank=True)  # classifiers: one per class
    # MC-dropout SD of the score (regression with dropout) or the entropy of the classes.
    uncertainty = models.FloatField(null=True, blank=True)
    # What the QC threshold is compared with: the score, or P(an acceptable class).
    qc_value = models.FloatField()
    flagged = models.BooleanField(default=False)
    seconds = models.FloatField(help_text="Decode, preprocessing and forward passes.")
    preprocessing = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["image", "model_version"], name="prediction_one_per_image_and_version"
            ),
        ]
        indexes = [
            # The QC page: a study's flagged predictions, newest first.
            models.Index(fields=["model_version", "flagged", "-created_at"], name="prediction_qc"),
        ]

    def __str__(self) -> str:
        return f"prediction of image {self.image_id} by version {self.model_version_id}"


class QueryStrategy(models.TextChoices):
    RANDOM = "random", "Random"
    UNCERTAINTY = "uncertainty", "Uncertainty (MC-dropout SD, entropy or margin)"
    ENSEMBLE = "ensemble", "Disagreement between model versions"
    DIVERSITY = "diversity", "Diversity (k-center core set on the model's features)"
    HYBRID = "hybrid", "Uncertainty, then diversity among the most uncertain"


class ActiveLearningQuery(models.Model):
    """The unrated images a model version asks experts to rate next, ranked, with why.

    `items` is [{"rank", "image", "label", "score", "reason"}...], best first. Sending it to the
    raters (`sent_at`) raises the images' StudyImage.priority; raters never see the reasons.
    """

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="queries"
    )
    study = models.ForeignKey(ReaderStudy, on_delete=models.PROTECT, related_name="+")
    dimension_key = models.CharField(max_length=64)
    strategy = models.CharField(max_length=16, choices=QueryStrategy.choices)
    k = models.PositiveIntegerField()
    seed = models.BigIntegerField(default=0)
    # Strategy details as used: {"measure", "passes", "ensemble": [version ids], ...}.
    options = models.JSONField(default=dict, blank=True)
    pool_size = models.PositiveIntegerField(default=0)  # unrated images ranked
    items = models.JSONField(default=list, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_priority = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "active learning queries"

    def __str__(self) -> str:
        return f"query {self.pk} ({self.strategy}, k={self.k}) of {self.model_version}"
