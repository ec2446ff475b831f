"""Page views: thin, they gather what a template shows and hold no business logic."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from ratings.models import AssessmentStatus, Role
from ratings.permissions import Action, roles_in, studies_for
from ratings.worklist import repeat_progress


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """My studies: for each, my roles, and as a rater my progress and a button to continue."""
    user = request.user
    finished = Q(
        assessments__rater=user,
        assessments__repeat_index=0,
        assessments__status__in=[AssessmentStatus.SUBMITTED, AssessmentStatus.SKIPPED],
    )
    studies = (
        studies_for(user, Action.VIEW_STUDY)
        .filter(archived_at__isnull=True)  # archived: off everybody's home, data kept
        .select_related("dataset")
        .annotate(
            n_images=Count("study_images", distinct=True),
            n_finished=Count("assessments", filter=finished, distinct=True),
        )
    )
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
                "roles": sorted(roles),
                "is_rater": is_rater,
                "n_images": n_images,
                "n_finished": n_finished,
                "n_remaining": n_images - n_finished,
                "percent": round(100 * n_finished / n_images) if n_images else 0,
            }
        )
    rows.sort(key=lambda r: (not r["is_rater"], r["n_remaining"] == 0, r["study"].name))
    return render(request, "frontend/home.html", {"rows": rows})


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
