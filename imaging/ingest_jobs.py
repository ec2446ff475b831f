"""Uploads as background jobs: store the files, queue the job, run it once, report per file."""

import logging
import shutil
import time
import uuid
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.text import get_valid_filename

from imaging.models import Dataset, IngestJob
from iqa_platform.celery import QUEUES, enqueue
from iqa_platform.jobs import JobCancelled, JobContext, JobError, JobStatus, run_job

from .dicom.process import STORAGE_FULL
from .ingest import ingest_paths, staging_folder

logger = logging.getLogger(__name__)
TASK = "imaging.run_ingest_job"


def enqueue_ingest(job_id: int) -> None:
    enqueue(TASK, job_id=job_id)


def start_upload_job(
    dataset: Dataset, files: list[UploadedFile], user, *, allow_burned_in: bool = False
) -> IngestJob:
    """Save uploaded files where the worker finds them and queue their import."""

    upload_dir = Path(settings.UPLOAD_ROOT) / uuid.uuid4().hex
    upload_dir.mkdir(parents=True)
    try:
        for index, upload in enumerate(files):
            name = get_valid_filename(Path(upload.name or "file").name) or "file"
            with open(upload_dir / f"{index:05d}-{name}", "wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
        job = start_job_for_folder(
            dataset, upload_dir, len(files), user, allow_burned_in=allow_burned_in
        )
    except Exception:
        shutil.rmtree(upload_dir, ignore_errors=True)
        raise
    return job


def start_job_for_folder(
    dataset: Dataset, upload_dir: Path, n_files: int, user, *, allow_burned_in: bool = False
) -> IngestJob:
    """Queue the import of files already waiting in `upload_dir` (a form upload, a chunked one)."""
    with transaction.atomic():
        job = IngestJob.objects.create(
            dataset=dataset,
            created_by=user,
            upload_dir=str(upload_dir),
            n_files_total=n_files,
            allow_burned_in=allow_burned_in,
        )
        transaction.on_commit(lambda: enqueue_ingest(job.pk))
    return job


def run_ingest_job(job_id: int) -> None:
    """Run an upload job once (iqa_platform.jobs): a repeated delivery finds it taken or done.

    A job taken over from a dead worker imports again safely: files already recorded are
    refused as duplicates.
    """
    run_job(IngestJob, job_id, _import_upload)
    # The uploaded copies go once the job is done with; a failed job keeps them for a retry.
    job = IngestJob.objects.filter(pk=job_id).only("status", "upload_dir").first()
    if job is not None and job.status in (JobStatus.SUCCEEDED, JobStatus.CANCELLED):
        remove_upload(job)


def remove_upload(job: IngestJob) -> None:
    """Delete the uploaded copies (only ever a folder under UPLOAD_ROOT)."""
    folder = Path(job.upload_dir)
    if folder.is_relative_to(Path(settings.UPLOAD_ROOT)):
        shutil.rmtree(folder, ignore_errors=True)


def job_staging(job: IngestJob) -> Path:
    """The job's own staging folder: a run taken over from a dead worker (or retried) finds
    what the dead run left there and removes it."""
    return staging_folder(job.dataset, f"job{job.pk}")


def discard_partial_output(job: IngestJob) -> None:
    """Remove what an interrupted run left half-written: its staging folder (files processed
    but never recorded). Recorded files stay: a retry refuses them as duplicates."""
    shutil.rmtree(job_staging(job), ignore_errors=True)


def _import_upload(context: JobContext) -> dict:
    job = context.job
    discard_partial_output(job)

    def progress(done: int, total: int) -> None:
        context.progress(
            done / total if total else 1.0, force=done == total, n_files_done=done,
            n_files_total=total,
        )  # fmt: skip

    try:
        report = ingest_paths(
            job.dataset,
            [job.upload_dir],
            progress=progress,
            allow_burned_in=job.allow_burned_in,
            deadline=time.monotonic() + QUEUES["ingest"]["soft_time_limit"],
            staging=job_staging(job),
        )
    except JobCancelled:
        raise
    except SoftTimeLimitExceeded as exc:
        limit = QUEUES["ingest"]["soft_time_limit"]
        shown = f"{limit // 60} min" if limit >= 60 else f"{limit} s"
        raise IngestStopped(
            f"The import ran past its time limit ({shown}) and was stopped. Files already "
            "recorded are kept; retry to import the rest, or split the upload."
        ) from exc
    except OSError as exc:
        if exc.errno not in STORAGE_FULL:
            raise IngestStopped(_stopped_text(exc)) from exc
        raise IngestStopped(
            "The server's storage is full: the import stopped. Files already recorded are "
            "kept, nothing half-written was; retry once an administrator has freed space."
        ) from exc
    except Exception as exc:
        raise IngestStopped(_stopped_text(exc)) from exc
    return {
        "report": report.as_json(),
        "n_files_done": len(report.outcomes),
        "n_files_total": len(report.outcomes),
    }


def _stopped_text(exc: Exception) -> str:
    return (
        f"The import stopped: {type(exc).__name__}. Files already recorded are kept; "
        "uploading again imports the rest."
    )


class IngestStopped(JobError):
    """An import that could not go on; its message is what the uploader reads."""
