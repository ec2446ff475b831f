"""Per image and dimension: MOS with n, SD, median and 95% CI, and the majority label.

The statistics are ratings.stats' own (``mos``, ``majority_vote``); this module only arranges
the study's first readings into the images x raters matrices those functions take.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection

from imaging.models import Image
from ratings.stats.majority import majority_vote
from ratings.stats.mos import mos

from ..models import Assessment, AssessmentStatus, Dimension, DimensionKind, Rating, ReaderStudy
from .csv_cells import safe_row
from .records import image_keys, rating_columns

MOS_COLUMNS = (
    "image",
    "dimension",
    "kind",
    "n",
    "mos",
    "sd",
    "median",
    "ci95_low",
    "ci95_high",
    "majority",
    "majority_votes",
    "tied",
)
TIE_RULE = "a tie between classes gives no majority label (empty) and tied=true"


@dataclass(frozen=True)
class DimensionTable:
    """One dimension's per-image results, in the study's image order."""

    dimension: Dimension
    image_ids: list[int]
    n: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    median: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    majority: list[str | None]  # binary / category only; None for scores
    votes: np.ndarray
    tied: np.ndarray


def class_names(dimension: Dimension) -> list[str]:
    """Labels of a binary or category dimension's stored values, lowest first."""
    return [dimension.value_label(v) for v in range(dimension.min_value, dimension.max_value + 1)]


def dimension_tables(study: ReaderStudy) -> list[DimensionTable]:
    """MOS and majority of every dimension over every image of the study (first readings)."""
    columns = rating_columns(study)
    first = columns.take(np.flatnonzero(columns.repeat_index == 0))
    image_ids = np.array(sorted(image_keys(study)), dtype=np.int64)
    return _tables(
        study, image_ids, first.image_id, first.rater_id, first.dimension_id, first.value
    )


def page_tables(study: ReaderStudy, image_ids: list[int]) -> list[DimensionTable]:
    """The same as ``dimension_tables`` for a few of the study's images (a page of the API)."""
    # Two indexed lookups: joined in SQL, PostgreSQL scanned every rating of the table (1 s at
    # 1.8M ratings) instead of probing the few thousand of the page's readings.
    readings = _int_rows(
        f"SELECT id, image_id, rater_id FROM {Assessment._meta.db_table} "
        "WHERE study_id = %s AND status = %s AND repeat_index = 0 AND image_id {in}",
        [study.pk, AssessmentStatus.SUBMITTED.value],
        image_ids,
        3,
    )
    ratings = _int_rows(
        f"SELECT assessment_id, dimension_id, value FROM {Rating._meta.db_table} "
        "WHERE assessment_id {in}",
        [],
        readings[:, 0].tolist(),
        3,
    )
    order = np.argsort(readings[:, 0])
    reading = order[np.searchsorted(readings[order, 0], ratings[:, 0])] if len(ratings) else []
    ids = np.array(sorted(image_ids), dtype=np.int64)
    image_id, rater_id = readings[reading, 1], readings[reading, 2]
    return _tables(study, ids, image_id, rater_id, ratings[:, 1], ratings[:, 2])


def _int_rows(sql: str, params: list, ids: list[int], width: int) -> np.ndarray:
    """Rows of integers of ``sql`` whose ``{in}`` matches ``ids``: one array parameter on
    PostgreSQL (a list of thousands of placeholders cost more than the query itself)."""
    if connection.vendor == "postgresql":
        queries = [(sql.replace("{in}", "= ANY(%s)"), [*params, list(ids)])] if ids else []
    else:  # placeholders, in batches under SQLite's variable limit
        batches = [ids[i : i + 900] for i in range(0, len(ids), 900)]
        queries = [
            (sql.replace("{in}", f"IN ({', '.join(['%s'] * len(b))})"), [*params, *b])
            for b in batches
        ]
    rows = []
    with connection.cursor() as cursor:
        for query, values in queries:
            cursor.execute(query, values)
            rows.extend(cursor.fetchall())
    return np.array(rows, dtype=np.int64).reshape(-1, width)


def _tables(study, image_ids, image_id, rater_id, dimension_id, value) -> list[DimensionTable]:
    """Per dimension, the images x raters matrix of first readings and its MOS and majority."""
    raters = np.unique(rater_id)
    tables = []
    for dim in study.dimensions.order_by("order", "pk"):
        mine = np.flatnonzero(dimension_id == dim.pk)
        rows = np.searchsorted(image_ids, image_id[mine])
        cols = np.searchsorted(raters, rater_id[mine])
        matrix = np.full((len(image_ids), len(raters)), np.nan)
        matrix[rows, cols] = value[mine]
        table = mos(matrix)
        majority: list[str | None] = [None] * len(image_ids)
        votes = np.zeros(len(image_ids), dtype=np.int64)
        tied = np.zeros(len(image_ids), dtype=bool)
        if dim.kind != DimensionKind.SCORE:
            names = class_names(dim)
            codes = np.where(np.isnan(matrix), -1, matrix - dim.min_value).astype(np.int64)
            vote = majority_vote(codes, len(names))
            majority = [names[c] if c >= 0 else None for c in vote.label.tolist()]
            votes, tied = vote.votes, vote.tied
        tables.append(
            DimensionTable(
                dimension=dim,
                image_ids=image_ids.tolist(),
                n=table.n,
                mean=table.mean,
                sd=table.sd,
                median=table.median,
                ci_low=table.ci_low,
                ci_high=table.ci_high,
                majority=majority,
                votes=votes,
                tied=tied,
            )
        )
    return tables


def number(value: Any, digits: int = 4) -> float | int | None:
    """A JSON/CSV-safe number: None for NaN, rounded so exports are stable and readable."""
    value = float(value)
    if math.isnan(value):
        return None
    return round(value, digits)


def mos_rows(study: ReaderStudy, image_ids: list[int] | None = None) -> Iterator[tuple]:
    """Rows of the MOS table (MOS_COLUMNS), image by image, dimensions in study order.

    ``image_ids`` narrows it to those images of the study (a page); they are read alone.
    """
    if image_ids is None:
        names = image_keys(study)
        tables = dimension_tables(study)
    else:
        names = dict(Image.objects.filter(pk__in=image_ids).values_list("pk", "label"))
        names = {pk: label or str(pk) for pk, label in names.items()}
        tables = page_tables(study, image_ids)
    if not tables:
        return
    for i, image_id in enumerate(tables[0].image_ids):
        for t in tables:
            score = t.dimension.kind == DimensionKind.SCORE
            yield (
                names[image_id],
                t.dimension.key,
                t.dimension.kind,
                int(t.n[i]),
                number(t.mean[i]),
                number(t.sd[i]),
                number(t.median[i]),
                number(t.ci_low[i]),
                number(t.ci_high[i]),
                None if score else t.majority[i],
                None if score else int(t.votes[i]),
                None if score else bool(t.tied[i]),
            )


def iter_mos_csv(study: ReaderStudy) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MOS_COLUMNS)
    for count, row in enumerate(mos_rows(study), start=1):
        writer.writerow(safe_row(str(v).lower() if isinstance(v, bool) else v for v in row))
        if count % 5000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
