"""A study's audit trail page: who rated, changed, exported, released, closed and trained.

Coordinators (Action.MANAGE_STUDY) and staff see it; a rater of the study gets 403, anyone
else 404. Paged, newest first, filtered by action and by person.
"""

import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ratings.models import AuditAction
from ratings.permissions import Action, get_study
from ratings.services import audit

PAGE_SIZE = 50


@login_required
def audit_page(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_study(request.user, pk, Action.MANAGE_STUDY)
    action = request.GET.get("action", "")
    if action not in AuditAction.values:
        action = ""
    actor_text = request.GET.get("actor", "")
    actor = int(actor_text) if actor_text.isascii() and actor_text.isdigit() else None
    if actor is not None and actor > 2**62:
        actor = None
    events = audit.study_events(study, action=action, actor=actor)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(event, json.dumps(event.details, sort_keys=True)) for event in page]
    query = "&".join(
        f"{name}={value}" for name, value in (("action", action), ("actor", actor)) if value
    )
    context = {
        "study": study,
        "page": page,
        "rows": rows,
        "actions": AuditAction.choices,
        "actors": audit.actors(study),
        "action": action,
        "actor": actor,
        "query": query,
    }
    return render(request, "frontend/audit.html", context)
