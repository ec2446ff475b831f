"""Benchmark: an MC-dropout active-learning query (T = 10 passes) over a 10,000-image pool.

ConvNet-4 regressor with dropout 0.3 at 256 x 256, on the CPU with 2 threads; the pixels are
synthetic tensors made in memory (a bank of distinct images cycled through the pool, so the
pool does not take 2.6 GB), fed in batches
(inference.active.strategies.mc_dropout_passes: the dropout-free trunk once per image, by ONNX
Runtime, and the dropout + head T times), then the pool is ranked by MC-dropout SD.
Decoding DICOM is not timed here (bench/infer.py measures it). The last line is the figure.

    python bench/query.py [--pool 10000] [--size 256] [--passes 10] [--batch 32] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

from _models import ROOT  # noqa: F401  (puts the project on sys.path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--passes", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--arch", default="convnet4", choices=["convnet4", "cahdc-rga"])
    parser.add_argument("--runtime", default="onnxruntime", choices=["onnxruntime", "eager"])
    args = parser.parse_args()

    import torch

    from inference.active.strategies import mc_dropout_passes, uncertainty_ranking
    from inference.fast import fast_convnet4_trunk
    from inference.nets import build_model

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    options = {"dropout": 0.3}
    if args.arch == "convnet4":
        options["input_size"] = (args.size, args.size)
    model = build_model(args.arch, 1, **options).eval()
    bank = torch.rand(8 * args.batch, 1, args.size, args.size)

    def batches():
        for start in range(0, args.pool, args.batch):
            n = min(args.batch, args.pool - start)
            offset = start % len(bank)
            x = bank[offset : offset + n]
            yield x if len(x) == n else torch.cat([x, bank[: n - len(x)]])

    trunk = None
    if args.arch == "convnet4" and args.runtime == "onnxruntime":
        trunk = fast_convnet4_trunk(model, args.threads)  # (export: ~1 s, not timed)
    mc_dropout_passes(model, [bank[: args.batch]], args.passes, trunk=trunk)  # warm-up
    started = time.perf_counter()
    samples = mc_dropout_passes(model, batches(), args.passes, seed=1, trunk=trunk)
    passes_s = time.perf_counter() - started
    ranking = uncertainty_ranking(50, mc_samples=samples)
    total = time.perf_counter() - started
    assert samples.shape == (args.passes, args.pool)
    print(f"passes {passes_s:.1f} s, ranking {total - passes_s:.2f} s; top item: "
          f"{ranking.items[0].reason}")  # fmt: skip
    print(
        f"MC-dropout query, {args.arch} ({args.runtime if trunk else 'eager'} trunk once, "
        f"head T times) {args.size}x{args.size}, T={args.passes}, "
        f"pool {args.pool}, {args.threads} threads: {total:.1f} s "
        f"({1000 * total / args.pool:.2f} ms per image)"
    )


if __name__ == "__main__":
    main()
