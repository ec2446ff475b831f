"""The audit trail (ratings.models.AuditEvent), append-only down to the database.

A trigger refuses UPDATE (PostgreSQL and SQLite) and DELETE (PostgreSQL: SQLite's test
flush empties tables with DELETE, PostgreSQL's with TRUNCATE, which fires no row trigger).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

PG_CREATE = """
CREATE OR REPLACE FUNCTION ratings_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ratings_auditevent_append_only BEFORE UPDATE OR DELETE ON ratings_auditevent
    FOR EACH ROW EXECUTE FUNCTION ratings_auditevent_append_only();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS ratings_auditevent_append_only ON ratings_auditevent;
DROP FUNCTION IF EXISTS ratings_auditevent_append_only();
"""
SQLITE_CREATE = """
CREATE TRIGGER ratings_auditevent_no_update BEFORE UPDATE ON ratings_auditevent
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only (UPDATE refused)');
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS ratings_auditevent_no_update;"


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_CREATE, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DROP)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("ratings", "0007_study_results"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("actor_username", models.CharField(blank=True, max_length=150)),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("rating.created", "Rating submitted"),
                            ("rating.changed", "Rating changed"),
                            ("rating.deleted", "Rating deleted"),
                            ("export.created", "Export started"),
                            ("export.downloaded", "Export downloaded"),
                            ("release.frozen", "Release frozen"),
                            ("release.downloaded", "Release downloaded"),
                            ("study.closed", "Study closed"),
                            ("study.reopened", "Study reopened"),
                            ("study.archived", "Study archived"),
                            ("training_run.launched", "Training run launched"),
                            ("training_run.cancelled", "Training run cancelled"),
                            ("model_version.activated", "Model version activated"),
                        ],
                        db_index=True,
                        max_length=40,
                    ),
                ),
                ("object_type", models.CharField(max_length=40)),
                ("object_id", models.CharField(blank=True, max_length=64)),
                ("details", models.JSONField(blank=True, default=dict)),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        help_text="Who acted; empty for the system (a command, a worker).",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "study",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="ratings.readerstudy",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
                "indexes": [models.Index(fields=["study", "-created_at"], name="audit_study_time")],
            },
        ),
        migrations.RunPython(create, drop),
    ]
