"""Purchase order controls: a change names a released order and a newer change sequence; an
acknowledgement, ship notice or receipt names a released order and one of its lines (a ship
notice line without a po_line, by its item: validation.ledger.OrderLines)."""

from validation.controls.common import (
    ACKNOWLEDGEMENT,
    PURCHASE_ORDER,
    RECEIPT,
    SHIP_NOTICE,
    is_layout,
    ledger_of,
)
from validation.layouts import ITEM
from validation.registry import Finding, rule
from xref.resolve import RESOLVED


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


def line_item(facts, obj):
    """The resolve answer of a line's item code when it resolved (its "id" is the hub's
    public id of the item, its "record" the item), else None."""
    code = obj.get("item")
    answer = facts.answer(ITEM, code) if isinstance(code, str) else None
    return answer if answer and answer.get("status") == RESOLVED else None


def order_line_of(facts, obj):
    """The order line a line of a ship notice or receipt means (validation.ledger.OrderLines:
    by its po_line, else by its item), or None."""
    _, order = order_of(facts, obj)
    if order is None:
        return None
    item = line_item(facts, obj)
    return ledger_of(facts).lines(order).find(obj.get("po_line"), item and item["id"])


@rule(
    "UNKNOWN_PO_LINE",
    applies=lambda layout: is_layout(layout, ACKNOWLEDGEMENT, SHIP_NOTICE, RECEIPT),
)
def unknown_po_line(facts, obj):
    """A line of an acknowledgement, ship notice or receipt names a line of its order; a ship
    notice line without a po_line (contract v3) carries an item that one line of its order
    carries."""
    if facts.header is None:
        return
    number, order = order_of(facts, obj)
    field = "line" if is_layout(facts.layout, ACKNOWLEDGEMENT) else "po_line"
    value = obj.get(field)
    if order is None:
        return
    if value is None and field == "po_line":
        yield from _no_line_for_item(facts, obj, number, order)
        return
    if not isinstance(value, int):
        return
    ledger = ledger_of(facts)
    if ledger.order_line(order, value) is not None:
        return
    known = ", ".join(str(n) for n in ledger.lines(order).numbers())
    yield Finding(
        field,
        value,
        f"Purchase order {number} has no line {value} (its lines: {known or 'none'}).",
        "Name a line of the order as released.",
    )


def _no_line_for_item(facts, obj, number, order):
    """A line without a po_line means the order's one line carrying its item: a Finding when
    none or several do."""
    answer = line_item(facts, obj)
    if answer is None:
        return  # the item code's own rule (XREF_UNRESOLVED...) says it
    lines = ledger_of(facts).lines(order)
    carrying = lines.carrying(answer["id"])
    if len(carrying) == 1:
        return
    item = f"item {answer['id']} ({answer['record']['number']})"
    if carrying:
        numbers = ", ".join(str(line.line) for line in carrying)
        yield Finding(
            "item",
            obj.get("item"),
            f"Purchase order {number} carries {item} on lines {numbers}; the line does not "
            "say which of them it ships.",
            f"Name the order line: send po_line ({numbers}).",
        )
        return
    known = ", ".join(
        f"{n} {line.item.public_id} ({line.item.number})"
        for n, line in sorted(lines.by_number.items())
    )
    yield Finding(
        "item",
        obj.get("item"),
        f"Purchase order {number} has no line for {item} (its lines: {known or 'none'}).",
        "Check the item, or name the order line with po_line.",
    )
