"""Study setup pages: create a study, then its settings, images, dimensions and members."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ratings import lifecycle
from ratings.models import Membership, ReaderStudy, Role
from ratings.permissions import Action, get_study, may_create_study
from ratings.protection import Protected, delete_dimension
from ratings.studysetup import (
    SETUP_ERRORS,
    add_members,
    create_study,
    pick_images,
    remove_member,
    set_images,
)

from .study_setup_forms import DimensionFormSet, ImageChoiceForm, MembersForm, StudySettingsForm


def _page(request: HttpRequest, template: str, study: ReaderStudy | None, step: str, **context):
    context.update(study=study, step=step, state_meaning=lifecycle.MEANING)
    if study is not None:
        context["state_now"] = lifecycle.MEANING[study.state]
    return render(request, f"frontend/{template}", context)


@login_required
def create(request: HttpRequest) -> HttpResponse:
    if not may_create_study(request.user):
        raise PermissionDenied("You may not create reader studies.")
    form = StudySettingsForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        study = create_study(request.user, **form.cleaned_data)
        messages.success(request, f"Study {study.name} created. Now choose its images.")
        return redirect("setup-images", study.pk)
    return _page(request, "study_setup.html", None, "settings", form=form)


@login_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_study(request.user, pk, Action.MANAGE_STUDY)
    form = StudySettingsForm(request.POST or None, instance=study, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Settings saved.")
        return redirect("setup-settings", study.pk)
    return _page(request, "study_setup.html", study, "settings", form=form)


@login_required
@require_POST
def change_state(request: HttpRequest, pk: int) -> HttpResponse:
    """Close, reopen or archive the study; the setup page says what each means for raters."""
    study = get_study(request.user, pk, Action.MANAGE_STUDY)
    try:
        lifecycle.change_state(study, request.POST.get("action", ""), request.user)
    except lifecycle.LifecycleError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, f"The study is now {study.state}. {lifecycle.MEANING[study.state]}"
        )
    return redirect("setup-settings", study.pk)


@login_required
def images(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_study(request.user, pk, Action.MANAGE_STUDY)
    pool = study.dataset.images
    modalities = sorted(set(pool.exclude(modality="").values_list("modality", flat=True)))
    form = ImageChoiceForm(request.POST or None, modalities=modalities)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ids = pick_images(
                study.dataset,
                data["how"],
                modality=data.get("modality") or "",
                sample_size=data.get("sample_size"),
                seed=data.get("sample_seed") or 0,
                labels=data.get("label_list") or (),
            )
            change = set_images(study, ids, replace=data["replace"])
        except SETUP_ERRORS as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"{change.added} image(s) added, {change.removed} removed; "
                f"the study now has {change.total}.",
            )
            return redirect("setup-images", study.pk)
    return _page(
        request,
        "study_setup_images.html",
        study,
        "images",
        form=form,
        n_images=study.study_images.count(),
        n_pool=pool.count(),
        modalities=modalities,
    )


@login_required
def dimensions(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_study(request.user, pk, Action.MANAGE_STUDY)
    formset = DimensionFormSet(request.POST or None, study=study, prefix="dim")
    if request.method == "POST" and formset.is_valid():
        try:
            with transaction.atomic():
                for form in formset.forms:
                    if form in formset.deleted_forms:
                        if form.instance.pk:
                            delete_dimension(form.instance)
                    elif form.has_changed():
                        form.save()
        except Protected as refusal:
            # Rated between the check and the save: nothing was changed.
            messages.error(request, str(refusal))
        else:
            messages.success(request, "Dimensions saved.")
            return redirect("setup-dimensions", study.pk)
    return _page(request, "study_setup_dimensions.html", study, "dimensions", formset=formset)


@login_required
def members(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_study(request.user, pk, Action.MANAGE_STUDY)
    form = MembersForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        role = form.cleaned_data["role"]
        added = add_members(study, form.cleaned_data["usernames"], role)
        label = Role(role).label.lower()
        messages.success(request, f"{len(added)} {label}(s) added.")
        return redirect("setup-members", study.pk)
    members = study.memberships.select_related("user__rater_profile").order_by("user__username")
    by_role = [(role, [m for m in members if m.role == role]) for role in Role]
    return _page(request, "study_setup_members.html", study, "members", form=form, by_role=by_role)


@login_required
@require_POST
def unseat(request: HttpRequest, pk: int, mpk: int) -> HttpResponse:
    """End one membership of the study (its readings stay in the results)."""
    study = get_study(request.user, pk, Action.MANAGE_STUDY)
    membership = get_object_or_404(Membership, pk=mpk, study=study)
    try:
        remove_member(study, membership)
    except SETUP_ERRORS as error:
        messages.error(request, str(error))
    else:
        role = membership.get_role_display().lower()
        messages.success(request, f"{membership.user.get_username()} is no longer a {role}.")
    return redirect("setup-members", study.pk)
