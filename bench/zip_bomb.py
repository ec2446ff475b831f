"""Benchmark: how long the issue's zip bombs hold the ingest (no database: listing + processing).

    python bench/zip_bomb.py

Prints seconds for 600 entries of exactly 1 MiB of zeros (deflated, 676 KB: 313 s before the
fix), the same just under 1 MiB, and 50 stored (uncompressed) 1 MiB zero entries, which pass
the ratio checks and are refused from their first bytes.
"""

import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imaging.dicom.batch import process_sources  # noqa: E402
from imaging.dicom.sources import iter_sources  # noqa: E402

MIB = 1024**2


def _zip(path: Path, n: int, size: int, method: int) -> Path:
    block = bytes(size)
    with zipfile.ZipFile(path, "w", method) as archive:
        for i in range(n):
            archive.writestr(f"{i:04d}.dcm", block)
    return path


def main() -> None:
    cases = [
        ("600 x 1 MiB zeros, deflated", 600, MIB, zipfile.ZIP_DEFLATED),
        ("600 x (1 MiB - 1) zeros, deflated", 600, MIB - 1, zipfile.ZIP_DEFLATED),
        ("50 x 1 MiB zeros, stored", 50, MIB, zipfile.ZIP_STORED),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for label, n, size, method in cases:
            archive = _zip(Path(tmp) / "bomb.zip", n, size, method)
            started = time.perf_counter()
            results = process_sources(
                iter_sources([archive]), secret=b"k" * 32, out_dir=Path(tmp) / "out"
            )
            reasons = Counter(str(getattr(r, "code", "processed")) for r in results)
            seconds = time.perf_counter() - started
            print(
                f"{label}: {archive.stat().st_size / 1e3:.0f} KB, {seconds:.2f} s, {dict(reasons)}"
            )


if __name__ == "__main__":
    main()
