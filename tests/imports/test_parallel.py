"""A plan of a bulk kind is judged in chunks by Celery tasks on the import queue, any worker
taking any chunk, and settled in file order by a final task (imports.planning). It must find
exactly what a plan in one chunk finds: keys and unique values repeated across chunks,
errors with their row numbers, in file order. Without a broker the tasks run inline."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from imports import applying, enqueue, planning, runs, tasks
from imports.judging import Judge
from imports.models import ImportChunk, ImportRun
from mdm.models import Item, Unit
from tests.imports.conftest import csv_file

# Chunks of 3 rows: every in-file clash below is between rows of different chunks.
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
def world(units):
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


def _plan(settings, chunk_rows, text=FILE):
    settings.HUB_IMPORT_CHUNK_ROWS = chunk_rows
    run = runs.start_run("items", csv_file(text, "items.csv"))
    runs.process_run(run.pk)
    run.refresh_from_db()
    return run


def _failed_rows(run):
    with run.failed_rows.open("rb") as handle:
        return handle.read().decode("utf-8-sig")


def test_a_plan_in_chunks_finds_what_a_plan_in_one_chunk_finds(world, settings, monkeypatch):
    sent = []
    send = tasks.plan_chunk.apply_async
    monkeypatch.setattr(
        tasks.plan_chunk, "apply_async", lambda *a, **kw: sent.append(kw["queue"]) or send(*a, **kw)
    )
    settings.HUB_IMPORT_QUEUE = "imports"

    whole = _plan(settings, chunk_rows=1000)
    assert sent == ["imports"]
    chunked = _plan(settings, chunk_rows=3)
    assert sent == ["imports"] * 5  # 12 rows: 4 chunks of 3

    assert chunked.status == whole.status == ImportRun.Status.PLANNED
    counts = {"rows": 12, "create": 3, "update": 1, "unchanged": 1, "error": 7}
    assert chunked.plan_counts == whole.plan_counts == counts
    assert chunked.error_lines() == whole.error_lines()
    assert chunked.error_lines() == [
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
    assert _failed_rows(chunked) == _failed_rows(whole)
    assert chunked.plan_fingerprint == whole.plan_fingerprint
    # The rows the plan shows (each field's change, every error) are the same too.
    fields = ("number", "action", "key", "record_id", "changes", "errors")
    assert list(chunked.rows.values_list(*fields)) == list(whole.rows.values_list(*fields))
    update = chunked.rows.get(action="update")
    assert update.changes == [["description", "Bolt", "Hex bolt"]]
    # The plan keeps its chunks, with the valid rows' values, for the apply.
    kept = ImportChunk.objects.filter(run=chunked)
    assert list(kept.values_list("status", flat=True)) == [ImportChunk.Status.KEPT] * 4


def test_the_apply_of_a_chunked_plan_writes_its_rows(world, settings):
    run = _plan(settings, chunk_rows=3)
    run.skip_errors = True
    run.save(update_fields=["skip_errors"])
    applying.apply_run(run)
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
    assert Item.objects.get(number="201").net_weight == Decimal("1.5")
    assert Item.history.filter(change_reference=str(run.pk)).count() == 4
    assert not ImportChunk.objects.filter(run=run).exists()  # written, so dropped


def test_the_apply_writes_what_the_plan_kept_without_judging_again(world, settings, monkeypatch):
    run = _plan(settings, chunk_rows=3)
    run.skip_errors = True
    run.save(update_fields=["skip_errors"])

    def judged_again(self, rows, cells_of):
        raise AssertionError("the apply judged rows its plan had judged")

    monkeypatch.setattr(Judge, "judge", judged_again)
    applying.apply_run(run)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.APPLIED, run.message
    assert Item.objects.get(number="100").description == "Hex bolt"


def test_an_apply_whose_plan_kept_nothing_is_refused(world, settings):
    run = _plan(settings, chunk_rows=3)
    run.skip_errors = True
    run.save(update_fields=["skip_errors"])
    ImportChunk.objects.filter(run=run).delete()  # as a plan made by an older version
    applying.apply_run(run)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.REFUSED
    assert "plan the file again" in run.message
    assert Item.objects.get(number="100").description == "Bolt"


def test_a_failing_chunk_fails_the_plan_and_says_where(world, settings, monkeypatch):
    judge = Judge.judge

    def fails_on_row_5(self, rows, cells_of):
        if rows[0].number == 5:
            raise ZeroDivisionError("division by zero")
        return judge(self, rows, cells_of)

    monkeypatch.setattr(Judge, "judge", fails_on_row_5)
    run = _plan(settings, chunk_rows=3)
    assert run.status == ImportRun.Status.FAILED
    assert run.message == (
        "The plan failed in chunk 2 of 4 (3 row(s) from row 5): ZeroDivisionError: division "
        "by zero. Nothing was written; upload the file again."
    )
    assert not run.plan_fingerprint and not run.rows.exists()
    assert not ImportChunk.objects.exists()


def test_a_task_delivered_twice_does_its_work_once(world, settings, monkeypatch):
    held = []
    monkeypatch.setattr(enqueue, "send_task", lambda task, pk: held.append((task, pk)))
    run = _plan(settings, chunk_rows=5)
    assert run.status == ImportRun.Status.RUNNING  # its chunk tasks are on their way
    chunk_tasks = [pk for task, pk in held if task == "plan_chunk"]
    assert len(chunk_tasks) == 3
    for pk in chunk_tasks + chunk_tasks:  # every chunk task delivered twice
        planning.plan_chunk(pk)
    finishers = [pk for task, pk in held if task == "finish_plan"]
    assert finishers and set(finishers) == {run.pk}
    planning.finish_plan(run.pk)
    assert planning.finish_plan(run.pk) is None  # the second settling finds nothing to do
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PLANNED
    assert run.plan_counts["rows"] == 12 and run.rows.count() == 12


def test_a_file_error_midway_fails_the_plan_before_any_chunk(world, settings, monkeypatch):
    held = []
    monkeypatch.setattr(enqueue, "send_task", lambda task, pk: held.append(pk))
    broken = FILE.encode() + "209,Gr\xfc\xdfe,H87,component,,,\n".encode("latin-1")
    run = _plan(settings, chunk_rows=3, text=broken)
    assert run.status == ImportRun.Status.FAILED
    assert run.message.startswith("Line 14 is not UTF-8")
    assert not held and not ImportChunk.objects.exists()
    assert Item.objects.count() == 3  # the world's items, nothing of the file


def test_the_apply_writes_each_value_as_the_plan_read_it(units, settings):
    """New records go in as the file's cells parsed (with COPY on PostgreSQL): text with
    tabs, backslashes and line breaks, numbers and references come out as they went in, and
    so do their history rows."""
    description = 'Back\\slash, tab\there, "quoted"\nsecond line, Grüße ✓'
    text = (
        "number,description,base_unit,item_type,net_weight,weight_unit,manufacturer\n"
        f'300,"{description.replace(chr(34), chr(34) * 2)}",H87,component,0.125,KGM,\\N\n'
        "301,Plain,H87,component,,,\n"
    )
    run = _plan(settings, chunk_rows=1, text=text)
    applying.apply_run(run)
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


def test_the_sweep_sends_again_the_chunk_tasks_lost_on_the_way(world, settings, monkeypatch):
    held = []
    monkeypatch.setattr(enqueue, "send_task", lambda task, pk: held.append((task, pk)))
    settings.HUB_REQUEUE_SECONDS = 300
    run = _plan(settings, chunk_rows=5)
    chunk_tasks = [pk for task, pk in held if task == "plan_chunk"]
    planning.plan_chunk(chunk_tasks[0])  # one task arrived; the broker lost the others
    held.clear()
    assert runs.enqueue_waiting_runs() == 0  # the plan made progress a moment ago
    a_while_ago = timezone.now() - datetime.timedelta(minutes=6)
    # The worker that claimed the second chunk died; the third chunk's task never arrived.
    ImportChunk.objects.filter(pk=chunk_tasks[1]).update(claimed_at=a_while_ago)
    ImportRun.objects.filter(pk=run.pk).update(heartbeat_at=a_while_ago)
    assert runs.enqueue_waiting_runs() == 2
    assert held == [("plan_chunk", pk) for pk in chunk_tasks[1:]]

    monkeypatch.undo()  # the broker is back (tasks run inline)
    runs.enqueue_waiting_runs()
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PLANNED and run.plan_counts["rows"] == 12
