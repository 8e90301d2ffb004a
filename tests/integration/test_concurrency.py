"""Races over HTTP, as callers behind a load balancer make them: many requests at the same
moment against a threaded live server on PostgreSQL, each request in its own thread and
database connection. (The service-level races are in tests/validation/test_submission_api.py,
tests/xref/test_registry.py and tests/quarantine/test_review.py.)"""

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.db import connection

from imports import applying as import_applying
from imports import runs as import_runs
from imports.models import ImportRun
from mdm.models import Item, Unit
from mdm.services import create_api_client
from quarantine.models import CaseTransition, QuarantineCase
from tests.imports.conftest import csv_file
from tests.quarantine.test_cases import quarantine
from tests.services import require
from tests.validation.world import build_world, example
from validation.models import InboundMessage
from xref.models import CrossReference

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_and_eager(eager_celery):
    """Validation runs inside the request that stores a message (no broker involved)."""
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")


def _all_at_once(live_server, requests):
    """Send every (method, path, body, headers) at the same moment, each on a connection of
    its own opened beforehand; returns [(status, body)] in the same order."""
    address = urlsplit(live_server.url)
    start = threading.Barrier(len(requests), timeout=30)

    def send(request):
        method, path, body, headers = request
        conn = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        try:
            conn.connect()
            start.wait()
            conn.request(
                method,
                path,
                body=json.dumps(body),
                headers={"Content-Type": "application/json", **headers},
            )
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def _bearer(key):
    return {"Authorization": f"Bearer {key}"}


def test_fifty_parallel_submissions_with_one_key_make_one_message(live_server, erp_system):
    _, key = create_api_client("ERP_LEGACY", "erp-sync")
    body = {
        "message_type": "purchase_order",
        "schema_version": 1,
        "payload": example("purchase_order"),
    }
    headers = {**_bearer(key), "Idempotency-Key": "po-4500012345"}

    answers = _all_at_once(live_server, [("POST", "/api/v1/messages/", body, headers)] * 50)

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * 49 + [202], answers[:3]
    message = InboundMessage.objects.get()
    assert {answer["id"] for _, answer in answers} == {message.public_id}
    message.refresh_from_db()
    assert message.attempts == 1  # validated once
    assert QuarantineCase.objects.filter(message=message).count() == (
        1 if message.status == "quarantined" else 0
    )


def test_twenty_parallel_registrations_of_one_reference_store_it_once(live_server):
    world = build_world()
    _, key = create_api_client("ERP_CLOUD", "cloud-steward", role="steward")
    before = CrossReference.objects.count()
    body = {
        "kind": "item",
        "system": "ERP_CLOUD",
        "code": "MAT-6204-NEW",
        "target": world.bearing.public_id,
    }

    answers = _all_at_once(live_server, [("POST", "/api/v1/xrefs/", body, _bearer(key))] * 20)

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * 19 + [201], answers[:3]
    assert len({answer["id"] for _, answer in answers}) == 1
    assert CrossReference.objects.count() == before + 1
    assert CrossReference.objects.filter(system__code="ERP_CLOUD", code="MAT-6204-NEW").count() == 1


def test_two_stewards_acting_on_one_case_get_one_success_and_one_conflict(live_server, erp_system):
    quarantine(erp_system)
    case = QuarantineCase.objects.get()
    _, anna = create_api_client("ERP_LEGACY", "anna-steward", role="steward")
    _, ben = create_api_client("ERP_LEGACY", "ben-steward", role="steward")
    path = f"/api/v1/quarantine/cases/{case.pk}/reject/"

    answers = _all_at_once(
        live_server,
        [
            ("POST", path, {"reason": "Duplicate of PO 4500012344"}, _bearer(anna)),
            ("POST", path, {"reason": "Sent to the wrong plant"}, _bearer(ben)),
        ],
    )

    assert sorted(status for status, _ in answers) == [200, 409], answers
    conflict = next(body for status, body in answers if status == 409)
    assert conflict["detail"].startswith(f"Case {case.pk} was already rejected by api:")
    case.refresh_from_db()
    assert case.status == "rejected"
    assert CaseTransition.objects.filter(case=case).count() == 2  # opened, and one rejection


def _planned_import(settings, tmp_path):
    """A planned import of two items (the units they name stored), its file under tmp_path."""
    settings.MEDIA_ROOT = tmp_path / "media"
    Unit.objects.create(code="H87", name="piece", mapping_class="count")
    text = "number,description,base_unit,item_type\n100,Bolt,H87,component\n101,Nut,H87,component\n"
    run = import_runs.start_run("items", csv_file(text))
    return import_runs.process_run(run.pk)


def test_two_applies_of_one_import_at_once_apply_it_once(
    live_server, erp_system, settings, tmp_path
):
    run = _planned_import(settings, tmp_path)
    _, key = create_api_client("ERP_LEGACY", "erp-steward", role="steward")
    path = f"/api/v1/imports/{run.pk}/apply/"

    answers = _all_at_once(live_server, [("POST", path, {}, _bearer(key))] * 2)

    # Tasks run in the request here: the one that queued the apply answers once it is done.
    assert sorted(status for status, _ in answers) == [200, 409], answers
    conflict = next(body for status, body in answers if status == 409)
    # Being applied, or applied already by the time it looked: never applied twice.
    assert conflict["detail"].startswith(
        (f"Import #{run.pk} is already being applied", f"Import #{run.pk} is applied;")
    ), conflict
    run.refresh_from_db()
    assert run.status == ImportRun.Status.APPLIED
    assert Item.history.count() == 2


def test_two_reverts_of_one_import_at_once_revert_it_once(
    live_server, erp_system, settings, tmp_path
):
    """The review's reproduction: both reverts ran, and the history doubled."""
    run = _planned_import(settings, tmp_path)
    import_applying.apply_run(run)
    _, key = create_api_client("ERP_LEGACY", "erp-steward", role="steward")
    path = f"/api/v1/imports/{run.pk}/revert/"

    answers = _all_at_once(live_server, [("POST", path, {}, _bearer(key))] * 2)

    assert sorted(status for status, _ in answers) == [200, 409], answers
    conflict = next(body for status, body in answers if status == 409)
    assert "only an applied import can be reverted" in conflict["detail"]
    assert not Item.objects.exists()
    assert Item.history.filter(history_type="-").count() == 2  # one deletion per record
