"""The life of an import run: stored as uploaded and queued, claimed by one worker, planned,
its apply asked for and claimed, swept when its worker stopped or its task was lost.

Every step that a task may repeat claims the run with a conditional UPDATE, so a task
delivered twice does its work once. Tasks are sent after the run is stored; a task the
broker refused is sent again by the sweep (`enqueue_waiting_runs`)."""

import datetime
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db.models import Q
from django.utils import timezone

from core.db import take_unsent
from imports import approval, enqueue
from imports.applying import AlreadyApplying, apply_claimed, apply_run, check_can_apply
from imports.kinds import KINDS
from imports.models import ImportChunk, ImportRun
from imports.planning import plan_claimed

logger = logging.getLogger(__name__)

# Queued runs the sweep sends again at a time.
SWEEP_BATCH = 1000


def start_run(kind, uploaded, *, mode=ImportRun.Mode.PLAN, skip_errors=False, user=None, reason=""):
    """Store an uploaded file as a new queued run. `reason`: why its apply (mode apply) is
    asked for, should its plan need approval (imports.approval)."""
    if kind not in KINDS:
        raise ValidationError({"kind": f"Unknown kind {kind!r} (known: {', '.join(KINDS)})."})
    run = ImportRun(
        kind=kind,
        mode=mode,
        skip_errors=skip_errors,
        apply_reason=(reason or "").strip(),
        created_by=user,
        file_name=(getattr(uploaded, "name", "") or "upload.csv").rsplit("/", 1)[-1][:255],
        file_size=getattr(uploaded, "size", 0) or 0,
        enqueued_at=timezone.now(),
    )
    run.save()
    run.file.save(run.file_name, uploaded, save=True)
    return run


def process_run(run_id, progress=None):
    """Plan a queued run (and, when it asks for it, apply it once planned). Claims the run
    first, so two workers never process it twice. A run queued for its apply (it has a plan)
    is not planned again: apply_queued_run() takes it."""
    now = timezone.now()
    claimed = ImportRun.objects.filter(
        pk=run_id, status=ImportRun.Status.QUEUED, plan_fingerprint=""
    ).update(status=ImportRun.Status.RUNNING, started_at=now, heartbeat_at=now, progress=0)
    if not claimed:
        return None
    run = plan_claimed(ImportRun.objects.get(pk=run_id), progress=progress)
    run.refresh_from_db()
    if progress and run.plan_counts:
        progress(run.plan_counts, run.progress)
    return run


def request_apply(run, user=None, skip_errors=False, reason=""):
    """Ask for a planned run's apply, to be done by a worker: planned -> queued in one
    conditional UPDATE, so of two requests at once one queues it and the other gets
    AlreadyApplying. The task is sent after commit; a send the broker refuses leaves the run
    queued for the sweep (enqueue_waiting_runs). RunError when it cannot be applied.

    When an approval policy covers what it changes, the run awaits approval instead, held by
    a change request asked by `user` for `reason` (ValidationError without one)."""
    if skip_errors:
        run.skip_errors = True
    check_can_apply(run)
    if approval.covering(run):
        return approval.ask(run, by=user, reason=reason)
    now = timezone.now()
    user = user if user is not None and user.is_authenticated else None
    claimed = ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.PLANNED).update(
        status=ImportRun.Status.QUEUED,
        mode=ImportRun.Mode.APPLY,
        skip_errors=run.skip_errors,
        applied_by=user,
        enqueued_at=now,
        progress=0,
        message="",
    )
    if not claimed:
        run.refresh_from_db()
        check_can_apply(run)  # what another request made of it
        raise AlreadyApplying(f"Import #{run.pk} is already being applied.")
    run.refresh_from_db()
    enqueue.on_commit("apply_import", run.pk)
    return run


def apply_queued_run(run_id, progress=None):
    """Apply a run queued by request_apply(): queued -> running in one conditional UPDATE,
    so a task delivered twice applies it once. Returns the run, or None when there was
    nothing to do."""
    claimed = (
        ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.QUEUED)
        .exclude(plan_fingerprint="")
        .update(status=ImportRun.Status.RUNNING, progress=0, heartbeat_at=timezone.now())
    )
    if not claimed:
        return None
    run = ImportRun.objects.select_related("applied_by").get(pk=run_id)
    return apply_claimed(run, user=run.applied_by, progress=progress)


def import_file(
    kind, path_or_file, *, apply=False, skip_errors=False, user=None, reason="", progress=None
):
    """Store, plan (and apply) a file here and now: the command's way. Returns the run. An
    apply that needs approval is asked for instead (imports.approval): the run awaits
    approval; ValidationError, the run planned, without `user` or `reason`."""
    opened = path_or_file if hasattr(path_or_file, "read") else open(path_or_file, "rb")  # noqa: SIM115
    try:
        name = str(getattr(path_or_file, "name", path_or_file))
        uploaded = File(opened, name=name.rsplit("/", 1)[-1])
        run = start_run(kind, uploaded, skip_errors=skip_errors, user=user)
    finally:
        if opened is not path_or_file:
            opened.close()
    run = process_run(run.pk, progress=progress)
    if apply and run.status == ImportRun.Status.PLANNED and run.can_apply:
        if approval.covering(run):
            return approval.ask(run, by=user, reason=reason)
        apply_run(run, user=user, progress=progress)
    return run


def sweep_interrupted_runs(now=None):
    """End the runs whose worker stopped mid-run (killed, out of memory, redeployed): no
    progress for HUB_IMPORT_STALL_SECONDS. Nothing of theirs was written: a plan writes
    nothing and an apply is one transaction. An interrupted apply is planned again, so it can
    be applied again; an interrupted plan fails, so its file can be uploaded again. Returns
    (plans failed, applies put back)."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.HUB_IMPORT_STALL_SECONDS)
    stalled = ImportRun.objects.filter(status=ImportRun.Status.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    since = f"no progress since {cutoff:%Y-%m-%d %H:%M} UTC"
    applies = stalled.exclude(plan_fingerprint="").update(
        status=ImportRun.Status.PLANNED,
        progress=100,
        message=f"The apply was interrupted ({since}): its worker stopped. Nothing was "
        "written; apply it again.",
    )
    plans = stalled.filter(plan_fingerprint="").update(
        status=ImportRun.Status.FAILED,
        progress=100,
        finished_at=now,
        message=f"The plan was interrupted ({since}): its worker stopped. Nothing was "
        "written; upload the file again.",
    )
    if plans or applies:
        logger.warning("import sweep: %s plan(s) failed, %s apply(s) put back", plans, applies)
    return plans, applies


def enqueue_waiting_runs(now=None):
    """Send again the task of runs still queued HUB_REQUEUE_SECONDS after it was sent (the
    broker was down, or lost it): a plan, or an apply that was asked for. Each run is taken
    with a conditional UPDATE of its enqueued_at, so two sweeps send it once; a task that
    arrives twice finds the run claimed. Returns how many were sent."""
    queued = ImportRun.objects.filter(status=ImportRun.Status.QUEUED)
    taken = take_unsent(queued, "plan_fingerprint", now=now or timezone.now(), limit=SWEEP_BATCH)
    for row in taken:
        enqueue.send_task(
            "apply_import" if row["plan_fingerprint"] else "process_import", row["pk"]
        )
    sent = len(taken) + _send_lost_chunks(now or timezone.now())
    if sent:
        logger.warning("import sweep: %s queued run(s) or chunk(s) sent again", sent)
    return sent


def _send_lost_chunks(now):
    """The tasks of a plan in chunks that made no progress for HUB_REQUEUE_SECONDS: its
    chunks not claimed, or claimed as long ago (their tasks were lost on the way, or their
    worker died), or its settling when every chunk is judged. Their claims make a second
    delivery harmless."""
    cutoff = now - datetime.timedelta(seconds=settings.HUB_REQUEUE_SECONDS)
    waiting = ImportRun.objects.filter(
        status=ImportRun.Status.RUNNING, plan_fingerprint="", heartbeat_at__lt=cutoff
    )
    pending = ImportChunk.objects.filter(run__in=waiting, status=ImportChunk.Status.PENDING)
    lost = pending.filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=cutoff))
    chunk_ids = list(lost.values_list("pk", flat=True))
    for pk in chunk_ids[:SWEEP_BATCH]:
        enqueue.send_task("plan_chunk", pk)
    judged = (
        ImportChunk.objects.filter(run__in=waiting, status=ImportChunk.Status.DONE)
        .exclude(run__in=pending.values("run"))
        .values_list("run_id", flat=True)
        .distinct()
    )
    run_ids = list(judged)
    for pk in run_ids:
        enqueue.send_task("finish_plan", pk)
    return min(len(chunk_ids), SWEEP_BATCH) + len(run_ids)
