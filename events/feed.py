"""The pull feed: a subscription's published events after a cursor, and the cursor it commits.

    read(subscription, after=None, since=None, limit=...)   a page of its events, in order
    commit(subscription, position)                          the durable cursor, moved
    last_position()                                         the last position published
    with_lag(subscriptions)                                 ... with the positions past each cursor

A consumer reads from its committed cursor (or any position, or the first position at or
after a time, to replay), processes the page, then commits the page's `next`. Positions are
given in the order events become visible (events.outbox.publish), so a reader that has passed a
position never misses an event by it. Events older than the retention
(settings.HUB_EVENTS_RETENTION_DAYS) are purged (events.retention); a read from a cursor or a
time whose events are gone is refused as Gone, not answered with a silent gap.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Min, Q, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from events.models import Event, PublishedPosition

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class FeedError(Exception):
    """A read or commit the feed refuses; `message` says what would be accepted."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class Purged(FeedError):
    """The events the read asks for were purged by the retention; `oldest` is the first
    position still kept (None when none is)."""

    def __init__(self, message, oldest):
        super().__init__(message)
        self.oldest = oldest


@dataclass
class Page:
    """Events of a subscription after `after`; commit `next` once they are processed."""

    after: int
    events: list
    next: int
    more: bool


def last_position():
    """The last position published (0 before the first): every event up to it is visible."""
    return PublishedPosition.objects.filter(pk=1).values_list("last", flat=True).first() or 0


def with_lag(subscriptions):
    """`subscriptions` with `lag`: how many positions were published past each one's cursor,
    matching or not (0: it has read everything). Meaningful for pull subscriptions."""
    last = PublishedPosition.objects.filter(pk=1).values("last")
    return subscriptions.annotate(
        lag=Greatest(Coalesce(Subquery(last), Value(0)) - F("cursor"), Value(0))
    )


def lag_of(subscription):
    """with_lag's `lag` of one subscription (as saved)."""
    return (
        with_lag(type(subscription).objects.filter(pk=subscription.pk))
        .values_list("lag", flat=True)
        .get()
    )


def wanted(subscription):
    """The subscription's filter as a query on events: Subscription.matches, in SQL, so that
    the feed reads only its events (the page then checks each with `matches` itself)."""
    condition = Q()
    if subscription.types:
        types = Q(pk__in=[])
        for name in subscription.types:
            if name.endswith("*"):
                types |= Q(type__startswith=name[:-1])
            else:
                types |= Q(type=name)
        condition &= types
    for name, values in subscription.facts.items():
        condition &= Q(**{f"facts__{name}__in": values})
    return condition


def read(subscription, after=None, since=None, limit=DEFAULT_LIMIT):
    """The subscription's events after position `after` (its committed cursor by default), or
    from the first position at or after the time `since`, at most `limit`, in position order.
    Raises FeedError for a cursor past the last published position, Purged for a cursor or
    time before the retention."""
    last = last_position()
    if since is not None:
        after = _position_before(since, last)
    elif after is None:
        after = subscription.cursor
    if after > last:
        raise FeedError(
            f"Position {after} is past the last published position, {last}: "
            "give a position the feed gave."
        )
    _check_retained(after, last)
    # Read up to `last` only: a position published during this read is in the next one.
    candidates = Event.objects.filter(wanted(subscription), position__gt=after, position__lte=last)
    scanned = list(candidates.order_by("position")[: limit + 1])
    more = len(scanned) > limit
    scanned = scanned[:limit]
    events = [event for event in scanned if subscription.matches(event)]
    # Without more, every position up to `last` was looked at: the cursor may move past the
    # events it does not want, so the next read starts there.
    following = scanned[-1].position if more else last
    return Page(after=after, events=events, next=following, more=more)


def _position_before(since, last):
    """The position just before the first event at or after `since` (`last` when none is)."""
    cutoff = retention_cutoff()
    if since < cutoff and _purged_through(last):
        raise Purged(
            f"Events before {cutoff.isoformat()} were purged (kept "
            f"{settings.HUB_EVENTS_RETENTION_DAYS} days): replay from a later time.",
            _oldest(),
        )
    first = Event.objects.filter(
        time__gte=since, position__isnull=False, position__lte=last
    ).aggregate(first=Min("position"))["first"]
    return last if first is None else first - 1


def _check_retained(after, last):
    """Purged for a cursor whose following events were purged. Positions are given without
    gaps, so one missing below the oldest kept event was purged. A cursor of 0 reads from the
    start of the retention: a new subscription's."""
    purged = _purged_through(last)
    if after and after < purged:
        oldest = _oldest()
        raise Purged(
            f"The events after position {after} up to {purged} were purged (kept "
            f"{settings.HUB_EVENTS_RETENTION_DAYS} days): read from position {purged} "
            "(or 0, the oldest kept) and recover the gap from the systems of record.",
            oldest,
        )


def _oldest():
    return Event.objects.filter(position__isnull=False).aggregate(first=Min("position"))["first"]


def _purged_through(last):
    """The last position purged (0 if none): the one before the oldest kept, or `last` when
    every published event is gone."""
    oldest = _oldest()
    return last if oldest is None else min(oldest - 1, last)


def retention_cutoff(now=None):
    """The time before which published events are purged."""
    return (now or timezone.now()) - datetime.timedelta(days=settings.HUB_EVENTS_RETENTION_DAYS)


def commit(subscription, position):
    """Move the subscription's durable cursor to `position`: forward past processed events,
    or back to read them again (a replay). Refused past the last published position."""
    if subscription.mode != subscription.Mode.PULL:
        raise FeedError(
            f"{subscription.name} is a push subscription: the hub's delivery keeps its "
            "progress, so it has no cursor to commit."
        )
    last = last_position()
    if position > last:
        raise FeedError(
            f"Position {position} is past the last published position, {last}: commit the "
            "`next` of a page the feed gave."
        )
    subscription.cursor = position
    subscription.save(update_fields=["cursor", "updated_at"])
    return subscription
