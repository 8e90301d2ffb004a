"""Forms of the review screens. They check what a person typed; the rules of the workflow
(who may act, which transitions are allowed, conflicts) stay in quarantine.services."""

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from core.jsonbody import JSONRefused, read_json
from core.numbers import NumberError, bounded_decimal
from core.roles import STEWARD


def stewards():
    """Users a case can be assigned to: active stewards and superusers."""
    return (
        get_user_model()
        .objects.filter(Q(groups__name=STEWARD) | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("username")
    )


class StewardChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        full = user.get_full_name()
        return f"{user.get_username()} ({full})" if full else user.get_username()


class AssignForm(forms.Form):
    assignee = StewardChoiceField(
        queryset=stewards(),
        required=False,
        empty_label="Nobody (back to the queue)",
        label="Assign to",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = stewards()


class ReasonForm(forms.Form):
    """Reject, or release by override: a reason is required."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="Recorded in the case's history.",
    )


class ReplayForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.TextInput(attrs={"size": 40}),
        label="Why (optional)",
    )


class EditPayloadForm(forms.Form):
    """The payload as JSON text. Invalid JSON is refused with where it broke; the text typed
    is kept in the form so nothing is lost."""

    payload = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 18, "class": "json", "spellcheck": "false"}),
        label="Payload (JSON)",
    )
    reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.TextInput(attrs={"size": 50}),
        label="What you changed and why",
    )

    def clean_payload(self):
        text = self.cleaned_data["payload"]
        try:
            value = read_json(text)
        except JSONRefused as exc:
            if exc.line is None:  # within the hub's limits on JSON (core.jsonbody)
                raise forms.ValidationError(
                    "%(error)s Nothing was saved; correct the text below and send it again.",
                    code="json_limit",
                    params={"error": str(exc)},
                ) from None
            raise forms.ValidationError(
                "This is not valid JSON: %(error)s at line %(line)s, column %(column)s. "
                "Nothing was saved; correct the text below and send it again.",
                code="json",
                params={"error": exc.reason, "line": exc.line, "column": exc.column},
            ) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(
                "The payload must be a JSON object ({ ... }).", code="not_object"
            )
        return value


class FixForm(forms.Form):
    """Fix an unresolved code: `entry` is the position of the code among the case's
    suggestions (quarantine.services.suggestions), `target` the public id of the record it
    means (a suggested candidate, one found by searching, or typed)."""

    entry = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    target = forms.CharField(
        max_length=100,
        label="The record it means",
        help_text="Pick a candidate, or type a public id such as ITM-000123.",
    )


class BulkForm(forms.Form):
    ACTIONS = (
        ("assign", "Assign to"),
        ("replay", "Replay"),
        ("reject", "Reject"),
    )

    action = forms.ChoiceField(choices=ACTIONS)
    cases = forms.TypedMultipleChoiceField(coerce=int, choices=(), label="Cases")
    assignee = StewardChoiceField(queryset=stewards(), required=False, empty_label="Nobody")
    reason = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = stewards()
        # Any id is accepted here; the service reports the ones that are not cases.
        self.fields["cases"].valid_value = lambda value: str(value).isdigit()

    def clean(self):
        data = super().clean()
        if data.get("action") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Give a reason to reject the selected messages.")
        return data

    def action_kwargs(self):
        data = self.cleaned_data
        if data["action"] == "assign":
            return {"assignee": data.get("assignee")}
        if data["action"] == "reject":
            return {"reason": data["reason"]}
        return {"reason": data.get("reason") or ""}


class ConversionForm(forms.Form):
    """Add the unit conversion a UNIT_NOT_CONVERTIBLE case lacks: `entry` is its position
    among the case's missing conversions (quarantine.conversions), `factor` how many of the
    item's base unit one unit sent is."""

    entry = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    factor = forms.CharField(
        max_length=64,
        label="How many",
        widget=forms.TextInput(attrs={"size": 10, "inputmode": "decimal"}),
    )
    for_supplier = forms.BooleanField(required=False, initial=True)

    def clean_factor(self):
        text = self.cleaned_data["factor"].strip()
        try:
            factor = bounded_decimal(text)
        except NumberError as exc:
            raise forms.ValidationError(
                "%(error)s Give the factor as a number greater than zero, e.g. 12 or 0.5.",
                code="number",
                params={"error": str(exc)},
            ) from None
        if factor <= 0:
            raise forms.ValidationError(
                "The factor must be greater than zero, e.g. 12 or 0.5.", code="positive"
            )
        return factor


class SupplyNoteForm(forms.Form):
    """A note on a supply exception: optional to acknowledge, required to close (the service
    says so)."""

    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 40}),
        label="Note",
    )
