"""A study's submitted ratings as long-format records for ratings.stats (one dict per rating).

Record contract (ratings.stats.records): ``image`` (the image's neutral label, or its id when it
has none), ``rater`` (the rater's pseudonym), ``dimension`` (the dimension key), ``value`` (int
for score and binary dimensions, the category label text for category dimensions),
``duration_ms`` (the assessment's active time, None when unknown) and ``group`` (the rater's
profession). Records come in a fixed order - first readings before test-retest repeats (which
is how ratings.stats tells them apart), then by image, rater and dimension - so the same
ratings always give the same report.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection

from ..models import (
    Assessment,
    AssessmentStatus,
    DimensionKind,
    Image,
    Profession,
    RaterProfile,
    Rating,
    ReaderStudy,
    StudyImage,
)

# Rows per database round trip on the portable (non-PostgreSQL) path.
CHUNK = 20_000
COLUMNS = ("image_id", "rater_id", "dimension_id", "value", "active_ms", "repeat_index")
NO_TIME = -1  # active_ms unknown


@dataclass(frozen=True)
class RatingColumns:
    """Submitted ratings of a study as parallel int64 arrays, one entry per rating."""

    image_id: np.ndarray
    rater_id: np.ndarray
    dimension_id: np.ndarray
    value: np.ndarray
    active_ms: np.ndarray  # NO_TIME where unknown
    repeat_index: np.ndarray

    def __len__(self) -> int:
        return len(self.value)

    def take(self, index: np.ndarray | slice) -> RatingColumns:
        return RatingColumns(*(getattr(self, name)[index] for name in COLUMNS))


def image_keys(study: ReaderStudy) -> dict[int, str]:
    """Image id -> the name exports use for it: its neutral label, or its id if it has none."""
    # Plain SQL: at 100k images the ORM's per-row cost was most of this function's time.
    sql = (
        f"SELECT i.id, i.label FROM {Image._meta.db_table} i "
        f"JOIN {StudyImage._meta.db_table} s ON s.image_id = i.id WHERE s.study_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [study.pk])
        return {pk: (label or str(pk)) for pk, label in cursor.fetchall()}


def rater_names(study: ReaderStudy) -> dict[int, tuple[str, str]]:
    """User id -> (pseudonym, profession) of everyone who submitted in the study.

    A rater without a profile is named ``rater-<user id>``: exports never show a username.
    Their profession is the model's default, "other", as it would be with a new profile.
    """
    user_ids = (
        study.assessments.filter(status=AssessmentStatus.SUBMITTED)
        .order_by()  # the model's default ordering would make DISTINCT return every row
        .values_list("rater_id", flat=True)
        .distinct()
    )
    names = {pk: (f"rater-{pk}", Profession.OTHER.value) for pk in user_ids}
    profiles = RaterProfile.objects.filter(user_id__in=list(names)).values_list(
        "user_id", "pseudonym", "profession"
    )
    for user_id, pseudonym, profession in profiles:
        names[user_id] = (pseudonym, profession or Profession.OTHER.value)
    return names


def category_orders(study: ReaderStudy) -> dict[str, list[str]]:
    """Dimension key -> its category labels, lowest first (for ordered category statistics)."""
    return {
        d.key: [str(c) for c in d.categories]
        for d in study.dimensions.filter(kind=DimensionKind.CATEGORY)
    }


def _submitted(study: ReaderStudy, dimension_ids: list[int] | None):
    ratings = Rating.objects.filter(
        assessment__study=study, assessment__status=AssessmentStatus.SUBMITTED
    )
    if dimension_ids is not None:
        ratings = ratings.filter(dimension_id__in=dimension_ids)
    return ratings


def _packed_columns(sql: str, params: list[Any]) -> list[np.ndarray]:
    """Run a query whose one row holds each column as packed big-endian int4s."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return [np.frombuffer(bytes(part or b""), dtype=">i4").astype(np.int64) for part in row]


def _columns_postgresql(study: ReaderStudy, dimension_ids: list[int] | None) -> list[np.ndarray]:
    """The columns from two single-table queries, joined here on the assessment id.

    Each query returns one row holding each column as packed int4s: two million ratings leave
    the server as a few byte strings instead of two million tuples. Ratings are found through
    the study's dimensions, so the server never joins two million rows to their assessments
    (the join cost more than everything else together); numpy does it in a fraction.
    """
    rating, assessment = Rating._meta.db_table, Assessment._meta.db_table

    ACTIVE_MS = f"COALESCE(active_ms, {NO_TIME})"  # noqa: N806

    def packed(*exprs: str) -> str:
        return ", ".join(f"string_agg(int4send(({e})::int4), ''::bytea)" for e in exprs)

    a_id, image_id, rater_id, active_ms, repeat_index = _packed_columns(
        f"SELECT {packed('id', 'image_id', 'rater_id', ACTIVE_MS, 'repeat_index')} "
        f"FROM {assessment} WHERE study_id = %s AND status = %s",
        [study.pk, AssessmentStatus.SUBMITTED.value],
    )
    if dimension_ids is None:
        dimension_ids = list(study.dimensions.values_list("pk", flat=True))
    r_assessment, dimension_id, value = _packed_columns(
        f"SELECT {packed('assessment_id', 'dimension_id', 'value')} "
        f"FROM {rating} WHERE dimension_id = ANY(%s)",
        [list(dimension_ids)],
    )
    # Each rating's assessment among the submitted ones (ratings of open ones are dropped).
    order = np.argsort(a_id)
    where = np.searchsorted(a_id, r_assessment, sorter=order)
    where = order[np.minimum(where, max(len(order) - 1, 0))] if len(order) else where
    keep = (a_id[where] == r_assessment) if len(order) else np.zeros(len(value), dtype=bool)
    where = where[keep]
    return [
        image_id[where],
        rater_id[where],
        dimension_id[keep],
        value[keep],
        active_ms[where],
        repeat_index[where],
    ]


def _dimension_rank(study: ReaderStudy, dimension_id: np.ndarray) -> np.ndarray:
    """Each rating's dimension as its position in the study's dimension order."""
    ordered = study.dimensions.order_by("order", "pk").values_list("pk", flat=True)
    rank = {pk: i for i, pk in enumerate(ordered)}
    ids = np.array(sorted(rank), dtype=np.int64)
    if not len(ids) or not len(dimension_id):
        return np.zeros(len(dimension_id), dtype=np.int64)
    ranks = np.array([rank[i] for i in ids.tolist()], dtype=np.int64)
    return ranks[np.searchsorted(ids, dimension_id)]


def rating_columns(study: ReaderStudy, dimensions: Iterable[str] | None = None) -> RatingColumns:
    """The study's submitted ratings as columns, in the fixed record order (module docstring)."""
    dimension_ids = None
    if dimensions is not None:
        dimension_ids = list(
            study.dimensions.filter(key__in=list(dimensions)).values_list("pk", flat=True)
        )
    if connection.vendor == "postgresql":
        arrays = _columns_postgresql(study, dimension_ids)
    else:
        rows = (
            _submitted(study, dimension_ids)
            .values_list(
                "assessment__image_id",
                "assessment__rater_id",
                "dimension_id",
                "value",
                "assessment__active_ms",
                "assessment__repeat_index",
            )
            .iterator(chunk_size=CHUNK)
        )
        table = np.array(
            [(*row[:4], NO_TIME if row[4] is None else row[4], row[5]) for row in rows],
            dtype=np.int64,
        ).reshape(-1, len(COLUMNS))
        arrays = list(table.T)
    columns = RatingColumns(*arrays)
    rank = _dimension_rank(study, columns.dimension_id)
    index = np.lexsort((rank, columns.rater_id, columns.image_id, columns.repeat_index))
    return columns.take(index)


def records_for_study(
    study: ReaderStudy, dimensions: Iterable[str] | None = None, repeats: bool = True
) -> Iterator[dict[str, Any]]:
    """Yield one record per submitted rating of the study (see the module docstring).

    ``dimensions`` limits the records to those dimension keys; ``repeats`` False leaves out
    test-retest repeat readings.
    """
    columns = rating_columns(study, dimensions)
    if not repeats:
        columns = columns.take(np.flatnonzero(columns.repeat_index == 0))
    dims = {d.pk: d for d in study.dimensions.all()}
    images = image_keys(study)
    raters = rater_names(study)
    keys = {pk: d.key for pk, d in dims.items()}
    # Category values become their label; everything else stays the stored int.
    labels = {
        pk: [str(c) for c in d.categories]
        for pk, d in dims.items()
        if d.kind == DimensionKind.CATEGORY
    }
    # Python lists per slice, not for the whole study: memory stays flat.
    for start in range(0, len(columns), CHUNK):
        part = columns.take(slice(start, start + CHUNK))
        for image_id, rater_id, dim_id, value, active_ms in zip(
            part.image_id.tolist(),
            part.rater_id.tolist(),
            part.dimension_id.tolist(),
            part.value.tolist(),
            part.active_ms.tolist(),
            strict=True,
        ):
            names = labels.get(dim_id)
            pseudonym, profession = raters[rater_id]
            yield {
                "image": images[image_id],
                "rater": pseudonym,
                "dimension": keys[dim_id],
                "value": names[value] if names is not None else value,
                "duration_ms": None if active_ms == NO_TIME else active_ms,
                "group": profession,
            }
