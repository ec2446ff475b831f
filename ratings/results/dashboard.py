"""What the coordinator's dashboard shows: progress per rater, the cached report, its figures."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Max, Q

from imaging.models import Image

from ..models import (
    Assessment,
    AssessmentStatus,
    Dimension,
    DimensionKind,
    Membership,
    RaterProfile,
    Rating,
    ReaderStudy,
    Role,
)
from . import figures
from .records import image_keys
from .study_data import study_report as direct_report

# Bump when the report's or the figures' shape changes, so old cache entries are not served.
CACHE_VERSION = 2  # 2: icc_reml
CACHE_SECONDS = 24 * 3600
ICC_FORMS = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")


class Median(Aggregate):
    """PostgreSQL's exact median (continuous percentile)."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def ratings_state(study: ReaderStudy) -> str:
    """A short fingerprint of everything the report is computed from.

    Changes whenever a rating or an assessment is added, edited or removed, or a dimension or
    a rater's profile changes: the cached report is keyed by it, so it is never stale and is
    recomputed only after a change.
    """
    # Through the dimension, not the assessment: no join, four times faster on 1.8M ratings.
    ratings = Rating.objects.filter(dimension__study=study).aggregate(
        n=Count("pk"), last=Max("updated_at")
    )
    readings = Assessment.objects.filter(study=study).aggregate(
        n=Count("pk"), last=Max("updated_at")
    )
    dims = list(study.dimensions.values_list("pk", "key", "kind", "categories"))
    raters = list(
        RaterProfile.objects.filter(
            user__memberships__study=study, user__memberships__role=Role.RATER
        ).values_list("user_id", "pseudonym", "profession")
    )
    parts = (CACHE_VERSION, ratings, readings, dims, raters)
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


def _cached(key: str, compute):
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value


def compute_report(study: ReaderStudy) -> dict[str, Any]:
    """The agreement report of the study, computed now from its submitted ratings."""
    return direct_report(study)


def study_report(study: ReaderStudy, state: str | None = None) -> dict[str, Any]:
    """The agreement report, from the cache while no rating changed (see ``ratings_state``)."""
    state = state or ratings_state(study)
    return _cached(f"iqa:report:{study.pk}:{state}", lambda: compute_report(study))


# Per-image lists the pages do not show row by row; only MOS means are kept, for the histogram.
_PER_IMAGE = ("mos", "majority")


def study_summary(study: ReaderStudy, state: str) -> tuple[dict[str, Any], list[FlaggedImage]]:
    """The report without its per-image lists, and the flagged images: what the pages need.

    Cached apart from the full report because a 100k-image report takes longer to unpickle
    from the cache than the dashboard may take in all.
    """

    def build():
        report = study_report(study, state)
        slim = {
            key: {
                **{k: v for k, v in section.items() if k not in _PER_IMAGE},
                "mos_means": [row["mean"] for row in section.get("mos") or []],
            }
            for key, section in report.get("dimensions", {}).items()
        }
        return {"dimensions": slim}, flagged_images(study, report)

    return _cached(f"iqa:summary:{study.pk}:{state}", build)


@dataclass
class RaterProgress:
    user_id: int
    pseudonym: str
    profession: str
    done: int
    skipped: int
    total: int
    median_active_ms: float | None
    last_submitted_at: datetime | None

    @property
    def median_s(self) -> float | None:
        return None if self.median_active_ms is None else self.median_active_ms / 1000

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def rater_progress(study: ReaderStudy, state: str | None = None) -> list[RaterProgress]:
    """Per rater: first readings submitted / skipped out of the study's images; cached by state."""
    state = state or ratings_state(study)
    members = list(study.memberships.filter(role=Role.RATER).values_list("user_id", flat=True))
    # Also keyed by who rates and how many images there are: both change the counts' meaning.
    team = hashlib.sha1(repr((sorted(members), study.study_images.count())).encode()).hexdigest()
    key = f"iqa:progress:{study.pk}:{state}:{team[:12]}"
    return _cached(key, lambda: compute_progress(study))


def compute_progress(study: ReaderStudy) -> list[RaterProgress]:
    """Progress per rater, counted now (a few hundred ms on a 100k-image study)."""
    total = study.study_images.count()
    members = (
        Membership.objects.filter(study=study, role=Role.RATER)
        .select_related("user__rater_profile")
        .order_by("user_id")
    )
    counts = {
        row["rater_id"]: row
        for row in Assessment.objects.filter(study=study, repeat_index=0)
        .values("rater_id")
        .annotate(
            done=Count("pk", filter=Q(status=AssessmentStatus.SUBMITTED)),
            skipped=Count("pk", filter=Q(status=AssessmentStatus.SKIPPED)),
            last=Max("submitted_at"),
        )
    }
    medians = _median_active_ms(study)
    out = []
    for member in members:
        profile = getattr(member.user, "rater_profile", None)
        row = counts.get(member.user_id, {})
        out.append(
            RaterProgress(
                user_id=member.user_id,
                pseudonym=profile.pseudonym if profile else f"rater-{member.user_id}",
                profession=profile.get_profession_display() if profile else "",
                done=row.get("done", 0),
                skipped=row.get("skipped", 0),
                total=total,
                median_active_ms=medians.get(member.user_id),
                last_submitted_at=row.get("last"),
            )
        )
    return out


def _median_active_ms(study: ReaderStudy) -> dict[int, float]:
    readings = Assessment.objects.filter(
        study=study, status=AssessmentStatus.SUBMITTED, active_ms__isnull=False
    )
    if connection.vendor == "postgresql":
        rows = readings.values("rater_id").annotate(median=Median("active_ms"))
        return {row["rater_id"]: row["median"] for row in rows}
    # Other databases lack an ordered-set aggregate: the median is taken in Python.
    per_rater: dict[int, list[int]] = {}
    for rater_id, ms in readings.values_list("rater_id", "active_ms").iterator():
        per_rater.setdefault(rater_id, []).append(ms)
    out = {}
    for rater_id, values in per_rater.items():
        values.sort()
        mid = len(values) // 2
        out[rater_id] = (
            float(values[mid]) if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
        )
    return out


@dataclass
class FlaggedImage:
    key: str
    image_id: int | None
    reasons: list[str] = field(default_factory=list)


def flagged_images(study: ReaderStudy, report: Mapping[str, Any]) -> list[FlaggedImage]:
    """Images the report flags in any dimension (high rating SD, split vote), with the reasons."""
    labels = {d.key: d.label for d in study.dimensions.all()}
    ids = {key: pk for pk, key in image_keys(study).items()}
    found: dict[str, FlaggedImage] = {}
    for dim, section in report.get("dimensions", {}).items():
        flags = section.get("flags") or {}
        rules = (
            ("high_sd", f"SD > {flags.get('sd_threshold')}"),
            ("split_vote", f"winning class < {flags.get('min_share', 0) * 100:.0f}% of votes"),
        )
        for rule, text in rules:
            for image in flags.get(rule) or []:
                item = found.setdefault(str(image), FlaggedImage(str(image), ids.get(str(image))))
                item.reasons.append(f"{labels.get(dim, dim)}: {text}")
    return sorted(found.values(), key=lambda f: f.key)


@dataclass
class DimensionView:
    """One dimension's part of the dashboard: numbers from the report and SVG figures."""

    key: str
    label: str
    kind: str
    section: dict[str, Any]
    icc_rows: list[dict[str, Any]]
    kappa_weight: str
    pairs: list[tuple[str, str]]  # (report key "a|b", "a vs b")
    pair: str | None
    figures: dict[str, str]
    rater_rows: list[dict[str, Any]]


def _grade(value: float) -> str:
    if value >= 0.9:
        return "excellent"
    if value >= 0.75:
        return "good"
    if value >= 0.5:
        return "moderate"
    return "poor"


def koo_li(row: Mapping[str, Any]) -> str:
    """Koo & Li (2016): reliability read from the ICC's 95% CI, e.g. "good–excellent"."""
    lo, hi = (row.get("ci95") or [None, None])[:2]
    if lo is None or hi is None:
        return _grade(row["value"]) if row.get("value") is not None else ""
    low, high = _grade(lo), _grade(hi)
    return low if low == high else f"{low}–{high}"


def p_text(p: float | None) -> str:
    if p is None:
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def kappa_weight(dimension: Dimension) -> str:
    """Quadratic weights for scores (ordered, many levels); unweighted for classes."""
    return "quadratic" if dimension.kind == DimensionKind.SCORE else "unweighted"


def dimension_view(
    study: ReaderStudy,
    report: Mapping[str, Any],
    dimension: Dimension,
    pair: str | None = None,
    theme: figures.Theme = figures.Theme.DARK,
    state: str | None = None,
    svg: Callable[[str | None], dict[str, str]] | None = None,
) -> DimensionView | None:
    """Numbers and figures of one dimension; None if unrated.

    The figures come from ``svg(pair)`` when given (a stored snapshot's), else they are drawn
    and cached with the report.
    """
    section = report.get("dimensions", {}).get(dimension.key)
    if section is None:
        return None
    pairs = list(section.get("jaccard") or {})
    if pair not in pairs:
        pair = pairs[0] if pairs else None
    weight = kappa_weight(dimension)
    if svg is None:
        state = state or ratings_state(study)
        key = f"iqa:figures:{study.pk}:{state}:{dimension.pk}:{theme}:{pair}"
        drawn = _cached(key, lambda: dimension_figures(dimension, section, pair, weight, theme))
    else:
        drawn = svg(pair)
    icc = section.get("icc") or {}
    reml = section.get("icc_reml") or {}
    rows = [
        dict(
            icc[form],
            form=form,
            p_text=p_text(icc[form].get("p")),
            reading=koo_li(icc[form]),
            reml=reml.get(form),
        )
        for form in ICC_FORMS
        if form in icc
    ]
    raters = section.get("raters") or {}
    rater_rows = [
        dict(
            entry,
            name=name,
            median_s=_seconds((entry.get("time_ms") or {}).get("median")),
            iqr_s=_seconds((entry.get("time_ms") or {}).get("iqr")),
        )
        for name, entry in raters.items()
    ]
    return DimensionView(
        key=dimension.key,
        label=dimension.label,
        kind=dimension.kind,
        section=dict(section),
        icc_rows=rows,
        kappa_weight=weight,
        pairs=[(p, p.replace("|", " vs ", 1)) for p in pairs],
        pair=pair,
        figures=drawn,
        rater_rows=rater_rows,
    )


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000


def dimension_figures(
    dimension: Dimension,
    section: Mapping[str, Any],
    pair: str | None,
    weight: str,
    theme: figures.Theme,
) -> dict[str, str]:
    """Every figure of one dimension as SVG, by name (absent when the data does not allow it)."""
    out: dict[str, str] = {}
    raters = section.get("raters") or {}
    means = section.get("mos_means")
    if means is None:
        means = [row["mean"] for row in section.get("mos") or []]
    if means:
        out["mos"] = figures.mos_histogram(
            means,
            low=dimension.min_value,
            high=dimension.max_value,
            title=f"{dimension.label} MOS",
            theme=theme,
        )
    if len(raters) >= 2:
        out["kappa"] = figures.kappa_matrix(
            list(raters), section.get("cohen_kappa") or {}, weight=weight, theme=theme
        )
    if pair is not None:
        a, _, b = pair.partition("|")
        out["jaccard"] = figures.jaccard_heatmap(section["jaccard"][pair], a, b, theme=theme)
    if raters and any(r.get("bias") is not None for r in raters.values()):
        out["bias"] = figures.rater_bias_chart(raters, theme=theme)
    if raters and any((r.get("time_ms") or {}).get("median") for r in raters.values()):
        out["time"] = figures.rater_time_chart(raters, theme=theme)
    return out


def full_report(study: ReaderStudy) -> dict[str, Any]:
    """What the self-contained HTML report shows: every dimension, every pair, light theme."""
    state = ratings_state(study)
    report, flagged = study_summary(study, state)
    sections = []
    for dimension in study.dimensions.all():
        section = report.get("dimensions", {}).get(dimension.key)
        if section is None:
            sections.append({"dimension": dimension, "view": None, "jaccard": []})
            continue
        view = dimension_view(study, report, dimension, None, figures.Theme.LIGHT, state)
        key = f"iqa:jaccard-all:{study.pk}:{state}:{dimension.pk}"
        jaccard = _cached(key, lambda s=section: _all_jaccard(s))
        sections.append({"dimension": dimension, "view": view, "jaccard": jaccard})
    return {
        "progress": rater_progress(study, state),
        "n_images": study.study_images.count(),
        "sections": sections,
        "flagged": flagged,
    }


def _all_jaccard(section: Mapping[str, Any]) -> list[tuple[str, str]]:
    light = figures.Theme.LIGHT
    return [
        (
            pair.replace("|", " vs ", 1),
            figures.jaccard_heatmap(entry, *pair.split("|", 1), theme=light),
        )
        for pair, entry in (section.get("jaccard") or {}).items()
    ]


@dataclass
class ReadingRow:
    """One rater's reading of an image, with the value given for each dimension."""

    pseudonym: str
    profession: str
    repeat_index: int
    status: str
    submitted_at: datetime | None
    active_ms: int | None
    values: list[str]
    revised: int

    @property
    def active_s(self) -> float | None:
        return _seconds(self.active_ms)


def thumbnail_data_uri(image: Image) -> str | None:
    """The image's thumbnail inlined as a data URI (media files are never served directly)."""
    if not image.thumbnail:
        return None
    try:
        with image.thumbnail.open("rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def image_ratings(study: ReaderStudy, image: Image) -> dict[str, Any]:
    """Every reading of one image in the study, every rater's values side by side."""
    dimensions = list(study.dimensions.all())
    readings = (
        Assessment.objects.filter(study=study, image=image)
        .select_related("rater__rater_profile")
        .prefetch_related("ratings__revisions")
        .order_by("rater_id", "repeat_index")
    )
    rows = []
    for reading in readings:
        by_dim = {r.dimension_id: r for r in reading.ratings.all()}
        profile = getattr(reading.rater, "rater_profile", None)
        rows.append(
            ReadingRow(
                pseudonym=profile.pseudonym if profile else f"rater-{reading.rater_id}",
                profession=profile.get_profession_display() if profile else "",
                repeat_index=reading.repeat_index,
                status=reading.get_status_display(),
                submitted_at=reading.submitted_at,
                active_ms=reading.active_ms,
                values=[
                    d.value_label(by_dim[d.pk].value) if d.pk in by_dim else "–" for d in dimensions
                ],
                revised=sum(len(r.revisions.all()) for r in by_dim.values()),
            )
        )
    return {"dimensions": dimensions, "rows": rows}
