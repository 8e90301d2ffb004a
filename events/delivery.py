"""Pushing events to webhooks: at least once, in order per partition key (events.delivery).

    plan(events)                a Delivery per matching active push subscription
    push(subscription_id)       send its deliveries that may go now, a batch at a time
    due(now) / deliver_due()    the beat: dead letters by age, then the subscriptions with
                                deliveries due
    replay(deliveries)          dead (or discarded) deliveries go again
    discard(deliveries)         dead deliveries stop holding their key back, unsent

Publication (events.outbox.publish) plans the deliveries in its own transaction, so a crash
loses none, and sends a task per subscription once committed. Each task (events.tasks.push,
on settings.HUB_EVENTS_QUEUE) claims a batch of the subscription's deliveries that may go (a
conditional update, one claimer at a time per subscription), posts them over one kept-alive
connection with short timeouts outside any transaction, and records the answers together; it
goes on for SLICE seconds, then hands the rest to a new task. The beat sends a task for
whatever is due (retries, breaker probes, claims lost with their worker), so nothing depends
on one task surviving. A slow or dead endpoint holds only its own tasks: for the slice and
one timeout, or until the breaker opens.

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
# Deliveries claimed, sent and recorded together (one claim, one transaction of answers).
BATCH = 100
# Seconds a task goes on sending batches before it hands the rest to a new task, so that the
# other subscriptions' tasks get their turn on the workers.
SLICE = 5
# A claim lasts the timeouts and this margin; past it the claim counts as lost.
CLAIM_MARGIN = 30
# Deliveries the beat sends per run (the next run sends more).
SWEEP_BATCH = 5000

# What an attempt keeps of its answer.
ATTEMPT_FIELDS = ("status_code", "body", "error", "duration_ms")


def plan(events, now=None):
    """Deliveries of `events` (just given positions, in order) to every active push
    subscription that matches each; sends a task per subscription once committed.
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
    subscription_ids = sorted({found.subscription_id for found in planned})
    transaction.on_commit(lambda: _send(subscription_ids))
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


def push(subscription_id, now=None):
    """Send `subscription_id`'s deliveries that may go now, a batch at a time over one kept-
    alive connection, for at most SLICE seconds; then a new task when more wait. Returns
    {"delivered": n, "failed": n} (both 0 when nothing may go: paused, not due, another
    worker has it, the breaker is open)."""
    counts = {"delivered": 0, "failed": 0}
    started = time.monotonic()
    subscription = Subscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        return counts
    with requests.Session() as session:
        session.trust_env = False
        while True:
            batch, probe = _claim(subscription, now)
            if not batch:
                return counts
            answers = _post_batch(session, subscription, batch, probe, now, started)
            more = _record(subscription, batch, answers, probe, now)
            for answer in answers:
                counts["failed" if answer["error"] else "delivered"] += 1
            if not more:
                return counts
            if time.monotonic() - started >= SLICE:
                _send([subscription.pk])  # the rest in a new task: others get their turn
                return counts


def _claim(subscription, now):
    """(the deliveries this worker may send now, in position order, claimed; whether they
    are an open breaker's probe). One claim at a time per subscription (its breaker row is
    locked), so two workers never split a key: every earlier undelivered delivery of a key is
    in the batch or holds the key back."""
    now = now or timezone.now()
    with transaction.atomic():
        breaker, _ = Breaker.objects.select_for_update().get_or_create(subscription=subscription)
        if not Subscription.objects.filter(pk=subscription.pk, is_active=True).exists():
            return [], False  # paused: it waits (and dies by age)
        mine = (
            Delivery.objects.filter(subscription=subscription)
            .select_related("event")
            .order_by("position")
        )
        probe = breaker.state != Breaker.State.CLOSED
        if probe:
            if breaker.probe_at > now:
                return [], True
            chosen = mine.filter(_probe(now))[:1]
        else:
            # In position order, a batch holds each key's earlier deliveries before its later
            # ones.
            chosen = mine.filter(_may_go(now))[:BATCH]
        batch = list(chosen)
        if not batch:
            return [], probe
        until = _claim_until(now)
        Delivery.objects.filter(pk__in=[found.pk for found in batch]).update(claimed_until=until)
        if probe:
            breaker.state, breaker.probe_at = Breaker.State.HALF_OPEN, until
            breaker.save(update_fields=["state", "probe_at"])
    return batch, probe


def _may_go(now):
    """The condition of a delivery that may be attempted now at a closed breaker: pending, or
    retrying and due; not claimed; and nothing earlier of its key holds it back: a dead
    letter, a retry not yet due, an attempt under way. (Those few rows have an index of their
    own, delivery_holding, so the check costs one probe however deep the key's backlog.)"""
    holding = (
        Q(status=Status.DEAD)
        | Q(status=Status.RETRYING, next_attempt_at__gt=now)
        | Q(status__in=LIVE, claimed_until__gte=now)
    )
    due = Q(status=Status.PENDING) | Q(status=Status.RETRYING, next_attempt_at__lte=now)
    return due & _unclaimed(now) & ~Exists(_earlier().filter(holding))


def _probe(now):
    """The condition of an open breaker's probe: the first undelivered delivery of its key,
    not claimed, whatever its backoff says."""
    return Q(status__in=LIVE) & _unclaimed(now) & ~Exists(_earlier().filter(status__in=UNDELIVERED))


def _unclaimed(now):
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def _earlier():
    return Delivery.objects.filter(
        subscription=OuterRef("subscription"),
        partition_key=OuterRef("partition_key"),
        position__lt=OuterRef("position"),
    )


def _claim_until(now):
    timeouts = settings.HUB_WEBHOOK_CONNECT_TIMEOUT + settings.HUB_WEBHOOK_TIMEOUT
    return now + timedelta(seconds=SLICE + timeouts + CLAIM_MARGIN)


def _post_batch(session, subscription, batch, probe, now, started):
    """POST the batch's deliveries in order; a key's first failure holds the rest of that key
    back, and the breaker's limit of failures in a row, or the end of the slice, stops the
    batch. Returns the answers of those sent, in order (see _post), each with its "at"."""
    answers = []
    failed_keys = set()
    in_a_row = Breaker.objects.get(subscription=subscription).failures
    texts = webhooks.signing_secrets(subscription, now)
    for found in batch:
        if found.partition_key in failed_keys:
            continue
        if answers and time.monotonic() - started >= SLICE:
            break
        answer = _post(session, subscription, texts, found, now)
        answers.append(answer)
        if not answer["error"]:
            in_a_row = 0
            continue
        failed_keys.add(found.partition_key)
        in_a_row += 1
        if probe or in_a_row >= settings.HUB_WEBHOOK_BREAKER_FAILURES:
            break
    return answers


def _post(session, subscription, texts, delivery, now):
    """POST the delivery's event document, signed with `texts`, to the subscription's URL.
    Returns the answer: {"delivery", "at", "status_code", "body", "error", "duration_ms"}.
    No redirect is followed and no proxy of the environment used: either would take the
    request past the address check."""
    event = delivery.event
    answer = {"status_code": None, "body": "", "error": ""}
    at = now or timezone.now()
    started = time.monotonic()
    try:
        addresses.check_url(subscription.url)
        body = json.dumps(documents.document_for(event, subscription), separators=(",", ":"))
        body = body.encode()
        headers = {
            "Content-Type": CONTENT_TYPE,
            "User-Agent": USER_AGENT,
            **webhooks.signature_headers(subscription, event.event_id, body, texts=texts),
        }
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
    return {"delivery": delivery, "at": at, **answer}


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


def _record(subscription, batch, answers, probe, now):
    """Store the batch's attempts and their consequences in one transaction: delivered (in
    one statement; delivered_at is when the batch is recorded, each attempt keeps its own
    time), or a retry or dead letter; the breaker's count; the claims of those not sent given
    back. Returns whether more may be due now (a full batch, some left unsent, a breaker
    closed)."""
    delivered = []
    with transaction.atomic():
        DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                delivery=answer["delivery"],
                at=answer["at"],
                **{name: answer[name] for name in ATTEMPT_FIELDS},
            )
            for answer in answers
        )
        breaker = Breaker.objects.select_for_update().get(subscription=subscription)
        was_closed = breaker.state == Breaker.State.CLOSED
        for answer in answers:
            found, at = answer["delivery"], answer["at"]
            if not answer["error"]:
                delivered.append(found.pk)
                _close(breaker, at)
            else:
                _fail(found, at, answer["error"])
                _count_failure(breaker, at, probe)
        breaker.save()
        Delivery.objects.filter(pk__in=delivered).update(
            status=Status.DELIVERED,
            delivered_at=now or timezone.now(),
            attempts=F("attempts") + 1,
            claimed_until=None,
        )
        sent = {answer["delivery"].pk for answer in answers}
        unsent = [found.pk for found in batch if found.pk not in sent]
        Delivery.objects.filter(pk__in=unsent).update(claimed_until=None)
        reopened = not was_closed and breaker.state == Breaker.State.CLOSED
        if reopened:
            # The endpoint is back: whatever waited for it is due now, not after its backoff.
            Delivery.objects.filter(subscription=subscription, status__in=LIVE).update(
                next_attempt_at=now or timezone.now()
            )
    return len(batch) == BATCH or bool(unsent) or reopened


def _fail(found, at, error):
    """A failed attempt of `found` at `at`: a retry after the backoff, or a dead letter once
    past the age."""
    attempts = found.attempts + 1
    dead = at >= found.since + timedelta(hours=settings.HUB_WEBHOOK_DEAD_AFTER_HOURS)
    Delivery.objects.filter(pk=found.pk).update(
        status=Status.DEAD if dead else Status.RETRYING,
        attempts=attempts,
        next_attempt_at=at + timedelta(seconds=retry_delay(attempts)),
        dead_at=at if dead else None,
        claimed_until=None,
    )
    logger.info(
        "Webhook delivery %s to subscription %s failed: %s", found.pk, found.subscription, error
    )


def _close(breaker, now):
    breaker.state = Breaker.State.CLOSED
    breaker.failures = 0
    breaker.opened_at = breaker.probe_at = None
    breaker.last_success_at = now


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
    """The ids of the deliveries that may be attempted now (_may_go) at a closed breaker, and
    the probe of each open breaker whose cool-off is over, of active subscriptions.
    `subscriptions` (ids) narrows it."""
    now = now or timezone.now()
    active = Delivery.objects.filter(subscription__is_active=True)
    if subscriptions is not None:
        active = active.filter(subscription__in=subscriptions)
    not_closed = Breaker.objects.exclude(state=Breaker.State.CLOSED)
    ids = list(
        active.filter(_may_go(now))
        .exclude(subscription__in=not_closed.values("subscription"))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for subscription_id in not_closed.filter(probe_at__lte=now).values_list(
        "subscription", flat=True
    ):
        probe = active.filter(_probe(now), subscription=subscription_id).order_by("position")
        ids.extend(probe.values_list("pk", flat=True)[:1])
    return ids


def deliver_due(now=None):
    """The beat's work: dead letters by age, then a task for each subscription with a
    delivery due. Returns how many tasks were sent."""
    bury_expired(now)
    ids = due(now)
    subscription_ids = sorted(
        set(Delivery.objects.filter(pk__in=ids).values_list("subscription", flat=True))
    )
    _send(subscription_ids)
    return len(subscription_ids)


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
        transaction.on_commit(lambda: _send(sorted(subscriptions)))
    return count


def discard(deliveries):
    """Give up dead `deliveries` (ids, objects or a queryset): they are never sent, and stop
    holding their keys' later deliveries back. Returns how many were discarded."""
    chosen = _chosen(deliveries).filter(status=Status.DEAD)
    subscriptions = set(chosen.values_list("subscription", flat=True))
    count = chosen.update(status=Status.DISCARDED)
    if count:
        transaction.on_commit(lambda: _send(sorted(subscriptions)))
    return count


def _chosen(deliveries):
    if hasattr(deliveries, "values_list"):
        return Delivery.objects.filter(pk__in=deliveries.values_list("pk", flat=True))
    ids = [getattr(found, "pk", found) for found in deliveries]
    return Delivery.objects.filter(pk__in=ids)


def _send(subscription_ids):
    for subscription_id in subscription_ids:
        send(
            "events.tasks.push",
            subscription_id,
            queue=settings.HUB_EVENTS_QUEUE,
            unsent="the beat's deliver_due sends it",
        )
