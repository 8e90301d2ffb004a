"""Admin of the EDI gateway: trading partners (stewards set them up) and the interchanges
(read only: the gateway writes them; the screens under /edi/ show them best)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdmin
from edi.models import Interchange, Partner


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("name", "standard", "envelope_id", "system", "supplier", "send_orders")
    list_display += ("is_active",)
    list_filter = ("standard", "is_active", "send_orders", "system")
    search_fields = ("name", "interchange_id", "supplier_code", "supplier__name")
    autocomplete_fields = ("supplier",)
    readonly_fields = ("next_interchange_control", "next_group_control")
    fieldsets = (
        (None, {"fields": ("name", "standard", "is_active")}),
        (
            "On the envelope",
            {"fields": ("qualifier", "interchange_id", "hub_qualifier", "hub_id")},
        ),
        (
            "What it sends",
            {"fields": ("system", "supplier_code", "versions", "units", "allow_non_ascii")},
        ),
        (
            "What it gets",
            {
                "fields": (
                    "ack_kind",
                    "send_orders",
                    "supplier",
                    "outbound_directory",
                    *readonly_fields,
                )
            },
        ),
    )

    @admin.display(description="Envelope id")
    def envelope_id(self, partner):
        return partner.envelope_id


@admin.register(Interchange)
class InterchangeAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "direction", "partner", "contents", "control", "status")
    list_display += ("received_at", "screen")
    list_filter = ("direction", "status", "standard", "partner")
    search_fields = ("public_id", "control", "sha256", "filename")
    exclude = ("raw",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("partner").defer("raw")

    @admin.display(description="Screen")
    def screen(self, interchange):
        url = reverse("edi:interchange", args=[interchange.public_id])
        return format_html('<a href="{}">segments</a>', url)
