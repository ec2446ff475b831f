"""App config for ratings."""

from django.apps import AppConfig


class RatingsConfig(AppConfig):
    name = "ratings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from iqa_platform import checks  # noqa: F401  (registers the deployment checks)

        # Receivers that bump a study's results version on every instance write.
        from .results import freshness  # noqa: F401
