"""Writing and reading the audit trail (ratings.models.AuditEvent).

`record()` is called where the change happens, inside the change's own transaction, so a
rolled-back change leaves no event. Other apps (inference) write their events through it:
the audit trail lives here because ratings may not import them.

Details are small and never carry patient identifiers: ids, values and keys only (no image
labels, patient keys, sites or file names), at most MAX_DETAILS_BYTES of JSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from ..models import AuditAction, AuditEvent, ReaderStudy
from ..results.csv_cells import safe_row

MAX_DETAILS_BYTES = 4096
# Keys that would carry what identifies a patient (or an image's origin): refused.
PATIENT_KEYS = frozenset(
    {"patient_key", "patient_id", "patient_name", "patient", "site", "sex", "age", "age_band",
     "label", "file", "path", "accession_number", "study_instance_uid"}
)  # fmt: skip

CSV_COLUMNS = ("id", "created_at", "actor", "action", "object_type", "object_id", "details")


# Maps keyed by the study's dimension keys (which a coordinator names: "site" may be one).
DIMENSION_MAPS = frozenset({"values", "old", "new"})


def _check_keys(value: Any) -> None:
    if isinstance(value, dict):
        bad = PATIENT_KEYS & set(value)
        if bad:
            raise ValueError(f"audit details may not carry {sorted(bad)}")
        for key, item in value.items():
            if key not in DIMENSION_MAPS:
                _check_keys(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_keys(item)


def _bounded(details: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(details, sort_keys=True, default=str)
    if len(text.encode()) <= MAX_DETAILS_BYTES:
        return json.loads(text)
    return {"truncated": True, "keys": sorted(details)[:50]}


def record(
    action: AuditAction,
    *,
    actor=None,
    study: ReaderStudy | int | None = None,
    object_type: str,
    object_id: Any = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event; call it inside the transaction of the change it describes."""
    details = details or {}
    _check_keys(details)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None  # an anonymous request acts as nobody
    study_id = study.pk if isinstance(study, ReaderStudy) else study
    return AuditEvent.objects.create(
        actor=actor,
        actor_username=actor.get_username() if actor is not None else "",
        action=AuditAction(action),
        study_id=study_id,
        object_type=object_type,
        object_id=str(object_id),
        details=_bounded(details),
    )


def study_events(
    study: ReaderStudy, *, action: str = "", actor: int | None = None
) -> QuerySet[AuditEvent]:
    """The study's trail, newest first, filtered by action and by who acted."""
    events = AuditEvent.objects.filter(study=study)
    if action:
        events = events.filter(action=action)
    if actor is not None:
        events = events.filter(actor_id=actor)
    return events.order_by("-created_at", "-pk")


def actors(study: ReaderStudy) -> list[tuple[int, str]]:
    """(user id, username) of everyone in the study's trail, for a filter."""
    rows = (
        AuditEvent.objects.filter(study=study, actor__isnull=False)
        .order_by()
        .values_list("actor_id", "actor_username")
        .distinct()
    )
    return sorted(set(rows), key=lambda r: r[1])


def last_event_id(study: ReaderStudy) -> int:
    """The newest event id of the study (0 if none): where a release's audit.csv stops."""
    last = AuditEvent.objects.filter(study=study).order_by("-pk").values_list("pk", flat=True)
    return last.first() or 0


def audit_csv(study: ReaderStudy, through_id: int | None = None) -> bytes:
    """audit.csv: the study's trail oldest first, up to `through_id`; actors by pseudonym.

    Exports never show a username (ratings.results.records.rater_names), and text cells are
    neutralised against spreadsheet formulas (csv_cells).
    """
    from ..results.records import rater_names

    events = AuditEvent.objects.filter(study=study).order_by("pk")
    if through_id is not None:
        events = events.filter(pk__lte=through_id)
    rows = list(
        events.values_list(
            "pk", "created_at", "actor_username", "action", "object_type", "object_id",
            "actor_id", "details",
        )
    )  # fmt: skip
    actor_ids = {row[-2] for row in rows if row[-2] is not None}
    names = rater_names(study, actor_ids) if actor_ids else {}
    return b"".join(_csv_lines(rows, names))


def _csv_lines(rows: list[tuple], names: dict[int, tuple[str, str]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for pk, created_at, _username, action, object_type, object_id, actor_id, details in rows:
        actor = names[actor_id][0] if actor_id is not None else "system"
        writer.writerow(
            safe_row(
                [pk, created_at.isoformat(), actor, action, object_type, object_id,
                 json.dumps(details, sort_keys=True)]
            )
        )  # fmt: skip
    yield buffer.getvalue().encode()
