"""Export jobs: create one (enqueued after commit), claim it exactly once, write its file.

A job's file is written under MEDIA_ROOT/exports/<job id>/ to a temporary name and renamed
when complete, with its SHA-256 computed on the way: a download never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify

from ..models import ExportJob, ExportKind, JobStatus, ReaderStudy
from . import mos_table, ratings_export

logger = logging.getLogger(__name__)

# A running job whose worker has not reported for this long is taken to be lost: a
# redelivered task (acks_late) may then take it over.
STALE_AFTER = timedelta(minutes=10)
PROGRESS_EVERY_S = 1.0
# How long a progress write waits for a lock (SQLite's write lock, PostgreSQL's row lock)
# before it is skipped; the next one comes a second later. Not SQLite's usual 20 s nor
# PostgreSQL's forever: the export must never wait on its report.
PROGRESS_LOCK_WAIT_MS = 200
_LOCK_WAIT_SQL = {
    "sqlite": f"PRAGMA busy_timeout = {PROGRESS_LOCK_WAIT_MS}",
    "postgresql": f"SET lock_timeout = {PROGRESS_LOCK_WAIT_MS}",
}

Progress = Callable[[float], None]


class ExportParamsError(ValueError):
    """Parameters of an export that cannot work; the message is shown to the user."""


@dataclass(frozen=True)
class ExportFile:
    path: str  # relative to MEDIA_ROOT
    name: str  # offered to the browser
    content_type: str
    size: int
    sha256: str


def export_dir(job: ExportJob) -> Path:
    return Path(settings.MEDIA_ROOT) / "exports" / str(job.pk)


def write_chunks(
    job: ExportJob, name: str, content_type: str, chunks: Iterable[bytes]
) -> ExportFile:
    """Write byte chunks to the job's file (atomically), hashing as they pass."""
    folder = export_dir(job)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / name
    partial = folder / f".{name}.part"
    digest = hashlib.sha256()
    size = 0
    with open(partial, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    os.replace(partial, final)
    relative = str(final.relative_to(settings.MEDIA_ROOT))
    return ExportFile(relative, name, content_type, size, digest.hexdigest())


def _stem(job: ExportJob) -> str:
    return f"{slugify(job.study.name) or 'study'}-{job.kind.replace('_', '-')}"


def _ratings(fmt: str) -> Callable[[ExportJob, Progress], ExportFile]:
    def export(job: ExportJob, progress: Progress) -> ExportFile:
        chunks = ratings_export.iter_ratings(
            job.study, fmt, lambda done, total: progress(done / total if total else 1.0)
        )
        kind = "text/csv" if fmt == ratings_export.ExportFormat.CSV else "application/json"
        return write_chunks(job, f"{_stem(job)}.{fmt}", kind, chunks)

    return export


def _mos_csv(job: ExportJob, progress: Progress) -> ExportFile:
    return write_chunks(job, f"{_stem(job)}.csv", "text/csv", mos_table.iter_mos_csv(job.study))


def _agreement_json(job: ExportJob, progress: Progress) -> ExportFile:
    from .agreement import study_agreement_report

    report = study_agreement_report(job.study, screen=bool(job.params.get("screen")))
    data = json.dumps(report, indent=1, sort_keys=True).encode()
    return write_chunks(job, f"{_stem(job)}.json", "application/json", [data])


def _agreement_html(job: ExportJob, progress: Progress) -> ExportFile:
    from .agreement import agreement_html

    data = agreement_html(job.study).encode()
    return write_chunks(job, f"{_stem(job)}.html", "text/html; charset=utf-8", [data])


def _release(job: ExportJob, progress: Progress) -> ExportFile:
    from .release import build_release_for_job

    return build_release_for_job(job, progress)


EXPORTERS: dict[str, Callable[[ExportJob, Progress], ExportFile]] = {
    ExportKind.RATINGS_CSV: _ratings(ratings_export.ExportFormat.CSV),
    ExportKind.RATINGS_JSON: _ratings(ratings_export.ExportFormat.JSON),
    ExportKind.MOS_CSV: _mos_csv,
    ExportKind.AGREEMENT_JSON: _agreement_json,
    ExportKind.AGREEMENT_HTML: _agreement_html,
    ExportKind.RELEASE: _release,
}


def clean_params(study: ReaderStudy, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Check an export's parameters before anything is queued; raises ExportParamsError."""
    if kind not in EXPORTERS:
        raise ExportParamsError(f"unknown export kind {kind!r}; choose from {ExportKind.values}")
    if not isinstance(params, dict):
        raise ExportParamsError("params must be an object")
    if kind == ExportKind.RELEASE:
        from .release import clean_release_params

        return clean_release_params(study, params)
    if kind == ExportKind.AGREEMENT_JSON:
        screen = params.get("screen", False)
        if not isinstance(screen, bool):
            raise ExportParamsError("screen must be true or false")
        return {"screen": screen}
    if params:
        raise ExportParamsError(f"{kind} takes no parameters (got {sorted(params)})")
    return {}


def create_export(
    study: ReaderStudy, kind: str, params: dict[str, Any] | None = None, user=None
) -> ExportJob:
    """Create a pending export job and queue it once the surrounding transaction commits."""
    cleaned = clean_params(study, kind, params or {})
    job = ExportJob.objects.create(study=study, kind=kind, params=cleaned, created_by=user)
    transaction.on_commit(lambda: enqueue(job.pk))
    return job


def enqueue(job_id: int) -> None:
    from ..export_tasks import run_export_job as task

    task.delay(job_id=job_id)


def claim(job_id: int) -> bool:
    """Take the job for this worker: True exactly once per run (and again only if it went stale).

    One conditional UPDATE: two deliveries of the same task cannot both see "pending".
    """
    now = timezone.now()
    taken = ExportJob.objects.filter(
        Q(status=JobStatus.PENDING)
        | Q(status=JobStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER),
        pk=job_id,
    ).update(
        status=JobStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        progress=0.0,
        error="",
        attempts=F("attempts") + 1,
    )
    return taken == 1


class ProgressWriter:
    """Writes a running job's progress (at most once a second) on a connection of its own.

    The export's own connection may be streaming a COPY (another statement there would wait
    for it forever) or hold a transaction open for a server-side cursor (an update there would
    stay invisible to the user polling the job until the very end).

    A progress report must never fail nor stall the job it reports on: a write that fails (a
    lock held by another connection past PROGRESS_LOCK_WAIT_MS, a lost connection) is logged
    and skipped, and the next report opens a fresh connection.
    """

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.last = float("-inf")
        self.connection = None

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        try:
            self._write(min(max(fraction, 0.0), 1.0))
        except OperationalError as error:
            logger.warning("export job %s: progress not recorded (%s)", self.job_id, error)
            self.close()

    def _write(self, fraction: float) -> None:
        if self.connection is None:
            self.connection = connections.create_connection(DEFAULT_DB_ALIAS)
            if self.connection.vendor in _LOCK_WAIT_SQL:
                with self.connection.cursor() as cursor:
                    cursor.execute(_LOCK_WAIT_SQL[self.connection.vendor])
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ExportJob._meta.db_table} SET progress = %s, heartbeat_at = %s "
                "WHERE id = %s AND status = %s",
                [fraction, timezone.now(), self.job_id, JobStatus.RUNNING],
            )

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def run_export_job(job_id: int) -> None:
    """Run one export job if it can be claimed; record success or the error on its row."""
    if not claim(job_id):
        logger.info("export job %s is not pending (already run or running): nothing to do", job_id)
        return
    job = ExportJob.objects.select_related("study").get(pk=job_id)
    progress = ProgressWriter(job_id)
    try:
        result = EXPORTERS[job.kind](job, progress)
    except Exception as exc:  # any failure is the job's error, shown to the user
        logger.exception("export job %s failed", job_id)
        progress.close()
        ExportJob.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        return
    progress.close()
    ExportJob.objects.filter(pk=job_id).update(
        status=JobStatus.SUCCEEDED,
        progress=1.0,
        file_path=result.path,
        file_name=result.name,
        content_type=result.content_type,
        size_bytes=result.size,
        sha256=result.sha256,
        finished_at=timezone.now(),
    )


def file_path(job: ExportJob) -> Path | None:
    """The finished job's file on disk, or None if it has none (yet)."""
    if job.status != JobStatus.SUCCEEDED or not job.file_path:
        return None
    path = Path(settings.MEDIA_ROOT) / job.file_path
    return path if path.is_file() else None
