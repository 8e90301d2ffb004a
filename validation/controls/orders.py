"""Purchase order controls: a change names a released order and a newer change sequence; an
acknowledgement, ship notice or receipt names a released order and one of its lines."""

from validation.controls.common import (
    ACKNOWLEDGEMENT,
    PURCHASE_ORDER,
    RECEIPT,
    SHIP_NOTICE,
    is_layout,
    ledger_of,
)
from validation.registry import Finding, rule


@rule("PO_CHANGE_OUT_OF_SEQUENCE", applies=lambda layout: is_layout(layout, PURCHASE_ORDER))
def po_change_out_of_sequence(facts, obj):
    """A purchase order change names a released order and a newer change sequence; an original
    (sequence 0) names a new order."""
    ledger = ledger_of(facts)
    if facts.header is not None or ledger is None or facts.supplier_pk is None:
        return
    number, sequence = obj.get("po_number"), obj.get("change_sequence")
    if not isinstance(sequence, int):
        return
    order = ledger.order(facts.supplier_pk, number)
    if order is None and sequence > 0:
        yield Finding(
            "change_sequence",
            sequence,
            f"Change {sequence} names purchase order {number}, which the hub has not released "
            "to this supplier.",
            "Send the original order (change sequence 0) first.",
        )
    elif order is not None and sequence <= order.change_sequence:
        yield Finding(
            "change_sequence",
            sequence,
            f"Purchase order {number} is at change {order.change_sequence} (released as "
            f"{order.message.public_id if order.message_id else '?'}); change {sequence} is "
            "not newer.",
            f"Send the change as sequence {order.change_sequence + 1}.",
        )


def order_of(facts, obj):
    """(order number, the order or None) a header or line of an acknowledgement, ship notice
    or receipt names; (None, None) when it names none."""
    ledger = ledger_of(facts)
    if ledger is None:
        return None, None
    layout = facts.layout
    if is_layout(layout, ACKNOWLEDGEMENT):
        number = ledger.header.get("po_number")
        if facts.header is None:
            return number, ledger.order(facts.supplier_pk, number)
    elif facts.header is not None and is_layout(layout, SHIP_NOTICE, RECEIPT):
        number = obj.get("po_number")
    else:
        return None, None
    if not isinstance(number, str):
        return None, None
    if is_layout(layout, RECEIPT):
        return number, ledger.order(None, number, facts.plant)
    if facts.supplier_pk is None:
        return None, None
    return number, ledger.order(facts.supplier_pk, number)


@rule("UNKNOWN_PO", applies=lambda layout: is_layout(layout, ACKNOWLEDGEMENT, SHIP_NOTICE, RECEIPT))
def unknown_po(facts, obj):
    """An acknowledgement, ship notice or receipt names a purchase order the hub released (to
    the sender's supplier)."""
    if is_layout(facts.layout, ACKNOWLEDGEMENT) and facts.header is not None:
        return  # the header says it once
    number, order = order_of(facts, obj)
    if number is None or order is not None:
        return
    whom = "" if is_layout(facts.layout, RECEIPT) else " to this supplier"
    yield Finding(
        "po_number",
        number,
        f"The hub has released no purchase order {number}{whom}.",
        "Check the order number; an order must be released through the hub before it is "
        "acknowledged, shipped or received.",
    )


@rule(
    "UNKNOWN_PO_LINE",
    applies=lambda layout: is_layout(layout, ACKNOWLEDGEMENT, SHIP_NOTICE, RECEIPT),
)
def unknown_po_line(facts, obj):
    """A line of an acknowledgement, ship notice or receipt names a line of its order."""
    if facts.header is None:
        return
    number, order = order_of(facts, obj)
    field = "line" if is_layout(facts.layout, ACKNOWLEDGEMENT) else "po_line"
    value = obj.get(field)
    if order is None or not isinstance(value, int):
        return
    ledger = ledger_of(facts)
    if ledger.order_line(order, value) is not None:
        return
    known = ", ".join(str(n) for n in ledger.line_numbers(order))
    yield Finding(
        field,
        value,
        f"Purchase order {number} has no line {value} (its lines: {known or 'none'}).",
        "Name a line of the order as released.",
    )
