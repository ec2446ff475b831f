"""Coordinator pages: the study dashboard, one image with all its ratings, the HTML report."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from imaging.models import Image
from imaging.services import wado_image_ids
from ratings.permissions import Action, can, get_study, may_create_study, studies_for
from ratings.results import dashboard as service
from ratings.results import snapshot

from .datasets import saliency_choices
from .reading import READING_CSP, content_security_policy


@login_required
def study_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    """The stored snapshot of the study's results (computed by a worker, never here)."""
    study = get_study(request.user, pk, Action.VIEW_RESULTS)
    context = snapshot.dashboard(study, request.GET.get("dimension"), request.GET.get("pair"))
    # One reverse() for the first 200 links instead of one each (a tenth of a 100k-image view).
    base = reverse("image-ratings", args=[study.pk, 1]).removesuffix("1/")
    links = [
        (item, f"{base}{item.image_id}/" if item.image_id else None)
        for item in context["flagged"][:200]
    ]
    context.update(
        study=study,
        may_manage=can(request.user, study, Action.MANAGE_STUDY),
        flagged_links=links,
    )
    return render(request, "frontend/dashboard.html", context)


@login_required
def results_status(request: HttpRequest, pk: int) -> JsonResponse:
    """How fresh the dashboard's snapshot is; the page polls it while a worker computes."""
    study = get_study(request.user, pk, Action.VIEW_RESULTS)
    response = JsonResponse(snapshot.status(study))
    response["Cache-Control"] = "no-store"
    return response


@content_security_policy(READING_CSP)
@login_required
def image_ratings(request: HttpRequest, pk: int, image_pk: int) -> HttpResponse:
    study = get_study(request.user, pk, Action.VIEW_RESULTS)
    try:
        image = Image.objects.get(pk=image_pk, study_images__study=study)
    except Image.DoesNotExist:
        raise Http404("No such image in this study.") from None
    context = service.image_ratings(study, image)
    context.update(study=study, image=image, thumbnail=service.thumbnail_data_uri(image))
    # With an active model on the dataset, the image in the viewer with the model's saliency
    # overlay (the dataset image page is for dataset managers; researchers see it here).
    models = saliency_choices(request.user, image)
    if models:
        context["boot"] = {
            "image_ids": wado_image_ids(image),
            "modality": image.modality,
            "models": models,
        }
    return render(request, "frontend/image_ratings.html", context)


@login_required
def agreement_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The report as one self-contained HTML file (inline CSS and SVG), offered as a download."""
    study = get_study(request.user, pk, Action.VIEW_RESULTS)
    context = service.full_report(study)
    context.update(study=study, generated_at=timezone.now())
    response = render(request, "frontend/report.html", context)
    if "download" in request.GET:
        name = f"agreement-{slugify(study.name) or study.pk}.html"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def study_index(request: HttpRequest) -> HttpResponse:
    """The studies whose results the user may read, with their dashboards and setup pages."""
    studies = studies_for(request.user, Action.VIEW_RESULTS).select_related("dataset")
    show_archived = request.GET.get("archived") == "1"
    n_archived = studies.filter(archived_at__isnull=False).count()
    if not show_archived:
        studies = studies.filter(archived_at__isnull=True)
    managed = set(studies_for(request.user, Action.MANAGE_STUDY).values_list("pk", flat=True))
    context = {
        "studies": studies,
        "managed": managed,
        "may_create": may_create_study(request.user),
        "show_archived": show_archived,
        "n_archived": n_archived,
    }
    return render(request, "frontend/dashboard_index.html", context)
