"""The admin's door: a change a policy says needs approval, made on a record's admin page,
becomes a change request instead of a write.

`HeldChangeAdmin` (a ModelAdmin mixin, in MasterDataAdmin) adds "Reason for the change" to
the form of a governed kind; the form works out, once it has built the edited record, whether
the change needs approval (`hold`), and then requires the reason. Saving then asks for the
request and writes nothing (nor the inlines, nor the admin's log), and the page goes to the
request. The admin's other writes take the same door with a reason saying where they came
from: a deletion, the bulk delete, a revert from the history page. The change list's inline
editing is off while a policy covers the kind.

`HeldInlineMixin` makes an inline of a governed kind read-only while a policy covers the kind:
its records are changed on their own pages, where the door is.
"""

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import flatten_fieldsets
from django.http import HttpResponseRedirect
from django.urls import reverse

from changes import policies, requests
from changes.registry import governed

REASON = "change_reason"
NO_REASON = "Asked in the admin ({where}); no reason could be given there."


def _reason_field():
    return forms.CharField(
        label="Reason for the change",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Needed when the change waits for approval: the reviewer reads it.",
    )


class HeldChangeForm(forms.ModelForm):
    """Works out, once the edited record is built, whether its change needs approval."""

    held = None

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        action = policies.UPDATE if self.instance.pk else policies.CREATE
        self.held = requests.hold(self.instance, action)
        if self.held is not None and not (self.cleaned_data.get(REASON) or "").strip():
            kinds = ", ".join(
                sorted({p.note or f"approval of {p.kind}" for p in self.held.policies})
            )
            self.add_error(
                REASON,
                f"This change needs another person's approval ({kinds}): say why it is made.",
            )


class HeldChangeAdmin:
    """ModelAdmin mixin: see the module."""

    def _governs(self):
        return governed(self.model) is not None and policies.any_policy(governed(self.model).model)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if self._governs() and not issubclass(kwargs.get("form", self.form), HeldChangeForm):
            base = kwargs.get("form", self.form)
            kwargs["form"] = type(
                f"Held{base.__name__}", (HeldChangeForm, base), {REASON: _reason_field()}
            )
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        may_write = (
            self.has_change_permission(request, obj)
            if obj is not None
            else self.has_add_permission(request)
        )
        if not may_write or not self._governs() or REASON in flatten_fieldsets(fieldsets):
            return fieldsets
        return [*fieldsets, ("Approval", {"fields": [REASON]})]

    def get_changelist_instance(self, request):
        # While a policy covers the kind, each record changes on its own page, with a reason:
        # the list's inline editing is off (its rows would ask without one).
        changelist = super().get_changelist_instance(request)
        if changelist.list_editable and self._governs():
            changelist.list_editable = ()
        return changelist

    def save_model(self, request, obj, form, change):
        held = getattr(form, "held", None)
        reason = (getattr(form, "cleaned_data", {}) or {}).get(REASON, "")
        if held is None and not isinstance(form, HeldChangeForm) and self._governs():
            # The change list's edits: their form has no reason.
            held = requests.hold(obj, policies.UPDATE if change else policies.CREATE)
            reason = getattr(obj, "_change_reason", "") or NO_REASON.format(where="a list edit")
        elif getattr(obj, "_change_reason", ""):
            reason = f"{reason} ({obj._change_reason})"  # a revert says so
        if held is None:
            return super().save_model(request, obj, form, change)
        self._asked(request, [held], reason, [obj])
        return None

    def delete_model(self, request, obj):
        held = requests.hold(obj, policies.DELETE) if self._governs() else None
        if held is None:
            return super().delete_model(request, obj)
        self._asked(request, [held], NO_REASON.format(where="a deletion"), [obj])
        return None

    def delete_queryset(self, request, queryset):
        if not self._governs():
            return super().delete_queryset(request, queryset)
        held = [requests.hold(obj, policies.DELETE) for obj in queryset]
        if not any(held):
            return super().delete_queryset(request, queryset)
        free = [obj.pk for obj, proposal in zip(queryset, held, strict=True) if proposal is None]
        queryset.filter(pk__in=free).delete()
        self._asked(request, [p for p in held if p], NO_REASON.format(where="a bulk deletion"))
        return None

    def _asked(self, request, proposals, reason, held_objects=()):
        asked = requests.ask(proposals, by=request.user, reason=reason, source="admin")
        request._held_change = asked
        for obj in held_objects:
            obj._held_change = asked
        messages.info(
            request,
            f"{asked.number} waits for another person's approval: nothing changes until then.",
        )

    def message_user(self, request, message, level=messages.INFO, *args, **kwargs):
        # After a held change the admin's own "... deleted successfully" would say it was done.
        if getattr(request, "_held_change", None) is not None and level == messages.SUCCESS:
            return
        super().message_user(request, message, level, *args, **kwargs)

    # After a held change, nothing else is written and the page goes to the request. A list
    # edit may hold some rows and save others: what is skipped is the held record's.

    def save_related(self, request, form, formsets, change):
        if getattr(form.instance, "_held_change", None) is None:
            super().save_related(request, form, formsets, change)

    def construct_change_message(self, request, form, formsets, add=False):
        # The inlines of a held record were not saved: there is nothing to describe.
        if getattr(form.instance, "_held_change", None) is not None:
            return []
        return super().construct_change_message(request, form, formsets, add)

    def log_addition(self, request, obj, message):
        if getattr(obj, "_held_change", None) is None:
            return super().log_addition(request, obj, message)
        return None

    def log_change(self, request, obj, message):
        if getattr(obj, "_held_change", None) is None:
            return super().log_change(request, obj, message)
        return None

    def log_deletions(self, request, queryset):
        # Called before the deletion: the log names only the records deleted at once.
        if not self._governs():
            return super().log_deletions(request, queryset)
        free = [obj for obj in queryset if requests.hold(obj, policies.DELETE) is None]
        return super().log_deletions(request, free) if free else []

    def response_add(self, request, obj, post_url_continue=None):
        return self._to_request(request) or super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        return self._to_request(request) or super().response_change(request, obj)

    def response_delete(self, request, obj_display, obj_id):
        return self._to_request(request) or super().response_delete(request, obj_display, obj_id)

    def _to_request(self, request):
        asked = getattr(request, "_held_change", None)
        if asked is None:
            return None
        return HttpResponseRedirect(reverse("changes:request", args=[asked.pk]))


class HeldInlineMixin:
    """An inline whose kind a policy covers is read-only: its records change on their own
    pages, through the door."""

    def _held(self):
        kind = governed(self.model)
        return kind is not None and policies.any_policy(kind.model)

    def has_add_permission(self, request, obj=None):
        return not self._held() and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._held() and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._held() and super().has_delete_permission(request, obj)
