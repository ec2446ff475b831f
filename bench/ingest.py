"""Benchmark: import a folder of 768x512 16-bit radiographs end to end into the database.

Prints files/s and MB/s for the real ingest (read, check pixels, de-identify, write, thumbnail,
database rows) with 1 and with all workers, beside a reference: a bare single-process loop of
pydicom read + PNG thumbnail + write, which is what the issue quotes (~76 files/s here).

    python bench/ingest.py [--files 500] [--database-url postgres://...]
"""

import argparse
import io
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "var" / "bench-cache" / "radiographs"
TARGET_FILES_PER_S = 100


def _setup_django(database_url: str | None) -> None:
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iqa_platform.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _files(n: int) -> list[Path]:
    """The benchmark's radiographs, generated once and kept (generation is not timed)."""
    existing = sorted(CACHE.glob("*.dcm"))
    if len(existing) >= n:
        return existing[:n]
    from demo.synthetic.generate import generate_chest_dataset

    shutil.rmtree(CACHE, ignore_errors=True)
    print(f"generating {n} radiographs into {CACHE} (once) ...", flush=True)
    started = time.perf_counter()
    generated = generate_chest_dataset(
        CACHE, n, seed=500, workers=os.cpu_count() or 1, unique_uids=True
    )
    print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
    return sorted(g.path for g in generated)[:n]


def _bare_loop(files: list[Path]) -> float:
    """Reference: read, PNG thumbnail, write; one process, no de-identification, no database."""
    import numpy as np
    import pydicom
    from PIL import Image

    out = Path(tempfile.mkdtemp(prefix="bench-bare-"))
    try:
        started = time.perf_counter()
        for index, path in enumerate(files):
            ds = pydicom.dcmread(path)
            pixels = ds.pixel_array
            low, high = np.percentile(pixels[::8, ::8], (0.5, 99.5))
            scaled = np.clip((pixels - low) / max(high - low, 1) * 255, 0, 255).astype(np.uint8)
            thumb = Image.fromarray(scaled)
            thumb.thumbnail((256, 256))
            thumb.save(io.BytesIO(), format="PNG")
            ds.save_as(out / f"{index}.dcm")
        return time.perf_counter() - started
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _ingest(files: list[Path], folder: Path, workers: int) -> tuple[float, int]:
    from imaging.ingest import ingest_paths
    from imaging.models import Dataset

    dataset = Dataset.objects.create(name=f"bench-ingest-{time.time_ns()}")
    try:
        started = time.perf_counter()
        report = ingest_paths(dataset, [folder], workers=workers)
        elapsed = time.perf_counter() - started
        if report.n_imported != len(files):
            raise SystemExit(
                f"only {report.n_imported} of {len(files)} imported: {report.summary()}"
            )
        return elapsed, report.n_imported
    finally:
        _delete(dataset)


def _delete(dataset) -> None:
    from django.conf import settings

    from imaging.models import Image

    for image in Image.objects.filter(dataset=dataset).exclude(thumbnail=""):
        image.thumbnail.delete(save=False)
    shutil.rmtree(Path(settings.MEDIA_ROOT) / "dicom" / f"ds{dataset.pk}", ignore_errors=True)
    dataset.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per configuration")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    _setup_django(args.database_url)
    from django.db import connection

    files = _files(args.files)
    folder = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        for path in files:
            os.symlink(path, folder / path.name)
        megabytes = sum(p.stat().st_size for p in files) / 1e6
        print(f"\n{len(files)} files, {megabytes:.0f} MB, database: {connection.vendor}, "
              f"{os.cpu_count()} cores")  # fmt: skip
        print(f"{'configuration':<38}{'files/s':>10}{'MB/s':>9}{'ms/file':>10}")
        bare = _bare_loop(files)
        _row("reference: bare loop, 1 process", len(files), megabytes, [bare])
        for workers in sorted({1, os.cpu_count() or 1}):
            times = [_ingest(files, folder, workers)[0] for _ in range(args.repeat)]
            _row(f"ingest end to end, {workers} worker(s)", len(files), megabytes, times)
        print(f"target: >= {TARGET_FILES_PER_S} files/s end to end on 2 cores")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this process: {peak:.0f} MiB")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _row(label: str, n: int, megabytes: float, times: list[float]) -> None:
    best, median = min(times), statistics.median(times)
    print(f"{label:<38}{n / median:>10.1f}{megabytes / median:>9.1f}{1000 * median / n:>10.2f}"
          f"   (best {n / best:.1f} files/s over {len(times)} run(s))")  # fmt: skip


if __name__ == "__main__":
    main()
