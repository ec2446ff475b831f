"""Issue 12, figure 1: a DICOM and zip fuzz corpus through the upload API and `import_dicom`.

The corpus (tests/imaging/dicom/fuzz_corpus.py) is built at test time from pydicom's files:
truncations, seeded bit flips, huge declared sizes, bad VRs, deep and unterminated
sequences, zip tricks. Whichever door it comes in by, every file must end "imported" or
"skipped" with a reason code (never the catch-all `internal`), the job must finish, nothing
may be half-written (no staging folder, no file without its row, no row without its file,
no upload left behind), and the files that declare huge sizes must not cost memory.
"""

from __future__ import annotations

import contextlib
import csv
import io
import resource
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from imaging.dicom.errors import ErrorCode
from imaging.ingest import ingest_paths
from imaging.ingest_jobs import run_ingest_job
from imaging.models import Dataset, Image, ImageFile, IngestJob
from iqa_platform.jobs import JobStatus
from tests.factories import names
from tests.imaging.dicom.fuzz_corpus import build_corpus

# Django refuses a multipart body of more than DATA_UPLOAD_MAX_NUMBER_FILES (100) files.
FILES_PER_UPLOAD = 50
MEMORY_BOUND = 500 * 1024**2
REASONS = {str(code) for code in ErrorCode} - {str(ErrorCode.INTERNAL)}
TITLE = "DICOM fuzz corpus: outcomes by reason code"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, dict[str, list[str]]]:
    folder = tmp_path_factory.mktemp("fuzz") / "corpus"
    return folder, build_corpus(folder)


def _family_of(families: dict[str, list[str]], name: str) -> str:
    return next(f for f, files in families.items() if any(file in name for file in files))


def _assert_outcomes(outcomes: list[dict], families: dict[str, list[str]]) -> Counter:
    """Every outcome is imported, or skipped with a known reason; every input has one."""
    for outcome in outcomes:
        assert outcome["status"] in ("imported", "skipped"), outcome
        if outcome["status"] == "skipped":
            assert outcome["reason_code"] in REASONS, outcome
    seen = " ".join(o["name"] for o in outcomes)
    every_file = [f for files in families.values() for f in files]
    assert not [f for f in every_file if f not in seen], "inputs without an outcome"
    return Counter(o["reason_code"] or "imported" for o in outcomes)


def _assert_nothing_half_written(dataset_ids: list[int], before: set[int] = frozenset()) -> None:
    """`before`: images that existed before the import (the study's, without files)."""
    media = Path(settings.MEDIA_ROOT)
    assert not list(media.rglob(".staging-*")), "a staging folder was left behind"
    on_disk = {p.relative_to(media).as_posix() for p in (media / "dicom").rglob("*") if p.is_file()}
    rows = set(ImageFile.objects.filter(dataset_id__in=dataset_ids).values_list("file", flat=True))
    assert on_disk == rows, (on_disk - rows, rows - on_disk)
    thumbs = {p.relative_to(media).as_posix() for p in media.glob("thumbnails/*")}
    thumb_rows = set(
        Image.objects.filter(dataset_id__in=dataset_ids)
        .exclude(thumbnail="")
        .values_list("thumbnail", flat=True)
    )
    assert thumbs == thumb_rows
    empty = Image.objects.filter(dataset_id__in=dataset_ids, files__isnull=True)
    assert not empty.exclude(pk__in=before).exists(), "an image row without files"


def test_the_corpus_through_the_upload_api(study, people, corpus, report_figure):
    folder, families = corpus
    client = APIClient()
    client.force_authenticate(people[names.COORDINATOR])
    paths = sorted(folder.iterdir())
    before = set(study.dataset.images.values_list("pk", flat=True))
    outcomes: list[dict] = []
    for start in range(0, len(paths), FILES_PER_UPLOAD):
        with contextlib.ExitStack() as stack:
            chunk = paths[start : start + FILES_PER_UPLOAD]
            files = [stack.enter_context(open(p, "rb")) for p in chunk]
            response = client.post(
                f"/api/v1/datasets/{study.dataset.pk}/uploads/",
                {"files": files, "allow_burned_in": "true"},
                format="multipart",
            )
        assert response.status_code == 202, response.content
        job_id = response.json()["id"]
        run_ingest_job(job_id)
        job = IngestJob.objects.get(pk=job_id)
        assert job.status == JobStatus.SUCCEEDED, job.error
        outcomes += job.report["files"]
        assert job.n_files_done == job.n_files_total == len(job.report["files"])
    by_reason = _assert_outcomes(outcomes, families)
    assert by_reason["imported"] > 0, "the intact files of the corpus are imported"
    assert ImageFile.objects.filter(dataset=study.dataset).count() == by_reason["imported"]
    _assert_nothing_half_written([study.dataset.pk], before)
    assert not any(Path(settings.UPLOAD_ROOT).iterdir()), "uploaded copies left behind"
    report_figure(TITLE, f"{len(paths)} files in, {len(outcomes)} outcomes (upload API)")
    report_figure(TITLE, f"upload API:   {dict(sorted(by_reason.items()))}")


def test_the_corpus_through_import_dicom(db, corpus, tmp_path, report_figure):
    folder, families = corpus
    manifest = tmp_path / "manifest.csv"
    call_command(
        "import_dicom", str(folder), "--dataset", "fuzz", "--no-progress", "--workers", "2",
        "--allow-burned-in", "--manifest", str(manifest), stdout=io.StringIO(),
    )  # fmt: skip
    with open(manifest, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    outcomes = [
        {
            "name": row["path"],
            "status": row["status"],
            "reason_code": row["reason"].split(":")[0] if row["status"] == "skipped" else "",
        }
        for row in rows
    ]
    by_reason = _assert_outcomes(outcomes, families)
    dataset = Dataset.objects.get(name="fuzz")
    assert ImageFile.objects.filter(dataset=dataset).count() == by_reason["imported"] > 0
    _assert_nothing_half_written([dataset.pk])
    report_figure(TITLE, f"import_dicom: {dict(sorted(by_reason.items()))}")


def test_huge_declared_sizes_cost_no_memory(db, corpus, settings, report_figure):
    """Files that declare gigabytes (65535 x 65535 pixels over a few bytes, a length of
    0xFFFFFFF0, 2e9 frames, zip entries claiming 4 GiB) are refused without allocating them.

    Processed inline (one worker) so tracemalloc sees every allocation, numpy's included."""
    folder, families = corpus
    settings.IQA_INGEST_WORKERS = 1
    huge = [folder / name for family in ("huge_size", "nested") for name in families[family]]
    huge += [folder / name for name in families["zip"] if "claims" in name]
    dataset = Dataset.objects.create(name="huge")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    try:
        report = ingest_paths(dataset, huge, workers=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
    reasons = Counter(o.reason_code or "imported" for o in report.outcomes)
    report_figure(
        TITLE,
        f"huge declared sizes: {len(huge)} files, peak traced {peak / 1024**2:.0f} MB, "
        f"peak RSS growth {rss_growth / 1024**2:.0f} MB; {dict(sorted(reasons.items()))}",
    )
    assert peak < MEMORY_BOUND
    assert rss_growth < MEMORY_BOUND
    assert str(ErrorCode.INTERNAL) not in reasons
    assert reasons[str(ErrorCode.IMAGE_TOO_LARGE)] >= 3  # 65535 x 65535 from each base file
