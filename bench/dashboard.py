"""Benchmark of the coordinator dashboard at scale: warm page views and the background recompute.

Usage: DATABASE_URL=postgres://... .venv/bin/python bench/dashboard.py [--images 100000]
Uses bench/agreement_db.py's study (N images x 10 raters x 2 score dimensions, built once in a
PostgreSQL database of your own, never a test one). Prints figures, asserts nothing:
- the background recompute (``ratings.refresh_study_results``: report, figures, progress),
- GETs of the dashboard page through Django's test client, as a logged-in coordinator, with the
  snapshot current and while it is behind (after a new rating: "updating..."),
- GETs of the first and a later page of the cursor-paginated MOS API.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iqa_platform.settings")


def _timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _line(name: str, seconds: list[float]) -> None:
    ms = np.asarray(seconds) * 1000
    print(
        f"{name:<44}{np.percentile(ms, 50):>9.0f} ms p50{np.percentile(ms, 95):>9.0f} ms p95"
        f"   ({len(ms)} runs)"
    )


def run(n_images: int, n_raters: int, views: int) -> None:
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("bench/dashboard.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db.models import F
    from django.test import Client

    from bench.agreement_db import build_study
    from ratings.models import Membership, Role, StudyResults
    from ratings.results import dashboard, snapshot

    call_command("migrate", verbosity=0)
    study = build_study(n_images, n_raters, seed=n_images)
    with connection.cursor() as cursor:  # as autovacuum would have by now
        cursor.execute("ANALYZE ratings_studyimage; ANALYZE ratings_image")
    user, _ = get_user_model().objects.get_or_create(username="bench-coordinator")
    Membership.objects.get_or_create(user=user, study=study, role=Role.COORDINATOR)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    page = f"/studies/{study.pk}/dashboard/"
    print(f"study {study.name}: {n_images:,} images x {n_raters} raters, 2 score dimensions")

    # The old page paid this fingerprint over every rating on each view (before any cache hit).
    fingerprint = _timed(lambda: dashboard.ratings_state(study), 3)
    _line("old: ratings_state fingerprint (per view)", fingerprint)

    def recompute():
        # What a submission does to the row (without queueing a task: the bench runs it here).
        StudyResults.objects.filter(study=study).update(version=F("version") + 1)
        snapshot.refresh(study.pk)

    _line("background recompute (refresh task body)", _timed(recompute, 3))
    row = StudyResults.objects.get(study=study)
    size = len(json.dumps(row.snapshot))
    print(f"{'  stored snapshot':<44}{size / 1024:>9.0f} KiB JSON, compute_ms {row.compute_ms}")

    assert client.get(page).status_code == 200
    _line("dashboard GET, snapshot current (warm)", _timed(lambda: client.get(page), views))
    pair = next(iter(row.snapshot["report"]["dimensions"]["gray-level"]["jaccard"]))
    other = [p for p in row.snapshot["report"]["dimensions"]["gray-level"]["jaccard"] if p != pair]
    other_page = f"{page}?dimension=gray-level&pair={other[-1]}"
    _line("dashboard GET, another rater pair (1st)", _timed(lambda: client.get(other_page), 1))
    _line("dashboard GET, another rater pair (warm)", _timed(lambda: client.get(other_page), views))
    StudyResults.objects.filter(study=study).update(version=row.version + 1)
    html = client.get(page).content.decode()
    assert "updating..." in html
    _line("dashboard GET, while updating (warm)", _timed(lambda: client.get(page), views))
    status = f"/studies/{study.pk}/dashboard/status/"
    _line("status poll GET", _timed(lambda: client.get(status), views))
    snapshot.refresh(study.pk)

    mos = f"/api/v1/studies/{study.pk}/mos/"
    first = client.get(mos).json()
    later = first["next"]
    for _ in range(50):  # ~ page 50 of 200
        later = client.get(later).json()["next"]
    _line("MOS API, first page (500 images)", _timed(lambda: client.get(mos), views))
    _line("MOS API, page 51 (500 images)", _timed(lambda: client.get(later), views))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--raters", type=int, default=10)
    parser.add_argument("--views", type=int, default=20, help="GETs per timed row")
    args = parser.parse_args()
    run(args.images, args.raters, args.views)


if __name__ == "__main__":
    main()
