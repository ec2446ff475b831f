"""Per-rater summaries: volume, bias against the other raters, agreement with them, reading time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._json import num


def rest_means(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the *other* raters' scores on each image, for every rater (leave-one-out MOS).

    Returns ``(others, usable)``: images x raters arrays; ``usable`` is True where the rater
    scored the image and at least one other rater did too.
    """
    x = np.asarray(scores, dtype=float)
    present = ~np.isnan(x)
    n = present.sum(axis=1)
    total = np.where(present, x, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        others = (total[:, None] - np.where(present, x, 0.0)) / (n[:, None] - 1)
    usable = present & (n[:, None] >= 2)
    return np.where(usable, others, np.nan), usable


def _time_summary(values: np.ndarray) -> dict[str, Any]:
    v = values[~np.isnan(values)]
    if v.size == 0:
        return {"n": 0, "median": None, "q1": None, "q3": None, "iqr": None}
    # Sorted first: the percentiles depend only on the order statistics, so they are the same,
    # and numpy's (SIMD) sort plus a partition of sorted data beats partitioning raw data.
    q1, med, q3 = np.percentile(np.sort(v), [25, 50, 75])
    return {"n": int(v.size), "median": num(med), "q1": num(q1), "q3": num(q3), "iqr": num(q3 - q1)}


def rater_summary(
    scores: np.ndarray,
    raters: Sequence[Any],
    durations_ms: np.ndarray | None = None,
    groups: Mapping[Any, str] | None = None,
    bias_threshold: float = 1.0,
    numeric: bool = True,
) -> dict[str, dict[str, Any]]:
    """Per rater: n rated, bias and Pearson r against the rest, active-time median / IQR.

    Sources: bias = mean over shared images of (rater score - mean of the other raters), the
    leave-one-out form of the "mean difference" of Bland & Altman (1986, Lancet) so a rater is
    never compared with a MOS that contains their own score; rater-vs-rest agreement = Pearson r
    of the rater's scores with the other raters' mean (the chest paper's r, Table 3, applied to
    one rater against the panel; chosen over ICC(2,1) because it is defined with any missing
    pattern and cheap for 100k images - the panel ICC is reported separately). Active time:
    median and interquartile range in milliseconds, as the chest paper's Table 4 (medians with
    IQR). ``bias_outlier`` marks |bias| > ``bias_threshold`` score points; ``largest_bias``
    marks the rater with the largest |bias|. For category data (``numeric=False``) only counts
    and times are reported.
    """
    x = np.asarray(scores, dtype=float)
    present = ~np.isnan(x)
    out: dict[str, dict[str, Any]] = {}
    biases = np.full(len(raters), np.nan)
    if numeric:
        others, usable = rest_means(x)
        diff = np.where(usable, x - others, 0.0)
        n_shared = usable.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            biases = diff.sum(axis=0) / n_shared
            # Column-wise Pearson r over each rater's usable rows, vectorised.
            xa = np.where(usable, x, 0.0)
            xb = np.where(usable, others, 0.0)
            ma = xa.sum(axis=0) / n_shared
            mb = xb.sum(axis=0) / n_shared
            da = np.where(usable, x - ma, 0.0)
            db = np.where(usable, others - mb, 0.0)
            cov = (da * db).sum(axis=0)
            r = cov / np.sqrt((da * da).sum(axis=0) * (db * db).sum(axis=0))
        r = np.where(n_shared >= 3, r, np.nan)
    finite = np.where(np.isfinite(biases), np.abs(biases), -1.0)
    largest = int(finite.argmax()) if (finite >= 0).any() else -1

    n_rated = present.sum(axis=0)
    if numeric:
        # Each rater's np.nanmean(x[:, j]), all at once: nanmean sums a contiguous copy with
        # NaN -> 0 and divides by the count; so do these, row by row of the transposed copy.
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.ascontiguousarray(np.where(present, x, 0.0).T).sum(axis=1) / n_rated
    for j, rater in enumerate(raters):
        entry: dict[str, Any] = {"n_rated": int(n_rated[j])}
        if groups is not None:
            entry["group"] = groups.get(rater)
        if numeric:
            entry.update(
                {
                    "n_vs_rest": int(n_shared[j]),
                    "mean": num(means[j]) if n_rated[j] else None,
                    "bias": num(biases[j]),
                    "r_vs_rest": num(r[j]),
                    "bias_outlier": bool(
                        np.isfinite(biases[j]) and abs(biases[j]) > bias_threshold
                    ),
                    "largest_bias": j == largest,
                }
            )
        if durations_ms is not None:
            entry["time_ms"] = _time_summary(np.asarray(durations_ms, dtype=float)[:, j])
        out[str(rater)] = entry
    return out


def group_summary(
    scores: np.ndarray,
    raters: Sequence[Any],
    groups: Mapping[Any, str],
    per_rater: Mapping[str, Mapping[str, Any]],
    durations_ms: np.ndarray | None = None,
) -> dict[str, dict[str, Any]]:
    """Per profession group (e.g. radiologists vs radiographers, chest paper Table 4).

    Pools the group's ratings: n raters, n ratings, mean score, mean of members' biases, and
    the median / IQR of the pooled active times.
    """
    x = np.asarray(scores, dtype=float)
    out: dict[str, dict[str, Any]] = {}
    names = sorted({g for g in (groups.get(r) for r in raters) if g is not None})
    for name in names:
        cols = [j for j, r in enumerate(raters) if groups.get(r) == name]
        block = x[:, cols]
        member_bias = [per_rater[str(raters[j])].get("bias") for j in cols]
        member_bias = [b for b in member_bias if b is not None]
        entry: dict[str, Any] = {
            "raters": [str(raters[j]) for j in cols],
            "n_ratings": int((~np.isnan(block)).sum()),
            "mean": num(np.nanmean(block)) if (~np.isnan(block)).any() else None,
            "mean_bias": num(np.mean(member_bias)) if member_bias else None,
        }
        if durations_ms is not None:
            entry["time_ms"] = _time_summary(np.asarray(durations_ms, dtype=float)[:, cols].ravel())
        out[name] = entry
    return out
