"""Intra-rater (test-retest) reliability from images a rater read twice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._json import num
from .icc import icc


def _pair_icc(first: np.ndarray, second: np.ndarray, min_pairs: int) -> dict[str, Any]:
    both = ~np.isnan(first) & ~np.isnan(second)
    n_pairs = int(both.sum())
    entry: dict[str, Any] = {"n_pairs": n_pairs, "icc": None, "ci95": [None, None], "mad": None}
    if n_pairs < min_pairs:
        return entry
    a, b = first[both], second[both]
    result = icc(np.column_stack([a, b]))["ICC2"]
    entry.update(
        {"icc": result["value"], "ci95": result["ci95"], "mad": num(np.mean(np.abs(a - b)))}
    )
    return entry


def retest_reliability(
    first: np.ndarray, second: np.ndarray, raters: Sequence[Any], min_pairs: int = 5
) -> dict[str, Any]:
    """ICC(A,1) between first and second reading, per rater and pooled over raters.

    ``first`` and ``second`` are images x raters; ``second`` is NaN where the image was not
    re-read. Source: Koo & Li (2016), J Chiropr Med 15:155-163 (test-retest: two-way model,
    absolute agreement, single measurement, i.e. Shrout & Fleiss ICC(2,1) = McGraw & Wong
    ICC(A,1), computed by ``icc``). MAD = mean |first - second| (chest paper's MAD). None with
    fewer than ``min_pairs`` repeated images (an ICC on a handful of pairs is noise). Pooled:
    every (rater, image) repeat as one target - it mixes between-rater differences into the
    target variance, so read it beside the per-rater values.
    """
    f = np.asarray(first, dtype=float)
    s = np.asarray(second, dtype=float)
    per_rater = {str(r): _pair_icc(f[:, j], s[:, j], min_pairs) for j, r in enumerate(raters)}
    pooled = _pair_icc(f.ravel(), s.ravel(), min_pairs)
    return {"form": "ICC(A,1)", "min_pairs": min_pairs, "raters": per_rater, "pooled": pooled}


def retest_agreement_codes(
    first: np.ndarray, second: np.ndarray, n_classes: int, raters: Sequence[Any], min_pairs: int = 5
) -> dict[str, Any]:
    """Unweighted Cohen's kappa between first and second reading of category labels.

    Same layout as ``retest_reliability`` but for class codes (-1 missing); source: Cohen
    (1960) applied to one rater's two occasions. None below ``min_pairs`` repeats.
    """
    from .coding import confusion
    from .kappa import kappa_from_confusion

    def one(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
        conf = confusion(a, b, n_classes)
        n_pairs = int(conf.sum())
        value = kappa_from_confusion(conf) if n_pairs >= min_pairs else None
        return {"n_pairs": n_pairs, "kappa": value}

    f = np.asarray(first)
    s = np.asarray(second)
    per_rater = {str(r): one(f[:, j], s[:, j]) for j, r in enumerate(raters)}
    return {
        "form": "kappa",
        "min_pairs": min_pairs,
        "raters": per_rater,
        "pooled": one(f.ravel(), s.ravel()),
    }
