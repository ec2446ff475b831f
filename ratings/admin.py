"""Django admin for every ratings model (for staff: the ones who may see everything).

Deleting goes through ratings/protection.py like everywhere else: what has readings is listed
as protected on the confirmation page (single and bulk delete) and refused in inlines, and a
rated dimension keeps its scale.
"""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.forms.models import BaseInlineFormSet

from imaging import admin as imaging_admin
from imaging.models import Dataset, Image

from . import protection
from .models import (
    Assessment,
    AuditAction,
    AuditEvent,
    Dimension,
    Membership,
    RaterProfile,
    Rating,
    RatingRevision,
    ReaderStudy,
    StudyImage,
)
from .results.freshness import bump
from .services import audit


class ProtectedDeleteMixin:
    """Refuse deleting what has readings, with the reason, on the admin's own protected page."""

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        reasons = [why for why in map(protection.why_not_delete, objs) if why]
        return deleted, counts, perms_needed, [*reasons, *protected]

    def delete_model(self, request, obj):
        # The confirmation page refused already; this guards a request built by hand.
        why = protection.why_not_delete(obj)
        if why:
            self.message_user(request, why, messages.ERROR)
            return
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        refused = [why for why in map(protection.why_not_delete, queryset) if why]
        if refused:
            self.message_user(request, " ".join(refused), messages.ERROR)
            return
        super().delete_queryset(request, queryset)


class ProtectedInlineFormSet(BaseInlineFormSet):
    """An inline row marked for deletion is refused with the reason when it has readings."""

    def clean(self):
        super().clean()
        for form in self.deleted_forms:
            why = form.instance.pk and protection.why_not_delete(form.instance)
            if why:
                raise forms.ValidationError(why)


class DimensionAdminForm(forms.ModelForm):
    class Meta:
        model = Dimension
        fields = [
            "study",
            "key",
            "label",
            "kind",
            "min_value",
            "max_value",
            "categories",
            "criteria",
            "order",
            "raters",
            "images",
        ]

    def clean(self):
        data = super().clean()
        if self.instance.pk and {"kind", "min_value", "max_value"} <= data.keys():
            try:
                protection.check_dimension_scale(
                    self.instance,
                    kind=data["kind"],
                    min_value=data["min_value"],
                    max_value=data["max_value"],
                    categories=data.get("categories") or [],
                )
            except protection.Protected as refusal:
                raise forms.ValidationError(str(refusal)) from None
        return data


# Datasets and images with readings are protected by the reader studies' rule
# (ratings/protection.py), which the imaging app cannot know: its admin is taken over here.
admin.site.unregister(Dataset)
admin.site.unregister(Image)


@admin.register(Dataset)
class ProtectedDatasetAdmin(ProtectedDeleteMixin, imaging_admin.DatasetAdmin):
    pass


@admin.register(Image)
class ProtectedImageAdmin(ProtectedDeleteMixin, imaging_admin.ImageAdmin):
    pass


class DimensionInline(admin.StackedInline):
    model = Dimension
    form = DimensionAdminForm
    formset = ProtectedInlineFormSet
    extra = 0
    filter_horizontal = ["raters"]
    raw_id_fields = ["images"]


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = ProtectedInlineFormSet
    extra = 0
    raw_id_fields = ["user"]


@admin.register(ReaderStudy)
class ReaderStudyAdmin(ProtectedDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "dataset", "is_open", "archived_at", "created_at"]
    inlines = [DimensionInline, MembershipInline]


@admin.register(StudyImage)
class StudyImageAdmin(ProtectedDeleteMixin, admin.ModelAdmin):
    list_display = ["study", "image", "priority"]
    list_filter = ["study"]
    raw_id_fields = ["image"]


@admin.register(Dimension)
class DimensionAdmin(ProtectedDeleteMixin, admin.ModelAdmin):
    form = DimensionAdminForm
    list_display = ["study", "key", "label", "kind", "min_value", "max_value"]
    list_filter = ["study", "kind"]


@admin.register(Membership)
class MembershipAdmin(ProtectedDeleteMixin, admin.ModelAdmin):
    list_display = ["user", "study", "role"]
    list_filter = ["study", "role"]


@admin.register(RaterProfile)
class RaterProfileAdmin(admin.ModelAdmin):
    list_display = ["pseudonym", "user", "profession", "years_experience"]
    list_filter = ["profession"]


class RatingInline(admin.TabularInline):
    model = Rating
    extra = 0
    fields = ["dimension", "value", "first_input_ms", "updated_at"]
    readonly_fields = ["updated_at"]


def _audit_deleted_assessment(request, assessment: Assessment) -> None:
    values = dict(assessment.ratings.values_list("dimension__key", "value"))
    audit.record(
        AuditAction.RATING_DELETED, actor=request.user, study=assessment.study_id,
        object_type="assessment", object_id=assessment.pk,
        details={"image": assessment.image_id, "rater": assessment.rater_id, "values": values},
    )  # fmt: skip


def _audit_rating(request, rating: Rating, action: AuditAction, details: dict) -> None:
    audit.record(
        action, actor=request.user, study=rating.assessment.study_id, object_type="rating",
        object_id=rating.pk,
        details={"assessment": rating.assessment_id, "image": rating.assessment.image_id,
                 **details},
    )  # fmt: skip


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    """Staff may change or delete a reading here; each change is in the study's audit trail."""

    list_display = ["study", "image", "rater", "status", "active_ms", "submitted_at"]
    list_filter = ["study", "status"]
    raw_id_fields = ["image"]
    inlines = [RatingInline]

    def delete_model(self, request, obj):
        with transaction.atomic():
            _audit_deleted_assessment(request, obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for assessment in queryset:
                _audit_deleted_assessment(request, assessment)
            super().delete_queryset(request, queryset)

    def save_formset(self, request, form, formset, change):
        for inline in formset.forms:
            rating = inline.instance
            if not isinstance(rating, Rating) or rating.pk is None:
                continue
            key = rating.dimension.key
            if formset.can_delete and inline in formset.deleted_forms:
                _audit_rating(request, rating, AuditAction.RATING_DELETED,
                              {"old": {key: inline.initial.get("value")}})  # fmt: skip
            elif "value" in inline.changed_data:
                _audit_rating(request, rating, AuditAction.RATING_CHANGED,
                              {"old": {key: inline.initial.get("value")},
                               "new": {key: rating.value}, "by": "admin"})  # fmt: skip
        super().save_formset(request, form, formset, change)


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ["assessment", "dimension", "value", "updated_at"]
    raw_id_fields = ["assessment"]

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            if change and "value" in form.changed_data:
                key = obj.dimension.key
                _audit_rating(request, obj, AuditAction.RATING_CHANGED,
                              {"old": {key: form.initial.get("value")},
                               "new": {key: obj.value}, "by": "admin"})  # fmt: skip
            super().save_model(request, obj, form, change)

    # Deleting a rating alone sends no signal the results version listens to.
    def delete_model(self, request, obj):
        study_id = obj.dimension.study_id
        with transaction.atomic():
            _audit_rating(request, obj, AuditAction.RATING_DELETED,
                          {"old": {obj.dimension.key: obj.value}})  # fmt: skip
            super().delete_model(request, obj)
        bump(study_id)

    def delete_queryset(self, request, queryset):
        studies = set(queryset.values_list("dimension__study_id", flat=True))
        with transaction.atomic():
            for rating in queryset.select_related("assessment", "dimension"):
                _audit_rating(request, rating, AuditAction.RATING_DELETED,
                              {"old": {rating.dimension.key: rating.value}})  # fmt: skip
            super().delete_queryset(request, queryset)
        bump(*studies)


@admin.register(RatingRevision)
class RatingRevisionAdmin(admin.ModelAdmin):
    list_display = ["rating", "value", "valid_from", "replaced_at", "replaced_by"]
    raw_id_fields = ["rating"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail, read-only: nobody adds, changes or deletes an event here."""

    list_display = ("created_at", "actor_username", "action", "study", "object_type", "object_id")
    list_filter = ("action",)
    search_fields = ("actor_username", "object_id")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
