"""Faults the hub survives, against real processes: a worker killed mid-batch, the broker
restarted mid-batch, the database down under a serving hub.

Each test starts what it breaks on its own: the workers, the web server, a Redis server on a
port of its own and a PostgreSQL cluster in a temporary directory. The machine's shared
PostgreSQL and Redis are never stopped.
"""

import datetime
import os
import signal
import subprocess
import sys
import time
import uuid

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count, Sum
from django.utils import timezone

from hub.celery import app as celery_app
from mdm.models import allocate_public_ids
from mdm.services import create_api_client
from quarantine.models import CaseKey, CaseTransition, QuarantineCase
from tests.integration import processes
from tests.services import require
from tests.validation.world import build_world, example
from validation import contracts, sweep, tasks
from validation.models import InboundMessage

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FINAL = InboundMessage.FINAL_STATUSES
Status = InboundMessage.Status


def _purchase_orders(count, quarantine_every=4):
    """`count` purchase orders of the legacy ERP, each its own; every `quarantine_every`-th
    names an inactive supplier, so it is quarantined, the rest are released. Returns
    {idempotency key: (payload, expected status)}."""
    orders = {}
    for number in range(count):
        quarantined = number % quarantine_every == 0
        payload = example(
            "purchase_order",
            po_number=f"45{number:08d}",
            **({"supplier": "100999"} if quarantined else {}),
        )
        orders[f"po-{number}"] = (payload, Status.QUARANTINED if quarantined else Status.RELEASED)
    return orders


def _store(system, orders):
    """Store the orders as received, as submit_message does, in bulk: the promise under test
    is the worker's, and 10,000 requests would only measure the web server."""
    now = timezone.now()
    ids = allocate_public_ids(InboundMessage.PUBLIC_ID_PREFIX, len(orders))
    rows = [
        InboundMessage(
            public_id=public_id,
            message_type="purchase_order",
            schema_version=1,
            system=system,
            idempotency_key=key,
            payload_sha256=contracts.sha256_of(payload),
            payload=payload,
            status=Status.RECEIVED,
            business_date=contracts.business_date("purchase_order", 1, payload),
            line_count=len(payload["lines"]),
            received_at=now,
            enqueued_at=now,
        )
        for public_id, (key, (payload, _)) in zip(ids, orders.items(), strict=True)
    ]
    InboundMessage.objects.bulk_create(rows, batch_size=1000)
    return dict(InboundMessage.objects.values_list("idempotency_key", "pk"))


def _enqueue(pks, queue):
    """One validation task per message, over one broker connection."""
    with celery_app.producer_or_acquire() as producer:
        for pk in pks:
            tasks.validate_message.apply_async((pk,), queue=queue, producer=producer)


def _pending():
    return InboundMessage.objects.exclude(status__in=FINAL).count()


def _final():
    return InboundMessage.objects.filter(status__in=FINAL).count()


def _queued(queue):
    """Tasks waiting in `queue` on the broker (not those a worker has taken)."""
    with celery_app.connection_for_write() as conn:
        try:
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
        except conn.channel_errors:  # Redis keeps no empty list: an empty queue is no queue
            return 0


def _sweep_when_stalled(queue, workers, timeout, stall_seconds=3):
    """Wait until every message is final. When the queue is empty and no message has become
    final for `stall_seconds`, run the sweep as Celery beat would once the claim and queue
    timeouts have passed (its clock moved past them instead of waiting half an hour).
    Returns the sweep's counts, summed."""
    swept = {"requeued": 0, "reclaimed": 0, "dead_letter": 0}
    later = datetime.timedelta(
        seconds=max(settings.VALIDATION_CLAIM_TIMEOUT, settings.VALIDATION_RECEIVED_TIMEOUT) + 1
    )
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        for worker in workers:
            if worker.poll() is not None:
                pytest.fail(f"A worker exited ({worker.returncode}):\n{processes.tail(worker)}")
        pending = _pending()
        if pending == 0:
            return swept
        if pending != last or _queued(queue):
            last, since = pending, time.monotonic()
        elif time.monotonic() - since > stall_seconds:
            counts = sweep.sweep_stuck_messages(now=timezone.now() + later)
            swept = {name: swept[name] + counts[name] for name in swept}
            since = time.monotonic()
        time.sleep(0.25)
    states = dict(InboundMessage.objects.values_list("status").annotate(n=Count("pk")).order_by())
    logs = "\n".join(f"--- {w.log.name}\n{processes.tail(w)}" for w in workers)
    pytest.fail(f"Not every message final in {timeout} s: {states}, swept {swept}\n{logs}")


# --- a worker killed mid-batch --------------------------------------------------------------

# 2,000 messages in `make test` (about a minute on 2 quiet cores); `make soak` sends the
# issue's 10,000 (about 4.5 minutes quiet, 16 under heavy load from other jobs).
WORKER_PROCESSES = int(os.getenv("HUB_KILL_TEST_PROCESSES") or 2)
MESSAGES = int(os.getenv("HUB_KILL_TEST_MESSAGES") or 2_000)
# Generous: a loaded CI machine validates some 15 messages a second.
KILL_TEST_WAIT = 120 + MESSAGES // 5


def test_a_killed_worker_loses_no_message_and_does_nothing_twice(tmp_path, broker_queue):
    """MESSAGES purchase orders (2,000; 10,000 under `make soak`); a pool process of the worker is
    killed (SIGKILL) a fifth of the way in, the whole worker (main process and pool) at half
    way, and a new worker started. Every message ends in its one expected final state, each
    quarantined message has exactly one case with one opening transition and its keys, no
    message was claimed more often than the sweep gave it back, and none is lost."""
    world = build_world()
    orders = _purchase_orders(MESSAGES)
    started = time.monotonic()
    pks = _store(world.systems["ERP_LEGACY"], orders)
    assert len(pks) == MESSAGES
    stored = time.monotonic()
    database = processes.database_url()
    workers = [
        processes.start_worker(
            tmp_path / "worker-1.log",
            broker_queue,
            concurrency=WORKER_PROCESSES,
            DATABASE_URL=database,
        )
    ]
    try:
        _enqueue(pks.values(), broker_queue)
        enqueued = time.monotonic()

        # A pool process dies (the OOM killer, a crash in a C library) mid-task.
        processes.wait_for(
            lambda: _final() >= MESSAGES // 5, KILL_TEST_WAIT, "a fifth final", workers
        )
        pool = processes.children(workers[0].pid)
        assert pool, "the prefork worker has pool processes"
        os.kill(pool[0], signal.SIGKILL)

        # The whole worker dies (its machine or container is gone), and a new one starts.
        processes.wait_for(lambda: _final() >= MESSAGES // 2, KILL_TEST_WAIT, "half final", workers)
        os.killpg(workers[0].pid, signal.SIGKILL)
        workers[0].wait(timeout=10)
        assert _pending() > 0, "the worker was killed mid-batch"
        workers.append(
            processes.start_worker(
                tmp_path / "worker-2.log",
                broker_queue,
                concurrency=WORKER_PROCESSES,
                DATABASE_URL=database,
            )
        )

        swept = _sweep_when_stalled(broker_queue, workers[1:], timeout=KILL_TEST_WAIT)
        finished = time.monotonic()
    finally:
        for worker in workers:
            processes.stop(worker)
    print(
        f"\n{MESSAGES} messages: stored in {stored - started:.1f} s, enqueued in "
        f"{enqueued - stored:.1f} s, all final {finished - enqueued:.1f} s later; swept {swept}"
    )

    messages = {
        key: (status, attempts)
        for key, status, attempts in InboundMessage.objects.values_list(
            "idempotency_key", "status", "attempts"
        )
    }
    assert len(messages) == MESSAGES, "no message lost, none added"
    wrong = {
        key: messages[key][0]
        for key, (_, expected) in orders.items()
        if messages[key][0] != expected
    }
    assert not wrong, f"{len(wrong)} messages ended in another state: {list(wrong.items())[:10]}"
    assert not InboundMessage.objects.filter(finished_at__isnull=True).exists()

    # Claimed once, plus once more for each claim the sweep took back from a dead worker.
    claims = InboundMessage.objects.aggregate(total=Sum("attempts"))["total"]
    assert claims == MESSAGES + swept["reclaimed"], (claims, swept)
    assert swept["dead_letter"] == 0

    # Side effects: one case per quarantined message, one opening transition per case, and
    # the case's key (the inactive supplier) once.
    quarantined = {pks[key] for key, (_, expected) in orders.items() if expected == "quarantined"}
    cases = list(QuarantineCase.objects.values_list("message_id", flat=True))
    assert len(cases) == len(quarantined) == MESSAGES // 4
    assert set(cases) == quarantined
    transitions = CaseTransition.objects.values("case").annotate(n=Count("pk"))
    assert {row["n"] for row in transitions} == {1}
    assert len(transitions) == len(cases)
    keys_per_case = CaseKey.objects.values("case").annotate(n=Count("pk"))
    assert len({row["n"] for row in keys_per_case}) == 1
    assert len(keys_per_case) == len(cases)


# --- the broker restarted mid-batch ---------------------------------------------------------


def _submit(port, key, orders, names):
    """POST each named order to the hub at `port`; returns {name: message public id}."""
    ids = {}
    for name in names:
        payload, _ = orders[name]
        status, _, body = processes.request(
            port,
            "POST",
            "/api/v1/messages/",
            {"message_type": "purchase_order", "schema_version": 1, "payload": payload},
            {"Authorization": f"Bearer {key}", "Idempotency-Key": name},
        )
        assert status == 202, (name, status, body)
        ids[name] = body["id"]
    return ids


def test_a_broker_restart_loses_nothing_and_the_api_keeps_accepting(tmp_path):
    """Messages go through a real web server and a worker (with Celery beat's sweep) on a
    Redis of the test's own. Redis is killed (it keeps nothing: the queued tasks are gone)
    mid-batch and started again: the API accepts every message throughout, /healthz names
    the broker as down meanwhile, and every message reaches its one outcome afterwards."""
    processes.require_postgres_and_redis()
    redis = processes.RedisServer(tmp_path)
    require(redis.available, "redis-server (to restart a broker of the test's own)")
    build_world()
    _, key = create_api_client("ERP_LEGACY", "erp-sync")
    orders = _purchase_orders(60, quarantine_every=3)
    names = list(orders)
    queue = f"hub-test-{uuid.uuid4().hex[:12]}"
    common = {
        "DATABASE_URL": processes.database_url(),
        "CELERY_BROKER_URL": redis.url,
        "HUB_VALIDATION_QUEUE": queue,
        "HUB_HEALTHZ_BROKER_TIMEOUT": 1,
    }
    redis.start()
    started = []
    try:
        server = processes.start_server(tmp_path / "server.log", processes.free_port(), **common)
        started.append(server)
        sent = _submit(server.port, key, orders, names[:25])
        # Beat sweeps every 2 s, and re-enqueues what has waited 5 s (the lost tasks).
        worker = processes.start_worker(
            tmp_path / "worker.log",
            queue,
            beat=True,
            HUB_VALIDATION_SWEEP_INTERVAL=2,
            HUB_VALIDATION_RECEIVED_TIMEOUT=5,
            **common,
        )
        started.append(worker)

        # Mid-batch: the worker has begun, most tasks are still queued, and are lost with it.
        processes.wait_for(lambda: _final() > 0, 60, "the worker at work", started)
        redis.stop()
        assert _pending() > 0
        sent |= _submit(server.port, key, orders, names[25:40])
        status, _, health = processes.request(server.port, "GET", "/healthz")
        assert status == 503, health
        assert health["checks"]["broker"]["status"] == "down"
        assert health["checks"]["database"] == {"status": "ok"}
        redis.start()
        sent |= _submit(server.port, key, orders, names[40:])

        processes.wait_for(
            lambda: _pending() == 0, 120, "every message final after the restart", started
        )
        status, _, health = processes.request(server.port, "GET", "/healthz")
        assert status == 200, health
    finally:
        for process in started:
            processes.stop(process)
        redis.stop()

    assert len(sent) == len(orders) == InboundMessage.objects.count()
    outcomes = dict(InboundMessage.objects.values_list("idempotency_key", "status"))
    expected = {name: status for name, (_, status) in orders.items()}
    assert outcomes == expected
    # Tasks delivered twice (the sweep's and a late original) were claimed once.
    assert set(InboundMessage.objects.values_list("attempts", flat=True)) == {1}
    quarantined = set(
        InboundMessage.objects.filter(status=Status.QUARANTINED).values_list("pk", flat=True)
    )
    cases = list(QuarantineCase.objects.values_list("message_id", flat=True))
    assert sorted(cases) == sorted(quarantined)


# --- the database down under a serving hub ---------------------------------------------------


def _manage(url, *arguments, code=None):
    """manage.py on the database at `url`; returns its standard output."""
    command = [sys.executable, "manage.py", *arguments]
    if code is not None:
        command += ["-c", code]
    result = subprocess.run(
        command,
        cwd=processes.ROOT,
        env=processes.hub_env(DATABASE_URL=url, CELERY_BROKER_URL=""),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _migrated_with_a_key(cluster):
    """Create the test's cluster, migrate it and give the legacy ERP an API key: the key."""
    cluster.create()
    _manage(cluster.url, "migrate", "--noinput")
    return _manage(
        cluster.url,
        "shell",
        code=(
            "from mdm.models import SourceSystem\n"
            "from mdm.services import create_api_client\n"
            "SourceSystem.objects.create(code='ERP_LEGACY', name='Legacy ERP', kind='erp')\n"
            "print(create_api_client('ERP_LEGACY', 'erp-sync')[1])\n"
        ),
    ).split()[-1]


def _unavailable(response):
    """The promise while the database is down: 503, Retry-After, a problem document, no
    trace."""
    status, headers, body = response
    assert status == 503, (status, body)
    assert headers.get("retry-after") == "5"
    assert headers["content-type"].startswith("application/problem+json")
    assert isinstance(body, dict) and body.get("status") == 503 and body.get("detail"), body
    assert "Traceback" not in str(body) and 'File "' not in str(body)


def test_a_database_outage_answers_503_and_the_hub_recovers_by_itself(tmp_path):
    """A hub served by gunicorn on a PostgreSQL cluster of the test's own. The cluster is
    stopped: every API request gets a 503 with Retry-After and a JSON error (no stack trace,
    no 500) and /healthz names the database. The cluster is started again: the same server
    processes answer normally, with no restart."""
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    cluster = processes.PostgresCluster()
    require(cluster.available, "PostgreSQL's initdb and pg_ctl (a cluster of the test's own)")
    server = None
    try:
        key = _migrated_with_a_key(cluster)
        server = processes.start_server(
            tmp_path / "server.log",
            processes.free_port(),
            DATABASE_URL=cluster.url,
            CELERY_BROKER_URL="",  # validation runs in the request: no broker involved
            CELERY_TASK_ALWAYS_EAGER=1,
        )
        serving = processes.children(server.pid)
        auth = {"Authorization": f"Bearer {key}"}
        order = {"message_type": "purchase_order", "schema_version": 1}
        order["payload"] = example("purchase_order")

        def submit(name):
            headers = {**auth, "Idempotency-Key": name}
            return processes.request(server.port, "POST", "/api/v1/messages/", order, headers)

        assert processes.request(server.port, "GET", "/api/v1/systems/", None, auth)[0] == 200
        assert submit("before")[0] == 202

        cluster.stop("fast")  # connections are terminated, new ones refused
        _unavailable(processes.request(server.port, "GET", "/api/v1/systems/", None, auth))
        _unavailable(processes.request(server.port, "GET", "/api/v1/items/?q=x", None, auth))
        _unavailable(submit("during"))
        status, headers, health = processes.request(server.port, "GET", "/healthz")
        assert status == 503, health
        assert health["checks"]["database"]["status"] == "down"
        assert "Traceback" not in str(health)

        cluster.start()
        processes.wait_for(
            lambda: processes.request(server.port, "GET", "/healthz")[0] == 200,
            30,
            "/healthz answering 200 once the database is back",
            [server],
        )
        status, _, systems = processes.request(server.port, "GET", "/api/v1/systems/", None, auth)
        assert status == 200, systems
        status, _, body = submit("after")
        assert status == 202, body
        status, _, body = submit("during")  # sent again, as Retry-After asked
        assert status == 202, body
        # Served by the same processes: nothing was restarted.
        assert server.poll() is None
        assert processes.children(server.pid) == serving
    finally:
        if server is not None:
            processes.stop(server)
        cluster.destroy()


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_a_stalled_database_answers_503_within_the_timeouts_and_the_hub_recovers(tmp_path):
    """A hub served by gunicorn on a PostgreSQL cluster of the test's own, with the timeouts
    at their smallest. A statement held on a lock past HUB_DB_STATEMENT_TIMEOUT is a 503.
    Then every process of the cluster is stopped (SIGSTOP: the kernel still accepts
    connections, nothing answers): an API read is a 503 with Retry-After within the check
    and connect timeouts (kept connections included), /healthz a 503 within its bound. The
    cluster continues (SIGCONT): the same server processes answer normally."""
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    cluster = processes.PostgresCluster()
    require(cluster.available, "PostgreSQL's initdb and pg_ctl (a cluster of the test's own)")
    server = None
    try:
        key = _migrated_with_a_key(cluster)
        server = processes.start_server(
            tmp_path / "server.log",
            processes.free_port(),
            DATABASE_URL=cluster.url,
            CELERY_BROKER_URL="",
            HUB_DB_CONNECT_TIMEOUT=2,
            HUB_DB_CHECK_TIMEOUT=2,
            HUB_DB_STATEMENT_TIMEOUT=1,
        )
        serving = processes.children(server.pid)
        auth = {"Authorization": f"Bearer {key}"}

        def systems():
            return processes.request(server.port, "GET", "/api/v1/systems/", None, auth, 20)

        # Every server thread opens its connection and keeps it (CONN_MAX_AGE).
        for _ in range(8):
            assert systems()[0] == 200

        # A statement waiting on a lock is ended by the server after a second.
        with psycopg.connect(cluster.url) as blocker:
            blocker.execute("LOCK TABLE mdm_sourcesystem IN ACCESS EXCLUSIVE MODE")
            response, seconds = _timed(systems)
            blocker.rollback()
        _unavailable(response)
        assert seconds < 5, seconds

        cluster.freeze()
        try:
            for _ in range(3):  # kept connections, then new ones
                response, seconds = _timed(systems)
                _unavailable(response)
                assert seconds < 8, f"answered after {seconds:.1f} s"
            (status, _, health), seconds = _timed(
                lambda: processes.request(server.port, "GET", "/healthz", timeout=20)
            )
            assert status == 503, health
            assert health["checks"]["database"]["status"] == "down"
            assert seconds < 6, f"/healthz answered after {seconds:.1f} s"
        finally:
            cluster.thaw()

        processes.wait_for(
            lambda: processes.request(server.port, "GET", "/healthz")[0] == 200,
            30,
            "/healthz answering 200 once the database continues",
            [server],
        )
        for _ in range(4):
            status, _, body = systems()
            assert status == 200, body
        assert server.poll() is None
        assert processes.children(server.pid) == serving
    finally:
        if server is not None:
            processes.stop(server)
        cluster.destroy()
