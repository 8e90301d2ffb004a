"""A small named world for the cross-reference tests: the four source systems, a few units,
items (one with revisions), suppliers with sites, a plant with its warehouse, and the
acknowledgement status code list. No references: each test registers the ones it is about
(`add_reference` does it through the model's validation).

Shared by every xref test module; keep the names and values stable.
"""

import datetime as dt
from types import SimpleNamespace

import pytest

from mdm.models import (
    CodeList,
    CodeValue,
    Item,
    ItemRevision,
    Location,
    SourceSystem,
    Supplier,
    SupplierSite,
    Unit,
)
from xref.models import TARGETS, CrossReference, Kind

CUTOVER = dt.date(2026, 7, 1)


@pytest.fixture
def systems(erp_system, planning_system):
    """ERP_LEGACY and PLANNING (from tests/conftest.py), ERP_CLOUD and SUPPLIER_NET."""
    cloud = SourceSystem.objects.create(code="ERP_CLOUD", name="Cloud ERP", kind="erp")
    network = SourceSystem.objects.create(
        code="SUPPLIER_NET", name="Supplier network", kind="supplier_network"
    )
    return SimpleNamespace(
        legacy=erp_system, cloud=cloud, planning=planning_system, network=network
    )


@pytest.fixture
def units(db):
    rows = [
        Unit(code="H87", name="piece", mapping_class="count"),
        Unit(code="KGM", name="kilogram", symbol="kg", mapping_class="direct"),
        Unit(code="XBX", name="Box", source=Unit.Source.REC21, mapping_class="item_specific"),
    ]
    return SimpleNamespace(**{unit.code.lower(): unit for unit in Unit.objects.bulk_create(rows)})


@pytest.fixture
def items(units):
    """A bolt, a nut and a pump; the pump has revision A (obsolete) and B (released)."""
    bolt = Item.objects.create(
        number="100234",
        description="Hex bolt ISO 4017 M8x40 8.8 zinc plated",
        base_unit=units.h87,
        item_type=Item.Type.COMPONENT,
        manufacturer="Boltara",
        mpn="BT-4017-M8-40",
    )
    nut = Item.objects.create(
        number="100235",
        description="Hex nut ISO 4032 M8 8 zinc plated",
        base_unit=units.h87,
        item_type=Item.Type.COMPONENT,
    )
    pump = Item.objects.create(
        number="300100",
        description="Centrifugal pump PX 50-160",
        base_unit=units.h87,
        item_type=Item.Type.FINISHED_GOOD,
    )
    rev_a = ItemRevision.objects.create(
        item=pump,
        revision="A",
        status=ItemRevision.Status.OBSOLETE,
        effective_from=dt.date(2024, 1, 1),
        effective_to=dt.date(2024, 12, 31),
    )
    rev_b = ItemRevision.objects.create(
        item=pump, revision="B", effective_from=dt.date(2025, 1, 1), description="New impeller"
    )
    return SimpleNamespace(bolt=bolt, nut=nut, pump=pump, pump_a=rev_a, pump_b=rev_b)


@pytest.fixture
def suppliers(db):
    """Acme (sites HQ and SHIP1) and Globex (site HQ)."""
    acme = Supplier.objects.create(
        number="V100001", name="Acme Fasteners", legal_name="Acme Fasteners GmbH", country="DE"
    )
    globex = Supplier.objects.create(number="V100002", name="Globex Components", country="US")
    return SimpleNamespace(
        acme=acme,
        globex=globex,
        acme_hq=SupplierSite.objects.create(supplier=acme, code="HQ", country="DE"),
        acme_ship1=SupplierSite.objects.create(supplier=acme, code="SHIP1", country="CZ"),
        globex_hq=SupplierSite.objects.create(supplier=globex, code="HQ", country="US"),
    )


@pytest.fixture
def locations(db):
    """Plant DE01 and its central warehouse DE01-WH1."""
    plant = Location.objects.create(
        code="DE01", name="Ingolstadt plant", kind=Location.Kind.PLANT, country="DE"
    )
    warehouse = Location.objects.create(
        code="DE01-WH1",
        name="Ingolstadt central warehouse",
        kind=Location.Kind.WAREHOUSE,
        country="DE",
        parent=plant,
        can_receive=True,
    )
    return SimpleNamespace(plant=plant, warehouse=warehouse)


@pytest.fixture
def ack_statuses(db):
    """ACK_LINE_STATUS with accepted and rejected."""
    code_list = CodeList.objects.create(code="ACK_LINE_STATUS", name="Acknowledgement status")
    return SimpleNamespace(
        accepted=CodeValue.objects.create(code_list=code_list, code="accepted", meaning="OK"),
        rejected=CodeValue.objects.create(code_list=code_list, code="rejected", meaning="No"),
    )


@pytest.fixture
def world(systems, units, items, suppliers, locations, ack_statuses):
    """Everything above in one namespace: world.legacy, world.bolt, world.acme_hq, ..."""
    return SimpleNamespace(
        **vars(systems),
        **vars(units),
        **vars(items),
        **vars(suppliers),
        **vars(locations),
        **vars(ack_statuses),
    )


@pytest.fixture
def add_reference(db):
    """Store a reference directly (full_clean, then save), bypassing the registry service:
    add_reference(system, code, target, kind=None, **fields). The kind defaults to the
    target's."""

    kinds = {model: kind for kind, (_, model) in TARGETS.items()}

    def add(system, code, target, kind=None, **fields):
        kind = Kind(kind or kinds[type(target)])
        field, _ = TARGETS[kind]
        reference = CrossReference(system=system, kind=kind, code=code, **{field: target}, **fields)
        reference.full_clean()
        reference.save()
        return reference

    return add
