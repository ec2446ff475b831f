"""The project package (named iqa_platform: a package named `platform` would shadow the stdlib)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
