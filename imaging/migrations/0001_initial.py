import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        # The tables were created by the ratings app; this app takes them over as they are.
        ("ratings", "0004_ingest_allow_burned_in"),
    ]

    # Datasets, images, files and ingest jobs moved here from the ratings app. Their tables
    # keep their names (db_table), so only Django's idea of which app owns them changes.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Dataset",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("name", models.CharField(max_length=200, unique=True)),
                        ("description", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "ratings_dataset",
                        "ordering": ["name"],
                    },
                ),
                migrations.CreateModel(
                    name="Image",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("series_uid", models.CharField(max_length=64)),
                        ("label", models.CharField(blank=True, max_length=64)),
                        ("patient_key", models.CharField(db_index=True, max_length=64)),
                        ("site_key", models.CharField(blank=True, max_length=64)),
                        ("patient_sex", models.CharField(blank=True, max_length=1)),
                        ("age_band", models.CharField(blank=True, max_length=16)),
                        ("modality", models.CharField(blank=True, max_length=16)),
                        ("manufacturer", models.CharField(blank=True, max_length=128)),
                        ("rows", models.PositiveIntegerField(default=0)),
                        ("columns", models.PositiveIntegerField(default=0)),
                        (
                            "n_frames",
                            models.PositiveIntegerField(
                                default=1, help_text="Slices or frames in the stack."
                            ),
                        ),
                        ("thumbnail", models.FileField(blank=True, upload_to="thumbnails/")),
                        ("truth", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "dataset",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="images",
                                to="imaging.dataset",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "ratings_image",
                        "ordering": ["id"],
                    },
                ),
                migrations.CreateModel(
                    name="ImageFile",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("file", models.FileField(max_length=255, upload_to="dicom/")),
                        ("sop_instance_uid", models.CharField(max_length=64, unique=True)),
                        ("source_uid_hash", models.CharField(max_length=64)),
                        ("instance_number", models.IntegerField(blank=True, null=True)),
                        (
                            "position",
                            models.FloatField(default=0.0, help_text="Sort key along the stack."),
                        ),
                        ("n_frames", models.PositiveIntegerField(default=1)),
                        ("transfer_syntax", models.CharField(max_length=64)),
                        ("photometric", models.CharField(blank=True, max_length=16)),
                        ("size_bytes", models.BigIntegerField(default=0)),
                        ("sha256", models.CharField(max_length=64)),
                        (
                            "dataset",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="imaging.dataset",
                            ),
                        ),
                        (
                            "image",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="files",
                                to="imaging.image",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "ratings_imagefile",
                        "ordering": ["image_id", "position", "instance_number", "id"],
                    },
                ),
                migrations.CreateModel(
                    name="IngestJob",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("running", "Running"),
                                    ("succeeded", "Succeeded"),
                                    ("failed", "Failed"),
                                ],
                                default="pending",
                                max_length=16,
                            ),
                        ),
                        ("error", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("upload_dir", models.CharField(max_length=500)),
                        ("allow_burned_in", models.BooleanField(default=False)),
                        ("n_files_total", models.PositiveIntegerField(default=0)),
                        ("n_files_done", models.PositiveIntegerField(default=0)),
                        ("report", models.JSONField(blank=True, default=dict)),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "dataset",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="ingest_jobs",
                                to="imaging.dataset",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "ratings_ingestjob",
                        "ordering": ["-created_at"],
                    },
                ),
                migrations.AddConstraint(
                    model_name="image",
                    constraint=models.UniqueConstraint(
                        fields=("dataset", "series_uid"), name="image_unique_series"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="imagefile",
                    constraint=models.UniqueConstraint(
                        fields=("dataset", "source_uid_hash"),
                        name="imagefile_unique_source_in_dataset",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
