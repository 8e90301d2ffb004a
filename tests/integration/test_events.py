"""Webhook push survives what breaks under it, against real processes: a worker killed
mid-delivery, the broker restarted, the database restarted, the subscriber's endpoint down
longer than the breaker's window; and an event of a rolled-back transaction is never sent.

The subscriber is a small threaded HTTP server in this process (`Receiver`) that verifies each
request's Standard Webhooks signature with the subscription's secret and keeps what it
accepted in arrival order. After each fault every event has arrived at least once, the first
arrivals of each partition key are in the order the events were written (and their sequences
increase), and a duplicate carries the same webhook-id, so the receiver can recognise it.

The events are emitted here, each in its own transaction, into the database the workers use;
the workers (prefork, with Celery beat, whose sweeps run every second) consume a queue of the
test's own. Retries, the breaker's cool-off and the timeouts are cut to seconds through the
workers' environment. A worker's claim on a batch of deliveries outlives it by the task's
slice, the timeouts and events.delivery.CLAIM_MARGIN (about 40 s), which is how long the kill
test (and a broker restart, which loses the push tasks under way) waits at most.
"""

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import kombu.pools
import pytest
from django.conf import settings
from django.db import connection, transaction
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from events import outbox, webhooks
from events.models import Breaker, Delivery, DeliveryAttempt, Event, Subscription
from hub.celery import app as celery_app
from tests.integration import processes
from tests.services import require

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TYPE = "hub.supply_exception.changed"
# Purchase orders: the events of one must arrive in order.
KEYS = [f"PO:SUP-{n:06d}:45{n:08d}" for n in range(1, 9)]
COOLOFF = 2
# The workers' settings: plain http to 127.0.0.1 (debug and the private-address setting), and
# every wait of the delivery in seconds.
WORKER_SETTINGS = {
    "HUB_DEBUG": 1,
    "HUB_WEBHOOK_ALLOW_PRIVATE": 1,
    "HUB_WEBHOOK_CONNECT_TIMEOUT": 1,
    "HUB_WEBHOOK_TIMEOUT": 2,
    "HUB_WEBHOOK_RETRY_BASE": 1,
    "HUB_WEBHOOK_RETRY_CAP": 2,
    "HUB_WEBHOOK_BREAKER_FAILURES": 3,
    "HUB_WEBHOOK_BREAKER_COOLOFF": COOLOFF,
    "HUB_WEBHOOK_SWEEP_INTERVAL": 1,
    # The beat's publish-events (and validation's sweep, idle here) runs this often.
    "HUB_VALIDATION_SWEEP_INTERVAL": 1,
}
WAIT = 90


# --- the subscriber's endpoint -------------------------------------------------------------


class Receiver:
    """A webhook endpoint on 127.0.0.1 that checks each signature with `secret`. It answers
    `status` (200, or 503 when set so); `delay` seconds pass between taking a request and
    answering 200. `arrivals`: (webhook-id, the document's id, partition key, sequence) of
    each request accepted, in arrival order; `answered`: how many of each status it gave;
    `forged`: requests whose signature did not verify. stop() and start() again keep the
    port (connections are refused meanwhile)."""

    def __init__(self, secret, delay=0.0):
        self.webhook = Webhook(secret)
        self.delay = delay
        self.status = 200
        self.arrivals = []
        self.answered = Counter()
        self.forged = []
        self.lock = threading.Lock()
        self.port = processes.free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/hub"
        self.server = None

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                try:
                    receiver.webhook.verify(body, headers)
                except WebhookVerificationError as exc:
                    with receiver.lock:
                        receiver.forged.append((headers.get("webhook-id"), str(exc)))
                    return self._answer(401)
                status = receiver.status
                if status == 200:
                    document = json.loads(body)
                    with receiver.lock:
                        receiver.arrivals.append(
                            (
                                headers["webhook-id"],
                                document["id"],
                                document["partitionkey"],
                                int(document["sequence"]),
                            )
                        )
                    time.sleep(receiver.delay)
                self._answer(status)

            def _answer(self, status):
                with receiver.lock:
                    receiver.answered[status] += 1
                with contextlib.suppress(ConnectionError):  # its worker was killed meanwhile
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def received(self):
        """The webhook-ids accepted so far (each once)."""
        with self.lock:
            return {arrival[0] for arrival in self.arrivals}


def _subscribe(receiver):
    """The planning system's push subscription to the receiver (every event), signed with
    the receiver's secret."""
    subscription = Subscription.objects.create(
        name="planning-webhook", consumer="PLANNING", mode=Subscription.Mode.PUSH, url=receiver.url
    )
    return subscription, webhooks.create_secret(subscription)


@pytest.fixture
def subscriber():
    """subscriber(delay=0.0): a started Receiver with the push subscription and its secret on
    the test database; stopped after the test."""
    started = []

    def make(delay=0.0):
        receiver = Receiver("whsec_placeholder", delay)
        _, secret = _subscribe(receiver)
        receiver.webhook = Webhook(secret)
        receiver.start()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.stop()


@pytest.fixture
def events_queue(broker_queue, settings):
    """The queue of the test's own, for the events' tasks too (emit's publish)."""
    settings.HUB_EVENTS_QUEUE = broker_queue
    return broker_queue


def _worker(tmp_path, name, queue, *, concurrency=2, **env):
    """A worker with Celery beat on `queue` and the test's database (unless `env` names
    another), the delivery's waits cut to seconds."""
    return processes.start_worker(
        tmp_path / f"{name}.log",
        queue,
        concurrency=concurrency,
        beat=True,
        **{
            **WORKER_SETTINGS,
            "DATABASE_URL": processes.database_url(),
            "HUB_EVENTS_QUEUE": queue,
            "HUB_SECRET_KEY": settings.SECRET_KEY,  # the secrets are encrypted with it
            **env,
        },
    )


# --- emitting, and what the receiver must have seen -----------------------------------------


def _emit(first, count, per_transaction=1):
    """Events first..first+count-1 of the purchase orders in KEYS (round robin), written
    `per_transaction` to a transaction, as a domain change writes them. Returns [(event id,
    partition key)] in the order written."""
    emitted = []
    for start in range(first, first + count, per_transaction):
        with transaction.atomic():
            for n in range(start, min(start + per_transaction, first + count)):
                event = outbox.emit(TYPE, f"SE-{n:06d}", {"n": n}, KEYS[n % len(KEYS)])
                emitted.append((str(event.event_id), event.partition_key))
    return emitted


def _wait_delivered(receiver, emitted, workers, what, timeout=WAIT):
    """Until the receiver has every emitted event and the hub has recorded each delivered."""
    wanted = {event_id for event_id, _ in emitted}
    processes.wait_for(
        lambda: wanted <= receiver.received(), timeout, f"every event at the receiver {what}",
        workers,
    )  # fmt: skip
    processes.wait_for(
        lambda: not Delivery.objects.exclude(status=Delivery.Status.DELIVERED).exists(),
        30,
        f"every delivery recorded as delivered {what}",
        workers,
    )


def _check_arrivals(receiver, emitted):
    """Every emitted event arrived at least once and no other did; each key's first arrivals
    are in the order written, with increasing sequences; a duplicate carries the webhook-id,
    document and sequence of its first arrival. Returns how many duplicates arrived."""
    assert not receiver.forged, f"signatures that did not verify: {receiver.forged[:5]}"
    written = {event_id: (n, key) for n, (event_id, key) in enumerate(emitted)}
    first = {}
    by_key = defaultdict(list)
    for webhook_id, document_id, key, sequence in receiver.arrivals:
        assert webhook_id == document_id, "the webhook-id is the event's CloudEvents id"
        assert webhook_id in written, f"an event never committed was delivered: {webhook_id}"
        n, written_key = written[webhook_id]
        assert key == written_key
        if webhook_id in first:
            assert first[webhook_id] == sequence, "a duplicate is the same event"
            continue
        first[webhook_id] = sequence
        by_key[key].append((n, sequence))
    assert set(first) == set(written), f"{len(set(written) - set(first))} events never arrived"
    for key, seen in by_key.items():
        assert seen == sorted(seen), f"{key}: arrived out of order: {seen}"
        sequences = [sequence for _, sequence in seen]
        assert len(set(sequences)) == len(sequences)
    return len(receiver.arrivals) - len(first)


def _report(what, receiver, duplicates, started):
    attempts = DeliveryAttempt.objects.count()
    failed = DeliveryAttempt.objects.exclude(error="").count()
    print(
        f"\n{what}: {len(receiver.received())} events delivered in "
        f"{time.monotonic() - started:.1f} s, {duplicates} duplicates, {attempts} attempts "
        f"({failed} failed), answers {dict(receiver.answered)}"
    )


# --- (a) a worker killed mid-delivery -----------------------------------------------------


def test_a_worker_killed_mid_delivery_loses_no_event_and_keeps_each_orders_order(
    tmp_path, events_queue, subscriber
):
    """200 events to a receiver that takes 50 ms an answer. A pool process of the worker is
    killed (SIGKILL) while deliveries flow, then the whole worker, and a new worker started:
    every event arrives, in order per purchase order; what the dead worker had posted but
    not recorded arrives again, recognisable by its webhook-id."""
    receiver = subscriber(delay=0.05)
    workers = [_worker(tmp_path, "worker-1", events_queue)]
    started = time.monotonic()
    try:
        emitted = _emit(0, 200)
        processes.wait_for(
            lambda: len(receiver.received()) >= 40, WAIT, "deliveries flowing", workers
        )
        pool = processes.children(workers[0].pid)
        assert pool, "the prefork worker has pool processes"
        os.kill(pool[0], signal.SIGKILL)
        processes.wait_for(
            lambda: len(receiver.received()) >= 80, WAIT, "deliveries flowing again", workers
        )
        os.killpg(workers[0].pid, signal.SIGKILL)
        workers[0].wait(timeout=10)
        assert Delivery.objects.exclude(status=Delivery.Status.DELIVERED).exists(), (
            "the worker was killed mid-delivery"
        )
        workers.append(_worker(tmp_path, "worker-2", events_queue))
        _wait_delivered(receiver, emitted, workers[1:], "after the kill")
    finally:
        for worker in workers:
            processes.stop(worker)
    duplicates = _check_arrivals(receiver, emitted)
    _report("worker killed", receiver, duplicates, started)


# --- (b) the broker restarted ---------------------------------------------------------------


@contextlib.contextmanager
def _sending_to(url):
    """This process sends its tasks (emit's publish) to the broker at `url` meanwhile: the
    Redis of the test's own, which the workers use."""

    def forget_connections():
        kombu.pools.reset()  # kombu keeps its pools by URL, for the whole process
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    saved = celery_app.conf.broker_url
    forget_connections()
    celery_app.conf.broker_url = url
    try:
        yield
    finally:
        forget_connections()
        celery_app.conf.broker_url = saved


def test_a_broker_restart_loses_no_event(tmp_path, events_queue, subscriber):
    """The workers on a Redis of the test's own, killed (it keeps nothing: the queued
    publish and delivery tasks are gone) while deliveries flow; events are written while it
    is down (their publish cannot be sent) and after it is back. The beat's sweeps make up
    for every lost task: each event arrives, in order per purchase order."""
    redis = processes.RedisServer(tmp_path)
    require(redis.available, "redis-server (to restart a broker of the test's own)")
    receiver = subscriber(delay=0.02)
    redis.start()
    workers = []
    started = time.monotonic()
    try:
        with _sending_to(redis.url):
            workers.append(_worker(tmp_path, "worker", events_queue, CELERY_BROKER_URL=redis.url))
            emitted = _emit(0, 120)
            processes.wait_for(
                lambda: len(receiver.received()) >= 20, WAIT, "deliveries flowing", workers
            )
            redis.stop()
            assert Delivery.objects.exclude(status=Delivery.Status.DELIVERED).exists() or (
                Event.objects.filter(position__isnull=True).exists()
            ), "the broker was stopped mid-delivery"
            # Written while the broker is down: their transactions commit, their publish is
            # not sent (a second's retry each transaction).
            emitted += _emit(120, 30, per_transaction=10)
            redis.start()
            emitted += _emit(150, 50)
            _wait_delivered(receiver, emitted, workers, "after the broker's restart")
    finally:
        for worker in workers:
            processes.stop(worker)
        redis.stop()
    duplicates = _check_arrivals(receiver, emitted)
    _report("broker restarted", receiver, duplicates, started)


# --- (c) the database restarted -------------------------------------------------------------


@contextlib.contextmanager
def _connected_to(cluster):
    """This process's database is the test's own cluster meanwhile (the workers' too)."""
    connection.close()
    saved = dict(connection.settings_dict)
    connection.settings_dict.update(
        NAME="hub", HOST="127.0.0.1", PORT=str(cluster.port), USER="postgres", PASSWORD=""
    )
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def _copy_schema(cluster):
    """The test database's tables (migrated by pytest-django) into the cluster's database:
    far quicker than migrating it again."""
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--no-privileges", "-d", processes.database_url()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", cluster.url],
        input=dump.stdout, check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def test_a_database_restart_loses_no_event(tmp_path, events_queue, subscriber):
    """The workers and this process on a PostgreSQL cluster of the test's own, stopped while
    deliveries flow (connections terminated, new ones refused) and started again a few
    seconds later: attempts under way are recorded later or made again, and every event
    arrives, in order per purchase order."""
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    cluster = processes.PostgresCluster()
    require(cluster.available, "PostgreSQL's initdb and pg_ctl (a cluster of the test's own)")
    workers = []
    try:
        cluster.create()
        _copy_schema(cluster)
        with _connected_to(cluster):
            receiver = subscriber(delay=0.02)
            started = time.monotonic()
            workers.append(_worker(tmp_path, "worker", events_queue, DATABASE_URL=cluster.url))
            emitted = _emit(0, 150)
            processes.wait_for(
                lambda: len(receiver.received()) >= 30, WAIT, "deliveries flowing", workers
            )
            cluster.stop("fast")
            time.sleep(3)  # the workers' tasks and the beat's sweeps fail meanwhile
            cluster.start()
            connection.close()  # this process's connection was terminated too
            assert Delivery.objects.exclude(status=Delivery.Status.DELIVERED).exists(), (
                "the database was stopped mid-delivery"
            )
            emitted += _emit(150, 50)
            _wait_delivered(receiver, emitted, workers, "after the database's restart")
            duplicates = _check_arrivals(receiver, emitted)
            _report("database restarted", receiver, duplicates, started)
    finally:
        for worker in workers:
            processes.stop(worker)
        cluster.destroy()


# --- (d) the endpoint down longer than the breaker's window ---------------------------------


def _breaker(subscription):
    return Breaker.objects.filter(subscription=subscription).first()


def test_an_endpoint_down_past_the_breakers_window_gets_every_event_once_back(
    tmp_path, events_queue, subscriber
):
    """The receiver refuses connections, then answers 503, for several of the breaker's
    cool-offs while events keep coming: the breaker opens, only its probes reach the
    endpoint, and once the endpoint answers 200 every missed event arrives, in order per
    purchase order, without anyone touching anything; the breaker is closed again."""
    receiver = subscriber()
    subscription = Subscription.objects.get(url=receiver.url)
    workers = [_worker(tmp_path, "worker", events_queue)]
    started = time.monotonic()
    try:
        emitted = _emit(0, 40)
        _wait_delivered(receiver, emitted, workers, "before the outage")

        receiver.stop()  # connections refused
        emitted += _emit(40, 60)
        processes.wait_for(
            lambda: getattr(_breaker(subscription), "state", None) == Breaker.State.OPEN,
            30,
            "the breaker open",
            workers,
        )
        opened = time.monotonic()
        failures = DeliveryAttempt.objects.exclude(error="").count()
        time.sleep(2 * COOLOFF + 1)
        probes = DeliveryAttempt.objects.exclude(error="").count() - failures
        assert 1 <= probes <= 4, f"{probes} attempts in two cool-offs: probes only"

        receiver.status = 503  # up, but failing
        receiver.start()
        emitted += _emit(100, 20)
        time.sleep(2 * COOLOFF + 1)
        assert 1 <= receiver.answered[503] <= 4, receiver.answered
        assert _breaker(subscription).state != Breaker.State.CLOSED
        down = time.monotonic() - opened
        assert down > 2 * COOLOFF, "down longer than the breaker's window"

        receiver.status = 200
        _wait_delivered(receiver, emitted, workers, "after the endpoint is back")
    finally:
        for worker in workers:
            processes.stop(worker)
    breaker = _breaker(subscription)
    assert breaker.state == Breaker.State.CLOSED and breaker.failures == 0
    assert not Delivery.objects.filter(status=Delivery.Status.DEAD).exists()
    duplicates = _check_arrivals(receiver, emitted)
    assert duplicates == 0, "a refused or failed attempt is not an arrival"
    _report(f"endpoint down {down:.0f} s", receiver, duplicates, started)


# --- (e) no event of a rolled-back transaction ----------------------------------------------


class RolledBack(Exception):
    pass


def test_no_event_of_a_rolled_back_transaction_is_ever_delivered(
    tmp_path, events_queue, subscriber
):
    """Events written in transactions that roll back, whole or to a savepoint, among events
    that commit on the same purchase orders: only the committed ones are published and
    delivered, in order, even after the beat's publish and sweep have run a few times more."""
    receiver = subscriber()
    workers = [_worker(tmp_path, "worker", events_queue)]
    emitted, rolled_back = [], []
    try:
        for n in range(0, 90, 3):
            emitted += _emit(n, 1)
            # A whole transaction rolled back.
            with contextlib.suppress(RolledBack), transaction.atomic():
                rolled_back.append(outbox.emit(TYPE, f"SE-{n + 1:06d}", {}, KEYS[n % len(KEYS)]))
                raise RolledBack
            # A savepoint rolled back, the rest of its transaction committed (before and after).
            with transaction.atomic():
                if n % 2:
                    emitted += _emit(n + 2, 1)
                with contextlib.suppress(RolledBack), transaction.atomic():
                    rolled_back.append(outbox.emit(TYPE, f"SE-X{n:05d}", {}, KEYS[n % len(KEYS)]))
                    raise RolledBack
                if not n % 2:
                    emitted += _emit(n + 2, 1)
        _wait_delivered(receiver, emitted, workers, "of the committed events")
        time.sleep(3)  # the beat's publish and sweep run again meanwhile
    finally:
        for worker in workers:
            processes.stop(worker)
    never = {str(event.event_id) for event in rolled_back}
    assert not never & receiver.received()
    assert not Event.objects.filter(event_id__in=never).exists()
    assert Event.objects.count() == len(emitted)
    assert sorted(Event.objects.values_list("position", flat=True)) == list(
        range(1, len(emitted) + 1)
    ), "every committed event published once, no position given to a rolled-back one"
    _check_arrivals(receiver, emitted)
