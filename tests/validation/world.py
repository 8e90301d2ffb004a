"""Messages of each type, shaped as the contracts want them, for the validation and
quarantine tests (and the worker integration test)."""

import copy
import datetime

from rest_framework.test import APIClient

from mdm.services import create_api_client

FORECAST = {
    "plan_id": "S&OP-2026-03",
    "version": 3,
    "horizon": {"start": "2026-03-02", "end": "2026-05-31"},
    "bucket": "week",
    "lines": [
        {
            "item": "PLN-BRG-6204",
            "location": "PLANT-HH",
            "period_start": "2026-03-02",
            "quantity": 1200,
            "unit": "EA",
        },
        {
            "item": "PLN-BRG-6204",
            "location": "PLANT-HH",
            "period_start": "2026-03-09",
            "quantity": "1350.5",
            "unit": "EA",
        },
    ],
}

PURCHASE_ORDER = {
    "po_number": "4500012345",
    "change_sequence": 0,
    "supplier": "100234",
    "supplier_site": "HAMBURG",
    "ship_to": "1000",
    "order_date": "2026-03-02",
    "currency": "EUR",
    "lines": [
        {
            "line": 10,
            "item": "BRG-6204-2RS",
            "revision": "B",
            "quantity": "500",
            "unit": "ST",
            "need_by": "2026-03-20",
            "price": "1.85",
        }
    ],
}

# The acknowledgement, ship notice and receipt are about an open order the world loads into
# the ledger (OPEN_PO), not the example purchase order: that one is new, so it releases.
OPEN_PO = "4500011111"

PO_ACKNOWLEDGEMENT = {
    "po_number": OPEN_PO,
    "ack_number": "ACK-77",
    "supplier": "SUP-NET-0042",
    "ack_date": "2026-03-03",
    "lines": [
        {
            "line": 10,
            "status": "IA",
            "committed_quantity": 500,
            "unit": "PCE",
            "committed_date": "2026-03-19",
            "item": "6204-2RS-C3",
        }
    ],
}

SHIP_NOTICE = {
    "shipment_id": "ASN-2026-0001",
    "supplier": "SUP-NET-0042",
    "ship_date": "2026-03-16",
    "expected_delivery": "2026-03-19",
    "ship_to": "DE-HH-01",
    "lines": [
        {
            "po_number": OPEN_PO,
            "po_line": 10,
            "item": "6204-2RS-C3",
            "quantity": 500,
            "unit": "PCE",
        }
    ],
}

RECEIPT = {
    "receipt_id": "GR-5000001",
    "location": "1000",
    "received_at": "2026-03-19",
    "lines": [
        {
            "po_number": OPEN_PO,
            "po_line": 10,
            "shipment_id": "ASN-2026-0001",
            "item": "BRG-6204-2RS",
            "quantity": "500",
            "unit": "ST",
        }
    ],
}

INVENTORY_BALANCE = {
    "location": "1000",
    "as_of": "2026-03-31",
    "lines": [
        {"item": "BRG-6204-2RS", "quantity": "1234.5", "unit": "ST", "stock_type": "UNR"},
        {"item": "BRG-6205-2RS", "quantity": 0, "unit": "ST"},
    ],
}

# The ERP took the example forecast (S&OP-2026-03 version 3) the morning after.
FORECAST_ACCEPTANCE = {
    "plan_id": "S&OP-2026-03",
    "version": 3,
    "decision": "accepted",
    "decided_at": "2026-03-03T09:15:00+01:00",
}

EXAMPLES = {
    "forecast": FORECAST,
    "purchase_order": PURCHASE_ORDER,
    "po_acknowledgement": PO_ACKNOWLEDGEMENT,
    "ship_notice": SHIP_NOTICE,
    "receipt": RECEIPT,
    "inventory_balance": INVENTORY_BALANCE,
    "forecast_acceptance": FORECAST_ACCEPTANCE,
}

BUSINESS_DATES = {
    "forecast": "2026-03-02",
    "purchase_order": "2026-03-02",
    "po_acknowledgement": "2026-03-03",
    "ship_notice": "2026-03-16",
    "receipt": "2026-03-19",
    "inventory_balance": "2026-03-31",
    "forecast_acceptance": "2026-03-03",
}


def example(message_type, **changes):
    """A fresh copy of the example payload, with top-level fields changed."""
    payload = copy.deepcopy(EXAMPLES[message_type])
    payload.update(changes)
    return payload


def submission(message_type="purchase_order", payload=None, version=1):
    return {
        "message_type": message_type,
        "schema_version": version,
        "payload": payload if payload is not None else example(message_type),
    }


def forecast_part(number, of, lines=2, plan_id="S&OP-2026-03", version=3):
    """Part `number` of `of` of one forecast release, with `lines` lines of its own."""
    payload = example("forecast", plan_id=plan_id, version=version)
    payload["part"] = {"number": number, "of": of}
    payload["lines"] = [
        {
            "item": f"PLN-{number}-{index}",
            "location": "PLANT-HH",
            "period_start": "2026-03-02",
            "quantity": index + 1,
            "unit": "EA",
        }
        for index in range(lines)
    ]
    return payload


def integration_client(system_code, name):
    """An API client speaking for a system with the integration role."""
    _, key = create_api_client(system_code, name)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return api


# --- the master data and cross-references the examples speak of ----------------------------
#
# Valdor's Hamburg plant HH01 (it receives goods itself, and has a goods-receipt dock and a
# warehouse), its suppliers and items, known in the four systems by the codes the examples
# use: PLANNING sends the forecast, ERP_LEGACY (items numbered per plant, scope 1000) the
# purchase order, receipt and inventory balance, SUPPLIER_NET the acknowledgement and the
# ship notice. Every example releases as it is; each test changes one field to break a rule.
# All references are open-ended, and 2026-03 has no public holiday in Hamburg.

WORLD_SYSTEMS = {
    "ERP_LEGACY": ("Legacy ERP", "erp"),
    "ERP_CLOUD": ("Cloud ERP", "erp"),
    "PLANNING": ("Planning", "planning"),
    "SUPPLIER_NET": ("Supplier network", "supplier_network"),
}
WORLD_UNITS = {
    "H87": ("piece", "piece", "custom", "rec20"),
    "KGM": ("kilogram", "kilogram", "direct", "rec20"),
    "GRM": ("gram", "gram", "direct", "rec20"),
    "DZN": ("dozen", "dozen", "custom", "rec20"),
    "XBX": ("Box", "", "item_specific", "rec21"),
    "XPX": ("Pallet", "", "item_specific", "rec21"),
}


class World:
    """The records of the test world, by name."""


def build_world():
    """Create the world (see above) and return its records."""
    from mdm.models import (
        Calendar,
        CalendarException,
        CodeList,
        CodeValue,
        Item,
        ItemRevision,
        ItemUnitConversion,
        Location,
        SourceSystem,
        Supplier,
        SupplierSite,
        Unit,
    )
    from xref.services import register_reference

    w = World()
    w.systems = {}
    for code, (name, kind) in WORLD_SYSTEMS.items():
        w.systems[code], _ = SourceSystem.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind}
        )
    for code, (name, expression, mapping, source) in WORLD_UNITS.items():
        Unit.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "pint_expression": expression,
                "mapping_class": mapping,
                "source": source,
            },
        )
    w.calendar = Calendar.objects.create(
        code="HH-PLANT",
        name="Hamburg plant",
        timezone="Europe/Berlin",
        holiday_country="DE",
        holiday_subdivision="HH",
    )
    CalendarException.objects.create(
        calendar=w.calendar,
        start=datetime.date(2026, 3, 13),
        end=datetime.date(2026, 3, 13),
        reason="Stocktaking",
    )

    def location(code, kind, **fields):
        return Location.objects.create(
            code=code, name=code, kind=kind, country="DE", timezone="Europe/Berlin", **fields
        )

    w.plant = location("HH01", "plant", calendar=w.calendar, can_receive=True)
    w.dock = location("HH01-GR1", "ship_to", parent=w.plant, can_receive=True)
    w.warehouse = location("HH01-WH1", "warehouse", parent=w.plant, can_receive=True)
    w.office = location("HH01-OFF", "warehouse", parent=w.plant)  # cannot receive
    w.closed_dock = location("HH01-GR9", "ship_to", parent=w.plant, can_receive=True)
    Location.objects.filter(pk=w.closed_dock.pk).update(status="inactive")
    w.lonely_dc = location("DC-NORTH", "dc", can_receive=True)  # belongs to no plant

    w.supplier = Supplier.objects.create(number="S-100234", name="Kugelmann", country="DE")
    w.site = SupplierSite.objects.create(supplier=w.supplier, code="HQ", country="DE")
    w.closed_site = SupplierSite.objects.create(
        supplier=w.supplier, code="OLD", country="DE", status="inactive"
    )
    w.gone_supplier = Supplier.objects.create(
        number="S-100999", name="Gone", country="DE", status="inactive"
    )

    def item(number, base="H87", **fields):
        return Item.objects.create(
            number=number,
            description=f"Item {number}",
            base_unit_id=base,
            item_type="component",
            **fields,
        )

    w.bearing = item("6204-2RS", net_weight="0.11", weight_unit_id="KGM")
    w.bearing_b = item("6205-2RS")
    w.obsolete = item("OLD-1", status="obsolete")
    w.blocked = item("BLK-1", status="blocked")
    w.sheet = item("SHEET-1", base="KGM")
    w.new_item = item("NEW-1")  # known to planning only: no ERP code yet
    ItemRevision.objects.create(
        item=w.bearing,
        revision="A",
        status="obsolete",
        effective_from=datetime.date(2020, 1, 1),
        effective_to=datetime.date(2023, 12, 31),
    )
    ItemRevision.objects.create(
        item=w.bearing, revision="B", effective_from=datetime.date(2024, 1, 1)
    )
    ItemRevision.objects.create(
        item=w.bearing, revision="C", effective_from=datetime.date(2027, 1, 1)
    )
    ItemUnitConversion.objects.create(
        item=w.bearing, from_unit_id="XBX", to_unit_id="H87", factor=10
    )
    ItemUnitConversion.objects.create(
        item=w.bearing, supplier=w.supplier, from_unit_id="XBX", to_unit_id="H87", factor=12
    )
    ItemUnitConversion.objects.create(
        item=w.bearing, from_unit_id="XPX", to_unit_id="XBX", factor=40
    )
    statuses = CodeList.objects.create(code="ACK_LINE_STATUS", name="Ack line status")
    w.accepted = CodeValue.objects.create(code_list=statuses, code="accepted", meaning="OK")
    w.rejected = CodeValue.objects.create(code_list=statuses, code="rejected", meaning="No")

    def ref(system, kind, code, target, scope="", preferred=True):
        register_reference(
            kind=kind,
            system=system,
            code=code,
            target=target,
            scope=scope,
            is_preferred=preferred,
        )

    unit = Unit.objects.get
    # PLANNING
    ref("PLANNING", "item", "PLN-BRG-6204", w.bearing)
    ref("PLANNING", "item", "PLN-BRG-6205", w.bearing_b)
    ref("PLANNING", "item", "PLN-OLD-1", w.obsolete)
    ref("PLANNING", "item", "PLN-BLK-1", w.blocked)
    ref("PLANNING", "item", "PLN-SHEET-1", w.sheet)
    ref("PLANNING", "item", "PLN-NEW-1", w.new_item)
    ref("PLANNING", "location", "PLANT-HH", w.plant)
    ref("PLANNING", "location", "PLANT-HH-WH", w.warehouse)
    ref("PLANNING", "unit", "EA", unit(code="H87"))
    ref("PLANNING", "unit", "KG", unit(code="KGM"))
    ref("PLANNING", "unit", "BOX", unit(code="XBX"))
    # ERP_LEGACY: items and docks within plant 1000
    ref("ERP_LEGACY", "supplier", "100234", w.supplier)
    ref("ERP_LEGACY", "supplier", "100999", w.gone_supplier)
    ref("ERP_LEGACY", "supplier_site", "HAMBURG", w.site)
    ref("ERP_LEGACY", "supplier_site", "HAMBURG-OLD", w.closed_site)
    ref("ERP_LEGACY", "location", "1000", w.plant)
    ref("ERP_LEGACY", "location", "GR01", w.dock, scope="1000")
    ref("ERP_LEGACY", "location", "WE-OFF", w.office)
    ref("ERP_LEGACY", "location", "WE-GR9", w.closed_dock)
    ref("ERP_LEGACY", "location", "DC-N", w.lonely_dc)
    for code, record in (
        ("BRG-6204-2RS", w.bearing),
        ("BRG-6205-2RS", w.bearing_b),
        ("OLD-1", w.obsolete),
        ("BLK-1", w.blocked),
        ("SHEET-1", w.sheet),
    ):
        ref("ERP_LEGACY", "item", code, record, scope="1000")
    ref("ERP_LEGACY", "unit", "ST", unit(code="H87"))
    ref("ERP_LEGACY", "unit", "KG", unit(code="KGM"))
    ref("ERP_LEGACY", "unit", "G", unit(code="GRM"))
    ref("ERP_LEGACY", "unit", "BX", unit(code="XBX"))
    ref("ERP_LEGACY", "unit", "PL", unit(code="XPX"))
    ref("ERP_LEGACY", "unit", "DZ", unit(code="DZN"))
    ref("ERP_LEGACY", "code_value", "01", w.accepted)
    ref("ERP_LEGACY", "code_value", "04", w.rejected)
    # ERP_CLOUD
    ref("ERP_CLOUD", "item", "MAT-6204", w.bearing)
    ref("ERP_CLOUD", "location", "DE10", w.plant)
    ref("ERP_CLOUD", "unit", "H87", unit(code="H87"))
    ref("ERP_CLOUD", "supplier", "BP100234", w.supplier)
    # SUPPLIER_NET
    ref("SUPPLIER_NET", "supplier", "SUP-NET-0042", w.supplier)
    ref("SUPPLIER_NET", "supplier_site", "SUP-NET-0042-HQ", w.site)
    ref("SUPPLIER_NET", "location", "DE-HH-00", w.plant)
    ref("SUPPLIER_NET", "location", "DE-HH-01", w.dock)
    ref("SUPPLIER_NET", "item", "6204-2RS-C3", w.bearing)
    ref("SUPPLIER_NET", "item", "6205-2RS-C3", w.bearing_b)
    ref("SUPPLIER_NET", "unit", "PCE", unit(code="H87"))
    ref("SUPPLIER_NET", "unit", "EA", unit(code="H87"), preferred=False)
    ref("SUPPLIER_NET", "unit", "BX", unit(code="XBX"))
    ref("SUPPLIER_NET", "code_value", "IA", w.accepted)
    ref("SUPPLIER_NET", "code_value", "IR", w.rejected)
    w.open_po = load_open_order(w)
    return w


def load_open_order(w):
    """OPEN_PO in the ledger, as if released before: line 10, 500 bearings by 2026-03-20 to
    the dock, from the supplier's HQ site."""
    from django.utils import timezone

    from validation.models import PurchaseOrder, PurchaseOrderLine

    order = PurchaseOrder.objects.create(
        po_number=OPEN_PO,
        supplier=w.supplier,
        supplier_site=w.site,
        ship_to=w.dock,
        plant=w.plant,
        system=w.systems["ERP_LEGACY"],
        change_sequence=0,
        order_date=datetime.date(2026, 3, 2),
        released_at=timezone.now(),
        changed_at=timezone.now(),
    )
    PurchaseOrderLine.objects.create(
        order=order,
        line=10,
        item=w.bearing,
        revision="B",
        quantity=500,
        unit_id="H87",
        base_quantity=500,
        base_unit_id="H87",
        need_by=datetime.date(2026, 3, 20),
    )
    return order
