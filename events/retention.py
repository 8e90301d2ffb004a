"""Retention of events: published events older than settings.HUB_EVENTS_RETENTION_DAYS are
deleted (Celery beat, `events.tasks.purge_events`), in batches, so the outbox does not grow for
ever.

Only published events go: an event without a position has not reached its subscribers yet,
whatever its age. The feed answers a read from a cursor or a time before the retention as
Gone (events.feed), so a consumer away for longer learns it missed events, rather than
skipping them unawares.
"""

from django.db import transaction
from django.db.models import Min

from events.feed import retention_cutoff
from events.models import Delivery, Event

UNDELIVERED = (Delivery.Status.PENDING, Delivery.Status.RETRYING, Delivery.Status.DEAD)

BATCH = 1000


def purge(now=None):
    """Delete the published events older than the retention; returns how many went.

    What goes is a run of positions from the oldest: every position before the first event
    still inside the retention. An old event published after a newer one (its transaction
    committed late) waits for a later purge, so the kept positions never have a gap below
    them, and the feed can tell a purged cursor by the oldest position kept. An event whose
    webhook delivery is still owed (pending, retrying, or a dead letter not yet replayed or
    discarded) is kept, with every event after it."""
    recent = Event.objects.filter(time__gte=retention_cutoff(now), position__isnull=False)
    # A webhook delivery not yet delivered or discarded (a dead letter waiting for replay)
    # keeps its event, and so every event after it.
    owed = Event.objects.filter(deliveries__status__in=UNDELIVERED)
    firsts = [events.aggregate(first=Min("position"))["first"] for events in (recent, owed)]
    first_kept = min((first for first in firsts if first is not None), default=None)
    old = Event.objects.filter(position__isnull=False)
    if first_kept is not None:
        old = old.filter(position__lt=first_kept)
    total = 0
    while True:
        # Each batch in its own short transaction: a purge of millions never holds a long lock.
        with transaction.atomic():
            batch = list(old.order_by("position").values_list("pk", flat=True)[:BATCH])
            _, per_model = Event.objects.filter(pk__in=batch).delete()
        total += per_model.get(Event._meta.label, 0)
        if len(batch) < BATCH:
            return total
