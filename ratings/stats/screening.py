"""Observer screening by the kurtosis-based P/Q procedure of ITU-R BT.500 (Annex 2 §2.3.1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

RULE = (
    "ITU-R BT.500-13 Annex 2 §2.3.1: per image, beta2 = m4/m2^2 of the scores; if 2 <= beta2 <= 4 "
    "a score >= mean + 2 SD counts P, <= mean - 2 SD counts Q, otherwise the band is "
    "sqrt(20) SD; an observer is rejected when (P+Q)/N > 0.05 and |(P-Q)/(P+Q)| < 0.3. "
    "Images with fewer than {min_ratings} ratings or zero spread are skipped; N counts the "
    "observer's screened images."
)


def _normal_kurtosis(dev: np.ndarray, squares: np.ndarray, n: np.ndarray, m2: np.ndarray):
    """Rows with 2 <= beta2 <= 4, beta2 = m4 / m2^2 and m4 = (dev**4).sum(axis=1) / n.

    dev**4 (libm pow, ~60 ms per million scores) is only needed where beta2 lies near a bound:
    elsewhere squares * squares (a few ulp from it, so beta2 within ~1e-15 relative) decides
    the same. Rows within 1e-9 of a bound, not finite or tiny get the exact dev**4 test.
    """

    def test(m4: np.ndarray, m2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        beta2 = m4 / (m2 * m2)
        return (beta2 >= 2.0) & (beta2 <= 4.0), beta2

    normal, beta2 = test((squares * squares).sum(axis=1) / n, m2)
    unsure = ~np.isfinite(beta2) | (m2 < 1e-140)  # (and no subnormal rounding where tiny)
    for bound in (2.0, 4.0):
        unsure |= np.abs(beta2 - bound) <= 1e-9 * bound
    rows = np.flatnonzero(unsure)
    if len(rows):
        normal[rows] = test((dev[rows] ** 4).sum(axis=1) / n[rows], m2[rows])[0]
    return normal


def bt500_screening(
    scores: np.ndarray,
    raters: Sequence[Any],
    min_ratings: int = 4,
    max_outlier_share: float = 0.05,
    max_asymmetry: float = 0.3,
) -> dict[str, Any]:
    """BT.500 observer screening over an images x raters matrix with NaN gaps.

    Source: ITU-R BT.500-13 (2012), Annex 2 §2.3.1 (the beta2 test, the 2 / sqrt(20) SD bands
    and the P, Q rejection rule). Why the skips: an image rated by one or two observers has no
    meaningful kurtosis, and an image everyone scored alike (SD 0) would otherwise put every
    score on the ">= mean + 2 SD" boundary. The rule keeps observers who are merely biased
    (all P or all Q: asymmetry near 1) and rejects those who scatter both ways.
    """
    x = np.asarray(scores, dtype=float)
    present = ~np.isnan(x)
    n = present.sum(axis=1)
    filled = np.where(present, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mean = filled.sum(axis=1) / n
        dev = np.where(present, x - mean[:, None], 0.0)
        squares = dev**2
        m2 = squares.sum(axis=1) / n
        sd = np.sqrt(squares.sum(axis=1) / (n - 1))
        normal = _normal_kurtosis(dev, squares, n, m2)
    eligible = (n >= min_ratings) & (m2 > 0)
    band = np.where(normal, 2.0, np.sqrt(20.0)) * sd
    upper = present & eligible[:, None] & (x >= (mean + band)[:, None])
    lower = present & eligible[:, None] & (x <= (mean - band)[:, None])
    p = upper.sum(axis=0)
    q = lower.sum(axis=0)
    screened = (present & eligible[:, None]).sum(axis=0)

    per_rater: dict[str, Any] = {}
    rejected: list[Any] = []
    for r, rater in enumerate(raters):
        pq = int(p[r] + q[r])
        share = pq / screened[r] if screened[r] else None
        asym = abs(int(p[r]) - int(q[r])) / pq if pq else None
        reject = bool(
            share is not None
            and asym is not None
            and share > max_outlier_share
            and asym < max_asymmetry
        )
        if reject:
            rejected.append(rater)
        per_rater[str(rater)] = {
            "P": int(p[r]),
            "Q": int(q[r]),
            "n_screened": int(screened[r]),
            "outlier_share": share,
            "asymmetry": asym,
            "rejected": reject,
        }
    return {
        "rule": RULE.format(min_ratings=min_ratings),
        "n_images_screened": int(eligible.sum()),
        "raters": per_rater,
        "rejected": [str(r) for r in rejected],
        "rejected_index": [list(raters).index(r) for r in rejected],
    }
