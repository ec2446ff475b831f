"""How well a model's predictions match the experts, per epoch and per split part.

Regression (a score against the MOS): Pearson r, MAD = (1/n) sum |p - m| (the chest paper's
Table 3), RMSE, and the ICC of model and MOS taken as two raters (ratings/stats, Shrout &
Fleiss 1979: ICC(A,1) absolute agreement and ICC(C,1) consistency). Classification: accuracy,
balanced accuracy, ROC AUC (scikit-learn; one-vs-rest macro for more than two classes) and the
confusion matrix, counts and row-normalised (the MRI paper's figure 7: each true class's row
sums to 1). A statistic undefined for the data is None.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score

from ratings.stats.icc import icc


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def regression_metrics(predicted: np.ndarray, mos: np.ndarray) -> dict[str, Any]:
    predicted = np.asarray(predicted, dtype=np.float64)
    mos = np.asarray(mos, dtype=np.float64)
    n = int(len(mos))
    if n == 0:
        return {"n": 0}
    diff = predicted - mos
    out: dict[str, Any] = {
        "n": n,
        "mad": _finite(np.mean(np.abs(diff))),
        "rmse": _finite(np.sqrt(np.mean(diff**2))),
        "mean_diff": _finite(np.mean(diff)),
        "pearson_r": None,
        "icc_a1": None,
        "icc_c1": None,
    }
    if n >= 3 and np.std(predicted) > 0 and np.std(mos) > 0:
        out["pearson_r"] = _finite(stats.pearsonr(predicted, mos).statistic)
    if n >= 2:
        forms = icc(np.column_stack([predicted, mos]))
        out["icc_a1"] = forms["ICC2"]["value"]
        out["icc_c1"] = forms["ICC3"]["value"]
    return out


def classification_metrics(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """`probabilities` (n, k) of each class; `labels` (n,) true class indices 0..k-1."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    n, k = probabilities.shape if probabilities.ndim == 2 else (0, 0)
    if n == 0:
        return {"n": 0}
    predicted = probabilities.argmax(axis=1)
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (labels, predicted), 1)
    rows = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        normalised = np.where(rows > 0, counts / rows, np.nan)
        recall = np.diag(counts) / rows[:, 0]
    present = rows[:, 0] > 0
    out: dict[str, Any] = {
        "n": int(n),
        "accuracy": _finite(np.mean(predicted == labels)),
        "balanced_accuracy": _finite(np.mean(recall[present])) if present.any() else None,
        "auc": None,
        "confusion": counts.tolist(),
        "confusion_normalised": [[_finite(v) for v in row] for row in normalised],
    }
    if len(np.unique(labels)) >= 2:
        if k == 2:
            out["auc"] = _finite(roc_auc_score(labels, probabilities[:, 1]))
        elif present.all():
            out["auc"] = _finite(
                roc_auc_score(labels, probabilities, multi_class="ovr", labels=list(range(k)))
            )
    return out
