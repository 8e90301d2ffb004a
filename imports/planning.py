"""Planning a run: every row of its file judged, nothing written.

A file of a bulk kind (items, suppliers, ...) is planned by Celery tasks, the way large
forecast messages are validated. The run's task reads the file once to find where every
HUB_IMPORT_CHUNK_ROWS rows start (`fan_out`), stores an ImportChunk per slice and sends a
`plan_chunk` task for each, on the HUB_IMPORT_QUEUE queue: any worker judges any chunk
(imports.judging) and stores its verdict on each row, with the values of each valid row,
which the plan keeps for its apply (imports.applying). A chunk task claims its chunk with a
conditional UPDATE, so a redelivered task does nothing twice. The task that finds no chunk
pending sends `finish_plan`, which claims the chunks (again a conditional UPDATE: of two,
one settles) and settles them in file order (imports.settling): keys and unique values
that an earlier row of the file has, the fingerprint, counts, errors, the failed-rows file
and the plan's row log; the chunks stay, kept for the apply. A chunk that fails (other
than a transient database error, which is retried) fails the run, naming the chunk's rows.
Without a broker (SQLite, tests) Celery runs the tasks eagerly: the same code, inline.

A row-by-row kind is planned in the run's own task (`read_through`), in a transaction it
rolls back, since each row must see the rows before it.
"""

import contextlib
import datetime
import logging

import orjson
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from imports import approval, enqueue, reading
from imports import rows as planned_rows
from imports.applying import AlreadyApplying, apply_run, judged_chunks, read_through
from imports.judging import Judge, new_row
from imports.kinds import KINDS
from imports.models import ImportChunk, ImportRun
from imports.settling import Settlement, finish

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, InterfaceError)


def plan_claimed(run, progress=None):
    """Plan a run claimed for it (running, no plan yet)."""
    if KINDS[run.kind].write == "bulk":
        return fan_out(run)
    try:
        with run.file.open("rb") as fileobj, transaction.atomic():
            work, fingerprint = read_through(
                run, fileobj, apply=False, user=run.created_by, progress=progress
            )
            transaction.set_rollback(True)  # the rehearsal's rows: a plan writes nothing
    except reading.FileError as exc:
        return finish(run, ImportRun.Status.FAILED, message=str(exc))
    return _planned(run, work, fingerprint)


def _planned(run, work, fingerprint):
    planned_rows.store(run, work.row_log)
    run.plan_counts = dict(work.counts)
    run.plan_fingerprint = fingerprint
    run.plan_scope = sorted([system, name] for system, name in work.scope)
    finish(run, ImportRun.Status.PLANNED, work)
    if run.mode == ImportRun.Mode.APPLY and run.can_apply:
        # A steward who asked for the apply meanwhile has it done by their own request.
        with contextlib.suppress(AlreadyApplying):
            if approval.covering(run):
                approval.ask_after_plan(run)
            else:
                apply_run(run)
    return run


# --- the chunks of a bulk kind --------------------------------------------------------------


def fan_out(run):
    """Split the run's file into chunks and send their tasks. Returns the run (planned
    already when the tasks ran eagerly)."""
    kind = KINDS[run.kind]
    size = settings.HUB_IMPORT_CHUNK_ROWS
    chunks = []
    try:
        with run.file.open("rb") as fileobj:
            reader = reading.CsvReader(fileobj, kind.headers, kind.required_headers)
            for count, (number, _, _) in enumerate(reader):
                if count % size == 0:
                    chunks.append(
                        ImportChunk(
                            run=run, index=len(chunks), offset=reader.row_offset, number=number
                        )
                    )
                chunks[-1].rows += 1
    except reading.FileError as exc:
        return finish(run, ImportRun.Status.FAILED, message=str(exc))
    ImportChunk.objects.filter(run=run).delete()
    ImportChunk.objects.bulk_create(chunks, batch_size=1000)
    ids = ImportChunk.objects.filter(run=run).order_by("index").values_list("pk", flat=True)
    logger.info("Import %s: %s rows in %s chunks", run.pk, sum(c.rows for c in chunks), len(ids))
    for pk in list(ids):
        enqueue.send_task("plan_chunk", pk)
    run.refresh_from_db()
    return run


def plan_chunk(chunk_id, *, final_attempt=False):
    """Judge one chunk and store its verdict; send the plan's settling once no chunk is
    pending."""
    chunk = _claim_chunk(chunk_id)
    if chunk is not None:
        try:
            verdicts = _judge_chunk(chunk)
        except TRANSIENT_ERRORS as exc:
            if not final_attempt:
                ImportChunk.objects.filter(pk=chunk.pk, claimed_at=chunk.claimed_at).update(
                    claimed_at=None
                )
                raise
            _fail_plan(chunk, exc)
            return
        except Exception as exc:
            logger.exception("Chunk %s of import %s failed", chunk.index, chunk.run_id)
            _fail_plan(chunk, exc)
            return
        stored = ImportChunk.objects.filter(
            pk=chunk.pk, status=ImportChunk.Status.PENDING, claimed_at=chunk.claimed_at
        ).update(status=ImportChunk.Status.DONE, verdicts=verdicts)
        if stored:
            _beat(chunk.run_id)
    run_id = ImportChunk.objects.filter(pk=chunk_id).values_list("run_id", flat=True).first()
    if run_id is None:
        return
    if not ImportChunk.objects.filter(run_id=run_id, status=ImportChunk.Status.PENDING).exists():
        enqueue.send_task("finish_plan", run_id)


def _claim_chunk(chunk_id):
    """Take a pending chunk of a run still planning, unless another task holds it (a claim
    younger than HUB_REQUEUE_SECONDS: a chunk takes seconds, so an older claim's worker
    died)."""
    now = timezone.now()
    expired = now - datetime.timedelta(seconds=settings.HUB_REQUEUE_SECONDS)
    taken = (
        ImportChunk.objects.filter(
            pk=chunk_id, status=ImportChunk.Status.PENDING, run__status=ImportRun.Status.RUNNING
        )
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=expired))
        .update(claimed_at=now)
    )
    if not taken:
        return None
    return ImportChunk.objects.select_related("run").defer("verdicts").get(pk=chunk_id)


def _judge_chunk(chunk):
    """The chunk's rows judged, as JSON: per row [number, errors, key, stamp, action, unique
    values, changes, record id, values to write]."""
    run = chunk.run
    kind = KINDS[run.kind]
    with run.file.open("rb") as fileobj:
        reader = reading.CsvReader(fileobj, kind.headers, kind.required_headers)
        rows = [
            new_row(number, read, problem)
            for number, read, problem in reader.rows_from(chunk.offset, chunk.number, chunk.rows)
        ]
    judge = Judge(run.kind, reader.headers)
    judge.judge(rows, reader.cells)
    verdicts = [
        [
            *(s.number, s.errors, s.key, s.stamp, s.action, s.unique, s.diff, s.record_pk),
            judge.values_to_write(s),
        ]
        for s in rows
    ]
    return orjson.dumps(verdicts, default=str).decode()


def _beat(run_id):
    """The run's progress (chunks judged) and heartbeat."""
    chunks = ImportChunk.objects.filter(run_id=run_id)
    done = chunks.exclude(status=ImportChunk.Status.PENDING).count()
    percent = int(100 * done / max(chunks.count(), 1))
    ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.RUNNING).update(
        progress=min(percent, 99), heartbeat_at=timezone.now()
    )


def _fail_plan(chunk, exc):
    """The run fails, naming the chunk and its error; the other chunks are dropped."""
    total = ImportChunk.objects.filter(run_id=chunk.run_id).count()
    message = (
        f"The plan failed in chunk {chunk.index + 1} of {total} ({chunk.rows} row(s) from row "
        f"{chunk.number}): {type(exc).__name__}: {exc}. Nothing was written; upload the file "
        "again."
    )
    ImportRun.objects.filter(
        pk=chunk.run_id, status=ImportRun.Status.RUNNING, plan_fingerprint=""
    ).update(
        status=ImportRun.Status.FAILED, message=message, progress=100, finished_at=timezone.now()
    )
    ImportChunk.objects.filter(run_id=chunk.run_id).delete()


def finish_plan(run_id):
    """Settle a run's judged chunks in file order and store the plan. Claims the chunks
    first, so that of two tasks sent for it one settles."""
    chunks = ImportChunk.objects.filter(run_id=run_id)
    if chunks.filter(status=ImportChunk.Status.PENDING).exists():
        return None
    if not chunks.filter(status=ImportChunk.Status.DONE).update(status=ImportChunk.Status.SETTLING):
        return None
    run = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.RUNNING).first()
    if run is None:
        chunks.delete()
        return None
    kind = KINDS[run.kind]
    with run.file.open("rb") as fileobj:
        # The file read again beside the verdicts: each row's cells for the failed-rows file
        # and the row log, and the file's digest for the fingerprint.
        reader = reading.CsvReader(fileobj, kind.headers, kind.required_headers)
        settlement = Settlement(Judge(run.kind, reader.headers), reader.headers)
        file_rows = iter(reader)
        for _, triples in judged_chunks(chunks, file_rows):
            for state, _, _ in triples:
                settlement.settle(state)
                settlement.count(state, reader.cells)
        for _ in file_rows:  # the rest of the file (blank lines), for its digest
            pass
    # Kept for the apply: the valid rows' values (imports.applying).
    chunks.update(status=ImportChunk.Status.KEPT)
    return _planned(run, settlement, settlement.plan_fingerprint(reader.digest.digest()))
