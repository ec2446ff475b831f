"""A job's progress report is best effort: never the reason a job fails or waits."""

import logging
import time

import pytest
from django.db import connections

from iqa_platform import jobs
from iqa_platform.jobs import JobContext, JobStatus
from ratings.models import ExportJob, ExportKind


def hold_the_lock_a_progress_write_needs(job_id: int):
    """Another connection holding the job row's lock (SQLite: the whole database's write lock)."""
    other = connections.create_connection("default")
    with other.cursor() as cursor:
        if other.vendor == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
        else:
            cursor.execute("BEGIN")
            cursor.execute(
                f"SELECT id FROM {ExportJob._meta.db_table} WHERE id = %s FOR UPDATE", [job_id]
            )
    return other


def release(other) -> None:
    with other.cursor() as cursor:
        cursor.execute("ROLLBACK")
    other.close()


def test_a_progress_write_that_cannot_get_its_lock_is_skipped_quickly_and_logged(
    transactional_db, study, caplog, monkeypatch
):
    monkeypatch.setattr(jobs, "PROGRESS_EVERY_S", 0.0)  # every report writes
    job = ExportJob.objects.create(study=study, kind=ExportKind.MOS_CSV, status=JobStatus.RUNNING)
    context = JobContext(ExportJob, job)
    report = context.progress
    other = hold_the_lock_a_progress_write_needs(job.pk)
    try:
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger=jobs.__name__):
            report(0.25)  # raised "database is locked" after 20 s before
        waited = time.monotonic() - started
    finally:
        release(other)
    assert waited < 2, waited
    assert f"{ExportJob._meta.db_table} {job.pk}: progress not recorded" in caplog.text
    job.refresh_from_db()
    assert job.progress == 0.0
    # The lock is free again: the next report is recorded.
    report(0.5)
    context.close()
    job.refresh_from_db()
    assert job.progress == pytest.approx(0.5)
