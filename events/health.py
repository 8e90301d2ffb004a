"""How each subscription is doing, and how far a replay has got: the read queries of the
steward screens (quarantine.event_views) and the admin. No domain, no writes.

    health(subscriptions, now=None)       a Health per subscription, in the order given
    with_last_attempt(deliveries)         deliveries with their event and last attempt's answer
    replay_progress(subscription, at)     the dead letters replayed at `at`: delivered or not

A pull subscription's lag is the positions published past its cursor (events.feed.with_lag);
a push subscription's is the deliveries still on their way (pending or retrying). The failure
rate is over the push attempts of the last FAILURE_WINDOW; the breaker's state and its last
success come from events.models.Breaker.

A replay (events.delivery.replay) starts each delivery's dead-letter clock, `since`, at the
replay's time: the deliveries of a subscription with that `since` are the ones it sent again,
so a replay of thousands is followed without a record of its own.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Min, OuterRef, Q, Subquery
from django.utils import formats, timezone

from events import feed
from events.models import Breaker, Delivery, DeliveryAttempt, Event, Subscription

Status = Delivery.Status
FAILURE_WINDOW = datetime.timedelta(hours=24)
# The statuses counted per subscription (the delivered ones are not: there may be millions).
OWED = (Status.PENDING, Status.RETRYING, Status.DEAD)
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
MICROSECOND = datetime.timedelta(microseconds=1)

GOOD, WARN, BAD, IDLE = "good", "warn", "bad", "idle"


@dataclass
class Health:
    """One subscription's health. `level` is GOOD, WARN, BAD or IDLE (paused); `words` says
    what is wrong first ("breaker open since 14:02 — 5 failures in a row", "12 dead letters",
    "retrying 3 deliveries"), or that all is well."""

    subscription: Subscription
    lag: int = 0
    # Pull: the time of the first event past the cursor. Push: the dead-letter clock of the
    # oldest delivery on its way.
    oldest: datetime.datetime | None = None
    pending: int = 0
    retrying: int = 0
    dead: int = 0
    breaker: Breaker | None = None
    last_success: datetime.datetime | None = None
    attempts: int = 0  # push attempts in the FAILURE_WINDOW
    failed: int = 0
    now: datetime.datetime | None = None

    @property
    def is_push(self):
        return self.subscription.mode == Subscription.Mode.PUSH

    @property
    def breaker_open(self):
        return self.breaker is not None and self.breaker.state != Breaker.State.CLOSED

    @property
    def failure_rate(self):
        """Failed attempts in the window, in percent (None without attempts)."""
        return round(100 * self.failed / self.attempts) if self.attempts else None

    @property
    def level(self):
        if not self.subscription.is_active:
            return IDLE
        if self.breaker_open or self.dead:
            return BAD
        if self.retrying:
            return WARN
        return GOOD

    @property
    def words(self):
        """What a steward should know, the worst first."""
        said = []
        if not self.subscription.is_active:
            said.append("paused: nothing is sent or counted as read until it is switched on")
        if self.breaker_open:
            breaker = self.breaker
            state = "half-open (one delivery probes)" if breaker.state == "half_open" else "open"
            since = f" since {_when(breaker.opened_at, self.now)}" if breaker.opened_at else ""
            said.append(
                f"breaker {state}{since} — {breaker.failures} failure"
                f"{'s' if breaker.failures != 1 else ''} in a row"
            )
        if self.dead:
            said.append(f"{self.dead} dead letter{'s' if self.dead != 1 else ''}")
        if self.retrying:
            said.append(f"retrying {self.retrying} deliver{'ies' if self.retrying != 1 else 'y'}")
        if said:
            return said
        if self.is_push and self.last_success is None and not self.pending:
            return ["healthy: nothing delivered yet"]
        return ["healthy"]


def health(subscriptions, now=None):
    """A Health for each of `subscriptions` (a queryset or a list), in a handful of queries
    whatever their number."""
    now = now or timezone.now()
    subscriptions = list(subscriptions)
    ids = [subscription.pk for subscription in subscriptions]
    lags = dict(feed.with_lag(Subscription.objects.filter(pk__in=ids)).values_list("pk", "lag"))
    owed = {}
    for row in (
        Delivery.objects.filter(subscription__in=ids, status__in=OWED)
        .values("subscription", "status")
        .annotate(n=Count("pk"), oldest=Min("since"))
    ):
        owed[row["subscription"], row["status"]] = (row["n"], row["oldest"])
    breakers = {
        breaker.subscription_id: breaker for breaker in Breaker.objects.filter(subscription__in=ids)
    }
    tried = {
        row["delivery__subscription"]: (row["total"], row["failed"])
        for row in DeliveryAttempt.objects.filter(
            at__gte=now - FAILURE_WINDOW, delivery__subscription__in=ids
        )
        .values("delivery__subscription")
        .annotate(total=Count("pk"), failed=Count("pk", filter=~Q(error="")))
    }
    # Positions are given without gaps: the first event past a cursor is at cursor + 1.
    unread = dict(
        Event.objects.filter(
            position__in=[
                subscription.cursor + 1
                for subscription in subscriptions
                if subscription.mode == Subscription.Mode.PULL
            ]
        ).values_list("position", "time")
    )
    found = []
    for subscription in subscriptions:
        pk = subscription.pk
        breaker = breakers.get(pk)
        shown = Health(subscription=subscription, breaker=breaker, now=now)
        shown.pending, pending_since = owed.get((pk, Status.PENDING), (0, None))
        shown.retrying, retrying_since = owed.get((pk, Status.RETRYING), (0, None))
        shown.dead = owed.get((pk, Status.DEAD), (0, None))[0]
        shown.attempts, shown.failed = tried.get(pk, (0, 0))
        if shown.is_push:
            shown.lag = shown.pending + shown.retrying
            waiting = [since for since in (pending_since, retrying_since) if since]
            shown.oldest = min(waiting, default=None)
            shown.last_success = breaker.last_success_at if breaker else None
        else:
            shown.lag = lags.get(pk, 0)
            shown.oldest = unread.get(subscription.cursor + 1) if shown.lag else None
        found.append(shown)
    return found


def with_last_attempt(deliveries):
    """`deliveries` with their event, and `last_at`, `last_status_code`, `last_body`,
    `last_error` and `last_duration_ms`: the answer to the last attempt (None before one)."""
    last = DeliveryAttempt.objects.filter(delivery=OuterRef("pk")).order_by("-at", "-pk")
    return deliveries.select_related("event").annotate(
        **{
            f"last_{name}": Subquery(last.values(name)[:1])
            for name in ("at", "status_code", "body", "error", "duration_ms")
        }
    )


# --- replay progress -------------------------------------------------------------------------


@dataclass
class ReplayProgress:
    """The deliveries a replay sent again, by where they are now."""

    total: int
    delivered: int
    waiting: int  # pending or retrying
    dead: int  # dead again (or discarded since)

    @property
    def finished(self):
        return not self.waiting

    @property
    def percent(self):
        if self.finished or not self.total:
            return 100
        return round(100 * (self.total - self.waiting) / self.total)

    @property
    def words(self):
        said = f"{self.delivered} of {self.total} delivered"
        if self.waiting:
            said += f", {self.waiting} on their way"
        if self.dead:
            said += f", {self.dead} dead again"
        return said

    def as_dict(self):
        return {
            "total": self.total,
            "delivered": self.delivered,
            "waiting": self.waiting,
            "dead": self.dead,
            "percent": self.percent,
            "finished": self.finished,
            "words": self.words,
        }


def replay_stamp(at):
    """A replay's time as a whole number (microseconds since 1970), for a URL."""
    return (at - EPOCH) // MICROSECOND


def replay_time(stamp):
    """replay_stamp's time back, exactly."""
    return EPOCH + stamp * MICROSECOND


def replay_progress(subscription, at):
    """Where the deliveries of `subscription` replayed at `at` are now. A delivery replayed
    again since belongs to the later replay."""
    counts = dict(
        Delivery.objects.filter(subscription=subscription, since=at)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    return ReplayProgress(
        total=sum(counts.values()),
        delivered=counts.get(Status.DELIVERED, 0),
        waiting=counts.get(Status.PENDING, 0) + counts.get(Status.RETRYING, 0),
        dead=counts.get(Status.DEAD, 0) + counts.get(Status.DISCARDED, 0),
    )


def _when(moment, now):
    """A time of today as "14:02", of another day as "3 Mar 14:02" (local time)."""
    local = timezone.localtime(moment)
    if now is not None and local.date() == timezone.localtime(now).date():
        return formats.time_format(local, "H:i")
    return formats.date_format(local, "j M H:i")
