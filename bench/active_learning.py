"""Simulation: does asking the model which images to rate next save expert ratings?

On the demo's synthetic chest radiographs (known gray-level truth, demo/synthetic), at a small
input size (32 x 48, ConvNet-4 regressor with dropout 0.3), each strategy starts from the same
labelled seed set; each round it queries k pool images, simulated raters answer (the demo's
panel: truth + shared image effect + rater bias + noise, rounded to 1..10; each queried image is
read by RATERS_PER_IMAGE raters of the panel, its label is their mean), the model is trained
afresh on everything labelled, and its agreement (Pearson r, ICC(A,1)) with the full panel's MOS
is measured on a fixed test set. Curves: agreement against expert ratings spent, mean and
spread over seeds. Writes docs/active-learning-results.md (tables), docs/active-learning.json
(curves) and docs/active-learning.svg; docs/active-learning.md discusses them.

    python bench/active_learning.py [--seeds 3] [--rounds 7] [--k 10] [--jobs 2] [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from demo.synthetic.degrade import degrade_random_chest  # noqa: E402
from demo.synthetic.phantoms import chest_phantom, random_chest_anatomy  # noqa: E402
from demo.synthetic.raters import GRAY_LEVEL, simulate_chest_ratings  # noqa: E402
from inference.active import strategies as al  # noqa: E402
from inference.nets import build_model, embed  # noqa: E402
from ratings.stats.icc import icc  # noqa: E402

WIDTH, HEIGHT = 32, 48  # width x height: a radiograph is taller than wide
RATERS_PER_IMAGE = 3
DROPOUT = 0.3
MC_PASSES = 10
ENSEMBLE = 3
STEPS = 120  # gradient steps per training, whatever the labelled set's size
BATCH = 16
STRATEGIES = ("random", "uncertainty", "ensemble", "diversity", "hybrid")


@dataclass
class Data:
    images: torch.Tensor  # (n, 1, H, W) display values in [0, 1]
    truth: np.ndarray  # the known gray-level quality
    mos_full: np.ndarray  # the whole panel's mean
    mos_few: np.ndarray  # the mean of RATERS_PER_IMAGE raters: what a query buys


def make_data(n: int, seed: int = 2024) -> Data:
    images, truths = [], {}
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        clean = chest_phantom(random_chest_anatomy(rng), (HEIGHT, WIDTH))
        display, _, truth = degrade_random_chest(clean, rng)
        images.append(display)
        truths[f"img{i:05d}"] = truth
    records = simulate_chest_ratings(truths, seed=seed)
    scores: dict[str, dict[str, int]] = {key: {} for key in truths}
    for record in records:
        scores[record.image_key][record.rater_key] = int(record.values[GRAY_LEVEL])
    full, few = [], []
    for key in truths:
        given = scores[key]
        full.append(np.mean(list(given.values())))
        # Which raters read a queried image: a fixed hash order of the panel, as a worklist
        # would hand it to whoever comes first.
        order = sorted(given, key=lambda r: zlib.crc32(f"{key}:{r}".encode()))
        few.append(np.mean([given[r] for r in order[:RATERS_PER_IMAGE]]))
    return Data(
        images=torch.from_numpy(np.stack(images)[:, None].astype(np.float32)),
        truth=np.array([t.gray_level for t in truths.values()]),
        mos_full=np.array(full),
        mos_few=np.array(few),
    )


def train(x: torch.Tensor, y: np.ndarray, seed: int) -> torch.nn.Module:
    """ConvNet-4 regressor trained afresh: STEPS Adam steps on standardised targets."""
    torch.manual_seed(seed)
    model = build_model("convnet4", 1, input_size=(WIDTH, HEIGHT), dropout=DROPOUT)
    target = torch.tensor((y - 5.5) / 2.0, dtype=torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(STEPS):
        index = torch.randint(len(x), (min(BATCH, len(x)),), generator=generator)
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(x[index])[:, 0], target[index])
        loss.backward()
        optimizer.step()
    return model.eval()


@torch.inference_mode()
def predict(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    return np.concatenate([model(b)[:, 0].numpy() for b in x.split(256)]) * 2.0 + 5.5


@torch.inference_mode()
def features(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    return np.concatenate([embed(model, b).numpy() for b in x.split(256)])


def agreement(prediction: np.ndarray, mos: np.ndarray) -> tuple[float, float]:
    r = float(np.corrcoef(prediction, mos)[0, 1])
    a1 = icc(np.column_stack([prediction, mos]))["ICC2"]["value"]
    return r, float(a1)


def query(
    strategy: str, model, data: Data, pool: list[int], labelled: list[int], k: int, seed: int
) -> list[int]:
    x = data.images[pool]
    if strategy == "random":
        ranking = al.random_ranking(len(pool), k, seed)
    elif strategy == "uncertainty":
        samples = al.mc_dropout_passes(model, x.split(128), MC_PASSES, seed=seed)
        ranking = al.uncertainty_ranking(k, mc_samples=samples)
    elif strategy == "ensemble":
        y = data.mos_few[labelled]
        members = [model] + [
            train(data.images[labelled], y, seed * 1000 + len(labelled) * 10 + m)
            for m in range(1, ENSEMBLE)
        ]
        ranking = al.ensemble_ranking(k, scores=np.stack([predict(m, x) for m in members]))
    elif strategy == "diversity":
        ranking = al.diversity_ranking(
            features(model, x), k, features(model, data.images[labelled])
        )
    elif strategy == "hybrid":
        samples = al.mc_dropout_passes(model, x.split(128), MC_PASSES, seed=seed)
        ranking = al.hybrid_ranking(
            al.mc_dropout_sd(samples), features(model, x), k,
            features(model, data.images[labelled]),
        )  # fmt: skip
    else:
        raise ValueError(strategy)
    return [pool[i] for i in ranking.indices]


def run(data: Data, test: list[int], candidates: list[int], strategy: str, seed: int,
        n_seed: int, k: int, rounds: int) -> list[tuple[int, float, float]]:  # fmt: skip
    rng = np.random.default_rng(seed)
    labelled = [int(i) for i in rng.choice(candidates, n_seed, replace=False)]
    curve = []
    for round_ in range(rounds + 1):
        model = train(data.images[labelled], data.mos_few[labelled], seed * 1000 + len(labelled))
        r, a1 = agreement(predict(model, data.images[test]), data.mos_full[test])
        curve.append((len(labelled) * RATERS_PER_IMAGE, r, a1))
        if round_ == rounds:
            break
        taken = set(labelled)
        pool = [i for i in candidates if i not in taken]
        labelled += query(strategy, model, data, pool, labelled, k, seed * 100 + round_)
    return curve


_SETTINGS: tuple = ()


def _init(settings: tuple) -> None:
    global _SETTINGS
    _SETTINGS = settings
    torch.set_num_threads(settings[-1])


def _task(task: tuple[str, int]) -> list[tuple[int, float, float]]:
    strategy, seed = task
    data, test, candidates, n_seed, k, rounds, _ = _SETTINGS
    started = time.monotonic()
    curve = run(data, test, candidates, strategy, seed, n_seed, k, rounds)
    print(f"{strategy} seed {seed}: r {[round(c[1], 3) for c in curve]} "
          f"({time.monotonic() - started:.0f} s)", flush=True)  # fmt: skip
    return curve


def ratings_to_reach(budgets: np.ndarray, curve: np.ndarray, level: float) -> float | None:
    """The first budget where the mean curve reaches `level`, linearly interpolated."""
    for j in range(len(curve)):
        if curve[j] >= level:
            if j == 0:
                return float(budgets[0])
            b0, b1, c0, c1 = budgets[j - 1], budgets[j], curve[j - 1], curve[j]
            return float(b0 + (level - c0) / (c1 - c0) * (b1 - b0))
    return None


def figure(budgets, results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for strategy, curves in results.items():
        for ax, column, name in ((axes[0], 1, "Pearson r"), (axes[1], 2, "ICC(A,1)")):
            values = curves[:, :, column]
            mean, sd = values.mean(0), values.std(0, ddof=1) if len(values) > 1 else 0 * values[0]
            ax.plot(budgets, mean, marker="o", ms=3, label=strategy)
            ax.fill_between(budgets, mean - sd, mean + sd, alpha=0.15)
            ax.set_xlabel("expert ratings spent")
            ax.set_ylabel(f"{name}, model vs full-panel MOS (test)")
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle("Active learning on the synthetic chest data (mean +/- SD over seeds)")
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    path.write_text(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed-set", type=int, default=10)
    parser.add_argument("--pool", type=int, default=400)
    parser.add_argument("--test", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--jobs", type=int, default=2, help="processes")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--quick", action="store_true", help="1 seed, 2 rounds: a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.rounds, args.pool, args.test = 1, 2, 120, 60
    torch.set_num_threads(args.threads)
    started = time.monotonic()
    data = make_data(args.pool + args.test)
    test = list(range(args.pool, args.pool + args.test))
    candidates = list(range(args.pool))
    print(f"data: {len(data.truth)} images in {time.monotonic() - started:.0f} s; panel MOS vs "
          f"truth r = {np.corrcoef(data.mos_full, data.truth)[0, 1]:.3f}", flush=True)  # fmt: skip
    tasks = [(strategy, seed + 1) for seed in range(args.seeds) for strategy in STRATEGIES]
    settings = (data, test, candidates, args.seed_set, args.k, args.rounds, args.threads)
    # One process per (strategy, seed), each on `threads` threads: on a shared machine two
    # single-threaded processes keep two cores busier than one process on two threads.
    with multiprocessing.get_context("fork").Pool(
        args.jobs, initializer=_init, initargs=(settings,)
    ) as pool:
        done = pool.map(_task, tasks, chunksize=1)
    results = {
        strategy: np.array(
            [curve for (s, _), curve in zip(tasks, done, strict=True) if s == strategy]
        )
        for strategy in STRATEGIES
    }
    budgets = results["random"][0, :, 0]
    # Ceiling: the same model trained on every pool image with the same few raters' labels.
    ceiling = [agreement(predict(train(data.images[candidates], data.mos_few[candidates], s),
                                 data.images[test]), data.mos_full[test])
               for s in range(1, args.seeds + 1)]  # fmt: skip
    elapsed = time.monotonic() - started
    args.out.mkdir(parents=True, exist_ok=True)
    figure(budgets, results, args.out / "active-learning.svg")
    summary = write_table(budgets, results, ceiling, args, elapsed)
    (args.out / "active-learning-results.md").write_text(summary)
    (args.out / "active-learning.json").write_text(json.dumps(
        {"budgets": budgets.tolist(), "curves": {s: c.tolist() for s, c in results.items()},
         "ceiling": ceiling, "seconds": round(elapsed)}, indent=1))  # fmt: skip
    print(summary)
    print(f"simulation took {elapsed:.0f} s")


def write_table(budgets, results, ceiling, args, elapsed) -> str:
    random_final = results["random"][:, -1, 1].mean()
    lines = [
        "| strategy | " + " | ".join(f"{int(b)}" for b in budgets) + " | ratings to reach "
        f"random's final r ({random_final:.3f}) |",
        "|---|" + "---|" * len(budgets) + "---|",
    ]
    for strategy, curves in results.items():
        r = curves[:, :, 1]
        mean, sd = r.mean(0), r.std(0, ddof=1) if len(r) > 1 else 0 * r[0]
        cells = [f"{m:.3f} ± {s:.3f}" for m, s in zip(mean, sd, strict=True)]
        reach = ratings_to_reach(budgets, mean, random_final)
        need = f"{reach:.0f}" if reach is not None else "not reached"
        lines.append(f"| {strategy} | " + " | ".join(cells) + f" | {need} |")
    icc_lines = [
        "| strategy | " + " | ".join(f"{int(b)}" for b in budgets) + " |",
        "|---|" + "---|" * len(budgets),
    ]
    for strategy, curves in results.items():
        a = curves[:, :, 2]
        icc_lines.append(f"| {strategy} | " + " | ".join(f"{v:.3f}" for v in a.mean(0)) + " |")
    # Over the whole curve (60 ratings on): each seed's mean r, and its difference from random's
    # on the same seed (same seed set, same test set: a paired comparison).
    base = results["random"][:, 1:, 1].mean(1)
    whole = ["| strategy | mean r over the curve (SD over seeds) | minus random's, paired (SE) |",
             "|---|---|---|"]  # fmt: skip
    for strategy, curves in results.items():
        level = curves[:, 1:, 1].mean(1)
        diff = level - base
        se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
        spread = level.std(ddof=1) if len(level) > 1 else 0.0
        whole.append(f"| {strategy} | {level.mean():.3f} ({spread:.3f}) "
                     f"| {diff.mean():+.3f} ({se:.3f}) |")  # fmt: skip
    ceiling_r = np.mean([c[0] for c in ceiling])
    return (
        "\n".join(lines)
        + "\n\n"
        + "\n".join(whole)
        + "\n\nICC(A,1) of model and full-panel MOS (mean over seeds):\n\n"
        + "\n".join(icc_lines)
        + f"\n\nCeiling (all {args.pool} pool images labelled, {args.pool * RATERS_PER_IMAGE} "
        f"ratings): r = {ceiling_r:.3f}. Seeds: {args.seeds}; k = {args.k} per round; seed set "
        f"{args.seed_set} images; pool {args.pool}; test {args.test}; {elapsed / 60:.1f} min.\n"
    )


if __name__ == "__main__":
    main()
