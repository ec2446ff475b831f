"""Model versus expert: paired differences, ICC, Bland-Altman, ROC and confusion matrices.

Plain numpy / scipy. The difference is always model minus expert; a higher model score predicts
the positive class, and an image is called positive when its score is at or above a threshold.
Every float in the output is finite or None (undefined for the data, never a made-up number).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from scipy import stats

from ._json import num
from .icc import FORMS, icc

Z95 = float(stats.norm.ppf(0.975))  # 1.95996...
LOA_Z = 1.96  # Bland & Altman's limits of agreement: mean difference +- 1.96 SD
WORST = 10  # how many of the largest disagreements the report lists


def _pair(model: Sequence[float], expert: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray(model, dtype=float)
    e = np.asarray(expert, dtype=float)
    if m.shape != e.shape or m.ndim != 1:
        raise ValueError("model and expert scores must be two lists of the same length")
    if not (np.isfinite(m).all() and np.isfinite(e).all()):
        raise ValueError("model and expert scores must be finite numbers")
    return m, e


def paired_statistics(model: Sequence[float], expert: Sequence[float]) -> dict[str, Any]:
    """Paired t-test of model - expert, Pearson r, MAD, RMSE and MAPE.

    Sources: the chest paper's Table 3 (paired-samples t test, r, MAD = mean |A_k - B_k|); the
    head-CT abstract's MAPE, taken here as mean(|model - expert| / |expert|) x 100, in percent,
    None if any expert score is 0. The mean difference's 95% CI uses Student's t with n - 1 df.
    t and p are None when every difference is the same (SD 0); r is None when either side is
    constant; everything but MAD / RMSE / MAPE / mean needs n >= 2.
    """
    m, e = _pair(model, expert)
    n = int(m.size)
    d = m - e
    out: dict[str, Any] = dict.fromkeys(
        ("mean_diff", "sd_diff", "mean_diff_ci95", "t", "df", "p", "pearson_r", "pearson_p"),
        None,
    )
    out["mean_diff_ci95"] = [None, None]
    out.update(mad=None, rmse=None, mape=None)
    if n == 0:
        return out
    out["mean_diff"] = num(d.mean())
    out["mad"] = num(np.abs(d).mean())
    out["rmse"] = num(np.sqrt((d**2).mean()))
    if not (e == 0).any():
        out["mape"] = num((np.abs(d) / np.abs(e)).mean() * 100.0)
    if n < 2:
        return out
    sd = float(d.std(ddof=1))
    se = sd / np.sqrt(n)
    t_crit = float(stats.t.ppf(0.975, n - 1))
    out["sd_diff"] = num(sd)
    out["df"] = n - 1
    out["mean_diff_ci95"] = [num(d.mean() - t_crit * se), num(d.mean() + t_crit * se)]
    if se > 0:
        t = float(d.mean() / se)
        out["t"] = num(t)
        out["p"] = num(2.0 * stats.t.sf(abs(t), n - 1))
    if m.std() > 0 and e.std() > 0:
        r, p = stats.pearsonr(m, e)
        out["pearson_r"] = num(r)
        out["pearson_p"] = num(p)
    return out


def bland_altman(
    model: Sequence[float], expert: Sequence[float], z: float = LOA_Z
) -> dict[str, Any]:
    """Mean difference, SD and 95% limits of agreement (mean +- z SD, z = 1.96) with 95% CIs.

    Source: Bland & Altman (1986), Lancet i:307-310, section "Precision of estimated limits of
    agreement": SE of the mean difference s / sqrt(n), SE of each limit sqrt(3 s^2 / n), both
    intervals with Student's t on n - 1 df (the paper rounds z to 2: pass z=2 to reproduce it).
    ``mean_diff_ci95`` is the bias's CI. The plot's x is the mean of model and expert, y their
    difference (model - expert). None with n < 2.
    """
    m, e = _pair(model, expert)
    n = int(m.size)
    d = m - e
    out: dict[str, Any] = {
        "n": n,
        "z": z,
        "mean_diff": num(d.mean()) if n else None,
        "sd_diff": None,
        "mean_diff_ci95": [None, None],
        "loa": [None, None],
        "loa_ci95": {"lower": [None, None], "upper": [None, None]},
    }
    if n < 2:
        return out
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    t_crit = float(stats.t.ppf(0.975, n - 1))
    se_mean = sd / np.sqrt(n)
    se_limit = np.sqrt(3.0 * sd**2 / n)
    lower, upper = mean - z * sd, mean + z * sd
    out["sd_diff"] = num(sd)
    out["mean_diff_ci95"] = [num(mean - t_crit * se_mean), num(mean + t_crit * se_mean)]
    out["loa"] = [num(lower), num(upper)]
    out["loa_ci95"] = {
        "lower": [num(lower - t_crit * se_limit), num(lower + t_crit * se_limit)],
        "upper": [num(upper - t_crit * se_limit), num(upper + t_crit * se_limit)],
    }
    return out


def hanley_mcneil_se(auc: float, n_positive: int, n_negative: int) -> float | None:
    """Standard error of an AUC: Hanley & McNeil (1982), Radiology 143:29-36, equation 1, with
    Q1 = A / (2 - A) and Q2 = 2 A^2 / (1 + A) (their eqs. 2-3, exponential approximation)."""
    if n_positive < 1 or n_negative < 1:
        return None
    a = float(auc)
    q1 = a / (2.0 - a)
    q2 = 2.0 * a * a / (1.0 + a)
    var = (a * (1 - a) + (n_positive - 1) * (q1 - a * a) + (n_negative - 1) * (q2 - a * a)) / (
        n_positive * n_negative
    )
    return num(np.sqrt(max(var, 0.0)))


def roc(scores: Sequence[float], labels: Sequence[int | bool]) -> dict[str, Any] | None:
    """ROC curve, AUC with Hanley-McNeil SE and normal 95% CI, and Youden's optimal cutoff.

    An image is called positive when its score is >= the threshold; the curve has one point per
    distinct score, from the highest down, after a first point (threshold None) at (0, 0). AUC
    is the Mann-Whitney probability that a positive outscores a negative, ties counted one half
    (= the trapezoidal area under this curve; Hanley & McNeil 1982). CI: AUC +- 1.96 SE, clipped
    to [0, 1]. Youden's J = sensitivity + specificity - 1, maximal; among equal J the highest
    threshold (the fewest positive calls). None with only one class present.
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels).astype(bool)
    if s.shape != y.shape or not np.isfinite(s).all():
        raise ValueError("ROC needs one finite score per label")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = stats.rankdata(s)
    auc = (ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    se = hanley_mcneil_se(auc, n_pos, n_neg)

    thresholds = np.unique(s)[::-1]  # highest first
    # Positives / negatives at or above each threshold, by one sorted search per class.
    tp = n_pos - np.searchsorted(np.sort(s[y]), thresholds, side="left")
    fp = n_neg - np.searchsorted(np.sort(s[~y]), thresholds, side="left")
    tpr, fpr = tp / n_pos, fp / n_neg
    curve = [{"threshold": None, "fpr": 0.0, "tpr": 0.0}] + [
        {"threshold": num(t), "fpr": num(f), "tpr": num(r)}
        for t, f, r in zip(thresholds, fpr, tpr, strict=True)
    ]
    j = tpr - fpr
    best = int(np.argmax(j))  # argmax returns the first maximum: the highest threshold
    ci = (
        [num(max(auc - Z95 * se, 0.0)), num(min(auc + Z95 * se, 1.0))]
        if se is not None
        else [None, None]
    )
    return {
        "auc": num(auc),
        "auc_se": se,
        "auc_ci95": ci,
        "n_positive": n_pos,
        "n_negative": n_neg,
        "youden": {
            "threshold": num(thresholds[best]),
            "sensitivity": num(tpr[best]),
            "specificity": num(1.0 - fpr[best]),
            "j": num(j[best]),
        },
        "curve": curve,
    }


def at_threshold(scores: Sequence[float], labels: Sequence[int | bool], threshold: float) -> dict:
    """Sensitivity and specificity when images with score >= threshold are called positive."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels).astype(bool)
    called = s >= threshold
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    return {
        "threshold": num(threshold),
        "sensitivity": num((called & y).sum() / n_pos) if n_pos else None,
        "specificity": num((~called & ~y).sum() / n_neg) if n_neg else None,
    }


def regression_line(model: Sequence[float], expert: Sequence[float]) -> dict[str, Any]:
    """Least-squares line of the model score on the expert score (the chest paper's Fig. 9a/b:
    x = expert, y = model). None when the expert scores are all equal or n < 2."""
    m, e = _pair(model, expert)
    if m.size < 2 or e.std() == 0:
        return {"slope": None, "intercept": None}
    slope, intercept = np.polyfit(e, m, 1)
    return {"slope": num(slope), "intercept": num(intercept)}


def confusion(
    predicted: Sequence[int], actual: Sequence[int], classes: Sequence[str]
) -> dict[str, Any]:
    """Confusion matrix of class indices (rows = expert, columns = model), its row-normalised
    form (each row sums to 1, as the MRI paper's Fig. 7) and per-class precision, recall, F1.

    A row with no images, or a precision with no predictions of that class, is None.
    """
    k = len(classes)
    p = np.asarray(predicted, dtype=int)
    a = np.asarray(actual, dtype=int)
    if p.shape != a.shape or ((p < 0) | (p >= k) | (a < 0) | (a >= k)).any():
        raise ValueError(f"class indices must lie in 0..{k - 1}")
    counts = np.bincount(a * k + p, minlength=k * k).reshape(k, k)
    rows = counts.sum(axis=1)
    cols = counts.sum(axis=0)
    normalised = [[num(c / rows[i]) if rows[i] else None for c in counts[i]] for i in range(k)]
    per_class = {}
    for i, name in enumerate(classes):
        precision = counts[i, i] / cols[i] if cols[i] else None
        recall = counts[i, i] / rows[i] if rows[i] else None
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision is not None and recall is not None and precision + recall > 0
            else None
        )
        per_class[str(name)] = {
            "support": int(rows[i]),
            "precision": num(precision),
            "recall": num(recall),
            "f1": num(f1),
        }
    return {
        "classes": [str(c) for c in classes],
        "counts": counts.tolist(),
        "row_normalised": normalised,
        "accuracy": num(np.trace(counts) / counts.sum()) if counts.sum() else None,
        "per_class": per_class,
    }


def _icc_two_raters(m: np.ndarray, e: np.ndarray) -> dict[str, Any]:
    table = icc(np.column_stack([m, e])) if m.size else None
    return {
        key: {
            "name": name,
            "value": table[key]["value"] if table else None,
            "ci95": table[key]["ci95"] if table else [None, None],
        }
        for key, name in FORMS.items()
    }


def agreement(
    model: np.ndarray,
    expert: np.ndarray,
    roc_scores: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    threshold: float | None = None,
) -> dict[str, Any]:
    """One block of the report: n, paired, icc, bland_altman, regression for these pairs, and
    the ROC of ``roc_scores`` against ``labels`` (the pairs with a known label) if given."""
    block: dict[str, Any] = {
        "n": int(model.size),
        "paired": paired_statistics(model, expert),
        # Model and MOS as two raters (the chest paper's ICC); ICC2 = ICC(A,1) is its headline.
        "icc": _icc_two_raters(model, expert),
        "bland_altman": bland_altman(model, expert),
        "regression": regression_line(model, expert),
        "roc": None,
    }
    if labels is not None and roc_scores is not None:
        block["roc"] = roc(roc_scores, labels)
        if block["roc"] is not None and threshold is not None:
            block["roc"]["at_threshold"] = at_threshold(roc_scores, labels, threshold)
    return block


def compare(
    model: Sequence[float],
    expert: Sequence[float],
    *,
    images: Sequence[str] | None = None,
    labels: Sequence[int | bool | None] | None = None,
    subgroups: Mapping[str, Sequence[str]] | None = None,
    threshold: float | None = None,
    classes: Sequence[str] | None = None,
    roc_scores: Sequence[float] | None = None,
) -> dict[str, Any]:
    """The model-versus-expert report (contract in ratings/stats/README.md).

    ``labels``: 1 / 0 per image for the ROC (None = unknown: that image is left out of the ROC
    only). Without labels but with a ``threshold``, the expert score >= threshold is the label.
    ``subgroups``: {"site": [value per image], ...}: the same statistics per value, with its n.
    ``classes``: the class names when model and expert are class indices (category / binary
    targets): adds the confusion matrix. ``roc_scores``: what the ROC ranks, when not the
    model's own output (a classifier's expected class index, where ``model`` is its argmax).
    """
    m, e = _pair(model, expert)
    names = [str(i + 1) for i in range(m.size)] if images is None else [str(x) for x in images]
    if len(names) != m.size:
        raise ValueError("one image name per pair")
    label_source = "label"
    if labels is None and threshold is not None:
        labels = (e >= threshold).tolist()
        label_source = "expert >= threshold"
    known = None
    y = None
    if labels is not None:
        if len(labels) != m.size:
            raise ValueError("one label per pair")
        known = np.array([v is not None for v in labels], dtype=bool)
        y = np.array([bool(v) if v is not None else False for v in labels], dtype=bool)
    r = m if roc_scores is None else np.asarray(roc_scores, dtype=float)
    if r.shape != m.shape or not np.isfinite(r).all():
        raise ValueError("one finite ROC score per pair")

    def block(mask: np.ndarray) -> dict[str, Any]:
        if y is None:
            return agreement(m[mask], e[mask])
        usable = mask & known
        return agreement(m[mask], e[mask], r[usable], y[usable], threshold)

    everyone = np.ones(m.size, dtype=bool)
    report = block(everyone)
    report["label_source"] = label_source if labels is not None else None
    report["threshold"] = num(threshold) if threshold is not None else None
    report["confusion"] = None
    if classes is not None:
        report["confusion"] = confusion(m.astype(int), e.astype(int), classes)
    order = np.argsort(-np.abs(m - e), kind="stable")[:WORST]
    report["worst"] = [
        {"image": names[i], "model": num(m[i]), "expert": num(e[i]), "diff": num(m[i] - e[i])}
        for i in order.tolist()
    ]
    report["subgroups"] = {}
    for key, values in (subgroups or {}).items():
        if len(values) != m.size:
            raise ValueError(f"subgroup {key!r}: one value per pair")
        groups = np.array([str(v) if v not in (None, "") else "unknown" for v in values])
        report["subgroups"][key] = {
            value: block(groups == value) for value in sorted(set(groups.tolist()))
        }
    return report


PAIR_COLUMNS = ("image", "model", "expert")
IGNORED_COLUMNS = ("diff",)  # written by our pairs export, recomputed here


class PairsError(ValueError):
    """A pairs CSV that cannot be used; the message names the line."""


@dataclass
class PairsTable:
    images: list[str] = field(default_factory=list)
    model: list[float] = field(default_factory=list)
    expert: list[float] = field(default_factory=list)
    labels: list[int | None] | None = None
    roc_scores: list[float] | None = None
    subgroups: dict[str, list[str]] = field(default_factory=dict)


def _number(cell: str, column: str, line: int) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise PairsError(f"line {line}: {column} {cell!r} is not a number") from None
    if not math.isfinite(value):
        raise PairsError(f"line {line}: {column} {cell!r} is not a finite number")
    return value


def _text(cell: str) -> str:
    # Our CSV exports put a quote before a text cell that starts like a formula: undo it.
    if len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@\t\r":
        return cell[1:]
    return cell


def pairs_from_csv(file: str | Path | IO[str]) -> PairsTable:
    """Read ``image,model,expert[,label][,subgroup columns...]``: one row per image.

    ``label`` is 1 (positive, e.g. acceptable), 0, or empty (unknown); ``roc_score`` (optional)
    is what the ROC ranks instead of ``model`` (a classifier's expected class); every other
    column but ``diff`` is a subgroup (an empty cell is the group "unknown"). Raises PairsError
    naming the line of the first bad row: a missing column, an empty image, a non-numeric
    score, a label other than 0 / 1, an image listed twice, or no rows at all.
    """
    if isinstance(file, (str, Path)):
        with open(file, newline="", encoding="utf-8-sig") as handle:
            return pairs_from_csv(handle)
    reader = csv.DictReader(io.StringIO(file.read()))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in PAIR_COLUMNS if c not in header]
    if missing:
        raise PairsError(f"line 1: CSV header lacks column(s) {', '.join(missing)}")
    if len(set(header)) != len(header):
        raise PairsError("line 1: a column name appears twice")
    reader.fieldnames = header
    known = (*PAIR_COLUMNS, "label", "roc_score", *IGNORED_COLUMNS)
    groups = [h for h in header if h not in known and h]
    table = PairsTable(
        labels=[] if "label" in header else None,
        roc_scores=[] if "roc_score" in header else None,
    )
    table.subgroups = {g: [] for g in groups}
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            raise PairsError(f"line {line}: more fields than the header has columns")
        image = _text((row.get("image") or "").strip())
        if not image:
            raise PairsError(f"line {line}: empty 'image'")
        if image in seen:
            raise PairsError(f"line {line}: image {image!r} already on line {seen[image]}")
        seen[image] = line
        table.images.append(image)
        table.model.append(_number((row.get("model") or "").strip(), "model", line))
        table.expert.append(_number((row.get("expert") or "").strip(), "expert", line))
        if table.labels is not None:
            cell = (row.get("label") or "").strip()
            if cell not in ("", "0", "1"):
                raise PairsError(f"line {line}: label {cell!r} must be 1, 0 or empty")
            table.labels.append(int(cell) if cell else None)
        if table.roc_scores is not None:
            cell = (row.get("roc_score") or "").strip()
            table.roc_scores.append(_number(cell, "roc_score", line) if cell else table.model[-1])
        for g in groups:
            table.subgroups[g].append(_text((row.get(g) or "").strip()))
    if not table.images:
        raise PairsError("line 2: no rows after the header")
    return table
