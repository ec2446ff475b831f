"""The stored dashboard snapshot of a study, and the version that says when it went stale."""

from django.db import models

from .studies import ReaderStudy


class StudyResults(models.Model):
    """One row per study: a version bumped by every change to what the results are computed
    from, and the dashboard's snapshot computed in the background for some version.

    A dashboard view reads this row only (no fingerprint over the ratings); the snapshot is
    behind while ``computed_version < version``.
    """

    study = models.OneToOneField(
        ReaderStudy, on_delete=models.CASCADE, primary_key=True, related_name="results"
    )
    version = models.PositiveBigIntegerField(default=1)
    computed_version = models.PositiveBigIntegerField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    compute_ms = models.PositiveIntegerField(null=True, blank=True)
    # What the dashboard shows, JSON (ratings/results/snapshot.py builds it); {} until computed.
    snapshot = models.JSONField(default=dict, blank=True)
    # Set while a refresh task is queued and has not started: later changes enqueue no other.
    refresh_queued_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "study results"

    def __str__(self) -> str:
        return f"study {self.study_id} results: v{self.version}, computed {self.computed_version}"

    @property
    def is_current(self) -> bool:
        return self.computed_version is not None and self.computed_version >= self.version
