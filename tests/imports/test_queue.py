"""An import's work is stored before it is queued, and claimed once: a broker that refuses
the task delays an upload or an apply until the sweep sends it again, never loses it; an
apply answers 202 while it is queued or running and 200 once it is done; two applies or two
reverts of one run at once do it once, and the other caller is told why not."""

import datetime
from unittest import mock

import kombu.exceptions
import pytest
from django.utils import timezone

from imports import applying, enqueue, reverting, runs, tasks
from imports.models import ImportRun
from mdm.models import Item
from tests.imports.conftest import csv_file
from tests.problems import problem_of

ITEMS = "number,description,base_unit,item_type\n100,Bolt,H87,component\n101,Nut,H87,component\n"
REFUSED = kombu.exceptions.OperationalError(
    "Error 111 connecting to 127.0.0.1:6379. Connection refused."
)


def upload(api, text, **data):
    return api.post(
        "/api/v1/imports/",
        {"kind": "items", "file": csv_file(text, "items.csv"), **data},
        format="multipart",
    )


def planned(text=ITEMS):
    run = runs.start_run("items", csv_file(text))
    runs.process_run(run.pk)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PLANNED
    return run


def waited(run, seconds):
    """As if the run's task had been sent `seconds` ago."""
    ImportRun.objects.filter(pk=run.pk).update(
        enqueued_at=timezone.now() - datetime.timedelta(seconds=seconds)
    )


# --- a broker that refuses ---------------------------------------------------------------
# transaction=True: the task is sent when the request's own transaction commits, inside the
# request, as in production (where the refusal was a 500).


@pytest.mark.django_db(transaction=True)
def test_an_upload_while_the_broker_is_down_is_kept_and_planned_by_the_sweep(
    units, steward_api, settings
):
    settings.HUB_REQUEUE_SECONDS = 300
    with mock.patch.object(tasks.process_import, "apply_async", side_effect=REFUSED):
        response = upload(steward_api, ITEMS)
    assert response.status_code == 202
    body = response.json()
    url = f"/api/v1/imports/{body['id']}/"
    assert (body["status"], body["status_url"], response["Location"]) == ("queued", url, url)
    assert body["detail"].startswith(f"Import #{body['id']} is being planned (queued)")
    run = ImportRun.objects.get(pk=body["id"])
    waited(run, 200)
    assert runs.enqueue_waiting_runs() == 0  # not lost yet: perhaps still on its way
    waited(run, 301)
    tasks.sweep_interrupted_imports()  # the beat's sweep; the broker is back
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PLANNED
    assert run.plan_counts["create"] == 2


@pytest.mark.django_db(transaction=True)
def test_an_apply_while_the_broker_is_down_is_kept_and_done_by_the_sweep(units, steward_api):
    run = planned()
    with mock.patch.object(tasks.apply_import, "apply_async", side_effect=REFUSED):
        response = steward_api.post(f"/api/v1/imports/{run.pk}/apply/")
        again = steward_api.post(f"/api/v1/imports/{run.pk}/apply/")
        waited(run, 600)
        runs.enqueue_waiting_runs()  # the broker is still down: the run stays queued
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert response.json()["detail"].startswith(f"Import #{run.pk} is being applied (queued)")
    assert again.status_code == 409
    assert again.json()["detail"].startswith(f"Import #{run.pk} is already being applied")
    assert not Item.objects.exists()
    waited(run, 600)
    tasks.sweep_interrupted_imports()
    run.refresh_from_db()
    assert run.status == ImportRun.Status.APPLIED
    assert Item.objects.count() == 2
    # Who asked for the apply is who changed the records, though the sweep sent the task.
    assert {h.history_user.username for h in Item.history.all()} == {"api:erp-steward"}


@pytest.mark.django_db(transaction=True)
def test_an_apply_done_before_the_answer_is_a_200(units, steward_api):
    """Tasks that run in the web process (no broker): the apply is done when it answers."""
    run = planned()
    response = steward_api.post(f"/api/v1/imports/{run.pk}/apply/")
    assert (response.status_code, response.json()["status"]) == (200, "applied")
    assert Item.objects.count() == 2


def test_the_sweep_sends_a_queued_run_once_however_many_sweeps_run(units, settings):
    settings.HUB_REQUEUE_SECONDS = 60
    run = runs.start_run("items", csv_file(ITEMS))
    waited(run, 61)
    with mock.patch.object(enqueue, "send_task") as send:
        assert runs.enqueue_waiting_runs() == 1
        assert runs.enqueue_waiting_runs() == 0  # the first sweep took it
    send.assert_called_once_with("process_import", run.pk)


# --- apply: 202 while it runs, and once ----------------------------------------------------


def test_an_apply_answers_202_until_it_is_done_and_a_second_apply_is_told_so(
    units, steward_api, django_capture_on_commit_callbacks
):
    """The review's reproduction: the apply answered 201 "Applied already" with the body
    saying planned, and a second call another 201."""
    run = planned()
    with django_capture_on_commit_callbacks(execute=False) as sent:  # the worker is busy
        first = steward_api.post(f"/api/v1/imports/{run.pk}/apply/")
        second = steward_api.post(f"/api/v1/imports/{run.pk}/apply/")
    assert first.status_code == 202
    assert first.json()["status"] == "queued"
    assert first["Location"] == first.json()["status_url"] == f"/api/v1/imports/{run.pk}/"
    problem = problem_of(second, 409)
    assert problem["detail"] == (
        f"Import #{run.pk} is already being applied (queued); follow its status "
        "until it is applied."
    )
    assert problem["status_url"] == f"/api/v1/imports/{run.pk}/"
    assert len(sent) == 1  # one task sent
    sent[0]()  # the worker takes it
    assert steward_api.get(f"/api/v1/imports/{run.pk}/").json()["status"] == "applied"
    third = steward_api.post(f"/api/v1/imports/{run.pk}/apply/")
    assert third.status_code == 409
    assert "is applied; only a planned import can be applied" in third.json()["detail"]


def test_two_applies_that_both_saw_the_run_planned_queue_it_once(
    units, django_capture_on_commit_callbacks
):
    run = planned()
    mine, theirs = ImportRun.objects.get(pk=run.pk), ImportRun.objects.get(pk=run.pk)
    with django_capture_on_commit_callbacks(execute=True):
        runs.request_apply(mine)
        with pytest.raises(applying.AlreadyApplying, match="already being applied"):
            runs.request_apply(theirs)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.APPLIED
    assert Item.history.count() == 2


def test_a_delivered_twice_apply_task_applies_once(units):
    run = planned()
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.QUEUED)
    assert runs.apply_queued_run(run.pk).status == ImportRun.Status.APPLIED
    assert runs.apply_queued_run(run.pk) is None
    assert Item.history.count() == 2


# --- revert: once ----------------------------------------------------------------------------


def test_two_reverts_that_both_saw_the_run_applied_revert_it_once(units, steward_api):
    """The review's reproduction: both ran, and the history doubled."""
    run = planned()
    applying.apply_run(run)
    mine, theirs = ImportRun.objects.get(pk=run.pk), ImportRun.objects.get(pk=run.pk)
    reverting.revert_run(mine)
    with pytest.raises(applying.RunError, match="reverted by another request"):
        reverting.revert_run(theirs)
    assert not Item.objects.exists()
    assert Item.history.filter(history_type="-").count() == 2  # one deletion per record
    response = steward_api.post(f"/api/v1/imports/{run.pk}/revert/")
    assert response.status_code == 409
    assert "only an applied import can be reverted" in response.json()["detail"]


def test_a_revert_that_is_refused_leaves_the_run_applied(units):
    run = planned()
    applying.apply_run(run)
    item = Item.objects.get(number="100")
    item.description = "Hex bolt"
    item.save()
    with pytest.raises(applying.RunError, match="were changed after it"):
        reverting.revert_run(run)
    run.refresh_from_db()
    assert (run.status, run.reverted_at) == (ImportRun.Status.APPLIED, None)
