"""The Celery app and the one house decorator every task uses."""

import os

from celery import Celery, shared_task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iqa_platform.settings")

app = Celery("iqa_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _ensure_file_broker_folders() -> None:
    """The embedded file broker needs its folders before the first message is sent or read."""
    from django.conf import settings

    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        for folder in settings.CELERY_BROKER_TRANSPORT_OPTIONS.values():
            if isinstance(folder, str):
                os.makedirs(folder, exist_ok=True)


_ensure_file_broker_folders()


def house_task(**options):
    """Register a task that is acknowledged late and re-queued if its worker dies.

    Tasks are therefore retried after a crash and must be idempotent: they take keyword-only
    primary keys, claim their row (status check under a lock) and call one plain function.
    """
    options.setdefault("acks_late", True)
    options.setdefault("reject_on_worker_lost", True)
    return shared_task(**options)
