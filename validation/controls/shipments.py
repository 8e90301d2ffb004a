"""Ship notice controls: a shipment id used once per supplier, no over-shipment beyond the
rule's tolerance, valid SSCCs."""

from mdm.identifiers import sscc_error
from validation.controls.common import SHIP_NOTICE, is_layout, ledger_of, plain, readable
from validation.controls.orders import order_line_of
from validation.ledger import REJECTED
from validation.registry import Finding, rule
from validation.rules import quantity_problem


@rule("DUPLICATE_SHIPMENT", applies=lambda layout: is_layout(layout, SHIP_NOTICE))
def duplicate_shipment(facts, obj):
    """A ship notice's shipment id is not one the supplier's released ship notices used."""
    ledger = ledger_of(facts)
    if ledger is None or facts.header is not None or facts.supplier_pk is None:
        return
    shipment = obj.get("shipment_id")
    known = ledger.shipment_known(facts.supplier_pk, shipment)
    if known is None:
        return
    yield Finding(
        "shipment_id",
        shipment,
        f"Shipment {shipment} was already announced by this supplier ({known.message.public_id}, "
        f"shipped {known.ship_date.isoformat()}).",
        "Give every shipment its own id; correct a shipment by sending its changes as a new one.",
    )


@rule("OVER_SHIPMENT", applies=lambda layout: is_layout(layout, SHIP_NOTICE))
def over_shipment(facts, obj):
    """What an order line's shipments carry in all stays within what was acknowledged (else
    ordered), plus the rule's tolerance; a line without a po_line counts against the order
    line carrying its item."""
    if facts.header is None:
        return
    order_line = order_line_of(facts, obj)  # by po_line, else by item (ship_notice v3)
    if order_line is None:
        return  # UNKNOWN_PO or UNKNOWN_PO_LINE says it
    ledger = ledger_of(facts)
    unit = facts.answer("unit", obj.get("unit"))
    unit_id = unit["id"] if unit and unit["status"] == "resolved" else None
    if quantity_problem(obj.get("quantity"), False):
        return  # QUANTITY_INVALID says it
    quantity = ledger.to_base(order_line, obj.get("quantity"), unit_id)
    if quantity is None:
        return
    shipped = order_line.shipped_quantity + ledger.seen_shipped[order_line.pk] + quantity
    ledger.seen_shipped[order_line.pk] += quantity
    acknowledged = order_line.committed_quantity is not None and order_line.ack_status != REJECTED
    limit = order_line.committed_quantity if acknowledged else order_line.base_quantity
    tolerance = ledger.tolerance("OVER_SHIPMENT")
    if shipped <= limit * (1 + tolerance / 100):
        return
    unit = order_line.base_unit_id
    against = (
        f"acknowledged {readable(limit)} (ordered {readable(order_line.base_quantity)})"
        if acknowledged
        else f"ordered {readable(limit)}"
    )
    yield Finding(
        "quantity",
        obj.get("quantity"),
        f"Line {order_line.line} of purchase order {order_line.order.po_number} would be shipped "
        f"{readable(shipped)} {unit} in all: more than the {against} {unit} plus the "
        f"{plain(tolerance)} % tolerance.",
        "Ship at most the acknowledged quantity, or ask the buyer to change the order.",
    )


@rule("SSCC_INVALID", applies=lambda layout: is_layout(layout, SHIP_NOTICE))
def sscc_invalid(facts, obj):
    """Every pack of a ship notice line (contracts v2, v3) has a valid SSCC (18 digits, GS1 check
    digit)."""
    if facts.header is None or not isinstance(obj.get("packs"), list):
        return
    for index, pack in enumerate(obj["packs"]):
        value = pack.get("sscc") if isinstance(pack, dict) else None
        if not isinstance(value, str):
            continue
        problem = sscc_error(value)
        if problem:
            yield Finding(
                f"packs[{index}].sscc",
                value,
                f"SSCC {value} of pack {index + 1}: {problem}",
                "Print and send the SSCC from the pack's GS1 label.",
            )
