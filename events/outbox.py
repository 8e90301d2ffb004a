"""Writing events in the caller's transaction, and publishing them once committed.

    emit(type, subject, data, partition_key, facts=...)   an event, in the caller's transaction
    publish()                                             positions for the committed events

The documents the events are sent as: events.documents.

`emit` writes the row and, once the transaction commits, sends the task that publishes
(`events.tasks.publish`); a send the broker refuses is made up by the beat's publish.
"""

import json

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.queue import send
from events import delivery
from events.models import Event, PublishedPosition

# Events published per statement by one publish.
PUBLISH_BATCH = 1000


def emit(type, subject, data, partition_key=None, *, facts=None, source=None, traceparent=None):
    """Write an event in the caller's transaction (an error if there is none: an event
    outside the change's transaction could outlive a rollback). `type` as
    "hub.supply_exception.raised", `subject` the canonical id it concerns, `data` a JSON
    object, `partition_key` the order, item or record whose events must stay in order (the
    subject by default), `facts` what subscriptions filter on ({"system", "plant",
    "supplier", "item"}), `source` a URI reference (settings.HUB_EVENTS_SOURCE by default),
    `traceparent` the W3C trace context the event belongs to (sent as the CloudEvents
    distributed-tracing extension; kept as given). Returns the Event."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("emit() writes in the caller's transaction: call it inside one.")
    event = Event.objects.create(
        type=type,
        source=source or settings.HUB_EVENTS_SOURCE,
        subject=subject,
        time=timezone.now(),
        partition_key=partition_key or subject,
        data=json.loads(json.dumps(data, default=str)),
        facts={name: value for name, value in (facts or {}).items() if value},
        traceparent=traceparent or None,
    )
    # One publish task per transaction (savepoint), however many events it writes: one each
    # would flood the queue, and with the broker down hold the commit a second per event.
    current = set(connection.savepoint_ids)
    if not any(
        sids == current and function is _send_publish
        for sids, function, *_ in connection.run_on_commit
    ):
        transaction.on_commit(_send_publish)
    return event


def _send_publish():
    send(
        "events.tasks.publish",
        queue=settings.HUB_EVENTS_QUEUE,
        unsent="the beat's publish gives it a position",
    )


def publish():
    """Give the committed events without a position the next positions, in the order they
    were written; one publisher at a time (the PublishedPosition row is locked). Returns the
    events published, in order; the webhook deliveries of them are planned with them
    (events.delivery.plan)."""
    published = []
    with transaction.atomic():
        counter, _ = PublishedPosition.objects.select_for_update().get_or_create(pk=1)
        waiting = list(
            Event.objects.filter(position__isnull=True).order_by("number")[:PUBLISH_BATCH]
        )
        for event in waiting:
            counter.last += 1
            event.position = counter.last
        Event.objects.bulk_update(waiting, ["position"])
        counter.save(update_fields=["last"])
        if len(waiting) == PUBLISH_BATCH:  # more may wait: another publish, not the beat's
            transaction.on_commit(_send_publish)
        # The webhook deliveries, in the same transaction: a crash loses none.
        delivery.plan(waiting)
        published = waiting
    return published
