"""Django admin for every ratings model (for staff: the ones who may see everything)."""

from django.contrib import admin

from .models import (
    Assessment,
    Dataset,
    Dimension,
    Image,
    ImageFile,
    IngestJob,
    Membership,
    RaterProfile,
    Rating,
    RatingRevision,
    ReaderStudy,
    StudyImage,
)
from .results.freshness import bump


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "created_by", "created_at"]
    search_fields = ["name"]


class ImageFileInline(admin.TabularInline):
    model = ImageFile
    extra = 0
    fields = ["sop_instance_uid", "instance_number", "position", "transfer_syntax", "size_bytes"]
    readonly_fields = fields


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["label", "dataset", "modality", "rows", "columns", "n_frames", "patient_key"]
    list_filter = ["dataset", "modality"]
    search_fields = ["label", "series_uid", "patient_key"]
    inlines = [ImageFileInline]


@admin.register(ImageFile)
class ImageFileAdmin(admin.ModelAdmin):
    list_display = ["sop_instance_uid", "image", "instance_number", "transfer_syntax", "size_bytes"]
    list_select_related = ["image"]
    search_fields = ["sop_instance_uid"]


class DimensionInline(admin.StackedInline):
    model = Dimension
    extra = 0
    filter_horizontal = ["raters"]
    raw_id_fields = ["images"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(ReaderStudy)
class ReaderStudyAdmin(admin.ModelAdmin):
    list_display = ["name", "dataset", "is_open", "created_at"]
    inlines = [DimensionInline, MembershipInline]


@admin.register(StudyImage)
class StudyImageAdmin(admin.ModelAdmin):
    list_display = ["study", "image", "priority"]
    list_filter = ["study"]
    raw_id_fields = ["image"]


@admin.register(Dimension)
class DimensionAdmin(admin.ModelAdmin):
    list_display = ["study", "key", "label", "kind", "min_value", "max_value"]
    list_filter = ["study", "kind"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
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


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    list_display = ["study", "image", "rater", "status", "active_ms", "submitted_at"]
    list_filter = ["study", "status"]
    raw_id_fields = ["image"]
    inlines = [RatingInline]


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ["assessment", "dimension", "value", "updated_at"]
    raw_id_fields = ["assessment"]

    # Deleting a rating alone sends no signal the results version listens to.
    def delete_model(self, request, obj):
        study_id = obj.dimension.study_id
        super().delete_model(request, obj)
        bump(study_id)

    def delete_queryset(self, request, queryset):
        studies = set(queryset.values_list("dimension__study_id", flat=True))
        super().delete_queryset(request, queryset)
        bump(*studies)


@admin.register(RatingRevision)
class RatingRevisionAdmin(admin.ModelAdmin):
    list_display = ["rating", "value", "valid_from", "replaced_at", "replaced_by"]
    raw_id_fields = ["rating"]


@admin.register(IngestJob)
class IngestJobAdmin(admin.ModelAdmin):
    list_display = ["id", "dataset", "status", "n_files_done", "n_files_total", "created_at"]
    list_filter = ["status"]
