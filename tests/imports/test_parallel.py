"""A large plan judges its chunks in forked worker processes (mdm.forked): it must find
exactly what a plan in one process finds, duplicates across chunks included, and its apply
must write the same records. PostgreSQL only (a fork cannot share an in-memory SQLite
database), with committed data the workers' own connections can see."""

from decimal import Decimal

import pytest
from django.db import connection

from imports import services
from imports.models import ImportRun
from mdm import forked
from mdm.models import Item, Unit
from tests.imports.conftest import csv_file
from tests.mdm.test_forked import assert_reaped, forks
from tests.services import require

pytestmark = pytest.mark.django_db(transaction=True)

# Chunks of 3 rows: every in-file clash below is between rows of different chunks, so of
# different worker processes.
FILE = (
    "number,description,base_unit,item_type,gtin,net_weight,weight_unit\n"
    "200,Gear,H87,component,4006381333931,,\n"  # row 2: holds a GTIN first
    "201,Shaft,H87,component,,1.5,KGM\n"
    "202,Pin,XXX,component,,,\n"  # row 4: no such unit
    "203,,H87,component,,,\n"  # row 5: description required
    "100,Hex bolt,H87,component,,,\n"  # row 6: updates a stored item
    "101,Nut,H87,component,,,\n"  # row 7: as stored
    "204,Bolt,H87,component,4006381333931,,\n"  # row 8: the GTIN of row 2
    "201,Shaft again,H87,component,,,\n"  # row 9: the key of row 3
    "205,Washer,H87,component,0012345678905,,\n"  # row 10: item 102's GTIN
    "206,Spring,H87,gadget,,,\n"  # row 11: no such item type
    "207,Clip,H87,component,,-2,KGM\n"  # row 12: a negative weight
    "208,Ring,H87,component,,,\n"
)


@pytest.fixture
def world(db, settings):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    settings.HUB_IMPORT_CHUNK_ROWS = 3
    settings.HUB_IMPORT_PARALLEL_BYTES = 0
    Unit.objects.create(code="H87", name="piece", mapping_class="count")
    Unit.objects.create(
        code="KGM", name="kilogram", pint_expression="kilogram", mapping_class="direct"
    )
    h87 = Unit.objects.get(code="H87")
    Item.objects.create(number="100", description="Bolt", base_unit=h87, item_type="component")
    Item.objects.create(number="101", description="Nut", base_unit=h87, item_type="component")
    Item.objects.create(
        number="102",
        description="Cap",
        base_unit=h87,
        item_type="component",
        gtin="0012345678905",
    )


def _plan(settings, processes):
    settings.HUB_IMPORT_PROCESSES = processes
    run = services.start_run("items", csv_file(FILE, "items.csv"))
    services.process_run(run.pk)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PLANNED, run.message
    return run


def _failed_rows(run):
    with run.failed_rows.open("rb") as handle:
        return handle.read().decode("utf-8-sig")


def test_workers_find_what_one_process_finds(world, settings, monkeypatch):
    pids = forks(monkeypatch)

    alone = _plan(settings, processes=0)
    assert not pids
    shared = _plan(settings, processes=2)
    assert len(pids) == 2

    counts = {"rows": 12, "create": 3, "update": 1, "unchanged": 1, "error": 7}
    assert shared.plan_counts == alone.plan_counts == counts
    assert shared.error_lines() == alone.error_lines()
    assert shared.error_lines() == [
        "Row 4, base_unit: No unit with code 'XXX' (column base_unit); give a UN/ECE Rec 20 "
        "unit code such as H87 (piece) or KGM (kilogram).",
        "Row 5, description: This field cannot be blank.",
        "Row 8, gtin: Another item already has this GTIN. (row 2 of this file)",
        "Row 9, number: Duplicate key (number='201'): already in row 3.",
        "Row 10, gtin: Another item already has this GTIN.",
        "Row 11, item_type: 'gadget' is not a valid choice. Accepted codes: raw_material (Raw "
        "material); component (Purchased component); semi_finished (Semi-finished); "
        "finished_good (Finished good); packaging (Packaging); mro (Maintenance, repair, "
        "operations); service (Service).",
        "Row 12, net_weight: Ensure this value is greater than or equal to 0.",
    ]
    assert _failed_rows(shared) == _failed_rows(alone)
    assert shared.plan_fingerprint == alone.plan_fingerprint
    # The rows the plan shows (each field's change, every error) are the same too.
    fields = ("number", "action", "key", "record_id", "changes", "errors")
    assert list(shared.rows.values_list(*fields)) == list(alone.rows.values_list(*fields))
    update = shared.rows.get(action="update")
    assert update.changes and all(len(change) == 3 for change in update.changes)


def test_the_apply_of_a_shared_plan_writes_its_rows(world, settings):
    run = _plan(settings, processes=2)
    run.skip_errors = True
    run.save(update_fields=["skip_errors"])
    services.apply_run(run)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.APPLIED, run.message
    assert run.counts["create"] == 3 and run.counts["update"] == 1
    assert dict(Item.objects.values_list("number", "description")) == {
        "100": "Hex bolt",
        "101": "Nut",
        "102": "Cap",
        "200": "Gear",
        "201": "Shaft",
        "208": "Ring",
    }
    assert Item.objects.get(number="201").net_weight == 1.5
    assert Item.history.filter(change_reference=str(run.pk)).count() == 4


def test_a_failing_worker_fails_the_plan_and_leaves_no_process(world, settings, monkeypatch):
    settings.HUB_IMPORT_PROCESSES = 2
    pids = forks(monkeypatch)
    monkeypatch.setattr(services.Pass, "_judge", lambda self, rows: 1 / 0)
    run = services.start_run("items", csv_file(FILE, "items.csv"))
    with pytest.raises(forked.ChildFailed, match="ZeroDivisionError"):
        services.process_run(run.pk)
    assert len(pids) == 2
    assert_reaped(pids)


def test_the_apply_writes_each_value_as_the_plan_read_it(world, settings):
    """New records go in as COPY text the plan made (imports.services.CopyLayout): text with
    the characters that format escapes, numbers and references come out as they went in,
    and so do their history rows."""
    description = 'Back\\slash, tab\there, "quoted"\nsecond line, Grüße ✓'
    text = (
        "number,description,base_unit,item_type,net_weight,weight_unit,manufacturer\n"
        f'300,"{description.replace(chr(34), chr(34) * 2)}",H87,component,0.125,KGM,\\N\n'
        "301,Plain,H87,component,,,\n"
    )
    run = services.start_run("items", csv_file(text, "items.csv"))
    services.process_run(run.pk)
    run.refresh_from_db()
    services.apply_run(run)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.APPLIED, run.message

    item = Item.objects.get(number="300")
    assert item.description == description
    assert item.manufacturer == "\\N"  # a cell's text, not COPY's null
    assert item.net_weight == Decimal("0.125")
    assert item.weight_unit.code == "KGM" and item.base_unit.code == "H87"
    assert item.public_id.startswith(Item.PUBLIC_ID_PREFIX)
    plain = Item.objects.get(number="301")
    assert plain.net_weight is None and plain.weight_unit is None and plain.manufacturer == ""
    for record in (item, plain):
        (row,) = Item.history.filter(id=record.pk)
        assert row.history_type == "+" and row.change_reference == str(run.pk)
        assert (row.public_id, row.description, row.net_weight, row.created_at) == (
            record.public_id,
            record.description,
            record.net_weight,
            record.created_at,
        )


def test_a_file_error_midway_fails_the_plan_and_ends_the_workers(world, settings, monkeypatch):
    pids = forks(monkeypatch)
    settings.HUB_IMPORT_PROCESSES = 2
    broken = FILE.encode() + "209,Gr\xfc\xdfe,H87,component,,,\n".encode("latin-1")
    run = services.start_run("items", csv_file(broken, "items.csv"))
    services.process_run(run.pk)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED
    assert run.message.startswith("Line 14 is not UTF-8")
    assert len(pids) == 2
    assert_reaped(pids)
    assert Item.objects.count() == 3  # the world's items, nothing of the file


def test_workers_never_use_a_connection_the_planning_process_has_open(world, settings, monkeypatch):
    """A connection the planning process could not close before forking (a test runner's or a
    framework's) is never used by the workers, which would then talk over one socket with it."""
    monkeypatch.setattr(forked.connections, "close_all", lambda: None)
    connection.ensure_connection()
    for _ in range(3):
        run = _plan(settings, processes=2)
        assert run.plan_counts["update"] == 1 and run.plan_counts["unchanged"] == 1
    assert connection.connection is not None and not connection.connection.closed
    assert Item.objects.count() == 3  # the planning process's connection still works
