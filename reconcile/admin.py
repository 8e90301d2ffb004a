"""Reconciliation keys in the admin: a steward creates one (its service URL is shown once, on
the page after saving; only a hash is kept) and revokes it."""

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from reconcile.models import ReconciliationKey
from reconcile.services import create_key


@admin.register(ReconciliationKey)
class ReconciliationKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "key_prefix", "is_active", "last_used_at", "created_by", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "key_prefix")
    readonly_fields = (
        "key_prefix",
        "is_active",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ("revoke",)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name",)
        return ("name", *self.readonly_fields)

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, never deleted: the list says who had access

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        # The new key lives only on this request: it is shown on the page after saving,
        # never stored (not even in a message cookie).
        _, request._reconciliation_key = create_key(obj.name, user=request.user, key=obj)

    def response_add(self, request, obj, post_url_continue=None):
        key = getattr(request, "_reconciliation_key", None)
        if key is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Reconciliation key created",
            "key": obj,
            "service_url": request.build_absolute_uri(reverse("reconcile:service", args=[key])),
        }
        response = TemplateResponse(request, "reconcile/key_created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke the selected reconciliation keys", permissions=("change",))
    def revoke(self, request, queryset):
        count = queryset.filter(is_active=True).update(is_active=False, revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} reconciliation key(s).", messages.SUCCESS)
