"""Benchmark of the agreement report read from the database, end to end, as the dashboard gets it.

Usage: DATABASE_URL=postgres://... .venv/bin/python bench/agreement_db.py [--sizes 1000 10000]
(or bench/agreement.py --from-db). Fills a PostgreSQL database (never a test one) with one study
per size - N images x R raters x 2 score dimensions, simulated raters with a bias and noise,
~10% missing - once, and reuses it on later runs. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iqa_platform.settings")

DIMENSIONS = ("gray-level", "sharpness")


def _copy(cursor, table: str, columns: list[str], rows) -> None:
    """COPY rows into a table: filling 2M ratings row by row would dominate the benchmark."""
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
    buffer.seek(0)
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        while chunk := buffer.read(1 << 20):
            copy.write(chunk)


def build_study(n_images: int, n_raters: int, missing: float = 0.1, seed: int = 0):
    """The bench study of this size, created (with its ratings) if it is not there yet."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from imaging.models import Dataset
    from ratings.models import Assessment, Dimension, Membership, RaterProfile, ReaderStudy, Role

    name = f"bench-db-{n_images}x{n_raters}"
    study = ReaderStudy.objects.filter(name=name).first()
    if study is not None and study.assessments.exists():
        return study
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    now = timezone.now().isoformat()
    with transaction.atomic():
        dataset, _ = Dataset.objects.get_or_create(name=f"{name}-dataset")
        study, _ = ReaderStudy.objects.get_or_create(name=name, defaults={"dataset": dataset})
        dims = [
            Dimension.objects.get_or_create(
                study=study, key=key, defaults={"label": key.title(), "order": i}
            )[0]
            for i, key in enumerate(DIMENSIONS)
        ]
        users = []
        for r in range(n_raters):
            user, _ = get_user_model().objects.get_or_create(username=f"bench-rater-{r:02d}")
            RaterProfile.objects.get_or_create(
                user=user,
                defaults={
                    "pseudonym": f"B{r:02d}",
                    "profession": "radiologist" if r % 2 else "radiographer",
                },
            )
            Membership.objects.get_or_create(user=user, study=study, role=Role.RATER)
            users.append(user)
        raw = connection.cursor().cursor
        _copy(
            raw,
            "ratings_image",
            [
                "dataset_id",
                "series_uid",
                "label",
                "patient_key",
                "site_key",
                "patient_sex",
                "age_band",
                "modality",
                "manufacturer",
                "rows",
                "columns",
                "n_frames",
                "thumbnail",
                "truth",
                "created_at",
            ],
            (
                (
                    dataset.pk,
                    f"2.25.{seed}{i}",
                    f"B-{i:06d}",
                    f"p{i}",
                    "",
                    "",
                    "",
                    "DX",
                    "",
                    0,
                    0,
                    1,
                    "",
                    "{}",
                    now,
                )
                for i in range(n_images)
            ),
        )
        image_ids = list(dataset.images.order_by("pk").values_list("pk", flat=True))
        _copy(
            raw,
            "ratings_studyimage",
            ["study_id", "image_id", "priority"],
            ((study.pk, pk, 0) for pk in image_ids),
        )
        present = rng.random((n_images, n_raters)) >= missing
        active = rng.lognormal(np.log(11000), 0.4, (n_images, n_raters)).astype(int)
        _copy(
            raw,
            "ratings_assessment",
            [
                "study_id",
                "image_id",
                "rater_id",
                "repeat_index",
                "status",
                "skip_reason",
                "client_id",
                "active_ms",
                "zoom_count",
                "pan_count",
                "window_count",
                "scroll_count",
                "final_viewport",
                "client_timing",
                "submitted_at",
                "created_at",
                "updated_at",
            ],
            (
                (
                    study.pk,
                    image_ids[i],
                    users[r].pk,
                    0,
                    "submitted",
                    "",
                    uuid.uuid4(),
                    active[i, r],
                    0,
                    0,
                    0,
                    0,
                    "{}",
                    "{}",
                    now,
                    now,
                    now,
                )
                for i, r in zip(*np.nonzero(present), strict=True)
            ),
        )
        rows = Assessment.objects.filter(study=study).values_list("pk", "image_id", "rater_id")
        index = {pk: i for i, pk in enumerate(image_ids)}
        column = {u.pk: r for r, u in enumerate(users)}
        readings = np.array([(pk, index[img], column[r]) for pk, img, r in rows.iterator()])
        for dim in dims:
            quality = rng.uniform(1, 10, n_images)
            bias = rng.normal(0, 0.5, n_raters)
            noise = rng.uniform(0.5, 1.5, n_raters)
            i, r = readings[:, 1], readings[:, 2]
            values = np.clip(
                np.round(quality[i] + bias[r] + rng.normal(0, 1, len(i)) * noise[r]), 1, 10
            )
            _copy(
                raw,
                "ratings_rating",
                ["assessment_id", "dimension_id", "value", "created_at", "updated_at"],
                (
                    (pk, dim.pk, int(v), now, now)
                    for pk, v in zip(readings[:, 0], values, strict=True)
                ),
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ratings_assessment; ANALYZE ratings_rating")
    print(f"  built {name}: {len(readings):,} readings in {time.perf_counter() - started:.1f} s")
    return study


def bench_study(study) -> dict[str, float]:
    """Seconds for each stage of the report as the dashboard and the API get it."""
    from django.core.cache import cache

    from ratings.results import dashboard, snapshot
    from ratings.results.records import rating_columns
    from ratings.results.study_data import study_dimension_data, study_report
    from ratings.stats.report import dimension_reports

    out: dict[str, float] = {}
    t = time.perf_counter()
    state = dashboard.ratings_state(study)
    out["cache key (ratings_state)"] = time.perf_counter() - t
    t = time.perf_counter()
    rating_columns(study)
    out["database read (rating_columns)"] = time.perf_counter() - t
    t = time.perf_counter()
    data = study_dimension_data(study)
    out["read + pivot to matrices"] = time.perf_counter() - t
    t = time.perf_counter()
    report = {"dimensions": dimension_reports(data)}  # dimensions in parallel
    out["statistics (all, all dims)"] = time.perf_counter() - t
    out["  sum of the two stages above"] = (
        out["read + pivot to matrices"] + out["statistics (all, all dims)"]
    )
    del data, report
    # What the API and the dashboard call: the read, then each dimension's pivot + statistics
    # in parallel (so no longer exactly the sum of the stages).
    t = time.perf_counter()
    report = study_report(study)
    out["END TO END: db -> report"] = time.perf_counter() - t
    t = time.perf_counter()
    json.dumps(report, allow_nan=False)
    out["json.dumps (API only)"] = time.perf_counter() - t
    del report
    cache.delete(f"iqa:report:{study.pk}:{state}")
    # The dashboard shows a snapshot built in the background (bench/dashboard.py times views).
    t = time.perf_counter()
    snapshot.build(study)
    out["dashboard snapshot (background)"] = time.perf_counter() - t
    t = time.perf_counter()
    dashboard.compute_progress(study)
    out["progress per rater (uncached)"] = time.perf_counter() - t
    return out


def run(sizes: list[int], n_raters: int, repeat: int = 1) -> None:
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("bench/agreement_db.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # a new, empty database works too
    results = {}
    for size in sizes:
        study = build_study(size, n_raters, seed=size)
        runs = [bench_study(study) for _ in range(repeat)]
        results[size] = {row: float(np.median([run[row] for run in runs])) for row in runs[0]}
    if repeat > 1:
        print(f"median of {repeat} runs per row")
    title = f"from the database (2 dims, {n_raters} raters)"
    header = f"{title:<36}" + "".join(f"{s:>12,}" for s in sizes)
    print(header)
    print("-" * len(header))
    for row in results[sizes[0]]:
        cells = "".join(f"{results[s][row] * 1000:>10.0f}ms" for s in sizes)
        print(f"{row:<36}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--raters", type=int, default=10)
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per size; prints each row's median"
    )
    args = parser.parse_args()
    run(args.sizes, args.raters, max(args.repeat, 1))


if __name__ == "__main__":
    main()
