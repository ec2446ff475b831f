"""The audit trail: who changed which rating, exported or released what, launched which run.

Append-only: events are written by `ratings.audit.record` in the same transaction as the
change they describe and never updated or deleted (the queryset refuses, the admin is
read-only, and on PostgreSQL and SQLite a trigger refuses UPDATE and DELETE).
"""

from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    RATING_CREATED = "rating.created", "Rating submitted"
    RATING_CHANGED = "rating.changed", "Rating changed"
    RATING_DELETED = "rating.deleted", "Rating deleted"
    EXPORT_CREATED = "export.created", "Export started"
    EXPORT_DOWNLOADED = "export.downloaded", "Export downloaded"
    RELEASE_FROZEN = "release.frozen", "Release frozen"
    RELEASE_DOWNLOADED = "release.downloaded", "Release downloaded"
    STUDY_CLOSED = "study.closed", "Study closed"
    STUDY_REOPENED = "study.reopened", "Study reopened"
    STUDY_ARCHIVED = "study.archived", "Study archived"
    TRAINING_RUN_LAUNCHED = "training_run.launched", "Training run launched"
    TRAINING_RUN_CANCELLED = "training_run.cancelled", "Training run cancelled"
    MODEL_VERSION_ACTIVATED = "model_version.activated", "Model version activated"


class AppendOnly(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Audit events are append-only: they are never updated.")

    def delete(self):
        raise TypeError("Audit events are append-only: they are never deleted.")


class AuditEvent(models.Model):
    # Neither the study nor the actor holds the trail hostage (no database constraint, no
    # cascade): a deleted study or user leaves its events, with the username kept as written.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="Who acted; empty for the system (a command, a worker).",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, choices=AuditAction.choices, db_index=True)
    study = models.ForeignKey(
        "ratings.ReaderStudy",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AppendOnly.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["study", "-created_at"], name="audit_study_time")]

    def __str__(self) -> str:
        who = self.actor_username or "system"
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {who} {self.action} {self.object_type}"

    def save(self, *args, **kwargs):
        # The one guard in save(): an event once written is never rewritten.
        if self.pk is not None and not kwargs.get("force_insert"):
            raise TypeError("Audit events are append-only: they are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit events are append-only: they are never deleted.")
