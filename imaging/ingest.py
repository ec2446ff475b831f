"""Import DICOM files into a dataset: process them on every core, then record them in the database.

The per-file work (read, check pixels, de-identify, write, thumbnail) is pure and runs in a
process pool (`imaging.dicom.process`). This module does what needs the database: refuse
duplicates, group instances into images (one series = one stack), and commit in batches so
that a failure never leaves half-written rows or stray files behind.
"""

import hashlib
import hmac
import logging
import multiprocessing
import os
import shutil
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Sum
from django.utils.module_loading import import_string

from imaging.models import Dataset, Image, ImageFile

from .dicom.errors import ErrorCode, FileError
from .dicom.process import ProcessedFile, process_file
from .dicom.sources import Source, iter_sources

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
ProgressCallback = Callable[[int, int], None]


@dataclass
class FileOutcome:
    name: str
    status: str  # "imported" or "skipped"
    reason_code: str = ""
    reason: str = ""
    image: int | None = None


@dataclass
class IngestReport:
    outcomes: list[FileOutcome] = field(default_factory=list)
    images_created: int = 0

    @property
    def n_imported(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "imported")

    @property
    def n_skipped(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "skipped")

    def summary(self) -> dict:
        reasons = Counter(o.reason_code for o in self.outcomes if o.status == "skipped")
        return {
            "files": len(self.outcomes),
            "imported": self.n_imported,
            "skipped": self.n_skipped,
            "images_created": self.images_created,
            "skipped_by_reason": dict(sorted(reasons.items())),
        }

    def as_json(self) -> dict:
        return {"summary": self.summary(), "files": [asdict(o) for o in self.outcomes]}


def dataset_secret(dataset: Dataset) -> bytes:
    """The key for this dataset's pseudonyms: new UIDs and patient keys are stable within it."""
    if not settings.DEID_SECRET:  # DEBUG off without DEID_SECRET (see iqa_platform/checks.py)
        raise ImproperlyConfigured("DEID_SECRET must be set when DEBUG is off.")
    return hmac.new(
        settings.DEID_SECRET.encode(), f"dataset:{dataset.pk}".encode(), hashlib.sha256
    ).digest()


def ingest_paths(
    dataset: Dataset,
    paths: Iterable[str | os.PathLike],
    *,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    allow_burned_in: bool = False,
    deadline: float | None = None,
    staging: Path | None = None,
) -> IngestReport:
    """Import files, folders and zip archives into `dataset`; report every file's outcome.

    Images that may carry burned-in text (ultrasound, secondary captures... without
    BurnedInAnnotation = NO) are refused unless `allow_burned_in`: the person importing
    them must have checked the pixels. Past `deadline` (time.monotonic()) the import stops
    between two files with SoftTimeLimitExceeded, what it recorded kept. `staging` (a folder
    of the caller's, e.g. one per job) is where processed files wait for their batch; it is
    removed at the end.
    """
    items = list(iter_sources(paths))
    total = len(items)
    report = IngestReport()
    staging = staging or staging_folder(dataset, uuid.uuid4().hex)
    staging.mkdir(parents=True, exist_ok=True)
    done = 0
    try:
        batch: list[ProcessedFile] = []
        results = _process_all(items, dataset_secret(dataset), staging, workers, allow_burned_in)
        for result in results:
            if isinstance(result, FileError):
                report.outcomes.append(_skipped(result))
            else:
                batch.append(result)
            if len(batch) >= BATCH_SIZE:
                _record_batch(dataset, batch, report)
                batch = []
            done += 1
            if progress:
                progress(done, total)
            # Celery's own soft limit is a signal that a per-file catch-all inside the DICOM
            # layer may swallow (decoders, pydicom); this check between files cannot be lost.
            if deadline is not None and time.monotonic() > deadline:
                raise SoftTimeLimitExceeded()
        if batch:
            _record_batch(dataset, batch, report)
    finally:
        _remove_staging(staging)
    return report


def staging_folder(dataset: Dataset, name: str) -> Path:
    """Where an import's processed files wait: on the same file system as their final place
    (a rename moves them), hidden from the dataset's own folders."""
    return Path(settings.MEDIA_ROOT) / "dicom" / f"ds{dataset.pk}" / f".staging-{name}"


def _remove_staging(staging: Path) -> None:
    """Remove the staging folder, even when a signal lands in the middle of removing it.

    Celery's soft time limit is a signal that raises wherever the worker is, so it can
    interrupt this very cleanup; the removal is finished before the signal goes on up."""
    try:
        shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _skipped(error: FileError) -> FileOutcome:
    return FileOutcome(
        name=error.name, status="skipped", reason_code=str(error.code), reason=error.message
    )


def _process_all(
    items: list[Source | FileError],
    secret: bytes,
    staging: Path,
    workers: int | None,
    allow_burned_in: bool,
) -> Iterator[ProcessedFile | FileError]:
    """Process sources in a pool of processes (or inline for one worker), in input order."""
    workers = workers or settings.IQA_INGEST_WORKERS
    sources = [item for item in items if isinstance(item, Source)]
    for item in items:
        if isinstance(item, FileError):
            yield item
    work = partial(
        process_file,
        secret=secret,
        out_dir=staging,
        fsync=settings.IQA_INGEST_FSYNC,
        allow_burned_in=allow_burned_in,
        # Celery's soft time limit arrives as this exception wherever the worker is, often
        # inside one file's processing: it stops the import, it is not that file's fault.
        reraise=(SoftTimeLimitExceeded,),
    )
    if workers <= 1 or len(sources) < 4 or multiprocessing.current_process().daemon:
        # A daemonic process (e.g. a prefork Celery child) may not start children.
        yield from map(work, sources)
        return
    # Forked children never touch the database (and leave through os._exit, so they never
    # close the parent's connection either).
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(work, sources, chunksize=4)


def _record_batch(dataset: Dataset, batch: list[ProcessedFile], report: IngestReport) -> None:
    """Commit one batch: new images, their files moved into place, duplicates refused."""
    moved: list[Path] = []
    try:
        with transaction.atomic():
            # One ingest at a time per dataset, so concurrent uploads of the same file cannot
            # both pass the duplicate check.
            Dataset.objects.select_for_update().get(pk=dataset.pk)
            fresh, duplicates = _split_duplicates(dataset, batch)
            images, created = _images_for(dataset, fresh)
            # A duplicate names the image that holds its instance, so an import manifest can
            # still tell which image a file is (e.g. when a folder is imported again).
            holder = dict(
                ImageFile.objects.filter(
                    dataset=dataset, source_uid_hash__in=[p.source_uid_hash for p in duplicates]
                ).values_list("source_uid_hash", "image_id")
            )
            holder.update({p.source_uid_hash: images[p.series_uid].pk for p in fresh})
            outcomes = [
                FileOutcome(
                    name=p.name,
                    status="skipped",
                    reason_code=str(ErrorCode.DUPLICATE),
                    reason=FileError(p.name, ErrorCode.DUPLICATE).message,
                    image=holder.get(p.source_uid_hash),
                )
                for p in duplicates
            ]
            files = []
            for processed in fresh:
                image = images[processed.series_uid]
                relative = (
                    Path("dicom")
                    / f"ds{dataset.pk}"
                    / processed.series_uid
                    / (f"{processed.sop_instance_uid}.dcm")
                )
                final = Path(settings.MEDIA_ROOT) / relative
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(processed.path, final)
                moved.append(final)
                files.append(_image_file(dataset, image, processed, str(relative)))
                outcomes.append(FileOutcome(name=processed.name, status="imported", image=image.pk))
            ImageFile.objects.bulk_create(files)
            _refresh_images(images.values(), fresh, created)
            if created:
                new_ids = sorted(images[uid].pk for uid in created)
                # After the commit, so whoever the hook queues sees the rows; a failing hook
                # is logged and never undoes the import (robust).
                transaction.on_commit(partial(after_ingest, dataset.pk, new_ids), robust=True)
    except Exception:
        for path in moved:
            path.unlink(missing_ok=True)
        raise
    finally:
        for processed in batch:
            Path(processed.path).unlink(missing_ok=True)
    report.outcomes.extend(outcomes)
    report.images_created += len(created)


def after_ingest(dataset_id: int, image_ids: list[int]) -> None:
    """Tell the app named by settings.IMAGING_AFTER_INGEST (real-time QC) about new images;
    imaging imports no other app, so the setting names it, as IMAGING_ACCESS_POLICY does."""
    hook = getattr(settings, "IMAGING_AFTER_INGEST", "")
    if hook:
        import_string(hook)(dataset_id, image_ids)


def _split_duplicates(
    dataset: Dataset, batch: list[ProcessedFile]
) -> tuple[list[ProcessedFile], list[ProcessedFile]]:
    known = set(
        ImageFile.objects.filter(
            dataset=dataset, source_uid_hash__in=[p.source_uid_hash for p in batch]
        ).values_list("source_uid_hash", flat=True)
    )
    fresh, duplicates = [], []
    for processed in batch:
        if processed.source_uid_hash in known:
            duplicates.append(processed)
        else:
            known.add(processed.source_uid_hash)
            fresh.append(processed)
    return fresh, duplicates


def _images_for(dataset: Dataset, fresh: list[ProcessedFile]) -> tuple[dict[str, Image], set[str]]:
    """The Image of every series in the batch, created where new (one series = one image)."""
    first_of_series: dict[str, ProcessedFile] = {}
    for processed in fresh:
        first_of_series.setdefault(processed.series_uid, processed)
    existing = {
        image.series_uid: image
        for image in Image.objects.filter(dataset=dataset, series_uid__in=first_of_series)
    }
    new = [
        Image(
            dataset=dataset,
            series_uid=uid,
            patient_key=p.patient_key,
            site_key=p.site_key,
            patient_sex=p.patient_sex,
            age_band=p.age_band,
            modality=p.modality,
            manufacturer=p.manufacturer[:128],
            rows=p.rows,
            columns=p.columns,
        )
        for uid, p in first_of_series.items()
        if uid not in existing
    ]
    created = Image.objects.bulk_create(new)
    for image in created:
        image.label = f"IMG-{image.pk:06d}"
        existing[image.series_uid] = image
    Image.objects.bulk_update(created, ["label"])
    return existing, {image.series_uid for image in created}


def _image_file(dataset: Dataset, image: Image, p: ProcessedFile, relative: str) -> ImageFile:
    return ImageFile(
        image=image,
        dataset=dataset,
        file=relative,
        sop_instance_uid=p.sop_instance_uid,
        source_uid_hash=p.source_uid_hash,
        instance_number=p.instance_number,
        position=p.position,
        n_frames=p.n_frames,
        transfer_syntax=p.transfer_syntax,
        photometric=p.photometric,
        size_bytes=p.size_bytes,
        sha256=p.sha256,
    )


def _refresh_images(images: Iterable[Image], fresh: list[ProcessedFile], created: set[str]) -> None:
    """Frame counts from all files; a thumbnail for new images from the middle of the stack."""
    by_series: dict[str, list[ProcessedFile]] = defaultdict(list)
    for processed in fresh:
        by_series[processed.series_uid].append(processed)
    touched = [image for image in images if image.series_uid in by_series]
    frames = dict(
        ImageFile.objects.filter(image__in=touched)
        .values("image")
        .annotate(total=Sum("n_frames"))
        .values_list("image", "total")
    )
    changed = []
    for image in touched:
        members = sorted(
            by_series[image.series_uid], key=lambda p: (p.position, p.instance_number or 0)
        )
        image.n_frames = frames.get(image.pk, 1)
        if image.series_uid in created or not image.thumbnail:
            middle = members[len(members) // 2]
            image.thumbnail.save(f"{image.pk}.png", ContentFile(middle.thumbnail_png), save=False)
        changed.append(image)
    Image.objects.bulk_update(changed, ["n_frames", "thumbnail"])
