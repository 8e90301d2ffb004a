"""The planners' supply exceptions: the screen and GET /api/v1/supply-exceptions/ show what a
late or short acknowledgement put at risk, with its item, plant, order line and quantity."""

from unittest import mock

import pytest
from django.test import Client

from mdm.models import CodeList, CodeValue
from tests.validation.world import OPEN_PO, build_world, example
from validation import services
from validation.models import InboundMessage, SupplyException
from xref.services import register_reference

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def late_ack(world):
    """The supplier confirms 350 of the 500 on time and backorders 150 by two weeks."""
    code_list = CodeList.objects.get(code="ACK_LINE_STATUS")
    backordered = CodeValue.objects.create(code_list=code_list, code="backordered", meaning="B")
    for system, code in (("SUPPLIER_NET", "IB"), ("ERP_LEGACY", "03")):
        register_reference(
            kind="code_value",
            system=world.systems[system],
            code=code,
            target=backordered,
            is_preferred=True,
        )
    payload = example("po_acknowledgement")
    line = payload["lines"][0]
    payload["lines"] = [
        {**line, "committed_quantity": 350, "committed_date": "2026-03-20"},
        {**line, "status": "IB", "committed_quantity": 150, "committed_date": "2026-04-03"},
    ]
    with mock.patch.object(services, "enqueue_validation"):
        message = services.submit_message(
            system=world.systems["SUPPLIER_NET"],
            message_type="po_acknowledgement",
            schema_version=1,
            payload=payload,
            idempotency_key="late-ack",
        ).message
    services.validate_message(message.pk)
    message.refresh_from_db()
    assert message.status == "released"
    return message


def _logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("who", ["steward", "viewer"])
def test_planners_see_the_quantity_at_risk_on_the_screen(request, who, world, late_ack):
    client = _logged_in(request.getfixturevalue(who))

    response = client.get("/quarantine/supply-exceptions/")

    assert response.status_code == 200
    page = response.content.decode()
    exception = SupplyException.objects.get()
    assert f'data-exception="{exception.pk}"' in page
    assert f"{OPEN_PO}/10" in page
    assert "<strong>150 H87</strong>" in page  # the quantity at risk
    assert world.bearing.public_id in page and "HH01" in page
    assert late_ack.public_id in page
    assert 'href="/quarantine/supply-exceptions/"' in page  # in the navigation


def test_closed_exceptions_are_shown_only_when_asked_for(steward, world, late_ack):
    SupplyException.objects.update(state="closed")
    client = _logged_in(steward)

    assert "No supply exceptions." in client.get("/quarantine/supply-exceptions/").content.decode()
    every = client.get("/quarantine/supply-exceptions/?state=all").content.decode()
    assert f"{OPEN_PO}/10" in every


def test_the_api_lists_supply_exceptions_with_their_figures(erp_api, world, late_ack):
    response = erp_api.get("/api/v1/supply-exceptions/")

    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["item"] == world.bearing.public_id
    assert row["plant"] == world.plant.public_id
    assert (row["po_number"], row["po_line"]) == (OPEN_PO, 10)
    assert row["supplier"] == world.supplier.public_id
    assert row["status"] == "backordered"
    assert (row["ordered_quantity"], row["quantity_at_risk"], row["unit"]) == (
        "500.000000",
        "150.000000",
        "H87",
    )
    assert (row["need_by"], row["committed_date"], row["days_late"]) == (
        "2026-03-20",
        "2026-04-03",
        14,
    )
    assert row["acknowledgement"] == late_ack.public_id
    assert (
        erp_api.get(f"/api/v1/supply-exceptions/?supplier={row['supplier']}").json()["count"] == 1
    )
    assert erp_api.get("/api/v1/supply-exceptions/?state=closed").json()["count"] == 0


def test_no_exception_without_an_acknowledgement_at_risk(erp_api, world):
    with mock.patch.object(services, "enqueue_validation"):
        message = services.submit_message(
            system=world.systems["SUPPLIER_NET"],
            message_type="po_acknowledgement",
            schema_version=1,
            payload=example("po_acknowledgement"),
            idempotency_key="on-time",
        ).message
    services.validate_message(message.pk)

    assert InboundMessage.objects.get(pk=message.pk).status == "released"
    assert erp_api.get("/api/v1/supply-exceptions/").json()["results"] == []
