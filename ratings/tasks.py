"""Celery tasks of the ratings app: thin wrappers that load ids and call one service function."""

from iqa_platform.celery import house_task

from .export_tasks import run_export_job  # noqa: F401  (registered here for autodiscovery)


@house_task()
def run_ingest_job(*, job_id: int) -> None:
    from .ingest_jobs import run_ingest_job as run

    run(job_id)
