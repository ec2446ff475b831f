"""A study's ratings straight into the statistics' images x raters matrices, without dicts.

`records_for_study` + `pivot_records` build one Python dict per rating, which costs seconds at
a million ratings; this builds the same `DimensionData` from the integer columns with numpy.
`tests/ratings/test_study_data.py` checks that both routes give the same report.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ratings.stats.records import DimensionData
from ratings.stats.report import dimension_report, parallel_map

from ..models import DimensionKind, ReaderStudy
from .records import (
    NO_TIME,
    RatingColumns,
    image_keys,
    rater_names,
    rating_columns,
    run_concurrently,
)


def _read(study: ReaderStudy, dimensions: Iterable[str] | None):
    """(columns, image names, rater names, [(dimension, its rows in columns)...])."""
    # The image names are read alongside the ratings (in parallel outside a transaction).
    # Unordered: `_pivot` needs no sorted rows (sorting 2M rows cost more than pivoting).
    columns, images = run_concurrently(
        lambda: rating_columns(study, dimensions, ordered=False), lambda: image_keys(study)
    )
    raters = rater_names(study, _distinct(columns.rater_id).tolist())
    parts = []
    for dimension in study.dimensions.order_by("order", "pk"):
        rows = np.flatnonzero(columns.dimension_id == dimension.pk)
        if len(rows):
            parts.append((dimension, rows))
    return columns, images, raters, parts


def study_dimension_data(
    study: ReaderStudy, dimensions: Iterable[str] | None = None
) -> dict[str, DimensionData]:
    """Dimension key -> its matrices, for every dimension with submitted ratings."""
    columns, images, raters, parts = _read(study, dimensions)
    return {
        dimension.key: _pivot(dimension, columns.take(rows), images, raters)
        for dimension, rows in parts
    }


def _pivot(dimension, columns: RatingColumns, images: dict, raters: dict) -> DimensionData:
    image_ids = _image_order(columns.image_id, columns.repeat_index)
    image_code = _codes(columns.image_id, image_ids)
    # Raters sorted by pseudonym, so rater-pair keys do not depend on database ids.
    rater_ids = sorted(_distinct(columns.rater_id).tolist(), key=lambda pk: raters[pk][0])
    rater_code = _codes(columns.rater_id, np.asarray(rater_ids, dtype=np.int64))
    shape = (len(image_ids), len(rater_ids))

    if dimension.kind == DimensionKind.CATEGORY:
        kind, classes, ordered = "category", [str(c) for c in dimension.categories], True
        missing, dtype = -1, np.int64
    else:
        kind, classes, ordered = "score", None, True
        missing, dtype = np.nan, float
    first = columns.repeat_index == 0
    second = columns.repeat_index == 1
    values = _matrix(
        shape, missing, dtype, image_code[first], rater_code[first], columns.value[first]
    )
    retest = None
    if second.any():
        retest = _matrix(
            shape, missing, dtype, image_code[second], rater_code[second], columns.value[second]
        )
    durations = None
    if (columns.active_ms != NO_TIME).any():
        active = np.where(columns.active_ms == NO_TIME, np.nan, columns.active_ms.astype(float))
        durations = _matrix(
            shape, np.nan, float, image_code[first], rater_code[first], active[first]
        )
    groups = {raters[pk][0]: raters[pk][1] for pk in rater_ids if raters[pk][1]}
    return DimensionData(
        name=dimension.key,
        kind=kind,
        images=[images[pk] for pk in image_ids.tolist()],
        raters=[raters[pk][0] for pk in rater_ids],
        values=values,
        classes=classes,
        ordered=ordered,
        second=retest,
        durations_ms=durations,
        groups=groups,
        ignored_repeats=int((columns.repeat_index >= 2).sum()),
    )


def _image_order(image_id: np.ndarray, repeat_index: np.ndarray) -> np.ndarray:
    """Distinct image ids in order of first appearance in the record order, whatever the order
    of the rows given: records are sorted by repeat index, then image id (rating_columns), so
    that is the images of first readings by id, then those first seen in a repeat, by id..."""
    repeats = _distinct(repeat_index).tolist()
    if len(repeats) <= 1:
        return _distinct(image_id)
    parts: list[np.ndarray] = []
    for repeat in repeats:
        ids = _distinct(image_id[repeat_index == repeat])
        if parts:
            ids = ids[np.isin(ids, np.concatenate(parts), invert=True)]
        parts.append(ids)
    return np.concatenate(parts)


def _compact(low: int, high: int, n: int) -> bool:
    """Whether ids in [low, high] are dense enough (serial keys) for a lookup table over them."""
    return high - low < 4 * n + (1 << 20)


def _distinct(ids: np.ndarray) -> np.ndarray:
    """np.unique(ids) (sorted distinct ids), by counting when the id range is compact."""
    if len(ids):
        low, high = int(ids.min()), int(ids.max())
        if _compact(low, high, len(ids)):
            return np.flatnonzero(np.bincount(ids - low)) + low
    return np.unique(ids)


def _codes(ids: np.ndarray, ordered_ids: np.ndarray) -> np.ndarray:
    """Each id's position in `ordered_ids` (which holds every id once)."""
    if len(ordered_ids):
        low, high = int(ordered_ids.min()), int(ordered_ids.max())
        if _compact(low, high, len(ordered_ids)):
            table = np.empty(high - low + 1, dtype=np.intp)
            table[ordered_ids - low] = np.arange(len(ordered_ids), dtype=np.intp)
            return table[ids - low]
    sorter = np.argsort(ordered_ids)
    return sorter[np.searchsorted(ordered_ids, ids, sorter=sorter)]


def _matrix(shape, missing, dtype, rows, cols, values) -> np.ndarray:
    matrix = np.full(shape, missing, dtype=dtype)
    matrix[rows, cols] = values
    return matrix


def study_report(
    study: ReaderStudy, dimensions: Iterable[str] | None = None, **options: Any
) -> dict[str, Any]:
    """The agreement report (contract: ratings/stats/report.py) of a study's ratings.

    `options` are those of `ratings.stats.report.dimension_report` (screen, score_bins...);
    `tie_breaks` maps a dimension key to the class that wins a majority tie. The dimensions
    are pivoted and computed in parallel (`ratings.stats.report.parallel_map`).
    """
    ties = dict(options.pop("tie_breaks", None) or {})
    columns, images, raters, parts = _read(study, dimensions)

    def report(part) -> dict[str, Any]:
        # Pivot and statistics of one dimension, touching no database (runs in a thread).
        dimension, rows = part
        data = _pivot(dimension, columns.take(rows), images, raters)
        return dimension_report(data, tie_break=ties.get(dimension.key), **options)

    reports = parallel_map(report, parts)
    return {
        "dimensions": {
            dimension.key: out for (dimension, _rows), out in zip(parts, reports, strict=True)
        }
    }
