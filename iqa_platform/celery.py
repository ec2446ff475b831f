"""The Celery app, the named queues, and the one house decorator every task uses."""

import os

from celery import Celery, shared_task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iqa_platform.settings")

app = Celery("iqa_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Each kind of work has a queue, so that a host can consume only some of them (a GPU host:
# `-Q training,inference`). Time limits are per queue: a training run may take a day, an
# export should not.
QUEUES: dict[str, dict[str, int]] = {
    "ingest": {"soft_time_limit": 4 * 3600, "time_limit": 4 * 3600 + 300},
    "exports": {"soft_time_limit": 4 * 3600, "time_limit": 4 * 3600 + 300},
    "training": {"soft_time_limit": 48 * 3600, "time_limit": 48 * 3600 + 600},
    "inference": {"soft_time_limit": 6 * 3600, "time_limit": 6 * 3600 + 300},
}

# Task name -> queue, for every task, in one table: names are explicit (never derived from a
# module path), so moving a module does not orphan queued messages, and a message sent by
# name from a process that never imported the task routes like a call.
TASK_QUEUES: dict[str, str] = {
    "imaging.run_ingest_job": "ingest",
    "ratings.run_export_job": "exports",
    "ratings.refresh_study_results": "exports",
    "inference.run_training": "training",
    "inference.run_inference": "inference",
}


def queue_name(queue: str) -> str:
    """The broker-side name of one of our queues (with the deployment's prefix)."""
    from django.conf import settings

    return settings.CELERY_QUEUE_PREFIX + queue


def all_queue_names() -> list[str]:
    return [queue_name(queue) for queue in QUEUES]


def route_task(name, args, kwargs, options, task=None, **kw):
    """Celery router: send each of our tasks to its named queue."""
    queue = TASK_QUEUES.get(name)
    return {"queue": queue_name(queue)} if queue else None


app.conf.task_routes = (route_task,)


def _ensure_file_broker_folders() -> None:
    """The embedded file broker needs its folders before the first message is sent or read."""
    from django.conf import settings

    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        for folder in settings.CELERY_BROKER_TRANSPORT_OPTIONS.values():
            if isinstance(folder, str):
                os.makedirs(folder, exist_ok=True)


_ensure_file_broker_folders()


def house_task(*, name: str, **options):
    """Register a task that is acknowledged late and re-queued if its worker dies.

    Tasks are therefore retried after a crash and must be idempotent: they take keyword-only
    primary keys, claim their row (iqa_platform/jobs.py) and call one plain function.
    """
    if name not in TASK_QUEUES:
        raise ValueError(f"task {name!r} has no queue: add it to TASK_QUEUES")
    queue = TASK_QUEUES[name]
    options.setdefault("acks_late", True)
    options.setdefault("reject_on_worker_lost", True)
    for limit, seconds in QUEUES[queue].items():
        options.setdefault(limit, seconds)
    return shared_task(name=name, **options)


def enqueue(name: str, **kwargs) -> None:
    """Send a task by its name; call inside `transaction.on_commit` so the worker sees the row."""
    app.send_task(name, kwargs=kwargs)
