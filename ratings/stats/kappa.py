"""Chance-corrected agreement: Cohen's (weighted) kappa, Fleiss' kappa, Krippendorff's alpha."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

import krippendorff
import numpy as np

from ._json import num, pair_key
from .coding import class_counts, confusion


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
    codes: np.ndarray,
    n_classes: int,
    raters: Sequence[Any],
    positions: Sequence[float] | None = None,
    ordered: bool = True,
) -> dict[str, dict[str, Any]]:
    """Cohen's kappa, linear and quadratic weighted, for every rater pair.

    Confusion matrices come from np.bincount over images both raters rated. With
    ``ordered=False`` (unordered categories) the weighted forms are None.
    """
    out: dict[str, dict[str, Any]] = {}
    for i, j in combinations(range(len(raters)), 2):
        conf = confusion(codes[:, i], codes[:, j], n_classes)
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


def krippendorff_alpha(
    codes: np.ndarray, positions: Sequence[float], levels: Sequence[str]
) -> dict[str, float | None]:
    """Krippendorff's alpha for each level ("nominal", "ordinal", "interval").

    Source: Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", computed by the
    ``krippendorff`` package from an images x values count table (missing ratings simply do not
    count; images with fewer than two ratings are not pairable). ``positions[c]`` is the value
    of code c (the score for numeric data, the rank for ordered categories). None where alpha
    is undefined (fewer than two distinct values, no pairable image).
    """
    counts = class_counts(codes, len(positions))
    out: dict[str, float | None] = {}
    for level in levels:
        try:
            value = krippendorff.alpha(
                value_counts=counts,
                value_domain=np.asarray(positions, dtype=float),
                level_of_measurement=level,
            )
        except (ValueError, ZeroDivisionError, FloatingPointError):
            value = None
        out[level] = num(value)
    return out
