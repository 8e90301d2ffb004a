"""Ship notice v3: a line may leave out po_line (a retail cross-dock ASN names the item under
the order, not the order's line) and the header expected_delivery. A line without po_line is
correlated by its item to the order's line carrying it, recorded against that line and
checked for over-shipment against it; an item on several lines, or on none, is
UNKNOWN_PO_LINE naming the lines. v2 still requires both fields.

The world (world.py) has OPEN_PO released with line 10: 500 bearings 6204-2RS (the supplier
network's 6204-2RS-C3, in PCE = H87) by 2026-03-20; OVER_SHIPMENT's tolerance is 5 %."""

import datetime
from decimal import Decimal

import pytest

from validation.contracts import contract_errors
from validation.models import PurchaseOrderLine, ReceiptLine, ShipNotice, ShipNoticeLine

from .test_controls import rules, send
from .world import OPEN_PO, example, integration_client, submission

pytestmark = pytest.mark.django_db


def notice(*lines, shipment_id="ASN-V3-1", **header):
    """The example ship notice with these lines (each: item code, quantity) and no po_line."""
    payload = example("ship_notice", shipment_id=shipment_id, **header)
    payload["lines"] = [
        {"po_number": OPEN_PO, "item": item, "quantity": quantity, "unit": "PCE"}
        for item, quantity in lines
    ]
    return payload


def add_order_line(world, number, item, quantity=100):
    return PurchaseOrderLine.objects.create(
        order=world.open_po,
        line=number,
        item=item,
        revision="",
        quantity=quantity,
        unit_id="H87",
        base_quantity=quantity,
        base_unit_id="H87",
        need_by=datetime.date(2026, 3, 20),
    )


def shipped(number):
    return PurchaseOrderLine.objects.get(order__po_number=OPEN_PO, line=number).shipped_quantity


def test_a_line_without_po_line_is_recorded_against_the_order_line_carrying_its_item(world):
    add_order_line(world, 20, world.bearing_b)  # 100 of 6205-2RS (6205-2RS-C3)

    message = send(world, "ship_notice", notice(("6205-2RS-C3", 40), ("6204-2RS-C3", 200)), 3)

    assert (message.status, message.diagnostics) == ("released", [])
    recorded = ShipNoticeLine.objects.filter(notice__shipment_id="ASN-V3-1")
    assert sorted((line.order_line.line, line.quantity) for line in recorded) == [
        (10, Decimal(200)),
        (20, Decimal(40)),
    ]
    assert (shipped(10), shipped(20)) == (Decimal(200), Decimal(40))


def test_over_shipment_counts_a_line_without_po_line_against_its_order_line(world):
    first = send(world, "ship_notice", notice(("6204-2RS-C3", 300)), 3)
    second = send(world, "ship_notice", notice(("6204-2RS-C3", 300), shipment_id="ASN-V3-2"), 3)

    assert first.status == "released"
    assert second.status == "quarantined"
    [diagnostic] = second.diagnostics
    assert (diagnostic["rule"], diagnostic["path"]) == ("OVER_SHIPMENT", "$.lines[0].quantity")
    assert diagnostic["message"] == (
        f"Line 10 of purchase order {OPEN_PO} would be shipped 600 H87 in all: more than the "
        "ordered 500 H87 plus the 5 % tolerance."
    )
    assert shipped(10) == Decimal(300)  # the refused notice records nothing


def test_an_item_on_two_lines_of_the_order_asks_for_the_line(world):
    add_order_line(world, 20, world.bearing)  # the same bearing, a second time

    message = send(world, "ship_notice", notice(("6204-2RS-C3", 50)), 3)

    assert message.status == "quarantined"
    [diagnostic] = message.diagnostics
    assert diagnostic["rule"] == "UNKNOWN_PO_LINE"
    assert (diagnostic["path"], diagnostic["value"]) == ("$.lines[0].item", "6204-2RS-C3")
    assert diagnostic["message"] == (
        f"Purchase order {OPEN_PO} carries item {world.bearing.public_id} (6204-2RS) on lines "
        "10, 20; the line does not say which of them it ships."
    )
    assert diagnostic["suggestion"] == "Name the order line: send po_line (10, 20)."
    assert not ShipNotice.objects.exists()

    # Naming the line settles it.
    named = notice(("6204-2RS-C3", 50), shipment_id="ASN-V3-2")
    named["lines"][0]["po_line"] = 20
    assert send(world, "ship_notice", named, 3).status == "released"
    assert (shipped(10), shipped(20)) == (Decimal(0), Decimal(50))


def test_an_item_the_order_does_not_carry_is_an_unknown_po_line(world):
    message = send(world, "ship_notice", notice(("6205-2RS-C3", 50)), 3)

    assert message.status == "quarantined"
    [diagnostic] = message.diagnostics
    assert (diagnostic["rule"], diagnostic["path"]) == ("UNKNOWN_PO_LINE", "$.lines[0].item")
    assert diagnostic["message"] == (
        f"Purchase order {OPEN_PO} has no line for item {world.bearing_b.public_id} (6205-2RS) "
        f"(its lines: 10 {world.bearing.public_id} (6204-2RS))."
    )


def test_an_unknown_item_without_po_line_is_said_once_by_its_own_rule(world):
    message = send(world, "ship_notice", notice(("6299-XX", 50)), 3)

    assert rules(message) == ["XREF_UNRESOLVED"]
    assert message.diagnostics[0]["path"] == "$.lines[0].item"


def test_a_notice_without_expected_delivery_is_released(world):
    payload = notice(("6204-2RS-C3", 500))
    del payload["expected_delivery"]

    message = send(world, "ship_notice", payload, 3)

    assert (message.status, message.diagnostics) == ("released", [])
    recorded = ShipNotice.objects.get(shipment_id="ASN-V3-1")
    assert (recorded.ship_date, recorded.expected_delivery) == (datetime.date(2026, 3, 16), None)
    # Its receipt closes the loop: announced by the notice, on line 10.
    receipt = example("receipt")
    receipt["lines"][0]["shipment_id"] = "ASN-V3-1"
    assert send(world, "receipt", receipt).status == "released"
    assert ReceiptLine.objects.get().notice == recorded


def test_an_expected_delivery_a_v3_notice_gives_is_still_checked(world):
    payload = notice(("6204-2RS-C3", 500), expected_delivery="2026-03-22")  # a Sunday

    message = send(world, "ship_notice", payload, 3)

    assert rules(message) == ["NOT_A_WORKING_DAY"]
    assert message.diagnostics[0]["path"] == "$.expected_delivery"


def test_v2_still_requires_po_line_and_expected_delivery(world):
    payload = notice(("6204-2RS-C3", 500))
    del payload["expected_delivery"]
    network_api = integration_client("SUPPLIER_NET", "network-sync")

    def dry_run(version):
        return network_api.post(
            "/api/v1/validate/", submission("ship_notice", payload, version), format="json"
        ).json()

    v2, v3 = dry_run(2), dry_run(3)

    assert v2["status"] == "rejected"
    assert [(d["path"], d["message"]) for d in v2["diagnostics"]] == [
        ("$.expected_delivery", "Missing: this property is required."),
        ("$.lines[0].po_line", "Missing: this property is required."),
    ]
    assert (v3["status"], v3["diagnostics"]) == ("released", [])
    assert contract_errors("ship_notice", 3, payload) == []
