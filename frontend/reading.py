"""The reading page: the viewer and scoring panel for one study, under a strict CSP."""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from ratings.permissions import Action, StudyClosed, get_study
from ratings.reading_payload import worklist_payload

# The viewer's needs, and nothing more. The WADO loader (its dynamic-import build) decodes in a
# web worker loaded from our own static files, which fetches a codec's script and WebAssembly
# from there only when a file needs it. A worker loaded from a URL is not governed by the page's
# CSP, so the codecs' WebAssembly and their Emscripten glue (which builds functions with
# `new Function`) need no 'wasm-unsafe-eval' or 'unsafe-eval' here (measured: JPEG 2000, JPEG-LS
# and RLE render under this policy). No inline script, no eval and no other origin on the page:
# that is what keeps injection out.
READING_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "worker-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data: blob:",
        "style-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def content_security_policy(policy: str):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response["Content-Security-Policy"] = policy
            return response

        return wrapped

    return decorator


@never_cache
@content_security_policy(READING_CSP)
@login_required
def reading_page(request: HttpRequest, study_id: int) -> HttpResponse:
    try:
        study = get_study(request.user, study_id, Action.RATE)
    except StudyClosed as closed:
        # Said on a page of its own, not as a bare 403: the rater did nothing wrong.
        study = get_study(request.user, study_id, Action.VIEW_STUDY)
        context = {"study": study, "reason": str(closed)}
        return render(request, "frontend/reading_closed.html", context, status=409)
    # The worklist rides in the page itself: the first image's download starts as soon as the
    # scripts run, without waiting for an API round trip.
    worklist = worklist_payload(study, request.user)
    first = next(
        (item for item in worklist["items"] if item["position"] == worklist["next_position"]),
        None,
    )
    context = {
        "study": study,
        "test_hooks": settings.IQA_TEST_HOOKS,
        # Fetched while the scripts load (the loader's request then finds it in the cache).
        "preload_url": first["image_ids"][0].removeprefix("wadouri:")
        if first and first["image_ids"]
        else None,
        "boot": {
            "worklist": worklist,
            "user": request.user.id,
            "csrf": get_token(request),
            "api": f"/api/v1/studies/{study.id}/",
            "home": "/",
        },
    }
    return render(request, "frontend/reading.html", context)
