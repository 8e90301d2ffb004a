"""Where a change came from (admin, API, import, task), recorded on every history row.

The request middleware sets the source for web requests; imports and tasks wrap their work
in `change_source("import", reference=run_id)`. simple_history's pre-create signal copies the
current source onto each historical record.
"""

import contextvars
from contextlib import contextmanager

from django.db import models
from django.dispatch import receiver
from simple_history.signals import pre_create_historical_record


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
