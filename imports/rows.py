"""What a run shows a steward, row by row: the plan's verdict on each row of the file (create,
update with each field's value now and in the file, unchanged, error with every error), the
records the apply wrote, and what a revert would undo.

The plan describes each row as it settles it (imports.settling); a RowLog keeps the
descriptions in a temporary file while the pass runs (a plan of a row-by-row kind runs in
a transaction it rolls back), and store() writes them as ImportRow rows once it is done. The
apply's records and the revert's preview are read from the history rows the apply wrote
(their change reference is the run's id), which is what the revert itself reads.
"""

import tempfile
from dataclasses import dataclass

import orjson
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.urls import NoReverseMatch, reverse

from core.history import Source
from imports.kinds import KINDS, format_value, xref_target_key
from imports.models import ImportRow

PAGE_SIZE = 100
STORE_BATCH = 2000
ACTIONS = [choice for choice, _ in ImportRow.Action.choices]


# --- describing rows while the plan runs ----------------------------------------------------


@dataclass(frozen=True)
class OldTarget:
    """The record an update's reference pointed at, by id, until its key is looked up."""

    pk: object


def ref_label(ref):
    """A reference's column as the plan names it: its header, or its field for several."""
    return ref.columns[0] if len(ref.columns) == 1 else ref.field


def target_text(ref, target):
    return "/".join(ref.key_of(target)) if target is not None else ""


def old_target(pk):
    return "" if pk is None else OldTarget(pk)


def name_old_targets(states, refs):
    """Replace the OldTarget of each update's changed references by the key of that record:
    one query per reference for the whole chunk."""
    wanted = {}
    for state in states:
        for change in state.diff:
            if isinstance(change[1], OldTarget):
                wanted.setdefault(change[0], set()).add(change[1].pk)
    if not wanted:
        return
    by_label = {ref_label(ref): ref for ref in refs}
    names = {}
    for label, pks in wanted.items():
        ref = by_label[label]
        queryset = ref.model.objects.filter(pk__in=pks)
        related = {"__".join(lookup.split("__")[:-1]) for lookup in ref.lookups if "__" in lookup}
        if related:
            queryset = queryset.select_related(*related)
        names[label] = {record.pk: target_text(ref, record) for record in queryset}
    for state in states:
        for change in state.diff:
            if isinstance(change[1], OldTarget):
                change[1] = names[change[0]].get(change[1].pk, f"#{change[1].pk}")


def xref_diff(reference, changes):
    """[[column, value now, value in the file]] of a cross-reference's changes."""
    diff = []
    for name, value in changes.items():
        if name == "target":
            now = xref_target_key(reference.kind, reference.target)
            diff.append(["target", now, xref_target_key(reference.kind, value)])
        else:
            diff.append([name, format_value(getattr(reference, name)), format_value(value)])
    return diff


COLUMNS = ("number", "action", "key", "record_id", "changes", "errors")
# Rows that create a record or change nothing are kept for the first this many of each: every
# row of a file a steward reads on the screen, while a load of a million new records is
# counted, not listed (keeping every row doubled the plan's time). Updates and errors are
# always kept.
KEPT_ROWS = 10_000


class RowLog:
    """The plan's description of each row, kept in a temporary file (a line of JSON each)
    while the pass runs: a plan of a row-by-row kind runs in a transaction it rolls back."""

    def __init__(self, key_headers):
        self.key_headers = key_headers
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by store)
        self.counted = {"create": 0, "unchanged": 0}

    def add(self, state, read_cells):
        """Log a judged row; read_cells() gives its cells as read ({header: text})."""
        if state.action in self.counted:
            self.counted[state.action] += 1
            if self.counted[state.action] > KEPT_ROWS:
                return
        key = ", ".join(part for part in state.key if part)
        with_cells = not state.diff and state.action in ("create", "error")
        cells = read_cells() if with_cells or not key else None
        if not key and cells:  # a row that failed before it was judged: its key as read
            key = ", ".join(cells[h] for h in self.key_headers if cells.get(h))
        if with_cells and cells:
            # A new record's values, or those of a row that failed: the file's cells.
            state.diff = [[header, None, cell] for header, cell in cells.items() if cell]
        errors = [[column or "", message] for column, message in state.errors]
        line = [state.number, state.action, key[:255], state.record_pk, state.diff, errors]
        self.file.write(orjson.dumps(line, default=str))
        self.file.write(b"\n")

    def rows(self):
        """Each row logged, as a dict of ImportRow fields."""
        self.file.seek(0)
        for line in self.file:
            yield dict(zip(COLUMNS, orjson.loads(line), strict=True))

    def close(self):
        self.file.close()


def store(run, log):
    """Write a plan's rows (replacing any an earlier plan of the run wrote): with COPY on
    PostgreSQL (psycopg's `copy.write_row()`), else inserted in batches."""
    with transaction.atomic():
        ImportRow.objects.filter(run=run).delete()
        if connection.vendor == "postgresql":
            meta = ImportRow._meta
            fields = [meta.get_field(name) for name in COLUMNS]
            quote = connection.ops.quote_name
            columns = ", ".join(quote(f.column) for f in [meta.get_field("run"), *fields])
            statement = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
            with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
                for values in log.rows():
                    cells = [f.get_db_prep_save(values[f.name], connection) for f in fields]
                    copy.write_row([run.pk, *cells])
        else:
            batch = []
            for values in log.rows():
                batch.append(ImportRow(run=run, **values))
                if len(batch) >= STORE_BATCH:
                    ImportRow.objects.bulk_create(batch)
                    batch = []
            ImportRow.objects.bulk_create(batch)
    log.close()


# --- reading them back ----------------------------------------------------------------------


def planned_rows(run, action="", page=1):
    """A page (PAGE_SIZE rows, in file order) of the plan's rows, of one action or all."""
    queryset = ImportRow.objects.filter(run=run).order_by("number")
    if action in ACTIONS:
        queryset = queryset.filter(action=action)
    paged = Paginator(queryset, PAGE_SIZE).get_page(page)
    # Rows counted by the plan but not kept (past KEPT_ROWS of their action).
    counts = run.plan_counts or {}
    paged.unlisted = max(
        counts.get(action if action in ACTIONS else "rows", 0) - paged.paginator.count, 0
    )
    return paged


def admin_url(model, pk):
    meta = model._meta
    try:
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[pk])
    except NoReverseMatch:
        return None


def link_rows(run, rows):
    """Each planned row with the admin address of the record it updates (`url`)."""
    model = KINDS[run.kind].model
    for row in rows:
        row.url = admin_url(model, row.record_id) if row.record_id else None
    return rows


def _run_history(run):
    history = KINDS[run.kind].model.history.model
    return history.objects.filter(
        change_source=Source.IMPORT, change_reference=str(run.pk)
    ).order_by("history_id")


@dataclass
class Written:
    """A record the apply wrote: created or updated, its label and admin address."""

    pk: object
    action: str
    label: str
    url: str | None
    changes: list


def written_records(run, page=1):
    """A page of the records the run's apply wrote, in the order it wrote them."""
    model = KINDS[run.kind].model
    paged = Paginator(_run_history(run), PAGE_SIZE).get_page(page)
    paged.object_list = [
        Written(
            pk=row.id,
            action="created" if row.history_type == "+" else "updated",
            label=_label(row),
            url=admin_url(model, row.id),
            changes=[],
        )
        for row in paged.object_list
    ]
    return paged


def _label(history_row):
    try:
        return str(history_row.instance)
    except Exception:  # a record whose label needs a record since deleted
        return f"#{history_row.id}"


def revert_preview(run, page=1):
    """A page of what reverting the run would do: each record it created is deleted, each it
    changed gets its values from before the run back ([column, value now, value after])."""
    kind = KINDS[run.kind]
    paged = Paginator(_run_history(run), PAGE_SIZE).get_page(page)
    rows = list(paged.object_list)
    current = kind.model.objects.in_bulk([row.id for row in rows if row.history_type == "~"])
    shown = []
    for row in rows:
        if row.history_type == "+":
            shown.append(Written(row.id, "deleted", _label(row), admin_url(kind.model, row.id), []))
            continue
        record = current.get(row.id)
        previous = row.prev_record
        if record is None or previous is None:
            continue
        now, before = kind.row_of(record), kind.row_of(previous.instance)
        changes = [[h, now[h], before[h]] for h in kind.headers if now[h] != before[h]]
        shown.append(
            Written(row.id, "restored", str(record), admin_url(kind.model, row.id), changes)
        )
    paged.object_list = shown
    return paged


def written_counts(run):
    """{"created": n, "updated": n} of the records the run's apply wrote."""
    history = _run_history(run)
    return {
        "created": history.filter(history_type="+").count(),
        "updated": history.filter(history_type="~").count(),
    }
