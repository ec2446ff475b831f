"""Intraclass correlations: the six Shrout & Fleiss (1979) forms from one two-way ANOVA."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from ._json import num

# Shrout & Fleiss key -> McGraw & Wong (1996) name, in the order of pingouin's table.
FORMS: dict[str, str] = {
    "ICC1": "ICC(1)",
    "ICC2": "ICC(A,1)",
    "ICC3": "ICC(C,1)",
    "ICC1k": "ICC(k)",
    "ICC2k": "ICC(A,k)",
    "ICC3k": "ICC(C,k)",
}


def complete_cases(scores: np.ndarray) -> np.ndarray:
    """Rows rated by every rater (listwise deletion, as pingouin nan_policy="omit")."""
    x = np.asarray(scores, dtype=float)
    return x[~np.isnan(x).any(axis=1)]


def anova_mean_squares(x: np.ndarray) -> dict[str, float]:
    """Mean squares of the targets x judges two-way ANOVA without replication.

    Source: Shrout & Fleiss (1979), Table 1 (BMS, WMS, JMS, EMS); vectorised sums of squares.
    """
    n, k = x.shape
    grand = x.mean()
    row_means = x.mean(axis=1)
    col_means = x.mean(axis=0)
    ss_total = float(((x - grand) ** 2).sum())
    ss_rows = float(k * ((row_means - grand) ** 2).sum())
    ss_cols = float(n * ((col_means - grand) ** 2).sum())
    ss_err = max(ss_total - ss_rows - ss_cols, 0.0)  # clip float round-off below zero
    return {
        "BMS": ss_rows / (n - 1),
        "WMS": (ss_total - ss_rows) / (n * (k - 1)),
        "JMS": ss_cols / (k - 1),
        "EMS": ss_err / ((n - 1) * (k - 1)),
    }


def _empty(n_used: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        key: {
            "name": name,
            "value": None,
            "ci95": [None, None],
            "F": None,
            "df1": None,
            "df2": None,
            "p": None,
        }
        for key, name in FORMS.items()
    }
    out["n_images_used"] = n_used
    return out


def icc(scores: np.ndarray, confidence: float = 0.95) -> dict[str, Any]:
    """All six ICC forms with F test and exact F-based confidence interval.

    Sources: Shrout & Fleiss (1979), Psychol Bull 86:420-428, Table 2 (estimators) and
    equations for the F-based intervals; McGraw & Wong (1996), Psychol Methods 1:30-46,
    Table 7 (intervals, incl. the Satterthwaite-style df ``v`` for ICC(A,1) and ICC(A,k)).
    Missing data: complete cases only (images rated by every rater), as pingouin's
    ``intraclass_corr(nan_policy='omit')``; ``n_images_used`` says how many. Every value is
    None with fewer than 2 complete images or fewer than 2 raters, or where a ratio is 0/0.
    """
    x = complete_cases(scores)
    n, k = x.shape if x.ndim == 2 else (0, 0)
    if n < 2 or k < 2:
        return _empty(int(n))
    return icc_from_mean_squares(anova_mean_squares(x), n, k, confidence)


def icc_from_mean_squares(
    ms: dict[str, float], n: int, k: int, confidence: float = 0.95
) -> dict[str, Any]:
    """The six forms, F tests and intervals of `icc` from the mean squares of an n x k table
    (BMS, WMS, JMS, EMS), however they were obtained."""
    bms, wms, jms, ems = ms["BMS"], ms["WMS"], ms["JMS"], ms["EMS"]
    a = 1.0 - confidence
    df_b, df_w, df_e = n - 1, n * (k - 1), (n - 1) * (k - 1)

    with np.errstate(divide="ignore", invalid="ignore"):
        bms_, wms_, jms_, ems_ = (np.float64(v) for v in (bms, wms, jms, ems))
        icc1 = (bms_ - wms_) / (bms_ + (k - 1) * wms_)
        icc2 = (bms_ - ems_) / (bms_ + (k - 1) * ems_ + k * (jms_ - ems_) / n)
        icc3 = (bms_ - ems_) / (bms_ + (k - 1) * ems_)
        icc1k = (bms_ - wms_) / bms_
        icc2k = (bms_ - ems_) / (bms_ + (jms_ - ems_) / n)
        icc3k = (bms_ - ems_) / bms_
        f1 = bms_ / wms_
        f3 = bms_ / ems_

        # One-way (case 1) and consistency (case 3) intervals: Shrout & Fleiss eqs for FL/FU.
        f1_lo = f1 / stats.f.ppf(1 - a / 2, df_b, df_w)
        f1_hi = f1 * stats.f.ppf(1 - a / 2, df_w, df_b)
        f3_lo = f3 / stats.f.ppf(1 - a / 2, df_b, df_e)
        f3_hi = f3 * stats.f.ppf(1 - a / 2, df_e, df_b)
        ci1 = ((f1_lo - 1) / (f1_lo + k - 1), (f1_hi - 1) / (f1_hi + k - 1))
        ci3 = ((f3_lo - 1) / (f3_lo + k - 1), (f3_hi - 1) / (f3_hi + k - 1))
        ci1k = (1 - 1 / f1_lo, 1 - 1 / f1_hi)
        ci3k = (1 - 1 / f3_lo, 1 - 1 / f3_hi)

        # Absolute agreement (case 2): the JMS and EMS terms are pooled with Satterthwaite's
        # approximate df v (McGraw & Wong 1996, Table 7, case 2A; Shrout & Fleiss eq. 12).
        wa = k * icc2 / (n * (1 - icc2))
        wb = 1 + k * icc2 * (n - 1) / (n * (1 - icc2))
        v = (wa * jms_ + wb * ems_) ** 2 / ((wa * jms_) ** 2 / (k - 1) + (wb * ems_) ** 2 / df_e)
        f_star_lo = stats.f.ppf(1 - a / 2, df_b, v)
        f_star_hi = stats.f.ppf(1 - a / 2, v, df_b)
        c = k * jms_ + (k * n - k - n) * ems_
        lo2 = n * (bms_ - f_star_lo * ems_) / (f_star_lo * c + n * bms_)
        hi2 = n * (f_star_hi * bms_ - ems_) / (c + n * f_star_hi * bms_)
        ci2 = (lo2, hi2)
        # Spearman-Brown step-up of the single-rater bounds (McGraw & Wong, Table 7, case 2A k).
        ci2k = (lo2 * k / (1 + lo2 * (k - 1)), hi2 * k / (1 + hi2 * (k - 1)))

    p1 = stats.f.sf(f1, df_b, df_w)
    p3 = stats.f.sf(f3, df_b, df_e)
    rows = {
        "ICC1": (icc1, ci1, f1, df_b, df_w, p1),
        "ICC2": (icc2, ci2, f3, df_b, df_e, p3),
        "ICC3": (icc3, ci3, f3, df_b, df_e, p3),
        "ICC1k": (icc1k, ci1k, f1, df_b, df_w, p1),
        "ICC2k": (icc2k, ci2k, f3, df_b, df_e, p3),
        "ICC3k": (icc3k, ci3k, f3, df_b, df_e, p3),
    }
    out: dict[str, Any] = {}
    for key, (value, ci, f_value, d1, d2, p) in rows.items():
        out[key] = {
            "name": FORMS[key],
            "value": num(value),
            "ci95": [num(ci[0]), num(ci[1])],
            "F": num(f_value),
            "df1": int(d1),
            "df2": int(d2),
            "p": num(p) if num(f_value) is not None else None,
        }
    out["n_images_used"] = int(n)
    out["mean_squares"] = {name: num(val) for name, val in ms.items()}
    return out
