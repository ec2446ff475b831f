"""Benchmark: training images per second for each architecture, on the CPU.

One training step = the one preprocessing from DICOM (augmentation on) for a batch, forward,
loss, backward and an Adam step, at each paper's input size:
- CaHDC-RGA: 768x512 radiographs, random 384x256 patches (inference/patches.py), the
  low-score-weighted loss with its auxiliary terms (inference/losses.py), the paper's Adam;
- ConvNet-4 and ResNet-10: 512x512, 3-class cross-entropy, Adam at 1e-3 (the MRI paper);
- IQM: decode + preprocessing + the 13 metrics per image (fitting the OLS itself takes ~1 ms).
The line also gives the step alone (tensors already in memory), the rate a loader running in
parallel would allow.

    python bench/train.py [--batch 8] [--steps 4] [--threads 2] [--only ConvNet-4 ...]
"""

from __future__ import annotations

import argparse
import statistics
import time

from _models import IQM_INPUT_SIZE, NETWORKS, synthetic_radiograph


def _files(n: int):
    folder = synthetic_radiograph().parent
    return [synthetic_radiograph(folder, seed) for seed in range(n)]


def _network(arch: str, n_outputs: int, files, batch: int):
    import numpy as np
    import torch

    from inference.nets import DEFAULT_INPUT_SIZE, build_model
    from inference.preprocess import Augment, PreprocessConfig, load_batch

    width, height = DEFAULT_INPUT_SIZE[arch]
    augment = Augment(flip=True, rotate_deg=5.0, intensity=0.05)
    config = PreprocessConfig(width, height, augment=augment)
    model = build_model(arch, n_outputs).train()
    rng = np.random.default_rng(0)
    targets = torch.linspace(2.0, 9.0, batch) if n_outputs == 1 else torch.arange(batch) % 3
    if arch == "cahdc-rga":
        from inference.losses import cahdc_loss
        from inference.patches import random_patches
        from inference.schedule import make_optimizer

        optimizer = make_optimizer(model.parameters())
        generator = torch.Generator().manual_seed(0)

        def loss_of(x):
            patches, index = random_patches(x, generator=generator)
            out = model(patches)
            return cahdc_loss(out.score, out.side_scores, targets[index])

    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        criterion = torch.nn.CrossEntropyLoss()

        def loss_of(x):
            return criterion(model(x), targets)

    def step(x):
        optimizer.zero_grad(set_to_none=True)
        loss_of(x).backward()
        optimizer.step()

    def load():
        return load_batch([files[i % len(files)] for i in range(batch)], config, rng)

    return load, step, f"{width}x{height}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="line names to run (default: all)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    files = _files(4)
    for name, arch, n_outputs in NETWORKS:
        if args.only and name not in args.only:
            continue
        load, step, size = _network(arch, n_outputs, files, args.batch)
        step(load())  # warm-up: first-call allocations and oneDNN kernel choice
        loads, steps, cpu = [], [], []
        for _ in range(args.steps):
            start, start_cpu = time.perf_counter(), time.process_time()
            x = load()
            loads.append(time.perf_counter() - start)
            start = time.perf_counter()
            step(x)
            steps.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        per_load, per_step = statistics.median(loads), statistics.median(steps)
        cpu_per_image = statistics.median(cpu) / args.batch
        # CPU seconds (all threads) per image: what the work costs when a shared machine
        # leaves the process waiting for a core most of the wall time.
        print(
            f"{name:<10} {args.batch / (per_load + per_step):7.2f} images/s"
            f"  (step alone {args.batch / per_step:.2f}; CPU {cpu_per_image:.3f}"
            f" s/image; batch {args.batch}, {size}, median of {args.steps} steps,"
            f" {args.threads} threads)",
            flush=True,
        )
    if not args.only or "IQM" in args.only:
        _iqm(files, args)


def _iqm(files, args) -> None:
    from inference import iqm
    from inference.preprocess import PreprocessConfig, decode, prepare

    config = PreprocessConfig(*IQM_INPUT_SIZE)
    n = args.batch * args.steps
    iqm.metric_vector(prepare(decode(files[0]), config)[0].numpy())
    start = time.perf_counter()
    for i in range(n):
        iqm.metric_vector(prepare(decode(files[i % len(files)]), config)[0].numpy())
    seconds = time.perf_counter() - start
    print(
        f"{'IQM':<10} {n / seconds:7.2f} images/s  (metrics of {n} images,"
        f" {config.width}x{config.height}; the OLS fit is ~1 ms in all)",
        flush=True,
    )


if __name__ == "__main__":
    main()
