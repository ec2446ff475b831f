"""App config for the demo: synthetic data with known truth, accounts, `seed_demo`."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    default_auto_field = "django.db.models.BigAutoField"
