"""What the business controls share: `Ledger`, what the document ledger says about one message
(looked up once per pipeline Check and remembered for every chunk of its lines), and the
helpers of their findings."""

import datetime
import difflib
from collections import defaultdict
from decimal import Decimal

from mdm import units as unit_service
from mdm.calendars import WorkingCalendar
from mdm.models import SupplierSite, Unit
from validation.claims import LARGE_FIELDS
from validation.layouts import ACK_LIST, LAYOUTS
from validation.ledger import date_or_none, decimal_or_none, order_lines
from validation.models import (
    ForecastRelease,
    InboundMessage,
    PlanPolicy,
    PurchaseOrder,
    Rule,
    ShipNotice,
)

FORECAST = LAYOUTS["forecast"]
PURCHASE_ORDER = LAYOUTS["purchase_order"]
ACKNOWLEDGEMENT = LAYOUTS["po_acknowledgement"]
SHIP_NOTICE = LAYOUTS["ship_notice"]
RECEIPT = LAYOUTS["receipt"]
ACCEPTANCE = LAYOUTS["forecast_acceptance"]
# The rule whose findings take a forecast line out of the release instead of diagnosing it.
NOT_ACTIONABLE = "CHANGE_NOT_ACTIONABLE"
MAX_FILTERED_LISTED = 1000


def readable(value):
    """A quantity as people read it: 1,200 or 12.5."""
    text = f"{value.normalize():,f}" if isinstance(value, Decimal) else str(value)
    return text


def status_code(answer):
    """The canonical status (accepted, rejected...) of a resolved ACK_LINE_STATUS code."""
    if not answer or answer.get("status") != "resolved":
        return None
    list_code, _, value = answer["id"].partition(":")
    return value if list_code == ACK_LIST else None


class Ledger:
    """What the ledger says about one message, looked up once per Check (validation.pipeline)
    and remembered for every chunk of its lines."""

    def __init__(self, message_type, system, header, as_of):
        self.message_type = message_type
        self.system = system
        self.header = header
        self.as_of = as_of
        self._orders = {}  # (supplier pk or None, po number, plant pk) -> PurchaseOrder | None
        self._lines = {}  # order pk -> its validation.ledger.OrderLines
        self._calendars = {}  # supplier site pk -> WorkingCalendar | None
        self._base = {}  # (order line pk, unit, quantity) -> base quantity | None
        # Per order line, over the lines seen so far: how many acknowledgement lines name it
        # and what they commit, and what the ship notice's lines carry.
        self.ack_lines = defaultdict(int)
        self.seen_committed = defaultdict(Decimal)
        self.seen_shipped = defaultdict(Decimal)
        self.forecast = _ForecastFacts(system, header) if message_type == "forecast" else None
        self.acceptance = (
            _AcceptanceFacts(header) if message_type == "forecast_acceptance" else None
        )
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
                self._lines[order.pk] = order_lines(order)
            self._orders[key] = order
        return self._orders[key]

    def lines(self, order):
        """The OrderLines of an order `order()` returned (validation.ledger): the order line
        a ship notice or receipt line means is `lines(order).find(po_line, item id)`."""
        return self._lines[order.pk]

    def order_line(self, order, number):
        """The line numbered `number` of an order `order()` returned (or of None: None)."""
        return self._lines[order.pk].by_number.get(number) if order is not None else None

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
        number = decimal_or_none(quantity)
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
        self.start = date_or_none(horizon.get("start"))
        self.end = date_or_none(horizon.get("end"))
        policies = {
            policy.plan_id: policy
            for policy in PlanPolicy.objects.filter(system=system, plan_id__in=[self.plan_id, ""])
        }
        self.policy = policies.get(self.plan_id) or policies.get("")
        self.last = (
            ForecastRelease.objects.filter(system=system, plan_id=self.plan_id)
            .select_related("message")
            .defer(*(f"message__{field}" for field in LARGE_FIELDS))  # a forecast's: 100 MB
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
                    self._previous[key] = (decimal_or_none(line.get("quantity")), line.get("unit"))
        return self._previous

    def change(self, line):
        """(released quantity, quantity, change) of a line against the last release; the
        released quantity is 0 for a line the last release did not have, None when the two
        are in different units."""
        quantity = decimal_or_none(line.get("quantity"))
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
            "threshold_percent": plain(self.percent),
            "threshold_quantity": plain(self.quantity),
            "lines_filtered": count,
            "filtered": filtered[:MAX_FILTERED_LISTED],
        }


class _AcceptanceFacts:
    """The plan an ERP's forecast acceptance names: the versions the hub released of it, by
    any planning system (the ERP knows the plan by the id it was released with, not by who
    planned it), as (version, released_at, message public id), oldest version first."""

    def __init__(self, header):
        self.plan_id = header.get("plan_id")
        self.version = header.get("version")
        self.releases = (
            list(
                ForecastRelease.objects.filter(plan_id=self.plan_id)
                .order_by("version", "released_at")
                .values_list("version", "released_at", "message__public_id")
            )
            if isinstance(self.plan_id, str)
            else []
        )

    @property
    def released(self):
        """Whether the hub released the version named."""
        return any(version == self.version for version, _, _ in self.releases)

    def similar_plans(self, limit=3):
        """Plan ids the hub released that look like the one named (for a plan it never
        released), closest first."""
        plan_ids = (
            ForecastRelease.objects.order_by("plan_id").values_list("plan_id", flat=True).distinct()
        )
        return difflib.get_close_matches(str(self.plan_id), list(plan_ids), n=limit, cutoff=0.6)


def plain(value):
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def is_layout(layout, *layouts):
    return any(layout is other for other in layouts)


def ledger_of(facts):
    return getattr(facts, "ledger", None)
