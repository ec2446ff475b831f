"""Dataset pages for those who manage datasets: list, a dataset's grid and uploads, one image.

Who sees a dataset is the imaging access policy's answer (imaging.access); what the pages show
comes from imaging.browse. Raters manage no dataset: 403 on the list, 404 on a dataset.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from imaging import browse
from imaging.access import get_dataset, policy
from imaging.chunked import CHUNK_BYTES
from imaging.models import Dataset, Image
from imaging.services import wado_image_ids
from inference.assist import rates_blind
from inference.models import ModelVersion
from ratings.permissions import Action, studies_for

from .reading import READING_CSP, content_security_policy


class DatasetForm(forms.ModelForm):
    class Meta:
        model = Dataset
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


def _cursor(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


@login_required
def dataset_index(request: HttpRequest) -> HttpResponse:
    user = request.user
    may_create = policy().may_create_dataset(user)
    datasets = list(policy().datasets_for(user).annotate(n_images=Count("images")))
    if not datasets and not may_create:
        raise PermissionDenied("You manage no dataset.")
    form = DatasetForm(request.POST or None)
    if request.method == "POST":
        if not may_create:
            raise PermissionDenied("You may not create datasets.")
        if form.is_valid():
            try:
                dataset = form.save(commit=False)
                dataset.created_by = user
                dataset.save()
            except IntegrityError:
                form.add_error("name", "A dataset with this name exists.")
            else:
                messages.success(request, f"Dataset {dataset.name} created. Upload its images.")
                return redirect("dataset-page", dataset.pk)
    rows = [{"dataset": d, "counts": browse.counts(d)} for d in datasets]
    context = {"rows": rows, "form": form, "may_create": may_create}
    return render(request, "frontend/datasets.html", context, status=400 if form.errors else 200)


@never_cache
@login_required
def dataset_page(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = get_dataset(request.user, pk)
    filters = browse.Filters.from_query(request.GET)
    page = browse.image_page(
        dataset, filters, _cursor(request.GET.get("after")), _cursor(request.GET.get("before"))
    )
    jobs = [
        {"job": job, "report": browse.grouped_report(job)}
        for job in dataset.ingest_jobs.order_by("-created_at")[:10]
    ]
    counts = browse.counts(dataset)
    context = {
        "dataset": dataset,
        "counts": counts,
        "filters": filters,
        "filter_query": filters.query(),
        "page": page,
        "jobs": jobs,
        "upload": {
            "create": reverse("upload-session-create", args=[dataset.pk]),
            "sessions": "/api/v1/upload-sessions/",
            "jobs": "/api/v1/ingest-jobs/",
            "csrf": get_token(request),
            "chunk_bytes": CHUNK_BYTES,
        },
    }
    return render(request, "frontend/dataset.html", context)


def _image(request: HttpRequest, pk: int, image_pk: int) -> Image:
    dataset = get_dataset(request.user, pk)
    try:
        return dataset.images.get(pk=image_pk)
    except Image.DoesNotExist:
        raise Http404("No such image in this dataset.") from None


@never_cache
@content_security_policy(READING_CSP)
@login_required
def image_view(request: HttpRequest, pk: int, image_pk: int) -> HttpResponse:
    """The viewer without a scoring panel, beside the stored (de-identified) header."""
    image = _image(request, pk, image_pk)
    context = {
        "dataset": image.dataset,
        "image": image,
        "tags": browse.header_tags(image),
        "boot": {
            "image_ids": wado_image_ids(image),
            "modality": image.modality,
            "models": saliency_choices(request.user, image),
        },
    }
    return render(request, "frontend/dataset_image.html", context)


def saliency_choices(user, image: Image) -> list[dict]:
    """The active model versions of the studies on this image's dataset whose results the user
    may see (coordinators, researchers), each with the URL of its heatmap of this image; none
    to whoever rates the image blind in some study."""
    if rates_blind(user, image):
        return []
    versions = ModelVersion.objects.filter(
        is_active=True,
        study__dataset_id=image.dataset_id,
        study__in=studies_for(user, Action.VIEW_RESULTS),
    ).select_related("study")
    return [
        {
            "id": v.pk,
            "label": f"{v.study.name} · {v.dimension_key} · {v.get_arch_display()} (v{v.pk})",
            "target": v.target,
            "url": reverse("model-version-saliency", args=[v.pk]) + f"?image={image.pk}",
        }
        for v in versions.order_by("study__name", "dimension_key")
    ]


@login_required
def thumbnail(request: HttpRequest, pk: int, image_pk: int) -> FileResponse:
    image = _image(request, pk, image_pk)
    if not image.thumbnail:
        raise Http404("This image has no thumbnail.")
    response = FileResponse(image.thumbnail.open("rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=86400"
    return response
