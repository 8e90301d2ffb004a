"""A large reconciliation batch is answered by forked worker processes (mdm.forked) on
PostgreSQL: the same answer, in the same order, as one process gives; no worker outlives
the request. Committed data (a transactional test database), which the workers' own
connections can see."""

import json
from urllib.parse import urlencode

import pytest
from django.db import connection

from mdm import forked
from mdm.models import Supplier
from reconcile import services
from tests.mdm.test_forked import assert_reaped, forks
from tests.services import require

pytestmark = pytest.mark.django_db(transaction=True)

NAMES = [
    "Acme Plastics",
    "acme plastic gmbh",
    "Nordwind Castings",
    "nordwind castngs",
    "Zzyzx Unheard Of",
    "Shady Sons",
    "ACME",
    "Bolt",
    "Hex bolt M8",
    "Main Plant Bremen",
    "Hamburg",
    "",
]


def batch():
    queries = {f"q{n}": {"query": name} for n, name in enumerate(NAMES * 3)}
    queries["q2"] = {
        "query": "Acme",
        "type": "Supplier",
        "properties": [{"pid": "country", "v": "FR"}],
    }
    queries["q5"] = {
        "query": "",
        "type": "Supplier",
        "properties": [{"pid": "duns", "v": "123456789"}],
    }
    return queries


def test_workers_answer_a_large_batch_as_one_process_does(
    world, key, client, settings, monkeypatch
):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    settings.HUB_RECONCILE_PROCESSES = 0
    alone = services.reconcile_batch(batch())
    assert alone["q5"]["result"][0]["id"] == world["acme_de"].public_id

    pids = forks(monkeypatch)
    settings.HUB_RECONCILE_PROCESSES = 2
    settings.HUB_RECONCILE_PARALLEL_QUERIES = 10
    monkeypatch.setattr(services, "QUERIES_PER_TASK", 4)  # several tasks per worker
    body = urlencode({"queries": json.dumps(batch())})
    response = client.post(
        f"/reconcile/{key[1]}/", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert response.json() == alone
    assert list(response.json()) == list(batch())
    assert len(pids) == 2
    assert_reaped(pids)


def test_a_failing_worker_fails_the_batch_and_leaves_no_process(world, settings, monkeypatch):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    pids = forks(monkeypatch)
    settings.HUB_RECONCILE_PROCESSES = 2
    settings.HUB_RECONCILE_PARALLEL_QUERIES = 10

    def broken(*args):
        raise RuntimeError("matcher broke")

    monkeypatch.setattr(services, "_candidates", broken)
    with pytest.raises(forked.ChildFailed, match="matcher broke"):
        services.reconcile_batch(batch())
    assert len(pids) == 2
    assert_reaped(pids)


def test_a_small_batch_stays_in_the_request(world, settings, monkeypatch):
    pids = forks(monkeypatch)
    settings.HUB_RECONCILE_PROCESSES = 2
    answer = services.reconcile_batch({"q0": {"query": "Nordwind Castings"}})
    assert answer["q0"]["result"][0]["id"] == world["nordwind"].public_id
    assert pids == []
    assert Supplier.objects.count() == 4
