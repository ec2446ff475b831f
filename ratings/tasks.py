"""Celery tasks of the ratings app: thin wrappers that load ids and call one service function."""

from iqa_platform.celery import house_task

from .results import jobs
from .results.snapshot import refresh


@house_task(name=jobs.TASK)
def run_export_job(*, job_id: int) -> None:
    jobs.run_export_job(job_id)


# Enqueued by name (ratings/results/freshness.py): the name outlives a moved module.
@house_task(name="ratings.refresh_study_results")
def refresh_study_results(*, study_id: int) -> None:
    """Recompute the study's dashboard snapshot if its results version moved (idempotent)."""
    refresh(study_id)
