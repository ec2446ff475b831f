"""The agreement report: every statistic of a reader study as one JSON-safe dict.

JSON contract (stable; keys may be added, never renamed)::

    {"dimensions": {"<dimension>": {
        "kind": "score" | "category",
        "n_images", "n_raters", "n_images_complete",
        "mos": [{"image", "n", "mean", "sd", "median", "ci95": [lo, hi]}],  # [] for categories
        "icc": {"ICC1" | "ICC2" | "ICC3" | "ICC1k" | "ICC2k" | "ICC3k":
                   {"name", "value", "ci95": [lo, hi], "F", "df1", "df2", "p"},
                "n_images_used", "mean_squares"},                         # null for categories
        "icc_reml": {"ICC1" .. "ICC3k": {"name", "value", "ci95": [lo, hi]},
                     "n_images_used", "n_ratings_used",
                     "variance": {"images", "raters", "residual", "within_images"},
                     "method"},                  # every rating counts; null for categories
        "krippendorff_alpha": {"nominal", "ordinal", "interval"},
        "fleiss_kappa", "fleiss_kappa_n_images",
        "cohen_kappa": {"<rater a>|<rater b>": {"unweighted", "linear", "quadratic", "n_images"}},
        "jaccard": {"<rater a>|<rater b>": {"classes": [...], "matrix": [[...]], "n_images"}},
        "majority": {"classes", "tie_rule", "labels": [{"image", "label", "tied", "votes", "n"}]}
                    | null,   # null on a many-valued score: the MOS is its reference
        "flags": {"high_sd": [image...], "sd_threshold",          # scores
                  "split_vote": [image...], "min_share"},     # where majority is given
        "screening": {"rule", "applied", "rejected": [rater...], "raters": {...}} | null,
        "raters": {"<rater>": {"n_rated", "group", "n_vs_rest", "mean", "bias", "r_vs_rest",
                                "bias_outlier", "largest_bias", "time_ms": {...}}},
        "rater_groups": {"<group>": {...}},
        "retest": {...} | null,
        "notes": [...]}}}

Every float is finite or null (undefined statistics are null, never NaN / inf).
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import flags as flag_rules
from ._json import num_list
from .coding import (
    DEFAULT_SCORE_BINS,
    bin_scores,
    class_counts,
    codes_from_values,
    merge_classes,
    pairwise_confusions,
)
from .icc import icc
from .icc_reml import icc_reml
from .jaccard import pairwise_jaccard
from .kappa import fleiss_kappa_counts, krippendorff_alpha, pairwise_cohen
from .majority import majority_vote_counts
from .mos import mos
from .raters import group_summary, rater_summary
from .records import DimensionData, pivot_records
from .retest import retest_agreement_codes, retest_reliability
from .screening import bt500_screening

LEVELS = ("nominal", "ordinal", "interval")


class _Clock:
    """Collects per-statistic wall times for the benchmark; a no-op dict when not asked."""

    def __init__(self, sink: dict[str, float] | None) -> None:
        self.sink = sink
        self.last = time.perf_counter()

    def tick(self, name: str) -> None:
        now = time.perf_counter()
        if self.sink is not None:
            self.sink[name] = self.sink.get(name, 0.0) + now - self.last
        self.last = now


_gc_lock = threading.Lock()
_gc_pauses = 0  # reports (threads) inside _gc_paused now
_gc_was_enabled = False


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building the per-image lists.

    Why: 100k freshly allocated dicts trigger a full collection pass again and again (about 5x
    the build time); the lists hold no reference cycles, so nothing is lost by waiting. Counted
    under a lock, since reports of several dimensions may be built at once (`dimension_reports`):
    the last one out restores the GC as the first one in found it.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def _plain(value: Any) -> Any:
    """numpy scalars -> Python, integral floats -> int (class labels read better as 7 than 7.0)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _plain_list(values: Sequence[Any]) -> list[Any]:
    """[_plain(v) for v in values], skipping the per-item calls when every item is str or int
    (image names from the database are): those come out of `_plain` unchanged."""
    if set(map(type, values)) <= {str, int}:
        return list(values)
    return [_plain(v) for v in values]


def _score_classes(
    values: np.ndarray, bins: Sequence[tuple[str, float, float]] | None
) -> tuple[np.ndarray, list[Any], str]:
    """Classes for Jaccard and majority on a score dimension, as a map from distinct scores.

    Returns ``(groups, labels, rule)``: ``groups[c]`` is the class of distinct score c. Binned
    grades when bins are given, cover every observed score and are fewer than the distinct
    scores; otherwise each distinct score is its own class (e.g. a 0/1 dimension).
    """
    if bins and len(values) > len(bins):
        try:
            groups, labels = bin_scores(values[None, :], bins)
            spans = ", ".join(f"{lab} {lo:g}-{hi:g}" for lab, lo, hi in bins)
            return groups[0], labels, f"binned: {spans}"
        except ValueError:
            pass
    return np.arange(len(values)), [_plain(v) for v in values], "distinct scores"


def _merge_counts(counts: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    member = np.zeros((counts.shape[1], n_groups), dtype=counts.dtype)
    member[np.arange(counts.shape[1]), groups] = 1
    return counts @ member


def dimension_report(
    data: DimensionData,
    *,
    score_bins: Sequence[tuple[str, float, float]] | None = DEFAULT_SCORE_BINS,
    screen: bool = False,
    sd_threshold: float = 2.0,
    split_share: float = 0.7,
    tie_break: Any = None,
    bias_threshold: float = 1.0,
    retest_min_pairs: int = 5,
    timings: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Report for one dimension already pivoted to matrices (see the module docstring).

    Majority vote and split-vote flags are given for category dimensions and for numeric
    dimensions with no more distinct scores than classes (e.g. 0/1); on a 1-10 score the MOS
    is the reference and ``majority`` is null.
    """
    clock = _Clock(timings)
    raters = data.raters
    images = _plain_list(data.images)
    notes: list[str] = []
    out: dict[str, Any] = {
        "kind": data.kind,
        "n_images": len(images),
        "n_raters": len(raters),
    }
    if data.kind == "score":
        scores = data.values
        present = ~np.isnan(scores)
        codes, values = codes_from_values(scores)
        positions = values
        groups, classes, class_rule = _score_classes(values, score_bins)
        ordered = True
        with_majority = class_rule == "distinct scores"
    else:
        codes = data.values
        present = codes >= 0
        classes = list(data.classes or [])
        positions = np.arange(len(classes), dtype=float)
        groups, class_rule, ordered = np.arange(len(classes)), "labels", data.ordered
        with_majority = True
    out["n_images_complete"] = int(present.all(axis=1).sum()) if len(raters) else 0
    counts = class_counts(codes, len(positions))
    confusions = pairwise_confusions(codes, len(positions))
    clock.tick("prepare")

    screening = None
    table = None
    if data.kind == "score":
        screening = bt500_screening(scores, raters)
        screening["applied"] = bool(screen)
        rejected = screening.pop("rejected_index")
        mos_scores = scores
        if screen and rejected:
            mos_scores = scores.copy()
            mos_scores[:, rejected] = np.nan
            notes.append(
                "MOS excludes raters rejected by BT.500 screening: "
                + ", ".join(screening["rejected"])
            )
        clock.tick("screening")
        table = mos(mos_scores)
        columns = [
            table.n.tolist(),
            num_list(table.mean),
            num_list(table.sd),
            num_list(table.median),
            num_list(table.ci_low),
            num_list(table.ci_high),
        ]
        with _gc_paused():
            out["mos"] = [
                {"image": img, "n": n, "mean": m, "sd": s, "median": md, "ci95": [lo, hi]}
                for img, n, m, s, md, lo, hi in zip(images, *columns, strict=True)
            ]
        clock.tick("mos")
        out["icc"] = icc(scores)
        clock.tick("icc")
        out["icc_reml"] = icc_reml(scores)
        clock.tick("icc_reml")
    else:
        out["mos"] = []
        out["icc"] = None
        out["icc_reml"] = None
        notes.append("category labels: MOS and ICC are not defined")

    levels = LEVELS if ordered else ("nominal",)
    alphas = krippendorff_alpha(codes, positions, levels, counts=counts)
    out["krippendorff_alpha"] = {level: alphas.get(level) for level in LEVELS}
    clock.tick("krippendorff")
    kappa, used = fleiss_kappa_counts(counts)
    out["fleiss_kappa"] = kappa
    out["fleiss_kappa_n_images"] = used
    clock.tick("fleiss")
    out["cohen_kappa"] = pairwise_cohen(
        None, len(positions), raters, positions, ordered, confusions=confusions
    )
    clock.tick("cohen")
    # Binned grades: each pair's grade confusion is a block sum of its score confusion.
    class_confusions = (
        {pair: merge_classes(c, groups, len(classes)) for pair, c in confusions.items()}
        if class_rule.startswith("binned")
        else confusions
    )
    out["jaccard"] = pairwise_jaccard(None, classes, raters, confusions=class_confusions)
    out["jaccard_classes"] = class_rule
    clock.tick("jaccard")

    flags: dict[str, Any] = {}
    out["majority"] = None
    if with_majority:
        tie_code = None
        if tie_break is not None:
            if tie_break not in classes:
                raise ValueError(f"tie_break {tie_break!r} is not a class of {data.name!r}")
            tie_code = classes.index(tie_break)
        vote = majority_vote_counts(_merge_counts(counts, groups, len(classes)), tie_code)
        with _gc_paused():
            labels = [
                {
                    "image": img,
                    "label": classes[lab] if lab >= 0 else None,
                    "tied": t,
                    "votes": v,
                    "n": n,
                }
                for img, lab, t, v, n in zip(
                    images,
                    vote.label.tolist(),
                    vote.tied.tolist(),
                    vote.votes.tolist(),
                    vote.n.tolist(),
                    strict=True,
                )
            ]
        out["majority"] = {
            "classes": classes,
            "tie_rule": (
                "tie -> null label, tied=true"
                if tie_code is None
                else f"tie -> {tie_break!r} if among the tied classes, else null; tied=true"
            ),
            "labels": labels,
        }
        split = flag_rules.split_vote(vote.votes, vote.n, split_share)
        flags["split_vote"] = [images[i] for i in np.flatnonzero(split).tolist()]
        flags["min_share"] = split_share
    clock.tick("majority")

    if table is not None:
        sd = table.sd if mos_scores is scores else mos(scores).sd
        high = flag_rules.high_sd(sd, sd_threshold)
        flags["high_sd"] = [images[i] for i in np.flatnonzero(high).tolist()]
        flags["sd_threshold"] = sd_threshold
    out["flags"] = flags
    out["screening"] = screening
    clock.tick("flags")

    numeric_values = (
        scores if data.kind == "score" else np.where(present, codes, np.nan).astype(float)
    )
    per_rater = rater_summary(
        numeric_values,
        raters,
        data.durations_ms,
        data.groups or None,
        bias_threshold=bias_threshold,
        numeric=data.kind == "score",
    )
    out["raters"] = per_rater
    out["rater_groups"] = (
        group_summary(numeric_values, raters, data.groups, per_rater, data.durations_ms)
        if data.groups
        else {}
    )
    clock.tick("raters")

    if data.second is None:
        out["retest"] = None
    elif data.kind == "score":
        out["retest"] = retest_reliability(scores, data.second, raters, retest_min_pairs)
    else:
        out["retest"] = retest_agreement_codes(
            codes, data.second, len(classes), raters, retest_min_pairs
        )
    if data.ignored_repeats:
        notes.append(f"{data.ignored_repeats} readings beyond the second of an image were ignored")
    if data.second is not None:
        notes.append("repeated readings: the first enters every statistic, the second only retest")
    clock.tick("retest")
    out["notes"] = notes
    return out


def parallel_map(function: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
    """[function(item) for item in items], computed in parallel threads (one per core at most).

    For per-dimension work: most of it is numpy on large arrays, which releases the GIL.
    """
    items = list(items)
    workers = min(len(items), os.cpu_count() or 1)
    if workers < 2:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="report") as pool:
        return list(pool.map(function, items))


def dimension_reports(
    data: Mapping[str, DimensionData],
    tie_breaks: Mapping[str, Any] | None = None,
    **options: Any,
) -> dict[str, dict[str, Any]]:
    """Dimension name -> `dimension_report(data[name], **options)`, in the order of `data`.

    The dimensions are computed in parallel (`parallel_map`); the reports are those computed
    in turn.
    """
    ties = dict(tie_breaks or {})
    names = list(data)
    reports = parallel_map(
        lambda name: dimension_report(data[name], tie_break=ties.get(name), **options), names
    )
    return dict(zip(names, reports, strict=True))


def agreement_report(
    records: Iterable[Mapping[str, Any]],
    dimensions: Iterable[str] | None = None,
    *,
    category_orders: Mapping[str, list[Any]] | None = None,
    score_bins: Sequence[tuple[str, float, float]] | None = DEFAULT_SCORE_BINS,
    screen: bool = False,
    sd_threshold: float = 2.0,
    split_share: float = 0.7,
    tie_breaks: Mapping[str, Any] | None = None,
    bias_threshold: float = 1.0,
    retest_min_pairs: int = 5,
) -> dict[str, Any]:
    """Build the whole agreement report from long-format records.

    ``records``: mappings with ``image``, ``rater``, ``dimension``, ``value`` and optional
    ``duration_ms`` (active reading time) and ``group`` (the rater's profession group).
    Numeric values are ordinal scores and get every statistic; text values are category labels
    and get the nominal ones (kappa, Fleiss, nominal alpha, Jaccard, majority) - plus weighted
    kappa and ordinal / interval alpha on ranks when ``category_orders`` gives their order.
    ``screen=True`` drops raters rejected by BT.500 screening from the MOS (the rule applied is
    in ``screening``). ``tie_breaks`` maps a dimension to the class that wins a majority tie.
    The contract of the returned dict is in this module's docstring and ratings/stats/README.md.
    """
    data = pivot_records(records, dimensions, category_orders)
    return {
        "dimensions": dimension_reports(
            data,
            tie_breaks,
            score_bins=score_bins,
            screen=screen,
            sd_threshold=sd_threshold,
            split_share=split_share,
            bias_threshold=bias_threshold,
            retest_min_pairs=retest_min_pairs,
        )
    }
