"""Seconds per image for CaHDC-RGA's forward pass, per inference form (inference/fast.py).

Usage: .venv/bin/python bench/infer_cahdc.py [--size 768x512] [--threads 2] [--runs 7]
       [--variants eager channels-last compile onnxruntime] [--stages] [--stem-stride-2]

One line per variant: median and best wall time of --runs calls after two warm-up calls, the
median CPU time of all threads (less sensitive than wall time to other processes on the cores),
the build time (export / compile), and the largest score difference from the first variant.
--stages prints where a forward spends its time, with each stage's multiply-accumulates;
--stem-stride-2 adds the design change that is not the paper's (first conv of stride 2).
Batch 1, random weights and a random image: speed does not depend on either.
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inference.fast import VARIANTS, fast_cahdc  # noqa: E402
from inference.nets.cahdc_rga import CaHDCRGA, attention_pyramid  # noqa: E402


def timed(fn, x, runs: int, cpu: list[float] | None = None) -> list[float]:
    """Wall seconds of ``runs`` calls after two warm-up calls; CPU seconds appended to ``cpu``."""
    fn(x)
    fn(x)
    times = []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn(x)
        times.append(time.perf_counter() - start)
        if cpu is not None:
            cpu.append(time.process_time() - start_cpu)
    return times


def bench_variants(model_args: dict, x: torch.Tensor, variants, runs: int, label: str = "") -> None:
    reference = None
    for variant in variants:
        torch.manual_seed(0)
        model = CaHDCRGA(**model_args)
        start = time.perf_counter()
        scorer = fast_cahdc(model, variant)
        scorer(x)  # compile / session creation happen on first use for some forms
        build = time.perf_counter() - start
        cpu: list[float] = []
        times = timed(scorer, x, runs, cpu)
        score = scorer(x).score
        reference = score if reference is None else reference
        print(
            f"CaHDC-RGA {label}{variant:14s} {statistics.median(times):6.3f} s/image median, "
            f"{min(times):6.3f} best, CPU {statistics.median(cpu):6.3f} s, build {build:5.1f} s, "
            f"|score - first| = {(score - reference).abs().max().item():.2e}",
            flush=True,
        )


def count_macs(module: nn.Module, x: torch.Tensor) -> float:
    """Multiply-accumulates of the convolutions and linear layers in one forward of ``module``."""
    total = 0

    def hook(layer, _inputs, output):
        nonlocal total
        if isinstance(layer, nn.ConvTranspose2d):
            # Weights are (in, out, kh, kw): each input value meets out * kh * kw of them.
            total += _inputs[0].numel() * layer.weight[0].numel()
        elif isinstance(layer, nn.Conv2d):
            total += output.numel() * layer.weight[0].numel()
        elif isinstance(layer, nn.Linear):
            total += output.numel() * layer.in_features

    handles = [
        m.register_forward_hook(hook)
        for m in module.modules()
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear)
    ]
    with torch.inference_mode():
        module(x)
    for h in handles:
        h.remove()
    return total


def stages(model: CaHDCRGA, x: torch.Tensor, runs: int, channels_last: bool) -> None:
    """Time each stage of the forward pass alone (median of ``runs``), with its MACs."""
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        features = model.extractor(x)
        attention = model.unet(features)
        levels = model.hcnet(features)
        maps = attention_pyramid(attention, len(levels))
        weighted = [level * w for level, w in zip(levels, maps, strict=True)]
        vectors = [sip(w) for sip, w in zip(model.sipnets, weighted, strict=True)]
        parts = {
            "extractor (5 convs, 32 ch, full res)": (model.extractor, x),
            "U-Net attention": (model.unet, features),
            "HCNet (4 levels)": (model.hcnet, features),
            "attention pyramid + products": (
                lambda a: [lv * m for lv, m in zip(levels, attention_pyramid(a, 4), strict=True)],
                attention,
            ),
        }
        for i, (sip, w) in enumerate(zip(model.sipnets, weighted, strict=True), 1):
            parts[f"SiPNet{i} (R={len(sip.down)})"] = (sip, w)
        parts["RegNet"] = (model.regnet, vectors)
        total = 0.0
        print(f"stages ({'channels-last' if channels_last else 'eager NCHW'}):")
        for name, (fn, arg) in parts.items():
            median = statistics.median(timed(fn, arg, runs))
            macs = count_macs(fn, arg) if isinstance(fn, nn.Module) else 0
            total += median
            print(f"  {name:38s} {median:6.3f} s  {macs / 1e9:5.2f} GMAC")
        print(f"  {'sum':38s} {total:6.3f} s  {count_macs(model, x) / 1e9:5.2f} GMAC")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="768x512", help="rows x columns (the paper's 768x512)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--stages", action="store_true")
    parser.add_argument("--stem-stride-2", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    height, width = (int(v) for v in args.size.lower().split("x"))
    x = torch.rand(1, 1, height, width, generator=torch.Generator().manual_seed(0))
    print(f"torch {torch.__version__}, {args.threads} threads, input 1x1x{height}x{width}")
    args_paper = {"input_min_side": min(height, width)}
    bench_variants(args_paper, x, args.variants, args.runs)
    if args.stem_stride_2:
        bench_variants({**args_paper, "stem_stride": 2}, x, args.variants, args.runs, "stem/2 ")
    if args.stages:
        torch.manual_seed(0)
        stages(CaHDCRGA(**args_paper).eval(), x, args.runs, channels_last=False)
        torch.manual_seed(0)
        stages(CaHDCRGA(**args_paper).eval(), x, args.runs, channels_last=True)


if __name__ == "__main__":
    main()
