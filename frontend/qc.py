"""Real-time QC pages: the images a study's active model flagged, newest first, and the
threshold that flags them.

Coordinators and researchers of the study (Action.VIEW_RESULTS) read the flags; researchers
(Action.TRAIN_MODELS) set a version's threshold here; raters get 403 (their study) or 404.
The work is inference.scoring's; this module only reads and renders.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from inference import scoring
from inference.models import ModelVersion, Prediction, Target
from ratings.permissions import Action, can, get_study, studies_for

PAGE_SIZE = 50


@login_required
def qc_index(request: HttpRequest) -> HttpResponse:
    """The studies the user follows, each with its active versions' flag count."""
    studies = studies_for(request.user, Action.VIEW_RESULTS)
    if not studies.exists():
        raise PermissionDenied("Quality control is for a study's coordinators and researchers.")
    rows = studies.annotate(
        n_active=Count("model_versions", filter=Q(model_versions__is_active=True), distinct=True),
        n_flagged=Count(
            "model_versions__predictions",
            filter=Q(model_versions__predictions__flagged=True),
            distinct=True,
        ),
    ).order_by("name")
    return render(request, "frontend/qc_index.html", {"studies": rows})


@login_required
def qc_page(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_study(request.user, pk, Action.VIEW_RESULTS)
    may_set = can(request.user, study, Action.TRAIN_MODELS)
    if request.method == "POST":
        if not may_set:
            raise PermissionDenied("Only the study's researchers set the QC threshold.")
        return _set_threshold(request, study)
    flags = Paginator(scoring.study_flags(study), PAGE_SIZE).get_page(request.GET.get("page"))
    versions = ModelVersion.objects.filter(study=study, is_active=True).order_by("dimension_key")
    context = {
        "study": study,
        "page": flags,
        "rows": [_row(p) for p in flags],
        "versions": versions,
        "may_set": may_set,
    }
    return render(request, "frontend/qc.html", context)


def _row(prediction: Prediction) -> dict:
    version = prediction.model_version
    classes = version.target != Target.REGRESSION
    return {
        "prediction": prediction,
        "image": prediction.image,
        "dimension": version.dimension_key,
        "shown": f"class {int(prediction.score)}" if classes else f"{prediction.score:.2f}",
        "qc_value": prediction.qc_value,
        "qc_label": "P(acceptable)" if classes else "score",
    }


def _set_threshold(request: HttpRequest, study) -> HttpResponse:
    version = ModelVersion.objects.filter(study=study, pk=request.POST.get("version")).first()
    if version is None:
        raise Http404("No such model version in this study.")
    raw = request.POST.get("qc_threshold", "").strip()
    try:
        threshold = float(raw) if raw else None
    except ValueError:
        threshold = float("nan")
    classifier = version.target != Target.REGRESSION
    if threshold is not None and (
        threshold != threshold or (classifier and not 0.0 <= threshold <= 1.0)
    ):
        rule = "a probability in [0, 1]" if classifier else "a number"
        messages.error(request, f"The threshold must be {rule} (or empty: flag nothing).")
        return redirect("study-qc", study.pk)
    n_flagged = scoring.set_qc_threshold(version, threshold)
    shown = "no threshold" if threshold is None else f"threshold {threshold:g}"
    messages.success(
        request, f"Version {version.pk} ({version.dimension_key}): {shown}; {n_flagged} flagged."
    )
    return redirect("study-qc", study.pk)


@login_required
def qc_thumbnail(request: HttpRequest, pk: int, image_pk: int) -> FileResponse:
    """A flagged image's thumbnail, for whoever may read the study's QC page (researchers may
    not manage the dataset, whose own thumbnail route is for its managers)."""
    study = get_study(request.user, pk, Action.VIEW_RESULTS)
    prediction = (
        Prediction.objects.filter(
            image_id=image_pk, model_version__study=study, image__dataset_id=study.dataset_id
        )
        .select_related("image")
        .first()
    )
    if prediction is None or not prediction.image.thumbnail:
        raise Http404("No such image on this study's QC page.")
    response = FileResponse(prediction.image.thumbnail.open("rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=86400"
    return response
