"""Import ratings made elsewhere (long-format CSV) into a study: all rows or none.

Every row is checked first - image, dimension, value and its range, durations, duplicates,
readings the study already has - and every bad row is reported with its line number. Only a
file without a single bad row is written, in one transaction. Raters are matched by pseudonym;
an unknown pseudonym becomes a new rater account that cannot log in (unusable password).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from imaging.manifest import ManifestRow
from imaging.models import Image

from ..models import (
    Assessment,
    AssessmentStatus,
    Dimension,
    DimensionKind,
    Membership,
    Profession,
    RaterProfile,
    Rating,
    ReaderStudy,
    Role,
)
from .csv_cells import unquote_cell
from .freshness import bump

REQUIRED = ("image", "rater", "dimension", "value")
# Optional columns read when present (everything else in the file, e.g. the export's
# revision_count, is ignored).
READING_INTS = ("duration_ms", "zoom_count", "pan_count", "window_count", "scroll_count")
READING_TIMES = ("opened_at", "first_rendered_at", "submitted_at")
BATCH = 2_000


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportRejected(Exception):
    """The file has bad rows; nothing was imported."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} bad row(s); nothing was imported")


@dataclass
class ImportReport:
    n_ratings: int = 0
    n_readings: int = 0
    raters: list[str] = field(default_factory=list)
    new_raters: list[str] = field(default_factory=list)


@dataclass
class _Reading:
    line: int
    image_id: int
    pseudonym: str
    repeat_index: int
    fields: dict[str, Any]
    group: str
    ratings: list[tuple[int, int, int | None]] = field(default_factory=list)  # dim, value, ms


def _int(text: str, what: str, low: int | None = None) -> int:
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not number.is_integer():
        raise ValueError(f"{what} {text!r} is not a whole number")
    if low is not None and number < low:
        raise ValueError(f"{what} {text!r} must be >= {low}")
    return int(number)


def _time(text: str, what: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise ValueError(f"{what} {text!r} needs a time zone (e.g. a trailing Z)")
    return value


def parse_value(dimension: Dimension, text: str) -> int:
    """The stored int for a CSV value: a score, 0/1 or a binary label, a category label or index."""
    if dimension.kind == DimensionKind.BINARY:
        named = {"acceptable": 1, "non-acceptable": 0, "true": 1, "false": 0}
        if text.lower() in named:
            return named[text.lower()]
    if dimension.kind == DimensionKind.CATEGORY:
        labels = [str(c) for c in dimension.categories]
        if text in labels:
            return labels.index(text)
        folded = [c.casefold() for c in labels]
        if text.casefold() in folded:
            return folded.index(text.casefold())
        try:
            value = _int(text, "value")
        except ValueError:
            raise ValueError(
                f"{text!r} is not a category of {dimension.key!r} ({', '.join(labels)})"
            ) from None
    else:
        value = _int(text, "value")
    if not dimension.min_value <= value <= dimension.max_value:
        raise ValueError(
            f"value {value} is outside {dimension.key!r}'s range "
            f"{dimension.min_value}..{dimension.max_value}"
        )
    return value


def _profession(text: str) -> str:
    if not text:
        return ""
    for value, label in Profession.choices:
        if text.casefold() in (value.casefold(), str(label).casefold()):
            return value
    raise ValueError(f"group {text!r} is not a profession ({', '.join(Profession.values)})")


class _Lookup:
    """What rows are checked against, loaded once from the database."""

    def __init__(self, study: ReaderStudy) -> None:
        self.dimensions = {d.key: d for d in study.dimensions.all()}
        self.images: dict[str, int | None] = {}
        rows = Image.objects.filter(study_images__study=study).values_list("pk", "label")
        for pk, label in rows:
            if label:
                # Two images with one label: the label cannot name either of them.
                self.images[label] = None if label in self.images else pk
            self.images.setdefault(str(pk), pk)
        profiles = RaterProfile.objects.values_list("pseudonym", "user_id")
        self.raters: dict[str, int] = dict(profiles)
        self.existing = set(
            Assessment.objects.filter(study=study).values_list(
                "image_id", "rater_id", "repeat_index"
            )
        )


def _image_of(
    text: str, lookup: _Lookup, manifest: dict[str, ManifestRow] | None
) -> tuple[int | None, str]:
    """The image id an `image` cell names (a label, an id or a manifest path), or the problem."""
    label = text
    if manifest is not None and text in manifest:
        row = manifest[text]
        if not row.image:
            why = f" ({row.reason})" if row.reason else ""
            return None, f"file {text!r} was {row.status or 'not imported'}{why}: it is no image"
        label = row.image
    image_id = lookup.images.get(label)
    if image_id is not None:
        return image_id, ""
    if label in lookup.images:
        return None, f"image label {label!r} names several images; use the image id"
    if label != text:
        return None, f"file {text!r} became image {label!r}, which is not in the study"
    if manifest is not None:
        return None, f"image {text!r} is neither a path in the manifest nor an image of the study"
    return None, f"image {text!r} is not in the study"


def read_rows(
    study: ReaderStudy, file: IO[str], manifest: dict[str, ManifestRow] | None = None
) -> tuple[list[_Reading], list[RowError]]:
    """Check every row; the readings to create (one per image, rater, repeat) and all errors.

    With a `manifest` (from import_dicom), an `image` cell may also be a file's path there.
    """
    lookup = _Lookup(study)
    reader = csv.DictReader(file)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [RowError(1, f"the header lacks column(s): {', '.join(missing)}")]
    reader.fieldnames = header
    errors: list[RowError] = []
    readings: dict[tuple[int, str, int], _Reading] = {}
    seen: dict[tuple[int, str, int, int], int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            errors.append(RowError(line, "more cells than the header has columns"))
            continue
        # unquote_cell: our own exports quote text cells that would start a formula.
        cells = {k: unquote_cell((v or "").strip()) for k, v in row.items()}
        problems: list[str] = [f"empty {c!r}" for c in REQUIRED if not cells.get(c)]
        if problems:
            errors.append(RowError(line, "; ".join(problems)))
            continue
        image_id, problem = _image_of(cells["image"], lookup, manifest)
        if image_id is None:
            problems.append(problem)
        dimension = lookup.dimensions.get(cells["dimension"])
        value = None
        if dimension is None:
            known = ", ".join(lookup.dimensions) or "none"
            problems.append(f"unknown dimension {cells['dimension']!r} (study has: {known})")
        else:
            try:
                value = parse_value(dimension, cells["value"])
            except ValueError as exc:
                problems.append(str(exc))
        fields: dict[str, Any] = {}
        repeat = 0
        first_input = None
        group = ""
        try:
            if cells.get("repeat_index"):
                repeat = _int(cells["repeat_index"], "repeat_index", 0)
            for name in READING_INTS:
                if cells.get(name):
                    fields[name] = _int(cells[name], name, 0)
            for name in READING_TIMES:
                if cells.get(name):
                    fields[name] = _time(cells[name], name)
            if cells.get("first_input_ms"):
                first_input = _int(cells["first_input_ms"], "first_input_ms", 0)
            group = _profession(cells.get("group", ""))
        except ValueError as exc:
            problems.append(str(exc))
        opened, submitted = fields.get("opened_at"), fields.get("submitted_at")
        if opened and submitted and submitted < opened:
            problems.append("submitted_at is before opened_at")
        pseudonym = cells["rater"]
        if problems or image_id is None or dimension is None or value is None:
            errors.append(RowError(line, "; ".join(problems)))
            continue
        key = (image_id, pseudonym, repeat, dimension.pk)
        if key in seen:
            errors.append(
                RowError(
                    line,
                    f"duplicate: {pseudonym!r} already rated {cells['image']!r} on "
                    f"{dimension.key!r} (repeat {repeat}) at line {seen[key]}",
                )
            )
            continue
        seen[key] = line
        user_id = lookup.raters.get(pseudonym)
        if user_id is not None and (image_id, user_id, repeat) in lookup.existing:
            errors.append(
                RowError(
                    line,
                    f"{pseudonym!r} already has reading {repeat} of {cells['image']!r} "
                    "in this study",
                )
            )
            continue
        reading = readings.get((image_id, pseudonym, repeat))
        if reading is None:
            reading = _Reading(line, image_id, pseudonym, repeat, fields, group)
            readings[(image_id, pseudonym, repeat)] = reading
        elif reading.fields != fields:
            errors.append(
                RowError(
                    line,
                    f"timing differs from line {reading.line}, the same reading "
                    f"({pseudonym!r} on {cells['image']!r})",
                )
            )
            continue
        reading.ratings.append((dimension.pk, value, first_input))
    return list(readings.values()), errors


def _new_rater(pseudonym: str, profession: str) -> int:
    User = get_user_model()
    base = f"imported-{slugify(pseudonym) or 'rater'}"[:140]
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}-{n}"
    user = User(username=username)
    user.set_unusable_password()  # an imported rater is a name in the data, not a login
    user.save()
    RaterProfile.objects.create(
        user=user, pseudonym=pseudonym, profession=profession or Profession.OTHER
    )
    return user.pk


def import_ratings(
    study: ReaderStudy,
    file: IO[str] | str,
    *,
    dry_run: bool = False,
    manifest: dict[str, ManifestRow] | None = None,
) -> ImportReport:
    """Import a long-format CSV into the study; raises ImportRejected listing every bad row.

    `manifest` (import_dicom's, by path) lets the `image` column name files by their path.
    """
    if isinstance(file, str):
        file = io.StringIO(file)
    readings, errors = read_rows(study, file, manifest)
    if errors:
        raise ImportRejected(errors)
    report = ImportReport(
        n_ratings=sum(len(r.ratings) for r in readings),
        n_readings=len(readings),
        raters=sorted({r.pseudonym for r in readings}),
    )
    known = dict(
        RaterProfile.objects.filter(pseudonym__in=report.raters).values_list("pseudonym", "user_id")
    )
    report.new_raters = [p for p in report.raters if p not in known]
    if dry_run:
        return report
    with transaction.atomic():
        groups = {r.pseudonym: r.group for r in readings}
        for pseudonym in report.new_raters:
            known[pseudonym] = _new_rater(pseudonym, groups[pseudonym])
        members = set(
            Membership.objects.filter(study=study, role=Role.RATER).values_list(
                "user_id", flat=True
            )
        )
        Membership.objects.bulk_create(
            [
                Membership(user_id=user_id, study=study, role=Role.RATER)
                for user_id in sorted(set(known.values()) - members)
            ]
        )
        _insert(study, readings, known)
        bump(study.pk)  # bulk inserts send no signals
    return report


def _insert(study: ReaderStudy, readings: Iterable[_Reading], users: dict[str, int]) -> None:
    now = timezone.now()
    readings = list(readings)
    for start in range(0, len(readings), BATCH):
        part = readings[start : start + BATCH]
        fields = [dict(r.fields) for r in part]
        for f in fields:
            f["active_ms"] = f.pop("duration_ms", None)
            f.setdefault("submitted_at", now)
        created = Assessment.objects.bulk_create(
            [
                Assessment(
                    study=study,
                    image_id=r.image_id,
                    rater_id=users[r.pseudonym],
                    repeat_index=r.repeat_index,
                    status=AssessmentStatus.SUBMITTED,
                    client_timing={"imported": True},
                    **f,
                )
                for r, f in zip(part, fields, strict=True)
            ]
        )
        Rating.objects.bulk_create(
            [
                Rating(assessment=a, dimension_id=dim, value=value, first_input_ms=ms)
                for a, r in zip(created, part, strict=True)
                for dim, value, ms in r.ratings
            ]
        )
