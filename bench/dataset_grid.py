"""The dataset page at 100k images on SQLite: counts, grid pages (first, deep, filtered), the page.

Usage: .venv/bin/python bench/dataset_grid.py [--images 100000]
Builds a throwaway SQLite database in a temporary folder (never var/ or a test database), fills
one dataset with N images over 4 modalities and 6 manufacturers, and prints milliseconds (median
of 5 runs). Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=100_000)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="iqa-grid-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="iqa_platform.settings",
        DATABASE_URL=f"sqlite:///{tmp}/db.sqlite3",
        IQA_VAR_DIR=tmp,
        CELERY_BROKER_URL="memory://",
        DEBUG="1",
        SECRET_KEY="bench-only",
        ALLOWED_HOSTS="localhost",
    )
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command
    from django.test import Client

    from imaging import browse
    from imaging.models import Dataset, Image

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", is_staff=True)
    dataset = Dataset.objects.create(name="bench")
    modalities, makers = ["CT", "MR", "DX", "CR"], ["A", "B", "C", "D", "E", "F"]
    start = time.perf_counter()
    Image.objects.bulk_create(
        (
            Image(
                dataset=dataset,
                series_uid=f"2.25.{i}",
                label=f"IMG-{i:06d}",
                patient_key=f"p{i // 3}",
                modality=modalities[i % 4],
                manufacturer=makers[i % 6],
            )
            for i in range(args.images)
        ),
        batch_size=5000,
    )
    print(f"filled {args.images} images in {time.perf_counter() - start:.1f} s (SQLite, {tmp})")
    ids = list(dataset.images.order_by("id").values_list("id", flat=True))
    deep = ids[-100]
    none = browse.Filters()
    ct = browse.Filters(modality="CT", manufacturer="B")

    def cold_counts():
        cache.clear()
        browse.counts(dataset)

    print(f"counts, cold (GROUP BY)       {timed(cold_counts):8.1f} ms")
    print(f"counts, cached                {timed(lambda: browse.counts(dataset)):8.1f} ms")
    first = timed(lambda: browse.image_page(dataset, none))
    print(f"grid page 1                   {first:8.1f} ms")
    deep_page = timed(lambda: browse.image_page(dataset, none, after=deep))
    print(f"grid page at image {len(ids) - 100:>7}     {deep_page:8.1f} ms")
    back = timed(lambda: browse.image_page(dataset, none, before=deep))
    print(f"grid page before that         {back:8.1f} ms")
    filtered = timed(lambda: browse.image_page(dataset, ct, after=ids[len(ids) // 2]))
    print(f"grid page, CT + maker, middle {filtered:8.1f} ms")
    series = browse.Filters(series="IMG-0999")
    by_series = timed(lambda: browse.image_page(dataset, series))
    print(f"grid page, series prefix      {by_series:8.1f} ms")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    url = f"/datasets/{dataset.pk}/?after={deep}"
    assert client.get(url).status_code == 200
    print(f"whole page (HTTP, deep page)  {timed(lambda: client.get(url)):8.1f} ms")


if __name__ == "__main__":
    main()
