"""Submitting, changing and skipping readings: idempotent by client id, edits kept as revisions.

The rules, in one place:
- A submission carries a client-generated UUID (`client_id`). The same client id again (a retry
  after a network error, a second tab replaying the same offline queue) returns the stored
  assessment unchanged: never a second row, never an error.
- A repeat (test-retest) reading carries `repeat_index` 1, accepted only for an image the
  rater's worklist repeats (else 400): a client cannot make up second readings.
- A *different* client id for an image the rater already read is refused with a `Conflict` (409)
  that names the stored assessment. It is never turned into a silent edit: a second tab that
  showed the same image must not overwrite the first tab's reading without the rater asking.
- A change is explicit (`change_assessment`, addressed by the assessment's client id): every value
  that changes keeps its old value as a `RatingRevision`. Sending the same change again is a no-op.
- Timing: the client measures durations with `performance.now()` and sends them with its wall
  clock at submission and at sending. The server corrects the client clock's offset, derives
  opened / first-rendered / submitted times from the durations, clamps what is out of bounds
  (and notes it), and keeps the client's documented timing fields (CLIENT_NUMBERS, counts, first
  input per dimension, viewport; numbers only, bounded) next to the checked values: never the raw
  JSON, which a client could fill with megabytes.
- Every value from a client is range-checked before it reaches datetime, int() or the database:
  an out-of-range image id or wall clock is a 400, never an OverflowError (a 500).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import (
    Assessment,
    AssessmentStatus,
    AuditAction,
    Dimension,
    DimensionKind,
    Rating,
    RatingRevision,
    ReaderStudy,
    StudyImage,
)
from .services import audit
from .worklist import dimensions_for, own_repeats, resolve_item

# A reading longer than this is not a reading (a tab left open overnight): durations are clamped.
MAX_READING_MS = 4 * 3600 * 1000
# How long a rating may wait in a browser's offline queue and still be accepted as it is.
MAX_QUEUE_AGE = timedelta(days=14)
# Slack for the client's rounding when the study sets a minimum viewing time.
MIN_VIEW_SLACK_MS = 250
MAX_COUNT = 1_000_000
INTERACTIONS = ("zoom", "pan", "window", "scroll")
# Client wall clocks (ms since 1970) outside 1970..2100 are not clocks: refused.
WALL_MAX_MS = 4_102_444_800_000
# The documented numeric fields of a client's timing report (timing.js), kept as sent.
CLIENT_NUMBERS = (
    "opened_wall", "submitted_wall", "sent_wall", "rendered_ms", "submitted_ms", "active_ms",
    "idle_ms", "hidden_ms", "idle_threshold_ms", "inputs", "min_view_ms",
)  # fmt: skip
# Viewport numbers beyond this are nonsense (pixels, zoom, window): left out.
MAX_VIEWPORT = 1e9
MAX_SLICES = 100_000
MAX_DB_ID = 2**63 - 1


class ReadingError(Exception):
    status = 400
    code = "invalid"  # the API's machine-readable error code (iqa_platform/api_errors.py)

    def __init__(self, detail: str, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Invalid(ReadingError):
    status = 400


class NotFound(ReadingError):
    status = 404
    code = "not_found"


class Conflict(ReadingError):
    """The rater already has another assessment of this image (e.g. from a second tab)."""

    status = 409
    code = "conflict"


@dataclass(frozen=True)
class Outcome:
    assessment: Assessment
    created: bool  # False: an idempotent replay, or a change


# --- timing ---------------------------------------------------------------------------------


def _number(raw: dict, key: str) -> float | None:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return float(value)


def _clamp(value: float, low: float, high: float, name: str, flags: list[str]) -> float:
    if value < low or value > high:
        flags.append(f"{name}_clamped")
        return min(max(value, low), high)
    return value


@dataclass
class CheckedTiming:
    opened_at: datetime
    first_rendered_at: datetime | None
    submitted_at: datetime
    active_ms: int
    view_ms: int  # first render to submission
    counts: dict[str, int]
    first_input_ms: dict[str, int]
    final_viewport: dict
    record: dict  # what goes into Assessment.client_timing


def check_timing(
    raw: Any, *, received_at: datetime, study: ReaderStudy, rating: bool = True
) -> CheckedTiming:
    """Validate and clamp a client's timing report; raise Invalid when it is unusable.

    `rating` False (a skip) waives the study's minimum viewing time: an image that does not
    load must be skippable at once.
    """
    if not isinstance(raw, dict):
        raise Invalid("timing must be an object.")
    flags: list[str] = []
    submitted_ms = _number(raw, "submitted_ms")  # open -> submit, performance.now() based
    if submitted_ms is None or submitted_ms < 0:
        raise Invalid("timing.submitted_ms must be a duration since the image was opened.")
    submitted_ms = _clamp(submitted_ms, 0, MAX_READING_MS, "submitted_ms", flags)

    # Client clock -> server clock, with the offset seen when the request was sent.
    submitted_wall = _number(raw, "submitted_wall")
    sent_wall = _number(raw, "sent_wall")
    for name, wall in (("submitted_wall", submitted_wall), ("sent_wall", sent_wall)):
        if wall is not None and not 0 <= wall <= WALL_MAX_MS:
            raise Invalid(f"timing.{name} must be the client's clock, in ms since 1970.")
    offset_ms = 0.0
    if submitted_wall is not None and sent_wall is not None:
        offset_ms = received_at.timestamp() * 1000 - sent_wall
        # submitted = received + (submitted_wall - sent_wall), bounded before any datetime math.
        before_ms = submitted_wall - sent_wall
        if before_ms > 0:
            flags.append("submitted_in_future")
            before_ms = 0.0
        max_age_ms = MAX_QUEUE_AGE.total_seconds() * 1000
        if before_ms < -max_age_ms:
            flags.append("submitted_too_long_ago")
            before_ms = -max_age_ms
        submitted_at = received_at + timedelta(milliseconds=before_ms)
    else:
        flags.append("no_client_clock")
        submitted_at = received_at
    opened_at = submitted_at - timedelta(milliseconds=submitted_ms)

    rendered_ms = _number(raw, "rendered_ms")  # open -> first render
    first_rendered_at = None
    if rendered_ms is not None:
        rendered_ms = _clamp(rendered_ms, 0, submitted_ms, "rendered_ms", flags)
        first_rendered_at = opened_at + timedelta(milliseconds=rendered_ms)
    view_ms = submitted_ms - (rendered_ms or 0)

    active = _number(raw, "active_ms")
    if active is None:
        flags.append("no_active_ms")
        active = 0.0
    active_ms = _clamp(active, 0, view_ms, "active_ms", flags)

    min_view = study.min_view_ms if rating else 0
    if min_view and rendered_ms is None:
        raise Invalid("The image was never shown: it cannot be rated.")
    if min_view and view_ms + MIN_VIEW_SLACK_MS < min_view:
        raise Invalid(
            f"This study asks to view each image for at least {min_view / 1000:g} s "
            "before rating it."
        )

    raw_counts = raw.get("counts") if isinstance(raw.get("counts"), dict) else {}
    counts = {}
    for name in INTERACTIONS:
        value = _number(raw_counts, name)
        counts[name] = int(_clamp(value, 0, MAX_COUNT, f"{name}_count", flags)) if value else 0

    raw_inputs = raw.get("first_input_ms") if isinstance(raw.get("first_input_ms"), dict) else {}
    first_input_ms = {}
    dimension_keys = set(study.dimensions.values_list("key", flat=True))
    for key in dimension_keys & set(raw_inputs):
        value = _number(raw_inputs, key)
        if value is not None:
            first_input_ms[str(key)] = int(
                _clamp(value, 0, view_ms, f"first_input_ms.{key}", flags)
            )

    final_viewport = _viewport(raw.get("viewport"))
    record = {
        "client": client_record(raw, counts, first_input_ms, final_viewport),
        "server": {
            "received_at": received_at.isoformat(),
            "clock_offset_ms": round(offset_ms),
            "flags": flags,
        },
    }
    return CheckedTiming(
        opened_at=opened_at,
        first_rendered_at=first_rendered_at,
        submitted_at=submitted_at,
        active_ms=int(round(active_ms)),
        view_ms=int(round(view_ms)),
        counts=counts,
        first_input_ms=first_input_ms,
        final_viewport=final_viewport,
        record=record,
    )


def client_record(raw: dict, counts: dict, first_input_ms: dict, viewport: dict) -> dict:
    """What is kept of a client's timing report: its documented fields, numbers only."""
    record: dict[str, Any] = {}
    for key in CLIENT_NUMBERS:
        value = _number(raw, key)
        if value is not None and abs(value) <= WALL_MAX_MS:
            record[key] = value
    raw_counts = raw.get("counts") if isinstance(raw.get("counts"), dict) else {}
    record["counts"] = {name: counts[name] for name in INTERACTIONS if name in raw_counts}
    record["first_input_ms"] = first_input_ms
    record["viewport"] = viewport
    return record


def _viewport(raw: Any) -> dict:
    """The final viewport as numbers and booleans only (window width/center, zoom, invert...)."""
    if not isinstance(raw, dict):
        return {}
    out: dict[str, Any] = {}
    for key in ("window_width", "window_center", "zoom", "x", "y", "rotation"):
        value = _number(raw, key)
        if value is not None and abs(value) <= MAX_VIEWPORT:
            out[key] = round(value, 4)
    for key in ("invert", "hflip", "vflip", "pixel_replication"):
        if isinstance(raw.get(key), bool):
            out[key] = raw[key]
    for key in ("slice", "n_slices"):
        value = _number(raw, key)
        if value is not None and 0 <= value <= MAX_SLICES:
            out[key] = int(value)
    return out


def _edit_timing(raw: Any) -> dict | None:
    """The documented numbers of a change's timing report (bounded like a submission's)."""
    if not isinstance(raw, dict):
        return None
    return {
        key: value
        for key in CLIENT_NUMBERS
        if (value := _number(raw, key)) is not None and abs(value) <= WALL_MAX_MS
    }


# --- values ---------------------------------------------------------------------------------


def _check_values(values: Any, dimensions: list[Dimension], *, complete: bool) -> dict[int, int]:
    """{dimension key: value} -> {dimension id: value}; every applicable dimension when complete."""
    if not isinstance(values, dict):
        raise Invalid("ratings must be an object of dimension key -> value.")
    by_key = {d.key: d for d in dimensions}
    unknown = sorted(set(values) - set(by_key))
    if unknown:
        raise Invalid(f"Not rated in this study for this image: {', '.join(unknown)}.")
    missing = [d.label for d in dimensions if d.key not in values]
    if complete and missing:
        raise Invalid(f"Rate every dimension before submitting (missing: {', '.join(missing)}).")
    checked = {}
    for key, value in values.items():
        dim = by_key[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"{dim.label}: the value must be an integer.")
        low, high = dim.min_value, dim.max_value
        if dim.kind == DimensionKind.CATEGORY:
            low, high = 0, len(dim.categories) - 1
        if not low <= value <= high:
            raise Invalid(f"{dim.label}: {value} is outside {low}..{high}.")
        checked[dim.id] = value
    return checked


def _image_in_study(study: ReaderStudy, image_id: Any) -> int:
    # A whole number (or its digits as text), not true, 2.5 or 10**30: checked before int() and
    # before the database (whose integers stop at 2**63 - 1).
    if isinstance(image_id, str) and image_id.isascii() and image_id.isdigit():
        image_id = int(image_id) if len(image_id) <= 19 else -1
    if isinstance(image_id, bool) or not isinstance(image_id, int):
        raise Invalid("image must be an image id.")
    if not 1 <= image_id <= MAX_DB_ID:
        raise Invalid("image must be an image id.")
    if not StudyImage.objects.filter(study=study, image_id=image_id).exists():
        raise NotFound("No such image in this study.")
    return image_id


def check_repeat_index(study: ReaderStudy, rater, image_id: int, value: Any) -> int:
    """0 for a first reading (also when absent), 1 for a repeat the worklist gives this rater."""
    if value is None:
        return 0
    if isinstance(value, bool) or value not in (0, 1):
        raise Invalid("repeat_index must be 0 (first reading) or 1 (repeat).")
    if value == 1 and image_id not in own_repeats(study, rater):
        raise Invalid("This image is not repeated in your worklist: it has no second reading.")
    return int(value)


def parse_client_id(value: Any, name: str = "client_id") -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise Invalid(f"{name} must be a UUID generated by the client.") from None


# --- submit / skip --------------------------------------------------------------------------


def submit_assessment(
    *,
    study: ReaderStudy,
    rater,
    image_id: Any,
    client_id: Any,
    values: Any = None,
    timing: Any = None,
    skip_reason: str = "",
    repeat_index: Any = None,
    item: Any = None,
    received_at: datetime | None = None,
) -> Outcome:
    """Store a rater's reading (or skip) of one image. Idempotent by client id.

    The reading is named by `item`, the worklist item's opaque id (what the reading page sends),
    or by `image_id` and `repeat_index` (1: the second reading of an image the rater's worklist
    repeats), which API scripts and ratings queued by an older page still send.
    """
    client_uuid = parse_client_id(client_id)
    existing = Assessment.objects.filter(client_id=client_uuid).first()
    if existing is not None:
        return _replay(existing, study, rater)

    if item is not None:
        if image_id is not None or repeat_index is not None:
            raise Invalid("Name the reading by item, or by image and repeat_index: not both.")
        found = resolve_item(study, rater, item)
        if found is None:
            raise NotFound("No such item in your worklist.")
        image_id, repeat_index = found
    else:
        image_id = _image_in_study(study, image_id)
        repeat_index = check_repeat_index(study, rater, image_id, repeat_index)
    check_not_already_read(study, rater, image_id, client_uuid, repeat_index)
    skipping = bool(skip_reason and str(skip_reason).strip())
    dimensions = dimensions_for(study, rater, image_id)
    if skipping:
        if values:
            raise Invalid("A skipped image carries a reason, not ratings.")
        checked_values: dict[int, int] = {}
    else:
        checked_values = _check_values(values or {}, dimensions, complete=True)
    received_at = received_at or timezone.now()
    checked = check_timing(
        timing if timing is not None else {},
        received_at=received_at,
        study=study,
        rating=not skipping,
    )

    try:
        with transaction.atomic():
            assessment = Assessment.objects.create(
                study=study,
                image_id=image_id,
                rater=rater,
                repeat_index=repeat_index,
                client_id=client_uuid,
                status=AssessmentStatus.SKIPPED if skipping else AssessmentStatus.SUBMITTED,
                skip_reason=str(skip_reason).strip()[:500] if skipping else "",
                opened_at=checked.opened_at,
                first_rendered_at=checked.first_rendered_at,
                submitted_at=checked.submitted_at,
                active_ms=checked.active_ms,
                zoom_count=checked.counts["zoom"],
                pan_count=checked.counts["pan"],
                window_count=checked.counts["window"],
                scroll_count=checked.counts["scroll"],
                final_viewport=checked.final_viewport,
                client_timing=checked.record,
            )
            keys = {d.id: d.key for d in dimensions}
            Rating.objects.bulk_create(
                Rating(
                    assessment=assessment,
                    dimension_id=dim_id,
                    value=value,
                    first_input_ms=checked.first_input_ms.get(keys[dim_id]),
                )
                for dim_id, value in checked_values.items()
            )
            audit.record(
                AuditAction.RATING_CREATED,
                actor=rater,
                study=study,
                object_type="assessment",
                object_id=assessment.pk,
                details={
                    "image": image_id,
                    "repeat_index": repeat_index,
                    "client_id": str(client_uuid),
                    "status": assessment.status,
                    "values": {keys[d]: v for d, v in sorted(checked_values.items())},
                },
            )
    except IntegrityError:
        # A concurrent request won: the same client id (a retry) or the same reading (a tab).
        existing = Assessment.objects.filter(client_id=client_uuid).first()
        if existing is not None:
            return _replay(existing, study, rater)
        other = Assessment.objects.filter(
            study=study, image_id=image_id, rater=rater, repeat_index=repeat_index
        ).first()
        if other is None:
            raise
        raise _conflict(other) from None
    return Outcome(assessment=assessment, created=True)


def _replay(existing: Assessment, study: ReaderStudy, rater) -> Outcome:
    if existing.rater_id != rater.id or existing.study_id != study.id:
        # Someone else's id: say nothing about it.
        raise Conflict("This client id is already used; generate a new one.")
    return Outcome(assessment=existing, created=False)


def _conflict(other: Assessment) -> Conflict:
    return Conflict(
        "You have already rated this image (perhaps in another tab). "
        "Go back to it to change the rating.",
        existing_client_id=str(other.client_id),
        existing_status=other.status,
    )


def check_not_already_read(
    study: ReaderStudy, rater, image_id: int, client_uuid: uuid.UUID, repeat_index: int = 0
):
    other = (
        Assessment.objects.filter(
            study=study, image_id=image_id, rater=rater, repeat_index=repeat_index
        )
        .exclude(client_id=client_uuid)
        .first()
    )
    if other is not None:
        raise _conflict(other)


# --- change ---------------------------------------------------------------------------------


def change_assessment(
    *,
    study: ReaderStudy,
    rater,
    client_id: Any,
    values: Any,
    edit_id: Any = None,
    timing: Any = None,
    received_at: datetime | None = None,
) -> Outcome:
    """Change the values of one's own assessment; each changed value keeps a revision.

    `edit_id` (a client UUID for this change) makes a retried change a no-op; without it the
    change is still idempotent in its values (the same values again change nothing).
    """
    client_uuid = parse_client_id(client_id)
    edit_key = str(parse_client_id(edit_id, "edit_id")) if edit_id is not None else None
    received_at = received_at or timezone.now()
    with transaction.atomic():
        assessment = (
            Assessment.objects.select_for_update()
            .filter(client_id=client_uuid, study=study, rater=rater)
            .first()
        )
        if assessment is None:
            raise NotFound("No such assessment of yours in this study.")
        edits = assessment.client_timing.get("edits", [])
        if edit_key and any(e.get("edit_id") == edit_key for e in edits):
            return Outcome(assessment=assessment, created=False)
        dimensions = dimensions_for(study, rater, assessment.image_id)
        was_skipped = assessment.status == AssessmentStatus.SKIPPED
        checked_values = _check_values(values or {}, dimensions, complete=was_skipped)
        current = {r.dimension_id: r for r in assessment.ratings.select_for_update()}
        changed = []
        old_values: dict[str, int | None] = {}
        keys = {d.id: d.key for d in dimensions}
        for dim_id, value in checked_values.items():
            rating = current.get(dim_id)
            if rating is None:
                Rating.objects.create(assessment=assessment, dimension_id=dim_id, value=value)
                changed.append(dim_id)
                old_values[keys[dim_id]] = None
            elif rating.value != value:
                old_values[keys[dim_id]] = rating.value
                RatingRevision.objects.create(
                    rating=rating,
                    value=rating.value,
                    valid_from=rating.updated_at,
                    replaced_by=rater,
                )
                rating.value = value
                rating.save(update_fields=["value", "updated_at"])
                changed.append(dim_id)
        if was_skipped:
            assessment.status = AssessmentStatus.SUBMITTED
            assessment.skip_reason = ""
        if changed or was_skipped or edit_key:
            record = {
                "edit_id": edit_key,
                "received_at": received_at.isoformat(),
                "changed": sorted(d.key for d in dimensions if d.id in changed),
                "client": _edit_timing(timing),
            }
            assessment.client_timing = {**assessment.client_timing, "edits": [*edits, record]}
            assessment.save(update_fields=["status", "skip_reason", "client_timing", "updated_at"])
        if changed or was_skipped:
            audit.record(
                AuditAction.RATING_CHANGED,
                actor=rater,
                study=study,
                object_type="assessment",
                object_id=assessment.pk,
                details={
                    "image": assessment.image_id,
                    "client_id": str(client_uuid),
                    "edit_id": edit_key,
                    "was_skipped": was_skipped,
                    "old": old_values,
                    "new": {keys[d]: checked_values[d] for d in sorted(changed)},
                },
            )
    return Outcome(assessment=assessment, created=False)
