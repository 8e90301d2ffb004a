"""Quarantine cases in the admin: a list to find and check cases until the review screens
come. Cases change through the quarantine workflow, so only the assignee is edited here."""

from django.contrib import admin

from quarantine.models import BulkRun, CaseKey, CaseTransition, QuarantineCase, TeamSettings


class CaseTransitionInline(admin.TabularInline):
    model = CaseTransition
    fields = ("at", "from_status", "to_status", "by", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class CaseKeyInline(admin.TabularInline):
    model = CaseKey
    fields = ("system", "kind", "code")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "code the case is blocked on"
    verbose_name_plural = "codes the case is blocked on (auto-replay watches them)"

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(QuarantineCase)
class QuarantineCaseAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "message",
        "status",
        "resolution",
        "team",
        "rule_list",
        "plant",
        "supplier",
        "item",
        "assignee",
        "opened_at",
    )
    list_filter = ("status", "resolution", "team", "message_type", "system", "rules")
    list_select_related = ("message", "system", "assignee")
    search_fields = ("message__public_id", "plant", "supplier", "item")
    search_help_text = "Message id, plant, supplier or item (as the sender wrote them)."
    date_hierarchy = "opened_at"
    fields = (
        "message",
        "status",
        "resolution",
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
        "replay_pending",
        "overdue_at",
        "sla_notified_at",
        "diagnostics",
    )
    readonly_fields = tuple(name for name in fields if name != "assignee")
    inlines = [CaseTransitionInline, CaseKeyInline]

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


@admin.register(TeamSettings)
class TeamSettingsAdmin(admin.ModelAdmin):
    """Each team's SLA and the address overdue notices go to."""

    list_display = ("team", "sla_hours", "notify_email")
    list_editable = ("sla_hours", "notify_email")


@admin.register(BulkRun)
class BulkRunAdmin(admin.ModelAdmin):
    """Bulk actions run in the background: read-only, for operators to check."""

    list_display = ("id", "action", "status", "total", "done", "failed", "created_by", "created_at")
    list_filter = ("status", "action")
    readonly_fields = (
        "action",
        "params",
        "case_ids",
        "created_by",
        "status",
        "total",
        "done",
        "failed",
        "results",
        "created_at",
        "finished_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
