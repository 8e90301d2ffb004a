"""Apply: upsert by natural key, history with source import and the run's id, all or
nothing, skip errors, refusal of a stale plan, revert."""

import pytest

from imports import applying, reverting, runs
from imports.models import ImportRun
from mdm.models import Item, Location, Supplier
from tests.imports.conftest import apply, csv_file, export, plan
from xref.models import CrossReference

ITEMS = (
    "number,description,base_unit,item_type,gtin\n"
    "100,Bolt,H87,component,4006381333931\n"
    "101,Nut,H87,component,\n"
)


@pytest.fixture
def items(units):
    run = apply("items", ITEMS)
    assert run.status == ImportRun.Status.APPLIED
    return run


def planned(kind, text, **options):
    """A stored, planned run, as the screen and the API make them."""
    run = runs.start_run(kind, csv_file(text), **options)
    runs.process_run(run.pk)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PLANNED, run.message
    return run


def test_it_creates_and_records_history(items):
    bolt = Item.objects.get(number="100")
    assert bolt.public_id.startswith("ITM-")
    entry = bolt.history.get()
    assert (entry.history_type, entry.change_source, entry.change_reference) == (
        "+",
        "import",
        str(items.pk),
    )
    assert items.counts == {"rows": 2, "create": 2, "update": 0, "unchanged": 0, "error": 0}


def test_it_updates_by_natural_key_and_leaves_other_columns(items):
    bolt = Item.objects.get(number="100")
    run = apply(
        "items",
        "number,description,base_unit,item_type\n"
        "100,Hex bolt,H87,component\n101,Nut,H87,component\n",
    )
    assert run.counts == {"rows": 2, "create": 0, "update": 1, "unchanged": 1, "error": 0}
    bolt.refresh_from_db()
    assert (bolt.description, bolt.gtin, bolt.public_id) == (
        "Hex bolt",
        "4006381333931",
        Item.objects.get(number="100").public_id,
    )
    latest = bolt.history.first()
    assert (latest.history_type, latest.change_reference) == ("~", str(run.pk))
    assert Item.objects.get(number="101").history.count() == 1


def test_it_writes_nothing_when_a_row_fails(items):
    before = Item.objects.count()
    run = apply(
        "items",
        "number,description,base_unit,item_type\n200,Gear,H87,component\n100,,H87,component\n",
    )
    assert run.status == ImportRun.Status.PLANNED
    assert run.plan_counts["error"] == 1
    assert Item.objects.count() == before
    assert Item.objects.get(number="100").description == "Bolt"


def test_it_refuses_a_gtin_another_item_has(items):
    run = apply(
        "items",
        "number,description,base_unit,item_type,gtin\n300,Copy,H87,component,4006381333931\n",
    )
    assert run.error_lines() == ["Row 2, gtin: Another item already has this GTIN."]


def test_it_refuses_a_gtin_twice_in_the_file(units):
    text = (
        "number,description,base_unit,item_type,gtin\n"
        "300,A,H87,component,4006381333931\n301,B,H87,component,4006381333931\n"
    )
    run = apply("items", text)
    assert run.error_lines() == [
        "Row 3, gtin: Another item already has this GTIN. (row 2 of this file)"
    ]
    assert not Item.objects.exists()


def test_it_skips_errors_when_asked(items):
    text = (
        "number,description,base_unit,item_type\n"
        "200,Gear,H87,component\n"
        "201,,H87,component\n"
        "100,Hex bolt,H87,component\n"
    )
    run = apply("items", text, skip_errors=True)
    assert run.status == ImportRun.Status.APPLIED
    assert run.counts == {"rows": 3, "create": 1, "update": 1, "unchanged": 0, "error": 1}
    assert set(Item.objects.values_list("number", flat=True)) == {"100", "101", "200"}
    failed = run.failed_rows.open("rb").read().decode("utf-8-sig").splitlines()
    assert failed == [
        "number,description,base_unit,item_type,error",
        '201,,H87,component,"Row 3, description: This field cannot be blank."',
    ]


def test_it_refuses_to_apply_a_stale_plan(items):
    run = planned(
        "items",
        "number,description,base_unit,item_type\n100,Hex bolt,H87,component\n"
        "102,Washer,H87,component\n",
    )
    assert run.plan_counts["update"] == 1
    bolt = Item.objects.get(number="100")
    bolt.description = "Changed meanwhile"
    bolt.save()
    before = Item.objects.count()
    run = applying.apply_run(run)
    assert run.status == ImportRun.Status.REFUSED
    assert "changed, created or deleted since the plan" in run.message
    assert Item.objects.count() == before
    assert Item.objects.get(number="100").description == "Changed meanwhile"


def test_it_refuses_when_a_planned_record_was_created_meanwhile(items):
    run = planned("items", "number,description,base_unit,item_type\n102,Washer,H87,component\n")
    Item.objects.create(number="102", description="Other", base_unit_id="H87", item_type="mro")
    assert applying.apply_run(run).status == ImportRun.Status.REFUSED
    assert Item.objects.get(number="102").description == "Other"


def test_it_applies_a_fresh_plan(items):
    run = planned("items", "number,description,base_unit,item_type\n100,Hex bolt,H87,component\n")
    run = applying.apply_run(run)
    assert run.status == ImportRun.Status.APPLIED
    assert Item.objects.get(number="100").description == "Hex bolt"
    with pytest.raises(applying.RunError):
        applying.apply_run(run)


def test_it_reverts_a_run(items):
    update = apply(
        "items",
        "number,description,base_unit,item_type\n100,Hex bolt,H87,component\n"
        "200,Gear,H87,component\n",
    )
    assert update.counts["create"] == update.counts["update"] == 1
    reverting.revert_run(update)
    assert update.status == ImportRun.Status.REVERTED
    assert not Item.objects.filter(number="200").exists()
    bolt = Item.objects.get(number="100")
    assert bolt.description == "Bolt"
    assert bolt.history.first().change_reference == f"revert-{update.pk}"
    reverting.revert_run(items)
    assert not Item.objects.exists()
    with pytest.raises(applying.RunError, match="only an applied import"):
        reverting.revert_run(items)


def test_it_refuses_to_revert_records_changed_since(items):
    bolt = Item.objects.get(number="100")
    bolt.description = "Edited in the admin"
    bolt.save()
    with pytest.raises(applying.RunError, match="1 record\\(s\\) were changed after it"):
        reverting.revert_run(items)
    assert Item.objects.count() == 2


def test_it_reverts_locations_with_their_parents(units, calendar):
    run = apply(
        "locations",
        "code,name,kind,country,parent.code\nP1,Plant,plant,DE,\nW1,Store,warehouse,DE,P1\n",
    )
    assert run.status == ImportRun.Status.APPLIED, run.errors
    assert Location.objects.get(code="W1").parent.code == "P1"
    reverting.revert_run(run)
    assert not Location.objects.exists()


def test_it_registers_and_reverts_cross_references(items, erp_system):
    text = "system,kind,code,target\nERP_LEGACY,item,A-100,100\nERP_LEGACY,unit,ST,h87\n"
    run = apply("xrefs", text)
    assert run.status == ImportRun.Status.APPLIED, run.errors
    reference = CrossReference.objects.get(code="A-100")
    assert (reference.origin, reference.item.number) == ("import", "100")
    assert reference.history.get().change_reference == str(run.pk)
    # A clash is the registry's own sentence.
    clash = apply(
        "xrefs", "system,kind,code,target,valid_from\nERP_LEGACY,item,A-100,101,2020-01-01\n"
    )
    assert clash.error_lines()[0].startswith("Row 2: ERP_LEGACY item code 'A-100' already means")
    reverting.revert_run(run)
    assert set(CrossReference.objects.values_list("status", flat=True)) == {"retired"}


def test_export_neutralises_formulas_and_imports_them_back(units):
    run = apply(
        "suppliers",
        'number,name,country\nS-1,=HYPERLINK("x"),DE\nS-2,\'=quoted,DE\nS-3,@home,DE\n',
    )
    assert run.status == ImportRun.Status.APPLIED, run.errors
    assert Supplier.objects.get(number="S-2").name == "=quoted"
    exported = export("suppliers")
    assert "'=HYPERLINK" in exported and "'@home" in exported
    again = runs.import_file("suppliers", csv_file(exported))
    assert again.plan_counts["unchanged"] == 3


def test_it_validates_again_what_changed_since_the_plan(items):
    from mdm.models import Unit

    text = "number,description,base_unit,item_type,net_weight,weight_unit\n"
    text += "300,Plate,H87,component,2.5,KGM\n"
    run = planned("items", text)
    assert run.plan_counts["create"] == 1
    kilogram = Unit.objects.get(code="KGM")
    kilogram.status = Unit.Status.DELETED
    kilogram.save()
    run = applying.apply_run(run)
    assert run.status == ImportRun.Status.FAILED
    assert run.error_lines() == [
        "Row 2, weight_unit: Unit KGM (kilogram) was deleted from UN/ECE Rec 20 and may not "
        "be used."
    ]
    assert not Item.objects.filter(number="300").exists()


def test_it_refuses_to_apply_a_stored_file_changed_since_the_plan(items):
    """The apply reads the stored file again: a file changed since the plan (even with the
    same keys) is refused, so nothing is written that the plan did not show."""
    run = planned(
        "items",
        "number,description,base_unit,item_type\n100,Hex bolt,H87,component\n"
        "102,Washer,H87,component\n",
    )
    with open(run.file.path, "w", encoding="utf-8") as tampered:
        tampered.write(
            "number,description,base_unit,item_type\n100,Tampered,H87,component\n"
            "102,Washer,H87,component\n"
        )
    run = applying.apply_run(run)
    assert run.status == ImportRun.Status.REFUSED
    assert "since the plan" in run.message
    assert Item.objects.get(number="100").description == "Bolt"
    assert not Item.objects.filter(number="102").exists()


def test_it_names_the_row_whose_unique_value_was_taken_since_the_plan(items):
    run = planned(
        "items",
        "number,description,base_unit,item_type,gtin\n102,Washer,H87,component,96385074\n",
    )
    Item.objects.create(
        number="103", description="Other", base_unit_id="H87", item_type="mro", gtin="96385074"
    )
    run = applying.apply_run(run)
    assert run.status == ImportRun.Status.FAILED
    assert run.error_lines() == ["Row 2, gtin: Another item already has this GTIN."]
    assert not Item.objects.filter(number="102").exists()


def test_it_applies_the_valid_rows_of_a_plan_with_skipped_errors(items):
    run = planned(
        "items",
        "number,description,base_unit,item_type\n102,Washer,H87,component\n103,,H87,component\n",
        skip_errors=True,
    )
    run = applying.apply_run(run)
    assert run.status == ImportRun.Status.APPLIED
    assert Item.objects.filter(number="102").exists() and not Item.objects.filter(number="103")
    assert run.error_lines() == ["Row 3, description: This field cannot be blank."]
    with run.failed_rows.open("rb") as failed:
        assert b"103,,H87,component" in failed.read()


def test_it_judges_each_weight_by_its_own_text(units):
    run = plan(
        "items",
        "number,description,base_unit,item_type,net_weight,weight_unit\n"
        "300,Plate,H87,component,1,KGM\n"
        "301,Plate,H87,component,1.0000000,KGM\n"
        "302,Plate,H87,component,1,KGM\n",
    )
    assert run.plan_counts["create"] == 2 and run.plan_counts["error"] == 1
    assert run.error_lines() == [
        "Row 3, net_weight: Ensure that there are no more than 6 decimal places."
    ]


def test_its_plan_finds_rows_that_clash_with_earlier_rows_of_the_file(items):
    from mdm.models import ItemRevision

    text = (
        "item.number,revision,status,effective_from,effective_to\n"
        "100,A,released,2026-01-01,\n"
        "100,B,released,2026-06-01,\n"
    )
    run = plan("item_revisions", text)
    assert run.plan_counts["error"] == 1
    assert run.error_lines() == [
        "Row 3: Released revision A is effective over the same dates (2026-01-01 to open); "
        "end it first."
    ]
    assert not ItemRevision.objects.exists()  # the plan wrote nothing
