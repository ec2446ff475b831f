"""Benchmark: seconds to make one saliency heatmap of a 768x512 radiograph, per network.

Decode + preprocessing + the method (Grad-CAM: a forward and a backward pass; CaHDC-RGA: one
forward pass for its attention) + laying the map back on the image grid + the PNG, at each
paper's input size, with untrained weights (the cost does not depend on them).

    python bench/saliency.py [--repeats 5] [--threads 2]

Prints one line per network; the viewer's endpoint pays this once per version and image (the
PNG is cached on disk afterwards).
"""

from __future__ import annotations

import argparse
import statistics
import time

from _models import NETWORKS, synthetic_radiograph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    from inference.nets import DEFAULT_INPUT_SIZE, build_model
    from inference.preprocess import PreprocessConfig, decode, prepare
    from inference.saliency import heatmap_png, saliency_map, to_image_grid

    torch.set_num_threads(args.threads)
    path = synthetic_radiograph()
    for name, arch, n_outputs in NETWORKS:
        width, height = DEFAULT_INPUT_SIZE[arch]
        options = {"input_size": (width, height)} if arch == "convnet4" else {}
        model = build_model(arch, n_outputs, **options).eval()
        config = PreprocessConfig(width=width, height=height)

        def step(model=model, arch=arch, config=config) -> None:
            pixels = decode(path)
            cam = saliency_map(model, arch, prepare(pixels, config)[None])
            heatmap_png(to_image_grid(cam, *pixels.shape, config), *pixels.shape)

        step()  # warm-up (MONAI's import, oneDNN's kernels)
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            step()
            seconds.append(time.perf_counter() - start)
        print(
            f"{name}: saliency of a 768x512 radiograph at {width}x{height}: "
            f"median {statistics.median(seconds):.3f} s, max {max(seconds):.3f} s "
            f"({args.repeats} runs, {args.threads} threads)"
        )


if __name__ == "__main__":
    main()
