"""Approval policies (administrators write them, stewards read them) and the change requests
(read-only here: people decide on the change requests screen or through the API)."""

from django import forms
from django.contrib import admin

from changes import registry
from changes.models import ApprovalPolicy, ChangeItem, ChangeRequest
from core.admin import ReadOnlyAdmin


class ApprovalPolicyForm(forms.ModelForm):
    """The kind chosen from the governed kinds; the fields and systems typed as lists, each
    field checked against the kind's."""

    kind = forms.ChoiceField(choices=())
    fields = forms.CharField(
        required=False,
        help_text="Field names, separated by commas (e.g. status); empty: any change of the "
        "kind, creations and deletions included.",
    )
    systems = forms.CharField(
        required=False,
        help_text="Source system codes, separated by commas (e.g. ERP_LEGACY, SUPPLIER_NET); "
        "empty: every system's records. Only for kinds that belong to a system.",
    )

    class Meta:
        model = ApprovalPolicy
        fields = ("kind", "fields", "systems", "active", "note")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = registry.kind_choices()
        for name in ("fields", "systems"):
            value = self.initial.get(name)
            if isinstance(value, list):
                self.initial[name] = ", ".join(value)

    def _listed(self, name):
        text = self.cleaned_data.get(name) or ""
        return [part.strip() for part in text.split(",") if part.strip()]

    def clean_fields(self):
        return self._listed("fields")

    def clean_systems(self):
        return [code.upper() for code in self._listed("systems")]

    def clean(self):
        cleaned = super().clean()
        kind = registry.governed(cleaned.get("kind") or "")
        if kind is None:
            return cleaned
        offered = {name for name, _ in kind.fields}
        unknown = [name for name in cleaned.get("fields") or () if name not in offered]
        if unknown:
            words = ", ".join(f"{name} ({text})" for name, text in kind.fields) or "none"
            self.add_error(
                "fields",
                f"{kind.title} have no field {', '.join(unknown)} a policy can name; they "
                f"have: {words}.",
            )
        if cleaned.get("systems") and not kind.system:
            self.add_error("systems", f"{kind.title} belong to no system: leave it empty.")
        return cleaned


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(admin.ModelAdmin):
    form = ApprovalPolicyForm
    list_display = ("kind_words", "fields_words", "systems_words", "active", "note")
    list_filter = ("active",)

    @admin.display(description="Kind", ordering="kind")
    def kind_words(self, policy):
        kind = registry.governed(policy.kind)
        return f"{kind.title} ({policy.kind})" if kind else policy.kind

    @admin.display(description="Fields")
    def fields_words(self, policy):
        return ", ".join(policy.fields) or "any change"

    @admin.display(description="Systems")
    def systems_words(self, policy):
        return ", ".join(policy.systems) or "every system"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class ChangeItemInline(admin.TabularInline):
    model = ChangeItem
    fields = ("position", "action", "model", "object_id", "label", "before", "after")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdmin):
    list_display = ("number", "title", "status", "requested_by", "requested_at", "decided_by")
    list_filter = ("status", "kind")
    search_fields = ("title", "reason")
    inlines = [ChangeItemInline]

    @admin.display(description="Request", ordering="pk")
    def number(self, request):
        return request.number
