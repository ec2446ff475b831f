"""Figures of the model-versus-expert report as inline SVG (the chest paper's Figs. 9 and 10,
the MRI paper's Fig. 7), in the style of figures.py: plain values in, one ``<svg>`` out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .figures import Theme, _figure, _label_axes, _svg, heatmap

MAX_POINTS = 5000  # an SVG with one path per point grows by ~150 bytes a point


def _shown(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """At most MAX_POINTS of the points (a fixed random sample), and a note saying so; the
    lines and statistics always come from every pair."""
    if x.size <= MAX_POINTS:
        return x, y, ""
    keep = np.sort(np.random.default_rng(0).choice(x.size, MAX_POINTS, replace=False))
    return x[keep], y[keep], f" · {MAX_POINTS} of {x.size} points drawn"


def scatter_with_lines(
    model: Sequence[float],
    expert: Sequence[float],
    regression: Mapping[str, Any],
    *,
    pearson_r: float | None = None,
    theme: Theme = Theme.DARK,
) -> str:
    """Model score against the experts' MOS with the identity line (dashed) and the
    least-squares line of the model on the MOS (solid), as the chest paper's Fig. 9a/b."""
    x = np.asarray(expert, dtype=float)
    y = np.asarray(model, dtype=float)
    fig, ax, palette = _figure(5.2, 3.6, theme)
    px, py, sampled = _shown(x, y)
    points = ax.scatter(px, py, s=12, color=palette.bar, alpha=0.75, linewidths=0)
    points.set_gid("points")
    both = np.concatenate([x, y]) if x.size else np.array([0.0, 1.0])
    lo, hi = float(both.min()), float(both.max())
    pad = max((hi - lo) * 0.05, 0.1)
    span = np.array([lo - pad, hi + pad])
    (identity,) = ax.plot(span, span, linestyle="--", color=palette.muted, linewidth=1)
    identity.set_gid("identity-line")
    slope, intercept = regression.get("slope"), regression.get("intercept")
    subtitle = f"{x.size} images"
    if slope is not None and intercept is not None:
        (line,) = ax.plot(span, intercept + slope * span, color=palette.alert, linewidth=1.4)
        line.set_gid("regression-line")
        subtitle += f" · model = {intercept:.2f} + {slope:.2f} × MOS"
    if pearson_r is not None:
        subtitle += f" · r {pearson_r:.3f}"
    subtitle += sampled
    ax.set_xlim(*span)
    ax.set_ylim(*span)
    ax.set_aspect("equal", adjustable="box")
    ax.grid(color=palette.grid, linewidth=0.6)
    ax.set_axisbelow(True)
    _label_axes(ax, palette, "experts' MOS", "model score", subtitle)
    return _svg(fig, "Model score against the experts' MOS, identity and regression lines")


def bland_altman_with_ci(
    model: Sequence[float],
    expert: Sequence[float],
    result: Mapping[str, Any],
    *,
    theme: Theme = Theme.DARK,
) -> str:
    """Differences (model - expert) against the pair means, with the mean difference and the
    limits of agreement as lines and their 95% confidence intervals as bands (Bland & Altman
    1986; the chest paper's Fig. 9c/d). ``result`` is the report's ``bland_altman``."""
    m = np.asarray(model, dtype=float)
    e = np.asarray(expert, dtype=float)
    fig, ax, palette = _figure(5.2, 3.2, theme)
    px, py, sampled = _shown((m + e) / 2, m - e)
    points = ax.scatter(px, py, s=12, color=palette.bar, alpha=0.75, linewidths=0)
    points.set_gid("points")
    z = result.get("z") or 1.96
    bands = (
        ("mean", result.get("mean_diff"), result.get("mean_diff_ci95"), "-"),
        (f"−{z:g} SD", (result.get("loa") or [None, None])[0],
         (result.get("loa_ci95") or {}).get("lower"), "--"),
        (f"+{z:g} SD", (result.get("loa") or [None, None])[1],
         (result.get("loa_ci95") or {}).get("upper"), "--"),
    )  # fmt: skip
    for index, (name, value, ci, style) in enumerate(bands):
        if value is None:
            continue
        ax.axhline(value, color=palette.muted, linestyle=style, linewidth=1).set_gid(
            f"line-{index}"
        )
        if ci and ci[0] is not None and ci[1] is not None:
            ax.axhspan(ci[0], ci[1], color=palette.muted, alpha=0.15, linewidth=0).set_gid(
                f"ci-band-{index}"
            )
        ax.annotate(
            f"{name} {value:.2f}",
            xy=(1, value),
            xycoords=("axes fraction", "data"),
            ha="right",
            va="bottom",
            fontsize=8,
            color=palette.text,
        )
    ax.axhline(0, color=palette.grid, linewidth=0.8)
    ax.grid(color=palette.grid, linewidth=0.6)
    ax.set_axisbelow(True)
    _label_axes(
        ax,
        palette,
        "mean of model and MOS",
        "model − MOS",
        "bands: 95% confidence intervals" + sampled,
    )
    return _svg(fig, "Bland-Altman plot of the model against the experts' MOS")


def roc_curve(result: Mapping[str, Any], *, theme: Theme = Theme.DARK) -> str:
    """The ROC curve with the chance diagonal and Youden's optimal cutoff marked (the chest
    paper's Fig. 10, the MRI paper's Fig. 5). ``result`` is the report's ``roc``."""
    curve = result.get("curve") or []
    fpr = [p["fpr"] for p in curve]
    tpr = [p["tpr"] for p in curve]
    fig, ax, palette = _figure(4.2, 4.0, theme)
    ax.plot([0, 1], [0, 1], linestyle="--", color=palette.muted, linewidth=1)
    (line,) = ax.plot(fpr + [1.0], tpr + [1.0], color=palette.bar, linewidth=1.6)
    line.set_gid("roc-line")
    youden = result.get("youden") or {}
    if youden.get("sensitivity") is not None:
        x, y = 1 - youden["specificity"], youden["sensitivity"]
        (marker,) = ax.plot([x], [y], marker="o", color=palette.alert, markersize=6)
        marker.set_gid("youden-point")
        ax.annotate(
            f"cutoff {youden['threshold']:.2f}: sens {y:.2f}, spec {1 - x:.2f}",
            xy=(x, y),
            xytext=(8, -14),
            textcoords="offset points",
            fontsize=8,
            color=palette.text,
        )
    ax.set_xlim(-0.02, 1.0)
    ax.set_ylim(0, 1.02)
    ax.set_aspect("equal", adjustable="box")
    ax.grid(color=palette.grid, linewidth=0.6)
    ax.set_axisbelow(True)
    auc, se = result.get("auc"), result.get("auc_se")
    subtitle = f"AUC {auc:.3f}" + (f" (SE {se:.3f})" if se is not None else "")
    subtitle += f" · {result.get('n_positive')} positive, {result.get('n_negative')} negative"
    _label_axes(ax, palette, "1 − specificity", "sensitivity", subtitle)
    return _svg(fig, "ROC curve of the model score against the experts' majority label")


def confusion_matrix(result: Mapping[str, Any], *, theme: Theme = Theme.DARK) -> str:
    """The row-normalised confusion matrix (rows: experts' class, columns: model's), as the
    MRI paper's Fig. 7. ``result`` is the report's ``confusion``."""
    classes = result.get("classes") or []
    return heatmap(
        result.get("row_normalised") or [],
        classes,
        classes,
        title="Confusion matrix, normalised per expert class (rows)",
        ylabel="experts' class",
        xlabel="model's class",
        theme=theme,
        cmap="Blues",
    )
