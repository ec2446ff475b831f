"""App config for ratings."""

from django.apps import AppConfig


class RatingsConfig(AppConfig):
    name = "ratings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from iqa_platform import checks  # noqa: F401  (registers the deployment checks)
