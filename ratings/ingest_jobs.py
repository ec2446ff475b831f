"""Uploads as background jobs: store the files, queue the job, run it once, report per file."""

import logging
import shutil
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from .ingest import ingest_paths
from .models import Dataset, IngestJob, JobStatus

logger = logging.getLogger(__name__)
PROGRESS_EVERY_S = 0.5


def start_upload_job(
    dataset: Dataset, files: list[UploadedFile], user, *, allow_burned_in: bool = False
) -> IngestJob:
    """Save uploaded files where the worker finds them and queue their import."""
    from .tasks import run_ingest_job

    upload_dir = Path(settings.UPLOAD_ROOT) / uuid.uuid4().hex
    upload_dir.mkdir(parents=True)
    try:
        for index, upload in enumerate(files):
            name = get_valid_filename(Path(upload.name or "file").name) or "file"
            with open(upload_dir / f"{index:05d}-{name}", "wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
        with transaction.atomic():
            job = IngestJob.objects.create(
                dataset=dataset,
                created_by=user,
                upload_dir=str(upload_dir),
                n_files_total=len(files),
                allow_burned_in=allow_burned_in,
            )
            transaction.on_commit(lambda: run_ingest_job.delay(job_id=job.pk))
    except Exception:
        shutil.rmtree(upload_dir, ignore_errors=True)
        raise
    return job


def run_ingest_job(job_id: int) -> None:
    """Run an upload job once: a redelivered or repeated task finds it finished and stops."""
    with transaction.atomic():
        job = IngestJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            logger.warning("ingest job %s no longer exists", job_id)
            return
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return
        # A job found RUNNING was interrupted (its worker died): importing again is safe,
        # because files already recorded are refused as duplicates.
        job.status = JobStatus.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["status", "started_at"])

    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY_S or done == total:
            last = now
            IngestJob.objects.filter(pk=job_id).update(n_files_done=done, n_files_total=total)

    try:
        report = ingest_paths(
            job.dataset, [job.upload_dir], progress=progress, allow_burned_in=job.allow_burned_in
        )
    except Exception as exc:
        logger.exception("ingest job %s failed", job_id)
        IngestJob.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED,
            error=f"The import stopped: {type(exc).__name__}. Files already recorded are kept; "
            "uploading again imports the rest.",
            finished_at=timezone.now(),
        )
    else:
        IngestJob.objects.filter(pk=job_id).update(
            status=JobStatus.SUCCEEDED,
            report=report.as_json(),
            n_files_done=len(report.outcomes),
            n_files_total=len(report.outcomes),
            finished_at=timezone.now(),
        )
    finally:
        shutil.rmtree(job.upload_dir, ignore_errors=True)
