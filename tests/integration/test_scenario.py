"""The seed scenario end to end, through the API, validated by a real Celery worker on Redis
and PostgreSQL: planning releases a revised 12-week forecast for a critical component after a
demand spike (the hub checks the version, leaves the unchanged weeks out and maps the
product-location to the ERP's material and plant codes); the ERP sends purchase order changes
for three suppliers; two acknowledge the new dates, the third delays 30 % of the volume by two
weeks: the acknowledgement is released and planners get a supply exception with the quantity
at risk. An older forecast version sent again is refused as stale."""

import datetime
import time

import pytest

from mdm.models import CodeList, CodeValue, Supplier
from tests.integration.processes import tail
from tests.validation.world import build_world, example, integration_client, submission
from validation.models import PlanPolicy
from xref.services import register_reference

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 60
FINAL = {"released", "quarantined", "rejected", "dead_letter"}
NEED_BY = datetime.date(2026, 3, 18)  # pulled in from 2026-03-20 by the change
WEEKS = [(datetime.date(2026, 3, 2) + datetime.timedelta(weeks=n)).isoformat() for n in range(12)]


@pytest.fixture
def scenario_world(db):
    world = build_world()
    world.suppliers = [world.supplier]
    for n in (5, 6):
        supplier = Supplier.objects.create(number=f"S-10023{n}", name=f"Alt {n}", country="DE")
        register_reference(kind="supplier", system="ERP_LEGACY", code=f"10023{n}", target=supplier)
        register_reference(
            kind="supplier", system="SUPPLIER_NET", code=f"SUP-NET-004{n}", target=supplier
        )
        world.suppliers.append(supplier)
    backordered = CodeValue.objects.create(
        code_list=CodeList.objects.get(code="ACK_LINE_STATUS"), code="backordered", meaning="B"
    )
    for system, code in (("SUPPLIER_NET", "IB"), ("ERP_LEGACY", "03")):
        register_reference(kind="code_value", system=system, code=code, target=backordered)
    PlanPolicy.objects.create(
        system=world.systems["PLANNING"],
        plan_id="CRIT-12W",
        horizon_weeks=12,
        frozen_fence_days=14,
        change_threshold_percent=5,
        change_threshold_quantity=20,
    )
    return world


def _send(worker, api, message_type, payload, key):
    response = api.post(
        "/api/v1/messages/",
        submission(message_type, payload),
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert response.status_code == 202, response.json()
    url = response.json()["url"]
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            pytest.fail(f"The worker exited ({worker.returncode}):\n{tail(worker)}")
        body = api.get(url).json()
        if body["status"] in FINAL:
            return body
        time.sleep(0.2)
    pytest.fail(f"{key} did not reach a final state in {WAIT_SECONDS} s\n{tail(worker)}")


def _forecast(version, quantities):
    payload = example("forecast", plan_id="CRIT-12W", version=version)
    payload["horizon"] = {"start": WEEKS[0], "end": "2026-05-24"}
    payload["lines"] = [
        {
            "item": "PLN-BRG-6204",
            "location": "PLANT-HH",
            "period_start": week,
            "quantity": quantity,
            "unit": "EA",
        }
        for week, quantity in zip(WEEKS, quantities, strict=True)
    ]
    return payload


def _order(n, sequence, quantity, need_by):
    payload = example(
        "purchase_order",
        po_number=f"450003000{n}",
        change_sequence=sequence,
        supplier=f"10023{4 + n}",
    )
    if n:
        del payload["supplier_site"]  # the site code is the first supplier's
    payload["lines"][0].update(quantity=str(quantity), need_by=need_by.isoformat())
    return payload


def _ack(n, *lines):
    payload = example("po_acknowledgement", po_number=f"450003000{n}")
    payload["supplier"] = ("SUP-NET-0042", "SUP-NET-0045", "SUP-NET-0046")[n]
    base = payload["lines"][0]
    payload["lines"] = [
        {**base, "status": status, "committed_quantity": quantity, "committed_date": day}
        for status, quantity, day in lines
    ]
    return payload


def test_the_seed_scenario_end_to_end(worker, scenario_world):
    planning = integration_client("PLANNING", "planning-sync")
    erp = integration_client("ERP_LEGACY", "erp-sync")
    network = integration_client("SUPPLIER_NET", "network-sync")

    baseline = _send(worker, planning, "forecast", _forecast(1, [1000] * 12), "fc-1")
    assert baseline["status"] == "released"
    spike = [1000, 1000] + [1600] * 10  # the frozen weeks as they were, the rest up 60 %
    revised = _send(worker, planning, "forecast", _forecast(2, spike), "fc-2")
    assert revised["status"] == "released", revised["diagnostics"]
    released = revised["released_payload"]
    assert [line["period_start"] for line in released["lines"]] == WEEKS[2:]
    assert released["hub"]["selective_sync"]["lines_filtered"] == 2
    line_hub = released["lines"][0]["hub"]
    assert line_hub["item"]["codes"]["ERP_LEGACY"] == "BRG-6204-2RS"  # material in plant 1000
    assert line_hub["location"]["codes"]["ERP_LEGACY"] == "1000"

    for n in range(3):
        original = _send(
            worker, erp, "purchase_order", _order(n, 0, 1000, datetime.date(2026, 3, 20)), f"po-{n}"
        )
        assert original["status"] == "released", original["diagnostics"]
        change = _send(worker, erp, "purchase_order", _order(n, 1, 1500, NEED_BY), f"po-{n}-1")
        assert change["status"] == "released", change["diagnostics"]

    on_time = ("IA", 1500, NEED_BY.isoformat())
    for n in range(2):
        ack = _send(worker, network, "po_acknowledgement", _ack(n, on_time), f"ack-{n}")
        assert (ack["status"], ack["diagnostics"]) == ("released", [])
    late = (NEED_BY + datetime.timedelta(days=14)).isoformat()
    constrained = _ack(2, ("IA", 1050, NEED_BY.isoformat()), ("IB", 450, late))
    ack = _send(worker, network, "po_acknowledgement", constrained, "ack-2")
    assert ack["status"] == "released"
    assert [d["rule"] for d in ack["diagnostics"]] == ["SUPPLY_AT_RISK"]
    assert ack["released_payload"]["lines"][1]["hub"]["status"]["id"] == (
        "ACK_LINE_STATUS:backordered"
    )

    [exception] = planning.get("/api/v1/supply-exceptions/").json()["results"]
    assert exception["supplier"] == scenario_world.suppliers[2].public_id
    assert (exception["po_number"], exception["po_line"]) == ("4500030002", 10)
    assert exception["item"] == scenario_world.bearing.public_id
    assert exception["plant"] == scenario_world.plant.public_id
    assert (exception["quantity_at_risk"], exception["days_late"]) == ("450.000000", 14)

    stale = _send(worker, planning, "forecast", _forecast(1, [1000] * 12), "fc-1-again")
    assert stale["status"] == "quarantined"
    assert [d["rule"] for d in stale["diagnostics"]] == ["STALE_FORECAST_VERSION"]
