"""One job machinery for every background job: claim once, heartbeat, progress, finish, fail.

A job is a row (a concrete model of `Job`) that a user created and then follows. Its Celery
task is acknowledged late, so a worker that dies has its message delivered again; the row
decides what that redelivery does:

- `claim()` is one conditional UPDATE: pending -> running exactly once, or running -> running
  again only when the heartbeat is older than `stale_after()` (the worker that had it is gone:
  stale takeover). Two deliveries of the same task can never both work.
- While the work runs, a heartbeat thread refreshes `heartbeat_at` on a connection of its own
  (a long step with no progress call still shows the job alive), and `JobContext.progress()`
  records progress at most once a second. Neither may fail the job it reports on.
- `reap_stale()` ends a running job whose worker stopped beating and that no redelivery took
  over: failed, with the reason, so the user sees it and can `retry()`.
- A cancelled job stops at the worker's next progress call (`JobCancelled`).
- `reap_lost()` makes a pending job that no worker ever claimed visible: queued once more,
  then failed with the reason (a lost message, or a task that could not reach the database).

Concrete jobs add their own fields (a report, a file, a checkpoint) and pass a `work` function
to `run_job()`; tasks stay thin wrappers around that.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, models, transaction
from django.db.models import F, Q
from django.utils import timezone

logger = logging.getLogger(__name__)

PROGRESS_EVERY_S = 1.0
# How long a progress write waits for a lock (SQLite's write lock, PostgreSQL's row lock)
# before it is skipped; the next one comes a second later. Not SQLite's usual 20 s nor
# PostgreSQL's forever: a job must never wait on its own report.
PROGRESS_LOCK_WAIT_MS = 200
_LOCK_WAIT_SQL = {
    "sqlite": f"PRAGMA busy_timeout = {PROGRESS_LOCK_WAIT_MS}",
    "postgresql": f"SET lock_timeout = {PROGRESS_LOCK_WAIT_MS}",
}


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(models.Model):
    """The state every background job shares; concrete jobs add what their work produces."""

    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    # A worker refreshes this while it works; a running job whose heartbeat is old lost its
    # worker: a redelivered task may take it over, or the job is failed with that reason.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED


class JobCancelled(Exception):
    """Raised inside a job's work when the user asked it to stop."""


class JobError(Exception):
    """A failure whose message is written for the user; stored as it is."""


def stale_after() -> timedelta:
    return timedelta(seconds=settings.IQA_JOB_STALE_AFTER_S)


def claim(model: type[Job], job_id: int) -> bool:
    """Take the job for this worker: True once per run (and again only if it went stale)."""
    now = timezone.now()
    taken = model.objects.filter(
        Q(status=JobStatus.PENDING)
        | Q(status=JobStatus.RUNNING, heartbeat_at__lt=now - stale_after()),
        pk=job_id,
        cancel_requested=False,
    ).update(
        status=JobStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        error="",
        attempts=F("attempts") + 1,
    )
    if not taken:
        # A job cancelled before any worker took it ends here, not in the queue forever.
        model.objects.filter(pk=job_id, status=JobStatus.PENDING, cancel_requested=True).update(
            status=JobStatus.CANCELLED, finished_at=now
        )
    return taken == 1


def finish(model: type[Job], job_id: int, **fields: Any) -> bool:
    """Record success (with the job's own result fields) unless the job was taken from us."""
    return _end(model, job_id, JobStatus.SUCCEEDED, progress=1.0, **fields)


def fail(model: type[Job], job_id: int, error: str, **fields: Any) -> bool:
    return _end(model, job_id, JobStatus.FAILED, error=error[:2000], **fields)


def _end(model: type[Job], job_id: int, status: str, **fields: Any) -> bool:
    ended = model.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        status=status, finished_at=timezone.now(), **fields
    )
    return ended == 1


def cancel(job: Job) -> bool:
    """Ask a job to stop: a pending one is cancelled at once, a running one at its next step."""
    model = type(job)
    now = timezone.now()
    if model.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
        status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now
    ):
        return True
    return bool(
        model.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(cancel_requested=True)
    )


def retry(job: Job, enqueue: Callable[[int], None]) -> bool:
    """Queue a failed or cancelled job again; its work resumes from what it kept."""
    model = type(job)
    with transaction.atomic():
        again = model.objects.filter(
            pk=job.pk, status__in=(JobStatus.FAILED, JobStatus.CANCELLED)
        ).update(
            status=JobStatus.PENDING,
            cancel_requested=False,
            error="",
            finished_at=None,
            heartbeat_at=timezone.now(),  # queued at: reap_lost() counts from here
        )
        if again:
            transaction.on_commit(lambda: enqueue(job.pk))
    return bool(again)


def reap_stale(model: type[Job], **filters: Any) -> int:
    """Fail running jobs whose worker stopped beating and that no redelivery took over."""
    now = timezone.now()
    return model.objects.filter(
        status=JobStatus.RUNNING, heartbeat_at__lt=now - stale_after(), **filters
    ).update(
        status=JobStatus.FAILED,
        finished_at=now,
        error="The worker running this job stopped (no heartbeat since it was last seen). "
        "Nothing it had not finished was kept; retry the job.",
    )


# Written on a pending job queued again by reap_lost(): the user sees why it waits, and the
# next look knows it was queued twice already.
REQUEUED_NOTE = "No worker started this job in time; it was queued again."


def reap_lost(model: type[Job], enqueue: Callable[[int], None], **filters: Any) -> int:
    """Queue again, once, a pending job that no worker claimed for IQA_JOB_LOST_AFTER_S
    (its message was lost, or its task could not reach the database); fail it with the
    reason if it still waits that long after. Returns how many jobs changed."""
    now = timezone.now()
    limit = now - timedelta(seconds=settings.IQA_JOB_LOST_AFTER_S)
    # `heartbeat_at` of a pending job is when it was (re)queued: retry() and this set it.
    waiting = model.objects.filter(status=JobStatus.PENDING, cancel_requested=False, **filters)
    waiting = waiting.filter(
        Q(heartbeat_at__lt=limit) | Q(heartbeat_at__isnull=True, created_at__lt=limit)
    )
    failed = waiting.filter(error=REQUEUED_NOTE).update(
        status=JobStatus.FAILED,
        finished_at=now,
        error="No worker started this job, even after it was queued again: the workers are "
        "down or cannot reach the database. Retry it when they are back.",
    )
    requeued = 0
    with transaction.atomic():
        for pk in waiting.exclude(error=REQUEUED_NOTE).values_list("pk", flat=True):
            if model.objects.filter(pk=pk, status=JobStatus.PENDING).update(
                error=REQUEUED_NOTE, heartbeat_at=now
            ):
                requeued += 1
                transaction.on_commit(lambda pk=pk: enqueue(pk))
    return failed + requeued


def _claim_patiently(model: type[Job], job_id: int, tries: int = 5) -> bool:
    """claim(), waiting out a busy database (SQLite's "database is locked") a few times;
    if it stays busy the task fails and reap_lost() queues the job again later."""
    for attempt in range(tries):
        try:
            return claim(model, job_id)
        except OperationalError:
            if attempt == tries - 1:
                raise
            logger.warning("%s %s: database busy, claim tried again", model.__name__, job_id)
            time.sleep(2**attempt)
    return False


def _own_connection():
    """A connection of the job's reports: the work's may be inside a long transaction or COPY
    (an update there would wait for it, or stay invisible to the user polling the job)."""
    connection = connections.create_connection(DEFAULT_DB_ALIAS)
    if connection.vendor in _LOCK_WAIT_SQL:
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_WAIT_SQL[connection.vendor])
    return connection


@dataclass
class JobContext:
    """What a job's work function gets: its row, a progress reporter and a cancel check."""

    model: type[Job]
    job: Job
    _last_write: float = float("-inf")
    _connection: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def progress(self, fraction: float, *, force: bool = False, **fields: Any) -> None:
        """Record progress (0..1, plus the job's own fields); raises JobCancelled if asked to."""
        now = time.monotonic()
        if not force and now - self._last_write < PROGRESS_EVERY_S:
            return
        self._last_write = now
        values = {"progress": min(max(float(fraction), 0.0), 1.0), **fields}
        if self._write(values) is False:
            raise JobCancelled()

    def _write(self, values: dict[str, Any]) -> bool | None:
        """UPDATE the row on this context's own connection; False if cancel was requested."""
        table = self.model._meta.db_table
        model_fields = [self.model._meta.get_field(name) for name in values]
        assignments = ", ".join(f"{f.column} = %s" for f in model_fields)
        try:
            with self._lock:
                if self._connection is None:
                    self._connection = _own_connection()
                    # Used by the work's thread and the heartbeat's, one at a time (the lock).
                    self._connection.inc_thread_sharing()
                params = [
                    f.get_db_prep_save(value, connection=self._connection)
                    for f, value in zip(model_fields, values.values(), strict=True)
                ]
                params += [timezone.now(), self.job.pk, JobStatus.RUNNING]
                with self._connection.cursor() as cursor:
                    cursor.execute(
                        f"UPDATE {table} SET {assignments}, heartbeat_at = %s "
                        f"WHERE id = %s AND status = %s RETURNING cancel_requested",
                        params,
                    )
                    row = cursor.fetchone()
        except OperationalError as error:
            # A progress write must never fail nor stall the job it reports on (a lock held
            # elsewhere past PROGRESS_LOCK_WAIT_MS, a lost connection): skip it, and the next
            # report opens a fresh connection.
            logger.warning("%s %s: progress not recorded (%s)", table, self.job.pk, error)
            self.close()
            return None
        return None if row is None else not row[0]

    def beat(self) -> None:
        self._write({})

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection.dec_thread_sharing()
                self._connection = None


class _Heartbeat(threading.Thread):
    """Refreshes the job's heartbeat while its work runs, whatever the work is doing."""

    def __init__(self, context: JobContext) -> None:
        super().__init__(daemon=True, name=f"heartbeat-{context.job.pk}")
        self.context = context
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = max(settings.IQA_JOB_STALE_AFTER_S / 4, 0.5)
        while not self.stopped.wait(interval):
            self.context.beat()


def run_job(
    model: type[Job], job_id: int, work: Callable[[JobContext], dict[str, Any] | None]
) -> None:
    """Claim the job, run its work with a heartbeat, and record the outcome on its row.

    `work` returns the fields to store on success; raising ends the job failed with the
    error's text (shown to the user), JobCancelled ends it cancelled.
    """
    if not _claim_patiently(model, job_id):
        logger.info("%s %s is not pending (run or running elsewhere)", model.__name__, job_id)
        return
    job = model.objects.get(pk=job_id)
    context = JobContext(model, job)
    heartbeat = _Heartbeat(context)
    heartbeat.start()
    try:
        result = work(context) or {}
    except JobCancelled:
        _end(model, job_id, JobStatus.CANCELLED, error="Cancelled by a user.")
    except Exception as exc:  # any failure is the job's error, shown to the user
        logger.exception("%s %s failed", model.__name__, job_id)
        fail(model, job_id, job_error_text(exc))
    else:
        # A beat after this finds the job no longer running and changes nothing.
        finish(model, job_id, **result)
    finally:
        heartbeat.stopped.set()
        heartbeat.join()
        context.close()


def job_error_text(exc: BaseException) -> str:
    """What the user reads: the message of errors meant for them, the type of any other."""
    message = str(exc)
    if isinstance(exc, JobError):
        return message
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            "The server's storage is full: the job stopped, and kept nothing half-written. "
            "Retry it once an administrator has freed space."
        )
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
