"""The long-format ratings export (one row per rating) as CSV or JSON, streamed in chunks.

The CSV's first columns are exactly what ``import_ratings`` and ratings.stats read back
(image, rater, dimension, value, repeat_index, duration_ms, group), so an export re-imported
into another study gives the same agreement report. Names are pseudonyms and neutral image
labels only; nothing identifies a patient or a rater's account.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from django.db import connection, models, transaction
from django.db.models import Count

from imaging.models import Image

from ..models import (
    Assessment,
    AssessmentStatus,
    Dimension,
    DimensionKind,
    Profession,
    RaterProfile,
    Rating,
    RatingRevision,
    ReaderStudy,
)
from .csv_cells import pg_safe, safe_row
from .records import image_keys, rater_names

COLUMNS = (
    "image",
    "rater",
    "dimension",
    "value",
    "repeat_index",
    "duration_ms",
    "group",
    "revision_count",
    "opened_at",
    "first_rendered_at",
    "submitted_at",
    "first_input_ms",
    "zoom_count",
    "pan_count",
    "window_count",
    "scroll_count",
)
# Rows per database round trip and per chunk handed to the writer / HTTP response.
CHUNK = 5_000

Progress = Callable[[int, int], None]  # (rows done, rows total)


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    JSON = "json", "JSON"


def _submitted(study: ReaderStudy):
    return Rating.objects.filter(
        assessment__study=study, assessment__status=AssessmentStatus.SUBMITTED
    )


def count_ratings(study: ReaderStudy) -> int:
    return _submitted(study).count()


# One fixed timestamp form on both paths (UTC, microseconds, "Z"), so exports compare equal.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
PG_TIME_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime(TIME_FORMAT) if value is not None else None


def rating_rows(study: ReaderStudy) -> Iterator[tuple]:
    """One tuple per submitted rating, in COLUMNS order, by image, rater, reading, dimension.

    The portable path (any database, and the reference the PostgreSQL path is tested against).
    """
    dims = {d.pk: d for d in study.dimensions.all()}
    keys = {pk: d.key for pk, d in dims.items()}
    labels = {
        pk: [str(c) for c in d.categories]
        for pk, d in dims.items()
        if d.kind == DimensionKind.CATEGORY
    }
    images = image_keys(study)
    raters = rater_names(study)
    # Few ratings are ever revised: a dict of those beats a join-and-count over every rating.
    revised = dict(
        RatingRevision.objects.filter(rating__assessment__study=study)
        .values("rating_id")
        .annotate(n=Count("pk"))
        .values_list("rating_id", "n")
    )
    rows = (
        _submitted(study)
        .order_by(
            "assessment__image_id",
            "assessment__rater_id",
            "assessment__repeat_index",
            "dimension__order",
            "dimension_id",
        )
        .values_list(
            "pk",
            "assessment__image_id",
            "assessment__rater_id",
            "dimension_id",
            "value",
            "assessment__repeat_index",
            "assessment__active_ms",
            "assessment__opened_at",
            "assessment__first_rendered_at",
            "assessment__submitted_at",
            "first_input_ms",
            "assessment__zoom_count",
            "assessment__pan_count",
            "assessment__window_count",
            "assessment__scroll_count",
        )
    )
    for (
        pk,
        image_id,
        rater_id,
        dim_id,
        value,
        repeat,
        active_ms,
        opened,
        rendered,
        submitted,
        first_input,
        zooms,
        pans,
        windows,
        scrolls,
    ) in rows.iterator(chunk_size=CHUNK):
        names = labels.get(dim_id)
        pseudonym, profession = raters[rater_id]
        yield (
            images[image_id],
            pseudonym,
            keys[dim_id],
            names[value] if names is not None and 0 <= value < len(names) else value,
            repeat,
            active_ms,
            profession,
            revised.get(pk, 0),
            _iso(opened),
            _iso(rendered),
            _iso(submitted),
            first_input,
            zooms,
            pans,
            windows,
            scrolls,
        )


def _chunks(rows: Iterator[tuple], progress: Progress | None, total: int) -> Iterator[list]:
    chunk: list[tuple] = []
    done = 0
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            done += len(chunk)
            yield chunk
            chunk = []
            if progress:
                progress(done, total)
    if chunk:
        yield chunk
    if progress:
        progress(done + len(chunk), total)


def _pg_select(study: ReaderStudy, for_csv: bool = False) -> tuple[str, list[Any]]:
    """The export as one PostgreSQL query whose columns are already the final text and ints.

    Formatting in the server (names, labels, timestamps) is what makes 2M rows fast: Python
    then only copies bytes (CSV) or builds one dict per row (JSON). `for_csv`: text cells
    that could start a spreadsheet formula get a quote in front (csv_cells.py).
    """
    t = {
        "rating": Rating._meta.db_table,
        "revision": RatingRevision._meta.db_table,
        "assessment": Assessment._meta.db_table,
        "dimension": Dimension._meta.db_table,
        "image": Image._meta.db_table,
        "profile": RaterProfile._meta.db_table,
    }

    def when(column: str) -> str:
        return f"to_char(a.{column} AT TIME ZONE 'UTC', '{PG_TIME_FORMAT}') AS {column}"

    def text(expression: str) -> str:
        return pg_safe(expression) if for_csv else expression

    sql = f"""
        SELECT {text("COALESCE(NULLIF(i.label, ''), i.id::text)")} AS image,
            {text("COALESCE(p.pseudonym, 'rater-' || a.rater_id)")} AS rater,
            {text("d.key")} AS dimension,
            CASE WHEN d.kind = %s THEN COALESCE({text("d.categories ->> r.value")}, r.value::text)
                ELSE r.value::text END AS value,
            a.repeat_index, a.active_ms AS duration_ms,
            COALESCE(NULLIF(p.profession, ''), %s) AS "group",
            COALESCE(rv.n, 0) AS revision_count,
            {when("opened_at")}, {when("first_rendered_at")}, {when("submitted_at")},
            r.first_input_ms, a.zoom_count, a.pan_count, a.window_count, a.scroll_count
        FROM {t["rating"]} r
        JOIN {t["assessment"]} a ON a.id = r.assessment_id
        JOIN {t["dimension"]} d ON d.id = r.dimension_id
        JOIN {t["image"]} i ON i.id = a.image_id
        LEFT JOIN {t["profile"]} p ON p.user_id = a.rater_id
        LEFT JOIN (
            SELECT v.rating_id, count(*) AS n FROM {t["revision"]} v
            JOIN {t["rating"]} r2 ON r2.id = v.rating_id
            JOIN {t["assessment"]} a2 ON a2.id = r2.assessment_id
            WHERE a2.study_id = %s GROUP BY v.rating_id
        ) rv ON rv.rating_id = r.id
        WHERE a.study_id = %s AND a.status = %s
        ORDER BY a.image_id, a.rater_id, a.repeat_index, d."order", d.id
    """
    params = [
        DimensionKind.CATEGORY.value,
        Profession.OTHER.value,
        study.pk,
        study.pk,
        AssessmentStatus.SUBMITTED.value,
    ]
    return sql, params


def _pg_copy_csv(study: ReaderStudy, progress: Progress | None, total: int) -> Iterator[bytes]:
    sql, params = _pg_select(study, for_csv=True)
    done = 0
    with connection.cursor() as cursor:
        # COPY cannot take parameters: bind them client-side into the statement text.
        statement = cursor.cursor.mogrify(sql, params)
        with cursor.cursor.copy(f"COPY ({statement}) TO STDOUT (FORMAT csv, HEADER)") as copy:
            for block in copy:
                data = bytes(block)
                if progress:
                    done += data.count(b"\n")
                    progress(min(max(done - 1, 0), total), total)
                yield data
    if progress:
        progress(total, total)


def _pg_rows(study: ReaderStudy) -> Iterator[tuple]:
    """Rows of the export query through a server-side cursor: constant memory."""
    sql, params = _pg_select(study)
    with (
        transaction.atomic(),
        connection.connection.cursor(name=f"ratings-export-{study.pk}") as cur,
    ):
        cur.itersize = CHUNK
        cur.execute(sql, params)
        yield from cur


def iter_csv(study: ReaderStudy, progress: Progress | None = None) -> Iterator[bytes]:
    """The CSV export as byte chunks (UTF-8, header first, empty cells for unknown values)."""
    total = count_ratings(study) if progress else 0
    if connection.vendor == "postgresql":
        yield from _pg_copy_csv(study, progress, total)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for chunk in _chunks(rating_rows(study), progress, total):
        writer.writerows(map(safe_row, chunk))
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def iter_json(study: ReaderStudy, progress: Progress | None = None) -> Iterator[bytes]:
    """The JSON export as byte chunks: {"study", "columns", "ratings": [{column: value}...]}."""
    total = count_ratings(study) if progress else 0
    head = {"study": {"id": study.pk, "name": study.name}, "columns": list(COLUMNS)}
    yield (json.dumps(head)[:-1] + ', "ratings": [').encode()
    if connection.vendor == "postgresql":
        # The query returns every value as text; scores and binary values are ints again.
        numeric = set(
            study.dimensions.exclude(kind=DimensionKind.CATEGORY).values_list("key", flat=True)
        )
        rows = (
            (*row[:3], int(row[3]) if row[2] in numeric else row[3], *row[4:])
            for row in _pg_rows(study)
        )
    else:
        rows = rating_rows(study)
    first = True
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for chunk in _chunks(rows, progress, total):
        text = ",\n".join(encode(dict(zip(COLUMNS, row, strict=True))) for row in chunk)
        yield (("\n" if first else ",\n") + text).encode()
        first = False
    yield b"\n]}\n"


def iter_ratings(study: ReaderStudy, fmt: str, progress: Progress | None = None):
    if fmt == ExportFormat.CSV:
        return iter_csv(study, progress)
    if fmt == ExportFormat.JSON:
        return iter_json(study, progress)
    raise ValueError(f"unknown ratings export format {fmt!r} (choose from {ExportFormat.values})")


def write_ratings(
    study: ReaderStudy,
    out: IO[bytes],
    fmt: str = ExportFormat.CSV,
    progress: Progress | None = None,
) -> int:
    """Write the ratings export to a binary file; returns the number of ratings written."""
    counted = {"rows": 0}

    def track(done: int, total: int) -> None:
        counted["rows"] = done
        if progress:
            progress(done, total)

    for chunk in iter_ratings(study, fmt, track):
        out.write(chunk)
    return counted["rows"]


def parse_json_export(data: bytes | str) -> list[dict[str, Any]]:
    """The rows of a JSON ratings export (for tests and scripts)."""
    return json.loads(data)["ratings"]
