"""Applying a planned run, all in one transaction: everything or nothing (unless the run skips
errors). History rows carry source "import" and the run's id. The apply is refused when the
plan went stale: the records the file names (their ids and update times) or the file itself
differ from what the plan fingerprinted.

A run of a bulk kind (items, suppliers, ...) writes what its plan kept: the chunk tasks
judged every row through the model and kept each valid row's values (imports.planning), so
the apply reads them back beside the file (for its digest and the failed rows' cells), looks
up the records the file names as they are now, refuses a plan gone stale, and writes: new
records with COPY on PostgreSQL (psycopg's `copy.write_row()`, their history rows read back
from them inside the database), updates with bulk_update. The fuzzy-match index of records
written in bulk (no save signals) is refreshed by tasks after the apply commits. A run of a
row-by-row kind is judged and written row by row (`read_through`), which also plans it, in a
transaction the plan rolls back.

The apply is one task: one transaction cannot span workers.
"""

import contextlib

import orjson
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from simple_history.utils import get_history_manager_for_model

from core.history import Source, change_source
from imports import enqueue, reading
from imports.judging import CREATE, ERROR, UPDATE, Judge, RowState, new_row, stamp
from imports.kinds import KINDS
from imports.models import ImportChunk, ImportRun
from imports.row_by_row import RowByRow
from imports.settling import ProgressWriter, Settlement, finish
from mdm.models import PublicIdModel, allocate_public_ids
from xref import matching


class StalePlan(Exception):
    """The records the file names, or the file, changed between the plan and the apply."""


class RunError(Exception):
    """A run cannot do what was asked (apply a run that is not planned, revert twice)."""


class AlreadyApplying(RunError):
    """The run's apply was asked for already: it is queued or running."""


def chunks(reader):
    """The file's rows as RowStates, HUB_IMPORT_CHUNK_ROWS at a time."""
    size = settings.HUB_IMPORT_CHUNK_ROWS
    chunk = []
    for number, read, problem in reader:
        chunk.append(new_row(number, read, problem))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def read_through(run, fileobj, *, apply, user=None, progress=None):
    """One reading of the whole file of a row-by-row kind in this process, each chunk judged
    and written row by row (an apply, or the rehearsal of a plan), settled and counted.
    Returns the Settlement and the fingerprint."""
    kind = KINDS[run.kind]
    reader = reading.CsvReader(fileobj, kind.headers, kind.required_headers)
    judge = Judge(run.kind, reader.headers, describe=not apply)
    settlement = Settlement(
        judge, reader.headers, apply=apply, skip_errors=run.skip_errors, progress=progress
    )
    by_row = RowByRow(judge, settlement, user)
    with _passing(run, reader, settlement, progress) as step:
        for rows in chunks(reader):
            by_row.chunk(rows, reader.cells)
            step(rows)
    return settlement, settlement.plan_fingerprint(reader.digest.digest())


def write_kept(run, fileobj, *, user=None, progress=None):
    """The apply of a bulk kind: the rows its plan kept written, a chunk at a time, beside
    a reading of the file. StalePlan as soon as a record the file names is not as planned
    (or the plan kept nothing: it was made before plans kept their rows). Returns the
    Settlement and the fingerprint."""
    kept = ImportChunk.objects.filter(run=run, status=ImportChunk.Status.KEPT)
    if not kept.exists():
        raise StalePlan
    kind = KINDS[run.kind]
    reader = reading.CsvReader(fileobj, kind.headers, kind.required_headers)
    judge = Judge(run.kind, reader.headers, describe=False)
    settlement = Settlement(
        judge, reader.headers, apply=True, skip_errors=run.skip_errors, progress=progress
    )
    writer = BulkWriter(judge, user, run)
    by_row = RowByRow(judge, settlement, user)
    file_rows = iter(reader)
    with _passing(run, reader, settlement, progress) as step:
        for judged_at, triples in judged_chunks(kept, file_rows):
            rows = _kept_or_judged(judge, settlement, triples, judged_at, reader.cells)
            for state in rows:
                settlement.settle(state)
            if not settlement.aborted:
                writer.write(rows, by_row)
            step(rows)
        for _ in file_rows:  # the rest of the file (blank lines), for its digest
            pass
    settlement.written = writer.written
    return settlement, settlement.plan_fingerprint(reader.digest.digest())


def _kept_or_judged(judge, settlement, triples, judged_at, cells_of):
    """A chunk's rows ready to write: the records they name looked up as they are now
    (StalePlan if one is not as planned) and their instances restored from what the plan
    kept, their unique values looked up again; or, when a record the rows reference changed
    since the chunk was judged, the chunk judged again from the file (a unit deleted since
    fails its rows)."""
    rows = [state for state, _, _ in triples]
    planned = [state.stamp for state in rows]
    judge.find_existing(rows)
    for state, planned_stamp in zip(rows, planned, strict=True):
        # A key an earlier row of the file has is that row's (and this one fails).
        changed = state.key and stamp(state.existing) != planned_stamp
        if changed and not settlement.has_seen(state.key):
            raise StalePlan
    if _references_changed(judge, [values for _, values, _ in triples if values], judged_at):
        again = [new_row(state.number, state.read, problem) for state, _, problem in triples]
        judge.judge(again, cells_of)
        return again
    restored = []
    for state, values, _ in triples:
        if values is not None:
            judge.restore(state, values)
            state.unique = []  # looked up again: a record may hold a value since
            restored.append(state)
    judge.check_unique(restored)
    return rows


def _references_changed(judge, kept_values, since):
    """Whether a record the kept rows reference was changed or deleted after `since`: one
    query per reference."""
    for ref in judge.kind.refs:
        attname = judge.model._meta.get_field(ref.field).attname
        pks = {values[attname] for values in kept_values if values.get(attname) is not None}
        if not pks:
            continue
        unchanged = ref.model.objects.filter(pk__in=pks, updated_at__lt=since)
        if unchanged.count() != len(pks):
            return True
    return False


def judged_chunks(chunks, file_rows):
    """(when judged, [(RowState, values to write, problem)]) of each chunk, in file order,
    each row beside the file's row (file_rows: the CsvReader's iterator, read in step).
    StalePlan when the file has other rows than the chunks."""
    stored = chunks.order_by("index").values_list("claimed_at", "verdicts")
    for judged_at, text in stored.iterator(chunk_size=4):
        triples = []
        for verdict in orjson.loads(text):
            number, errors, key, planned_stamp, action, unique, diff, record_pk, values = verdict
            found, read, problem = next(file_rows, (None, None, None))
            if found != number:
                raise StalePlan
            state = RowState(
                number,
                read,
                errors=[tuple(error) for error in errors],
                key=tuple(key),
                stamp=planned_stamp,
                action=action,
                unique=unique,
                diff=diff,
                record_pk=record_pk,
            )
            triples.append((state, values, problem))
        yield judged_at, triples


@contextlib.contextmanager
def _passing(run, reader, settlement, progress):
    """A pass over a file: yields step(rows), which counts a chunk's settled rows and tells
    the progress; the settlement is closed if the pass fails."""
    progress_writer = ProgressWriter()

    def step(rows):
        for state in rows:
            settlement.count(state, reader.cells)
        percent = int(100 * reader.bytes_read / max(reader.size, 1))
        if run.pk:
            progress_writer.write(run.pk, percent)
        if progress:
            progress(settlement.counts, percent)

    try:
        yield step
    except BaseException:
        settlement.close()
        raise
    finally:
        progress_writer.close()


def check_can_apply(run):
    """RunError saying why a run cannot be applied, if it cannot."""
    if run.is_applying:
        raise AlreadyApplying(
            f"Import #{run.pk} is already being applied ({run.get_status_display().lower()}); "
            "follow its status until it is applied."
        )
    if run.status == ImportRun.Status.AWAITING_APPROVAL and run.change_request_id:
        raise AlreadyApplying(
            f"Import #{run.pk} awaits approval ({run.change_request.number}); it is applied "
            "when another person approves it."
        )
    if run.status != ImportRun.Status.PLANNED:
        raise RunError(
            f"Import #{run.pk} is {run.get_status_display().lower()}; only a planned import "
            "can be applied."
        )
    if run.plan_counts.get("error") and not run.skip_errors:
        raise RunError(
            f"The plan of import #{run.pk} has {run.plan_counts['error']} row error(s); fix "
            "the file and plan it again, or apply with skip errors."
        )


def apply_run(run, user=None, progress=None):
    """Apply a planned run here and now: everything or nothing (unless the run skips
    errors), refused when the records the file names changed since the plan."""
    check_can_apply(run)
    run.mode = ImportRun.Mode.APPLY
    claimed = ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.PLANNED).update(
        status=ImportRun.Status.RUNNING, progress=0, heartbeat_at=timezone.now()
    )
    if not claimed:
        raise AlreadyApplying(f"Import #{run.pk} is already being applied.")
    run.status = ImportRun.Status.RUNNING
    return apply_claimed(run, user=user, progress=progress)


def apply_claimed(run, user=None, progress=None):
    """The apply of a run claimed for it (running, with a plan)."""
    work = None
    try:
        with (
            run.file.open("rb") as fileobj,
            transaction.atomic(),
            change_source(Source.IMPORT, reference=run.pk),
        ):
            user = user or run.created_by
            if KINDS[run.kind].write == "bulk":
                work, fingerprint = write_kept(run, fileobj, user=user, progress=progress)
            else:
                work, fingerprint = read_through(
                    run, fileobj, apply=True, user=user, progress=progress
                )
            if fingerprint != run.plan_fingerprint:
                raise StalePlan
            if work.aborted:
                transaction.set_rollback(True)
    except reading.FileError as exc:
        return _ended(run, ImportRun.Status.FAILED, message=str(exc))
    except StalePlan:
        if work is not None:
            work.close()
        return _ended(
            run,
            ImportRun.Status.REFUSED,
            message="Refused: records this file changes were changed, created or deleted since "
            "the plan was made, or the file itself. Nothing was written; plan the file again.",
        )
    if work.aborted:
        return _ended(
            run,
            ImportRun.Status.FAILED,
            work,
            message=f"{work.counts[ERROR]} row(s) failed while applying; nothing was written.",
        )
    run.counts = dict(work.counts)
    run.applied_at = timezone.now()
    if work.written and work.judge.model in matching.SPEC_BY_MODEL:
        enqueue.on_commit("refresh_match_index", run.pk)
    return _ended(run, ImportRun.Status.APPLIED, work)


def _ended(run, status, work=None, message=""):
    """The end of an apply: the rows the plan kept go (written, or to be planned again)."""
    ImportChunk.objects.filter(run=run).delete()
    return finish(run, status, work, message=message)


class BulkWriter:
    """Writes the valid rows of a chunk of a bulk kind: new records with COPY (PostgreSQL)
    or bulk_create, updates with bulk_update, and their history rows."""

    def __init__(self, judge, user, run):
        self.model = judge.model
        self.new_record_fields = judge.new_record_fields
        self.user = user
        self.history_attrs = {"change_source": Source.IMPORT, "change_reference": str(run.pk)}
        self.written = False

    def write(self, rows, by_row):
        creates = [s for s in rows if not s.errors and s.action == CREATE]
        updates = [s for s in rows if not s.errors and s.action == UPDATE]
        if not creates and not updates:
            return
        try:
            with transaction.atomic():
                self._create([s.instance for s in creates])
                self._update(updates)
        except IntegrityError:
            # Something the checks could not see (a concurrent write): row by row, so the
            # refused rows are named.
            for state in (*creates, *updates):
                if state.action == CREATE:
                    state.instance = self.model(
                        **{
                            f.attname: getattr(state.instance, f.attname)
                            for f in self.new_record_fields
                        }
                    )
                by_row._save(state)
            return
        self.written = True

    def _create(self, objs):
        if not objs:
            return
        if issubclass(self.model, PublicIdModel):
            ids = allocate_public_ids(self.model.PUBLIC_ID_PREFIX, len(objs))
            for obj, public_id in zip(objs, ids, strict=True):
                obj.public_id = public_id
        if connection.vendor == "postgresql":
            self._copy(objs)
            return
        self.model.objects.bulk_create(objs, batch_size=1000)
        get_history_manager_for_model(self.model).bulk_history_create(
            objs,
            batch_size=1000,
            default_user=self.user,
            custom_historical_attrs=self.history_attrs,
        )

    def _copy(self, objs):
        """New records with COPY, each row written by psycopg (`copy.write_row()`), and their
        "+" history rows, read back from them within the database."""
        meta = self.model._meta
        fields = meta.concrete_fields
        now = timezone.now()
        pks = _next_ids(self.model, len(objs))
        stamped = [
            f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        ]
        for obj, pk in zip(objs, pks, strict=True):
            obj.pk = pk
            for f in stamped:
                setattr(obj, f.attname, now)
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        prepare = [(f.attname, f.get_db_prep_save) for f in fields]
        # The driver's own COPY: its errors become Django's (IntegrityError) as the ORM's do.
        with (
            connection.wrap_database_errors,
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy,
        ):
            for obj in objs:
                copy.write_row([to_db(getattr(obj, a), connection) for a, to_db in prepare])
        history = get_history_manager_for_model(self.model).model
        extra = {
            "history_date": now,
            "history_user_id": self.user.pk if self.user is not None else None,
            "history_change_reason": None,
            "history_type": "+",
            **self.history_attrs,
        }
        by_attname = {f.attname: f for f in history._meta.concrete_fields}
        copied = [by_attname[f.attname] for f in fields]
        own = [f for f in history._meta.concrete_fields if f.attname in extra]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(history._meta.db_table)} "
                f"({', '.join(quote(f.column) for f in copied + own)}) "
                f"SELECT {columns}, {', '.join(['%s'] * len(own))} "
                f"FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = ANY(%s)",
                [*(extra[f.attname] for f in own), pks],
            )

    def _update(self, states):
        if not states:
            return
        now = timezone.now()
        fields = {"updated_at"}
        objs = []
        for state in states:
            state.instance.updated_at = now
            fields.update(state.changed)
            objs.append(state.instance)
        self.model.objects.bulk_update(objs, sorted(fields), batch_size=500)
        get_history_manager_for_model(self.model).bulk_history_create(
            objs,
            batch_size=1000,
            update=True,
            default_user=self.user,
            custom_historical_attrs=self.history_attrs,
        )


def _next_ids(model, count):
    """`count` ids from the sequence of the model's table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, %s)", [model._meta.db_table, model._meta.pk.column]
        )
        (sequence,) = cursor.fetchone()
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count]
        )
        return [pk for (pk,) in cursor.fetchall()]
