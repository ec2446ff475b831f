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

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection

from imaging.models import Image

from ..models import (
    Assessment,
    AssessmentStatus,
    DimensionKind,
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


def can_read_concurrently() -> bool:
    """Whether reads may go through connections of their own (other threads') in parallel.

    Not inside a transaction: another connection cannot see its uncommitted rows (tests run
    each in one) nor share its snapshot (exports read in one). PostgreSQL only, where the
    queries run on the server's cores. SQLite in WAL mode could serve two readers side by side,
    but its queries run in this process and their rows become Python objects under the GIL:
    with no measured gain, its reads run in turn.
    """
    return (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and connection.get_autocommit()
    )


def run_concurrently(*calls: Callable[[], Any]) -> list[Any]:
    """Results of the calls, run in parallel threads where `can_read_concurrently`.

    The first call runs in this thread on this connection; each other in a thread of its own,
    on a connection of its own (Django's connections are per thread) that is closed when the
    call returns. PostgreSQL serves the queries on separate cores. Otherwise they run in turn.
    """
    if len(calls) < 2 or not can_read_concurrently():
        return [call() for call in calls]
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException | None] = [None] * len(calls)

    def work(index: int) -> None:
        try:
            results[index] = calls[index]()
        except BaseException as error:  # re-raised in the calling thread
            errors[index] = error
        finally:
            connection.close()  # this thread's own connection

    threads = [
        threading.Thread(target=work, args=(index,), name=f"read-{index}", daemon=True)
        for index in range(1, len(calls))
    ]
    for thread in threads:
        thread.start()
    try:
        results[0] = calls[0]()
    finally:
        for thread in threads:
            thread.join()
    for error in errors:
        if error is not None:
            raise error
    return results


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


def rater_names(
    study: ReaderStudy, user_ids: Iterable[int] | None = None
) -> dict[int, tuple[str, str]]:
    """User id -> (pseudonym, profession) of everyone who submitted in the study.

    A rater without a profile is named ``rater-<user id>``: exports never show a username.
    Their profession is the model's default, "other", as it would be with a new profile.
    ``user_ids`` names only those users instead (e.g. the raters of columns already read,
    which spares a DISTINCT over every assessment of the study).
    """
    if user_ids is None:
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


def _fetch_one(sql: str, params: list[Any]) -> tuple[Any, ...]:
    """The one row of a query; with psycopg 3 in binary format.

    Why: Django's psycopg 3 cursors bind on the client, which allows only text results, and
    text sends bytea as hex - twice the bytes, encoded by the server and decoded here.
    """
    connection.ensure_connection()
    if connection.Database.__name__ != "psycopg":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    from psycopg import Cursor

    with connection.wrap_database_errors, Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchone()


def _packed_columns(sql: str, params: list[Any], n_columns: int) -> list[np.ndarray]:
    """Run a query whose one value holds its rows as packed big-endian int4s, row after row."""
    (packed,) = _fetch_one(sql, params)
    table = np.frombuffer(packed or b"", dtype=">i4").reshape(-1, n_columns)
    return [table[:, column].astype(np.int64) for column in range(n_columns)]


def _columns_postgresql(study: ReaderStudy, dimension_ids: list[int] | None) -> list[np.ndarray]:
    """The columns from two single-table queries, joined here on the assessment id.

    Each query returns one value holding its rows as packed int4s: two million ratings leave
    the server as one byte string instead of two million tuples (one aggregate of the row's
    concatenated int4s costs the server less than one aggregate per column). Ratings are found
    through the study's dimensions, so the server never joins two million rows to their
    assessments (the join cost more than everything else together); numpy does it in a
    fraction. Outside a transaction the two queries run in parallel, on two connections
    (`run_concurrently`).
    """
    rating, assessment = Rating._meta.db_table, Assessment._meta.db_table

    ACTIVE_MS = f"COALESCE(active_ms, {NO_TIME})"  # noqa: N806

    def packed(*exprs: str) -> str:
        return "string_agg(" + " || ".join(f"int4send(({e})::int4)" for e in exprs) + ", '')"

    if dimension_ids is None:
        dimension_ids = list(study.dimensions.values_list("pk", flat=True))
    (a_id, image_id, rater_id, active_ms, repeat_index), (r_assessment, dimension_id, value) = (
        run_concurrently(
            lambda: _packed_columns(
                f"SELECT {packed('id', 'image_id', 'rater_id', ACTIVE_MS, 'repeat_index')} "
                f"FROM {assessment} WHERE study_id = %s AND status = %s",
                [study.pk, AssessmentStatus.SUBMITTED.value],
                5,
            ),
            lambda: _packed_columns(
                f"SELECT {packed('assessment_id', 'dimension_id', 'value')} "
                f"FROM {rating} WHERE dimension_id = ANY(%s)",
                [list(dimension_ids)],
                3,
            ),
        )
    )
    # Each rating's assessment among the submitted ones (ratings of open ones are dropped).
    where, keep = _positions(a_id, r_assessment)
    where = where[keep]
    return [
        image_id[where],
        rater_id[where],
        dimension_id[keep],
        value[keep],
        active_ms[where],
        repeat_index[where],
    ]


def _positions(ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each wanted id's position in `ids` (distinct) and whether it is there at all.

    Positions of absent ids are arbitrary (in range); mask them with the second array. A direct
    lookup table over the id range when that is compact (ids are serial), else a sorted search.
    """
    if not len(ids):
        return np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), dtype=bool)
    low, high = int(ids.min()), int(ids.max())
    if high - low < 4 * len(ids) + (1 << 20):
        table = np.full(high - low + 1, -1, dtype=np.int64)
        table[ids - low] = np.arange(len(ids), dtype=np.int64)
        inside = (wanted >= low) & (wanted <= high)
        where = table[np.where(inside, wanted - low, 0)]
        keep = inside & (where >= 0)
        return np.where(keep, where, 0), keep
    order = np.argsort(ids)
    where = order[np.minimum(np.searchsorted(ids, wanted, sorter=order), len(order) - 1)]
    return where, ids[where] == wanted


def _record_order(columns: RatingColumns, rank: np.ndarray) -> np.ndarray:
    """The permutation that sorts by (repeat_index, image_id, rater_id, dimension rank).

    Exactly np.lexsort of those keys (both stable), but through one int64 key made of the
    offsets from each column's minimum: the rows mostly come in that order already, which a
    stable sort of one key exploits (tens of ms for 2M rows instead of hundreds). lexsort when
    the key would not fit in 63 bits.
    """
    keys = (columns.repeat_index, columns.image_id, columns.rater_id, rank)
    if not len(rank):
        return np.zeros(0, dtype=np.int64)
    lows = [int(k.min()) for k in keys]
    spans = [int(k.max()) - low + 1 for k, low in zip(keys, lows, strict=True)]
    total = 1
    for span in spans:
        total *= span
    if total >= 1 << 62:
        return np.lexsort(keys[::-1])
    combined = keys[0] - lows[0]
    for key, low, span in zip(keys[1:], lows[1:], spans[1:], strict=True):
        combined *= span
        combined += key - low
    return np.argsort(combined, kind="stable")


def _dimension_rank(study: ReaderStudy, dimension_id: np.ndarray) -> np.ndarray:
    """Each rating's dimension as its position in the study's dimension order."""
    ordered = study.dimensions.order_by("order", "pk").values_list("pk", flat=True)
    rank = {pk: i for i, pk in enumerate(ordered)}
    ids = np.array(sorted(rank), dtype=np.int64)
    if not len(ids) or not len(dimension_id):
        return np.zeros(len(dimension_id), dtype=np.int64)
    ranks = np.array([rank[i] for i in ids.tolist()], dtype=np.int64)
    return ranks[np.searchsorted(ids, dimension_id)]


def rating_columns(
    study: ReaderStudy, dimensions: Iterable[str] | None = None, ordered: bool = True
) -> RatingColumns:
    """The study's submitted ratings as columns, in the fixed record order (module docstring).

    ``ordered=False`` leaves them in the order read, for callers that do not depend on it
    (study_data pivots them to matrices and derives the record order's image order itself).
    """
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
    if not ordered:
        return columns
    rank = _dimension_rank(study, columns.dimension_id)
    return columns.take(_record_order(columns, rank))


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
