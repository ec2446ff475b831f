"""Class x class Jaccard index matrices between pairs of raters (MRI paper, fig. 6)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from ._json import num_list, pair_key
from .coding import pairwise_confusions


def jaccard_matrix(conf: np.ndarray) -> np.ndarray:
    """Jaccard matrix from a confusion matrix; NaN where both sets are empty (0/0).

    Source: MRI diagnostic-quality paper, fig. 6 and ref. [17] (Jaccard index): for rater A's
    images in class i (A_i) and rater B's in class j (B_j), cell (i, j) is
    |A_i ∩ B_j| / |A_i ∪ B_j|. Both sets are taken over the images *both* raters rated, so an
    image one rater skipped cannot count as a disagreement. With C the confusion matrix
    (rows A, columns B), |A_i ∩ B_j| = C_ij and |A_i ∪ B_j| = row_i + col_j - C_ij.
    """
    c = np.asarray(conf, dtype=float)
    union = c.sum(axis=1)[:, None] + c.sum(axis=0)[None, :] - c
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, c / union, np.nan)


def pairwise_jaccard(
    codes: np.ndarray | None,
    classes: Sequence[Any],
    raters: Sequence[Any],
    confusions: Mapping[tuple[int, int], np.ndarray] | None = None,
) -> dict[str, dict[str, Any]]:
    """Jaccard matrix for every rater pair: ``{"a|b": {"classes", "matrix", "n_images"}}``.

    ``codes`` is images x raters with -1 for missing; ``classes[c]`` labels code c. Pass
    ``confusions`` (from coding.pairwise_confusions, over these classes) to skip recounting.
    """
    out: dict[str, dict[str, Any]] = {}
    n_classes = len(classes)
    if confusions is None:
        confusions = pairwise_confusions(codes, n_classes)
    for i, j in combinations(range(len(raters)), 2):
        conf = confusions[(i, j)]
        out[pair_key(raters[i], raters[j])] = {
            "classes": list(classes),
            "matrix": [num_list(row) for row in jaccard_matrix(conf)],
            "n_images": int(conf.sum()),
        }
    return out
