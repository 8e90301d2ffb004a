"""The events validation publishes (events.outbox), each written in the transaction of the
decision it tells of:

    hub.message.released | quarantined | rejected | dead_lettered    a message's outcome
    hub.supply_exception.raised | changed | closed                   supply at risk

A message event's subject is the message's public id. Its partition key is the message's, but
a released purchase order or acknowledgement is partitioned by its order ("PO:<supplier
public id>:<po number>", `order_key`), so an order's releases and its supply exceptions reach
a subscriber in the order they were decided. Its data:

    {"message": "MSG-000123", "message_type": "po_acknowledgement", "schema_version": 1,
     "system": "SUPPLIER_NET", "status": "released",
     "document": {"po_number": "4500020003", "supplier": "100234", ...}  # as the sender wrote
     "records": {"supplier": "SUP-000003", "plant": "LOC-000001", "items": ["ITM-000012"]},
     "rules": ["SUPPLY_AT_RISK"], "errors": 0, "warnings": 1}

"records" holds the canonical ids the release enriched the message with (released only: a
message held back may name codes no record answers to); "items" lists at most MAX_ITEMS
distinct items (with "item_count" beside it when there are more). A release validated in
chunks (validation.chunks) has its released payload in the database only, never read back
for this: its "records" are empty. A release by override says "override": true and has no
canonical ids (it is not enriched). A dead letter carries the technical "error". Facts:
"system" always; "supplier", "plant" (the receiving location's plant) and "item" (when the
message names one item) as "records" has them.

Every event about a message carries the trace the message came with (validation.tracing): a
message's events its own traceparent, a supply exception's those of the acknowledgement that
raised it; the CloudEvents document has it as the `traceparent` extension.

A supply exception's subject is its id (as GET /api/v1/supply-exceptions/{id}/ has it), its
partition key its order, and its data what a planner acts on (`supply_exception_data`).
"""

from events.outbox import emit
from mdm.models import Location
from validation.claims import stored_header
from validation.models import InboundMessage, SupplyException
from validation.tracing import traceparent_to_pass

Status = InboundMessage.Status

MESSAGE_TYPES = {
    Status.RELEASED: "hub.message.released",
    Status.QUARANTINED: "hub.message.quarantined",
    Status.REJECTED: "hub.message.rejected",
    Status.DEAD_LETTER: "hub.message.dead_lettered",
}
SUPPLY_RAISED = "hub.supply_exception.raised"
SUPPLY_CHANGED = "hub.supply_exception.changed"
SUPPLY_CLOSED = "hub.supply_exception.closed"

# The header fields that name a document (an order, a plan version, a shipment, a receipt),
# and what an ERP decided about a plan version (forecast_acceptance).
DOCUMENT_FIELDS = (
    "po_number",
    "change_sequence",
    "ack_number",
    "plan_id",
    "version",
    "decision",
    "shipment_id",
    "receipt_id",
)
# The header code fields, as the sender wrote them.
CODE_FIELDS = ("supplier", "supplier_site", "ship_to", "location")
# Header fields whose canonical id is the message's plant (its receiving location's plant).
RECEIVING_FIELDS = ("ship_to", "location")
ORDER_TYPES = ("purchase_order", "po_acknowledgement")
# Items listed in a message event's data at most.
MAX_ITEMS = 100
# Parents walked up from a receiving location to its plant.
PLANT_DEPTH = 3


def order_key(supplier_id, po_number):
    """The partition key of an order: "PO:<supplier public id>:<po number>"."""
    return f"PO:{supplier_id}:{po_number}"


# --- messages ---------------------------------------------------------------------------------


def message_outcome(status, parts, diagnostics, *, override=False):
    """Emit the event of a message's final status (`parts`: the message, or every part of a
    release in order, the first standing for all), inside the outcome's transaction."""
    leader = parts[0]
    header = _header(leader)
    records = _records(parts) if status == Status.RELEASED and not override else {}
    data = {
        "message": leader.public_id,
        "message_type": leader.message_type,
        "schema_version": leader.schema_version,
        "system": leader.system.code,
        "status": str(status),
        "document": {
            name: header[name] for name in (*DOCUMENT_FIELDS, *CODE_FIELDS) if name in header
        },
        "records": records,
        "rules": sorted({d.get("rule") for d in diagnostics if d.get("rule")}),
        "errors": sum(d.get("severity") == "error" for d in diagnostics),
        "warnings": sum(d.get("severity") == "warning" for d in diagnostics),
    }
    if len(parts) > 1:
        data["parts"] = [part.public_id for part in parts]
    if override:
        data["override"] = True
    if status == Status.DEAD_LETTER:
        data["error"] = leader.last_error
    items = records.get("items") or []
    partition = leader.public_id
    if records.get("supplier") and leader.message_type in ORDER_TYPES and "po_number" in header:
        partition = order_key(records["supplier"], header["po_number"])
    return emit(
        MESSAGE_TYPES[status],
        leader.public_id,
        data,
        partition,
        facts={
            "system": leader.system.code,
            "plant": records.get("plant"),
            "supplier": records.get("supplier"),
            "item": items[0] if len(items) == 1 else None,
        },
        traceparent=traceparent_to_pass(leader.traceparent),
    )


def _header(message):
    """The payload's header, read from memory when the payload is loaded, else from the
    database without the lines (a release of a million lines is never loaded for this)."""
    if "payload" in message.__dict__:
        payload = message.payload
    else:
        try:
            payload = stored_header(message)
        except (LookupError, TypeError, ValueError):  # no contract, or not an object
            payload = {}
    if not isinstance(payload, dict):
        return {}
    return {key: value for key, value in payload.items() if key not in ("lines", "part")}


def _records(parts):
    """The canonical ids of a release: the header's supplier, site and plant, and its
    lines' items (from the released payloads in memory; a staged release has none)."""
    released = [part.__dict__.get("released_payload") for part in parts]
    released = [payload for payload in released if isinstance(payload, dict)]
    if not released:
        return {}
    hub = released[0].get("hub") or {}
    records = {}
    for name in ("supplier", "supplier_site"):
        if (hub.get(name) or {}).get("id"):
            records[name] = hub[name]["id"]
    receiving = next(
        (hub[name]["id"] for name in RECEIVING_FIELDS if (hub.get(name) or {}).get("id")), None
    )
    items, plants = {}, {}  # in the order the lines name them
    for payload in released:
        for line in payload.get("lines") or ():
            line_hub = line.get("hub") if isinstance(line, dict) else None
            if not line_hub:
                continue
            if item := (line_hub.get("item") or {}).get("id"):
                items[item] = None
            if location := (line_hub.get("location") or {}).get("id"):
                plants[location] = None
    items, plants = list(items), list(plants)
    if receiving is None and len(plants) == 1:  # a forecast for one plant
        receiving = plants[0]
    if receiving is not None:
        records["plant"] = _plant_of(receiving)
    if items:
        records["items"] = items[:MAX_ITEMS]
        if len(items) > MAX_ITEMS:
            records["item_count"] = len(items)
    return records


def _plant_of(location_id):
    """The public id of the plant a location belongs to (itself, or the nearest plant above
    it); the location itself when none is found."""
    path = "__".join(["parent"] * PLANT_DEPTH)
    location = Location.objects.select_related(path).filter(public_id=location_id).first()
    current = location
    for _ in range(PLANT_DEPTH + 1):
        if current is None:
            break
        if current.kind == Location.Kind.PLANT:
            return current.public_id
        current = current.parent if current.parent_id else None
    return location_id


# --- supply exceptions --------------------------------------------------------------------------


def supply_exception_raised(exception):
    """Emit hub.supply_exception.raised, in the transaction that records the acknowledgement."""
    return _supply_event(SUPPLY_RAISED, exception)


def supply_exception_changed(exception, *, step, by=None, note=""):
    """Emit hub.supply_exception.changed: a steward's step on it (`step`: "acknowledged")."""
    return _supply_event(SUPPLY_CHANGED, exception, step=step, by=by, note=note)


def supply_exception_closed(exception, *, by=None, note=""):
    """Emit hub.supply_exception.closed, with the note saying how it was settled."""
    return _supply_event(SUPPLY_CLOSED, exception, step="closed", by=by, note=note)


def _supply_event(event_type, exception, *, step=None, by=None, note=""):
    data, traceparent = _supply_exception_facts(exception)
    if step is not None:
        data["step"] = {
            "name": step,
            "by": by.get_username() if by is not None else None,
            "note": note,
        }
    return emit(
        event_type,
        str(exception.pk),
        data,
        order_key(data["supplier"], data["po_number"]),
        facts={
            "system": data["system"],
            "plant": data["plant"],
            "supplier": data["supplier"],
            "item": data["item"],
        },
        traceparent=traceparent_to_pass(traceparent),
    )


def supply_exception_data(exception):
    """What a planner needs of a supply exception: the supplier, item and plant (canonical
    ids and names), the order line, what was ordered for when against what the supplier
    committed for when, the quantity at risk and why; quantities are decimal text in the
    item's base unit (`unit`, a UN/ECE Rec 20 code)."""
    return _supply_exception_facts(exception)[0]


def _supply_exception_facts(exception):
    """(supply_exception_data(exception), the traceparent of the acknowledgement that raised
    it), from one read."""
    exception = SupplyException.objects.select_related(
        "supplier",
        "item",
        "plant",
        "order_line__order__system",
        "acknowledgement__message__system",
    ).get(pk=exception.pk)
    line, order = exception.order_line, exception.order_line.order
    committed = line.committed_quantity
    data = {
        "id": exception.pk,
        "state": exception.state,
        "raised_at": exception.raised_at.isoformat(),
        "supplier": exception.supplier.public_id,
        "supplier_name": exception.supplier.name,
        "item": exception.item.public_id,
        "item_number": exception.item.number,
        "item_description": exception.item.description,
        "plant": exception.plant.public_id if exception.plant_id else None,
        "plant_code": exception.plant.code if exception.plant_id else None,
        "po_number": order.po_number,
        "po_line": line.line,
        "status": exception.status,
        "ordered_quantity": _text(exception.ordered_quantity),
        "need_by": exception.need_by.isoformat(),
        "committed_quantity": _text(committed) if committed is not None else None,
        "committed_date": _date(exception.committed_date),
        "on_time_quantity": _text(exception.on_time_quantity),
        "quantity_at_risk": _text(exception.quantity_at_risk),
        "unit": exception.unit_id,
        "days_late": exception.days_late,
        "reason": _reason(exception, committed),
        "acknowledgement": exception.acknowledgement.message.public_id,
        "ack_number": exception.acknowledgement.ack_number,
        # The system that sent the acknowledgement (the supplier's network or portal).
        "system": exception.acknowledgement.message.system.code,
        "order_system": order.system.code,
    }
    return data, exception.acknowledgement.message.traceparent


def _reason(exception, committed):
    unit = exception.unit_id
    ordered = _text(exception.ordered_quantity)
    on_time = _text(exception.on_time_quantity)
    words = f"Line {exception.order_line.line} of purchase order "
    words += f"{exception.order_line.order.po_number} ordered {ordered} {unit} by "
    words += f"{exception.need_by.isoformat()}; the supplier commits {on_time} {unit} by then"
    if exception.days_late and exception.committed_date:
        late = exception.days_late
        words += (
            f" and the rest as late as {exception.committed_date.isoformat()} "
            f"({late} day{'s' * (late != 1)} late)"
        )
    elif committed is not None and committed < exception.ordered_quantity:
        words += f", {_text(committed)} {unit} in all"
    return f"{words}: {_text(exception.quantity_at_risk)} {unit} at risk."


def _text(number):
    """A decimal as plain text without trailing zeros ("450", "12.5")."""
    return format(number.normalize(), "f")


def _date(day):
    return day.isoformat() if day is not None else None
