"""Quarantine cases in the admin: a list to find and check cases until the review screens
come. Cases change through the quarantine workflow, so only the assignee is edited here."""

from django.contrib import admin

from quarantine.models import CaseTransition, QuarantineCase


class CaseTransitionInline(admin.TabularInline):
    model = CaseTransition
    fields = ("at", "from_status", "to_status", "by", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(QuarantineCase)
class QuarantineCaseAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "message",
        "status",
        "team",
        "rule_list",
        "message_type",
        "system",
        "plant",
        "supplier",
        "item",
        "assignee",
        "opened_at",
    )
    list_filter = ("status", "team", "message_type", "system", "rules")
    list_select_related = ("message", "system", "assignee")
    search_fields = ("message__public_id", "plant", "supplier", "item")
    search_help_text = "Message id, plant, supplier or item (as the sender wrote them)."
    date_hierarchy = "opened_at"
    fields = (
        "message",
        "status",
        "team",
        "assignee",
        "message_type",
        "system",
        "plant",
        "supplier",
        "item",
        "rules",
        "opened_at",
        "resolved_at",
        "diagnostics",
    )
    readonly_fields = tuple(name for name in fields if name != "assignee")
    inlines = [CaseTransitionInline]

    def get_queryset(self, request):
        # A case row needs its message's id, not its payloads.
        return (
            super()
            .get_queryset(request)
            .defer("message__payload", "message__released_payload", "message__diagnostics")
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Rules")
    def rule_list(self, case):
        return ", ".join(case.rule_codes)
