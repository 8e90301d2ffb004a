"""Validation by a real Celery worker (prefork, two processes) on Redis and PostgreSQL: every
message submitted through the API reaches exactly one final state, once, and every
quarantined message has exactly one case.

The worker runs as a subprocess on the test database (pytest-django's test_<name>), on a
queue of its own, so that nothing else on the broker reaches it. It is stopped at the end
whatever happens.
"""

import datetime
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from unittest import mock
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone

from hub.celery import app as celery_app
from quarantine.models import QuarantineCase
from tests.services import require
from tests.validation.world import (
    EXAMPLES,
    example,
    forecast_part,
    integration_client,
    submission,
)
from validation import services, tasks
from validation.models import InboundMessage

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
FINAL = set(InboundMessage.FINAL_STATUSES)
WAIT_SECONDS = 120


def _test_database_url():
    """DATABASE_URL of the database this test runs on (pytest-django's test_<name>)."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{quote(db['NAME'], safe='')}"


@pytest.fixture
def worker(tmp_path, settings):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    require(os.getenv("CELERY_BROKER_URL", "").startswith("redis://"), "Redis (CELERY_BROKER_URL)")
    queue = f"hub-test-{uuid.uuid4().hex[:12]}"
    settings.VALIDATION_QUEUE = queue
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "HUB_VALIDATION_QUEUE": queue,
        "HUB_LOG_FORMAT": "text",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    command = [
        *(sys.executable, "-m", "celery", "-A", "hub", "worker"),
        *("-Q", queue, "-n", f"{queue}@%h", "--pool=prefork", "-c", "2"),
        *("--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with its children
        )
    process.log = log
    process.queue = queue
    try:
        yield process
    finally:
        celery_app.conf.task_always_eager = eager
        _stop(process)


@pytest.fixture
def planning_api(planning_system):
    return integration_client("PLANNING", "planning-sync")


def _stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _tail(process, lines=60):
    text = process.log.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def _wait_until_final(process, expected):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"The worker exited ({process.returncode}):\n{_tail(process)}")
        pending = InboundMessage.objects.exclude(status__in=FINAL).count()
        total = InboundMessage.objects.count()
        if total == expected and pending == 0:
            return
        time.sleep(0.25)
    states = dict(InboundMessage.objects.values_list("public_id", "status"))
    pytest.fail(
        f"Not every message reached a final state in {WAIT_SECONDS} s: {states}\n{_tail(process)}"
    )


def test_every_message_reaches_exactly_one_final_state(worker, erp_api, planning_api):
    sent = {}  # public id -> expected final statuses
    good = {"released", "quarantined"}

    # 42 single messages, seven of each type, each sent twice with its key.
    for round_ in range(7):
        for message_type in EXAMPLES:
            key = f"{message_type}-{round_}"
            body = submission(message_type, example(message_type))
            api = planning_api if message_type == "forecast" else erp_api
            first = api.post("/api/v1/messages/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
            assert first.status_code == 202, first.json()
            again = api.post("/api/v1/messages/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
            assert again.status_code == 200
            assert again.json()["id"] == first.json()["id"]
            sent[first.json()["id"]] = good

    # A forecast release in three parts, sent out of order.
    for number in (3, 1, 2):
        response = planning_api.post(
            "/api/v1/messages/",
            submission("forecast", forecast_part(number, 3, lines=50, plan_id="BIG")),
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"big-{number}",
        )
        assert response.status_code == 202, response.json()
        sent[response.json()["id"]] = good

    # One that breaks its contract, and one whose enqueue was lost (the sweep finds it).
    bad = erp_api.post(
        "/api/v1/messages/",
        submission("receipt", {"receipt_id": "GR-1"}),
        format="json",
        HTTP_IDEMPOTENCY_KEY="bad",
    )
    assert bad.status_code == 400
    sent[bad.json()["id"]] = {"rejected"}
    with mock.patch.object(services, "enqueue_validation"):
        lost = erp_api.post(
            "/api/v1/messages/",
            submission("inventory_balance"),
            format="json",
            HTTP_IDEMPOTENCY_KEY="lost",
        )
    sent[lost.json()["id"]] = good
    InboundMessage.objects.filter(public_id=lost.json()["id"]).update(
        enqueued_at=timezone.now() - datetime.timedelta(days=1)
    )

    # Every task delivered a second time, as a broker does after a lost acknowledgement; the
    # lost one only by the sweep.
    redelivered = InboundMessage.objects.filter(status="received").exclude(
        public_id=lost.json()["id"]
    )
    for pk in redelivered.values_list("pk", flat=True):
        tasks.validate_message.apply_async((pk,), queue=worker.queue)
    tasks.sweep_stuck_messages.apply_async(queue=worker.queue)

    assert len(sent) == 47
    _wait_until_final(worker, expected=len(sent))

    messages = {m.public_id: m for m in InboundMessage.objects.all()}
    wrong = {
        public_id: (messages[public_id].status, messages[public_id].last_error)
        for public_id, allowed in sent.items()
        if messages[public_id].status not in allowed
    }
    assert not wrong, f"unexpected outcomes: {wrong}\n{_tail(worker)}"
    validated = [m for m in messages.values() if m.status != "rejected"]
    assert all(m.attempts == 1 for m in validated), "each message was claimed exactly once"
    assert all(m.finished_at and m.claimed_at <= m.finished_at for m in validated)
    parts = [m for m in messages.values() if m.group_key]
    assert len(parts) == 3
    assert len({m.status for m in parts}) == 1, "the parts of a release share their outcome"

    # Exactly one case per quarantined message (for the release: one, on part 1).
    quarantined = {
        m.pk for m in messages.values() if m.status == "quarantined" and m.part_number in (None, 1)
    }
    cases = list(QuarantineCase.objects.values_list("message_id", flat=True))
    assert len(cases) == len(set(cases))
    assert set(cases) == quarantined
