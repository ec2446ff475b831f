"""The dashboard's snapshot: built by a worker after the results version moved, read by pages.

A 100k-image report takes seconds to compute (ratings/results/study_data.py), so pages never
compute it: ``refresh`` (the task ``ratings.refresh_study_results``) stores what the dashboard
shows - the report without its per-image lists, its default figures, progress per rater and the
flagged images - in the study's ``StudyResults`` row, labelled with the version it was built for.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..models import ReaderStudy, StudyResults
from . import figures
from .dashboard import (
    CACHE_SECONDS,
    FlaggedImage,
    RaterProgress,
    compute_progress,
    dimension_figures,
    dimension_view,
    flagged_images,
    kappa_weight,
)
from .freshness import request_refresh, results_of
from .study_data import study_report

logger = logging.getLogger(__name__)

# Bump when the snapshot's shape changes: a page treats an older shape as never computed.
SHAPE = 1
# Per-image lists (and flag lists, kept as `flagged`) that the dashboard does not show row by row.
_PER_IMAGE = ("mos", "majority")
_FLAG_LISTS = ("high_sd", "split_vote")


def build(study: ReaderStudy) -> dict[str, Any]:
    """Everything the dashboard shows, JSON-ready, computed now from the database."""
    report = study_report(study)
    dimensions = {d.key: d for d in study.dimensions.all()}
    sections = {}
    for key, section in report.get("dimensions", {}).items():
        slim = {k: v for k, v in section.items() if k not in _PER_IMAGE}
        slim["flags"] = {
            k: v for k, v in (section.get("flags") or {}).items() if k not in _FLAG_LISTS
        }
        pairs = list(section.get("jaccard") or {})
        dimension = dimensions.get(key)
        pair = slim["figures_pair"] = pairs[0] if pairs else None
        slim["figures"] = {}
        if dimension is not None:
            weight = kappa_weight(dimension)
            dark = figures.Theme.DARK
            slim["figures"] = dimension_figures(dimension, section, pair, weight, dark)
        sections[key] = slim
    progress = [
        {**asdict(row), "last_submitted_at": _iso(row.last_submitted_at)}
        for row in compute_progress(study)
    ]
    return {
        "shape": SHAPE,
        "n_images": study.study_images.count(),
        "report": {"dimensions": sections},
        "progress": progress,
        "flagged": [asdict(item) for item in flagged_images(study, report)],
    }


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def refresh(study_id: int) -> bool:
    """Bring the study's snapshot up to its version; False if it already was (or no study).

    Safe to run twice or concurrently: the snapshot is stored only over an older one.
    """
    rows = StudyResults.objects.filter(study_id=study_id)
    # Cleared first: a change made while this runs queues the next refresh.
    rows.update(refresh_queued_at=None)
    row = rows.first()
    study = ReaderStudy.objects.filter(pk=study_id).first()
    if study is None:
        return False
    if row is None:
        row, _ = StudyResults.objects.get_or_create(study=study)
    if row.is_current and (row.snapshot or {}).get("shape") == SHAPE:
        return False
    version = row.version
    started = time.perf_counter()
    try:
        data = build(study)
    except Exception as error:
        rows.update(error=f"{type(error).__name__}: {error}"[:2000])
        raise
    elapsed_ms = round((time.perf_counter() - started) * 1000)
    older = Q(computed_version__isnull=True) | Q(computed_version__lte=version)
    stored = rows.filter(older).update(
        snapshot=data,
        computed_version=version,
        computed_at=timezone.now(),
        compute_ms=elapsed_ms,
        error="",
    )
    logger.info("study %s results v%s computed in %d ms", study_id, version, elapsed_ms)
    return bool(stored)


def progress_rows(snapshot: dict[str, Any]) -> list[RaterProgress]:
    return [
        RaterProgress(**{**row, "last_submitted_at": _parse(row.get("last_submitted_at"))})
        for row in snapshot.get("progress") or []
    ]


def flagged_rows(snapshot: dict[str, Any]) -> list[FlaggedImage]:
    return [FlaggedImage(**item) for item in snapshot.get("flagged") or []]


def _parse(value: str | None):
    return parse_datetime(value) if value else None


def usable(row: StudyResults) -> bool:
    """Whether the row holds a snapshot this code can show (computed, of the current shape)."""
    return row.computed_version is not None and (row.snapshot or {}).get("shape") == SHAPE


def dashboard(
    study: ReaderStudy, dimension_key: str | None = None, pair: str | None = None
) -> dict[str, Any]:
    """Everything the dashboard page shows, from the stored snapshot: never computes a report.

    ``results`` says how fresh it is: ``computing`` (nothing to show yet) or ``updating`` (the
    last snapshot, while a worker computes the next).
    """
    row = results_of(study)
    dimensions = list(study.dimensions.all())
    status = {
        "row": row,
        "computing": not usable(row),
        "updating": usable(row) and not row.is_current,
    }
    if not usable(row):
        if row.is_current:  # computed by an older shape: have it recomputed
            transaction.on_commit(lambda: request_refresh(study.pk), robust=True)
        return {"results": status, "dimensions": dimensions, "progress": [], "flagged": []}
    data = row.snapshot
    report = data["report"]
    chosen = next((d for d in dimensions if d.key == dimension_key), None)
    if chosen is None:
        rated = [d for d in dimensions if d.key in report.get("dimensions", {})]
        chosen = (rated or dimensions or [None])[0]
    view = None
    if chosen is not None:
        section = report.get("dimensions", {}).get(chosen.key)
        view = dimension_view(
            study, report, chosen, pair, svg=lambda p: _stored_figures(row, chosen, section, p)
        )
    return {
        "results": status,
        "progress": progress_rows(data),
        "n_images": data.get("n_images", 0),
        "dimensions": dimensions,
        "dimension": chosen,
        "view": view,
        "flagged": flagged_rows(data),
    }


def _stored_figures(row: StudyResults, dimension, section: dict, pair: str | None) -> dict:
    """The snapshot's figures; another rater pair's Jaccard matrix is drawn (and cached)."""
    stored = dict(section.get("figures") or {})
    if pair is None or pair == section.get("figures_pair"):
        return stored
    a, _, b = pair.partition("|")
    stamp = row.computed_at.isoformat() if row.computed_at else ""
    key = f"iqa:jaccard:{row.study_id}:{row.computed_version}:{stamp}:{dimension.pk}:{pair}"
    svg = cache.get(key)
    if svg is None:
        svg = figures.jaccard_heatmap(section["jaccard"][pair], a, b, theme=figures.Theme.DARK)
        cache.set(key, svg, CACHE_SECONDS)
    stored["jaccard"] = svg
    return stored


def status(study: ReaderStudy) -> dict[str, Any]:
    """How fresh the study's snapshot is (what the page polls while it waits)."""
    row = results_of(study)
    return {
        "version": row.version,
        "computed_version": row.computed_version if usable(row) else None,
        "computed_at": _iso(row.computed_at),
        "error": row.error or None,
    }
