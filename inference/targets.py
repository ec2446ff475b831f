"""Training targets from ratings: MOS, majority votes, regrouped categories, class balance.

Ratings arrive as images x raters matrices, as `ratings.stats` takes them: scores as floats
with NaN gaps, binary and category ratings as integer codes with -1 gaps. The reference
labels reuse `ratings.stats` so a model learns exactly what the agreement report shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import WeightedRandomSampler

from ratings.stats.majority import majority_vote
from ratings.stats.mos import mos

NO_LABEL = -1

# The MRI paper's binary task (section 2.1): diagnostic (1) and excellent (2) grouped against
# non-diagnostic (0), from the same three-class ratings.
MRI_DIAGNOSTIC = {"non-diagnostic": ("non-diagnostic",), "diagnostic": ("diagnostic", "excellent")}


def regression_targets(scores: np.ndarray) -> np.ndarray:
    """MOS per image (NaN for an image nobody rated), for a score dimension."""
    return mos(np.asarray(scores, dtype=float)).mean


def binary_targets(codes: np.ndarray, tie_break: int | None = None) -> np.ndarray:
    """Majority vote 0/1 per image, -1 where tied or unrated (see ratings.stats.majority)."""
    return majority_vote(np.asarray(codes), 2, tie_break).label


def category_targets(codes: np.ndarray, n_classes: int, tie_break: int | None = None) -> np.ndarray:
    """Majority category index per image, -1 where tied or unrated."""
    return majority_vote(np.asarray(codes), n_classes, tie_break).label


def regroup(
    categories: Sequence[str], groups: Mapping[str, Sequence[str]]
) -> tuple[list[str], np.ndarray]:
    """New class names and the old code -> new code map for a derived target.

    Every old category must land in exactly one group, so no rating is silently dropped.
    Apply the map to each rating *before* the majority vote (`regroup_codes`): the MRI
    paper regrouped the raters' labels, and votes 0/1/2 (a tie) become 0/1/1 (diagnostic).
    """
    index = {name: i for i, name in enumerate(categories)}
    code_map = np.full(len(categories), NO_LABEL, dtype=np.int64)
    for new_code, members in enumerate(groups.values()):
        for name in members:
            if name not in index:
                raise ValueError(f"group member {name!r} is not a category ({list(categories)})")
            if code_map[index[name]] != NO_LABEL:
                raise ValueError(f"category {name!r} is in two groups")
            code_map[index[name]] = new_code
    missing = [c for c, code in zip(categories, code_map, strict=True) if code == NO_LABEL]
    if missing:
        raise ValueError(f"categories in no group: {missing}")
    return list(groups), code_map


def regroup_codes(codes: np.ndarray, code_map: np.ndarray) -> np.ndarray:
    """Map rating codes (any shape) through `code_map`; gaps (-1) stay gaps."""
    codes = np.asarray(codes, dtype=np.int64)
    out = np.full(codes.shape, NO_LABEL, dtype=np.int64)
    present = codes >= 0
    out[present] = code_map[codes[present]]
    return out


def class_counts(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """How many labelled images each class has (-1 ignored)."""
    labels = np.asarray(labels, dtype=np.int64)
    return np.bincount(labels[labels >= 0], minlength=n_classes)[:n_classes]


def class_weights(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """Loss weights n / (k * n_c) per class, for `CrossEntropyLoss(weight=...)`.

    Source: King & Zeng 2001's weighting, as scikit-learn's class_weight="balanced": every
    class then contributes the same total weight, which is the MRI paper's lesson (section
    4.2) that the majority class otherwise dominates. A class with no image gets weight 0.
    """
    counts = class_counts(labels, n_classes).astype(np.float64)
    total = counts.sum()
    if total == 0:
        raise ValueError("no labelled images")
    with np.errstate(divide="ignore"):
        weights = np.where(counts > 0, total / (n_classes * counts), 0.0)
    return torch.tensor(weights, dtype=torch.float32)


def balanced_sampler(
    labels: np.ndarray, n_classes: int, *, num_samples: int | None = None, seed: int = 0
) -> WeightedRandomSampler:
    """Draws images with replacement so each class is equally likely in every batch.

    Each image's weight is 1 / (its class's count); unlabelled images (-1) are never drawn.
    The alternative to `class_weights` (use one or the other, not both).
    """
    labels = np.asarray(labels, dtype=np.int64)
    counts = class_counts(labels, n_classes)
    per_image = np.zeros(len(labels), dtype=np.float64)
    labelled = labels >= 0
    per_image[labelled] = 1.0 / counts[labels[labelled]]
    if not labelled.any():
        raise ValueError("no labelled images")
    generator = torch.Generator().manual_seed(seed)
    return WeightedRandomSampler(
        torch.as_tensor(per_image),
        num_samples or int(labelled.sum()),
        replacement=True,
        generator=generator,
    )
