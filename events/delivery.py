"""Pushing events to webhooks: at least once, in order per partition key (events.delivery).

    plan(events)                a Delivery per matching active push subscription
    deliver(delivery_id)        attempt it and, while that succeeds, its key's next ones
    due(now) / deliver_due()    the beat: dead letters by age, then the deliveries due
    replay(deliveries)          dead (or discarded) deliveries go again
    discard(deliveries)         dead deliveries stop holding their key back, unsent

Publication (events.outbox.publish) plans the deliveries in its own transaction, so a crash
loses none, and sends a task per partition key once committed. Each task (events.tasks.deliver,
on settings.HUB_EVENTS_QUEUE) claims its delivery with a conditional update, posts it with
short timeouts outside any transaction, and records the answer; the beat sends whatever is
due (retries, breaker probes, claims lost with their worker), so nothing depends on one task
surviving. A slow or dead endpoint holds only its own tasks, for at most the timeouts.

Order: a delivery is attempted only when no earlier delivery (by event position) of the same
subscription and partition key is undelivered: pending, retrying or dead. A dead letter holds
the rest of its key back until a steward replays or discards it, so a receiver never sees a
key's events out of order; the others of the key wait (and turn dead in their turn when the
outage outlasts settings.HUB_WEBHOOK_DEAD_AFTER_HOURS), which a bulk replay sends again in
order.

Failures: a retry after a random wait of up to BASE * 2^(attempts - 1) seconds, at most CAP
(exponential backoff, full jitter). The endpoint's breaker (events.models.Breaker) opens after
settings.HUB_WEBHOOK_BREAKER_FAILURES failed attempts in a row: nothing is sent there until the
cool-off has passed, then one delivery probes (half-open); its success closes the breaker and
every waiting delivery of the subscription is due at once, its failure opens it again.

`now` is the clock for the state (due, dead, breaker): tests pass it. The webhook's timestamp
header is always the real time, which the receiver checks against its own clock.
"""

import json
import logging
import random
import time
from datetime import timedelta

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from core.queue import send
from events import addresses, documents, webhooks
from events.models import Breaker, Delivery, DeliveryAttempt, Subscription

logger = logging.getLogger(__name__)

Status = Delivery.Status
LIVE = (Status.PENDING, Status.RETRYING)
# What holds a key's later deliveries back.
UNDELIVERED = (Status.PENDING, Status.RETRYING, Status.DEAD)
CONTENT_TYPE = "application/cloudevents+json"
USER_AGENT = "mdm-hub-webhooks/1"
# The first characters of an answer kept with its attempt.
EXCERPT_CHARS = 1000
# Deliveries of one key a task sends in a row before it hands the rest to a new task.
CHAIN = 100
# A claim lasts the timeouts and this margin; past it the claim counts as lost.
CLAIM_MARGIN = 30
# Deliveries the beat sends per run (the next run sends more).
SWEEP_BATCH = 5000

# What one attempt came to: "delivered"; "failed"; "waiting" (not due, not first in its key,
# the breaker is open, or another worker has it); "done" (delivered or dead already, or gone).
DELIVERED, FAILED, WAITING, DONE = "delivered", "failed", "waiting", "done"


def plan(events, now=None):
    """Deliveries of `events` (just given positions, in order) to every active push
    subscription that matches each; sends one task per partition key once committed.
    Called by events.outbox.publish in its transaction. Returns the deliveries."""
    now = now or timezone.now()
    subscriptions = list(
        Subscription.objects.filter(mode=Subscription.Mode.PUSH, is_active=True).exclude(url="")
    )
    planned = [
        Delivery(
            subscription=subscription,
            event=event,
            partition_key=event.partition_key,
            position=event.position,
            next_attempt_at=now,
            since=now,
            created_at=now,
        )
        for event in events
        for subscription in subscriptions
        if subscription.matches(event)
    ]
    if not planned:
        return []
    Delivery.objects.bulk_create(planned, batch_size=1000)
    firsts = {}
    for found in planned:
        firsts.setdefault((found.subscription_id, found.partition_key), found.pk)
    ids = [pk for pk in firsts.values() if pk is not None]
    transaction.on_commit(lambda: _send(ids))
    return planned


def retry_delay(attempts):
    """Seconds to wait after the `attempts`-th failed attempt: full jitter, a random share of
    min(CAP, BASE * 2^(attempts - 1))."""
    ceiling = min(
        settings.HUB_WEBHOOK_RETRY_CAP,
        settings.HUB_WEBHOOK_RETRY_BASE * 2 ** max(attempts - 1, 0),
    )
    return ceiling * _fraction()


def _fraction():
    return random.random()


def deliver(delivery_id, now=None):
    """Attempt delivery `delivery_id` when it may go; while each succeeds, the next delivery
    of its subscription and key, up to CHAIN, then a new task for the rest. Returns what the
    first attempt came to (DELIVERED, FAILED, WAITING, DONE)."""
    first = None
    current = delivery_id
    for _ in range(CHAIN):
        outcome, following = _deliver_one(current, now)
        first = first or outcome
        if outcome != DELIVERED or following is None:
            return first
        current = following
    _send([current])
    return first


def _deliver_one(delivery_id, now):
    """(outcome, the id of the key's next live delivery when this one was delivered)."""
    now = now or timezone.now()
    delivery = (
        Delivery.objects.select_related("subscription", "event").filter(pk=delivery_id).first()
    )
    if delivery is None or delivery.status not in LIVE:
        return DONE, None
    if not delivery.subscription.is_active:  # paused: it waits (and dies by age)
        return WAITING, None
    if _earlier_undelivered(delivery).exists():
        return WAITING, None
    breaker, _ = Breaker.objects.get_or_create(subscription=delivery.subscription)
    probe = breaker.state != Breaker.State.CLOSED
    if probe:
        if not _claim_probe(breaker, now):
            return WAITING, None
    elif delivery.next_attempt_at > now:
        return WAITING, None
    if not _claim(delivery, now):
        return WAITING, None
    answer = _post(delivery, now)
    return _record(delivery, answer, now, probe)


def _earlier_undelivered(delivery):
    return Delivery.objects.filter(
        subscription_id=delivery.subscription_id,
        partition_key=delivery.partition_key,
        position__lt=delivery.position,
        status__in=UNDELIVERED,
    )


def _claim_until(now):
    timeouts = settings.HUB_WEBHOOK_CONNECT_TIMEOUT + settings.HUB_WEBHOOK_TIMEOUT
    return now + timedelta(seconds=timeouts + CLAIM_MARGIN)


def _claim_probe(breaker, now):
    """The one probe of an open breaker whose cool-off is over (or whose last probe was lost):
    a conditional update, so two workers never both probe."""
    return bool(
        Breaker.objects.filter(
            pk=breaker.pk,
            state__in=(Breaker.State.OPEN, Breaker.State.HALF_OPEN),
            probe_at__lte=now,
        ).update(state=Breaker.State.HALF_OPEN, probe_at=_claim_until(now))
    )


def _claim(delivery, now):
    return bool(
        Delivery.objects.filter(pk=delivery.pk, status__in=LIVE)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=_claim_until(now))
    )


def _post(delivery, now):
    """POST the event's document, signed, to the subscription's URL. Returns the answer:
    {"status_code", "body", "error", "duration_ms"}. No redirect is followed and no proxy of
    the environment used: either would take the request past the address check."""
    subscription, event = delivery.subscription, delivery.event
    answer = {"status_code": None, "body": "", "error": ""}
    started = time.monotonic()
    try:
        addresses.check_url(subscription.url)
        body = json.dumps(documents.document_for(event, subscription), separators=(",", ":"))
        body = body.encode()
        headers = {
            "Content-Type": CONTENT_TYPE,
            "User-Agent": USER_AGENT,
            **webhooks.signature_headers(subscription, event.event_id, body, now=now),
        }
        with requests.Session() as session:
            session.trust_env = False
            response = session.post(
                subscription.url,
                data=body,
                headers=headers,
                timeout=(settings.HUB_WEBHOOK_CONNECT_TIMEOUT, settings.HUB_WEBHOOK_TIMEOUT),
                allow_redirects=False,
                stream=True,
            )
            answer["status_code"] = response.status_code
            answer["body"] = _excerpt(response, started + settings.HUB_WEBHOOK_TIMEOUT)
            response.close()
    except requests.Timeout:
        answer["error"] = (
            f"No answer within the timeouts ({settings.HUB_WEBHOOK_CONNECT_TIMEOUT} s to "
            f"connect, {settings.HUB_WEBHOOK_TIMEOUT} s to answer)."
        )
    except requests.RequestException as exc:
        answer["error"] = f"The request failed: {exc}"
    except ValidationError as exc:
        answer["error"] = "The URL was refused: " + " ".join(exc.messages)
    except ValueError as exc:  # no signing secret
        answer["error"] = str(exc)
    answer["duration_ms"] = round((time.monotonic() - started) * 1000)
    if answer["status_code"] is not None and not 200 <= answer["status_code"] < 300:
        answer["error"] = f"The endpoint answered {answer['status_code']}."
    return answer


def _excerpt(response, deadline):
    """The answer's first EXCERPT_CHARS characters, read no longer than the deadline."""
    read = b""
    try:
        for chunk in response.iter_content(chunk_size=1024):
            read += chunk
            if len(read) >= EXCERPT_CHARS * 4 or time.monotonic() > deadline:
                break
    except requests.RequestException:
        pass  # the status code is the answer; a body cut short is no failure
    return read.decode("utf-8", errors="replace")[:EXCERPT_CHARS]


def _record(delivery, answer, now, probe):
    """Store the attempt and its consequences: delivered, or a retry or dead letter, and the
    breaker's count. Returns (outcome, the key's next live delivery when delivered)."""
    ok = not answer["error"]
    with transaction.atomic():
        DeliveryAttempt.objects.create(delivery=delivery, at=now, **answer)
        breaker = Breaker.objects.select_for_update().get(subscription=delivery.subscription)
        if ok:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Status.DELIVERED,
                delivered_at=now,
                attempts=F("attempts") + 1,
                claimed_until=None,
            )
            reopened = breaker.state != Breaker.State.CLOSED
            _close(breaker, now)
            if reopened:
                # The endpoint is back: whatever waited for it is due now, not after its backoff.
                Delivery.objects.filter(subscription=delivery.subscription, status__in=LIVE).update(
                    next_attempt_at=now
                )
                subscription_id = delivery.subscription_id
                transaction.on_commit(lambda: _send(due(now, subscriptions=[subscription_id])))
        else:
            attempts = delivery.attempts + 1
            dead = now >= delivery.since + timedelta(hours=settings.HUB_WEBHOOK_DEAD_AFTER_HOURS)
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Status.DEAD if dead else Status.RETRYING,
                attempts=attempts,
                next_attempt_at=now + timedelta(seconds=retry_delay(attempts)),
                dead_at=now if dead else None,
                claimed_until=None,
            )
            _count_failure(breaker, now, probe)
    if not ok:
        logger.info(
            "Webhook delivery %s to subscription %s failed: %s",
            delivery.pk,
            delivery.subscription,
            answer["error"],
        )
        return FAILED, None
    following = (
        Delivery.objects.filter(
            subscription_id=delivery.subscription_id,
            partition_key=delivery.partition_key,
            position__gt=delivery.position,
            status__in=LIVE,
        )
        .order_by("position")
        .values_list("pk", flat=True)
        .first()
    )
    return DELIVERED, following


def _close(breaker, now):
    breaker.state = Breaker.State.CLOSED
    breaker.failures = 0
    breaker.opened_at = breaker.probe_at = None
    breaker.last_success_at = now
    breaker.save()


def _count_failure(breaker, now, probe):
    """One more failure in a row: the breaker opens at the limit, and again after a failed
    probe; an attempt that was under way when it opened leaves it as it is."""
    breaker.failures += 1
    breaker.last_failure_at = now
    cooloff = timedelta(seconds=settings.HUB_WEBHOOK_BREAKER_COOLOFF)
    if probe or (
        breaker.state == Breaker.State.CLOSED
        and breaker.failures >= settings.HUB_WEBHOOK_BREAKER_FAILURES
    ):
        if breaker.state == Breaker.State.CLOSED:
            breaker.opened_at = now
        breaker.state = Breaker.State.OPEN
        breaker.probe_at = now + cooloff
    breaker.save()


# --- the beat --------------------------------------------------------------------------------


def bury_expired(now=None):
    """Dead letters of the deliveries not delivered within settings.HUB_WEBHOOK_DEAD_AFTER_HOURS
    of their publication or replay (attempts under way are left to finish). Returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.HUB_WEBHOOK_DEAD_AFTER_HOURS)
    return (
        Delivery.objects.filter(status__in=LIVE, since__lte=cutoff)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(status=Status.DEAD, dead_at=now, claimed_until=None)
    )


def due(now=None, subscriptions=None, limit=SWEEP_BATCH):
    """The ids of the deliveries that may be attempted now: first undelivered of their key,
    not claimed, and either due at a closed breaker, or the first of an open breaker whose
    cool-off is over (its probe). `subscriptions` (ids) narrows it."""
    now = now or timezone.now()
    earlier = Delivery.objects.filter(
        subscription=OuterRef("subscription"),
        partition_key=OuterRef("partition_key"),
        position__lt=OuterRef("position"),
        status__in=UNDELIVERED,
    )
    heads = (
        Delivery.objects.filter(status__in=LIVE, subscription__is_active=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(~Exists(earlier))
    )
    if subscriptions is not None:
        heads = heads.filter(subscription__in=subscriptions)
    not_closed = Breaker.objects.exclude(state=Breaker.State.CLOSED)
    ids = list(
        heads.filter(next_attempt_at__lte=now)
        .exclude(subscription__in=not_closed.values("subscription"))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for subscription_id in not_closed.filter(probe_at__lte=now).values_list(
        "subscription", flat=True
    ):
        probe = heads.filter(subscription=subscription_id).order_by("position", "pk").first()
        if probe is not None:
            ids.append(probe.pk)
    return ids


def deliver_due(now=None):
    """The beat's work: dead letters by age, then a task for each delivery due. Returns how
    many tasks were sent."""
    bury_expired(now)
    ids = due(now)
    _send(ids)
    return len(ids)


# --- replay ----------------------------------------------------------------------------------


def replay(deliveries, now=None):
    """Send dead (or discarded) `deliveries` again (Delivery objects, ids or a queryset), in
    their keys' order, with a fresh dead-letter clock; the others are left as they are.
    Returns how many go again."""
    now = now or timezone.now()
    chosen = _chosen(deliveries).filter(status__in=(Status.DEAD, Status.DISCARDED))
    subscriptions = set(chosen.values_list("subscription", flat=True))
    count = chosen.update(
        status=Status.PENDING,
        attempts=0,
        since=now,
        next_attempt_at=now,
        dead_at=None,
        claimed_until=None,
    )
    if count:
        transaction.on_commit(lambda: _send(due(now, subscriptions=subscriptions)))
    return count


def discard(deliveries, now=None):
    """Give up dead `deliveries` (ids, objects or a queryset): they are never sent, and stop
    holding their keys' later deliveries back. Returns how many were discarded."""
    now = now or timezone.now()
    chosen = _chosen(deliveries).filter(status=Status.DEAD)
    subscriptions = set(chosen.values_list("subscription", flat=True))
    count = chosen.update(status=Status.DISCARDED)
    if count:
        transaction.on_commit(lambda: _send(due(now, subscriptions=subscriptions)))
    return count


def _chosen(deliveries):
    if hasattr(deliveries, "values_list"):
        return Delivery.objects.filter(pk__in=deliveries.values_list("pk", flat=True))
    ids = [getattr(found, "pk", found) for found in deliveries]
    return Delivery.objects.filter(pk__in=ids)


def _send(ids):
    for delivery_id in ids:
        send(
            "events.tasks.deliver",
            delivery_id,
            queue=settings.HUB_EVENTS_QUEUE,
            unsent="the beat's deliver_due sends it",
        )
