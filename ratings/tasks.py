"""Celery tasks of the ratings app: thin wrappers that load ids and call one service function."""

from iqa_platform.celery import house_task

from .results import jobs


@house_task(name=jobs.TASK)
def run_export_job(*, job_id: int) -> None:
    jobs.run_export_job(job_id)
