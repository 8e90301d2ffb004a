"""Queueing import work on HUB_IMPORT_QUEUE, by task name (core.queue), so that the modules
doing the work do not import imports.tasks, which imports them. Never raises: a run whose
task was not sent (the broker is down or refused) stays queued, a chunk stays pending, and
the sweep (imports.runs) sends it again."""

from django.conf import settings
from django.db import transaction

from core.queue import send


def send_task(name, *args):
    """Send the import task `name` (a function of imports.tasks) now."""
    send(f"imports.tasks.{name}", *args, queue=settings.HUB_IMPORT_QUEUE)


def on_commit(name, *args):
    """Send the import task `name` once the current transaction commits (at once outside
    one): the task must see what the transaction wrote."""
    transaction.on_commit(lambda: send_task(name, *args))
