"""The planners' supply exceptions: the screen and GET /api/v1/supply-exceptions/ show what a
late or short acknowledgement put at risk, with its item, plant, order line and quantity."""

import html
from unittest import mock

import pytest
from django.test import Client

from mdm.models import CodeList, CodeValue
from quarantine.models import SupplyExceptionNote
from tests.validation.world import OPEN_PO, example
from validation import enqueue, validate
from validation.models import InboundMessage, SupplyException
from validation.submission import submit_message
from xref.services import register_reference

pytestmark = pytest.mark.django_db


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
    with mock.patch.object(enqueue, "enqueue_validation"):
        message = submit_message(
            system=world.systems["SUPPLIER_NET"],
            message_type="po_acknowledgement",
            schema_version=1,
            payload=payload,
            idempotency_key="late-ack",
        ).message
    validate.validate_message(message.pk)
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
    assert "<strong>150 piece</strong> (H87)" in page  # the quantity at risk
    assert world.bearing.public_id in page and "HH01" in page
    assert late_ack.public_id in page
    assert 'href="/quarantine/supply-exceptions/"' in page  # in the navigation


def test_closed_exceptions_are_shown_only_when_asked_for(steward, world, late_ack):
    SupplyException.objects.update(state="closed")
    client = _logged_in(steward)

    page = client.get("/quarantine/supply-exceptions/").content.decode()
    assert "No open supply exceptions." in page
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
    with mock.patch.object(enqueue, "enqueue_validation"):
        message = submit_message(
            system=world.systems["SUPPLIER_NET"],
            message_type="po_acknowledgement",
            schema_version=1,
            payload=example("po_acknowledgement"),
            idempotency_key="on-time",
        ).message
    validate.validate_message(message.pk)

    assert InboundMessage.objects.get(pk=message.pk).status == "released"
    assert erp_api.get("/api/v1/supply-exceptions/").json()["results"] == []


# --- links, acknowledge and close -----------------------------------------------------------


def test_each_exception_links_to_its_order_item_supplier_plant_and_message(
    steward, world, late_ack
):
    page = _logged_in(steward).get("/quarantine/supply-exceptions/").content.decode()

    exception = SupplyException.objects.get()
    assert f'href="/admin/mdm/item/{world.bearing.pk}/change/"' in page
    assert f"{world.bearing.public_id} {world.bearing.description}" in page
    assert f'href="/admin/mdm/supplier/{world.supplier.pk}/change/"' in page
    assert f"{world.supplier.public_id} {world.supplier.name}" in page
    assert f'href="/admin/mdm/location/{exception.plant.pk}/change/"' in page
    assert f"{exception.plant.public_id} {exception.plant.name}" in page
    assert f'href="/admin/validation/inboundmessage/{late_ack.pk}/change/"' in page
    # The open order was loaded at go-live: no message of its own to link to.
    assert f"PO {OPEN_PO}/10" in page and "loaded at go-live" in page


def _act(client, exception, action, note="", state="open"):
    return client.post(
        f"/quarantine/supply-exceptions/{exception.pk}/{action}/",
        {"note": note, "state": state, "page": 1},
    )


def _shown(client, state):
    return client.get(f"/quarantine/supply-exceptions/?state={state}").content.decode()


def test_a_steward_acknowledges_then_closes_with_notes_kept_as_history(steward, world, late_ack):
    client = _logged_in(steward)
    exception = SupplyException.objects.get()

    response = _act(client, exception, "acknowledge", "Asked Frontier for the 150.")
    assert response.status_code == 302
    assert f'data-exception="{exception.pk}"' not in _shown(client, "open")
    acknowledged = _shown(client, "acknowledged")
    assert f'data-exception="{exception.pk}"' in acknowledged
    assert "Asked Frontier for the 150." in acknowledged

    assert _act(client, exception, "close", "Shifted 150 to the second source.").status_code == 302
    exception.refresh_from_db()
    assert exception.state == SupplyException.State.CLOSED
    assert f'data-exception="{exception.pk}"' not in _shown(client, "acknowledged")
    closed = _shown(client, "closed")
    assert "Shifted 150 to the second source." in closed
    history = [(n.action, n.by, n.note) for n in SupplyExceptionNote.objects.all()]
    assert history == [
        ("acknowledge", steward, "Asked Frontier for the 150."),
        ("close", steward, "Shifted 150 to the second source."),
    ]
    assert all(n.at is not None for n in SupplyExceptionNote.objects.all())


def test_closing_needs_a_note_and_a_second_close_is_a_conflict(steward, world, late_ack):
    client = _logged_in(steward)
    exception = SupplyException.objects.get()

    refused = _act(client, exception, "close", "   ")
    assert refused.status_code == 400
    assert "Say how the exception was settled to close it." in refused.content.decode()
    assert SupplyException.objects.get().state == "open"

    _act(client, exception, "close", "Re-planned.")
    again = _act(client, exception, "close", "Typed by a second steward.", state="all")
    assert again.status_code == 409
    page = html.unescape(again.content.decode())
    assert f"Supply exception {exception.pk} was already closed by {steward.username}" in page
    assert "Typed by a second steward." in page  # kept on the page, not lost
    assert SupplyExceptionNote.objects.count() == 1


def test_a_viewer_can_look_but_not_acknowledge_or_close(viewer, world, late_ack):
    client = _logged_in(viewer)
    exception = SupplyException.objects.get()

    assert "Acknowledge or close" not in _shown(client, "open")
    assert _act(client, exception, "acknowledge", "x").status_code == 403
    assert _act(client, exception, "close", "x").status_code == 403
    assert not SupplyExceptionNote.objects.exists()
    assert SupplyException.objects.get().state == "open"


def test_the_api_acknowledges_and_closes_with_a_note(steward_api, world, late_ack):
    exception = SupplyException.objects.get()
    url = f"/api/v1/supply-exceptions/{exception.pk}"

    acknowledged = steward_api.post(f"{url}/acknowledge/", {"note": "On it."}, format="json")
    assert acknowledged.status_code == 200
    assert acknowledged.json()["state"] == "acknowledged"
    assert steward_api.post(f"{url}/acknowledge/", {}, format="json").status_code == 409

    assert steward_api.post(f"{url}/close/", {}, format="json").status_code == 400
    closed = steward_api.post(f"{url}/close/", {"note": "Settled."}, format="json").json()
    assert closed["state"] == "closed"
    assert [(n["action"], n["note"]) for n in closed["notes"]] == [
        ("acknowledge", "On it."),
        ("close", "Settled."),
    ]
    assert steward_api.get("/api/v1/supply-exceptions/?state=closed").json()["count"] == 1


def test_the_api_refuses_an_integration_client_and_a_viewer(erp_api, viewer_api, world, late_ack):
    exception = SupplyException.objects.get()
    for api in (erp_api, viewer_api):
        response = api.post(
            f"/api/v1/supply-exceptions/{exception.pk}/close/", {"note": "x"}, format="json"
        )
        assert response.status_code == 403
    assert SupplyException.objects.get().state == "open"
