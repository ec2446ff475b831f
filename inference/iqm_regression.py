"""Interpretable quality scores: ordinary least squares of each dimension's MOS on the IQMs.

The head-CT paper's hierarchy (the seed head-ct-hierarchical-iqa-abstract.txt): image-quality
metrics -> linear regression -> one score per quality dimension -> (optional) a second linear
regression combining the dimension scores into an overall score. Every coefficient comes with
its standard error and 95% confidence interval, and every metric with its Pearson correlation
with the MOS, so a score can be explained. A fitted model is plain JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

INTERCEPT = "(intercept)"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class LinearFit:
    """y = b0 + sum_j b_j x_j fitted by OLS, with inference on each coefficient."""

    target: str
    features: tuple[str, ...]
    coefficients: np.ndarray  # intercept first, then one per feature
    std_errors: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_values: np.ndarray
    n: int
    r_squared: float
    residual_sd: float
    confidence: float
    # Pearson r and its two-sided p-value of each feature with the target (NaN if constant).
    correlations: dict[str, tuple[float, float]] = field(default_factory=dict)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Scores for an n x len(features) array (columns in `features` order)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[1] != len(self.features):
            raise ValueError(f"expected {len(self.features)} feature columns, got {x.shape[1]}")
        return self.coefficients[0] + x @ self.coefficients[1:]

    def explain(self) -> list[dict[str, float | str]]:
        """One row per term: estimate, SE, CI, p-value and (for metrics) the correlation."""
        rows = []
        for i, name in enumerate((INTERCEPT, *self.features)):
            r, p = (_or_none(v) for v in self.correlations.get(name, (None, None)))
            rows.append(
                {
                    "term": name,
                    "estimate": float(self.coefficients[i]),
                    "std_error": float(self.std_errors[i]),
                    "ci_low": float(self.ci_low[i]),
                    "ci_high": float(self.ci_high[i]),
                    "p_value": float(self.p_values[i]),
                    "pearson_r": r,
                    "pearson_p": p,
                }
            )
        return rows

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "features": list(self.features),
            "coefficients": self.coefficients.tolist(),
            "std_errors": self.std_errors.tolist(),
            "ci_low": self.ci_low.tolist(),
            "ci_high": self.ci_high.tolist(),
            "p_values": self.p_values.tolist(),
            "n": self.n,
            "r_squared": self.r_squared,
            "residual_sd": self.residual_sd,
            "confidence": self.confidence,
            "correlations": {k: [_or_none(x) for x in v] for k, v in self.correlations.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> LinearFit:
        arrays = ("coefficients", "std_errors", "ci_low", "ci_high", "p_values")
        return cls(
            target=data["target"],
            features=tuple(data["features"]),
            **{k: np.asarray(data[k], dtype=np.float64) for k in arrays},
            n=int(data["n"]),
            r_squared=float(data["r_squared"]),
            residual_sd=float(data["residual_sd"]),
            confidence=float(data["confidence"]),
            correlations={k: tuple(_nan(x) for x in v) for k, v in data["correlations"].items()},
        )


def _or_none(value: float | None) -> float | None:
    """NaN as None: strict JSON has no NaN (a constant metric has no correlation)."""
    return None if value is None or np.isnan(value) else float(value)


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def fit_ols(
    x: np.ndarray,
    y: np.ndarray,
    features: Sequence[str],
    target: str = "mos",
    confidence: float = 0.95,
) -> LinearFit:
    """OLS with an intercept; classical (homoscedastic) standard errors.

    Source: the textbook normal-theory results (e.g. Seber & Lee, Linear Regression Analysis,
    2nd ed., sections 3.1 and 5.1): b = (X'X)^-1 X'y, s^2 = RSS / (n - p),
    Var(b) = s^2 (X'X)^-1, CI = b +- t_{(1+c)/2, n-p} SE, t-test p-values on n - p df.
    Images with a NaN metric or target are left out.
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{x.shape[0]} rows of metrics but {y.shape[0]} targets")
    if x.shape[1] != len(features):
        raise ValueError(f"{x.shape[1]} metric columns but {len(features)} feature names")
    keep = np.isfinite(y) & np.isfinite(x).all(axis=1)
    x, y = x[keep], y[keep]
    n, p = x.shape[0], x.shape[1] + 1
    if n <= p:
        raise ValueError(f"{n} complete images cannot fit {p} coefficients (need more than {p})")
    design = np.column_stack([np.ones(n), x])
    if np.linalg.matrix_rank(design) < p:
        raise ValueError("the metrics are collinear (or one is constant): drop one of them")
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    residuals = y - design @ beta
    df = n - p
    s2 = float(residuals @ residuals) / df
    covariance = s2 * np.linalg.inv(design.T @ design)
    se = np.sqrt(np.diag(covariance))
    t_crit = float(stats.t.ppf((1 + confidence) / 2, df))
    with np.errstate(divide="ignore", invalid="ignore"):
        t_values = beta / se
    p_values = 2 * stats.t.sf(np.abs(t_values), df)
    total = float(((y - y.mean()) ** 2).sum())
    r_squared = 1.0 - float(residuals @ residuals) / total if total > 0 else float("nan")
    return LinearFit(
        target=target,
        features=tuple(features),
        coefficients=beta,
        std_errors=se,
        ci_low=beta - t_crit * se,
        ci_high=beta + t_crit * se,
        p_values=p_values,
        n=n,
        r_squared=r_squared,
        residual_sd=float(np.sqrt(s2)),
        confidence=confidence,
        correlations=correlations(x, y, features),
    )


def correlations(x: np.ndarray, y: np.ndarray, features: Sequence[str]) -> dict:
    """Pearson r (and two-sided p) of each feature column with y; NaN for a constant column."""
    out = {}
    for j, name in enumerate(features):
        column = x[:, j]
        if np.ptp(column) == 0 or np.ptp(y) == 0 or len(y) < 3:
            out[name] = (float("nan"), float("nan"))
            continue
        result = stats.pearsonr(column, y)
        out[name] = (float(result.statistic), float(result.pvalue))
    return out


@dataclass(frozen=True)
class IQMRegression:
    """One LinearFit per quality dimension on the metrics, and optionally an overall one on the
    dimension scores (the head-CT paper's two upper levels)."""

    metric_names: tuple[str, ...]
    dimensions: dict[str, LinearFit]
    overall: LinearFit | None = None
    # Metrics left out of a dimension's default set, with the reason (shown by explain()).
    dropped: dict[str, dict[str, str]] = field(default_factory=dict)

    def predict(self, metrics: np.ndarray) -> dict[str, np.ndarray]:
        """Scores per dimension (and "overall") for an images x metric_names array."""
        table = np.atleast_2d(np.asarray(metrics, dtype=np.float64))
        scores = {
            key: fit.predict(table[:, self._columns(fit.features)])
            for key, fit in self.dimensions.items()
        }
        if self.overall is not None:
            level2 = np.column_stack([scores[k] for k in self.overall.features])
            scores["overall"] = self.overall.predict(level2)
        return scores

    def _columns(self, features: Sequence[str]) -> list[int]:
        return [self.metric_names.index(name) for name in features]

    def explain(self) -> dict[str, dict]:
        """Per level: coefficient rows (with CIs and correlations), R^2 and n."""
        fits = dict(self.dimensions)
        if self.overall is not None:
            fits["overall"] = self.overall
        return {
            key: {
                "n": fit.n,
                "r_squared": fit.r_squared,
                "terms": fit.explain(),
                "dropped": self.dropped.get(key, {}),
            }
            for key, fit in fits.items()
        }

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": "iqm-linear",
                "version": FORMAT_VERSION,
                "metric_names": list(self.metric_names),
                "dimensions": {k: f.to_dict() for k, f in self.dimensions.items()},
                "overall": self.overall.to_dict() if self.overall else None,
                "dropped": self.dropped,
            },
            indent=1,
            allow_nan=False,
        )

    @classmethod
    def from_json(cls, text: str) -> IQMRegression:
        data = json.loads(text)
        if data.get("format") != "iqm-linear" or data.get("version") != FORMAT_VERSION:
            raise ValueError("not an iqm-linear model of a version this code reads")
        overall = data.get("overall")
        return cls(
            metric_names=tuple(data["metric_names"]),
            dimensions={k: LinearFit.from_dict(v) for k, v in data["dimensions"].items()},
            overall=LinearFit.from_dict(overall) if overall else None,
            dropped=data.get("dropped", {}),
        )

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> IQMRegression:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def fit_iqm_regression(
    metrics: np.ndarray,
    metric_names: Sequence[str],
    mos_by_dimension: Mapping[str, np.ndarray],
    *,
    features: Mapping[str, Sequence[str]] | None = None,
    overall_mos: np.ndarray | None = None,
    confidence: float = 0.95,
) -> IQMRegression:
    """Fit each dimension's MOS on its metrics, then, given an overall MOS, the overall score
    on the fitted dimension scores.

    `features[dim]` names a dimension's metrics; without it, every metric that is not constant
    and not a linear combination of those before it (e.g. dynamic_range = p99 - p01) on this
    dimension's images, which `explain()` lists as dropped. The second level is fitted on the
    first level's predictions rather than the raters' dimension MOS, because predictions are
    what it combines at inference time.
    """
    table = np.atleast_2d(np.asarray(metrics, dtype=np.float64))
    names = tuple(metric_names)
    dimensions, dropped = {}, {}
    for key, y in mos_by_dimension.items():
        if features and key in features:
            chosen = tuple(features[key])
            unknown = [f for f in chosen if f not in names]
            if unknown:
                raise ValueError(f"dimension {key!r}: unknown metrics {unknown}")
        else:
            rows = np.isfinite(np.asarray(y, dtype=np.float64))
            chosen, dropped[key] = usable_metrics(table[rows], names)
        columns = [names.index(f) for f in chosen]
        dimensions[key] = fit_ols(table[:, columns], y, chosen, key, confidence)
    model = IQMRegression(names, dimensions, dropped=dropped)
    if overall_mos is None:
        return model
    scores = model.predict(table)
    level2 = np.column_stack([scores[k] for k in dimensions])
    overall = fit_ols(level2, overall_mos, tuple(dimensions), "overall", confidence)
    return IQMRegression(names, dimensions, overall, dropped)


def usable_metrics(
    table: np.ndarray, names: Sequence[str]
) -> tuple[tuple[str, ...], dict[str, str]]:
    """Metrics, in order, that add information: each must vary and raise the design's rank."""
    complete = table[np.isfinite(table).all(axis=1)]
    kept: list[int] = []
    dropped = {}
    design = np.ones((complete.shape[0], 1))
    for j, name in enumerate(names):
        column = complete[:, j]
        if column.size == 0 or np.ptp(column) == 0:
            dropped[name] = "constant on these images"
            continue
        # Standardised so the rank test does not depend on each metric's units.
        candidate = np.column_stack([design, (column - column.mean()) / column.std()])
        if np.linalg.matrix_rank(candidate, tol=1e-8 * complete.shape[0]) <= design.shape[1]:
            dropped[name] = "a linear combination of the metrics before it"
            continue
        design = candidate
        kept.append(j)
    return tuple(names[j] for j in kept), dropped


def press(x: np.ndarray, y: np.ndarray) -> float:
    """Mean squared leave-one-out prediction error of OLS with an intercept (Allen 1974's
    PRESS / n), in closed form from the hat matrix: e_i / (1 - h_ii)."""
    design = np.column_stack([np.ones(len(y)), x])
    hat = design @ np.linalg.pinv(design)
    leverage = np.diag(hat)
    if np.any(leverage >= 1.0 - 1e-9):
        return math.inf  # an image the fit reproduces exactly: no out-of-sample error
    residuals = y - hat @ y
    return float(np.mean((residuals / (1.0 - leverage)) ** 2))


def forward_select(
    table: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    candidates: Sequence[str],
    limit: int,
) -> tuple[str, ...]:
    """Forward stepwise selection by PRESS: add the candidate metric that most lowers the
    leave-one-out error, stop when none does or at `limit` metrics. Names keep `names` order.
    Images with a NaN metric or target are left out."""
    table = np.atleast_2d(np.asarray(table, dtype=np.float64))
    y = np.asarray(y, dtype=np.float64).ravel()
    keep = np.isfinite(y) & np.isfinite(table).all(axis=1)
    table, y = table[keep], y[keep]
    columns = {name: names.index(name) for name in candidates}
    chosen: list[str] = []
    best = press(np.empty((len(y), 0)), y)
    while len(chosen) < limit:
        trials = [
            (press(table[:, [columns[c] for c in (*chosen, name)]], y), name)
            for name in candidates
            if name not in chosen
        ]
        if not trials:
            break
        error, name = min(trials)
        if not error < best:
            break
        best = error
        chosen.append(name)
    if not chosen and candidates:
        chosen.append(candidates[0])
    return tuple(name for name in names if name in chosen)
