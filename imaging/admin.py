"""Django admin for the imaging models (for staff)."""

from django.contrib import admin

from imaging.models import Dataset, Image, ImageFile, IngestJob


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


@admin.register(IngestJob)
class IngestJobAdmin(admin.ModelAdmin):
    list_display = ["id", "dataset", "status", "n_files_done", "n_files_total", "created_at"]
    list_filter = ["status"]
