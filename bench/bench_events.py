"""Webhook push at volume: N events, each to three subscribers' receivers, through the outbox,
Redis and `celery worker` processes on PostgreSQL, beside plain signed POSTs (the floor).

    .venv/bin/python bench/bench_events.py        (make bench runs every bench_*.py)

What is measured:
(a) floor: the same number of signed POSTs (N x 3: a Standard Webhooks signature each, over a
    kept-alive connection per receiver, as the hub's batches send them) sent by one plain
    loop in this process to the same receivers: no Celery, no database. What HTTP alone
    costs here.
(b) end to end, on 1 then 2 `celery worker --pool=solo` processes consuming a queue of the
    bench's own (HUB_EVENTS_QUEUE): N events emitted by this process with events.outbox.emit,
    BATCH to a transaction (as a change that writes several records does), as fast as it
    can; published, planned and pushed by the workers to three push subscriptions (every
    event to each), whose receivers answer 200 at once. Printed: events per second (N over
    the time from the first commit until every receiver has every event), deliveries per
    second, the end-to-end lag of each delivery (its event's commit time to its arrival at
    the receiver, both on this machine's clock) at p50 and p99, each worker's peak memory
    (its own VmHWM), and the speed-up from 1 to 2 workers. The emitter runs unpaced, so when
    the workers deliver slower than it writes, the lag is mostly the backlog waiting; a third
    run on 2 workers emits at BENCH_EVENTS_RATE events a second (default 200, below what they
    deliver): the lag of a steady flow.
Targets (2 workers): >= 1,000 events/s, lag p99 <= 2 s.

The receivers are three http.server processes (threaded), children of this one, each
recording (webhook-id, arrival time) and writing them out when stopped. The workers run with
HUB_DEBUG=1 and HUB_WEBHOOK_ALLOW_PRIVATE=1: the receivers are plain http on 127.0.0.1, which
the hub refuses otherwise (Django then keeps its last queries in a bounded log: a small cost).

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/hub_bench_events,
created and migrated when missing; the events tables are emptied before each run),
BENCH_BROKER_URL (default redis://127.0.0.1:6379/12), BENCH_EVENTS (default 100,000),
BENCH_EVENTS_WAIT (seconds a run may take, default 1,800), BENCH_EVENTS_RATE (the paced run's
events a second, default 200), BENCH_STRICT=1 (exit 1 when a target is missed).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import common

EVENTS = int(os.getenv("BENCH_EVENTS", "100000"))
RECEIVERS = 3
BATCH = 100  # events per emitting transaction
KEYS = 1000  # partition keys (purchase orders), round robin
WORKER_COUNTS = (1, 2)
BROKER = os.getenv("BENCH_BROKER_URL") or "redis://127.0.0.1:6379/12"
QUEUE = f"bench-events-{uuid.uuid4().hex[:8]}"
WAIT_SECONDS = int(os.getenv("BENCH_EVENTS_WAIT", "1800"))
# The rate of a third run, paced below what 2 workers deliver: the lag of a steady flow.
PACED_RATE = int(os.getenv("BENCH_EVENTS_RATE", "200"))
TYPE = "hub.supply_exception.changed"
TARGET_EVENTS_PER_SECOND = 1000
TARGET_LAG_P99 = 2.0
TARGET_MEMORY_MIB = 1024


# --- the receivers (child processes) ------------------------------------------------------------


def receiver_main(port, out):
    """Serve 127.0.0.1:`port`, answering 200 to each POST and keeping (webhook-id, arrival
    time); on SIGTERM write them to `out` as JSON and exit."""
    arrivals = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keeps the connection, as any web server would

        def do_POST(self):
            arrivals.append((self.headers.get("webhook-id"), time.time()))
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    server.daemon_threads = True

    def finish(*_):
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, finish)
    print("ready", flush=True)
    server.serve_forever()
    Path(out).write_text(json.dumps(arrivals))
    return 0


class Receivers:
    """RECEIVERS receiver processes on free ports; stop() returns each one's arrivals."""

    def __init__(self):
        self.directory = Path(tempfile.mkdtemp(prefix="bench-events-"))
        self.ports = [common.free_port() for _ in range(RECEIVERS)]
        self.processes = []
        for port in self.ports:
            process = subprocess.Popen(
                [sys.executable, __file__, "--receiver", str(port), str(self._out(port))],
                stdout=subprocess.PIPE, start_new_session=True,
            )  # fmt: skip
            process.stdout.readline()  # "ready"
            self.processes.append(process)
        self.urls = [f"http://127.0.0.1:{port}/hooks/hub" for port in self.ports]

    def _out(self, port):
        return self.directory / f"{port}.json"

    def peaks_mib(self):
        return [common.peak_memory_mib(process.pid) for process in self.processes]

    def stop(self):
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        found = []
        for port, process in zip(self.ports, self.processes, strict=True):
            process.wait(timeout=60)
            found.append(json.loads(self._out(port).read_text()))
        shutil.rmtree(self.directory, ignore_errors=True)
        return found


# --- (a) the floor ------------------------------------------------------------------------------


def floor(secret):
    """N x RECEIVERS signed POSTs from one loop, a kept-alive connection per receiver: posts
    per second."""
    import requests
    from standardwebhooks.webhooks import Webhook

    from events import documents
    from events.models import Event

    signer = Webhook(secret)
    receivers = Receivers()
    sessions = {url: requests.Session() for url in receivers.urls}
    try:
        started = time.perf_counter()
        for n in range(EVENTS):
            event = Event(
                event_id=uuid.uuid4(), type=TYPE, source="urn:hub:bench", subject=f"SE-{n}",
                time=_now(), partition_key=f"PO:{n % KEYS}", data={"n": n}, position=n + 1,
            )  # fmt: skip
            body = json.dumps(documents.document(event), separators=(",", ":")).encode()
            for url, session in sessions.items():
                signed_at = _now()
                headers = {
                    "Content-Type": "application/cloudevents+json",
                    "webhook-id": str(event.event_id),
                    "webhook-timestamp": str(int(signed_at.timestamp())),
                    "webhook-signature": signer.sign(str(event.event_id), signed_at, body),
                }
                session.trust_env = False
                response = session.post(url, data=body, headers=headers, timeout=(5, 10))
                response.close()
                if response.status_code != 200:
                    raise SystemExit(f"The receiver answered {response.status_code}")
        seconds = time.perf_counter() - started
    finally:
        for session in sessions.values():
            session.close()
        arrivals = receivers.stop()
    assert sum(len(found) for found in arrivals) == EVENTS * RECEIVERS
    return {
        "posts": EVENTS * RECEIVERS,
        "seconds": round(seconds, 2),
        "posts_per_second": round(EVENTS * RECEIVERS / seconds, 1),
        "events_per_second": round(EVENTS / seconds, 1),
    }


def _now():
    from django.utils import timezone

    return timezone.now()


# --- (b) end to end -------------------------------------------------------------------------------


def forget_earlier_runs():
    """Empty the events tables (a run starts with none) and the bench's queue."""
    import redis
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE events_deliveryattempt, events_delivery, events_breaker, "
            "events_webhooksecret, events_subscription, events_event, "
            "events_publishedposition RESTART IDENTITY CASCADE"
        )
    redis.Redis.from_url(BROKER).delete(QUEUE)


def subscribe(urls):
    """A push subscription per receiver (every event); their common secret's text."""
    from events import webhooks
    from events.models import Subscription

    secret = None
    for n, url in enumerate(urls, start=1):
        subscription = Subscription.objects.create(
            name=f"bench-receiver-{n}", consumer=f"BENCH{n}", mode="push", url=url
        )
        secret = webhooks.create_secret(subscription)
    return secret


def emit_all(rate=None):
    """N events, BATCH to a transaction, as fast as this process writes them or at `rate`
    events a second: {event id: commit time}, and the first commit's time."""
    from django.db import transaction

    from events import outbox

    committed = {}
    first = None
    for start in range(0, EVENTS, BATCH):
        with transaction.atomic():
            written = [
                str(outbox.emit(TYPE, f"SE-{n:07d}", {"n": n}, f"PO:{n % KEYS:05d}").event_id)
                for n in range(start, min(start + BATCH, EVENTS))
            ]
        at = time.time()
        first = first or at
        committed.update(dict.fromkeys(written, at))
        if rate:
            time.sleep(max(0.0, first + (start + BATCH) / rate - time.time()))
    return committed, first


def delivered_count():
    from events.models import Delivery

    return Delivery.objects.filter(status=Delivery.Status.DELIVERED).count()


def celery_run(url, count, rate=None):
    """The events pushed by `count` workers, emitted unpaced or at `rate` a second: the
    figures of (b)."""
    forget_earlier_runs()
    receivers = Receivers()
    subscribe(receivers.urls)
    env = common.server_env(url)
    env.update(
        CELERY_BROKER_URL=BROKER,
        CELERY_TASK_ALWAYS_EAGER="0",
        HUB_EVENTS_QUEUE=QUEUE,
        HUB_DEBUG="1",
        HUB_WEBHOOK_ALLOW_PRIVATE="1",
        HUB_LOG_FORMAT="text",
        HUB_LOG_LEVEL="WARNING",
    )
    paced = f", emitted at {rate:,} events/s" if rate else ""
    print(f"{EVENTS:,} events on {count} worker(s) (celery worker --pool=solo{paced})")
    workers = common.start_celery_workers(env, QUEUE, count, "--pool=solo")
    wanted = EVENTS * RECEIVERS
    try:
        load_before = os.getloadavg()[0]
        committed, first = emit_all(rate)
        emitted = time.time()
        print(f"  emitted in {emitted - first:.1f} s ({EVENTS / (emitted - first):,.0f} events/s)")
        deadline = time.monotonic() + WAIT_SECONDS
        said = time.monotonic()
        while (done := delivered_count()) < wanted:
            if time.monotonic() > deadline:
                raise SystemExit(f"Only {done:,} of {wanted:,} delivered after {WAIT_SECONDS} s")
            common.check_alive(workers)
            if time.monotonic() - said >= 30:
                print(f"  {done:,} of {wanted:,} deliveries done")
                said = time.monotonic()
            time.sleep(0.5)
        memory = [m for w in workers for m in common.serving_peaks_mib(w.pid).values()]
        load_after = os.getloadavg()[0]
    finally:
        common.stop_processes(workers)
        arrivals = receivers.stop()
    lags, last = [], 0.0
    duplicates = 0
    for found in arrivals:
        seen = set()
        for webhook_id, at in found:
            if webhook_id in seen:
                duplicates += 1
                continue
            seen.add(webhook_id)
            lags.append(at - committed[webhook_id])
            last = max(last, at)
        assert len(seen) == EVENTS, f"a receiver got {len(seen)} of {EVENTS} events"
    seconds = last - first
    result = {
        "workers": count,
        "rate": rate,
        "seconds": round(seconds, 2),
        "emit_seconds": round(emitted - first, 2),
        "events_per_second": round(EVENTS / seconds, 1),
        "deliveries_per_second": round(wanted / seconds, 1),
        "lag_p50_s": round(common.percentile(lags, 0.50), 3),
        "lag_p99_s": round(common.percentile(lags, 0.99), 3),
        "lag_max_s": round(max(lags), 3),
        "duplicates": duplicates,
        "memory_mib": [round(m, 1) for m in memory],
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
    }
    print(
        f"  {result['events_per_second']:,.0f} events/s ({result['deliveries_per_second']:,.0f} "
        f"deliveries/s), lag p50 {result['lag_p50_s']:.2f} s, p99 {result['lag_p99_s']:.2f} s; "
        f"peak memory per worker {', '.join(f'{m:.0f} MiB' for m in memory)}"
    )
    return result


def main():
    sys.stdout.reconfigure(line_buffering=True)
    if sys.argv[1:2] == ["--receiver"]:
        return receiver_main(*sys.argv[2:])
    os.environ["CELERY_BROKER_URL"] = BROKER
    os.environ["HUB_EVENTS_QUEUE"] = QUEUE  # emit's publish goes where the workers read
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    url = common.database_url("hub_bench_events")
    common.setup(url)
    print(f"(a) floor: {EVENTS * RECEIVERS:,} signed POSTs from one loop, no Celery, no database")
    forget_earlier_runs()
    from events import webhooks

    floor_figures = floor(webhooks._new_secret_text())
    print(f"  {floor_figures['posts_per_second']:,.0f} posts/s")
    print("(b) end to end")
    runs = [celery_run(url, count) for count in WORKER_COUNTS]
    runs.append(celery_run(url, WORKER_COUNTS[-1], PACED_RATE))
    forget_earlier_runs()
    one, two, paced = runs
    speed_up = one["seconds"] / two["seconds"]

    common.print_table(
        f"{EVENTS:,} events to {RECEIVERS} receivers (PostgreSQL, Redis)",
        ["path", "seconds", "events/s", "deliveries/s", "lag p50 s", "lag p99 s", "peak MiB"],
        [
            (
                "floor: signed POSTs from one loop",
                floor_figures["seconds"],
                floor_figures["events_per_second"],
                floor_figures["posts_per_second"],
                "",
                "",
                "",
            ),
            *(
                (
                    f"outbox -> {run['workers']} celery worker(s)"
                    + (f", paced {run['rate']:,}/s" if run["rate"] else ""),
                    run["seconds"],
                    run["events_per_second"],
                    run["deliveries_per_second"],
                    run["lag_p50_s"],
                    run["lag_p99_s"],
                    max(run["memory_mib"]),
                )
                for run in runs
            ),
        ],
    )
    print(
        f"speed-up from 1 to 2 workers: {speed_up:.2f}x on {os.cpu_count()} CPUs shared with "
        f"PostgreSQL, Redis, the receivers and the emitter (load average before/after: "
        f"{one['load_average_1min']}, {two['load_average_1min']}); duplicates: "
        f"{one['duplicates']}, {two['duplicates']}"
    )
    figures = {
        "events": EVENTS,
        "receivers": RECEIVERS,
        "batch": BATCH,
        "partition_keys": KEYS,
        "cpus": os.cpu_count(),
        "floor": floor_figures,
        "runs": runs,
        "speed_up": round(speed_up, 2),
    }
    checks = [
        common.check(
            "2 workers, events/s", two["events_per_second"], TARGET_EVENTS_PER_SECOND, True
        ),
        common.check("2 workers, lag p99, s", two["lag_p99_s"], TARGET_LAG_P99, unit=" s"),
        common.check(
            f"2 workers paced at {PACED_RATE:,}/s, lag p99, s",
            paced["lag_p99_s"],
            TARGET_LAG_P99,
            unit=" s",
        ),
        *(
            common.check(f"2 workers: worker {n} peak memory, MiB", memory, TARGET_MEMORY_MIB)
            for n, memory in enumerate(two["memory_mib"], start=1)
        ),
    ]
    return common.finish("events", figures, checks)


if __name__ == "__main__":
    sys.exit(main())
