from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("imaging", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="ingestjob",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="ingestjob",
            name="cancel_requested",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="ingestjob",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="ingestjob",
            name="progress",
            field=models.FloatField(default=0.0),
        ),
        migrations.AlterField(
            model_name="ingestjob",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("running", "Running"),
                    ("succeeded", "Succeeded"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled"),
                ],
                default="pending",
                max_length=16,
            ),
        ),
    ]
