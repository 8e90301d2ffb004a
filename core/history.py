"""Where a change came from (admin, API, import, task), recorded on every history row, and
how a history row reads to a steward.

The request middleware sets the source for web requests; imports and tasks wrap their work
in `change_source("import", reference=run_id)`. simple_history's pre-create signal copies the
current source onto each historical record. A revert from the admin's history page records
its reason ("Reverted to the version of ...", `revert_reason`), which is how its row is told
from any other edit (`is_revert`).

History pages speak in labels: a field by its verbose name, a choice by its label, nothing
as "empty" (`display_value`, `LabelledHistoryHelper`).
"""

import contextvars
from contextlib import contextmanager

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.dispatch import receiver
from django.utils import timezone
from django.utils.text import capfirst
from simple_history.signals import pre_create_historical_record
from simple_history.template_utils import HistoricalRecordContextHelper

EMPTY = "empty"
REVERT_PREFIX = "Reverted to the version of "


class Source(models.TextChoices):
    ADMIN = "admin", "Admin"
    API = "api", "API"
    IMPORT = "import", "Import"
    TASK = "task", "Task"
    COMMAND = "command", "Command"
    WEB = "web", "Web"


_current = contextvars.ContextVar("change_source", default=(Source.COMMAND, ""))


class HistoricalChangeSource(models.Model):
    """Fields added to every historical record."""

    change_source = models.CharField(max_length=10, choices=Source.choices, default=Source.COMMAND)
    # Indexed: an import run's revert and its match-index refresh read its rows by reference.
    change_reference = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text="E.g. the import run or task that made the change.",
    )

    class Meta:
        abstract = True


@contextmanager
def change_source(source, reference=""):
    token = _current.set((Source(source), str(reference)))
    try:
        yield
    finally:
        _current.reset(token)


def current_change_source():
    return _current.get()


@receiver(pre_create_historical_record)
def _stamp_source(sender, history_instance, **kwargs):
    source, reference = _current.get()
    history_instance.change_source = source
    history_instance.change_reference = reference


class ChangeSourceMiddleware:
    """Marks changes made during a request as coming from the admin, the API or the web UI."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith("/admin/"):
            source = Source.ADMIN
        elif path.startswith("/api/"):
            source = Source.API
        else:
            source = Source.WEB
        with change_source(source):
            return self.get_response(request)


# --- how history reads ----------------------------------------------------------------------


def display_value(field, value):
    """A field's value as a steward reads it: a choice by its label, a yes/no, a related
    record by its name, nothing as "empty"."""
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    choices = dict(field.flatchoices) if getattr(field, "choices", None) else {}
    if isinstance(value, list):
        return ", ".join(str(choices.get(v, v)) for v in value)
    if isinstance(value, str | int) and value in choices:
        return str(choices[value])
    return str(value)


class LabelledHistoryHelper(HistoricalRecordContextHelper):
    """The changes of a history row in labels (simple_history already names the field by its
    verbose name): choice labels instead of codes, "empty" instead of None."""

    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if field.many_to_many:
            return super().prepare_delta_change_value(change, value)
        return display_value(field, value)


def revert_reason(record):
    """The change reason of a revert to the historical `record` (fits the 100 characters
    simple_history keeps)."""
    at = timezone.localtime(record.history_date).strftime("%Y-%m-%d %H:%M")
    return f"{REVERT_PREFIX}{at} (#{record.history_id})"


def is_revert(record):
    return (record.history_change_reason or "").startswith(REVERT_PREFIX)


def revert_changes(current, reverted, field_names):
    """What reverting `current` to the historical version `reverted` would change, as
    [{"field", "current", "reverted"}] in labels, over the fields a revert writes."""
    changes = []
    model_fields = {field.name: field for field in current._meta.get_fields()}
    for name in field_names:
        field = model_fields.get(name)
        if field is None or not field.concrete or field.many_to_many:
            continue
        if field.value_from_object(current) == field.value_from_object(reverted):
            continue
        changes.append(
            {
                "field": capfirst(field.verbose_name),
                "current": display_value(field, _value(current, field)),
                "reverted": display_value(field, _value(reverted, field)),
            }
        )
    return changes


def _value(obj, field):
    try:
        return getattr(obj, field.name)
    except ObjectDoesNotExist:  # an old version may name a record deleted since
        return f"deleted record #{field.value_from_object(obj)}"
