"""A run whose worker stopped mid-run (killed, redeployed) does not stay "running" for ever:
the sweep ends it, and nothing of it was written."""

import datetime

import pytest
from django.utils import timezone

from imports import applying, runs, tasks
from imports.models import ImportRun
from mdm.models import Item
from tests.imports.conftest import csv_file

ROWS = "number,description,base_unit,item_type\n500,Bolt,H87,component\n"


def _stalled(run, minutes):
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.RUNNING,
        heartbeat_at=timezone.now() - datetime.timedelta(minutes=minutes),
    )


def test_it_fails_a_plan_whose_worker_stopped(units):
    run = runs.start_run("items", csv_file(ROWS))
    _stalled(run, minutes=11)
    tasks.sweep_interrupted_imports()
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED
    assert run.message.startswith("The plan was interrupted")
    assert "upload the file again" in run.message


def test_it_puts_back_an_apply_whose_worker_stopped_so_it_can_be_applied_again(units):
    run = runs.start_run("items", csv_file(ROWS))
    runs.process_run(run.pk)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PLANNED
    _stalled(run, minutes=30)
    assert runs.sweep_interrupted_runs() == (0, 1)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PLANNED and "apply it again" in run.message
    assert not Item.objects.exists()
    assert applying.apply_run(run).status == ImportRun.Status.APPLIED
    assert Item.objects.filter(number="500").exists()


def test_it_leaves_a_run_that_is_making_progress(units, settings):
    settings.HUB_IMPORT_STALL_SECONDS = 600
    run = runs.start_run("items", csv_file(ROWS))
    _stalled(run, minutes=5)
    assert runs.sweep_interrupted_runs() == (0, 0)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.RUNNING


@pytest.mark.django_db(transaction=True)  # progress is written outside the test's transaction
def test_a_run_records_its_heartbeat_while_it_works(units):
    run = runs.start_run("items", csv_file(ROWS))
    beats = []

    def progress(counts, percent):  # called after each chunk, once its progress is written
        beats.append(ImportRun.objects.values_list("started_at", "heartbeat_at").get(pk=run.pk))

    runs.process_run(run.pk, progress=progress)
    # The claim beats first, at the start; each chunk read beats again.
    assert beats and all(heartbeat > started for started, heartbeat in beats)
