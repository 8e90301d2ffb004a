"""The demo world as the demo messages see it: the records they are about, the days they are
sent on, each system's codes for them, and the pieces their payloads are built of.

The demo cross-references (demo.references) have no code a purchase order can ship to in the
ERPs (a plant does not receive, and a dock's ERP code is unique only within its plant), no ERP
codes for supplier sites and no supplier network codes for items. The few the messages need
are registered first (DemoWorld.register_references), idempotently and never preferred over
the demo's own: ERP ship-to codes for the plants' goods-receipt docks (GR1000, DOCK-DE10), ERP
codes for the suppliers' sites, and supplier network part numbers (VP-<item number>) for the
items the network messages name.

Legacy messages are dated three weeks before the ERP cut-over, cloud ones a week after it: the
cut-over is stored in the data, so the dates (and payloads) are the same on every seed.
"""

import datetime
import logging

from django.db.models import Exists, OuterRef, Q

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
from validation.models import PlanPolicy
from validation.status_codes import load_status_codes
from xref.models import CrossReference, Kind
from xref.services import ReferenceConflict, register_reference

logger = logging.getLogger(__name__)

LEGACY, CLOUD, PLANNING, NETWORK = "ERP_LEGACY", "ERP_CLOUD", "PLANNING", "SUPPLIER_NET"
# Demo plant -> (ERP_LEGACY plant, ERP_CLOUD plant), as demo.references codes them.
PLANTS = {"DE01": ("1000", "DE10"), "US01": ("2000", "US10"), "MX01": ("3000", "MX10")}


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
        if self.critical_item is not None and self.critical_item not in self.network_items:
            # The scenario's part as its suppliers know it (the EDI supplier's 850 names it).
            code = f"VP-{self.critical_item.number}"
            wanted.append((NETWORK, Kind.ITEM, code, self.critical_item, True, {}))
        # The supplier portal the network relays answers in words of its own.
        load_status_codes(self.systems[NETWORK], "portal")
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

    # --- the pieces of the payloads ---------------------------------------------------------

    def _units(self, system, day):
        piece = self.code(system, Kind.UNIT, "H87", day)
        box = self.code(system, Kind.UNIT, "XBX", day)
        return piece, box

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
