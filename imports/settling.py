"""Settling judged rows in file order: what a row needs the file's earlier rows for (a key or
a unique value an earlier row has), the plan's fingerprint, the counts, the row errors and
the failed-rows file, the row log of a plan; and the end of a pass (`finish`), which stores
them on the run. A plan settles chunks judged by any worker (imports.planning); an apply
settles the rows its plan kept, chunk by chunk, as it writes them (imports.applying).
"""

import hashlib
import io
import tempfile

from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from imports import reading
from imports import rows as planned_rows
from imports.judging import CREATE, ERROR, UPDATE
from imports.models import ImportRun, format_error

# Row errors kept on the run itself (the failed-rows file has every one).
STORED_ERRORS = 1000


class Settlement:
    """What one reading of a file found, row after row in file order."""

    def __init__(self, judge, headers, *, apply=False, skip_errors=False, progress=None):
        self.judge = judge
        self.kind = judge.kind
        self.apply = apply
        self.skip_errors = skip_errors
        self.progress = progress
        self.counts = {"rows": 0, "create": 0, "update": 0, "unchanged": 0, ERROR: 0}
        self.errors = []
        self.error_total = 0
        self.fingerprint = hashlib.sha256()
        self.seen_keys = {}  # digest of a key -> first row number
        self.unique_seen = {}  # (check index, digest) -> row number
        self.aborted = False  # all or nothing and a row failed: stop writing
        self.written = False  # an apply wrote records in bulk (no save signals)
        # What a plan creates or changes, for the approval policies: {(system, field)}.
        self.scope = set()
        self.failed_file = tempfile.TemporaryFile(  # noqa: SIM115 (closed by finish)
            mode="w+", encoding="utf-8", newline=""
        )
        self.failed_writer = reading.CsvWriter(self.failed_file, [*headers, "error"])
        # A plan tells each row's change and errors (imports.rows); an apply does not.
        self.row_log = planned_rows.RowLog(self.kind.key) if not apply else None

    def has_seen(self, key):
        """Whether a row settled already has this key."""
        return _digest(key) in self.seen_keys

    def check_duplicate(self, state):
        """Whether an earlier row of the file has the same key; True when so (the row fails)."""
        if not state.key:
            return False
        first = self.seen_keys.setdefault(_digest(state.key), state.number)
        if first == state.number:
            return False
        named = ", ".join(f"{h}={v!r}" for h, v in zip(self.kind.key, state.key, strict=True))
        state.fail(self.kind.key[0], f"Duplicate key ({named}): already in row {first}.")
        return True

    def settle(self, state):
        """A row of a bulk kind judged on its own: the file's earlier rows, the fingerprint."""
        if self.check_duplicate(state):
            # As if the row had failed before its record was looked up.
            del state.errors[:-1]
            state.stamp, state.unique = "-", []
        for index, digest in state.unique:
            first = self.unique_seen.setdefault((index, digest), state.number)
            if first != state.number:
                self.judge.fail_unique(state, index, in_file=first)
        if state.key:
            self.fingerprint_key(state.key, state.stamp)

    def fingerprint_key(self, key, stamp):
        self.fingerprint.update(repr((key, stamp)).encode())

    def count(self, state, cells_of):
        """Count a settled row; cells_of(read) gives its cells as read ({header: cell})."""
        self.counts["rows"] += 1
        if state.errors:
            state.action = ERROR
            self.error_total += 1
            messages = []
            for column, message in state.errors:
                error = {"row": state.number, "column": column or "", "message": message}
                messages.append(format_error(error))
                if len(self.errors) < STORED_ERRORS:
                    self.errors.append(error)
            cells = state.cells or cells_of(state.read)
            self.failed_writer.write({**cells, "error": "; ".join(messages)})
            if self.apply and not self.skip_errors:
                self.aborted = True
        self.counts[state.action] += 1
        if not self.apply and state.action in (CREATE, UPDATE):
            self.scope |= self.kind.touches(state, state.action)
        if self.row_log is not None:
            self.row_log.add(state, lambda: state.cells or cells_of(state.read))

    def plan_fingerprint(self, file_digest):
        """The fingerprint of the records the file names and of the file itself (a stored file
        changed since the plan is refused as a record changed since is)."""
        fingerprint = self.fingerprint.copy()
        fingerprint.update(file_digest)
        return fingerprint.hexdigest()

    def close(self):
        self.failed_file.close()
        if self.row_log is not None:
            self.row_log.close()


def _digest(key):
    return hashlib.blake2b(repr(key).encode(), digest_size=8).digest()


def finish(run, status, settlement=None, message=""):
    """End a pass: the run's status, counts, errors and failed-rows file."""
    run.status = status
    run.message = message
    run.progress = 100
    run.finished_at = timezone.now()
    if settlement is not None:
        if status != ImportRun.Status.APPLIED:
            run.counts = dict(settlement.counts)
        run.errors = settlement.errors
        run.errors_truncated = settlement.error_total > len(settlement.errors)
        if settlement.error_total:
            settlement.failed_file.seek(0)
            text = settlement.failed_file.read().encode("utf-8")
            content = io.BytesIO(reading.BOM + text)
            run.failed_rows.save(f"failed-{run.pk}.csv", File(content), save=False)
        else:
            run.failed_rows = ""
        settlement.close()
    elif status == ImportRun.Status.FAILED:
        run.errors = []
    run.save()
    return run


class ProgressWriter:
    """Writes a run's progress where a screen polling it can see it. An apply runs in one
    long transaction, whose writes nobody sees before it commits, so on PostgreSQL progress
    goes through a connection of its own; elsewhere (SQLite) it is written only outside a
    transaction."""

    def __init__(self):
        self._side = None

    def write(self, run_id, percent):
        """Progress, and the run's heartbeat: its worker is alive."""
        now = timezone.now()
        percent = min(percent, 99)
        if not connection.in_atomic_block:
            ImportRun.objects.filter(pk=run_id).update(progress=percent, heartbeat_at=now)
            return
        if connection.vendor != "postgresql":
            return
        if self._side is None:
            self._side = connections.create_connection(DEFAULT_DB_ALIAS)
        with self._side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ImportRun._meta.db_table} SET progress = %s, heartbeat_at = %s "
                "WHERE id = %s",
                [percent, now, run_id],
            )

    def close(self):
        if self._side is not None:
            self._side.close()
            self._side = None
