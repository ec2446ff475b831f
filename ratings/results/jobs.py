"""Export jobs: create one (enqueued after commit), claim it exactly once, write its file.

A job's file is written under MEDIA_ROOT/exports/<job id>/ to a temporary name and renamed
when complete, with its SHA-256 computed on the way: a download never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify

from iqa_platform import celery
from iqa_platform.jobs import JobContext, JobStatus, run_job

from ..models import AuditAction, ExportJob, ExportKind, ReaderStudy
from ..services import audit
from . import mos_table, ratings_export

logger = logging.getLogger(__name__)
TASK = "ratings.run_export_job"

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
    try:
        with open(partial, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        os.replace(partial, final)
    except BaseException:  # a full disk, a failed query, a time limit: no half file stays
        partial.unlink(missing_ok=True)
        close = getattr(chunks, "close", None)
        if close is not None:  # a generator's open cursor, now rather than when collected
            close()
        raise
    relative = str(final.relative_to(settings.MEDIA_ROOT))
    return ExportFile(relative, name, content_type, size, digest.hexdigest())


def discard_partial_output(job: ExportJob) -> None:
    """Remove what an interrupted run of the job left half-written: its `.part` files (a
    worker killed mid-write cannot remove its own)."""
    from .release import partial_zip_path

    parts = list(export_dir(job).glob(".*.part"))
    if job.release_id is not None:
        parts.append(partial_zip_path(job.release))
    for part in parts:
        part.unlink(missing_ok=True)


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
    with transaction.atomic():
        job = ExportJob.objects.create(study=study, kind=kind, params=cleaned, created_by=user)
        audit.record(
            AuditAction.EXPORT_CREATED,
            actor=user,
            study=study,
            object_type="export",
            object_id=job.pk,
            details={"kind": kind, "params": cleaned},
        )
        transaction.on_commit(lambda: enqueue(job.pk))
    return job


def enqueue(job_id: int) -> None:
    celery.enqueue(TASK, job_id=job_id)


def run_export_job(job_id: int) -> None:
    """Run one export job if it can be claimed (iqa_platform.jobs); store its file's details."""
    run_job(ExportJob, job_id, _write_export)


def _write_export(context: JobContext) -> dict[str, Any]:
    job = ExportJob.objects.select_related("study", "release").get(pk=context.job.pk)
    discard_partial_output(job)  # of a run that died before (stale takeover, retry)
    result = EXPORTERS[job.kind](job, context.progress)
    return {
        "file_path": result.path,
        "file_name": result.name,
        "content_type": result.content_type,
        "size_bytes": result.size,
        "sha256": result.sha256,
    }


def file_path(job: ExportJob) -> Path | None:
    """The finished job's file on disk, or None if it has none (yet)."""
    if job.status != JobStatus.SUCCEEDED or not job.file_path:
        return None
    path = Path(settings.MEDIA_ROOT) / job.file_path
    return path if path.is_file() else None
