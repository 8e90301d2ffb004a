"""Applying a planned run: the stored file read and judged again, chunk by chunk, and written,
all in one transaction: everything or nothing (unless the run skips errors). History rows
carry source "import" and the run's id. The apply is refused when the plan went stale: the
records the file names (their ids and update times) or the file itself differ from what the
plan fingerprinted. New records of bulk kinds go in with COPY on PostgreSQL (psycopg's
`copy.write_row()`), their history rows read back from them inside the database. The
fuzzy-match index of records written in bulk (no save signals) is refreshed by a task after
the apply commits.

The apply is one task: one transaction cannot span workers. Its reading pass
(`read_through`) also plans the row-by-row kinds, in a transaction the plan rolls back.
"""

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from simple_history.utils import get_history_manager_for_model

from core.history import Source, change_source
from imports import reading
from imports.judging import CREATE, ERROR, UPDATE, Judge, RowState
from imports.kinds import KINDS
from imports.models import ImportRun
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
        state = RowState(number, read)
        if problem:
            state.fail(None, problem)
        chunk.append(state)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def read_through(run, fileobj, *, apply, user=None, progress=None):
    """One reading of the whole file in this process, each chunk judged, settled, written
    (an apply, or the rehearsal of a row-by-row kind's plan) and counted. Returns the
    Settlement and the fingerprint."""
    kind = KINDS[run.kind]
    reader = reading.CsvReader(fileobj, kind.headers, kind.required_headers)
    judge = Judge(run.kind, reader.headers, describe=not apply)
    settlement = Settlement(
        judge, reader.headers, apply=apply, skip_errors=run.skip_errors, progress=progress
    )
    writer = BulkWriter(judge.model, user, run) if kind.write == "bulk" else None
    by_row = RowByRow(judge, settlement, user)
    progress_writer = ProgressWriter()
    try:
        for rows in chunks(reader):
            if writer is not None:
                judge.judge(rows, reader.cells)
                for state in rows:
                    settlement.settle(state)
                if apply and not settlement.aborted:
                    writer.write(rows, by_row)
            else:
                by_row.chunk(rows, reader.cells)
            for state in rows:
                settlement.count(state, reader.cells)
            percent = int(100 * reader.bytes_read / max(reader.size, 1))
            if run.pk:
                progress_writer.write(run.pk, percent)
            if progress:
                progress(settlement.counts, percent)
    except BaseException:
        settlement.close()
        raise
    finally:
        progress_writer.close()
    settlement.written = writer is not None and writer.written
    return settlement, settlement.plan_fingerprint(reader.digest.digest())


def check_can_apply(run):
    """RunError saying why a run cannot be applied, if it cannot."""
    if run.is_applying:
        raise AlreadyApplying(
            f"Import #{run.pk} is already being applied ({run.get_status_display().lower()}); "
            "follow its status until it is applied."
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
            work, fingerprint = read_through(
                run, fileobj, apply=True, user=user or run.created_by, progress=progress
            )
            if fingerprint != run.plan_fingerprint:
                raise StalePlan
            if work.aborted:
                transaction.set_rollback(True)
    except reading.FileError as exc:
        return finish(run, ImportRun.Status.FAILED, message=str(exc))
    except StalePlan:
        work.close()
        return finish(
            run,
            ImportRun.Status.REFUSED,
            message="Refused: records this file changes were changed, created or deleted since "
            "the plan was made, or the file itself. Nothing was written; plan the file again.",
        )
    if work.aborted:
        return finish(
            run,
            ImportRun.Status.FAILED,
            work,
            message=f"{work.counts[ERROR]} row(s) failed while applying; nothing was written.",
        )
    run.counts = dict(work.counts)
    run.applied_at = timezone.now()
    if work.written:
        from imports import tasks

        if work.judge.model in matching.SPEC_BY_MODEL:
            tasks.enqueue_match_index(run)
    return finish(run, ImportRun.Status.APPLIED, work)


class BulkWriter:
    """Writes the valid rows of a chunk of a bulk kind: new records with COPY (PostgreSQL)
    or bulk_create, updates with bulk_update, and their history rows."""

    def __init__(self, model, user, run):
        self.model = model
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
                        **{f.attname: getattr(state.instance, f.attname) for f in self._values()}
                    )
                by_row._save(state)
            return
        self.written = True

    def _values(self):
        """The fields a new record takes from its row (not its id, public id, time stamps)."""
        return [
            f
            for f in self.model._meta.concrete_fields
            if not f.primary_key
            and f.name != "public_id"
            and not getattr(f, "auto_now", False)
            and not getattr(f, "auto_now_add", False)
        ]

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
