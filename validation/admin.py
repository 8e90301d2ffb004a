"""Validation in the admin: rules (stewards disable a rule or change its severity, team or
tolerance, with history), plan policies (planners set a plan's horizon, frozen fence and
change thresholds, with history) and inbound messages (read only: operators look up a
message, its outcome and the error of a dead letter)."""

import json

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from core.admin import ReadOnlyAdmin
from mdm.admin import RECORD_FIELDS, MasterDataAdmin
from validation.layouts import LAYOUTS
from validation.models import InboundMessage, PlanPolicy, Rule
from xref.records import MODELS as RECORD_KINDS
from xref.records import resolve_records


@admin.register(Rule)
class RuleAdmin(MasterDataAdmin):
    # What the rule checks, in words, first; its code beside.
    list_display = ("description", "code", "severity", "team", "enabled", "tolerance_percent")
    list_display_links = ("description",)
    list_editable = ("severity", "team", "enabled", "tolerance_percent")
    list_filter = ("enabled", "severity", "team")
    search_fields = ("code", "description")
    fields = (
        "code",
        "severity",
        "team",
        "enabled",
        "tolerance_percent",
        "description",
        *RECORD_FIELDS,
    )

    def get_readonly_fields(self, request, obj=None):
        # The code is what the pipeline and the diagnostics know a rule by: never renamed.
        return ("code", *super().get_readonly_fields(request, obj))

    def has_add_permission(self, request):
        return False  # a rule needs code in the pipeline: rules come with their migration

    def has_delete_permission(self, request, obj=None):
        return False  # disable it instead: old diagnostics keep naming it


@admin.register(PlanPolicy)
class PlanPolicyAdmin(MasterDataAdmin):
    """Planners set each plan's forecast policy here (validation.controls): horizon, frozen
    fence and the change thresholds of selective synchronization."""

    list_display = (
        "plan_id_or_default",
        "system",
        "horizon_weeks",
        "frozen_fence_days",
        "change_threshold_percent",
        "change_threshold_quantity",
    )
    list_filter = ("system",)
    search_fields = ("plan_id", "notes")
    fields = (
        "system",
        "plan_id",
        "horizon_weeks",
        "frozen_fence_days",
        "change_threshold_percent",
        "change_threshold_quantity",
        "notes",
        *RECORD_FIELDS,
    )

    @admin.display(description="Plan", ordering="plan_id")
    def plan_id_or_default(self, policy):
        return policy.plan_id or "(every plan of the system)"


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "message_type",
        "system",
        "status",
        "business_date",
        "received_at",
        "finished_at",
        "attempts",
        "last_error_short",
    )
    list_filter = ("status", "message_type", "system")
    list_select_related = ("system",)
    search_fields = ("public_id", "idempotency_key", "group_key")
    search_help_text = "Message id, idempotency key or forecast release (forecast:v3:PLAN-1)."
    date_hierarchy = "received_at"
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("public_id", "message_type", "schema_version", "system", "status")}),
        (
            "Sent",
            {
                "fields": (
                    "idempotency_key",
                    "submitted_by",
                    "received_at",
                    "business_date",
                    "group_key",
                    "part_number",
                    "part_count",
                    "payload_sha256",
                    "master_records",
                    "payload_pretty",
                )
            },
        ),
        (
            "Validation",
            {
                "fields": (
                    "enqueued_at",
                    "claimed_at",
                    "finished_at",
                    "attempts",
                    "last_error",
                    "diagnostics_pretty",
                    "released_payload_pretty",
                )
            },
        ),
    )

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("_changelist"):
            queryset = queryset.defer("payload", "released_payload", "diagnostics")
        return queryset

    def get_readonly_fields(self, request, obj=None):
        return [name for fieldset in self.fieldsets for name in fieldset[1]["fields"]]

    @admin.display(description="Last error")
    def last_error_short(self, message):
        return message.last_error[:80]

    @admin.display(description="Master records")
    def master_records(self, message):
        """The master record each code of the message means (public id and name, linked),
        the sender's code beside it; a code in no record says so."""
        codes = _message_codes(message)
        if not codes:
            return "–"
        system = message.system.code
        found = resolve_records((kind, system, code) for _, kind, code in codes)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td><small>{}</small></td></tr>",
            (
                (field, _record_link(found.get((kind, system, code))), code)
                for field, kind, code in codes
            ),
        )
        return format_html(
            "<table><tr><th>Field</th><th>Master record</th><th>{}'s code</th></tr>{}</table>",
            system,
            rows,
        )

    @admin.display(description="Payload")
    def payload_pretty(self, message):
        return _pretty(message.payload)

    @admin.display(description="Diagnostics")
    def diagnostics_pretty(self, message):
        return _pretty(message.diagnostics)

    @admin.display(description="Released payload")
    def released_payload_pretty(self, message):
        return _pretty(message.released_payload)


# The distinct line codes a message's page resolves (a forecast may have a million lines).
SHOWN_LINE_CODES = 50


def _message_codes(message):
    """[(field, kind, code)] of the message's header and distinct line codes of items,
    suppliers and locations, by its layout (validation.layouts.LAYOUTS)."""
    layout = LAYOUTS.get(message.message_type)
    payload = message.payload if isinstance(message.payload, dict) else {}
    if layout is None:
        return []
    found = [
        (field.name, field.kind, payload[field.name])
        for field in layout.header
        if field.kind in RECORD_KINDS and isinstance(payload.get(field.name), str)
    ]
    seen = set()
    lines = payload.get("lines") if isinstance(payload.get("lines"), list) else []
    for line in lines:
        for field in layout.lines:
            code = line.get(field.name) if isinstance(line, dict) else None
            if field.kind in RECORD_KINDS and isinstance(code, str) and (field, code) not in seen:
                seen.add((field, code))
                found.append((f"lines: {field.name}", field.kind, code))
        if len(seen) >= SHOWN_LINE_CODES:
            break
    return found


def _record_link(record):
    if record is None:
        return mark_safe('<span class="help">not in master data</span>')
    return format_html('<a href="{}">{}</a>', record.url, record.label)


# Past this, a JSON value is cut in the admin page (a forecast can be many megabytes).
SHOWN_JSON_CHARS = 200_000


def _pretty(value):
    text = json.dumps(value, indent=2, ensure_ascii=False)
    if len(text) > SHOWN_JSON_CHARS:
        text = text[:SHOWN_JSON_CHARS] + f"\n... ({len(text) - SHOWN_JSON_CHARS} more characters)"
    return format_html("<pre style='max-height:40em;overflow:auto'>{}</pre>", text)
