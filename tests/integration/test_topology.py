"""The production topology on one machine: a web server and two Celery worker pools, one per
queue (validation, import), against one PostgreSQL and one Redis. A message and an import
sent through the API are each done by the pool of their own queue, and both finish.

The web server and the workers run as subprocesses on the test database (pytest-django's
test_<name>), each pool started as the README says (`celery worker -Q <queue>`), with the
queues named by HUB_VALIDATION_QUEUE and HUB_IMPORT_QUEUE; queues of the test's own, so that
nothing else on the broker reaches them. Which pool ran a task is read from its log, where
Celery names every task it receives.
"""

import http.client
import json
import os
import sys
import uuid

import pytest
import redis

from mdm.services import create_api_client
from tests.integration import processes
from tests.validation.world import build_world, submission

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 120
ITEMS = "number,description,base_unit,item_type\nT-100,Hex bolt M8,H87,component\n"
ITEMS += "T-101,Hex nut M8,H87,component\n"
FINAL_MESSAGE = {"released", "quarantined", "rejected", "dead_letter"}


def start_pool(log, queue, env):
    """One worker pool as a deployment runs it: `celery -A hub worker -Q <queue>`."""
    command = [
        *(sys.executable, "-m", "celery", "-A", "hub", "worker"),
        *("-Q", queue, "-n", f"{queue}@%h", "--pool=prefork", "--concurrency=1"),
        *("--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    process = processes.spawn(command, log, processes.hub_env(**env))
    processes.wait_for(
        lambda: b"ready." in process.log.read_bytes(), 60, f"the {queue} pool ready", [process]
    )
    return process


def multipart(fields, file_name, content):
    """A multipart/form-data body (as a browser or `curl -F` sends it): (body, content type)."""
    boundary = uuid.uuid4().hex
    chunks = []
    for name, value in fields.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        )
    chunks.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{file_name}"\r\nContent-Type: text/csv\r\n\r\n{content}\r\n--{boundary}--\r\n'
    )
    return "".join(chunks).encode(), f"multipart/form-data; boundary={boundary}"


def upload(port, key, text):
    body, content_type = multipart({"kind": "items", "mode": "apply"}, "items.csv", text)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": content_type}
        connection.request("POST", "/api/v1/imports/", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def received(pool):
    """The names of the tasks a pool received, from its log."""
    names = set()
    for line in pool.log.read_text(errors="replace").splitlines():
        if "] received" in line and "Task " in line:
            names.add(line.split("Task ", 1)[1].split("[", 1)[0])
    return names


def test_each_queue_is_worked_by_its_own_pool(tmp_path):
    processes.require_postgres_and_redis()
    build_world()
    _, erp_key = create_api_client("ERP_LEGACY", "erp-sync")
    _, steward_key = create_api_client("ERP_LEGACY", "erp-steward", role="steward")
    tag = uuid.uuid4().hex[:8]
    queues = {"validation": f"hub-test-validation-{tag}", "import": f"hub-test-import-{tag}"}
    env = {
        "DATABASE_URL": processes.database_url(),
        "HUB_VALIDATION_QUEUE": queues["validation"],
        "HUB_IMPORT_QUEUE": queues["import"],
        "HUB_MEDIA_DIR": tmp_path / "media",  # shared by the web server and the pools
    }
    started = []
    try:
        for name, queue in queues.items():
            started.append(start_pool(tmp_path / f"{name}-pool.log", queue, env))
        validation_pool, import_pool = started
        server = processes.start_server(tmp_path / "web.log", processes.free_port(), **env)
        started.append(server)

        status, _, message = processes.request(
            server.port,
            "POST",
            "/api/v1/messages/",
            submission("inventory_balance"),
            headers={"Authorization": f"Bearer {erp_key}", "Idempotency-Key": f"topo-{tag}"},
        )
        assert status == 202, message
        status, run = upload(server.port, steward_key, ITEMS)
        assert status == 202, run

        def state(path, key):
            headers = {"Authorization": f"Bearer {key}"}
            return processes.request(server.port, "GET", path, headers=headers)[2]["status"]

        processes.wait_for(
            lambda: state(f"/api/v1/messages/{message['id']}/", erp_key) in FINAL_MESSAGE,
            WAIT_SECONDS,
            "the message validated",
            started,
        )
        processes.wait_for(
            lambda: state(f"/api/v1/imports/{run['id']}/", steward_key) == "applied",
            WAIT_SECONDS,
            "the import applied",
            started,
        )
        # The new records are made findable by match by a task of their own, after the apply.
        processes.wait_for(
            lambda: "imports.tasks.refresh_match_index" in received(import_pool),
            WAIT_SECONDS,
            "the match index refreshed",
            started,
        )
        by_validation, by_import = received(validation_pool), received(import_pool)
        logs = f"\n{processes.tail(validation_pool)}\n{processes.tail(import_pool)}"
        assert "validation.tasks.validate_message" in by_validation, logs
        assert {name.split(".")[0] for name in by_validation} == {"validation"}, logs
        assert "imports.tasks.process_import" in by_import, logs
        assert {name.split(".")[0] for name in by_import} == {"imports"}, logs
    finally:
        for process in started:
            processes.stop(process)
        broker = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
        broker.delete(*queues.values())
