"""The demo world: what `seed_demo` builds, that it builds it only once, and always the same."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from demo import seed as demo_seed
from demo.items import item_number
from demo.seed import seed_demo
from demo.suppliers import TWINS, twin_number
from mdm import identifiers
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

ITEMS, SUPPLIERS = 200, 20
TODAY = date(2026, 3, 2)
SEEDED_MODELS = (
    SourceSystem,
    CodeList,
    CodeValue,
    Calendar,
    CalendarException,
    Location,
    Supplier,
    SupplierSite,
    Item,
    ItemRevision,
    ItemUnitConversion,
)


def seed(items=ITEMS, suppliers=SUPPLIERS):
    return seed_demo(items=items, suppliers=suppliers, today=TODAY)


@pytest.fixture
def seeded(demo_units):
    return seed()


def counts():
    return {model.__name__: model.objects.count() for model in SEEDED_MODELS}


def snapshot():
    """The seeded data by natural key, public ids included."""
    return {
        "items": list(
            Item.objects.order_by("number").values_list(
                "public_id", "number", "description", "gtin", "mpn", "status", "net_weight"
            )
        ),
        "revisions": list(
            ItemRevision.objects.order_by("item__number", "revision").values_list(
                "item__number", "revision", "status", "effective_from", "effective_to"
            )
        ),
        "conversions": list(
            ItemUnitConversion.objects.order_by(
                "item__number", "from_unit", "supplier__number"
            ).values_list("item__number", "supplier__number", "from_unit", "to_unit", "factor")
        ),
        "suppliers": list(
            Supplier.objects.order_by("number").values_list(
                "public_id", "number", "name", "legal_name", "status", "duns", "lei", "vat"
            )
        ),
        "sites": list(
            SupplierSite.objects.order_by("supplier__number", "code").values_list(
                "supplier__number", "code", "address", "postal_code", "city", "calendar__code"
            )
        ),
        "locations": list(
            Location.objects.order_by("code").values_list(
                "public_id", "code", "gln", "parent__code"
            )
        ),
    }


def fresh_snapshot(**sizes):
    """Seed inside a savepoint that is rolled back: as good as a fresh database."""
    with transaction.atomic():
        seed(**sizes)
        data = snapshot()
        transaction.set_rollback(True)
    return data


def test_it_creates_the_four_source_systems(seeded):
    systems = {system.code: system for system in SourceSystem.objects.all()}

    assert set(systems) == {"ERP_LEGACY", "ERP_CLOUD", "PLANNING", "SUPPLIER_NET"}
    assert systems["ERP_LEGACY"].authoritative_for == ["item", "supplier"]
    assert systems["SUPPLIER_NET"].kind == SourceSystem.Kind.SUPPLIER_NETWORK


def test_it_builds_three_plants_in_three_countries_each_with_its_own_calendar(seeded):
    plants = Location.objects.filter(kind=Location.Kind.PLANT)

    assert plants.count() == 3
    assert len({plant.country for plant in plants}) == 3
    assert len({plant.calendar_id for plant in plants}) == 3
    for plant in plants:
        children = {child.kind: child for child in plant.children.all()}
        assert set(children) == {Location.Kind.WAREHOUSE, Location.Kind.SHIP_TO}
        assert all(
            child.can_receive and child.country == plant.country for child in children.values()
        )
        assert plant.calendar.holiday_country == plant.country
        assert plant.timezone == plant.calendar.timezone
        assert identifiers.gln_error(plant.gln) is None


def test_it_gives_each_plant_calendar_a_shutdown_and_a_working_saturday_this_year_and_next(
    seeded,
):
    for calendar in Calendar.objects.filter(locations__kind=Location.Kind.PLANT):
        exceptions = calendar.exceptions.all()
        shutdowns = [e for e in exceptions if not e.is_working]
        saturdays = [e for e in exceptions if e.is_working]
        assert [e.start.year for e in shutdowns] == [2026, 2027]
        assert all(e.start.month in (7, 8) and e.end > e.start for e in shutdowns)
        assert [e.start.year for e in saturdays] == [2026, 2027]
        assert all(e.start.weekday() == 5 and e.end == e.start for e in saturdays)


def test_it_creates_suppliers_with_sites_and_identifiers(seeded):
    twins = [index for index in TWINS if index <= SUPPLIERS]
    suppliers = list(
        Supplier.objects.exclude(number__in=[twin_number(i) for i in twins]).prefetch_related(
            "sites"
        )
    )

    assert len(suppliers) == SUPPLIERS
    assert Supplier.objects.count() == SUPPLIERS + len(twins)  # planted duplicates
    assert all(1 <= len(supplier.sites.all()) <= 3 for supplier in suppliers)
    assert all(supplier.sites.all()[0].code == "HQ" for supplier in suppliers)
    assert SupplierSite.objects.exclude(calendar=None).exists()
    assert len({supplier.country for supplier in suppliers}) >= 5
    assert any(supplier.duns for supplier in suppliers)
    assert any(supplier.lei for supplier in suppliers)
    assert any(supplier.vat for supplier in suppliers)


def test_it_creates_items_with_revisions_some_of_them_obsolete(seeded):
    items = list(Item.objects.prefetch_related("revisions"))

    assert len(items) == ITEMS
    assert len({item.description for item in items}) == ITEMS
    assert ItemRevision.objects.filter(status=ItemRevision.Status.OBSOLETE).exists()
    for item in items:
        revisions = list(item.revisions.all())  # ordered by effective_from
        assert 1 <= len(revisions) <= 3
        for earlier, later in zip(revisions, revisions[1:], strict=False):
            assert earlier.status == ItemRevision.Status.OBSOLETE
            assert earlier.effective_to < later.effective_from
        current = revisions[-1]
        if item.status == Item.Status.OBSOLETE:
            assert current.status == ItemRevision.Status.OBSOLETE and current.effective_to
        else:
            assert current.status == ItemRevision.Status.RELEASED
            assert current.effective_to is None


def test_it_gives_some_items_pack_conversions_and_gtins(seeded):
    conversions = ItemUnitConversion.objects.all()

    assert conversions.filter(from_unit="XBX", to_unit="H87", supplier=None).exists()
    assert conversions.filter(from_unit="XPX", to_unit="XBX").exists()
    assert conversions.exclude(supplier=None).exists()
    assert 0.15 < conversions.values("item").distinct().count() / ITEMS < 0.45
    assert 0.3 < Item.objects.exclude(gtin="").count() / ITEMS < 0.7
    assert Item.objects.exclude(base_unit="H87").exists()
    assert Item.objects.exclude(mpn="").exclude(manufacturer="").exists()


def test_it_creates_the_code_lists(seeded):
    statuses = CodeValue.objects.filter(code_list__code="ACK_LINE_STATUS")

    assert list(statuses.values_list("code", flat=True)) == [
        "accepted",
        "accepted_with_changes",
        "backordered",
        "rejected",
        "on_hold",
    ]
    assert CodeList.objects.filter(code="ITEM_STATUS").exists()


def test_it_creates_only_records_that_pass_full_clean(demo_units):
    seed(items=80, suppliers=10)  # every record is checked: a smaller world keeps this quick

    for model in SEEDED_MODELS:
        for record in model.objects.all():
            record.full_clean()


def test_it_records_an_initial_history_row_for_every_record(seeded):
    for model in (Item, ItemRevision, Supplier, SupplierSite, Location, Calendar):
        history = model.history.all()
        assert history.count() == model.objects.count()
        assert set(history.values_list("change_source", "change_reference")) == {
            ("command", "seed_demo")
        }


def test_it_creates_nothing_on_a_second_run(seeded):
    before = counts()

    summary = seed()

    assert counts() == before
    assert all(created == 0 for _, created, _ in summary)
    assert Item.history.count() == ITEMS


def test_it_leaves_records_a_steward_has_edited_alone(seeded):
    item = Item.objects.get(number=item_number(1))
    item.description = "Edited by a steward"
    item.save()

    seed()

    item.refresh_from_db()
    assert item.description == "Edited by a steward"


def test_it_gives_the_same_data_on_a_fresh_database(demo_units):
    first = fresh_snapshot()
    second = fresh_snapshot()

    assert Item.objects.count() == 0
    assert first == second
    assert len(first["items"]) == ITEMS


def test_it_adds_to_a_smaller_seed_what_a_fresh_bigger_seed_would_have(demo_units):
    bigger = fresh_snapshot(items=120, suppliers=15)

    seed(items=50, suppliers=10)
    seed(items=120, suppliers=15)  # supplier-specific packs name only the first ten suppliers

    assert snapshot() | {"items": None} == bigger | {"items": None}
    assert [row[1:] for row in snapshot()["items"]] == [row[1:] for row in bigger["items"]]


def test_it_writes_nothing_when_it_fails(demo_units, monkeypatch):
    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo_seed, "seed_items", broken)

    with pytest.raises(RuntimeError):
        seed()

    assert all(count == 0 for count in counts().values())


def test_it_loads_the_units_into_an_empty_table_and_prints_a_summary(db):
    out = StringIO()

    call_command("seed_demo", "--items", "30", "--suppliers", "5", stdout=out)

    assert Unit.objects.count() > 1000  # all of Rec 20 and Rec 21, through mdm.units
    assert "items                     30 created       30 in total" in out.getvalue()
    # Five suppliers and the twin of the third (demo.suppliers.TWINS).
    assert "suppliers                  6 created        6 in total" in out.getvalue()


def test_it_refuses_a_negative_size(db):
    with pytest.raises(CommandError, match="0 or more items"):
        call_command("seed_demo", "--items", "-1")
