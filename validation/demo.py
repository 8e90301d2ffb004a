"""Demo messages: what Valdor's four systems send the hub on an ordinary day, and one message
for each rule that quarantines it.

`seed_demo` (mdm.demo) sends mdm.signals.demo_seeded at the end of its transaction; this
app's receiver is connected after xref's (validation comes after xref in INSTALLED_APPS, and
receivers run in the order their apps were made ready), and it does its work once the seed
has committed (transaction.on_commit), when the demo records and cross-references are there
for good: messages are submitted like a sync flow would submit them, through
validation.services, each as its system, and validated at once in eager mode (`make run`) or
by the workers (one after the other: the demo waits for each outcome, since the business
controls compare a message with what was released before it).

Released: a PLANNING forecast (one line for an item the plant's ERP does not stock: released
with a NO_TARGET_CODE warning), ERP_LEGACY and ERP_CLOUD purchase orders, a SUPPLIER_NET
acknowledgement and ship notice, ERP_LEGACY and ERP_CLOUD receipts and inventory balances.
Quarantined: one message per error rule, the first with a NO_TARGET_CODE warning beside its
error. Legacy messages are dated three weeks before the ERP cut-over, cloud ones a week after
it: the cut-over is stored in the data, so the dates (and payloads) are the same on every
seed, and the deterministic idempotency keys make a second seed submit nothing new.

The demo cross-references (xref.demo) have no code a purchase order can ship to in the ERPs
(a plant does not receive, and a dock's ERP code is unique only within its plant), no ERP
codes for supplier sites and no supplier network codes for items. The few the messages need
are registered here first, idempotently and never preferred over the demo's own: ERP ship-to
codes for the plants' goods-receipt docks (GR1000, DOCK-DE10), ERP codes for the suppliers'
sites, and supplier network part numbers (VP-<item number>) for the items the network
messages name.
"""

import datetime
import logging
import time

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q

from core.history import change_source
from hub.celery import app as celery_app
from mdm.calendars import WorkingCalendar
from mdm.models import (
    Item,
    ItemRevision,
    ItemUnitConversion,
    Location,
    SourceSystem,
    Supplier,
    SupplierSite,
)
from validation import controls, services
from validation.models import InboundMessage, PlanPolicy
from xref.models import CrossReference, Kind
from xref.services import ReferenceConflict, register_reference

logger = logging.getLogger(__name__)

LEGACY, CLOUD, PLANNING, NETWORK = "ERP_LEGACY", "ERP_CLOUD", "PLANNING", "SUPPLIER_NET"
# Demo plant -> (ERP_LEGACY plant, ERP_CLOUD plant), as xref.demo codes them.
PLANTS = {"DE01": ("1000", "DE10"), "US01": ("2000", "US10"), "MX01": ("3000", "MX10")}
KEY_PREFIX = "demo-"


def seed_demo_messages(sender, today, items, suppliers, **kwargs):
    """demo_seeded receiver: submit the demo messages once the seed has committed."""
    transaction.on_commit(submit_demo_messages)
    return []


def submit_demo_messages():
    """Register the references the messages need, then submit every demo message not
    submitted yet. Returns {status: count} of the demo messages."""
    started = time.monotonic()
    with change_source("command", reference="seed_demo"):
        world = DemoWorld.load()
        if world is None:
            logger.info("No demo cross-references: no demo messages submitted.")
            return {}
        world.register_references()
        submitted = 0
        waiting = True
        for system, key, message_type, payload, *version in world.messages():
            try:
                submission = services.submit_message(
                    system=world.systems[system],
                    message_type=message_type,
                    schema_version=version[0] if version else 1,
                    payload=payload,
                    idempotency_key=KEY_PREFIX + key,
                )
            except (services.IdempotencyConflict, services.PartConflict) as exc:
                logger.warning("Demo message %s not submitted: %s", key, exc)
                continue
            submitted += submission.created
            if waiting and submission.created and not celery_app.conf.task_always_eager:
                # With workers, the next message may depend on this one's release (an
                # acknowledgement on its order, a forecast version on the one before). No
                # outcome in time: no worker is running yet, so the rest are not waited for.
                waiting = _wait_for_outcome(submission.message.pk)
    statuses = dict(
        InboundMessage.objects.filter(idempotency_key__startswith=KEY_PREFIX)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    logger.info(
        "Demo messages: %s submitted in %.1f s; %s",
        submitted,
        time.monotonic() - started,
        statuses,
    )
    return statuses


# How long the demo waits for a worker to validate each message before sending the next.
WAIT_SECONDS = 30


def _wait_for_outcome(pk):
    """Whether the message reached its outcome within WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        status = InboundMessage.objects.values_list("status", flat=True).get(pk=pk)
        if status in InboundMessage.FINAL_STATUSES:
            return True
        time.sleep(0.2)
    logger.warning(
        "Demo message %s not validated within %s s (is a worker running?); the rest are sent "
        "without waiting, and those that depend on an earlier release may be quarantined.",
        pk,
        WAIT_SECONDS,
    )
    return False


class DemoWorld:
    """The demo records the messages are about, and the dates they are sent on."""

    @classmethod
    def load(cls):
        codes = (LEGACY, CLOUD, PLANNING, NETWORK)
        systems = {system.code: system for system in SourceSystem.objects.filter(code__in=codes)}
        cutover = (
            CrossReference.objects.filter(
                system__code=CLOUD, kind=Kind.LOCATION, code=PLANTS["DE01"][1]
            )
            .exclude(valid_from=None)
            .values_list("valid_from", flat=True)
            .first()
        )
        plants = {
            p.code: p for p in Location.objects.filter(code__in=PLANTS).select_related("calendar")
        }
        if len(systems) < 4 or cutover is None or len(plants) < len(PLANTS):
            return None
        return cls(systems, cutover, plants)

    def __init__(self, systems, cutover, plants):
        self.systems = systems
        self.cutover = cutover
        self.plants = plants
        self.docks = {
            location.parent.code: location
            for location in Location.objects.filter(
                code__in=[f"{plant}-GR1" for plant in PLANTS]
            ).select_related("parent")
        }
        self.calendar = WorkingCalendar(plants["DE01"].calendar)
        # Legacy messages three weeks before the cut-over, cloud ones a week after it.
        self.legacy_day = self.calendar.add_working_days(cutover - datetime.timedelta(days=21), 0)
        self.cloud_day = self.calendar.add_working_days(cutover + datetime.timedelta(days=7), 0)
        self._pick_records()

    # --- the records ------------------------------------------------------------------------

    def _pick_records(self):
        """Items, suppliers and sites for the messages: the lowest numbers that fit, so a
        bigger seed picks the same ones."""
        stocked = {}  # item pk -> {legacy plant: legacy code}
        for item_id, scope, code in CrossReference.objects.filter(
            system__code=LEGACY, kind=Kind.ITEM, status="active"
        ).values_list("item_id", "scope", "code"):
            stocked.setdefault(item_id, {})[scope] = code
        self.legacy_codes = stocked
        items = Item.objects.filter(pk__in=stocked, base_unit_id="H87").order_by("number")
        active = items.filter(status=Item.Status.ACTIVE)
        in_all = [item for item in active if len(stocked[item.pk]) == 3]
        in_1000 = [item for item in active if "1000" in stocked[item.pk]]
        boxes = ItemUnitConversion.objects.filter(
            item=OuterRef("pk"), from_unit_id="XBX", to_unit_id="H87", supplier=None
        )
        any_conversion = ItemUnitConversion.objects.filter(item=OuterRef("pk"))
        self.forecast_items = in_all[:6]
        self.order_items = in_1000[:4]
        self.box_item = active.filter(Exists(boxes)).filter(pk__in=[i.pk for i in in_1000]).first()
        self.no_box_item = next(
            (
                item
                for item in active.filter(~Exists(any_conversion), net_weight=None)
                if "1000" in stocked[item.pk]
            ),
            None,
        )
        self.only_1000 = next((item for item in in_1000 if set(stocked[item.pk]) == {"1000"}), None)
        self.obsolete_item = self._first_in_1000(items.filter(status=Item.Status.OBSOLETE))
        self.blocked_item = self._first_in_1000(items.filter(status=Item.Status.BLOCKED))
        old_revision = ItemRevision.objects.filter(item=OuterRef("pk"), status="obsolete")
        self.revised_item = self._first_in_1000(active.filter(Exists(old_revision)))
        self.revisions = {}
        if self.revised_item:
            rows = ItemRevision.objects.filter(item=self.revised_item).order_by("effective_from")
            self.revisions = {row.status: row.revision for row in rows}

        active_site = SupplierSite.objects.filter(supplier=OuterRef("pk"), status="active")
        suppliers = Supplier.objects.order_by("number")
        self.supplier = suppliers.filter(Exists(active_site), status="active").first()
        self.site = (
            SupplierSite.objects.filter(supplier=self.supplier, status="active")
            .order_by("code")
            .first()
        )
        self.gone_supplier = suppliers.exclude(status="active").first()
        self.closed_site = (
            SupplierSite.objects.filter(
                status="inactive", supplier__in=suppliers.filter(status="active")
            )
            .order_by("supplier__number", "code")
            .first()
        )
        self.network_items = [i for i in (*self.order_items, self.box_item) if i is not None]
        self._pick_scenario(active, in_1000, suppliers)

    def _pick_scenario(self, active, in_1000, suppliers):
        """The seed scenario's critical electronic component and its three suppliers."""
        electronic = active.filter(commodity="Electronic assemblies").filter(
            pk__in=[item.pk for item in in_1000]
        )
        self.critical_item = next(
            (
                item
                for item in electronic
                if self.code(PLANNING, Kind.ITEM, item, self.legacy_day)
                and item not in self.forecast_items
            ),
            None,
        )
        self.critical_plan = f"VAL-CRIT-{self.critical_item.number}" if self.critical_item else None
        day = self.legacy_day
        candidates = suppliers.filter(status="active").exclude(
            pk=getattr(self.supplier, "pk", None)
        )
        self.scenario_suppliers = [self.supplier] if self.supplier else []
        for supplier in candidates[:20]:
            if len(self.scenario_suppliers) == 3:
                break
            if self.code(LEGACY, Kind.SUPPLIER, supplier, day) and self.code(
                NETWORK, Kind.SUPPLIER, supplier, day
            ):
                self.scenario_suppliers.append(supplier)
        # The sites the other two ship from, where they have one with a working calendar (the
        # committed dates of their acknowledgements are checked against it).
        self.scenario_sites = {}
        for supplier in self.scenario_suppliers[1:]:
            site = (
                SupplierSite.objects.filter(
                    supplier=supplier, status="active", calendar__isnull=False
                )
                .select_related("calendar")
                .order_by("code")
                .first()
            )
            if site is not None:
                self.scenario_sites[supplier.pk] = site

    def _first_in_1000(self, items):
        return next((item for item in items if "1000" in self.legacy_codes[item.pk]), None)

    def code(self, system, kind, record, day, scope=None):
        """System's code for a record on a day: its preferred one first."""
        field = {Kind.UNIT: "unit_id"}.get(kind, kind)
        lookup = {field: record.pk if hasattr(record, "pk") else record}
        found = CrossReference.objects.filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=day),
            Q(valid_to__isnull=True) | Q(valid_to__gt=day),
            system__code=system,
            kind=kind,
            status="active",
            **lookup,
        )
        if scope is not None:
            found = found.filter(scope=scope)
        return (
            found.order_by("-is_preferred", "scope", "code").values_list("code", flat=True).first()
        )

    # --- references the messages need -------------------------------------------------------

    def register_references(self):
        """The ship-to, site and part number codes the xref demo lacks (see the docstring)."""
        until, since = {"valid_to": self.cutover}, {"valid_from": self.cutover}
        wanted = []
        for plant, (legacy, cloud) in PLANTS.items():
            dock = self.docks.get(plant)
            if dock is not None:
                wanted.append((LEGACY, Kind.LOCATION, f"GR{legacy}", dock, False, until))
                wanted.append((CLOUD, Kind.LOCATION, f"DOCK-{cloud}", dock, False, since))
        for site in (self.site, self.closed_site, *self.scenario_sites.values()):
            if site is None:
                continue
            for system, dates in ((LEGACY, until), (CLOUD, since)):
                day = self.legacy_day if system == LEGACY else self.cloud_day
                supplier_code = self.code(system, Kind.SUPPLIER, site.supplier, day)
                if supplier_code:
                    code = f"{supplier_code}-{site.code}"
                    wanted.append((system, Kind.SUPPLIER_SITE, code, site, True, dates))
        for item in self.network_items:
            wanted.append((NETWORK, Kind.ITEM, f"VP-{item.number}", item, True, {}))
        # The supplier portal the network relays answers in words of its own.
        controls.load_status_codes(self.systems[NETWORK], "portal")
        if self.critical_item is not None:
            PlanPolicy.objects.get_or_create(
                system=self.systems[PLANNING],
                plan_id=self.critical_plan,
                defaults={
                    "horizon_weeks": 12,
                    "frozen_fence_days": 14,
                    "change_threshold_percent": 5,
                    "change_threshold_quantity": 20,
                    "notes": "Critical electronic component: two frozen weeks; changes under "
                    "5 % and 20 pieces are not sent to the ERP.",
                },
            )
        for system, kind, code, target, preferred, dates in wanted:
            try:
                register_reference(
                    kind=kind,
                    system=self.systems[system],
                    code=code,
                    target=target,
                    is_preferred=preferred,
                    origin=CrossReference.Origin.IMPORT,
                    **dates,
                )
            except ReferenceConflict as exc:  # a steward claimed the code since: theirs
                logger.info("Demo reference %s %s left alone: %s", system, code, exc)

    # --- the messages -----------------------------------------------------------------------

    def messages(self):
        """(system, idempotency key, message type, payload) of every demo message."""
        builders = (
            self._forecasts,
            self._purchase_orders,
            self._network_messages,
            self._receipts_and_stock,
            self._scenario,
            self._quarantined,
            self._refused_by_controls,
        )
        for build in builders:
            yield from build()

    def _units(self, system, day):
        piece = self.code(system, Kind.UNIT, "H87", day)
        box = self.code(system, Kind.UNIT, "XBX", day)
        return piece, box

    def _forecasts(self):
        if not self.forecast_items:
            return
        start = self.legacy_day - datetime.timedelta(days=self.legacy_day.weekday())
        piece, _ = self._units(PLANNING, start)
        lines = []
        plants = [(p, self.code(PLANNING, Kind.LOCATION, self.plants[p], start)) for p in PLANTS]
        for week in range(8):
            period = (start + datetime.timedelta(weeks=week)).isoformat()
            for n, item in enumerate(self.forecast_items):
                code = self.code(PLANNING, Kind.ITEM, item, start)
                for k, (_, location) in enumerate(plants):
                    quantity = 40 * (n + 1) + 10 * k + 5 * (week % 3)
                    lines.append(self._forecast_line(code, location, period, quantity, piece))
        if self.only_1000 is not None:  # the MX01 ERP does not stock it: NO_TARGET_CODE
            code = self.code(PLANNING, Kind.ITEM, self.only_1000, start)
            lines.append(self._forecast_line(code, plants[2][1], start.isoformat(), 25, piece))
        yield PLANNING, "forecast-sop", "forecast", self._forecast(start, "SOP", lines)

    def _forecast(self, start, plan, lines):
        return {
            "plan_id": f"VAL-{plan}-{self.cutover:%Y-%m}",
            "version": 1,
            "horizon": {
                "start": start.isoformat(),
                "end": (start + datetime.timedelta(weeks=8, days=-1)).isoformat(),
            },
            "bucket": "week",
            "lines": lines,
        }

    @staticmethod
    def _forecast_line(item, location, period, quantity, unit):
        return {
            "item": item,
            "location": location,
            "period_start": period,
            "quantity": quantity,
            "unit": unit,
        }

    def _order(self, system, number, day, ship_to, lines, supplier=None, site=None):
        """A purchase order; `site` defaults to the supplier's active site (give False for
        none)."""
        supplier = supplier or self.supplier
        payload = {
            "po_number": number,
            "change_sequence": 0,
            "supplier": self.code(system, Kind.SUPPLIER, supplier, day),
            "ship_to": ship_to,
            "order_date": day.isoformat(),
            "currency": "EUR",
            "lines": lines,
        }
        site = site if site is not None else self.site
        site_code = self.code(system, Kind.SUPPLIER_SITE, site, day) if site else None
        if site_code:
            payload["supplier_site"] = site_code
        return payload

    def _order_line(self, n, system, item, day, quantity, unit, need_by=None, **extra):
        scope = PLANTS["DE01"][0] if system == LEGACY else None
        return {
            "line": 10 * n,
            "item": self.code(system, Kind.ITEM, item, day, scope=scope),
            "quantity": str(quantity),
            "unit": unit,
            "need_by": (need_by or self.calendar.add_working_days(day, 10)).isoformat(),
            **extra,
        }

    def _purchase_orders(self):
        day = self.legacy_day
        piece, box = self._units(LEGACY, day)
        lines = [
            self._order_line(n, LEGACY, item, day, 100 * n, piece)
            for n, item in enumerate(self.order_items, start=1)
        ]
        if self.box_item is not None:
            lines.append(self._order_line(len(lines) + 1, LEGACY, self.box_item, day, 3, box))
        if lines and self.supplier:
            payload = self._order(LEGACY, "4500010001", day, "GR1000", lines)
            yield LEGACY, "po-4500010001", "purchase_order", payload
        day = self.cloud_day
        piece, _ = self._units(CLOUD, day)
        lines = [
            self._order_line(n, CLOUD, item, day, 250, piece)
            for n, item in enumerate(self.order_items[:2], start=1)
        ]
        if lines and self.supplier:
            payload = self._order(CLOUD, "PO-2000001", day, "DOCK-DE10", lines)
            yield CLOUD, "po-2000001", "purchase_order", payload

    def _network_messages(self):
        if not self.supplier or not self.order_items:
            return
        day = self.calendar.add_working_days(self.legacy_day, 1)
        supplier = self.code(NETWORK, Kind.SUPPLIER, self.supplier, day)
        each = self.code(NETWORK, Kind.UNIT, "H87", day)
        statuses = ("IA", "IA", "IC", "IR")
        lines = []
        for n, item in enumerate(self.order_items, start=1):
            status = statuses[(n - 1) % len(statuses)]
            committed = self.calendar.add_working_days(self.legacy_day, 10 + (status == "IC"))
            lines.append(
                {
                    "line": 10 * n,
                    "status": status,
                    "committed_quantity": 0 if status == "IR" else 100 * n,
                    "unit": each,
                    "committed_date": committed.isoformat(),
                    "item": f"VP-{item.number}",
                }
            )
        ack = {
            "po_number": "4500010001",
            "ack_number": "ACK-4500010001-1",
            "supplier": supplier,
            "ack_date": day.isoformat(),
            "lines": lines,
        }
        yield NETWORK, "ack-4500010001", "po_acknowledgement", ack
        yield NETWORK, "asn-4500010001", "ship_notice", self._ship_notice("ASN-4500010001-1")

    def _ship_notice(self, shipment, quantity=None, lines=3):
        ship_day = self.calendar.add_working_days(self.legacy_day, 8)
        dock = self.docks["DE01"]
        return {
            "shipment_id": shipment,
            "supplier": self.code(NETWORK, Kind.SUPPLIER, self.supplier, ship_day),
            "ship_date": ship_day.isoformat(),
            "expected_delivery": self.calendar.add_working_days(ship_day, 2).isoformat(),
            "ship_to": dock.gln,
            "lines": [
                {
                    "po_number": "4500010001",
                    "po_line": 10 * n,
                    "item": f"VP-{item.number}",
                    "quantity": quantity if quantity is not None and n == 1 else 100 * n,
                    "unit": self.code(NETWORK, Kind.UNIT, "H87", ship_day),
                }
                for n, item in enumerate(self.order_items[:lines], start=1)
            ],
        }

    def _receipts_and_stock(self):
        if not self.order_items:
            return
        day = self.calendar.add_working_days(self.legacy_day, 10)
        piece, _ = self._units(LEGACY, day)
        receipt = {
            "receipt_id": "5000100001",
            "location": "GR1000",
            "received_at": day.isoformat(),
            "lines": [
                {
                    "po_number": "4500010001",
                    "po_line": 10 * n,
                    "shipment_id": "ASN-4500010001-1",
                    "item": self.legacy_codes[item.pk]["1000"],
                    "quantity": str(100 * n),
                    "unit": piece,
                }
                for n, item in enumerate(self.order_items[:3], start=1)
            ],
        }
        yield LEGACY, "gr-5000100001", "receipt", receipt
        stock = {
            "location": PLANTS["DE01"][0],
            "as_of": day.isoformat(),
            "lines": [
                {
                    "item": self.legacy_codes[item.pk]["1000"],
                    "quantity": str(150 * n) if n < 4 else "0",
                    "unit": piece,
                    "stock_type": "UNR",
                }
                for n, item in enumerate(self.order_items, start=1)
            ],
        }
        yield LEGACY, "stock-1000", "inventory_balance", stock
        day = self.cloud_day
        piece, _ = self._units(CLOUD, day)
        cloud_stock = {
            "location": PLANTS["US01"][1],
            "as_of": day.isoformat(),
            "lines": [
                {
                    "item": self.code(CLOUD, Kind.ITEM, item, day),
                    "quantity": f"{75 * n}.5",
                    "unit": piece,
                }
                for n, item in enumerate(self.order_items, start=1)
            ],
        }
        yield CLOUD, "stock-us10", "inventory_balance", cloud_stock

    def _quarantined(self):
        """One message per error rule."""
        day = self.legacy_day
        piece, box = self._units(LEGACY, day)
        start = day - datetime.timedelta(days=day.weekday())
        unit = self._units(PLANNING, start)[0]
        if self.forecast_items:
            item = self.code(PLANNING, Kind.ITEM, self.forecast_items[0], start)
            mx01 = self.code(PLANNING, Kind.LOCATION, self.plants["MX01"], start)
            # The planner typed the manufacturer's part number of another item instead of its
            # PLANNING code: unresolved, with that item suggested (matched by its MPN).
            typed = next((i.mpn for i in self.forecast_items[1:] if i.mpn), "PL-9999999")
            lines = [
                self._forecast_line(item, mx01, start.isoformat(), 10, unit),
                self._forecast_line(typed, mx01, start.isoformat(), 10, unit),
            ]
            if self.only_1000 is not None:
                only = self.code(PLANNING, Kind.ITEM, self.only_1000, start)
                lines.append(self._forecast_line(only, mx01, start.isoformat(), 10, unit))
            yield (
                PLANNING,
                "bad-forecast-unknown-item",
                "forecast",
                self._forecast(start, "UNKNOWN", lines),
            )
            warehouse = self.code(
                PLANNING, Kind.LOCATION, Location.objects.get(code="DE01-WH1"), start
            )
            lines = [self._forecast_line(item, warehouse, start.isoformat(), 10, unit)]
            yield (
                PLANNING,
                "bad-forecast-warehouse",
                "forecast",
                self._forecast(start, "WAREHOUSE", lines),
            )
        if not self.supplier or not self.order_items:
            return
        ok = self.order_items[0]
        saturday = day + datetime.timedelta(days=(5 - day.weekday()) % 7 or 7)
        bad_lines = {
            "obsolete-item": self.obsolete_item and [(self.obsolete_item, 10, piece, {})],
            "blocked-item": self.blocked_item and [(self.blocked_item, 10, piece, {})],
            "obsolete-revision": self.revised_item
            and "obsolete" in self.revisions
            and [(self.revised_item, 10, piece, {"revision": self.revisions["obsolete"]})],
            "unit": self.no_box_item and [(self.no_box_item, 2, box, {})],
            "saturday": [(ok, 10, piece, {"need_by": saturday})],
        }
        for n, (name, lines) in enumerate(bad_lines.items(), start=2):
            if not lines:
                continue
            order_lines = [
                self._order_line(k, LEGACY, item, day, quantity, sent_unit, **extra)
                for k, (item, quantity, sent_unit, extra) in enumerate(lines, start=1)
            ]
            number = f"45000100{n:02d}"
            payload = self._order(LEGACY, number, day, "GR1000", order_lines)
            yield LEGACY, f"bad-po-{name}", "purchase_order", payload
        line = [self._order_line(1, LEGACY, ok, day, 10, piece)]
        if self.gone_supplier is not None:
            payload = self._order(
                LEGACY, "4500010020", day, "GR1000", line, supplier=self.gone_supplier, site=False
            )
            yield LEGACY, "bad-po-supplier", "purchase_order", payload
        if self.closed_site is not None:
            payload = self._order(
                LEGACY,
                "4500010021",
                day,
                "GR1000",
                line,
                supplier=self.closed_site.supplier,
                site=self.closed_site,
            )
            yield LEGACY, "bad-po-site", "purchase_order", payload
        payload = self._order(LEGACY, "4500010022", day, PLANTS["DE01"][0], line)
        yield LEGACY, "bad-po-ship-to", "purchase_order", payload
        notice = self._ship_notice("ASN-4500010001-2", quantity="12.1234567", lines=1)
        yield NETWORK, "bad-asn-quantity", "ship_notice", notice

    # --- the seed scenario ------------------------------------------------------------------
    #
    # Planning releases a revised 12-week forecast for a critical electronic component after a
    # demand spike (version 2: weeks 3 to 12 up 60 %; unchanged and tiny changes are left out
    # of the release); ERP pulls in and raises the purchase orders of the component's three
    # suppliers (change 1 of each); two acknowledge the new dates; the third, through its
    # portal, confirms 70 % and delays 30 % by two weeks for lack of capacity: released, and a
    # supply exception for planners. Then an older version (1) is sent again: refused as stale;
    # and a version 3 that changes a frozen week: held for a planner's approval.

    SCENARIO_ORDERS = ("4500020001", "4500020002", "4500020003")

    def _scenario_start(self):
        return self.legacy_day - datetime.timedelta(days=self.legacy_day.weekday())

    def _critical_forecast(self, version, quantities):
        start = self._scenario_start()
        piece, _ = self._units(PLANNING, start)
        item = self.code(PLANNING, Kind.ITEM, self.critical_item, start)
        plant = self.code(PLANNING, Kind.LOCATION, self.plants["DE01"], start)
        lines = [
            self._forecast_line(
                item, plant, (start + datetime.timedelta(weeks=week)).isoformat(), quantity, piece
            )
            for week, quantity in enumerate(quantities)
        ]
        return {
            "plan_id": self.critical_plan,
            "version": version,
            "horizon": {
                "start": start.isoformat(),
                "end": (start + datetime.timedelta(weeks=12, days=-1)).isoformat(),
            },
            "bucket": "week",
            "lines": lines,
        }

    BASELINE = (1000,) * 12
    # The spike: weeks 1-2 frozen and unchanged, week 5 +10 (under the thresholds), week 6 as
    # before; the rest +60 %.
    SPIKE = (1000, 1000, 1600, 1600, 1010, 1000, 1600, 1600, 1600, 1600, 1600, 1600)

    def _scenario_need_by(self, changed):
        return self.calendar.add_working_days(self.legacy_day, 15 if changed else 20)

    def _scenario_order(self, n, supplier, sequence, quantity):
        day = self.legacy_day
        piece, _ = self._units(LEGACY, day)
        line = self._order_line(
            1,
            LEGACY,
            self.critical_item,
            day,
            quantity,
            piece,
            need_by=self._scenario_need_by(sequence > 0),
        )
        site = self.site if supplier == self.supplier else self.scenario_sites.get(supplier.pk)
        payload = self._order(
            LEGACY, self.SCENARIO_ORDERS[n], day, "GR1000", [line], supplier=supplier, site=site
        )
        payload["change_sequence"] = sequence
        return payload

    def _scenario_ack(self, n, supplier, lines):
        day = self.calendar.add_working_days(self.legacy_day, 1)
        each = self.code(NETWORK, Kind.UNIT, "H87", day)
        return {
            "po_number": self.SCENARIO_ORDERS[n],
            "ack_number": f"ACK-{self.SCENARIO_ORDERS[n]}-1",
            "supplier": self.code(NETWORK, Kind.SUPPLIER, supplier, day),
            "ack_date": day.isoformat(),
            "lines": [
                {
                    "line": 10,
                    "status": status,
                    "committed_quantity": quantity,
                    "unit": each,
                    "committed_date": committed.isoformat(),
                }
                for status, quantity, committed in lines
            ],
        }

    def _committed(self, supplier, day):
        """`day`, or the next working day of the supplier's site when it is not one."""
        site = self.site if supplier == self.supplier else self.scenario_sites.get(supplier.pk)
        if site is None or site.calendar_id is None:
            return day
        return WorkingCalendar(site.calendar).add_working_days(day, 0)

    def _scenario(self):
        if self.critical_item is None or len(self.scenario_suppliers) < 3:
            return
        yield (
            PLANNING,
            "crit-forecast-v1",
            "forecast",
            self._critical_forecast(1, self.BASELINE),
        )
        yield PLANNING, "crit-forecast-v2", "forecast", self._critical_forecast(2, self.SPIKE)
        for n, supplier in enumerate(self.scenario_suppliers):
            number = self.SCENARIO_ORDERS[n]
            original = self._scenario_order(n, supplier, 0, 1000)
            yield LEGACY, f"crit-po-{number}-0", "purchase_order", original
            change = self._scenario_order(n, supplier, 1, 1500)
            yield LEGACY, f"crit-po-{number}-1", "purchase_order", change
        need_by = self._scenario_need_by(True)
        for n, supplier in enumerate(self.scenario_suppliers[:2]):
            lines = [("IA", 1500, self._committed(supplier, need_by))]
            ack = self._scenario_ack(n, supplier, lines)
            yield NETWORK, f"crit-ack-{self.SCENARIO_ORDERS[n]}", "po_acknowledgement", ack
        third = self.scenario_suppliers[2]
        late = self._committed(third, need_by + datetime.timedelta(days=14))
        lines = [
            ("Confirmed", 1050, self._committed(third, need_by)),
            ("Capacity constrained", 450, late),
        ]
        ack = self._scenario_ack(2, self.scenario_suppliers[2], lines)
        yield NETWORK, f"crit-ack-{self.SCENARIO_ORDERS[2]}", "po_acknowledgement", ack

    def _refused_by_controls(self):
        """One message per business control that quarantines it."""
        if self.critical_item is not None and len(self.scenario_suppliers) == 3:
            yield (
                PLANNING,
                "crit-forecast-v1-again",
                "forecast",
                self._critical_forecast(1, self.BASELINE),
            )
            frozen = self._critical_forecast(3, (1400, *self.SPIKE[1:]))
            extra = dict(frozen["lines"][-1])
            extra["period_start"] = (
                datetime.date.fromisoformat(extra["period_start"]) + datetime.timedelta(weeks=1)
            ).isoformat()
            frozen["lines"].append(extra)  # week 13: beyond the plan's horizon, a warning
            yield PLANNING, "bad-crit-forecast-frozen", "forecast", frozen
            again = self._scenario_order(1, self.scenario_suppliers[1], 1, 1600)
            yield LEGACY, "bad-po-sequence", "purchase_order", again
            supplier = self.scenario_suppliers[0]
            need_by = self._scenario_need_by(True)
            unknown = self._scenario_ack(0, supplier, [("IA", 1500, need_by)])
            unknown["po_number"] = "4500029999"
            yield NETWORK, "bad-ack-unknown-po", "po_acknowledgement", unknown
            no_line = self._scenario_ack(0, supplier, [("IA", 1500, need_by)])
            no_line["lines"][0]["line"] = 90
            yield NETWORK, "bad-ack-unknown-line", "po_acknowledgement", no_line
            short = self._scenario_ack(1, self.scenario_suppliers[1], [("IA", 1400, need_by)])
            yield NETWORK, "bad-ack-quantity", "po_acknowledgement", short
            for n, other in enumerate(self.scenario_suppliers[1:], start=1):
                site = self.scenario_sites.get(other.pk)
                if site is None:
                    continue
                site_calendar = WorkingCalendar(site.calendar)
                day_off = need_by
                while site_calendar.is_working_day(day_off):
                    day_off += datetime.timedelta(days=1)
                closed = self._scenario_ack(n, other, [("IA", 1500, day_off)])
                yield NETWORK, "bad-ack-day-off", "po_acknowledgement", closed
                break
        if not self.supplier or not self.order_items:
            return
        again = self._ship_notice("ASN-4500010001-1", quantity=1, lines=1)
        yield NETWORK, "bad-asn-duplicate", "ship_notice", again
        over = self._ship_notice("ASN-4500010001-3", lines=2)
        over["lines"] = over["lines"][1:]
        over["lines"][0]["quantity"] = 50  # line 20 shipped its 200 already
        yield NETWORK, "bad-asn-over-shipment", "ship_notice", over
        packed = self._ship_notice("ASN-4500010001-4", quantity=1, lines=1)
        packed["lines"][0]["packs"] = [{"sscc": "376130321109103421", "quantity": 1}]
        yield NETWORK, "bad-asn-sscc", "ship_notice", packed, 2
