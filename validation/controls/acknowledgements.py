"""Acknowledgement controls: what the lines of one order line commit against what was
ordered, committed dates on the supplier site's working days, and supply at risk."""

from validation.controls.common import (
    ACKNOWLEDGEMENT,
    date_or_none,
    is_layout,
    ledger_of,
    readable,
    status_code,
)
from validation.ledger import ACCEPTED, AT_RISK_STATUSES, REJECTED
from validation.registry import Finding, rule
from validation.rules import quantity_problem


def _ack_line(facts, obj):
    """(order line, canonical status, committed base quantity) of an acknowledgement line, or
    None when it does not correlate."""
    ledger = ledger_of(facts)
    if ledger is None or facts.header is None or facts.supplier_pk is None:
        return None
    order = ledger.order(facts.supplier_pk, ledger.header.get("po_number"))
    order_line = ledger.order_line(order, obj.get("line"))
    if order_line is None:
        return None
    status = status_code(facts.answer("code_value", obj.get("status")))
    unit = facts.answer("unit", obj.get("unit"))
    unit_id = unit["id"] if unit and unit["status"] == "resolved" else None
    value = obj.get("committed_quantity")
    if quantity_problem(value, status == REJECTED):
        return order_line, status, None  # QUANTITY_INVALID says it
    return order_line, status, ledger.to_base(order_line, value, unit_id)


@rule("ACK_QUANTITY_MISMATCH", applies=lambda layout: is_layout(layout, ACKNOWLEDGEMENT))
def ack_quantity_mismatch(facts, obj):
    """What an acknowledgement commits for an order line does not exceed what was ordered,
    and a plainly accepted line commits exactly that."""
    found = _ack_line(facts, obj)
    if found is None or found[2] is None:
        return
    order_line, status, committed = found
    ledger = ledger_of(facts)
    ordered = order_line.base_quantity
    unit = order_line.base_unit_id
    total = ledger.seen_committed[order_line.pk] + committed
    ledger.seen_committed[order_line.pk] = total
    if total > ordered:
        yield Finding(
            "committed_quantity",
            obj.get("committed_quantity"),
            f"Line {order_line.line} of purchase order {order_line.order.po_number} ordered "
            f"{readable(ordered)} {unit}; the acknowledgement commits {readable(total)} {unit}.",
            "Commit at most the ordered quantity; the buyer changes the order for more.",
        )
    elif status == ACCEPTED and ledger.ack_lines[order_line.line] == 1 and total != ordered:
        yield Finding(
            "committed_quantity",
            obj.get("committed_quantity"),
            f"Line {order_line.line} is accepted as ordered, but commits {readable(total)} {unit} "
            f"of the {readable(ordered)} {unit} ordered.",
            "Send an accepted-with-changes or backordered status for another quantity.",
        )


@rule("COMMITTED_DATE_NOT_WORKING_DAY", applies=lambda layout: is_layout(layout, ACKNOWLEDGEMENT))
def committed_date_not_working_day(facts, obj):
    """An acknowledgement's committed date is a working day of the order's supplier site."""
    ledger = ledger_of(facts)
    if ledger is None or facts.header is None or facts.supplier_pk is None:
        return
    day = date_or_none(obj.get("committed_date"))
    order = ledger.order(facts.supplier_pk, ledger.header.get("po_number"))
    calendar = ledger.site_calendar(order)
    if day is None or calendar is None or calendar.is_working_day(day):
        return
    info = calendar.day_info(day)
    try:
        following = calendar.next_working_day(day)
    except ValueError:
        following = None
    yield Finding(
        "committed_date",
        obj.get("committed_date"),
        f"{day.isoformat()} is not a working day at supplier site {order.supplier_site.code} "
        f"(calendar {calendar.code}: {info.reason}).",
        f"The site's next working day is {following.isoformat()}." if following else None,
    )


@rule("SUPPLY_AT_RISK", applies=lambda layout: is_layout(layout, ACKNOWLEDGEMENT))
def supply_at_risk(facts, obj):
    """An accepted-with-changes or backordered acknowledgement line that commits less, or
    later, than ordered: released, and raised as a supply exception for planners."""
    found = _ack_line(facts, obj)
    if found is None or found[1] not in AT_RISK_STATUSES or found[2] is None:
        return
    order_line, status, committed = found
    day = date_or_none(obj.get("committed_date"))
    late = (day - order_line.need_by).days if day and day > order_line.need_by else 0
    unit = order_line.base_unit_id
    if late:
        text = (
            f"{readable(committed)} {unit} of line {order_line.line} come {late} "
            f"day{'s' * (late != 1)} after the need-by date {order_line.need_by.isoformat()}"
        )
    elif committed < order_line.base_quantity and ledger_of(facts).ack_lines[order_line.line] == 1:
        text = (
            f"Line {order_line.line} commits {readable(committed)} of "
            f"{readable(order_line.base_quantity)} {unit}"
        )
    else:
        return
    yield Finding(
        "status",
        obj.get("status"),
        f"{text} ({status.replace('_', ' ')}): supply of item {order_line.item.public_id} is at "
        "risk.",
        "Planners see it under supply exceptions: shift volume to an alternate supplier or "
        "re-plan.",
    )
