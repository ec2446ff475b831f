"""Celery tasks of the inference app: thin wrappers that load ids and call one service function."""

from iqa_platform.celery import house_task

from . import runs, scoring


@house_task(name=runs.TASK)
def run_training(*, job_id: int) -> None:
    runs.run_training(job_id)


@house_task(name=scoring.TASK)
def run_inference(*, job_id: int) -> None:
    scoring.run_inference(job_id)
