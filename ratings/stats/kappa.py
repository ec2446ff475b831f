"""Chance-corrected agreement: Cohen's (weighted) kappa, Fleiss' kappa, Krippendorff's alpha."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from ._json import num, pair_key
from .coding import class_counts, pairwise_confusions


def kappa_from_confusion(
    conf: np.ndarray, weights: str = "unweighted", positions: Sequence[float] | None = None
) -> float | None:
    """Cohen's kappa (1960) or weighted kappa (Cohen 1968) from a confusion matrix.

    kappa_w = 1 - sum(v_ij p_ij) / sum(v_ij p_i. p_.j) with disagreement weights v_ij = 0 / 1
    (unweighted), |x_i - x_j| (linear) or (x_i - x_j)^2 (quadratic), x the class positions
    (default 0..K-1; for numeric scores the score values themselves). Scaling v does not change
    kappa, so this equals the agreement-weight form 1 - |i-j|/(K-1) of Altman (1991) §14.3.4
    and sklearn's cohen_kappa_score. None when no image was rated by both or when chance
    disagreement is 0 (e.g. both raters used one and the same class).
    """
    c = np.asarray(conf, dtype=float)
    total = c.sum()
    if total <= 0:
        return None
    p = c / total
    expected = np.outer(p.sum(axis=1), p.sum(axis=0))
    x = np.arange(c.shape[0], dtype=float) if positions is None else np.asarray(positions, float)
    if weights == "unweighted":
        v = 1.0 - np.eye(c.shape[0])
    elif weights == "linear":
        v = np.abs(x[:, None] - x[None, :])
    elif weights == "quadratic":
        v = (x[:, None] - x[None, :]) ** 2
    else:
        raise ValueError(f"unknown weights {weights!r}")
    chance = float((v * expected).sum())
    if chance <= 1e-12:
        return None
    return num(1.0 - float((v * p).sum()) / chance)


def pairwise_cohen(
    codes: np.ndarray | None,
    n_classes: int,
    raters: Sequence[Any],
    positions: Sequence[float] | None = None,
    ordered: bool = True,
    confusions: Mapping[tuple[int, int], np.ndarray] | None = None,
) -> dict[str, dict[str, Any]]:
    """Cohen's kappa, linear and quadratic weighted, for every rater pair.

    Confusion matrices come from np.bincount over images both raters rated (or are passed in
    ``confusions``). With ``ordered=False`` (unordered categories) the weighted forms are None.
    """
    out: dict[str, dict[str, Any]] = {}
    if confusions is None:
        confusions = pairwise_confusions(codes, n_classes)
    for i, j in combinations(range(len(raters)), 2):
        conf = confusions[(i, j)]
        out[pair_key(raters[i], raters[j])] = {
            "unweighted": kappa_from_confusion(conf, "unweighted"),
            "linear": kappa_from_confusion(conf, "linear", positions) if ordered else None,
            "quadratic": kappa_from_confusion(conf, "quadratic", positions) if ordered else None,
            "n_images": int(conf.sum()),
        }
    return out


def fleiss_kappa_counts(counts: np.ndarray) -> tuple[float | None, int]:
    """Fleiss' kappa from an images x classes count table; returns (kappa, images used).

    Source: Fleiss (1971), Psychol Bull 76:378-382, eqs. 2-9. Missing ratings: images may have
    different numbers of ratings n_i; each image's agreement P_i = sum_j n_ij(n_ij-1) /
    (n_i(n_i-1)) is averaged over images with n_i >= 2, and the class proportions p_j pool all
    those ratings. With a constant n_i this is exactly Fleiss (1971) (and statsmodels'
    fleiss_kappa). None when fewer than one image has two ratings or P_e = 1.
    """
    t = np.asarray(counts, dtype=float)
    n_i = t.sum(axis=1)
    keep = n_i >= 2
    if not keep.any():
        return None, 0
    t, n_i = t[keep], n_i[keep]
    p_i = ((t * t).sum(axis=1) - n_i) / (n_i * (n_i - 1))
    p_j = t.sum(axis=0) / n_i.sum()
    p_bar = float(p_i.mean())
    p_e = float((p_j * p_j).sum())
    if p_e >= 1.0 - 1e-12:
        return None, int(keep.sum())
    return num((p_bar - p_e) / (1.0 - p_e)), int(keep.sum())


def fleiss_kappa(codes: np.ndarray, n_classes: int) -> tuple[float | None, int]:
    """Fleiss' kappa of an images x raters code matrix (-1 missing); see fleiss_kappa_counts."""
    return fleiss_kappa_counts(class_counts(codes, n_classes))


def coincidences(counts: np.ndarray) -> np.ndarray:
    """Krippendorff's coincidence matrix o_ck = sum_u n_uc (n_uk - [c = k]) / (m_u - 1).

    Source: Krippendorff (2011), section C ("coincidences within units"); units with fewer
    than two values are not pairable and drop out. One V x V matrix product instead of the
    units x V x V tensor the ``krippendorff`` package builds, so 100k units cost milliseconds.
    """
    t = np.asarray(counts, dtype=float)
    m = t.sum(axis=1)
    keep = m >= 2
    t, m = t[keep], m[keep]
    scaled = t / (m - 1)[:, None]
    return t.T @ scaled - np.diag(scaled.sum(axis=0))


def alpha_from_coincidences(o: np.ndarray, positions: Sequence[float], level: str) -> float | None:
    """Krippendorff's alpha = 1 - (n - 1) sum o_ck d_ck / sum n_c n_k d_ck for one metric.

    Source: Krippendorff (2011), sections C-E: nominal d = [c != k]; ordinal
    d = (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2; interval d = (v_c - v_k)^2. None when the
    expected disagreement is 0 (a single value used) or fewer than two pairable values.
    """
    n_c = o.sum(axis=1)
    n = float(n_c.sum())
    if n <= 1:
        return None
    size = o.shape[0]
    if level == "nominal":
        d = 1.0 - np.eye(size)
    elif level == "interval":
        v = np.asarray(positions, dtype=float)
        d = (v[:, None] - v[None, :]) ** 2
    elif level == "ordinal":
        cum = np.concatenate([[0.0], np.cumsum(n_c)])
        lo = np.minimum.outer(np.arange(size), np.arange(size))
        hi = np.maximum.outer(np.arange(size), np.arange(size))
        d = (cum[hi + 1] - cum[lo] - (n_c[:, None] + n_c[None, :]) / 2.0) ** 2
    else:
        raise ValueError(f"unknown level {level!r}")
    expected = float((np.outer(n_c, n_c) * d).sum())
    if expected <= 1e-12:
        return None
    return num(1.0 - (n - 1.0) * float((o * d).sum()) / expected)


def krippendorff_alpha(
    codes: np.ndarray,
    positions: Sequence[float],
    levels: Sequence[str],
    counts: np.ndarray | None = None,
) -> dict[str, float | None]:
    """Krippendorff's alpha for each level ("nominal", "ordinal", "interval").

    Source: Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", through the
    coincidence matrix (see ``coincidences``); missing ratings simply do not count. Checked
    against the ``krippendorff`` package and the paper's worked example in the tests; computed
    here because the package takes ~1 s per level at 100k images. ``positions[c]`` is the
    value of code c (the score for numeric data, the rank for ordered categories). None where
    alpha is undefined.
    """
    o = coincidences(class_counts(codes, len(positions)) if counts is None else counts)
    return {level: alpha_from_coincidences(o, positions, level) for level in levels}
