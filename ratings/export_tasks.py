"""Celery tasks of exports and releases (imported by ratings/tasks.py for autodiscovery)."""

from iqa_platform.celery import house_task


@house_task()
def run_export_job(*, job_id: int) -> None:
    from .results.jobs import run_export_job as run

    run(job_id)
