"""Webhook push, as a consuming system's endpoint sees it: signed CloudEvents, at least once,
in order per partition key; retries that back off, a breaker that leaves a failing endpoint
alone and probes it, dead letters a steward replays; and one slow endpoint holding up no
other. The receivers are small HTTP servers on 127.0.0.1 inside the test; time is the
services' `now`, not sleeping."""

import datetime as dt
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook

from events import delivery, outbox, webhooks
from events.models import Breaker, Delivery, Subscription
from tests.problems import problem_of

pytestmark = pytest.mark.django_db

SECOND = dt.timedelta(seconds=1)


class Receiver:
    """A webhook endpoint on 127.0.0.1: keeps what it gets, answers `status` after `delay`
    seconds. `arrived` is set at each request's arrival."""

    def __init__(self, status=200, delay=0.0):
        self.status, self.delay = status, delay
        self.received = []
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                receiver.arrived.set()
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/hub"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def subjects(self):
        return [json.loads(body)["subject"] for _, body in self.received]


@pytest.fixture(autouse=True)
def _local_receivers(settings):
    # The receivers are plain http on the loopback: allowed by debug and the private setting.
    settings.DEBUG = True
    settings.HUB_WEBHOOK_ALLOW_PRIVATE = True
    settings.HUB_WEBHOOK_CONNECT_TIMEOUT = 1
    settings.HUB_WEBHOOK_TIMEOUT = 1
    settings.HUB_WEBHOOK_RETRY_BASE = 10
    settings.HUB_WEBHOOK_RETRY_CAP = 600
    settings.HUB_WEBHOOK_BREAKER_FAILURES = 5
    settings.HUB_WEBHOOK_BREAKER_COOLOFF = 60
    settings.HUB_WEBHOOK_DEAD_AFTER_HOURS = 24


@pytest.fixture
def receiver():
    """receiver(status=200, delay=0): a running Receiver, stopped after the test."""
    started = []

    def start(status=200, delay=0.0):
        started.append(Receiver(status, delay))
        return started[-1]

    yield start
    for one in started:
        one.stop()


def _subscribe(name, url, types=("hub.supply_exception.*",)):
    """A push subscription of the planning system, and its secret (as shown once)."""
    subscription = Subscription.objects.create(
        name=name, consumer="PLANNING", mode=Subscription.Mode.PUSH, types=list(types), url=url
    )
    return subscription, webhooks.create_secret(subscription)


def _publish(*events):
    """Events of (subject, partition key), written in one transaction and published here,
    with their deliveries planned; no task is sent (the test delivers). Returns the events."""
    with transaction.atomic():
        written = [
            outbox.emit("hub.supply_exception.raised", subject, {"id": subject}, key)
            for subject, key in events
        ]
    outbox.publish()
    for event in written:
        event.refresh_from_db()
    return written


def _deliveries(subscription):
    return list(Delivery.objects.filter(subscription=subscription).order_by("position"))


def _deliver_all(subscription, now):
    """The subscription's task, run at `now` (as a worker would)."""
    return delivery.push(subscription.pk, now=now)


def _run_due(now):
    """What the beat would have the workers do at `now`."""
    delivery.bury_expired(now)
    due = Delivery.objects.filter(pk__in=delivery.due(now))
    for subscription_id in set(due.values_list("subscription", flat=True)):
        delivery.push(subscription_id, now=now)


def test_it_pushes_each_event_signed_as_a_cloudevent(receiver, emit):
    endpoint = receiver()
    subscription, secret = _subscribe("planning-push", endpoint.url)
    event = emit(
        "hub.supply_exception.raised", "SE-1", {"quantity_at_risk": 3}, "PO:SUP-000003:4500000001"
    )
    emit("hub.item.changed", "ITM-000001")  # not a type the subscription wants

    [(headers, body)] = endpoint.received
    assert headers["Content-Type"] == "application/cloudevents+json"
    # The receiver verifies with the secret it was shown, by the Standard Webhooks library.
    document = Webhook(secret).verify(body, headers)
    assert document["id"] == str(event.event_id) == headers["webhook-id"]
    assert document["type"] == "hub.supply_exception.raised"
    assert document["partitionkey"] == "PO:SUP-000003:4500000001"
    assert document["data"] == {"quantity_at_risk": 3}
    [sent] = _deliveries(subscription)
    assert sent.status == Delivery.Status.DELIVERED
    [attempt] = sent.tries.all()
    assert attempt.status_code == 200 and attempt.body == "ok" and attempt.error == ""


def test_it_delivers_in_order_per_partition_key(receiver):
    endpoint = receiver(status=500)
    subscription, _ = _subscribe("planning-push", endpoint.url)
    _publish(("SE-1", "PO:1"), ("SE-2", "PO:1"), ("SE-3", "PO:2"))
    now = timezone.now()
    _deliver_all(subscription, now)
    # SE-2 waits for SE-1, which failed; the other key's SE-3 went (and failed too).
    assert endpoint.subjects() == ["SE-1", "SE-3"]
    assert [found.status for found in _deliveries(subscription)] == [
        "retrying",
        "pending",
        "retrying",
    ]

    endpoint.status = 200
    _run_due(now + dt.timedelta(hours=1))
    assert endpoint.subjects()[2:] in (["SE-1", "SE-2", "SE-3"], ["SE-3", "SE-1", "SE-2"])
    assert {found.status for found in _deliveries(subscription)} == {"delivered"}


def test_retries_wait_longer_each_time_up_to_the_cap(receiver, settings, monkeypatch):
    settings.HUB_WEBHOOK_BREAKER_FAILURES = 100
    monkeypatch.setattr(delivery, "_fraction", lambda: 1.0)  # the top of each jitter range
    endpoint = receiver(status=500)
    subscription, _ = _subscribe("planning-push", endpoint.url)
    _publish(("SE-1", "PO:1"))
    now = timezone.now()
    waits = []
    for _ in range(8):
        [found] = _deliveries(subscription)
        now = max(now, found.next_attempt_at)
        assert _deliver_all(subscription, now) == {"delivered": 0, "failed": 1}
        found.refresh_from_db()
        waits.append((found.next_attempt_at - now).total_seconds())
        # Not due before its time: an early task does nothing.
        early = found.next_attempt_at - SECOND
        assert _deliver_all(subscription, early) == {"delivered": 0, "failed": 0}
    assert waits == [10, 20, 40, 80, 160, 320, 600, 600]
    assert len(endpoint.received) == 8
    assert found.attempts == 8
    assert {attempt.error for attempt in found.tries.all()} == {"The endpoint answered 500."}


def test_each_wait_is_a_random_share_of_its_ceiling(monkeypatch):
    monkeypatch.setattr(delivery, "_fraction", lambda: 0.25)
    assert delivery.retry_delay(1) == 2.5
    assert delivery.retry_delay(3) == 10
    monkeypatch.undo()
    assert all(0 <= delivery.retry_delay(5) <= 160 for _ in range(50))
    assert len({delivery.retry_delay(5) for _ in range(50)}) > 1


def test_the_breaker_opens_after_repeated_failures_and_probes_after_the_cooloff(receiver, settings):
    settings.HUB_WEBHOOK_BREAKER_FAILURES = 3
    endpoint = receiver(status=503)
    subscription, _ = _subscribe("planning-push", endpoint.url)
    _publish(*[(f"SE-{n}", f"PO:{n}") for n in range(1, 6)])
    start = timezone.now()
    _deliver_all(subscription, start)
    # Three failures open it: the other two deliveries are not sent to the failing endpoint.
    assert len(endpoint.received) == 3
    breaker = Breaker.objects.get(subscription=subscription)
    assert breaker.state == Breaker.State.OPEN
    assert breaker.probe_at == start + dt.timedelta(seconds=60)
    assert delivery.due(start + dt.timedelta(seconds=59)) == []

    # After the cool-off one delivery probes (half-open), whatever the others' backoff says.
    probe_time = start + dt.timedelta(seconds=61)
    assert len(delivery.due(probe_time)) == 1
    _deliver_all(subscription, probe_time)
    assert len(endpoint.received) == 4
    breaker.refresh_from_db()
    assert breaker.state == Breaker.State.OPEN  # the probe failed: open again
    assert breaker.probe_at == probe_time + dt.timedelta(seconds=60)

    endpoint.status = 200
    recovered = probe_time + dt.timedelta(seconds=61)
    _run_due(recovered)
    breaker.refresh_from_db()
    assert breaker.state == Breaker.State.CLOSED and breaker.failures == 0
    # The probe's success made every waiting delivery due at once, whatever its backoff
    # said: the same task sends them all.
    assert delivery.due(recovered) == []
    assert {found.status for found in _deliveries(subscription)} == {"delivered"}
    assert sorted(endpoint.subjects()[4:]) == ["SE-1", "SE-2", "SE-3", "SE-4", "SE-5"]


def _killed(*args):
    raise SystemExit("worker killed")


def test_a_half_open_breaker_lets_one_probe_through(receiver, settings, monkeypatch):
    settings.HUB_WEBHOOK_BREAKER_FAILURES = 1
    endpoint = receiver(status=500)
    subscription, _ = _subscribe("planning-push", endpoint.url)
    _publish(("SE-1", "PO:1"), ("SE-2", "PO:2"))
    start = timezone.now()
    _deliver_all(subscription, start)
    assert len(endpoint.received) == 1
    breaker = Breaker.objects.get(subscription=subscription)
    later = start + dt.timedelta(minutes=5)
    # A probe is under way (claimed by another worker, killed before it posted): no second.
    with monkeypatch.context() as patch:
        patch.setattr(delivery, "_post_batch", _killed)
        with pytest.raises(SystemExit):
            _deliver_all(subscription, later)
    breaker.refresh_from_db()
    assert breaker.state == Breaker.State.HALF_OPEN
    assert _deliver_all(subscription, later) == {"delivered": 0, "failed": 0}
    assert len(endpoint.received) == 1
    # A probe lost with its worker is given up after its claim: another goes.
    assert _deliver_all(subscription, later + dt.timedelta(minutes=5)) == {
        "delivered": 0,
        "failed": 1,
    }
    assert len(endpoint.received) == 2


def test_a_delivery_older_than_the_dead_letter_age_is_dead_until_replayed(
    receiver, steward_session
):
    endpoint = receiver(status=500)
    subscription, _ = _subscribe("planning-push", endpoint.url)
    _publish(("SE-1", "PO:1"), ("SE-2", "PO:1"))
    first, second = _deliveries(subscription)
    _deliver_all(subscription, first.since)
    _run_due(first.since + dt.timedelta(hours=23))
    assert {found.status for found in _deliveries(subscription)} == {"retrying", "pending"}

    _run_due(first.since + dt.timedelta(hours=24, seconds=1))
    assert {found.status for found in _deliveries(subscription)} == {"dead"}
    url = f"/api/v1/events/subscriptions/{subscription.pk}/deliveries/"
    listed = steward_session.get(url, {"status": "dead"}).json()["results"]
    assert [row["subject"] for row in listed] == ["SE-1", "SE-2"]
    assert listed[0]["last_attempt"]["status_code"] == 500
    assert listed[1]["last_attempt"] is None  # SE-2 never went: it waited for SE-1

    endpoint.status = 200
    received_before = len(endpoint.received)
    response = steward_session.post(
        "/api/v1/events/deliveries/replay/", {"subscription": subscription.pk}, format="json"
    )
    assert response.json() == {"count": 2, "skipped": []}
    _run_due(timezone.now())
    assert endpoint.subjects()[received_before:] == ["SE-1", "SE-2"]
    assert {found.status for found in _deliveries(subscription)} == {"delivered"}


def test_a_dead_letter_holds_its_key_back_until_discarded(receiver, steward_session):
    endpoint = receiver(status=500)
    subscription, _ = _subscribe("planning-push", endpoint.url)
    _publish(("SE-1", "PO:1"), ("SE-2", "PO:1"))
    first, second = _deliveries(subscription)
    _run_due(first.since + dt.timedelta(hours=25))
    endpoint.status = 200
    received_before = len(endpoint.received)

    replay = steward_session.post(
        "/api/v1/events/deliveries/replay/", {"ids": [second.pk, 999999]}, format="json"
    )
    assert replay.json() == {"count": 1, "skipped": [999999]}
    _run_due(timezone.now())
    assert len(endpoint.received) == received_before  # SE-2 still waits for the dead SE-1

    discard = steward_session.post(
        "/api/v1/events/deliveries/discard/", {"ids": [first.pk]}, format="json"
    )
    assert discard.json() == {"count": 1, "skipped": []}
    _run_due(timezone.now())
    assert endpoint.subjects()[received_before:] == ["SE-2"]


def test_a_delivery_lost_with_its_worker_is_sent_again_with_the_same_webhook_id(
    receiver, monkeypatch
):
    endpoint = receiver()
    subscription, _ = _subscribe("planning-push", endpoint.url)
    _publish(("SE-1", "PO:1"))
    [found] = _deliveries(subscription)
    now = timezone.now()

    with monkeypatch.context() as patch:
        patch.setattr(delivery, "_record", _killed)
        with pytest.raises(SystemExit):
            _deliver_all(subscription, now)
    assert delivery.due(now + dt.timedelta(seconds=10)) == []  # still claimed
    _run_due(now + dt.timedelta(minutes=2))
    first, again = endpoint.received
    assert first[0]["webhook-id"] == again[0]["webhook-id"] == str(found.event.event_id)
    found.refresh_from_db()
    assert found.status == Delivery.Status.DELIVERED


def test_a_url_that_turned_private_is_refused_at_delivery(receiver, settings):
    endpoint = receiver()
    subscription, _ = _subscribe("planning-push", endpoint.url)
    _publish(("SE-1", "PO:1"))
    settings.HUB_WEBHOOK_ALLOW_PRIVATE = False
    _deliver_all(subscription, timezone.now())
    assert endpoint.received == []
    [found] = _deliveries(subscription)
    assert found.status == Delivery.Status.RETRYING
    assert "is not a public address (loopback)" in found.tries.get().error


def test_a_paused_subscription_gets_nothing_until_it_is_active_again(receiver):
    endpoint = receiver()
    subscription, _ = _subscribe("planning-push", endpoint.url)
    _publish(("SE-1", "PO:1"))
    Subscription.objects.filter(pk=subscription.pk).update(is_active=False)
    now = timezone.now()
    _deliver_all(subscription, now)
    assert delivery.due(now) == [] and endpoint.received == []
    Subscription.objects.filter(pk=subscription.pk).update(is_active=True)
    _run_due(now)
    assert endpoint.subjects() == ["SE-1"]


@pytest.mark.django_db(transaction=True)
def test_a_slow_endpoint_does_not_hold_up_another_subscription(receiver, settings, monkeypatch):
    """Two workers: one stuck on a slow endpoint, the other delivers meanwhile."""
    monkeypatch.setattr(delivery, "_send", lambda ids: None)  # the test is the workers
    settings.HUB_WEBHOOK_TIMEOUT = 3
    slow = receiver(delay=2)
    fast = receiver()
    slow_subscription, _ = _subscribe("slow-push", slow.url)
    fast_subscription, _ = _subscribe("fast-push", fast.url)
    _publish(("SE-1", "PO:1"))
    [stuck] = _deliveries(slow_subscription)
    [quick] = _deliveries(fast_subscription)

    worker = threading.Thread(target=delivery.push, args=(slow_subscription.pk,))
    worker.start()
    assert slow.arrived.wait(5)
    started = time.monotonic()
    assert delivery.push(fast_subscription.pk) == {"delivered": 1, "failed": 0}
    assert time.monotonic() - started < 1
    assert worker.is_alive()  # the slow endpoint has not answered yet
    worker.join(10)
    stuck.refresh_from_db()
    assert stuck.status == Delivery.Status.DELIVERED


def test_a_slow_endpoint_is_cut_off_at_the_timeout(receiver, settings):
    settings.HUB_WEBHOOK_TIMEOUT = 1
    slow = receiver(delay=3)
    subscription, _ = _subscribe("slow-push", slow.url)
    _publish(("SE-1", "PO:1"))
    [found] = _deliveries(subscription)
    started = time.monotonic()
    assert delivery.push(subscription.pk) == {"delivered": 0, "failed": 1}
    assert time.monotonic() - started < 2.5
    assert "No answer within the timeouts" in found.tries.get().error


def test_the_deliveries_list_refuses_an_unknown_status(steward_session, receiver):
    subscription, _ = _subscribe("planning-push", receiver().url)
    url = f"/api/v1/events/subscriptions/{subscription.pk}/deliveries/"
    assert steward_session.get(url, {"status": "lost"}).status_code == 400


def test_a_replay_needs_ids_or_a_subscription(steward_session):
    response = steward_session.post("/api/v1/events/deliveries/replay/", {}, format="json")
    assert "Give either `ids`" in problem_of(response, 400)["detail"]


@pytest.fixture
def steward_session(steward):
    api = APIClient()
    api.force_login(steward)
    return api


def test_a_batch_sends_each_key_in_order_past_a_key_held_back(receiver, monkeypatch):
    monkeypatch.setattr(delivery, "BATCH", 2)
    endpoint = receiver()
    subscription, _ = _subscribe("planning-push", endpoint.url)
    _publish(("A-1", "PO:A"), ("A-2", "PO:A"), ("A-3", "PO:A"), ("B-1", "PO:B"), ("B-2", "PO:B"))
    first = _deliveries(subscription)[0]
    Delivery.objects.filter(pk=first.pk).update(status=Delivery.Status.DEAD)
    # A-1 is a dead letter: the rest of PO:A waits, PO:B's two go (batches of two).
    assert _deliver_all(subscription, timezone.now()) == {"delivered": 2, "failed": 0}
    assert endpoint.subjects() == ["B-1", "B-2"]

    delivery.discard([first.pk])
    _run_due(timezone.now())
    assert endpoint.subjects()[2:] == ["A-2", "A-3"]
    statuses = [found.status for found in _deliveries(subscription)]
    assert statuses == ["discarded"] + ["delivered"] * 4


def test_the_command_sends_what_is_due_as_the_beat_would(receiver):
    """`manage.py deliver_webhooks` (make run's stand-in for the beat): a delivery that failed
    while the endpoint was down goes once it is back and its retry is due."""
    endpoint = receiver(status=503)
    subscription, _ = _subscribe("planning-push", endpoint.url)
    _publish(("SE-1", "PO:1"), ("SE-2", "PO:1"))
    _deliver_all(subscription, timezone.now())
    Delivery.objects.filter(subscription=subscription).update(next_attempt_at=timezone.now())
    endpoint.status = 200
    out = io.StringIO()
    call_command("deliver_webhooks", stdout=out)
    assert out.getvalue() == "Sent 1 subscription(s) their due deliveries.\n"
    assert endpoint.subjects() == ["SE-1", "SE-1", "SE-2"]
    assert {found.status for found in _deliveries(subscription)} == {"delivered"}
