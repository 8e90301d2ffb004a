"""Import runs in the admin, read-only: the admin index lists them, and each leads to the
import screen (/imports/), where files are uploaded, planned, applied and reverted."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdmin
from imports.models import ImportRun


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "file_name", "status", "created_by", "created_at", "screen")
    list_filter = ("kind", "status")
    readonly_fields = [field.name for field in ImportRun._meta.fields]

    @admin.display(description="Import screen")
    def screen(self, run):
        return format_html('<a href="{}">Open</a>', reverse("imports:run", args=[run.pk]))

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "title": "Import runs (upload files on the import screen, /imports/)",
        }
        return super().changelist_view(request, extra_context)
