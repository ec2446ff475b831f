"""Active-learning strategies: which unrated images experts should rate next, and why.

Plain numpy / torch, no Django. Every strategy takes arrays over a pool of n candidate images
(scores, MC-dropout samples, class probabilities, embeddings) and returns a `Ranking`: the chosen
pool indices, best first, each with a score and a reason a researcher can read
("MC-dropout SD 0.84 (top 3%)"). Raters never see a ranking (the API serves it to researchers).

Sources:
- uncertainty by Monte Carlo dropout: Gal & Ghahramani 2016, "Dropout as a Bayesian
  approximation"; for a regressor the score's SD over T passes with dropout on;
- entropy and margin (smallest difference between the two most probable classes): Settles 2009,
  "Active learning literature survey", section 3.1;
- ensemble disagreement (query by committee): Seung, Opper & Sompolinsky 1992; vote entropy as
  in Dagan & Engelson 1995; for regressors the variance of the members' scores (Krogh & Vedelsby
  1995);
- diversity: the greedy k-center core set of Sener & Savarese 2018 ("Active learning for
  convolutional neural networks: a core-set approach", algorithm 1) on the penultimate features;
- hybrid: the top k * m most uncertain, then k-center among them (see `hybrid`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

STRATEGIES = ("random", "uncertainty", "ensemble", "diversity", "hybrid")
# Hybrid: the shortlist k-center chooses from is this many times k (Ash et al. 2020 and others
# use 5-10x; smaller leans to uncertainty, larger to diversity).
HYBRID_SHORTLIST = 5


@dataclass(frozen=True)
class RankedItem:
    index: int  # position in the pool the strategy was given
    score: float  # the strategy's own measure (SD, entropy, distance...); higher = more wanted
    reason: str


@dataclass(frozen=True)
class Ranking:
    strategy: str
    items: list[RankedItem]

    @property
    def indices(self) -> list[int]:
        return [item.index for item in self.items]


def _check_k(k: int, n: int) -> int:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return min(k, n)


def _top_share(values: np.ndarray, index: int) -> str:
    """'top 3%': the share of the pool whose value is at least this item's."""
    share = float(np.mean(values >= values[index]))
    return f"top {max(1, round(100 * share))}%"


def _rank_by(values: np.ndarray, k: int, strategy: str, label: str, fmt: str = ".3g") -> Ranking:
    """The k largest values, ties broken by pool order (a stable sort: reproducible)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or not len(values):
        raise ValueError("need a non-empty 1-D array of values")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{label}: every value must be finite")
    k = _check_k(k, len(values))
    order = np.argsort(-values, kind="stable")[:k]
    return Ranking(
        strategy,
        [
            RankedItem(
                int(i), float(values[i]), f"{label} {values[i]:{fmt}} ({_top_share(values, i)})"
            )
            for i in order
        ],
    )


# ---------------------------------------------------------------- random


def random_ranking(n: int, k: int, seed: int) -> Ranking:
    """k pool indices drawn without replacement; the same seed gives the same draw."""
    if n < 1:
        raise ValueError("the pool is empty")
    k = _check_k(k, n)
    chosen = np.random.default_rng(seed).permutation(n)[:k]
    return Ranking(
        "random",
        [
            RankedItem(int(i), 0.0, f"random draw {place + 1} of {k} (seed {seed})")
            for place, i in enumerate(chosen)
        ],
    )


# ---------------------------------------------------------------- uncertainty


def mc_dropout_sd(samples: np.ndarray) -> np.ndarray:
    """SD over T MC-dropout passes of each item's score: samples (T, n) -> (n,), ddof 1."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[0] < 2:
        raise ValueError("MC-dropout needs samples of shape (T >= 2, n)")
    return samples.std(axis=0, ddof=1)


def entropy(probabilities: np.ndarray) -> np.ndarray:
    """Shannon entropy in nats of each row of class probabilities (n, k) -> (n,)."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError("probabilities must be an (n, k) array")
    logs = np.log(np.where(p > 0, p, 1.0))  # 0 log 0 = 0
    return -(p * logs).sum(axis=1)


def margin(probabilities: np.ndarray) -> np.ndarray:
    """Top-1 minus top-2 probability of each row (n, k) -> (n,): small = uncertain."""
    p = np.sort(np.asarray(probabilities, dtype=np.float64), axis=1)
    if p.shape[1] < 2:
        raise ValueError("margin needs at least two classes")
    return p[:, -1] - p[:, -2]


def uncertainty_ranking(
    k: int,
    *,
    mc_samples: np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
    measure: str = "entropy",
) -> Ranking:
    """The k most uncertain items: MC-dropout SD (regression, `mc_samples` (T, n)), or the
    entropy / margin of the class probabilities (n, k) (classifiers; margin ranks the smallest
    first). For a classifier with dropout, pass the mean of its MC probabilities."""
    if (mc_samples is None) == (probabilities is None):
        raise ValueError("give either mc_samples (regression) or probabilities (classes)")
    if mc_samples is not None:
        return _rank_by(mc_dropout_sd(mc_samples), k, "uncertainty", "MC-dropout SD", ".2f")
    if measure == "entropy":
        return _rank_by(entropy(probabilities), k, "uncertainty", "entropy", ".2f")
    if measure == "margin":
        m = margin(probabilities)
        ranked = _rank_by(-m, k, "uncertainty", "margin")
        return Ranking(
            "uncertainty",
            [
                RankedItem(
                    item.index,
                    item.score,
                    f"margin {m[item.index]:.2f} between the two likeliest classes "
                    f"({_top_share(-m, item.index)})",
                )
                for item in ranked.items
            ],
        )
    raise ValueError(f"unknown uncertainty measure {measure!r}: entropy or margin")


# ---------------------------------------------------------------- ensemble


def vote_entropy(probabilities: np.ndarray) -> np.ndarray:
    """Entropy of the members' votes (each member's most probable class): (M, n, k) -> (n,)."""
    probabilities = np.asarray(probabilities)
    members, n, classes = probabilities.shape
    votes = probabilities.argmax(axis=2)
    counts = np.stack([(votes == c).sum(axis=0) for c in range(classes)], axis=1) / members
    return entropy(counts)


def ensemble_ranking(
    k: int, *, scores: np.ndarray | None = None, probabilities: np.ndarray | None = None
) -> Ranking:
    """Where the committee disagrees most: the variance of M members' scores (M, n), or the
    vote entropy of their class probabilities (M, n, k)."""
    if (scores is None) == (probabilities is None):
        raise ValueError("give either scores (regression) or probabilities (classes)")
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64)
        if scores.ndim != 2 or scores.shape[0] < 2:
            raise ValueError("an ensemble needs scores of shape (M >= 2, n)")
        sd = scores.std(axis=0, ddof=1)
        return _rank_by(sd, k, "ensemble", f"SD between {scores.shape[0]} models", ".2f")
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 3 or probabilities.shape[0] < 2:
        raise ValueError("an ensemble needs probabilities of shape (M >= 2, n, k)")
    label = f"vote entropy of {probabilities.shape[0]} models"
    return _rank_by(vote_entropy(probabilities), k, "ensemble", label, ".2f")


# ---------------------------------------------------------------- diversity


def k_center_greedy(
    embeddings: np.ndarray, k: int, labelled: np.ndarray | None = None
) -> tuple[list[int], list[float]]:
    """Sener & Savarese 2018, algorithm 1: repeatedly take the pool item farthest (Euclidean)
    from everything labelled or already chosen. Returns (indices, each one's distance when
    taken). Without labelled items the first pick is the item farthest from the pool's mean."""
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or not len(x):
        raise ValueError("embeddings must be a non-empty (n, d) array")
    k = _check_k(k, len(x))
    if labelled is not None and len(labelled):
        centres = np.asarray(labelled, dtype=np.float64).reshape(-1, x.shape[1])
        nearest = np.full(len(x), np.inf)
        for start in range(0, len(centres), 1024):  # bounded memory for large labelled sets
            nearest = np.minimum(nearest, _distances(x, centres[start : start + 1024]).min(axis=1))
    else:
        nearest = np.linalg.norm(x - x.mean(axis=0), axis=1)
    chosen: list[int] = []
    distances: list[float] = []
    for _ in range(k):
        i = int(np.argmax(nearest))  # first of equal maxima: reproducible
        chosen.append(i)
        distances.append(float(nearest[i]))
        nearest = np.minimum(nearest, np.linalg.norm(x - x[i], axis=1))
        nearest[i] = -np.inf  # never twice, even among duplicates
    return chosen, distances


def _distances(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    squared = (x**2).sum(1)[:, None] + (centres**2).sum(1)[None, :] - 2 * x @ centres.T
    return np.sqrt(np.clip(squared, 0.0, None))


def diversity_ranking(
    embeddings: np.ndarray, k: int, labelled: np.ndarray | None = None
) -> Ranking:
    """k-center core set on the model's embeddings: each pick covers the part of the pool
    farthest from what is already rated (`labelled` embeddings) or chosen."""
    chosen, distances = k_center_greedy(embeddings, k, labelled)
    scale = _typical_spacing(embeddings)
    return Ranking(
        "diversity",
        [
            RankedItem(
                i, d, f"feature distance {d:.3g} to the nearest rated or chosen image "
                f"({d / scale:.1f}x the typical spacing; pick {place + 1} of {len(chosen)})",
            )
            for place, (i, d) in enumerate(zip(chosen, distances, strict=True))
        ],
    )  # fmt: skip


def _typical_spacing(embeddings: np.ndarray) -> float:
    """Median nearest-neighbour distance in (up to 500 of) the pool, to put a distance in scale."""
    x = np.asarray(embeddings, dtype=np.float64)[:500]
    if len(x) < 2:
        return 1.0
    d = _distances(x, x)
    np.fill_diagonal(d, np.inf)
    spacing = float(np.median(d.min(axis=1)))
    return spacing if spacing > 0 else 1.0


# ---------------------------------------------------------------- hybrid


def hybrid_ranking(
    uncertainty: np.ndarray,
    embeddings: np.ndarray,
    k: int,
    labelled: np.ndarray | None = None,
    shortlist: int = HYBRID_SHORTLIST,
    label: str = "MC-dropout SD",
) -> Ranking:
    """Uncertainty-weighted diversity: shortlist the `shortlist * k` most uncertain items, then
    choose k of them by greedy k-center.

    Why this and not BADGE (Ash et al. 2020, k-means++ on gradient embeddings): BADGE's
    gradient embedding is defined for a softmax classifier's loss at its own predicted label;
    our main target is a regression on the MOS, where the MC-dropout SD is the natural
    uncertainty. The two-stage rule (as in Zhdanov 2019, "Diverse mini-batch active learning")
    works for both targets, and stops the pure top-k from spending a batch on near-duplicates
    (k images of the same badly exposed kind that one rating would already have taught).
    """
    u = np.asarray(uncertainty, dtype=np.float64)
    x = np.asarray(embeddings, dtype=np.float64)
    if len(u) != len(x):
        raise ValueError(f"{len(u)} uncertainties but {len(x)} embeddings")
    k = _check_k(k, len(u))
    m = min(len(u), max(k, shortlist * k))
    short = np.argsort(-u, kind="stable")[:m]
    chosen, distances = k_center_greedy(x[short], k, labelled)
    return Ranking(
        "hybrid",
        [
            RankedItem(
                int(short[j]), float(u[short[j]]),
                f"{label} {u[short[j]]:.2f} ({_top_share(u, short[j])}); among the {m} most "
                f"uncertain, feature distance {d:.3g} to the nearest rated or chosen image",
            )
            for j, d in zip(chosen, distances, strict=True)
        ],
    )  # fmt: skip


# ---------------------------------------------------------------- running a model over a pool


def _dropouts(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, nn.Dropout) and m.p > 0]


def has_dropout(model: nn.Module) -> bool:
    return bool(_dropouts(model))


@torch.inference_mode()
def mc_dropout_passes(
    model: nn.Module,
    batches: Iterable[torch.Tensor],
    passes: int,
    seed: int = 0,
    trunk: Callable[[torch.Tensor], Any] | None = None,
) -> np.ndarray:
    """Scores of T passes with dropout sampling and everything else in eval mode (batch norm
    keeps its running statistics): (T, n) for a regressor, (T, n, k) probabilities else.

    `batches` is any iterable of (N, C, H, W) tensors. Where all the dropout sits in the net's
    head (ConvNet-4, CaHDC-RGA: `inference.nets.dropout_split`), the deterministic trunk runs
    once per batch and the head T times on its features: the same distribution of passes at
    about 1/T of the cost. Otherwise each batch runs its T passes at once (the batch repeated
    T times), which keeps the CPU's cores busy on small batches. `trunk` replaces the net's
    own trunk by an equal, faster one (`inference.fast.fast_convnet4_trunk`).
    """
    from inference.nets import dropout_split
    from inference.training.engine import outputs

    dropouts = _dropouts(model)
    if not dropouts:
        raise ValueError("the model has no dropout: MC-dropout needs dropout > 0")
    model.eval()
    for module in dropouts:
        module.train()
    generator_state = torch.get_rng_state()
    torch.manual_seed(seed)
    chunks = []
    try:
        split = dropout_split(model)
        for x in batches:
            if split is not None:
                own_trunk, head = split
                features = (trunk or own_trunk)(x)
                out = torch.stack([head(features) for _ in range(passes)])
            else:
                out = outputs(model, x.repeat(passes, *([1] * (x.dim() - 1))))
                out = out.reshape(passes, len(x), *out.shape[1:])
            chunks.append(out if out.dim() == 2 else out.softmax(dim=-1))
    finally:
        for module in dropouts:
            module.eval()
        torch.set_rng_state(generator_state)
    return torch.cat(chunks, dim=1).numpy()
