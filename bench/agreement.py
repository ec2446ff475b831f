"""Benchmark of the agreement report: per-statistic times, pingouin + krippendorff baseline, memory.

Usage: .venv/bin/python bench/agreement.py [--sizes 1000 10000 100000] [--raters 10]
Prints figures, asserts nothing. ``bench_records`` takes long-format records, so a
``--from-db STUDY`` path only has to produce records (ratings.results.records_for_study).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ratings.stats.records import DimensionData, pivot_records  # noqa: E402
from ratings.stats.report import dimension_report  # noqa: E402

STEPS = (
    "prepare",
    "screening",
    "mos",
    "icc",
    "icc_reml",
    "krippendorff",
    "fleiss",
    "cohen",
    "jaccard",
    "majority",
    "flags",
    "raters",
    "retest",
)


def simulate(n_images: int, n_raters: int, missing: float, seed: int) -> dict[str, DimensionData]:
    """Two 1-10 score dimensions from raters with a bias and a noise level, ~``missing`` gaps."""
    rng = np.random.default_rng(seed)
    raters = [f"rater{r:02d}" for r in range(n_raters)]
    groups = {r: ("radiologist" if i % 2 else "radiographer") for i, r in enumerate(raters)}
    out = {}
    for name in ("gray_level", "sharpness"):
        quality = rng.uniform(1, 10, size=n_images)
        bias = rng.normal(0, 0.5, size=n_raters)
        noise = rng.uniform(0.5, 1.5, size=n_raters)
        x = quality[:, None] + bias + rng.normal(0, 1, size=(n_images, n_raters)) * noise
        x = np.clip(np.round(x), 1, 10)
        x[rng.random(x.shape) < missing] = np.nan
        durations = np.where(np.isnan(x), np.nan, rng.lognormal(np.log(11000), 0.4, x.shape))
        out[name] = DimensionData(
            name=name,
            kind="score",
            images=list(range(n_images)),
            raters=raters,
            values=x,
            durations_ms=durations,
            groups=groups,
        )
    return out


def bench_arrays(dims: Mapping[str, DimensionData]) -> tuple[dict[str, float], dict[str, Any]]:
    """Time dimension_report over every dimension; returns (seconds per step, report)."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    report = {"dimensions": {n: dimension_report(d, timings=timings) for n, d in dims.items()}}
    timings["total stats"] = time.perf_counter() - start
    t = time.perf_counter()
    json.dumps(report, allow_nan=False)
    timings["json.dumps"] = time.perf_counter() - t
    return timings, report


def bench_records(records: Iterable[Mapping[str, Any]]) -> tuple[dict[str, float], dict[str, Any]]:
    """Pivot long-format records (CSV or database), then bench_arrays; adds the pivot time."""
    t = time.perf_counter()
    dims = pivot_records(records)
    pivot = time.perf_counter() - t
    timings, report = bench_arrays(dims)
    timings["pivot records"] = pivot
    return timings, report


def baseline(dims: Mapping[str, DimensionData]) -> dict[str, float]:
    """pingouin.intraclass_corr + krippendorff.alpha (3 levels) on the same matrices."""
    import krippendorff
    import pandas as pd
    import pingouin as pg

    times = {"pingouin icc": 0.0, "krippendorff pkg": 0.0}
    for d in dims.values():
        x = d.values
        n, k = x.shape
        long = pd.DataFrame(
            {
                "image": np.repeat(np.arange(n), k),
                "rater": np.tile(np.arange(k), n),
                "score": x.ravel(),
            }
        )
        t = time.perf_counter()
        pg.intraclass_corr(long, "image", "rater", "score", nan_policy="omit")
        times["pingouin icc"] += time.perf_counter() - t
        t = time.perf_counter()
        for level in ("nominal", "ordinal", "interval"):
            krippendorff.alpha(reliability_data=x.T, level_of_measurement=level)
        times["krippendorff pkg"] += time.perf_counter() - t
    return times


def peak_memory(dims: Mapping[str, DimensionData]) -> float:
    """Peak Python-tracked allocation (MiB) of one report, by tracemalloc (numpy included)."""
    tracemalloc.start()
    bench_arrays(dims)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--raters", type=int, default=10)
    parser.add_argument("--missing", type=float, default=0.1)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--from-db", action="store_true", help="read from DATABASE_URL (Postgres)")
    args = parser.parse_args()
    if args.from_db:  # the end-to-end path: database -> records -> report -> dashboard
        from agreement_db import run

        return run(args.sizes, args.raters)

    bench_arrays(simulate(200, args.raters, args.missing, 0))  # warm imports and caches
    results = {}
    for size in args.sizes:
        dims = simulate(size, args.raters, args.missing, seed=size)
        timings, _ = bench_arrays(dims)
        if not args.no_baseline:
            timings.update(baseline(dims))
        timings["peak MiB (tracemalloc)"] = peak_memory(dims)
        results[size] = timings

    header = f"{'step (2 dims, ' + str(args.raters) + ' raters)':<28}" + "".join(
        f"{s:>12,}" for s in args.sizes
    )
    print(header)
    print("-" * len(header))
    rows = [*STEPS, "total stats", "json.dumps"]
    if not args.no_baseline:
        rows += ["pingouin icc", "krippendorff pkg"]
    for row in rows:
        cells = "".join(f"{results[s].get(row, float('nan')) * 1000:>10.1f}ms" for s in args.sizes)
        print(f"{row:<28}{cells}")
    cells = "".join(f"{results[s]['peak MiB (tracemalloc)']:>10.1f}Mi" for s in args.sizes)
    print(f"{'peak memory (tracemalloc)':<28}{cells}")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS: {maxrss:.0f} MiB")


if __name__ == "__main__":
    main()
