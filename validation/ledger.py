"""The document ledger: what the hub released (validation.models: ForecastRelease,
PurchaseOrder and its lines and changes, Acknowledgement, ShipNotice, Receipt,
SupplyException), written by `record()` inside the transaction that writes a release outcome
(validation.outcomes), so a message is recorded exactly once: a redelivered task or a lost
claim writes no outcome, and so records nothing; the ledger's unique constraints say so again.
The business controls read it (validation.controls).

Two messages about one document validated at the same moment both pass the checks that read
the ledger; the ledger settles it when the outcome is written: the second release of a
forecast version (or of an older one), of an order change or of a shipment is refused
(`Refused`) and the message quarantined with the rule's diagnostic instead.

A release by override records a forecast (a planner approving a frozen fence change) but no
other document: an order released by override is unknown to the acknowledgements that follow.

An ERP's forecast acceptance is recorded on the release it names (its decision, when, which
ERP, the message and the reason): the decision taken last wins, whatever order the messages
come in. A decision taken earlier than the one recorded changes nothing; one taken at the same
moment replaces it (the ERP sent it again, corrected).
"""

import datetime
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from mdm import units as unit_service
from mdm.models import Item, Location, Supplier, SupplierSite, Unit
from validation import events
from validation.models import (
    Acknowledgement,
    ForecastRelease,
    PurchaseOrder,
    PurchaseOrderChange,
    PurchaseOrderLine,
    Receipt,
    ReceiptLine,
    Rule,
    ShipNotice,
    ShipNoticeLine,
    SupplyException,
)

# The canonical acknowledgement line statuses that the ledger and the controls tell apart.
ACCEPTED, CHANGED, BACKORDERED, REJECTED = (
    "accepted",
    "accepted_with_changes",
    "backordered",
    "rejected",
)
AT_RISK_STATUSES = (CHANGED, BACKORDERED)


def decimal_or_none(value):
    """A quantity as sent (a number or decimal text) as a finite Decimal, else None."""
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def date_or_none(value):
    """An ISO date text as a date, else None."""
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def datetime_or_none(value):
    """An RFC 3339 date-time text with its offset as an aware datetime, else None."""
    try:
        moment = datetime.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


class Refused(Exception):
    """The ledger will not record a release: another release got there first (the same or a
    newer forecast version, the same order change, the same shipment, validated at the same
    moment). The message is quarantined with the rule's diagnostic instead."""

    def __init__(self, code, path, value, message, suggestion=None):
        super().__init__(message)
        self.code, self.path, self.value = code, path, value
        self.message, self.suggestion = message, suggestion

    def diagnostic(self):
        rule = Rule.objects.filter(code=self.code).values_list("team", flat=True).first()
        return {
            "rule": self.code,
            "severity": "error",
            "team": rule or "integration",
            "path": self.path,
            "value": self.value,
            "message": self.message,
            "suggestion": self.suggestion,
        }


# What a unique constraint of the ledger refusing a release means, by message type.
CONFLICTS = {
    "forecast": ("STALE_FORECAST_VERSION", "$.version", "version"),
    "purchase_order": ("PO_CHANGE_OUT_OF_SEQUENCE", "$.change_sequence", "change_sequence"),
    "ship_notice": ("DUPLICATE_SHIPMENT", "$.shipment_id", "shipment_id"),
}


# The rules that hold a message because the order it follows (the original of a change, the
# order an acknowledgement answers) was not released: its case is replayed when the order is
# (quarantine.receivers).
HELD_BY_PREDECESSOR = ("PO_CHANGE_OUT_OF_SEQUENCE", "UNKNOWN_PO")


def record(message, released_payload, *, lines_filtered=0, now):
    """Record a released message in the ledger (called inside the outcome's transaction).
    `message` is the message or the leader of a release in parts. Raises Refused when
    another release of the same document was recorded since the message was validated."""
    recorder = RECORDERS.get(message.message_type)
    if recorder is None or released_payload is None:
        return
    try:
        with transaction.atomic():  # a savepoint: a refusal leaves the outcome's transaction
            recorder(message, released_payload, lines_filtered=lines_filtered, now=now)
    except IntegrityError as exc:
        if message.message_type not in CONFLICTS:
            raise
        code, path, field = CONFLICTS[message.message_type]
        value = released_payload.get(field)
        raise Refused(
            code,
            path,
            value,
            f"{field.replace('_', ' ').capitalize()} {value} was released by another message "
            "while this one was validated.",
            "Send a newer one.",
        ) from exc


def record_override(message, header, *, now):
    """Record a forecast a person released by override (a planner approving a frozen fence
    change), unless the plan has a release of that version or a newer one already (an
    overridden stale version is released, but the plan's last version stays the newer)."""
    newer = ForecastRelease.objects.filter(
        system_id=message.system_id, plan_id=header.get("plan_id"), version__gte=header["version"]
    )
    if not newer.exists():
        _forecast(message, header, lines_filtered=0, now=now)


def _forecast(message, payload, *, lines_filtered, now):
    newer = (
        ForecastRelease.objects.filter(
            system_id=message.system_id,
            plan_id=payload["plan_id"],
            version__gte=payload["version"],
        )
        .order_by("-version")
        .first()
    )
    if newer is not None:
        raise Refused(
            "STALE_FORECAST_VERSION",
            "$.version",
            payload["version"],
            f"Plan {payload['plan_id']} version {newer.version} was released while version "
            f"{payload['version']} was validated; an older or equal version is never released.",
            f"Send the plan as version {newer.version + 1} or later.",
        )
    horizon = payload.get("horizon") or {}
    ForecastRelease.objects.create(
        system_id=message.system_id,
        plan_id=payload["plan_id"],
        version=payload["version"],
        message=message,
        horizon_start=date_or_none(horizon.get("start")),
        lines_filtered=lines_filtered,
        released_at=now,
    )


def _forecast_acceptance(message, payload, *, now, **kwargs):
    """The ERP's decision on the release of the plan and version named, unless the release
    holds a decision taken later (see the module docstring): one conditional UPDATE, so two
    decisions recorded at the same moment settle on the later one."""
    decided_at = datetime_or_none(payload.get("decided_at"))
    if decided_at is None:
        return
    ForecastRelease.objects.filter(plan_id=payload["plan_id"], version=payload["version"]).filter(
        Q(decided_at__isnull=True) | Q(decided_at__lte=decided_at)
    ).update(
        decision=payload["decision"],
        decided_at=decided_at,
        decided_by_id=message.system_id,
        decision_message_id=message.pk,
        decision_reason=payload.get("reason") or "",
    )


def _hub_id(obj, field):
    hub = obj.get("hub") or {}
    entry = hub.get(field) or {}
    return entry.get("id")


def _records(model, public_ids):
    return dict(model.objects.filter(public_id__in=set(public_ids)).values_list("public_id", "pk"))


def _purchase_order(message, payload, *, now, **kwargs):
    supplier = _records_supplier(payload)
    ship_to_id = _hub_id(payload, "ship_to")
    ship_to = Location.objects.filter(public_id=ship_to_id).select_related("parent").first()
    site_id = _hub_id(payload, "supplier_site")
    site = SupplierSite.objects.filter(public_id=site_id).first() if site_id else None
    if supplier is None or ship_to is None:
        return
    plant = ship_to
    while plant is not None and plant.kind != Location.Kind.PLANT:
        plant = plant.parent
    order, created = PurchaseOrder.objects.get_or_create(
        supplier_id=supplier,
        po_number=payload["po_number"],
        defaults={
            "supplier_site": site,
            "ship_to": ship_to,
            "plant": plant,
            "system_id": message.system_id,
            "change_sequence": payload["change_sequence"],
            "order_date": date_or_none(payload["order_date"]),
            "message": message,
            "released_at": now,
            "changed_at": now,
        },
    )
    if not created:
        PurchaseOrder.objects.filter(pk=order.pk).update(
            supplier_site=site,
            ship_to=ship_to,
            plant=plant,
            change_sequence=payload["change_sequence"],
            order_date=date_or_none(payload["order_date"]),
            message=message,
            changed_at=now,
        )
    PurchaseOrderChange.objects.create(
        order=order, change_sequence=payload["change_sequence"], message=message, released_at=now
    )
    items = _records(Item, (_hub_id(line, "item") for line in payload["lines"]))
    for line in payload["lines"]:
        hub = line.get("hub") or {}
        base = hub.get("quantity") or {}
        item = items.get(_hub_id(line, "item"))
        unit = _hub_id(line, "unit")
        if item is None or unit is None or not base:
            continue
        PurchaseOrderLine.objects.update_or_create(
            order=order,
            line=line["line"],
            defaults={
                "item_id": item,
                "revision": line.get("revision") or "",
                "quantity": decimal_or_none(line["quantity"]),
                "unit_id": unit,
                "base_quantity": decimal_or_none(base["value"]),
                "base_unit_id": base["unit"],
                "need_by": date_or_none(line["need_by"]),
            },
        )


def _records_supplier(payload):
    supplier_id = _hub_id(payload, "supplier")
    return Supplier.objects.filter(public_id=supplier_id).values_list("pk", flat=True).first()


def _acknowledgement(message, payload, *, now, **kwargs):
    supplier = _records_supplier(payload)
    order = PurchaseOrder.objects.filter(supplier_id=supplier, po_number=payload["po_number"])
    order = order.select_related("supplier").first()
    if order is None:
        return
    ack = Acknowledgement.objects.create(
        order=order,
        message=message,
        ack_number=payload.get("ack_number") or "",
        ack_date=date_or_none(payload["ack_date"]),
        recorded_at=now,
    )
    lines = {line.line: line for line in order.lines.select_related("item")}
    by_line = defaultdict(list)
    for line in payload["lines"]:
        order_line = lines.get(line["line"])
        if order_line is None:
            continue
        quantity = _base_quantity(line, order_line, "committed_quantity")
        status = _hub_id(line, "status") or ""
        if quantity is None:
            continue
        by_line[order_line.pk].append(
            (status.partition(":")[2], quantity, date_or_none(line["committed_date"]))
        )
    for pk, answers in by_line.items():
        order_line = next(line for line in lines.values() if line.pk == pk)
        statuses = [status for status, _, _ in answers]
        # The order line's status: the most telling of its lines' (a rejection, a backorder).
        status = next(
            (s for s in (REJECTED, BACKORDERED, CHANGED, "on_hold", ACCEPTED) if s in statuses),
            statuses[0],
        )
        committed = sum((quantity for _, quantity, _ in answers), Decimal(0))
        latest = max(day for _, _, day in answers)
        PurchaseOrderLine.objects.filter(pk=pk).update(
            ack_status=status, committed_quantity=committed, committed_date=latest
        )
        if not any(s in AT_RISK_STATUSES for s in statuses):
            continue
        on_time = sum((q for _, q, day in answers if day <= order_line.need_by), Decimal(0))
        at_risk = order_line.base_quantity - on_time
        if at_risk <= 0:
            continue
        exception = SupplyException.objects.create(
            acknowledgement=ack,
            order_line=order_line,
            supplier_id=order.supplier_id,
            item_id=order_line.item_id,
            plant_id=order.plant_id,
            status=status,
            ordered_quantity=order_line.base_quantity,
            on_time_quantity=on_time,
            quantity_at_risk=at_risk,
            unit_id=order_line.base_unit_id,
            need_by=order_line.need_by,
            committed_date=latest,
            days_late=max((latest - order_line.need_by).days, 0),
            raised_at=now,
        )
        events.supply_exception_raised(exception)


def _base_quantity(line, order_line, field):
    """A released line's quantity in the order line item's base unit: the enrichment's, or
    (for a line that names no item, as an acknowledgement may) converted here."""
    quantity = ((line.get("hub") or {}).get("quantity") or {}).get("value")
    if quantity is not None:
        return decimal_or_none(quantity)
    unit = _hub_id(line, "unit")
    number = decimal_or_none(line.get(field))
    if unit is None or number is None:
        return None
    if unit == order_line.base_unit_id:
        return number
    try:
        return unit_service.convert(number, unit, order_line.base_unit_id, item=order_line.item)
    except (unit_service.ConversionError, LookupError, Unit.DoesNotExist):
        return None


def _ship_notice(message, payload, *, now, **kwargs):
    supplier = _records_supplier(payload)
    if supplier is None:
        return
    notice = ShipNotice.objects.create(
        supplier_id=supplier,
        shipment_id=payload["shipment_id"],
        message=message,
        ship_date=date_or_none(payload["ship_date"]),
        expected_delivery=date_or_none(payload.get("expected_delivery")),
        recorded_at=now,
    )
    for _line, order_line, quantity in _correlated_lines(payload, supplier):
        ShipNoticeLine.objects.create(notice=notice, order_line=order_line, quantity=quantity)
        PurchaseOrderLine.objects.filter(pk=order_line.pk).update(
            shipped_quantity=F("shipped_quantity") + quantity
        )


def _receipt(message, payload, *, now, **kwargs):
    receipt = Receipt.objects.create(
        receipt_id=payload["receipt_id"],
        message=message,
        received_on=date_or_none(payload["received_at"]),
        recorded_at=now,
    )
    for line, order_line, quantity in _correlated_lines(payload, None):
        shipment = line.get("shipment_id") or ""
        notice = (
            ShipNotice.objects.filter(
                supplier_id=order_line.order.supplier_id,
                shipment_id=shipment,
                lines__order_line=order_line,
            ).first()
            if shipment
            else None
        )
        ReceiptLine.objects.create(
            receipt=receipt,
            order_line=order_line,
            shipment_id=shipment,
            notice=notice,
            quantity=quantity,
        )
        PurchaseOrderLine.objects.filter(pk=order_line.pk).update(
            received_quantity=F("received_quantity") + quantity
        )


def _correlated_lines(payload, supplier):
    """(line, order line, base quantity) of the released lines that name a known order line
    (by number, or by item: OrderLines.find)."""
    orders = {}
    for line in payload["lines"]:
        quantity = ((line.get("hub") or {}).get("quantity") or {}).get("value")
        key = line.get("po_number")
        if key not in orders:
            found = PurchaseOrder.objects.filter(po_number=key)
            if supplier is not None:
                found = found.filter(supplier_id=supplier)
            found = list(found[:2])
            orders[key] = order_lines(found[0]) if len(found) == 1 else None
        if orders[key] is None or quantity is None:
            continue
        order_line = orders[key].find(line.get("po_line"), _hub_id(line, "item"))
        if order_line is not None:
            yield line, order_line, decimal_or_none(quantity)


def order_lines(order):
    """The OrderLines of a released order (a PurchaseOrder), read in one query; each line's
    `order` is the one given."""
    found = list(
        PurchaseOrderLine.objects.filter(order=order).select_related("item", "unit", "base_unit")
    )
    for line in found:
        line.order = order
    return OrderLines(found)


class OrderLines:
    """The lines of one released purchase order, found as a ship notice or receipt line names
    one. A line with a po_line means the order line of that number. A line without one
    (ship_notice v3: cross-dock ASNs name the item under the order, not the order's line)
    means the order's line carrying its item, the hub's item its code resolves to, when
    exactly one line does; when several or none do, it means none, and UNKNOWN_PO_LINE
    (validation.controls.orders) says which lines carry the item. The business controls and
    the ledger's recorders correlate through here, so they never disagree."""

    def __init__(self, lines):
        self.by_number = {line.line: line for line in lines}
        self._by_item = defaultdict(list)  # item public id -> its lines, by number
        for number in sorted(self.by_number):
            line = self.by_number[number]
            self._by_item[line.item.public_id].append(line)

    def numbers(self):
        return sorted(self.by_number)

    def find(self, number, item_id):
        """The order line numbered `number`; without a number (None), the one line carrying
        the item whose public id is `item_id`; None when there is no such line, or several."""
        if number is not None:
            return self.by_number.get(number)
        carrying = self._by_item.get(item_id, ())
        return carrying[0] if len(carrying) == 1 else None

    def carrying(self, item_id):
        """The order's lines carrying the item whose public id is `item_id`, by number."""
        return list(self._by_item.get(item_id, ()))


RECORDERS = {
    "forecast": _forecast,
    "purchase_order": _purchase_order,
    "po_acknowledgement": _acknowledgement,
    "ship_notice": _ship_notice,
    "receipt": _receipt,
    "forecast_acceptance": _forecast_acceptance,
}
