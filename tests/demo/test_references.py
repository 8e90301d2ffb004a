"""The demo cross-references `seed_demo` adds: all four systems, a cut-over from ERP_LEGACY to
ERP_CLOUD that makes a date before it and after it answer differently, codes ambiguous without
a plant, one preferred code per record and system, and nothing added twice."""

import random
from collections import defaultdict
from datetime import date, timedelta

import pytest

from demo import references
from demo.items import item_number
from demo.seed import seed_demo
from demo.suppliers import supplier_number
from mdm.models import Item, Location, Supplier
from xref.models import CrossReference
from xref.services import successor_of

ITEMS, SUPPLIERS = 200, 20
TODAY = date(2026, 3, 2)
CUTOVER = date(2026, 4, 1)  # the first day of the next quarter
BEFORE = CUTOVER - timedelta(days=1)


def seed(today=TODAY):
    return seed_demo(items=ITEMS, suppliers=SUPPLIERS, today=today)


@pytest.fixture
def seeded(demo_units):
    """The demo world with just the units the demo uses (not all of Rec 20 and 21)."""
    return seed()


def valid_on(day, **lookup):
    return {
        (reference.system.code, reference.scope, reference.code)
        for reference in CrossReference.objects.filter(**lookup).select_related("system")
        if reference.is_valid_on(day)
    }


def test_it_puts_the_cut_over_on_the_first_day_of_the_next_quarter():
    assert references.cutover_date(date(2026, 3, 2)) == date(2026, 4, 1)
    assert references.cutover_date(date(2026, 4, 1)) == date(2026, 7, 1)
    assert references.cutover_date(date(2026, 12, 31)) == date(2027, 1, 1)


def test_it_gives_codes_in_all_four_systems_for_every_kind_of_record(seeded):
    by_system = defaultdict(set)
    for system, kind in CrossReference.objects.values_list("system__code", "kind"):
        by_system[system].add(kind)

    assert by_system == {
        "ERP_LEGACY": {"item", "item_revision", "supplier", "location", "unit", "code_value"},
        "ERP_CLOUD": {"item", "supplier", "location", "unit", "code_value"},
        "PLANNING": {"item", "location", "unit"},
        "SUPPLIER_NET": {"supplier", "supplier_site", "location", "unit", "code_value"},
    }
    total = CrossReference.objects.count()
    assert seeded[-1] == ("cross-references", total, total)  # in the seed's summary
    assert CrossReference.objects.filter(kind="item", system__code="ERP_CLOUD").count() == ITEMS


def test_it_cuts_over_from_the_legacy_erp_to_the_cloud_erp(seeded):
    item = Item.objects.get(number=item_number(3))
    supplier = Supplier.objects.get(number=supplier_number(1))
    plant = Location.objects.get(code="DE01")

    for target in ({"item": item}, {"supplier": supplier}, {"location": plant}):
        erps = {"system__code__in": ("ERP_LEGACY", "ERP_CLOUD"), **target}
        before, after = valid_on(BEFORE, **erps), valid_on(CUTOVER, **erps)
        assert before and after and not before & after, target
        assert {system for system, _, _ in before} == {"ERP_LEGACY"}
        assert {system for system, _, _ in after} == {"ERP_CLOUD"}

    assert not CrossReference.objects.filter(system__code="ERP_LEGACY", valid_to=None).exists()
    assert not CrossReference.objects.filter(system__code="ERP_CLOUD", valid_from=None).exists()
    assert valid_on(CUTOVER, location=plant, system__code="ERP_CLOUD") == {
        ("ERP_CLOUD", "", "DE10")
    }


def test_the_cloud_code_took_over_from_the_legacy_one(seeded):
    item = Item.objects.get(number=item_number(3))
    legacy = CrossReference.objects.filter(item=item, system__code="ERP_LEGACY").first()

    successor = successor_of(legacy)

    assert (successor.system.code, successor.code) == ("ERP_CLOUD", references.cloud_item_code(3))


def test_some_legacy_codes_mean_different_items_in_different_plants(seeded):
    meanings = defaultdict(set)
    for scope, code, item in CrossReference.objects.filter(
        system__code="ERP_LEGACY", kind="item"
    ).values_list("scope", "code", "item"):
        meanings[code].add((scope, item))

    ambiguous = {code for code, pairs in meanings.items() if len({i for _, i in pairs}) > 1}
    assert item_number(1) in ambiguous  # plant 2000 reused it for item 2
    assert len(ambiguous) == ITEMS // references.REUSE_BLOCK
    first = dict(meanings[item_number(1)])
    assert first["1000"] == Item.objects.get(number=item_number(1)).pk
    assert first["2000"] == Item.objects.get(number=item_number(2)).pk
    assert {scope for pairs in meanings.values() for scope, _ in pairs} == {"1000", "2000", "3000"}


def test_planning_renumbered_a_few_items(seeded):
    item = Item.objects.get(number=item_number(7))
    old = CrossReference.objects.get(item=item, system__code="PLANNING", valid_to__isnull=False)
    renumbered = date(2026, 1, 1)  # the quarter before the cut-over

    assert old.valid_to == renumbered
    assert successor_of(old).code == f"PL-{item.number}-N"
    assert valid_on(renumbered, item=item, system__code="PLANNING") == {
        ("PLANNING", "", f"PL-{item.number}-N")
    }


def test_the_supplier_network_speaks_x12(seeded):
    statuses = {
        code: (meaning, preferred)
        for code, meaning, preferred in CrossReference.objects.filter(
            system__code="SUPPLIER_NET", kind="code_value"
        ).values_list("code", "code_value__code", "is_preferred")
    }
    assert statuses["IA"] == ("accepted", True)
    assert statuses["IC"] == ("accepted_with_changes", True)
    assert statuses["IQ"] == ("accepted_with_changes", False)
    assert statuses["IB"] == ("backordered", True)
    assert statuses["IR"] == ("rejected", True)
    assert statuses["R2"] == ("rejected", False)
    assert statuses["IH"] == ("on_hold", True)

    units = dict(
        CrossReference.objects.filter(system__code="SUPPLIER_NET", kind="unit").values_list(
            "code", "unit"
        )
    )
    assert (units["EA"], units["PC"], units["KG"], units["PL"], units["BX"]) == (
        "H87",
        "H87",
        "KGM",
        "XPX",
        "XBX",
    )
    assert "CA" not in units  # its unit (XCS) is not loaded in this world
    preferred = CrossReference.objects.get(
        system__code="SUPPLIER_NET", unit="H87", is_preferred=True
    )
    assert preferred.code == "EA"
    ship_to = Location.objects.get(code="DE01-GR1")
    assert valid_on(TODAY, location=ship_to, system__code="SUPPLIER_NET") == {
        ("SUPPLIER_NET", "", ship_to.gln)
    }


def test_each_record_has_one_preferred_code_per_system_and_scope_at_a_time(seeded):
    for day in (BEFORE, CUTOVER, date(2025, 6, 1)):
        preferred = defaultdict(list)
        for reference in CrossReference.objects.filter(is_preferred=True):
            if reference.is_valid_on(day):
                key = (reference.system_id, reference.kind, reference.scope, reference.target_id)
                preferred[key].append(reference.code)
        assert all(len(codes) == 1 for codes in preferred.values())
    # Every item has a preferred code in PLANNING and in ERP_CLOUD after the cut-over.
    for system in ("PLANNING", "ERP_CLOUD"):
        items = CrossReference.objects.filter(
            system__code=system, kind="item", is_preferred=True
        ).values("item")
        assert items.distinct().count() == ITEMS


def test_the_references_pass_the_models_validation(seeded):
    references = list(CrossReference.objects.select_related("system"))
    sample = random.Random(7).sample(references, 150)
    sample += [r for r in references if r.kind not in ("item", "item_revision")]

    for reference in sample:
        reference.full_clean()


def test_it_records_where_the_references_came_from(seeded):
    assert CrossReference.history.count() == CrossReference.objects.count()
    assert set(CrossReference.history.values_list("change_source", "change_reference")) == {
        ("command", "seed_demo")
    }
    assert set(CrossReference.objects.values_list("origin", flat=True)) == {"import"}


def test_it_adds_nothing_on_a_second_run_even_in_a_later_quarter(seeded):
    before = set(CrossReference.objects.values_list("pk", "valid_from", "valid_to"))

    seed(today=date(2026, 8, 20))

    assert set(CrossReference.objects.values_list("pk", "valid_from", "valid_to")) == before


def test_it_adds_only_the_references_of_new_records_to_a_smaller_seed(demo_units):
    seed_demo(items=50, suppliers=5, today=TODAY)
    smaller = set(CrossReference.objects.values_list("system__code", "kind", "scope", "code"))

    seed()

    bigger = set(CrossReference.objects.values_list("system__code", "kind", "scope", "code"))
    assert smaller < bigger
    assert len(bigger) == CrossReference.objects.count()


def test_it_leaves_a_code_a_steward_claimed_alone(seeded):
    """A steward renamed the cloud code of plant US01 and gave its old code to plant MX01."""
    reference = CrossReference.objects.get(system__code="ERP_CLOUD", kind="location", code="US10")
    reference.code = "US20"
    reference.save()
    mx01 = Location.objects.get(code="MX01")
    CrossReference.objects.create(
        system=reference.system, kind="location", code="US10", location=mx01
    )
    count = CrossReference.objects.count()

    seed()

    assert CrossReference.objects.count() == count
    assert CrossReference.objects.get(code="US10").location == mx01
