"""Benchmark: inference seconds per image, DICOM decode + preprocessing + forward, batch 1.

Each model reads the same synthetic 768x512 radiograph from disk, preprocesses it to its
paper's input size with the one preprocessing (inference/preprocess.py) and scores it.
IQM: decode + preprocessing + the 13 metrics + the linear model.

    python bench/infer.py [--repeats 10] [--threads 2] [--only CaHDC-RGA ...]

Prints one line per model, named CaHDC-RGA, ConvNet-4, ResNet-10, IQM.
Targets (issue 9, 2 cores): CaHDC-RGA at 768x512 <= 0.5 s, ConvNet-4 at 512x512 <= 30 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from _models import IQM_INPUT_SIZE, NETWORKS, synthetic_radiograph

TARGETS = {"CaHDC-RGA": 0.5, "ConvNet-4": 0.030}


def _time(step: Callable[[], float], repeats: int, warmup: int = 2) -> tuple[list, list, list]:
    """Wall seconds, the step's own split and CPU seconds (all threads) of each of `repeats`
    calls after `warmup`. On a shared machine the CPU time shows what the work costs when the
    wall time is mostly waiting for a core."""
    for _ in range(warmup):
        step()
    totals, splits, cpu = [], [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        splits.append(step())
        totals.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return totals, splits, cpu


def _network(arch: str, n_outputs: int, path, name: str):
    import torch

    from inference.nets import DEFAULT_INPUT_SIZE, build_model, for_inference
    from inference.preprocess import PreprocessConfig, load_one

    width, height = DEFAULT_INPUT_SIZE[arch]
    config = PreprocessConfig(width, height)
    model = build_model(arch, n_outputs).eval()
    if arch == "cahdc-rga":
        forward, how = _cahdc_forward(model, config)
    else:
        forward, how = for_inference(model), "channels-last"

    def step() -> float:
        start = time.perf_counter()
        x = load_one(path, config)
        prepared = time.perf_counter() - start
        with torch.inference_mode():
            forward(x)
        return prepared

    return step, f"{width}x{height} {how}"


def _cahdc_forward(model, config):
    """models-a's fast inference path when it is there (inference/fast.py), else eager."""
    try:
        from inference.fast import DEFAULT_VARIANT, fast_cahdc
    except ImportError:
        return model, "eager"
    return fast_cahdc(model, DEFAULT_VARIANT), f"inference.fast {DEFAULT_VARIANT}"


def _iqm(path):
    import numpy as np

    from inference import iqm
    from inference.iqm_regression import fit_iqm_regression
    from inference.preprocess import PreprocessConfig, decode, prepare

    config = PreprocessConfig(*IQM_INPUT_SIZE)
    # A model fitted on jittered copies of this image's metrics: the coefficients do not
    # matter for speed, only that every dimension and the overall level are evaluated.
    base = iqm.metric_vector(prepare(decode(path), config)[0].numpy())
    rng = np.random.default_rng(0)
    table = base * (1 + 0.1 * rng.standard_normal((60, base.size)))
    model = fit_iqm_regression(
        table,
        iqm.METRIC_NAMES,
        {"gray_level": rng.uniform(1, 10, 60), "sharpness": rng.uniform(1, 10, 60)},
        overall_mos=rng.uniform(1, 10, 60),
    )

    def step() -> float:
        start = time.perf_counter()
        x = prepare(decode(path), config)[0].numpy()
        prepared = time.perf_counter() - start
        model.predict(iqm.metric_vector(x)[None])
        return prepared

    return step, f"{config.width}x{config.height} numpy"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="line names to run (default: all)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    path = synthetic_radiograph()
    runs = [
        (name, lambda a=arch, n=k, m=name: _network(a, n, path, m)) for name, arch, k in NETWORKS
    ]
    runs.append(("IQM", lambda: _iqm(path)))
    for name, make in runs:
        if args.only and name not in args.only:
            continue
        step, how = make()
        totals, splits, cpu = _time(step, args.repeats)
        median = statistics.median(totals)
        prepared = statistics.median(splits)
        target = TARGETS.get(name)
        verdict = (
            f"  target <= {target:g} s: {'met' if median <= target else 'MISSED'}" if target else ""
        )
        print(
            f"{name:<10} {median:8.4f} s/image  (median of {args.repeats}, min {min(totals):.4f};"
            f" decode+preprocess {prepared:.4f} s; CPU {statistics.median(cpu):.4f} s;"
            f" {how}; {args.threads} threads){verdict}",
            flush=True,
        )


if __name__ == "__main__":
    main()
