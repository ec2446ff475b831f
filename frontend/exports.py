"""A study's exports and releases page: start exports, make splits, freeze releases.

Coordinators (Action.MANAGE_STUDY) use all of it; researchers see the releases and download
them; raters get 403. The work is done by ratings.results (jobs, splits, release).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ratings.models import AuditAction, DatasetRelease, ExportJob, ExportKind, Split
from ratings.permissions import Action, can, get_study
from ratings.results import jobs
from ratings.results.release import data_card, ensure_zip, preview_data_card
from ratings.results.splits import SplitError, make_split, patients_in_two_subsets
from ratings.services import audit

from .exports_forms import ReleaseForm, SplitForm

# One button each; a release has its own form (split, format, size).
BUTTON_KINDS = [k for k in ExportKind if k != ExportKind.RELEASE]


def _splits(study) -> list[dict]:
    return [
        {"split": s, "summary": s.summary, "mixed_patients": patients_in_two_subsets(s)}
        for s in Split.objects.filter(study=study)[:20]
    ]


@login_required
def exports_page(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_study(request.user, pk, Action.VIEW_RESULTS)
    may_manage = can(request.user, study, Action.MANAGE_STUDY)
    releases = DatasetRelease.objects.filter(study=study).order_by("-version")
    context = {"study": study, "may_manage": may_manage, "releases": releases}
    if may_manage:
        context["jobs"] = ExportJob.objects.filter(study=study)[:50]
        if request.GET.get("part") == "jobs":
            # The job table alone, which the page's script fetches while jobs run.
            return render(request, "frontend/exports_jobs.html", context)
        context.update(
            kinds=BUTTON_KINDS,
            split_form=SplitForm(study=study),
            release_form=ReleaseForm(study=study),
            splits=_splits(study),
        )
    return render(request, "frontend/exports.html", context)


@login_required
@require_POST
def start_export(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_study(request.user, pk, Action.MANAGE_STUDY)
    kind = request.POST.get("kind", "")
    if kind not in BUTTON_KINDS:
        messages.error(request, "Unknown export kind.")
    else:
        jobs.create_export(study, kind, {}, request.user)
        messages.success(request, f"Export started: {ExportKind(kind).label}.")
    return redirect("exports-page", study.pk)


@login_required
@require_POST
def create_split(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_study(request.user, pk, Action.MANAGE_STUDY)
    form = SplitForm(request.POST, study=study)
    if form.is_valid():
        data = form.cleaned_data
        try:
            split = make_split(
                study=study,
                ratios=(data["train"], data["val"], data["test"]),
                seed=data["seed"],
                stratify_by=data["stratify_by"],
                dimension=data.get("dimension") or "",
                n_bins=data["n_bins"],
                user=request.user,
            )
        except SplitError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Split {split.pk} made (seed {split.seed}).")
            return redirect("exports-page", study.pk)
    return _with_errors(request, study, split_form=form)


@login_required
@require_POST
def freeze_release(request: HttpRequest, pk: int) -> HttpResponse:
    """Preview the next release's data card, or freeze it (a release export job)."""
    study = get_study(request.user, pk, Action.MANAGE_STUDY)
    form = ReleaseForm(request.POST, study=study)
    if not form.is_valid():
        return _with_errors(request, study, release_form=form)
    params = form.params()
    if "preview" in request.POST:
        card = preview_data_card(
            study, form.cleaned_data.get("split"), params["image_format"], params.get("png_size")
        )
        return _with_errors(request, study, release_form=form, preview_card=card)
    try:
        jobs.create_export(study, ExportKind.RELEASE, params, request.user)
    except jobs.ExportParamsError as error:
        form.add_error(None, str(error))
        return _with_errors(request, study, release_form=form)
    messages.success(request, "Freezing the release: its zip is being built.")
    return redirect("exports-page", study.pk)


def _with_errors(request, study, **forms_and_more) -> HttpResponse:
    context = {
        "study": study,
        "may_manage": True,
        "releases": DatasetRelease.objects.filter(study=study).order_by("-version"),
        "jobs": ExportJob.objects.filter(study=study)[:50],
        "kinds": BUTTON_KINDS,
        "split_form": SplitForm(study=study),
        "release_form": ReleaseForm(study=study),
        "splits": _splits(study),
    }
    context.update(forms_and_more)
    status = 200 if "preview_card" in forms_and_more else 400
    return render(request, "frontend/exports.html", context, status=status)


def _release(request, pk: int, version: int) -> DatasetRelease:
    study = get_study(request.user, pk, Action.VIEW_RESULTS)
    try:
        return DatasetRelease.objects.get(study=study, version=version)
    except DatasetRelease.DoesNotExist:
        raise Http404("No such release.") from None


@login_required
def release_page(request: HttpRequest, pk: int, version: int) -> HttpResponse:
    """A frozen release: its size, checksum and data card (the README inside its zip)."""
    release = _release(request, pk, version)
    context = {"study": release.study, "release": release, "card": data_card(release)}
    return render(request, "frontend/release.html", context)


@login_required
def release_download(request: HttpRequest, pk: int, version: int) -> FileResponse:
    release, path = ensure_zip(_release(request, pk, version))
    audit.record(
        AuditAction.RELEASE_DOWNLOADED,
        actor=request.user,
        study=release.study,
        object_type="release",
        object_id=release.pk,
        details={"version": release.version, "sha256": release.sha256},
    )
    response = FileResponse(open(path, "rb"), as_attachment=True, filename=path.name)  # noqa: SIM115
    response["X-Content-SHA256"] = release.sha256
    return response
