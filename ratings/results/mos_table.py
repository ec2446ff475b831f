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

from ratings.stats.majority import majority_vote
from ratings.stats.mos import mos

from ..models import Dimension, DimensionKind, ReaderStudy
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
    raters = np.unique(first.rater_id)
    tables = []
    for dim in study.dimensions.order_by("order", "pk"):
        mine = first.take(np.flatnonzero(first.dimension_id == dim.pk))
        rows = np.searchsorted(image_ids, mine.image_id)
        cols = np.searchsorted(raters, mine.rater_id)
        matrix = np.full((len(image_ids), len(raters)), np.nan)
        matrix[rows, cols] = mine.value
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


def mos_rows(study: ReaderStudy) -> Iterator[tuple]:
    """Rows of the MOS table (MOS_COLUMNS), image by image, dimensions in study order."""
    names = image_keys(study)
    tables = dimension_tables(study)
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
