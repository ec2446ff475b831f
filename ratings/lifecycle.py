"""A study's life cycle: open -> closed -> (re)open, and archived. Nothing rated is deleted.

- open: raters rate.
- closed: no new or changed ratings (the API answers 409 with code `study_closed`); raters
  still see the study on their home page, marked closed; results and exports work as before.
- archived: closed, and hidden from raters' home pages and from default study lists
  (`?archived=1` shows them); every reading, result and release stays.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .models import AuditAction, ReaderStudy
from .services import audit

# What each state means for raters, shown beside the buttons on the setup page.
MEANING = {
    "open": "Raters see the study and rate its images.",
    "closed": "Raters see it as closed and can neither rate nor change ratings; "
    "every reading so far is kept and counts in the results.",
    "archived": "Closed, and hidden from raters and from the study lists; "
    "its readings, results and releases stay.",
}

ACTIONS = ("close", "reopen", "archive")
AUDITED = {
    "close": AuditAction.STUDY_CLOSED,
    "reopen": AuditAction.STUDY_REOPENED,
    "archive": AuditAction.STUDY_ARCHIVED,
}


class LifecycleError(ValueError):
    pass


def change_state(study: ReaderStudy, action: str, user=None) -> ReaderStudy:
    """Apply `action` (close, reopen, archive); an action that does not apply raises."""
    if action not in ACTIONS:
        raise LifecycleError(f"Unknown action {action!r}: use one of {', '.join(ACTIONS)}.")
    state = study.state
    if action == "close":
        if state != "open":
            raise LifecycleError(f"The study is already {state}.")
        study.is_open = False
    elif action == "reopen":
        if state == "open":
            raise LifecycleError("The study is already open.")
        study.is_open, study.archived_at = True, None
    else:
        if state == "archived":
            raise LifecycleError("The study is already archived.")
        study.is_open, study.archived_at = False, timezone.now()
    with transaction.atomic():
        study.save(update_fields=["is_open", "archived_at"])
        audit.record(
            AUDITED[action],
            actor=user,
            study=study,
            object_type="study",
            object_id=study.pk,
            details={"from": state, "to": study.state},
        )
    return study
