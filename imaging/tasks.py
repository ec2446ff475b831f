"""Celery tasks of the imaging app: thin wrappers that load ids and call one service function."""

from iqa_platform.celery import house_task

from . import ingest_jobs


@house_task(name=ingest_jobs.TASK)
def run_ingest_job(*, job_id: int) -> None:
    ingest_jobs.run_ingest_job(job_id)
