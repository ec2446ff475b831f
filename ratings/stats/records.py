"""Long-format rating records: validation, CSV reading, pivoting to per-dimension matrices."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

REQUIRED = ("image", "rater", "dimension", "value")
OPTIONAL = ("duration_ms", "group")


class RecordError(ValueError):
    """A rating record (or CSV row) that cannot be used; the message names the line or index."""


@dataclass
class DimensionData:
    """One dimension pivoted to images x raters: first readings, repeats, durations."""

    name: str
    kind: str  # "score" (numeric, ordinal) or "category" (text labels)
    images: list[Any]
    raters: list[Any]
    values: np.ndarray  # float scores (NaN missing) or int class codes (-1 missing)
    classes: list[Any] | None = None  # category labels, code order
    ordered: bool = False  # categories carry an order (weighted kappa, ordinal alpha allowed)
    second: np.ndarray | None = None  # second reading of a repeated image, same coding
    durations_ms: np.ndarray | None = None
    groups: dict[Any, str] = field(default_factory=dict)
    ignored_repeats: int = 0


def records_from_csv(file: str | Path | IO[str]) -> list[dict[str, Any]]:
    """Read long-format CSV (image, rater, dimension, value [, duration_ms, group]) into records.

    Raises RecordError naming the CSV line of the first bad row (missing column, empty required
    field, non-numeric or negative duration_ms). Values stay text; ``agreement_report`` decides
    per dimension whether they are numeric scores or category labels.
    """
    if isinstance(file, (str, Path)):
        with open(file, newline="", encoding="utf-8-sig") as handle:
            return records_from_csv(handle)
    text = file.read()
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise RecordError(f"line 1: CSV header lacks column(s) {', '.join(missing)}")
    reader.fieldnames = header
    records: list[dict[str, Any]] = []
    for row in reader:
        line = reader.line_num
        if None in row:
            raise RecordError(f"line {line}: more fields than the header has columns")
        record: dict[str, Any] = {}
        for column in REQUIRED:
            cell = (row.get(column) or "").strip()
            if not cell:
                raise RecordError(f"line {line}: empty {column!r}")
            record[column] = cell
        duration = (row.get("duration_ms") or "").strip()
        if duration:
            try:
                ms = float(duration)
            except ValueError:
                raise RecordError(
                    f"line {line}: duration_ms {duration!r} is not a number"
                ) from None
            if not math.isfinite(ms) or ms < 0:
                raise RecordError(f"line {line}: duration_ms {duration!r} must be >= 0")
            record["duration_ms"] = ms
        group = (row.get("group") or "").strip()
        if group:
            record["group"] = group
        records.append(record)
    return records


def _numeric(values: list[Any]) -> np.ndarray | None:
    """Values as floats if every one is a number (or numeric text), else None."""
    if any(isinstance(v, bool) for v in values):
        return None
    parsed = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)
    if np.isnan(parsed).any():
        return None
    return parsed


def pivot_records(
    records: Iterable[Mapping[str, Any]],
    dimensions: Iterable[str] | None = None,
    category_orders: Mapping[str, list[Any]] | None = None,
) -> dict[str, DimensionData]:
    """Group records by dimension and pivot each to an images x raters matrix.

    Images keep their order of first appearance; raters are sorted by their text. A second
    record for the same (image, rater, dimension) is that rater's second reading (test-retest);
    further repeats are counted in ``ignored_repeats``. A dimension whose values are all
    numeric is a "score" dimension; otherwise every value is a text category label.
    """
    cols: dict[str, list[Any]] = {k: [] for k in (*REQUIRED, *OPTIONAL)}
    for index, rec in enumerate(records):
        for key in REQUIRED:
            value = rec.get(key)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise RecordError(f"record {index}: missing {key!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise RecordError(f"record {index}: {key!r} is {value!r}")
            cols[key].append(value)
        duration = rec.get("duration_ms")
        cols["duration_ms"].append(np.nan if duration in (None, "") else float(duration))
        cols["group"].append(rec.get("group"))
    wanted = list(dimensions) if dimensions is not None else None
    orders = dict(category_orders or {})
    arrays = {k: _object_array(v) for k, v in cols.items() if k != "duration_ms"}
    arrays["duration_ms"] = np.asarray(cols["duration_ms"], dtype=float)

    dim_codes, dim_names = pd.factorize(pd.Series(cols["dimension"], dtype=object))
    out: dict[str, DimensionData] = {}
    for d, name in enumerate(dim_names):
        if wanted is not None and name not in wanted:
            continue
        rows = np.flatnonzero(dim_codes == d)
        out[str(name)] = _pivot_one(str(name), rows, arrays, orders.get(name))
    if wanted is not None:
        absent = [w for w in wanted if w not in out]
        if absent:
            raise RecordError(f"no records for dimension(s) {', '.join(map(str, absent))}")
    return out


def _object_array(values: list[Any]) -> np.ndarray:
    # Filled element by element so tuple-like ids never become extra array dimensions.
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _factorize_sorted(values: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """Codes and uniques sorted by their text, so rater pair keys do not depend on input order."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    order = sorted(range(len(uniques)), key=lambda i: str(uniques[i]))
    remap = np.empty(len(order), dtype=np.int64)
    remap[order] = np.arange(len(order))
    return remap[codes], [uniques[i] for i in order]


def _pivot_one(
    name: str, rows: np.ndarray, cols: Mapping[str, np.ndarray], order: list[Any] | None
) -> DimensionData:
    image_codes, images = pd.factorize(pd.Series(cols["image"][rows], dtype=object))
    rater_codes, raters = _factorize_sorted(cols["rater"][rows])
    n_img, n_rat = len(images), len(raters)
    raw = cols["value"][rows].tolist()
    durations = cols["duration_ms"][rows]

    scores = _numeric(raw) if order is None else None
    if scores is not None:
        kind, classes, ordered, coded = "score", None, True, scores
        missing: float | int = np.nan
    else:
        labels = [str(v).strip() for v in raw]
        if order is not None:
            classes = [str(c) for c in order]
            unknown = sorted(set(labels) - set(classes))
            if unknown:
                raise RecordError(f"dimension {name!r}: labels {unknown} not in its category order")
            ordered = True
        else:
            classes, ordered = sorted(set(labels)), False
        lookup = {c: i for i, c in enumerate(classes)}
        kind, coded, missing = "category", np.array([lookup[v] for v in labels]), -1

    key = image_codes.astype(np.int64) * n_rat + rater_codes
    occurrence = pd.Series(key).groupby(key).cumcount().to_numpy()
    dtype = float if kind == "score" else np.int64
    values = np.full((n_img, n_rat), missing, dtype=dtype)
    first = occurrence == 0
    values[image_codes[first], rater_codes[first]] = coded[first]
    second = None
    again = occurrence == 1
    if again.any():
        second = np.full((n_img, n_rat), missing, dtype=dtype)
        second[image_codes[again], rater_codes[again]] = coded[again]
    dur = None
    if not np.isnan(durations).all():
        dur = np.full((n_img, n_rat), np.nan)
        dur[image_codes[first], rater_codes[first]] = durations[first]
    # A rater's group is the first non-empty group among their records.
    group_col = pd.Series(cols["group"][rows], dtype=object)
    has_group = (group_col.notna() & (group_col.astype(str) != "")).to_numpy()
    named, first_row = np.unique(rater_codes[has_group], return_index=True)
    group_values = group_col.to_numpy()[has_group]
    groups = {raters[r]: str(group_values[i]) for r, i in zip(named, first_row, strict=True)}
    return DimensionData(
        name=name,
        kind=kind,
        images=list(images),
        raters=list(raters),
        values=values,
        classes=classes,
        ordered=ordered,
        second=second,
        durations_ms=dur,
        groups=groups,
        ignored_repeats=int((occurrence >= 2).sum()),
    )
