"""Figures of a study's agreement report as inline SVG strings (matplotlib, Agg, no pyplot).

Every function takes plain values (lists, dicts from the report JSON) and returns an ``<svg>``
element ready to be placed inside an HTML page: the dashboard shows them with the dark theme,
the exported report with the light one. Bars and heatmap cells carry ``class``-like ids
(``bar``, ``cell``) so tests and scripts can count what a reader sees.
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib import colormaps  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402


class Theme(StrEnum):
    DARK = "dark"  # the dashboard (matches base.css)
    LIGHT = "light"  # exported reports, printed or pasted into a paper


@dataclass(frozen=True)
class _Palette:
    text: str
    muted: str
    grid: str
    bar: str
    alert: str
    empty: str


PALETTES = {
    Theme.DARK: _Palette("#e6e6e6", "#9aa0a6", "#2c3036", "#6ab0ff", "#ff7a7a", "#2a2f36"),
    Theme.LIGHT: _Palette("#1d1f22", "#5f6368", "#d6d9dd", "#2f6fb3", "#c62828", "#eceff1"),
}

# Text stays text (searchable, scalable, small); ids are deterministic so output is stable.
_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "iqa-figures",
    "font.family": "sans-serif",
    "font.size": 10,
}
_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)


def _figure(width: float, height: float, theme: Theme) -> tuple[Figure, Any, _Palette]:
    palette = PALETTES[Theme(theme)]
    fig = Figure(figsize=(width, height), layout="constrained")
    fig.patch.set_alpha(0.0)
    ax = fig.add_subplot()
    ax.set_facecolor("none")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(palette.grid)
    ax.tick_params(colors=palette.muted, labelcolor=palette.text)
    return fig, ax, palette


def _svg(fig: Figure, title: str) -> str:
    """The figure as one ``<svg>`` element with an accessible title, without XML prologue."""
    buffer = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = _PROLOGUE.sub("", buffer.getvalue(), count=1)
    label = _escape(title)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" class="figure" ', 1).replace(
        ">", f"><title>{label}</title>", 1
    )


def _escape(text: str) -> str:
    return html.escape(str(text), quote=True)


def _label_axes(ax: Any, palette: _Palette, xlabel: str, ylabel: str, title: str = "") -> None:
    ax.set_xlabel(xlabel, color=palette.muted)
    ax.set_ylabel(ylabel, color=palette.muted)
    if title:
        ax.set_title(title, color=palette.text, loc="left", fontsize=10)


def _finite(values: Sequence[float | None]) -> np.ndarray:
    arr = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    return arr[np.isfinite(arr)]


def mos_histogram(
    means: Sequence[float | None],
    *,
    low: float = 1,
    high: float = 10,
    title: str = "MOS",
    theme: Theme = Theme.DARK,
) -> str:
    """Histogram of per-image MOS over the scale [low, high], half-point bins on wide scales.

    The chest paper's Fig. 8a shows the same view of its ten experts' MOS, with mean and SD.
    Images without a MOS (no rating yet) are left out and counted in the subtitle.
    """
    values = _finite(means)
    span = max(float(high) - float(low), 1.0)
    # Half-point bins on a 1-10 scale (18 bars); a 0/1 scale gets ten tenths.
    n_bins = int(span * 2) if span >= 4 else 10
    edges = np.linspace(float(low), float(high), n_bins + 1)
    counts, _ = np.histogram(np.clip(values, low, high), bins=edges)
    fig, ax, palette = _figure(5.2, 2.8, theme)
    width = edges[1] - edges[0]
    for i, count in enumerate(counts):
        rect = ax.bar(edges[i], count, width=width * 0.92, align="edge", color=palette.bar)[0]
        rect.set_gid(f"bar-{i}")
    ax.set_xlim(float(low), float(high))
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="y", color=palette.grid, linewidth=0.6)
    ax.set_axisbelow(True)
    skipped = len(means) - values.size
    if values.size:
        summary = f"{values.size} images · mean {values.mean():.2f} · SD {values.std(ddof=1):.2f}"
        if values.size < 2:
            summary = f"{values.size} image · mean {values.mean():.2f}"
    else:
        summary = "no rated images yet"
    if skipped:
        summary += f" · {skipped} without MOS"
    _label_axes(ax, palette, "MOS", "images", summary)
    return _svg(fig, f"{title}: histogram of the mean opinion score per image")


def _text_color(rgba: Sequence[float]) -> str:
    r, g, b = rgba[:3]
    return "#111111" if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "#f5f5f5"


def heatmap(
    matrix: Sequence[Sequence[float | None]],
    row_labels: Sequence[Any],
    col_labels: Sequence[Any],
    *,
    title: str,
    xlabel: str = "",
    ylabel: str = "",
    vmin: float = 0.0,
    vmax: float = 1.0,
    skip_diagonal: bool = False,
    theme: Theme = Theme.DARK,
    cmap: str = "viridis",
) -> str:
    """A matrix of values in [vmin, vmax] as labelled, annotated cells (None = empty cell).

    One rectangle per cell (id ``cell-<row>-<col>``) rather than one raster image: the values
    stay readable as text, and the cells can be counted.
    """
    rows, cols = len(row_labels), len(col_labels)
    colors = colormaps[cmap]
    size = max(rows, cols)
    # The same width as every other figure, so text keeps one size once scaled to the page.
    fig, ax, palette = _figure(5.2, min(3.0 + 0.22 * size, 5.2), theme)
    small = size > 8
    for i in range(rows):
        for j in range(cols):
            value = matrix[i][j] if i < len(matrix) and j < len(matrix[i]) else None
            blank = value is None or (isinstance(value, float) and not math.isfinite(value))
            if blank or (skip_diagonal and i == j):
                face = palette.empty
            else:
                face = colors((min(max(float(value), vmin), vmax) - vmin) / (vmax - vmin))
            cell = Rectangle((j, i), 1, 1, facecolor=face, edgecolor=palette.grid, linewidth=0.5)
            cell.set_gid(f"cell-{i}-{j}")
            ax.add_patch(cell)
            if skip_diagonal and i == j:
                continue
            text = "–" if blank else f"{float(value):.2f}"
            ax.text(
                j + 0.5,
                i + 0.5,
                text,
                ha="center",
                va="center",
                fontsize=7 if small else 9,
                color=palette.muted if blank else _text_color(face),
            )
    ax.set_xlim(0, cols)
    ax.set_ylim(rows, 0)
    ax.set_aspect("equal")
    ax.set_xticks(np.arange(cols) + 0.5, [str(c) for c in col_labels], rotation=45, ha="right")
    ax.set_yticks(np.arange(rows) + 0.5, [str(r) for r in row_labels])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    _label_axes(ax, palette, xlabel, ylabel)
    mappable = matplotlib.cm.ScalarMappable(
        norm=matplotlib.colors.Normalize(vmin, vmax), cmap=colors
    )
    bar = fig.colorbar(mappable, ax=ax, shrink=0.8, pad=0.02)
    bar.outline.set_visible(False)
    bar.ax.tick_params(colors=palette.muted, labelcolor=palette.text)
    return _svg(fig, title)


def jaccard_heatmap(
    entry: Mapping[str, Any], rater_a: str, rater_b: str, *, theme: Theme = Theme.DARK
) -> str:
    """One rater pair's Jaccard matrix (MRI paper, Fig. 6): rows rater A's class, columns B's."""
    classes = entry.get("classes") or []
    return heatmap(
        entry.get("matrix") or [],
        classes,
        classes,
        title=f"Jaccard index matrix, {rater_a} (rows) vs {rater_b} (columns)",
        ylabel=f"{rater_a}",
        xlabel=f"{rater_b}",
        theme=theme,
    )


def kappa_matrix(
    raters: Sequence[str],
    cohen: Mapping[str, Mapping[str, Any]],
    *,
    weight: str = "quadratic",
    theme: Theme = Theme.DARK,
) -> str:
    """Cohen's kappa of every rater pair as a symmetric raters x raters matrix.

    ``cohen`` is the report's ``cohen_kappa`` ({"a|b": {"unweighted", "linear", "quadratic"}}).
    Negative kappas (worse than chance) take the lowest colour; the cell text keeps the value.
    """
    index = {r: i for i, r in enumerate(raters)}
    n = len(raters)
    matrix: list[list[float | None]] = [[None] * n for _ in range(n)]
    for key, entry in cohen.items():
        a, _, b = key.partition("|")
        if a in index and b in index:
            value = entry.get(weight)
            matrix[index[a]][index[b]] = value
            matrix[index[b]][index[a]] = value
    return heatmap(
        matrix,
        raters,
        raters,
        title=f"Cohen's kappa ({weight}) between every pair of raters",
        skip_diagonal=True,
        theme=theme,
    )


def _rater_bars(
    names: Sequence[str],
    values: Sequence[float | None],
    *,
    title: str,
    xlabel: str,
    theme: Theme,
    errors: Sequence[tuple[float, float] | None] | None = None,
    alerts: Sequence[bool] | None = None,
    zero_line: bool = False,
) -> str:
    fig, ax, palette = _figure(5.2, 0.9 + 0.32 * max(len(names), 1), theme)
    for i, value in enumerate(values):
        shown = 0.0 if value is None else float(value)
        color = palette.alert if alerts and alerts[i] else palette.bar
        rect = ax.barh(i, shown, height=0.62, color=color)[0]
        rect.set_gid(f"bar-{i}")
        if errors and errors[i] is not None:
            lo, hi = errors[i]
            ax.plot([lo, hi], [i, i], color=palette.text, linewidth=1.2)
        if value is None:
            ax.text(0, i, "  no data", va="center", color=palette.muted, fontsize=8)
    ax.set_yticks(range(len(names)), list(names))
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.grid(axis="x", color=palette.grid, linewidth=0.6)
    ax.set_axisbelow(True)
    if zero_line:
        ax.axvline(0, color=palette.muted, linewidth=0.8)
    _label_axes(ax, palette, xlabel, "")
    return _svg(fig, title)


def rater_bias_chart(raters: Mapping[str, Mapping[str, Any]], *, theme: Theme = Theme.DARK) -> str:
    """Each rater's mean difference from the other raters (report ``raters[*].bias``).

    Raters the report marks ``bias_outlier`` are drawn in the alert colour.
    """
    names = list(raters)
    return _rater_bars(
        names,
        [raters[n].get("bias") for n in names],
        alerts=[bool(raters[n].get("bias_outlier")) for n in names],
        title="Bias of each rater against the mean of the others",
        xlabel="score points (rater − others)",
        zero_line=True,
        theme=theme,
    )


def rater_time_chart(raters: Mapping[str, Mapping[str, Any]], *, theme: Theme = Theme.DARK) -> str:
    """Median active reading time per image of each rater, with its interquartile range.

    Medians with IQR, as the chest paper's Table 4 reports reading times.
    """
    names = list(raters)
    medians: list[float | None] = []
    spans: list[tuple[float, float] | None] = []
    for name in names:
        times = raters[name].get("time_ms") or {}
        median = times.get("median")
        medians.append(None if median is None else median / 1000)
        q1, q3 = times.get("q1"), times.get("q3")
        spans.append(None if q1 is None or q3 is None else (q1 / 1000, q3 / 1000))
    return _rater_bars(
        names,
        medians,
        errors=spans,
        title="Median active time per image of each rater (line: interquartile range)",
        xlabel="seconds per image",
        theme=theme,
    )


@dataclass(frozen=True)
class BlandAltman:
    """Points and limits of a Bland-Altman plot of method A against method B."""

    mean: np.ndarray
    diff: np.ndarray
    bias: float | None
    loa_low: float | None
    loa_high: float | None


def bland_altman_points(a: Sequence[float | None], b: Sequence[float | None]) -> BlandAltman:
    """Pairwise means and differences (A - B), mean difference and 95% limits of agreement.

    Bland & Altman (1986, Lancet): limits = mean difference +- 1.96 SD of the differences;
    the chest paper's Fig. 9c/d plots model minus MOS this way. Pairs with a missing side
    are dropped; with fewer than two pairs the limits are None.
    """
    x = np.array([np.nan if v is None else float(v) for v in a], dtype=float)
    y = np.array([np.nan if v is None else float(v) for v in b], dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"a and b differ in length ({x.size} vs {y.size})")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    diff = x - y
    if diff.size < 2:
        bias = float(diff.mean()) if diff.size else None
        return BlandAltman((x + y) / 2, diff, bias, None, None)
    bias, sd = float(diff.mean()), float(diff.std(ddof=1))
    return BlandAltman((x + y) / 2, diff, bias, bias - 1.96 * sd, bias + 1.96 * sd)


def bland_altman_plot(
    points: BlandAltman,
    *,
    label_a: str = "A",
    label_b: str = "B",
    theme: Theme = Theme.DARK,
) -> str:
    """Scatter of differences against means with the mean difference and limits as lines."""
    fig, ax, palette = _figure(5.2, 3.2, theme)
    ax.scatter(points.mean, points.diff, s=10, color=palette.bar, alpha=0.7, linewidths=0)
    lines = (
        (points.bias, "mean", "-"),
        (points.loa_low, "−1.96 SD", "--"),
        (points.loa_high, "+1.96 SD", "--"),
    )
    for value, name, style in lines:
        if value is None:
            continue
        ax.axhline(value, color=palette.muted, linestyle=style, linewidth=1)
        ax.annotate(
            f"{name} {value:.2f}",
            xy=(1, value),
            xycoords=("axes fraction", "data"),
            ha="right",
            va="bottom",
            fontsize=8,
            color=palette.text,
        )
    ax.grid(color=palette.grid, linewidth=0.6)
    ax.set_axisbelow(True)
    _label_axes(ax, palette, f"mean of {label_a} and {label_b}", f"{label_a} − {label_b}")
    return _svg(fig, f"Bland-Altman plot of {label_a} against {label_b}")
