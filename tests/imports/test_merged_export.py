"""Merged records in the CSV export and its import (issue 19): the export says which records
were merged into another (`merged_into`, the survivor's public id), the export imported again
changes nothing, and an import is no back door into a merged record or its merged_into."""

import csv
import io
from types import SimpleNamespace

import pytest

from imports import applying, exporting
from imports.models import ImportRun
from mdm.models import Item, Location, Supplier
from tests.imports.conftest import apply, export, plan
from xref.merging import merge, unmerge

pytestmark = pytest.mark.django_db


@pytest.fixture
def hub(units):
    """Two suppliers, items and locations each, the second of each merged into the first, and
    a third of each left alone."""
    h87 = units[0]
    acme = Supplier.objects.create(number="V900003", name="Acme Fasteners", country="DE")
    acme_again = Supplier.objects.create(number="V900011", name="ACME Fasteners", country="DE")
    globex = Supplier.objects.create(number="V900020", name="Globex", country="US")
    bolt = Item.objects.create(
        number="100234", description="Hex bolt M8x40", base_unit=h87, item_type="component"
    )
    bolt_again = Item.objects.create(
        number="900234", description="Bolt hex M8x40", base_unit=h87, item_type="component"
    )
    nut = Item.objects.create(
        number="100235", description="Hex nut M8", base_unit=h87, item_type="component"
    )
    plant = Location.objects.create(code="DE01", name="Plant", kind="plant", country="DE")
    plant_again = Location.objects.create(code="DE01-X", name="Plant 1", kind="plant", country="DE")
    warehouse = Location.objects.create(
        code="DE02", name="Warehouse", kind="warehouse", country="DE"
    )
    merges = {
        "suppliers": merge("supplier", acme.public_id, acme_again.public_id),
        "items": merge("item", bolt.public_id, bolt_again.public_id),
        "locations": merge("location", plant.public_id, plant_again.public_id),
    }
    return SimpleNamespace(
        merges=merges,
        # kind -> (survivor, loser, live record, header of the key)
        suppliers=(acme, acme_again, globex, "number"),
        items=(bolt, bolt_again, nut, "number"),
        locations=(plant, plant_again, warehouse, "code"),
    )


KINDS = ("suppliers", "items", "locations")
# A column each kind's steward would change, and the new value.
CHANGE = {
    "suppliers": ("name", "Acme Fasteners Ltd"),
    "items": ("description", "Bolt"),
    "locations": ("name", "Old plant"),
}


def exported_rows(kind):
    return list(csv.DictReader(io.StringIO(export(kind))))


def as_csv(rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def row_of(rows, header, key):
    return next(row for row in rows if row[header] == key)


def numbers(kind, record):
    return record.number if kind != "locations" else record.code


@pytest.mark.parametrize("kind", KINDS)
def test_it_exports_the_survivors_id_for_a_merged_record_and_blank_for_live_ones(hub, kind):
    survivor, loser, live, header = getattr(hub, kind)
    text = export(kind)
    assert text.splitlines()[0].endswith(",merged_into")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert row_of(rows, header, numbers(kind, loser))["merged_into"] == survivor.public_id
    assert row_of(rows, header, numbers(kind, survivor))["merged_into"] == ""
    assert row_of(rows, header, numbers(kind, live))["merged_into"] == ""


def test_the_streamed_export_marks_it_too(hub):
    survivor, loser, _, _ = hub.suppliers
    text = "".join(exporting.export_chunks("suppliers", rows_per_chunk=1)).lstrip("\ufeff")
    line = next(line for line in text.splitlines() if line.startswith(loser.number))
    assert line.endswith(f",{survivor.public_id}")


def test_after_an_unmerge_the_export_is_blank_again(hub):
    survivor, loser, _, header = hub.suppliers
    unmerge(hub.merges["suppliers"])
    assert row_of(exported_rows("suppliers"), header, loser.number)["merged_into"] == ""


@pytest.mark.parametrize("kind", KINDS)
def test_its_export_imported_again_changes_nothing(hub, kind):
    exported = export(kind)
    again = apply(kind, exported)
    assert again.status == ImportRun.Status.APPLIED, again.error_lines() or again.message
    assert again.plan_counts["error"] == 0
    assert again.plan_counts["unchanged"] == again.plan_counts["rows"] == 3
    assert export(kind) == exported


@pytest.mark.parametrize("kind", KINDS)
def test_a_row_changing_a_merged_record_is_refused_and_the_others_apply(hub, kind):
    survivor, loser, live, header = getattr(hub, kind)
    column, value = CHANGE[kind]
    rows = exported_rows(kind)
    row_of(rows, header, numbers(kind, loser))[column] = value
    row_of(rows, header, numbers(kind, live))[column] = value
    text = as_csv(rows)

    run = plan(kind, text)
    assert run.plan_counts["error"] == 1 and run.plan_counts["update"] == 1
    assert run.error_lines() == [
        f"Row {rows.index(row_of(rows, header, numbers(kind, loser))) + 2}: "
        f"{loser.public_id} ({numbers(kind, loser)}) was merged into {survivor.public_id}: "
        "change that record instead."
    ]

    assert not run.can_apply  # all or nothing, unless the steward skips the failed rows
    partly = apply(kind, text, skip_errors=True)
    assert partly.status == ImportRun.Status.APPLIED, partly.message
    assert partly.counts["update"] == 1
    assert getattr(type(loser).objects.get(pk=loser.pk), column) == getattr(loser, column)
    assert getattr(type(live).objects.get(pk=live.pk), column) == value


def test_blanking_merged_into_does_not_unlock_a_merged_record(hub):
    survivor, loser, _, _ = hub.suppliers
    run = plan(
        "suppliers",
        f"number,name,country,merged_into\n{loser.number},Acme Fasteners Ltd,DE,\n",
    )
    assert run.error_lines() == [
        f"Row 2: {loser.public_id} ({loser.number}) was merged into {survivor.public_id}: "
        "change that record instead."
    ]


def test_a_file_without_merged_into_cannot_change_a_merged_record_either(hub):
    survivor, loser, _, _ = hub.locations
    run = plan("locations", f"code,name,kind,country\n{loser.code},Old plant,plant,DE\n")
    assert run.plan_counts["error"] == 1
    assert (
        f"was merged into {survivor.public_id}: change that record instead"
        in (run.error_lines()[0])
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_merged_into_cell_other_than_the_stored_one_is_refused(hub, kind):
    survivor, loser, live, header = getattr(hub, kind)
    rows = exported_rows(kind)
    row_of(rows, header, numbers(kind, loser))["merged_into"] = live.public_id
    row_of(rows, header, numbers(kind, live))["merged_into"] = survivor.public_id
    text = as_csv(rows)
    run = plan(kind, text)
    assert run.plan_counts["error"] == 2
    messages = {error["message"] for error in run.errors if error["column"] == "merged_into"}
    assert messages == {
        "merged_into is set by merging and unmerging records in the hub, not by a file; "
        f"leave it as exported ({survivor.public_id}) or blank.",
        "merged_into is set by merging and unmerging records in the hub, not by a file; "
        "leave it blank (this record is not merged into another).",
    }
    assert apply(kind, text, skip_errors=True).counts["update"] == 0
    assert type(loser).objects.get(pk=loser.pk).merged_into == survivor.public_id
    assert type(live).objects.get(pk=live.pk).merged_into == ""


def test_merged_into_is_read_as_a_public_id_in_any_case_and_may_be_left_blank(hub):
    survivor, loser, live, _ = hub.suppliers
    text = (
        "number,name,country,merged_into\n"
        f"{loser.number},{loser.name},DE,{survivor.public_id.lower()}\n"
        f"{live.number},{live.name},US,\n"
    )
    run = plan("suppliers", text)
    assert run.error_lines() == []
    assert run.plan_counts["unchanged"] == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_record_cannot_arrive_merged(hub, kind):
    survivor, _, _, header = getattr(hub, kind)
    rows = exported_rows(kind)
    new = dict(row_of(rows, header, numbers(kind, survivor)))
    new[header] = "NEW-1"
    new["merged_into"] = survivor.public_id
    for unique in ("gtin", "gln", "duns", "lei"):
        new.pop(unique, None)
    run = plan(kind, as_csv([new]))
    assert run.plan_counts["error"] == 1
    assert run.error_lines() == [
        "Row 2, merged_into: merged_into is set by merging and unmerging records in the hub, "
        "not by a file; leave it blank (a new record is not merged into another)."
    ]


def test_a_plan_made_before_the_merge_is_not_applied_after_it(units):
    h87 = units[0]
    Item.objects.create(number="1", description="Bolt", base_unit=h87, item_type="component")
    twin = Item.objects.create(number="2", description="Bolt", base_unit=h87, item_type="component")
    run = plan("items", "number,description,base_unit,item_type\n2,Bolt M8,H87,component\n")
    assert run.plan_counts["update"] == 1
    merge("item", Item.objects.get(number="1").public_id, twin.public_id)
    assert applying.apply_run(run).status == ImportRun.Status.REFUSED
    assert Item.objects.get(pk=twin.pk).description == "Bolt"


def test_the_template_leaves_merged_into_out(db):
    for kind in KINDS:
        header = exporting.template_csv(kind).strip()
        assert "merged_into" not in header.split(",")
        assert header.startswith("number," if kind != "locations" else "code,")
    assert exporting.template_csv("suppliers").strip() == (
        "number,name,legal_name,status,country,duns,lei,vat"
    )


@pytest.mark.parametrize(
    ("kind", "text", "column", "names"),
    [
        pytest.param(
            "supplier_sites",
            "supplier.number,code,name,country\nV900011,ORD,Ordering,DE\n",
            "supplier.number",
            "The supplier with number 'V900011' (column supplier.number)",
            id="a-site-of-a-merged-supplier",
        ),
        pytest.param(
            "item_revisions",
            "item.number,revision,effective_from\n900234,B,2026-01-01\n",
            "item.number",
            "The item with number '900234' (column item.number)",
            id="a-revision-of-a-merged-item",
        ),
    ],
)
def test_a_row_naming_a_merged_record_is_refused_naming_the_survivor(
    hub, kind, text, column, names
):
    survivor = hub.merges["suppliers" if kind == "supplier_sites" else "items"].survivor

    run = plan(kind, text)

    assert run.plan_counts["error"] == 1
    assert run.error_lines() == [
        f"Row 2, {column}: {names} was merged into {survivor}: name that "
        f"{'supplier' if kind == 'supplier_sites' else 'item'} instead."
    ]


def test_a_location_under_a_merged_parent_is_refused(hub):
    plant, plant_again, _, _ = hub.locations
    text = f"code,name,kind,country,parent.code\nDE03,Dock,dock,DE,{plant_again.code}\n"

    run = plan("locations", text)

    assert run.plan_counts["error"] == 1
    assert (
        f"was merged into {plant.public_id}: name that location instead." in (run.error_lines()[0])
    )
