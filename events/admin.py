"""Admin of the events: subscriptions (stewards manage them) and the outbox's events (read
only: the hub writes them)."""

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from core.admin import ReadOnlyAdmin
from events import feed, webhooks
from events.models import Event, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("name", "consumer", "mode", "is_active", "types_shown", "lag_shown")
    list_filter = ("mode", "is_active", "consumer")
    search_fields = ("name", "consumer")
    readonly_fields = ("cursor", "created_at", "updated_at")
    fields = ("name", "consumer", "mode", "types", "facts", "url", "is_active", *readonly_fields)

    def get_queryset(self, request):
        return feed.with_lag(super().get_queryset(request))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        secret = webhooks.first_secret(obj)
        if secret:
            messages.warning(
                request,
                f"The signing secret of {obj}: {secret} - copy it to the receiver now; it is "
                "not shown again (rotate it to get a new one).",
            )

    @admin.display(description="Types")
    def types_shown(self, subscription):
        return ", ".join(subscription.types) or "(every type)"

    @admin.display(description="Lag", ordering="lag")
    def lag_shown(self, subscription):
        """Positions published past the cursor of a pull subscription (its consumer's
        backlog, matching or not)."""
        if subscription.mode != Subscription.Mode.PULL:
            return "–"
        return subscription.lag


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("position", "type", "subject", "time", "partition_key")
    list_filter = ("type",)
    search_fields = ("=subject",)
    search_help_text = "The canonical id the event concerns, e.g. SUP-000003 (exactly)."
    date_hierarchy = "time"
    show_full_result_count = False
    fields = (
        "position",
        "event_id",
        "type",
        "source",
        "subject",
        "time",
        "partition_key",
        "facts_pretty",
        "data_pretty",
    )
    readonly_fields = fields

    @admin.display(description="Facts")
    def facts_pretty(self, event):
        return _pretty(event.facts)

    @admin.display(description="Data")
    def data_pretty(self, event):
        return _pretty(event.data)


def _pretty(value):
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))
