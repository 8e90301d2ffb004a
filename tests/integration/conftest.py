"""Fixtures of the integration tests: a real Celery worker (prefork, two processes) on the
test database and the environment's Redis, on a queue of its own so that nothing else on the
broker reaches it. Helpers for other processes are in tests/integration/processes.py."""

import uuid

import pytest
from django.core.servers import basehttp

from hub.celery import app as celery_app
from tests.integration import processes

# The live server (one, for the whole session) listens with socketserver's backlog of 5: fifty
# connections opened at one moment overflow it and the kernel resets some of them, which a
# load balancer in front of a real deployment never does. Give it a real server's backlog.
basehttp.WSGIServer.request_queue_size = 128


@pytest.fixture
def broker_queue(settings):
    """A queue of the test's own on the real broker: tasks this process enqueues go there
    (not run eagerly), for a worker started on it."""
    processes.require_postgres_and_redis()
    queue = f"hub-test-{uuid.uuid4().hex[:12]}"
    settings.VALIDATION_QUEUE = queue
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield queue
    celery_app.conf.task_always_eager = eager


@pytest.fixture
def worker(tmp_path, broker_queue):
    """A worker on the test database and the environment's broker, consuming broker_queue."""
    process = processes.start_worker(
        tmp_path / "worker.log", broker_queue, DATABASE_URL=processes.database_url()
    )
    process.queue = broker_queue
    try:
        yield process
    finally:
        processes.stop(process)
