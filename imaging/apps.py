"""App config for imaging: datasets, images, DICOM ingest and de-identification, WADO."""

from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "imaging"
    default_auto_field = "django.db.models.BigAutoField"
