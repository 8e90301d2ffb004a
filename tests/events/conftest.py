"""The events tests' world: tests/conftest.py's users and clients, Celery in eager mode, and
helpers to emit events as the domain apps do (in a transaction, published on commit)."""

import pytest
from django.db import transaction

from events import outbox
from events.models import Subscription


@pytest.fixture(autouse=True)
def _eager(eager_celery):
    """Every events test runs its tasks in its own process (tests/conftest.py)."""


@pytest.fixture
def emit(db, django_capture_on_commit_callbacks):
    """emit(type, subject, **facts): an event written in its own transaction and published
    when it commits, as a domain app's change would. Returns the event, with its position."""

    def emit_one(type, subject, data=None, partition_key=None, **facts):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            event = outbox.emit(type, subject, data or {"id": subject}, partition_key, facts=facts)
        event.refresh_from_db()
        return event

    return emit_one


@pytest.fixture
def planning_feed(db):
    """The planning system's pull subscription to supply exceptions."""
    return Subscription.objects.create(
        name="planning-supply-exceptions",
        consumer="PLANNING",
        mode=Subscription.Mode.PULL,
        types=["hub.supply_exception.*"],
    )
