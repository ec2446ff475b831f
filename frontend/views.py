"""Page views: thin, they gather what a template shows and hold no business logic."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from ratings.models import AssessmentStatus, Role
from ratings.overview import study_progress
from ratings.permissions import (
    Action,
    datasets_for,
    may_create_dataset,
    may_create_study,
    roles_in,
    studies_for,
)
from ratings.worklist import repeat_progress


def _training_url() -> str | None:
    """The training runs page, once the model half provides it."""
    try:
        return reverse("training-runs")
    except NoReverseMatch:
        return None


def _actions(study, roles: set[str], user, training_url: str | None) -> list[tuple[str, str]]:
    """(label, url) of what this user may do with the study, in the order of a day's work."""
    staff = user.is_staff
    actions = []
    if Role.RATER in roles and study.is_open:
        actions.append(("Read", reverse("reading", args=[study.pk])))
    if staff or roles & {Role.COORDINATOR, Role.RESEARCHER}:
        actions.append(("Dashboard", reverse("study-dashboard", args=[study.pk])))
    if staff or Role.COORDINATOR in roles:
        actions.append(("Set up", reverse("setup-settings", args=[study.pk])))
        actions.append(("Exports", reverse("exports-page", args=[study.pk])))
    elif Role.RESEARCHER in roles:
        actions.append(("Releases", reverse("exports-page", args=[study.pk])))
    if training_url and (staff or Role.RESEARCHER in roles):
        actions.append(("Training", training_url))
    return actions


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """My studies: for each, my roles, progress and what I may do; raters see their reading."""
    user = request.user
    finished = Q(
        assessments__rater=user,
        assessments__repeat_index=0,
        assessments__status__in=[AssessmentStatus.SUBMITTED, AssessmentStatus.SKIPPED],
    )
    studies = list(
        studies_for(user, Action.VIEW_STUDY)
        .filter(archived_at__isnull=True)  # archived: off everybody's home, data kept
        .select_related("dataset")
        .annotate(
            n_images=Count("study_images", distinct=True),
            n_finished=Count("assessments", filter=finished, distinct=True),
        )
    )
    followed = [s for s in studies if user.is_staff or roles_in(user, s) - {Role.RATER}]
    progress = study_progress(followed)
    training_url = _training_url()
    rows = []
    for study in studies:
        roles = roles_in(user, study)
        n_images, n_finished = study.n_images, min(study.n_finished, study.n_images)
        is_rater = Role.RATER in roles and study.is_open
        if is_rater and study.repeat_fraction > 0:
            # Test-retest repeats are worklist items too: "all done" only after them.
            n_repeats, n_repeats_finished = repeat_progress(study, user)
            n_images, n_finished = n_images + n_repeats, n_finished + n_repeats_finished
        rows.append(
            {
                "study": study,
                "roles": sorted(roles) or (["staff"] if user.is_staff else []),
                "is_rater": is_rater,
                "n_images": n_images,
                "n_finished": n_finished,
                "n_remaining": n_images - n_finished,
                "percent": round(100 * n_finished / n_images) if n_images else 0,
                "panel": progress.get(study.pk),
                "actions": _actions(study, roles, user, training_url),
            }
        )
    rows.sort(key=lambda r: (not r["is_rater"], r["n_remaining"] == 0, r["study"].name))
    context = {
        "rows": rows,
        "may_create_study": may_create_study(user),
        "may_upload": may_create_dataset(user) or datasets_for(user).exists(),
    }
    return render(request, "frontend/home.html", context)


def locked_out(request: HttpRequest, credentials: dict | None = None, *args, **kwargs):
    """django-axes' answer to a locked account + address: the login page, saying why (429).

    The right password is refused too until the cool-off ends or staff unlock the account.
    """
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = (
        f"Too many failed logins for this account from your address: logging in is blocked "
        f"for {minutes} minutes. Try again later, or ask an administrator to unlock it."
    )
    if not request.accepts("text/html"):
        return JsonResponse({"detail": message, "code": "login_locked"}, status=429)
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    context = {"form": form, "locked_message": message, "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=429)
