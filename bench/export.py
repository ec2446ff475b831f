"""Benchmark: read and export a large study's ratings; prints rows/s and peak memory.

    DATABASE_URL=postgres://... .venv/bin/python bench/export.py [--images 100000] [--raters 10]

The first run generates the study server-side (INSERT ... SELECT generate_series: 100k images
x 10 raters x 2 dimensions = 2M ratings in well under a minute) and keeps it for later runs.
Each measurement runs in a fresh child process, so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iqa_platform.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from imaging.models import Dataset  # noqa: E402
from ratings.models import Dimension, Membership, Profession, RaterProfile, ReaderStudy, Role  # noqa: E402

N_DIMENSIONS = 2


def study_name(n_images: int, n_raters: int) -> str:
    return f"bench-export-{n_images}x{n_raters}"


@transaction.atomic
def generate(n_images: int, n_raters: int) -> ReaderStudy:
    """A study with every image rated by every rater on two 1-10 dimensions."""
    name = study_name(n_images, n_raters)
    dataset = Dataset.objects.create(name=name)
    study = ReaderStudy.objects.create(name=name, dataset=dataset)
    dims = [
        Dimension.objects.create(study=study, key=key, label=key.title(), order=i)
        for i, key in enumerate(["gray-level", "sharpness"][:N_DIMENSIONS])
    ]
    User = get_user_model()
    professions = [Profession.RADIOLOGIST, Profession.RADIOGRAPHER]
    for r in range(n_raters):
        user, _ = User.objects.get_or_create(username=f"bench-rater-{r}")
        RaterProfile.objects.get_or_create(
            user=user,
            defaults={"pseudonym": f"BR{r:03d}", "profession": professions[r % 2]},
        )
        Membership.objects.get_or_create(user=user, study=study, role=Role.RATER)
    rater_ids = list(
        User.objects.filter(username__startswith="bench-rater-")
        .order_by("id")
        .values_list("id", flat=True)[:n_raters]
    )
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO ratings_image (dataset_id, series_uid, label, patient_key, site_key,
                patient_sex, age_band, modality, manufacturer, rows, columns, n_frames,
                thumbnail, truth, created_at)
            SELECT %s, '2.25.' || g, 'IMG-' || lpad(g::text, 7, '0'),
                'P' || (g / 3), '', '', '', 'DX', '', 2048, 2048, 1, '',
                jsonb_build_object('quality', 1 + (g * 7919 %% 1000) / 111.2), now()
            FROM generate_series(1, %s) AS g
            """,
            [dataset.pk, n_images],
        )
        cur.execute(
            "INSERT INTO ratings_studyimage (study_id, image_id, priority) "
            "SELECT %s, id, 0 FROM ratings_image WHERE dataset_id = %s",
            [study.pk, dataset.pk],
        )
        cur.execute(
            """
            INSERT INTO ratings_assessment (study_id, image_id, rater_id, repeat_index, status,
                skip_reason, client_id, opened_at, first_rendered_at, submitted_at, active_ms,
                zoom_count, pan_count, window_count, scroll_count, final_viewport,
                client_timing, created_at, updated_at)
            SELECT %s, i.id, r, 0, 'submitted', '', gen_random_uuid(),
                now() - interval '20 seconds', now() - interval '19 seconds', now(),
                (2000 + random() * 20000)::int, (random() * 5)::int, (random() * 5)::int,
                (random() * 3)::int, 0, '{}', '{}', now(), now()
            FROM ratings_image i CROSS JOIN unnest(%s::bigint[]) AS r
            WHERE i.dataset_id = %s
            """,
            [study.pk, rater_ids, dataset.pk],
        )
        # The range trigger and the deferred foreign-key checks would cost a lookup per row;
        # the rows below are consistent and in range by construction.
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(
            """
            INSERT INTO ratings_rating (assessment_id, dimension_id, value, first_input_ms,
                created_at, updated_at)
            SELECT a.id, d, least(10, greatest(1, round(
                    1 + (a.image_id * 7919 %% 1000) / 111.2 + (a.rater_id %% 3) - 1
                    + (random() - 0.5) * 3)))::int,
                (random() * 3000)::int, now(), now()
            FROM ratings_assessment a CROSS JOIN unnest(%s::bigint[]) AS d
            WHERE a.study_id = %s
            """,
            [[d.pk for d in dims], study.pk],
        )
        cur.execute("SET LOCAL session_replication_role = origin")
        cur.execute("ANALYZE ratings_image; ANALYZE ratings_assessment; ANALYZE ratings_rating")
    return study


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(kind: str, study_id: int) -> None:
    """Run one measurement in this (fresh) process and print its line."""
    study = ReaderStudy.objects.get(pk=study_id)
    base = peak_mb()
    started = time.perf_counter()
    if kind == "columns":
        from ratings.results.records import rating_columns

        rows = len(rating_columns(study))
        what = "rating_columns (numpy)"
        size = ""
    elif kind == "records":
        from ratings.results.records import records_for_study

        rows = sum(1 for _ in records_for_study(study))
        what = "records_for_study (dicts)"
        size = ""
    else:
        from ratings.results.ratings_export import ExportFormat, write_ratings

        fmt = ExportFormat.CSV if kind == "csv" else ExportFormat.JSON
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"ratings.{fmt.value}"
            with open(path, "wb") as out:
                rows = write_ratings(study, out, fmt)
            size = f", {path.stat().st_size / 1e6:.0f} MB file"
        what = f"ratings {kind.upper()} export to a file"
    seconds = time.perf_counter() - started
    print(
        f"{what}: {rows:,} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s; "
        f"peak RSS {peak_mb():.0f} MB (process after Django setup: {base:.0f} MB){size}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--raters", type=int, default=10)
    parser.add_argument("--only", choices=["columns", "records", "csv", "json"], action="append")
    parser.add_argument(
        "--measure", choices=["columns", "records", "csv", "json"], help=argparse.SUPPRESS
    )
    parser.add_argument("--study", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.study)
        return
    if connection.vendor != "postgresql":
        sys.exit("bench/export.py needs PostgreSQL: set DATABASE_URL")
    study = ReaderStudy.objects.filter(name=study_name(args.images, args.raters)).first()
    if study is None:
        started = time.perf_counter()
        study = generate(args.images, args.raters)
        print(f"generated the study in {time.perf_counter() - started:.1f} s", flush=True)
    n = study.assessments.count() * study.dimensions.count()
    print(f"study {study.name}: {n:,} ratings", flush=True)
    for kind in args.only or ["columns", "records", "csv", "json"]:
        subprocess.run(
            [sys.executable, __file__, "--measure", kind, "--study", str(study.pk)], check=True
        )


if __name__ == "__main__":
    main()
