"""The business controls of the sync workflows, and the document ledger they read and write.

Plain reference checks (validation.rules) say whether the codes of a message mean something;
these controls say whether the message makes sense against what the hub released before:

    workflow                 key control                          rule codes
    forecast to ERP          versioning, horizon, frozen fence,   STALE_FORECAST_VERSION,
                             selective synchronization            FORECAST_PERIOD_OUTSIDE_HORIZON,
                                                                  FROZEN_FENCE_CHANGE,
                                                                  CHANGE_NOT_ACTIONABLE
    ERP PO to supplier       known order, newer change sequence   PO_CHANGE_OUT_OF_SEQUENCE
    acknowledgement to ERP   correlation, quantities, supplier    UNKNOWN_PO, UNKNOWN_PO_LINE,
                             working days, supply at risk         ACK_QUANTITY_MISMATCH,
                                                                  COMMITTED_DATE_NOT_WORKING_DAY,
                                                                  SUPPLY_AT_RISK
    ship notice and receipt  correlation by PO, line, shipment;   UNKNOWN_PO, UNKNOWN_PO_LINE,
                             over-shipment; SSCC check digits     DUPLICATE_SHIPMENT,
                                                                  OVER_SHIPMENT, SSCC_INVALID

Each is a rule of validation.rules' registry (`@rule`), so its severity, team and whether it
runs are the Rule row's, which stewards change in the admin; OVER_SHIPMENT's tolerance is the
row's tolerance_percent. A plan's horizon, frozen fence and change thresholds are its
PlanPolicy (admin, "Plan policies"): without one, a forecast is checked for its version and
against its own horizon only, and every line is released.

The ledger (validation.models: ForecastRelease, PurchaseOrder and its lines and changes,
Acknowledgement, ShipNotice, Receipt, SupplyException) is read when a message is validated
(`Ledger`, one per pipeline Check, remembering what it looked up) and written by `record()`
inside the transaction that writes a release outcome (validation.services), so a message is
recorded exactly once: a redelivered task or a lost claim writes no outcome, and so records
nothing; the ledger's unique constraints say so again.

Selective synchronization: a forecast line whose change against the plan's last released
version is below both of the plan's thresholds (percent and absolute; a threshold of 0 is
not applied) is not actionable: CHANGE_NOT_ACTIONABLE takes it out of the released payload
(it is not a diagnostic), and the released header's hub says what was left out and why:

    "hub": {"selective_sync": {"compared_with_version": 3, "threshold_percent": "5",
            "threshold_quantity": "10", "lines_filtered": 2,
            "filtered": [{"line": 4, "item": "PL-100", "location": "P1",
                          "period_start": "2026-03-09", "quantity": "102",
                          "released_quantity": "100", "reason": "..."}]}}

(the first MAX_FILTERED_LISTED lines are listed; lines_filtered counts all). A change inside
the frozen fence that is actionable is held for approval (FROZEN_FENCE_CHANGE quarantines the
forecast, routed to planning; a planner approves by release by override).

Acknowledgements: an acknowledgement's lines name the order's line numbers; several lines may
acknowledge one order line (part on time, part later). Statuses resolve through the code list
ACK_LINE_STATUS and the sender's cross-references (X12 855 ACK01 codes, a portal's words) to
the canonical accepted, accepted_with_changes, backordered, rejected, on_hold. What the lines
of one order line commit may not exceed what was ordered, and a plainly accepted order line
must commit exactly that (ACK_QUANTITY_MISMATCH); committed dates must be working days of the
order's supplier site's calendar. An accepted-with-changes or backordered line that commits
less, or later than the need-by date, is released with a SUPPLY_AT_RISK warning, and its
release raises a SupplyException: quantity at risk (what is short, plus what comes late) and
days late, for the planners' screen and GET /api/v1/supply-exceptions/. The quantity checks
see the lines of one chunk (HUB_VALIDATION_CHUNK_LINES) at a time; acknowledgements are far
smaller.

Ship notices: a shipment id is unique per supplier (DUPLICATE_SHIPMENT); what the order line's
shipments carry in all may exceed what was acknowledged (else ordered) by the rule's tolerance
at most (OVER_SHIPMENT). Receipts are correlated to the order line by PO number and line (the
order of the receiving plant when two suppliers share a number) and close the loop: received
and open quantity per order line, and whether a ship notice announced the receipt.

Two messages about one document validated at the same moment both pass the checks that read
the ledger; the ledger settles it when the outcome is written: the second release of a
forecast version (or of an older one), of an order change or of a shipment is refused
(`Refused`) and the message quarantined with the rule's diagnostic instead.

A release by override records a forecast (a planner approving a frozen fence change) but no
other document: an order released by override is unknown to the acknowledgements that follow.
"""

import csv
import datetime
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Min, Q

from mdm import units as unit_service
from mdm.calendars import WorkingCalendar
from mdm.identifiers import sscc_error
from mdm.models import Item, Location, SupplierSite, Unit
from validation.models import (
    Acknowledgement,
    ForecastRelease,
    InboundMessage,
    PlanPolicy,
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
from validation.rules import ACK_LIST, LAYOUTS, Finding, quantity_problem, rule

FORECAST = LAYOUTS["forecast"]
PURCHASE_ORDER = LAYOUTS["purchase_order"]
ACKNOWLEDGEMENT = LAYOUTS["po_acknowledgement"]
SHIP_NOTICE = LAYOUTS["ship_notice"]
RECEIPT = LAYOUTS["receipt"]
# The rule whose findings take a forecast line out of the release instead of diagnosing it.
NOT_ACTIONABLE = "CHANGE_NOT_ACTIONABLE"
MAX_FILTERED_LISTED = 1000
ACCEPTED, CHANGED, BACKORDERED, REJECTED = (
    "accepted",
    "accepted_with_changes",
    "backordered",
    "rejected",
)
AT_RISK_STATUSES = (CHANGED, BACKORDERED)


def _decimal(value):
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def _date(value):
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _number(value):
    """A quantity as people read it: 1,200 or 12.5."""
    text = f"{value.normalize():,f}" if isinstance(value, Decimal) else str(value)
    return text


def status_code(answer):
    """The canonical status (accepted, rejected...) of a resolved ACK_LINE_STATUS code."""
    if not answer or answer.get("status") != "resolved":
        return None
    list_code, _, value = answer["id"].partition(":")
    return value if list_code == ACK_LIST else None


# --- reading the ledger -------------------------------------------------------------------


class Ledger:
    """What the ledger says about one message, looked up once per Check (validation.pipeline)
    and remembered for every chunk of its lines."""

    def __init__(self, message_type, system, header, as_of):
        self.message_type = message_type
        self.system = system
        self.header = header
        self.as_of = as_of
        self._orders = {}  # (supplier pk or None, po number, plant pk) -> PurchaseOrder | None
        self._lines = {}  # order pk -> {line number: PurchaseOrderLine}
        self._calendars = {}  # supplier site pk -> WorkingCalendar | None
        self._base = {}  # (order line pk, unit, quantity) -> base quantity | None
        # Per order line, over the lines seen so far: how many acknowledgement lines name it
        # and what they commit, and what the ship notice's lines carry.
        self.ack_lines = defaultdict(int)
        self.seen_committed = defaultdict(Decimal)
        self.seen_shipped = defaultdict(Decimal)
        self.forecast = _ForecastFacts(system, header) if message_type == "forecast" else None
        self._tolerance = None

    # --- purchase orders ---------------------------------------------------------------

    def order(self, supplier_pk, po_number, plant_pk=None):
        """The released PurchaseOrder (with its lines loaded) of a supplier and number; without
        a supplier (a receipt), the one order with the number, or the receiving plant's."""
        key = (supplier_pk, po_number, plant_pk)
        if key not in self._orders:
            orders = PurchaseOrder.objects.filter(po_number=po_number).select_related(
                "supplier_site", "supplier"
            )
            if supplier_pk is not None:
                orders = orders.filter(supplier_id=supplier_pk)
            found = list(orders[:10])
            if len(found) > 1 and plant_pk is not None:
                found = [order for order in found if order.plant_id == plant_pk] or found
            order = found[0] if len(found) == 1 else None
            if order is not None and order.pk not in self._lines:
                self._lines[order.pk] = {
                    line.line: line
                    for line in PurchaseOrderLine.objects.filter(order=order).select_related(
                        "unit", "base_unit", "item"
                    )
                }
            self._orders[key] = order
        return self._orders[key]

    def order_line(self, order, number):
        return self._lines.get(order.pk, {}).get(number) if order is not None else None

    def line_numbers(self, order):
        return sorted(self._lines.get(order.pk, {}))

    def shipment_known(self, supplier_pk, shipment_id):
        key = ("shipment", supplier_pk, shipment_id)
        if key not in self._orders:
            self._orders[key] = ShipNotice.objects.filter(
                supplier_id=supplier_pk, shipment_id=shipment_id
            ).first()
        return self._orders[key]

    def site_calendar(self, order):
        """The working calendar of the order's supplier site, or None."""
        if order is None or order.supplier_site_id is None:
            return None
        pk = order.supplier_site_id
        if pk not in self._calendars:
            site = SupplierSite.objects.select_related("calendar").get(pk=pk)
            self._calendars[pk] = WorkingCalendar(site.calendar) if site.calendar_id else None
        return self._calendars[pk]

    def to_base(self, order_line, quantity, unit_id, supplier_pk=None):
        """`quantity` in unit `unit_id` as the order line item's base quantity, or None."""
        number = _decimal(quantity)
        if number is None or unit_id is None:
            return None
        if unit_id == order_line.base_unit_id:
            return number
        key = (order_line.pk, unit_id, number)
        if key not in self._base:
            try:
                self._base[key] = unit_service.convert(
                    number,
                    unit_id,
                    order_line.base_unit_id,
                    item=order_line.item,
                    supplier=order_line.order.supplier,
                    on_date=self.as_of,
                )
            except (unit_service.ConversionError, LookupError, Unit.DoesNotExist):
                self._base[key] = None
        return self._base[key]

    def tolerance(self, code):
        """A rule's tolerance in percent (0 when it has none)."""
        if self._tolerance is None:
            self._tolerance = dict(
                Rule.objects.exclude(tolerance_percent=None).values_list(
                    "code", "tolerance_percent"
                )
            )
        return self._tolerance.get(code) or Decimal(0)

    # --- the lines of the message -------------------------------------------------------

    def see_lines(self, lines):
        """Called before a chunk's lines are checked: counts the acknowledgement lines per
        order line number, so a line knows whether it is its order line's only one."""
        if self.message_type == "po_acknowledgement":
            for line in lines:
                if isinstance(line.get("line"), int):
                    self.ack_lines[line["line"]] += 1


class _ForecastFacts:
    """A forecast's plan: its policy, its last released version and that version's lines."""

    def __init__(self, system, header):
        self.plan_id = header.get("plan_id")
        self.version = header.get("version")
        horizon = header.get("horizon") or {}
        self.start = _date(horizon.get("start"))
        self.end = _date(horizon.get("end"))
        policies = {
            policy.plan_id: policy
            for policy in PlanPolicy.objects.filter(system=system, plan_id__in=[self.plan_id, ""])
        }
        self.policy = policies.get(self.plan_id) or policies.get("")
        self.last = (
            ForecastRelease.objects.filter(system=system, plan_id=self.plan_id)
            .select_related("message")
            .order_by("-version")
            .first()
        )
        policy = self.policy
        if policy is not None and policy.horizon_weeks and self.start:
            self.horizon_end = self.start + datetime.timedelta(weeks=policy.horizon_weeks, days=-1)
        else:
            self.horizon_end = self.end
        self.fence_end = (
            self.start + datetime.timedelta(days=policy.frozen_fence_days)
            if policy is not None and policy.frozen_fence_days and self.start
            else None
        )
        self.percent = policy.change_threshold_percent if policy is not None else Decimal(0)
        self.quantity = policy.change_threshold_quantity if policy is not None else Decimal(0)
        self.compares = (
            self.last is not None
            and self.last.version != self.version
            and (self.fence_end is not None or self.percent > 0 or self.quantity > 0)
        )
        self._previous = None

    def previous(self):
        """{(item, location, period start): (quantity, unit)} of the last released version,
        as sent (the sender's codes): read once, from its stored messages."""
        if self._previous is None:
            self._previous = {}
            message = self.last.message
            parts = (
                InboundMessage.objects.filter(
                    system_id=message.system_id, group_key=message.group_key
                ).order_by("part_number")
                if message.group_key
                else InboundMessage.objects.filter(pk=message.pk)
            )
            for lines in parts.values_list("payload__lines", flat=True).iterator(chunk_size=1):
                for line in lines or ():
                    key = (line.get("item"), line.get("location"), line.get("period_start"))
                    self._previous[key] = (_decimal(line.get("quantity")), line.get("unit"))
        return self._previous

    def change(self, line):
        """(released quantity, quantity, change) of a line against the last release; the
        released quantity is 0 for a line the last release did not have, None when the two
        are in different units."""
        quantity = _decimal(line.get("quantity"))
        if quantity is None:
            return None
        key = (line.get("item"), line.get("location"), line.get("period_start"))
        released, unit = self.previous().get(key, (Decimal(0), line.get("unit")))
        if unit != line.get("unit") or released is None:
            return None, quantity, None
        return released, quantity, quantity - released

    def actionable(self, released, change):
        """Whether a change passes either threshold that is set (both 0: every change)."""
        if change is None:
            return True
        size = abs(change)
        if self.percent <= 0 and self.quantity <= 0:
            return size > 0
        below_quantity = self.quantity <= 0 or size < self.quantity
        if self.percent <= 0:
            below_percent = True
        elif released == 0:
            below_percent = size == 0
        else:
            below_percent = size * 100 / abs(released) < self.percent
        return not (below_quantity and below_percent)

    def summary(self, count, filtered):
        """The released header's hub "selective_sync", or None when nothing was compared."""
        if not self.compares:
            return None
        return {
            "compared_with_version": self.last.version,
            "threshold_percent": _plain(self.percent),
            "threshold_quantity": _plain(self.quantity),
            "lines_filtered": count,
            "filtered": filtered[:MAX_FILTERED_LISTED],
        }


def _plain(value):
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


# --- the rules ----------------------------------------------------------------------------


def _is(layout, *layouts):
    return any(layout is other for other in layouts)


def _ledger(facts):
    return getattr(facts, "ledger", None)


@rule("STALE_FORECAST_VERSION", applies=lambda layout: _is(layout, FORECAST))
def stale_forecast_version(facts, obj):
    """A forecast version is newer than the last one released for its plan."""
    ledger = _ledger(facts)
    if facts.header is not None or ledger is None or ledger.forecast is None:
        return
    plan = ledger.forecast
    if plan.last is None or not isinstance(plan.version, int) or plan.version > plan.last.version:
        return
    yield Finding(
        "version",
        plan.version,
        f"Plan {plan.plan_id} version {plan.version} is not newer than version "
        f"{plan.last.version}, released on {plan.last.released_at:%Y-%m-%d} as "
        f"{plan.last.message.public_id}; an older or equal version is never released again.",
        f"Send the plan as version {plan.last.version + 1} or later.",
    )


@rule("FORECAST_PERIOD_OUTSIDE_HORIZON", applies=lambda layout: _is(layout, FORECAST))
def forecast_period_outside_horizon(facts, obj):
    """A forecast line's period lies within the planning horizon: the plan policy's number of
    weeks from the horizon start, else the forecast's own horizon."""
    ledger = _ledger(facts)
    if facts.header is None or ledger is None or ledger.forecast is None:
        return
    plan = ledger.forecast
    period = _date(obj.get("period_start"))
    if period is None or plan.start is None or plan.horizon_end is None:
        return
    if plan.start <= period <= plan.horizon_end:
        return
    source = (
        f"the plan's {plan.policy.horizon_weeks}-week horizon"
        if plan.policy is not None and plan.policy.horizon_weeks
        else "the forecast's horizon"
    )
    yield Finding(
        "period_start",
        obj.get("period_start"),
        f"Period {period.isoformat()} lies outside {source} ({plan.start.isoformat()} to "
        f"{plan.horizon_end.isoformat()}).",
        "Leave the period out, or extend the plan's horizon in its policy.",
    )


@rule("FROZEN_FENCE_CHANGE", applies=lambda layout: _is(layout, FORECAST))
def frozen_fence_change(facts, obj):
    """A forecast line inside the plan's frozen fence does not change against the last released
    version (a change is held for a planner's approval)."""
    plan = _comparing(facts)
    if plan is None or plan.fence_end is None:
        return
    period = _date(obj.get("period_start"))
    if period is None or period >= plan.fence_end:
        return
    found = plan.change(obj)
    if found is None:
        return
    released, quantity, change = found
    if change == 0 or not plan.actionable(released, change):
        return
    before = "nothing" if released == 0 else _number(released)
    if change is None:
        before = "a quantity in another unit"
    yield Finding(
        "quantity",
        obj.get("quantity"),
        f"Period {period.isoformat()} is inside the frozen fence ({plan.policy.frozen_fence_days} "
        f"days from {plan.start.isoformat()}); version {plan.version} changes it to "
        f"{_number(quantity)} from {before} in version {plan.last.version}.",
        "A planner approves the change (release by override) or sends the frozen periods "
        "unchanged.",
    )


@rule(NOT_ACTIONABLE, applies=lambda layout: _is(layout, FORECAST))
def change_not_actionable(facts, obj):
    """Selective synchronization: a forecast line whose change against the last released
    version is below the plan's thresholds is left out of the released payload."""
    plan = _comparing(facts)
    if plan is None or (plan.percent <= 0 and plan.quantity <= 0):
        return
    found = plan.change(obj)
    if found is None:
        return
    released, quantity, change = found
    if plan.actionable(released, change):
        return
    percent = f"{change * 100 / released:+.1f} %" if released else "0 %"
    yield Finding(
        "quantity",
        obj.get("quantity"),
        f"Changed by {_number(change)} ({percent}) against version {plan.last.version}: below "
        f"the plan's thresholds ({_plain(plan.percent)} % and {_plain(plan.quantity)}).",
        None,
        {"released_quantity": _plain(released)},
    )


def _comparing(facts):
    ledger = _ledger(facts)
    if facts.header is None or ledger is None or ledger.forecast is None:
        return None
    plan = ledger.forecast
    return plan if plan.compares else None


@rule("PO_CHANGE_OUT_OF_SEQUENCE", applies=lambda layout: _is(layout, PURCHASE_ORDER))
def po_change_out_of_sequence(facts, obj):
    """A purchase order change names a released order and a newer change sequence; an original
    (sequence 0) names a new order."""
    ledger = _ledger(facts)
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


def _order_of(facts, obj):
    """(order number, the order or None) a header or line of an acknowledgement, ship notice
    or receipt names; (None, None) when it names none."""
    ledger = _ledger(facts)
    if ledger is None:
        return None, None
    layout = facts.layout
    if _is(layout, ACKNOWLEDGEMENT):
        number = ledger.header.get("po_number")
        if facts.header is None:
            return number, ledger.order(facts.supplier_pk, number)
    elif facts.header is not None and _is(layout, SHIP_NOTICE, RECEIPT):
        number = obj.get("po_number")
    else:
        return None, None
    if not isinstance(number, str):
        return None, None
    if _is(layout, RECEIPT):
        return number, ledger.order(None, number, facts.plant)
    if facts.supplier_pk is None:
        return None, None
    return number, ledger.order(facts.supplier_pk, number)


@rule("UNKNOWN_PO", applies=lambda layout: _is(layout, ACKNOWLEDGEMENT, SHIP_NOTICE, RECEIPT))
def unknown_po(facts, obj):
    """An acknowledgement, ship notice or receipt names a purchase order the hub released (to
    the sender's supplier)."""
    if _is(facts.layout, ACKNOWLEDGEMENT) and facts.header is not None:
        return  # the header says it once
    number, order = _order_of(facts, obj)
    if number is None or order is not None:
        return
    whom = "" if _is(facts.layout, RECEIPT) else " to this supplier"
    yield Finding(
        "po_number",
        number,
        f"The hub has released no purchase order {number}{whom}.",
        "Check the order number; an order must be released through the hub before it is "
        "acknowledged, shipped or received.",
    )


@rule("UNKNOWN_PO_LINE", applies=lambda layout: _is(layout, ACKNOWLEDGEMENT, SHIP_NOTICE, RECEIPT))
def unknown_po_line(facts, obj):
    """A line of an acknowledgement, ship notice or receipt names a line of its order."""
    if facts.header is None:
        return
    number, order = _order_of(facts, obj)
    field = "line" if _is(facts.layout, ACKNOWLEDGEMENT) else "po_line"
    value = obj.get(field)
    if order is None or not isinstance(value, int):
        return
    ledger = _ledger(facts)
    if ledger.order_line(order, value) is not None:
        return
    known = ", ".join(str(n) for n in ledger.line_numbers(order))
    yield Finding(
        field,
        value,
        f"Purchase order {number} has no line {value} (its lines: {known or 'none'}).",
        "Name a line of the order as released.",
    )


def _ack_line(facts, obj):
    """(order line, canonical status, committed base quantity) of an acknowledgement line, or
    None when it does not correlate."""
    ledger = _ledger(facts)
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


@rule("ACK_QUANTITY_MISMATCH", applies=lambda layout: _is(layout, ACKNOWLEDGEMENT))
def ack_quantity_mismatch(facts, obj):
    """What an acknowledgement commits for an order line does not exceed what was ordered,
    and a plainly accepted line commits exactly that."""
    found = _ack_line(facts, obj)
    if found is None or found[2] is None:
        return
    order_line, status, committed = found
    ledger = _ledger(facts)
    ordered = order_line.base_quantity
    unit = order_line.base_unit_id
    total = ledger.seen_committed[order_line.pk] + committed
    ledger.seen_committed[order_line.pk] = total
    if total > ordered:
        yield Finding(
            "committed_quantity",
            obj.get("committed_quantity"),
            f"Line {order_line.line} of purchase order {order_line.order.po_number} ordered "
            f"{_number(ordered)} {unit}; the acknowledgement commits {_number(total)} {unit}.",
            "Commit at most the ordered quantity; the buyer changes the order for more.",
        )
    elif status == ACCEPTED and ledger.ack_lines[order_line.line] == 1 and total != ordered:
        yield Finding(
            "committed_quantity",
            obj.get("committed_quantity"),
            f"Line {order_line.line} is accepted as ordered, but commits {_number(total)} {unit} "
            f"of the {_number(ordered)} {unit} ordered.",
            "Send an accepted-with-changes or backordered status for another quantity.",
        )


@rule("COMMITTED_DATE_NOT_WORKING_DAY", applies=lambda layout: _is(layout, ACKNOWLEDGEMENT))
def committed_date_not_working_day(facts, obj):
    """An acknowledgement's committed date is a working day of the order's supplier site."""
    ledger = _ledger(facts)
    if ledger is None or facts.header is None or facts.supplier_pk is None:
        return
    day = _date(obj.get("committed_date"))
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


@rule("SUPPLY_AT_RISK", applies=lambda layout: _is(layout, ACKNOWLEDGEMENT))
def supply_at_risk(facts, obj):
    """An accepted-with-changes or backordered acknowledgement line that commits less, or
    later, than ordered: released, and raised as a supply exception for planners."""
    found = _ack_line(facts, obj)
    if found is None or found[1] not in AT_RISK_STATUSES or found[2] is None:
        return
    order_line, status, committed = found
    day = _date(obj.get("committed_date"))
    late = (day - order_line.need_by).days if day and day > order_line.need_by else 0
    unit = order_line.base_unit_id
    if late:
        text = (
            f"{_number(committed)} {unit} of line {order_line.line} come {late} "
            f"day{'s' * (late != 1)} after the need-by date {order_line.need_by.isoformat()}"
        )
    elif committed < order_line.base_quantity and _ledger(facts).ack_lines[order_line.line] == 1:
        text = (
            f"Line {order_line.line} commits {_number(committed)} of "
            f"{_number(order_line.base_quantity)} {unit}"
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


@rule("DUPLICATE_SHIPMENT", applies=lambda layout: _is(layout, SHIP_NOTICE))
def duplicate_shipment(facts, obj):
    """A ship notice's shipment id is not one the supplier's released ship notices used."""
    ledger = _ledger(facts)
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


@rule("OVER_SHIPMENT", applies=lambda layout: _is(layout, SHIP_NOTICE))
def over_shipment(facts, obj):
    """What an order line's shipments carry in all stays within what was acknowledged (else
    ordered), plus the rule's tolerance."""
    if facts.header is None:
        return
    _, order = _order_of(facts, obj)
    ledger = _ledger(facts)
    order_line = ledger.order_line(order, obj.get("po_line")) if order else None
    if order_line is None:
        return
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
        f"acknowledged {_number(limit)} (ordered {_number(order_line.base_quantity)})"
        if acknowledged
        else f"ordered {_number(limit)}"
    )
    yield Finding(
        "quantity",
        obj.get("quantity"),
        f"Line {order_line.line} of purchase order {order.po_number} would be shipped "
        f"{_number(shipped)} {unit} in all: more than the {against} {unit} plus the "
        f"{_plain(tolerance)} % tolerance.",
        "Ship at most the acknowledged quantity, or ask the buyer to change the order.",
    )


@rule("SSCC_INVALID", applies=lambda layout: _is(layout, SHIP_NOTICE))
def sscc_invalid(facts, obj):
    """Every pack of a ship notice line (contract v2) has a valid SSCC (18 digits, GS1 check
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


# --- writing the ledger -------------------------------------------------------------------


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
        horizon_start=_date(horizon.get("start")),
        lines_filtered=lines_filtered,
        released_at=now,
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
            "order_date": _date(payload["order_date"]),
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
            order_date=_date(payload["order_date"]),
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
                "quantity": _decimal(line["quantity"]),
                "unit_id": unit,
                "base_quantity": _decimal(base["value"]),
                "base_unit_id": base["unit"],
                "need_by": _date(line["need_by"]),
            },
        )


def _records_supplier(payload):
    supplier_id = _hub_id(payload, "supplier")
    from mdm.models import Supplier

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
        ack_date=_date(payload["ack_date"]),
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
            (status.partition(":")[2], quantity, _date(line["committed_date"]))
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
        SupplyException.objects.create(
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


def _base_quantity(line, order_line, field):
    """A released line's quantity in the order line item's base unit: the enrichment's, or
    (for a line that names no item, as an acknowledgement may) converted here."""
    quantity = ((line.get("hub") or {}).get("quantity") or {}).get("value")
    if quantity is not None:
        return _decimal(quantity)
    unit = _hub_id(line, "unit")
    number = _decimal(line.get(field))
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
        ship_date=_date(payload["ship_date"]),
        expected_delivery=_date(payload["expected_delivery"]),
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
        received_on=_date(payload["received_at"]),
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
    """(line, order line, base quantity) of the released lines that name a known order line."""
    orders = {}
    for line in payload["lines"]:
        quantity = ((line.get("hub") or {}).get("quantity") or {}).get("value")
        key = line.get("po_number")
        if key not in orders:
            found = PurchaseOrder.objects.filter(po_number=key)
            if supplier is not None:
                found = found.filter(supplier_id=supplier)
            orders[key] = list(found[:2])
        if len(orders[key]) != 1 or quantity is None:
            continue
        order_line = (
            PurchaseOrderLine.objects.filter(order=orders[key][0], line=line.get("po_line"))
            .select_related("order")
            .first()
        )
        if order_line is not None:
            yield line, order_line, _decimal(quantity)


RECORDERS = {
    "forecast": _forecast,
    "purchase_order": _purchase_order,
    "po_acknowledgement": _acknowledgement,
    "ship_notice": _ship_notice,
    "receipt": _receipt,
}


# --- status codes ------------------------------------------------------------------------

DATA_DIR = Path(__file__).resolve().parent / "data"
# The canonical acknowledgement line statuses: code, meaning.
ACK_STATUSES = (
    (ACCEPTED, "Accepted as ordered"),
    (CHANGED, "Accepted with changes to quantity, date or price"),
    (BACKORDERED, "Backordered: accepted, delivery later"),
    (REJECTED, "Rejected"),
    ("on_hold", "On hold: supplier has not decided yet"),
)
SCHEMES = ("x12_668", "portal")


def status_code_map(scheme):
    """[(code, description, canonical status)] of a scheme of validation/data: the X12 855
    ACK01 codes (element 668) that have a status, or a portal's words."""
    with open(DATA_DIR / "ack_status_map.csv", encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["scheme"] == scheme]
    statuses = [(row["code"], row["status"]) for row in rows]
    descriptions = {}
    if scheme == "x12_668":
        with open(DATA_DIR / "x12_element_668.csv", encoding="utf-8", newline="") as handle:
            descriptions = {row["code"]: row["description"] for row in csv.DictReader(handle)}
    return [(code, descriptions.get(code, code), status) for code, status in statuses]


def load_status_codes(system, scheme):
    """Make sure ACK_LINE_STATUS has the canonical statuses, and register a scheme's codes as
    `system`'s cross-references to them (idempotent; a code a steward mapped elsewhere is
    left alone). Returns {"registered", "unchanged", "conflicts"}."""
    from mdm.models import CodeList, CodeValue
    from xref.models import CrossReference
    from xref.services import ReferenceConflict, register_reference

    code_list, _ = CodeList.objects.get_or_create(
        code=ACK_LIST,
        defaults={
            "name": "Acknowledgement line status",
            "description": "How a supplier answered one purchase order line.",
        },
    )
    values = {}
    for order, (code, meaning) in enumerate(ACK_STATUSES):
        values[code], _ = CodeValue.objects.get_or_create(
            code_list=code_list, code=code, defaults={"meaning": meaning, "sort_order": order}
        )
    counts = {"registered": 0, "unchanged": 0, "conflicts": 0}
    for code, _, status in status_code_map(scheme):
        try:
            _, created = register_reference(
                kind="code_value",
                system=system,
                code=code,
                target=values[status],
                origin=CrossReference.Origin.IMPORT,
            )
        except ReferenceConflict:
            counts["conflicts"] += 1
            continue
        counts["registered" if created else "unchanged"] += 1
    return counts


# --- supply exceptions -------------------------------------------------------------------


def supply_exceptions():
    """Supply exceptions with what their screen and API show, newest first."""
    return SupplyException.objects.select_related(
        "supplier", "item", "plant", "order_line__order", "acknowledgement__message"
    ).order_by("-raised_at", "-id")


# --- figures for the metrics --------------------------------------------------------------


def acknowledgement_turnaround(since=None):
    """Per supplier (public id): how long from a purchase order's first release to its first
    acknowledgement, over the acknowledged orders (released since `since`, when given):
    {"orders", "avg_seconds", "max_seconds"}."""
    orders = PurchaseOrder.objects.all()
    if since is not None:
        orders = orders.filter(released_at__gte=since)
    firsts = (
        orders.filter(acknowledgements__isnull=False)
        .annotate(first_ack=Min("acknowledgements__recorded_at"))
        .values_list("supplier__public_id", "released_at", "first_ack")
    )
    spans = defaultdict(list)
    for supplier, released, acknowledged in firsts:
        spans[supplier].append(max((acknowledged - released).total_seconds(), 0.0))
    return {
        supplier: {
            "orders": len(seconds),
            "avg_seconds": sum(seconds) / len(seconds),
            "max_seconds": max(seconds),
        }
        for supplier, seconds in sorted(spans.items())
    }


def ship_notice_coverage(since=None):
    """Receipt lines in all (of receipts recorded since `since`, when given), those a ship
    notice announced before (same order line and shipment), and the share: {"receipts",
    "with_ship_notice", "share"} (share None when nothing was received)."""
    lines = ReceiptLine.objects.all()
    if since is not None:
        lines = lines.filter(receipt__recorded_at__gte=since)
    totals = lines.aggregate(
        receipts=Count("pk"),
        with_ship_notice=Count(
            "pk", filter=Q(notice__isnull=False, notice__recorded_at__lte=F("receipt__recorded_at"))
        ),
    )
    receipts = totals["receipts"]
    covered = totals["with_ship_notice"]
    return {
        "receipts": receipts,
        "with_ship_notice": covered,
        "share": covered / receipts if receipts else None,
    }
