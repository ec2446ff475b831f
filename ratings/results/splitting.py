"""Patient-grouped, stratified train / validation / test assignment: plain numpy, no Django."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

SUBSETS = ("train", "val", "test")


class SplitError(ValueError):
    """Split parameters that cannot work; the message is shown to the user."""


def normalise_ratios(ratios: Sequence[float]) -> tuple[float, float, float]:
    """Three non-negative shares (e.g. 0.7/0.15/0.15 or 70/15/15) scaled to sum to 1."""
    if len(ratios) != 3:
        raise SplitError("give three ratios: train, validation, test")
    values = [float(r) for r in ratios]
    if any(not np.isfinite(v) or v < 0 for v in values) or sum(values) <= 0:
        raise SplitError(f"ratios must be non-negative and not all zero, got {ratios}")
    total = sum(values)
    return tuple(v / total for v in values)  # type: ignore[return-value]


def assign_subsets(
    groups: Sequence[str],
    strata: Sequence[str],
    ratios: Sequence[float],
    seed: int,
) -> list[str]:
    """The subset of each image, whole groups (patients) at a time.

    Each group takes the stratum most of its images have (ties: the first in sorted order).
    Within a stratum the groups are shuffled by ``seed``, placed largest first, each into the
    subset furthest below its share of that stratum's images - so every subset gets about its
    ratio of every stratum, and no group is ever split. The same inputs and seed always give
    the same answer, whatever order the images come in.
    """
    if len(groups) != len(strata):
        raise SplitError("one stratum per image is needed")
    shares = np.array(normalise_ratios(ratios))
    members: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(str(group), []).append(index)
    stratum_of: dict[str, list[str]] = {}
    for group in sorted(members):
        counts = Counter(str(strata[i]) for i in members[group])
        top = max(counts.values())
        stratum = min(s for s, c in counts.items() if c == top)
        stratum_of.setdefault(stratum, []).append(group)

    rng = np.random.default_rng(seed)
    out = [""] * len(groups)
    open_subsets = np.flatnonzero(shares > 0)
    for stratum in sorted(stratum_of):
        names = stratum_of[stratum]
        shuffled = [names[i] for i in rng.permutation(len(names))]
        shuffled.sort(key=lambda g: -len(members[g]))  # stable: random among equal sizes
        target = shares * sum(len(members[g]) for g in names)
        filled = np.zeros(3)
        for group in shuffled:
            deficit = (target - filled)[open_subsets]
            subset = int(open_subsets[int(np.argmax(deficit))])
            filled[subset] += len(members[group])
            for i in members[group]:
                out[i] = SUBSETS[subset]
    return out


def equal_width_bins(values: np.ndarray, low: float, high: float, n_bins: int) -> list[str]:
    """Name each value's bin among n equal-width bins over [low, high]; NaN -> "unrated"."""
    if n_bins < 1:
        raise SplitError("n_bins must be at least 1")
    edges = np.linspace(low, high, n_bins + 1)
    out = []
    for v in np.asarray(values, dtype=float).tolist():
        if np.isnan(v):
            out.append("unrated")
            continue
        k = int(np.clip(np.searchsorted(edges, v, side="right") - 1, 0, n_bins - 1))
        out.append(f"{edges[k]:g}-{edges[k + 1]:g}")
    return out
