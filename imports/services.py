"""CSV import and export: plan a file, apply it, revert a run, export a kind.

A file is read once per pass, streamed, a chunk of rows at a time. For each chunk the stored
records it names are fetched in one query per natural key and per reference, then every row
is judged by the model's own validation: `full_clean()`. For kinds written in bulk (items,
suppliers, ...), whose `clean()` needs no queries, the per-row query parts of `full_clean()`
are done per chunk instead, from the same model definitions: foreign keys are checked by the
chunk's lookup (a row naming a missing record is refused there), unique fields and unique
constraints by one query per constraint, and check constraints are evaluated in Python from
their `Q` conditions (falling back to the database for a condition that cannot be). Kinds
whose `clean()` looks at other rows (overlapping revisions, conversions, exceptions,
cross-references, the location tree) are validated with the full `full_clean()` and saved
row by row, so each row sees the rows before it.

A chunk of a bulk kind is judged on its own (`Pass._judge`), then settled in file order
(`Pass._settle`: keys and unique values an earlier row of the file has, the fingerprint). On
PostgreSQL the chunks of a large plan (HUB_IMPORT_PARALLEL_BYTES) are judged in
HUB_IMPORT_PROCESSES forked worker processes (mdm.forked) while this process reads the
file and settles them: the plan finds exactly what it finds in one process.

Plan writes nothing. Apply writes everything or nothing (unless skip_errors), inside one
transaction, records history rows with source "import" and the run's id, and refuses when
the records the file names changed since the plan (their ids and update times are
fingerprinted). For a bulk kind, the plan keeps its validated rows and the apply writes them
without reading the file again, once it has checked that every record the file names or
references is as the plan saw it (Pass.apply_prepared); when a referenced record changed it
reads and validates the file again. On PostgreSQL new records and their history rows are
inserted with COPY: the plan keeps each new record as a line of COPY text (CopyLayout), to
which the apply adds its id, public id and time stamps. A record created since the plan
under the key of a row the plan would create makes that insert fail on the key's unique
constraint; the apply then reads the file again, which refuses the plan. The fuzzy-match
index of records written in bulk (no save signals) is refreshed by a task after the apply
commits.
"""

import contextlib
import datetime
import hashlib
import io
import json
import logging
import operator
import pickle
import re
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    FieldDoesNotExist,
    ImproperlyConfigured,
    ValidationError,
)
from django.core.files import File
from django.core.validators import MaxLengthValidator
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import CharField, F, ProtectedError, Q, RestrictedError, UniqueConstraint
from django.db.models.base import ModelState
from django.db.models.constraints import CheckConstraint
from django.db.models.expressions import DatabaseDefault
from django.db.models.signals import post_init
from django.utils import timezone
from simple_history.utils import get_history_manager_for_model

from core.db import take_unsent
from core.history import Source, change_source
from imports import explain, reading
from imports import rows as planned_rows
from imports.kinds import (
    KINDS,
    XREF_TARGET_FORMATS,
    CellError,
    Ref,
    format_value,
    record_key,
)
from imports.models import ImportRun, format_error
from mdm import forked
from mdm.collector import collecting_less
from mdm.models import (
    CodeValue,
    Item,
    ItemRevision,
    Location,
    PublicIdModel,
    Supplier,
    SupplierSite,
    Unit,
    allocate_public_ids,
)
from xref.models import TARGET_FIELDS, TARGETS, CrossReference
from xref.models import Kind as XrefKind
from xref.services import register_reference, retire_reference, update_reference

logger = logging.getLogger(__name__)

# Row errors kept on the run itself (the failed-rows file has every one).
STORED_ERRORS = 1000
# Queued runs the sweep sends again at a time.
SWEEP_BATCH = 1000
CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"


class StalePlan(Exception):
    """The records the file names changed between the plan and the apply."""


class RunError(Exception):
    """A run cannot do what was asked (apply a run that is not planned, revert twice)."""


class AlreadyApplying(RunError):
    """The run's apply was asked for already: it is queued or running."""


class _Revalidate(Exception):
    """A record the plan's rows reference changed since the plan: the apply reads the file and
    validates again instead of writing the plan's rows."""


# --- the pass ------------------------------------------------------------------------------


@dataclass
class RowState:
    number: int
    read: list  # the cells as read; `cells` is made of them when the row is parsed
    cells: dict = None
    errors: list = field(default_factory=list)
    values: dict = field(default_factory=dict)  # field name -> parsed value
    ref_keys: dict = field(default_factory=dict)  # ref field -> key tuple (None: blank)
    key: tuple = ()
    instance: object = None
    existing: object = None
    action: str = ""
    changed: list = field(default_factory=list)
    resolved_fields: set = field(default_factory=set)
    unresolved: set = field(default_factory=set)  # ref fields whose cells name no record
    # Bulk kinds: what _judge() found, for _settle() (which may run in another process).
    found: bool = False  # the row's record was looked up
    stamp: str = ""  # what the fingerprint holds of that record
    unique: list = field(default_factory=list)  # (unique check, digest) the file must not repeat
    prepared: object = None  # a plan's validated values (and changed fields, for an update)
    # What the plan shows of the row (imports.rows): [[column, value now, value in the file]]
    # of the fields it sets, and the id of the record it updates.
    diff: list = field(default_factory=list)
    record_pk: object = None

    def fail(self, column, message):
        self.errors.append((column, message))


class Pass:
    """One reading of a file: a plan (write=False) or an apply (write=True)."""

    def __init__(self, run, fileobj, *, write, rehearse=False, user=None, progress=None):
        self.run = run
        self.kind = KINDS[run.kind]
        self.model = self.kind.model
        self.fileobj = fileobj
        self.write = write
        # A plan of a row-by-row kind saves its rows as the apply would, in a transaction it
        # rolls back, so that each row is judged beside the file's earlier rows (two
        # overlapping revisions of one item in one file): the plan finds what the apply would.
        self.rehearse = rehearse
        self.skip_errors = run.skip_errors
        self.user = user or run.created_by
        self.progress = progress
        self.counts = {"rows": 0, CREATE: 0, UPDATE: 0, UNCHANGED: 0, ERROR: 0}
        self.errors = []
        self.error_total = 0
        self.fingerprint = hashlib.sha256()
        # The apply of a plan's kept rows compares every record with the plan's stamp of it
        # instead of summing a fingerprint (apply_prepared).
        self.stamps_checked = False
        self.seen_keys = {}  # digest of a key -> first row number
        self.unique_seen = {}  # (check index, digest) -> row number
        self.ref_cache = {ref.field: {} for ref in self.kind.refs}
        # Closed in _finish(), once the failed rows are stored.
        self.failed_file = tempfile.TemporaryFile(  # noqa: SIM115
            mode="w+", encoding="utf-8", newline=""
        )
        self.failed_writer = None
        self.aborted = False  # all or nothing and a row failed: stop writing
        self.specs_by_header = {}
        for spec in self.kind.specs:
            for header in spec.columns if isinstance(spec, Ref) else (spec.name,):
                self.specs_by_header[header] = spec
        # A cross-reference's target fields are its `target` cell; other kinds name their own.
        self.header_of_field = (
            dict.fromkeys(TARGET_FIELDS, "target") if self.kind.write == "xref" else {}
        )
        for spec in self.kind.specs:
            header = spec.columns[0] if isinstance(spec, Ref) else spec.name
            self.header_of_field.setdefault(spec.field, header)
        self._unique_checks = _unique_checks(self.model) if self.kind.write == "bulk" else []
        self._check_constraints = [
            c for c in self.model._meta.constraints if isinstance(c, CheckConstraint)
        ]
        self._attnames = {f.name: f.attname for f in self.model._meta.concrete_fields}
        self._defaults = None  # see _new_instance
        self._clean_memo = {}  # see _clean_fields
        self._clean_plans = {}  # see _fields_to_clean
        self._specs_given = None  # see _given_specs
        self._parsers = None  # see _given_parsers
        self._blanks = {}  # see _blank
        self.bulk_written = False
        self._progress_writer = ProgressWriter()
        # A plan of a bulk kind keeps its verdict for the apply (see apply_prepared).
        self.prepared_file = (
            tempfile.TemporaryFile()  # noqa: SIM115 (closed in plan_run)
            if not write and self.kind.write == "bulk"
            else None
        )
        self._layout = CopyLayout.of(self.model) if self.kind.write == "bulk" else None
        # A plan tells each row's change and errors (imports.rows); an apply does not.
        self.row_log = planned_rows.RowLog(self.kind.key) if not write else None
        self._refs_by_field = {ref.field: ref for ref in self.kind.refs}
        self._missing = {}  # (ref field, key) -> why no record has it (explain)

    # -- driving --

    def execute(self):
        self.reader = reading.CsvReader(self.fileobj, self.kind.headers, self.kind.required_headers)
        self.present = set(self.reader.headers)
        # As a ModelForm does for fields it does not show, full_clean() leaves out the fields
        # the file does not give: their values are the stored ones or the model's defaults.
        given = {
            spec.field
            for spec in self.kind.specs
            if any(
                h in self.present for h in (spec.columns if isinstance(spec, Ref) else (spec.name,))
            )
        }
        self._given = given
        self._not_given = {f.name for f in self.model._meta.concrete_fields} - given
        self.failed_writer = reading.CsvWriter(self.failed_file, [*self.reader.headers, "error"])
        try:
            with collecting_less():  # worker processes inherit it
                if self.kind.write != "bulk":
                    for rows in self._chunks():
                        self._chunk(rows)
                        self._finish_chunk(rows)
                else:
                    # closing(): worker processes end as soon as the pass stops, even on an
                    # error.
                    with contextlib.closing(self._judged(self._chunks())) as judged:
                        for rows, refs in judged:
                            self._settle(rows, refs)
                            self._finish_chunk(rows)
        except BaseException:
            self.failed_file.close()
            raise
        finally:
            self._progress_writer.close()
        return self

    def _chunks(self):
        """The file's rows, HUB_IMPORT_CHUNK_ROWS at a time."""
        chunk_size = settings.HUB_IMPORT_CHUNK_ROWS
        chunk = []
        for number, read, problem in self.reader:
            state = RowState(number, read)
            if problem:
                state.fail(None, problem)
            chunk.append(state)
            if len(chunk) >= chunk_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def _chunk(self, rows):
        """A chunk of a row-by-row kind: each row validated, and saved (or rehearsed), in turn."""
        for state in rows:
            if not state.errors:
                self._parse(state)
                self._check_duplicate(state)
        self._resolve_refs(rows)
        self._find_existing(rows)
        for state in rows:
            self._fingerprint(state)
            if state.errors:
                self._check_what_parsed(state)
                self._fail_unresolved(state)
                continue
            self._build(state)
            if state.unresolved:
                self._check_fields_only(state)
            elif not state.errors and state.action != UNCHANGED:
                self._validate_fully(state)
                if (self.write or self.rehearse) and not state.errors:
                    self._save_one(state)
                elif not state.errors and state.action == CREATE:
                    self._remember_created(state.instance)
        self._name_old_targets(rows)

    def _finish_chunk(self, rows):
        for state in rows:
            self._count(state)
        self._report_progress()

    # -- bulk kinds: each chunk judged alone (here or in a worker process), then settled in order

    def _judged(self, chunks):
        """(rows, refs) of every chunk, judged: in worker processes when the plan is large
        enough to be worth them, else here."""
        processes = self._processes()
        if not processes:
            for rows in chunks:
                yield rows, self._judge(rows)
            return
        sent = []  # the chunks on their way, whose rows take in what the workers found

        def outgoing():
            for rows in chunks:
                sent.append(rows)
                yield [(state.number, state.read, state.errors) for state in rows]

        for verdicts, refs in forked.ordered_map(self._judge_remote, outgoing(), processes):
            rows = sent.pop(0)
            for state, verdict in zip(rows, verdicts, strict=True):
                (state.errors, state.key, state.found, state.stamp) = verdict[:4]
                (state.unique, state.action, state.prepared, state.diff) = verdict[4:8]
                state.record_pk = verdict[8]
            yield rows, refs

    def _processes(self):
        """How many worker processes judge this pass's chunks: none for an apply (one
        transaction), a row-by-row kind, a small file, or a database a fork cannot share."""
        wanted = settings.HUB_IMPORT_PROCESSES
        if (
            wanted < 2
            or self.write
            or self.reader.size < settings.HUB_IMPORT_PARALLEL_BYTES
            or connection.vendor != "postgresql"
            or connection.in_atomic_block
            or not forked.available()
        ):
            return 0
        return wanted

    def _judge_remote(self, rows):
        """_judge() in a worker process: what it found of each row goes back."""
        rows = [RowState(number, read, errors=errors) for number, read, errors in rows]
        refs = self._judge(rows)
        verdicts = [
            (s.errors, s.key, s.found, s.stamp, s.unique, s.action, s.prepared, s.diff, s.record_pk)
            for s in rows
        ]
        return verdicts, refs

    def _judge(self, rows):
        """Everything a chunk of a bulk kind can decide on its own: each row parsed, its
        references and record looked up, built and validated, and (for a plan) its values
        kept. Returns {ref field: {key: stamp}} of the records the valid rows reference."""
        for state in rows:
            if not state.errors:
                self._parse(state)
        self._resolve_refs(rows)
        self._find_existing(rows)
        for state in rows:
            state.found = not state.errors
            state.stamp = _stamp(state.existing)
            if state.errors:
                self._check_what_parsed(state)
                self._fail_unresolved(state)
            else:
                self._build(state)
                if state.unresolved:
                    self._check_fields_only(state)
        self._validate_bulk(rows)
        if self.write:
            return {}
        self._name_old_targets(rows)
        attnames = list(self._attnames.values())
        refs = {ref.field: {} for ref in self.kind.refs}
        for state in rows:
            if state.errors or state.action not in (CREATE, UPDATE):
                continue
            if state.action == CREATE and self._layout is not None:
                state.prepared = self._layout.text(state.instance)
            else:
                values = {name: getattr(state.instance, name) for name in attnames}
                state.prepared = values if state.action == CREATE else (values, state.changed)
            for name, stamps in refs.items():
                parts = state.ref_keys.get(name)
                if parts and parts not in stamps:
                    stamps[parts] = _stamp(self.ref_cache[name].get(parts))
        return {name: stamps for name, stamps in refs.items() if stamps}

    def _settle(self, rows, refs):
        """What a chunk's rows need the file's earlier rows for, in row order: keys and unique
        values the file repeats, the fingerprint; then the chunk is written (apply) or kept
        for the apply (plan)."""
        for state in rows:
            if self._check_duplicate(state):
                # As if the row had failed before its record was looked up.
                del state.errors[:-1]
                state.found, state.stamp = False, _stamp(None)
                state.unique, state.prepared = [], None
            for index, digest in state.unique:
                first = self.unique_seen.setdefault((index, digest), state.number)
                if first != state.number:
                    fields, _, constraint = self._unique_checks[index]
                    self._fail_unique(state, fields, constraint, in_file=first)
                    state.prepared = None
            if state.key:
                self._fingerprint_key(state.key, state.stamp)
        if self.write:
            self._write_bulk(rows)
            return
        chunk = {"keys": [], "refs": refs, "creates": [], "updates": [], "lines": []}
        for state in rows:
            if state.found or state.key:
                chunk["keys"].append((state.key, state.found, state.stamp))
            if state.prepared is None:
                continue
            if state.action == UPDATE:
                chunk["updates"].append(state.prepared)
            else:  # a CopyLayout line or the values
                chunk["lines" if isinstance(state.prepared, str) else "creates"].append(
                    state.prepared
                )
        pickle.dump(chunk, self.prepared_file, protocol=pickle.HIGHEST_PROTOCOL)

    def _count(self, state):
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
            cells = state.cells or self.reader.cells(state.read)
            self.failed_writer.write({**cells, "error": "; ".join(messages)})
            if self.write and not self.skip_errors:
                self.aborted = True
        self.counts[state.action] += 1
        if self.row_log is not None:
            self.row_log.add(state, lambda: state.cells or self.reader.cells(state.read))

    def _report_progress(self):
        percent = int(100 * self.reader.bytes_read / max(self.reader.size, 1))
        if self.run.pk:
            self._progress_writer.write(self.run.pk, min(percent, 99))
        if self.progress:
            self.progress(self.counts, percent)

    # -- reading cells --

    def _parse(self, state):
        cells = state.cells = self.reader.cells(state.read)
        for spec, parse in self._given_parsers():
            if parse is None:  # a reference
                if len(spec.columns) == 1:
                    parts = (cells.get(spec.columns[0], ""),)
                else:
                    parts = tuple(cells.get(h, "") for h in spec.columns)
                if spec.upper:
                    parts = tuple(p.upper() for p in parts)
                if not any(parts):
                    if spec.required:
                        state.fail(spec.columns[0], "Required.")
                    state.ref_keys[spec.field] = None
                elif not all(parts):
                    state.fail(spec.columns[0], f"Give all of {', '.join(spec.columns)}.")
                else:
                    state.ref_keys[spec.field] = parts
                continue
            cell = cells[spec.name]
            if cell == "":
                state.values[spec.field] = self._blank(spec.field)
                continue
            try:
                state.values[spec.field] = parse(cell)
            except CellError as exc:
                state.fail(spec.name, str(exc))
        if state.errors:
            return
        key = []
        for header in self.kind.key:
            spec = self.specs_by_header[header]
            if isinstance(spec, Ref):
                parts = state.ref_keys.get(spec.field)
                key.append(parts[spec.columns.index(header)] if parts else "")
            else:
                key.append(format_value(state.values.get(spec.field)))
        state.key = tuple(key)

    def _given_specs(self):
        """The kind's columns and references the file gives (all or some of their columns)."""
        if self._specs_given is None:
            self._specs_given = [
                spec
                for spec in self.kind.specs
                if any(
                    h in self.present
                    for h in (spec.columns if isinstance(spec, Ref) else (spec.name,))
                )
            ]
        return self._specs_given

    def _given_parsers(self):
        """(spec, its cell parser) of _given_specs(), None for a reference."""
        if self._parsers is None:
            self._parsers = [
                (spec, None if isinstance(spec, Ref) else spec.parser)
                for spec in self._given_specs()
            ]
        return self._parsers

    def _blank(self, name):
        """What a blank cell gives a field (_blank), worked out once unless it is made anew
        each time (a callable default)."""
        if name in self._blanks:
            return self._blanks[name]
        value = _blank(self.model, name)
        try:
            made = callable(self.model._meta.get_field(name).default)
        except FieldDoesNotExist:
            made = False
        if not made:
            self._blanks[name] = value
        return value

    def _check_duplicate(self, state):
        """Whether an earlier row of the file has the same key; True when so (the row fails)."""
        if not state.key:
            return False
        digest = _digest(state.key)
        first = self.seen_keys.get(digest)
        if first is None:
            self.seen_keys[digest] = state.number
            return False
        named = ", ".join(f"{h}={v!r}" for h, v in zip(self.kind.key, state.key, strict=True))
        state.fail(self.kind.key[0], f"Duplicate key ({named}): already in row {first}.")
        return True

    # -- lookups per chunk --

    def _resolve_refs(self, rows):
        for ref in self.kind.refs:
            cache = self.ref_cache[ref.field]
            # Rows that failed already too: a reference naming no record is one more error.
            wanted = {
                s.ref_keys[ref.field]
                for s in rows
                if s.ref_keys.get(ref.field) and s.ref_keys[ref.field] not in cache
            }
            if wanted:
                if len(cache) > 50_000:
                    cache.clear()
                found = _records_by_key(ref.model, ref.lookups, wanted)
                cache.update(found)
        if self.kind.write == "xref":
            self._resolve_targets(rows)

    def _find_existing(self, rows):
        keys = {s.key for s in rows if not s.errors}
        if not keys:
            return
        lookup_header = self.kind.lookup_by or self.kind.key[0]
        spec = self.specs_by_header[lookup_header]
        if isinstance(spec, Ref):
            lookup = f"{spec.field}__{spec.lookups[spec.columns.index(lookup_header)]}"
        else:
            lookup = spec.field
        position = self.kind.key.index(lookup_header)
        values = {key[position] for key in keys}
        queryset = self.model.objects.filter(**{_in(self.model, lookup): values})
        if len(self.kind.key) == 1 and not isinstance(spec, Ref):
            # Records named in the file are set from the chunk's lookups; only the others
            # are loaded with the record, for its clean().
            absent = [ref.field for ref in self.kind.refs if ref.field not in self._given]
            if absent:
                queryset = queryset.select_related(*absent)
            # The key is the field itself: compare as stored, no need to format the record.
            found = {(getattr(r, spec.field),): r for r in queryset}
        else:
            if self.kind.select_related:
                queryset = queryset.select_related(*self.kind.select_related)
            found = {self.kind.key_of_record(record): record for record in queryset}
        for state in rows:
            if not state.errors:
                state.existing = found.get(state.key)

    def _fingerprint(self, state):
        """Fingerprint a row by its record as it is now; returns that record's stamp."""
        if not state.key:
            return None
        stamp = _stamp(state.existing)
        self._fingerprint_key(state.key, stamp)
        return stamp

    def _fingerprint_key(self, key, stamp):
        self.fingerprint.update(repr((key, stamp)).encode())

    # -- one row --

    def _build(self, state):
        existing = state.existing
        instance = existing if existing is not None else self._new_instance()
        attnames = self._attnames
        resolved = {}
        for ref in self.kind.refs:
            if ref.field not in state.ref_keys:
                continue
            parts = state.ref_keys[ref.field]
            if parts is None:
                resolved[ref.field] = None
                continue
            target = self.ref_cache[ref.field].get(parts)
            if target is None:
                state.fail(ref.columns[0], self._no_record(ref, parts))
                state.unresolved.add(ref.field)
                continue
            resolved[ref.field] = target
        if state.errors and self.kind.write == "xref":
            return
        if self.kind.write == "xref":
            self._build_xref(state, instance, resolved)
            return
        changed = []
        describe = self.row_log is not None and existing is not None
        for name, value in state.values.items():
            attname = attnames[name]
            old = getattr(instance, attname)
            if existing is None or not _same(old, value):
                changed.append(name)
                if describe:
                    header = self.header_of_field[name]
                    state.diff.append([header, format_value(old), format_value(value)])
            setattr(instance, attname, value)
        for name, target in resolved.items():
            attname = attnames[name]
            target_pk = target.pk if target is not None else None
            old_pk = getattr(instance, attname)
            if existing is None or old_pk != target_pk:
                changed.append(name)
                if describe:  # the old record's key is looked up per chunk
                    ref = self._refs_by_field[name]
                    label, new = planned_rows.ref_label(ref), planned_rows.target_text(ref, target)
                    state.diff.append([label, planned_rows.old_target(old_pk), new])
            _set_related(instance, self.model._meta.get_field(name), target)
        state.instance = instance
        state.changed = changed
        state.action = CREATE if existing is None else (UPDATE if changed else UNCHANGED)
        state.resolved_fields = {n for n, t in resolved.items() if t is not None}
        self._describe(state)

    def _fail_unresolved(self, state):
        """A row that failed before its record was built (a cell that does not parse, say):
        its references that name no record are told too, with its other errors."""
        for ref in self.kind.refs:
            parts = state.ref_keys.get(ref.field)
            if parts and self.ref_cache[ref.field].get(parts) is None:
                state.fail(ref.columns[0], self._no_record(ref, parts))

    def _no_record(self, ref, parts):
        key = (ref.field, parts)
        if key not in self._missing:
            if len(self._missing) > 10_000:
                self._missing.clear()
            self._missing[key] = explain.no_record_message(ref, parts)
        return self._missing[key]

    def _check_what_parsed(self, state):
        """A row with a cell that does not parse (or a key the file repeats): the field checks
        (choices, lengths, digits) of the cells that did, so that every error of the row is
        told at once."""
        if state.cells is None or self.kind.write == "xref":
            return
        failed = {
            self.specs_by_header[c].field for c, _ in state.errors if c in self.specs_by_header
        }
        instance = self._new_instance()
        for name, value in state.values.items():
            setattr(instance, self._attnames[name], value)
        exclude = {ref.field for ref in self.kind.refs} | self._not_given | failed
        try:
            self._clean_fields(instance, exclude)
        except ValidationError as exc:
            self._fail_validation(state, exc)

    def _describe(self, state):
        """The record a row updates, for the plan to link to (the values of a row it
        creates are its cells: planned_rows.RowLog)."""
        if self.row_log is not None and state.existing is not None:
            state.record_pk = state.existing.pk

    def _name_old_targets(self, rows):
        """The keys of the records an update's references pointed at, in one query per
        reference and chunk (rows.name_old_targets)."""
        if self.row_log is not None and self.kind.write != "xref":
            planned_rows.name_old_targets(rows, self.kind.refs)

    def _check_fields_only(self, state):
        """The field checks (lengths, choices, digits) of a row whose reference names no
        record, so the row's other errors are told with it. Its clean(), constraints and
        uniqueness involve the record referenced, and are judged once the reference is
        fixed; the references themselves are not checked again."""
        if state.action not in (CREATE, UPDATE):
            return
        exclude = {ref.field for ref in self.kind.refs} | self._not_given
        try:
            self._clean_fields(state.instance, exclude)
        except ValidationError as exc:
            self._fail_validation(state, exc)

    def _new_instance(self):
        """What self.model() makes, made faster: the defaults are read once (a callable
        default, such as a JSON field's list, is still called per instance) and post_init is
        still sent."""
        if self._defaults is None:
            fields = self.model._meta.concrete_fields
            made = [f for f in fields if f.has_default() and callable(f.default)]
            self._defaults = {f.attname: f.get_default() for f in fields if f not in made}
            self._made_defaults = [(f.attname, f.get_default) for f in made]
        instance = self.model.__new__(self.model)
        values = instance.__dict__
        values.update(self._defaults)
        for attname, make in self._made_defaults:
            values[attname] = make()
        instance._state = ModelState()
        post_init.send(sender=self.model, instance=instance)
        return instance

    def _full_clean(self, instance, exclude):
        """instance.full_clean(exclude, validate_unique=False, validate_constraints=False),
        with the field checks of _clean_fields: the same checks, in the same order, with the
        same errors."""
        errors = {}
        try:
            self._clean_fields(instance, exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        try:
            instance.clean()
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def _clean_fields(self, instance, exclude):
        """Model.clean_fields(), remembering each field's verdict on a value: a file repeats
        the same unit, type, status and maker on most rows. Only for Django's own field
        classes other than relations, whose checks look at the value alone."""
        memo = self._clean_memo
        if len(memo) > 100_000:
            memo.clear()
        errors = {}
        values = instance.__dict__
        for f, attname, blank, memoizable, passes in self._fields_to_clean(exclude):
            raw = values[attname] if attname in values else getattr(instance, attname)
            if blank and raw in f.empty_values:
                continue
            if passes is not None and passes(raw):
                continue
            if isinstance(raw, DatabaseDefault):
                continue
            # A Decimal by its text: 1.0000000 equals 1 but has more decimal places.
            value_key = str(raw) if isinstance(raw, Decimal) else raw
            key = (attname, type(raw), value_key) if memoizable else None
            try:
                verdict = memo.get(key) if key is not None else None
            except TypeError:  # an unhashable value
                key = verdict = None
            if verdict is None:
                try:
                    verdict = (True, f.clean(raw, instance))
                except ValidationError as exc:
                    verdict = (False, exc.error_list)
                if key is not None:
                    memo[key] = verdict
            if not verdict[0]:
                errors[f.name] = verdict[1]
            elif verdict[1] is not raw:
                setattr(instance, attname, verdict[1])
        if errors:
            raise ValidationError(errors)

    def _fields_to_clean(self, exclude):
        """(field, attname, blank, memoizable, passes) of the fields clean_fields() checks
        when these are excluded; worked out once per set of exclusions."""
        key = frozenset(exclude)
        found = self._clean_plans.get(key)
        if found is None:
            found = self._clean_plans[key] = [
                (f, f.attname, f.blank, _memoizable(f), _text_passes(f))
                for f in self.model._meta.fields
                if f.name not in exclude and not f.generated
            ]
        return found

    def _validate_fully(self, state):
        try:
            state.instance.full_clean()
        except ValidationError as exc:
            self._fail_validation(state, exc)

    def _fail_validation(self, state, exc):
        if hasattr(exc, "error_dict"):
            for name, errors in exc.error_dict.items():
                column = None if name == NON_FIELD_ERRORS else self.header_of_field.get(name, name)
                for error in errors:
                    if error.code == "invalid_choice" and error.params:
                        model_field = self.model._meta.get_field(name)
                        state.fail(
                            column, explain.choice_message(model_field, error.params["value"])
                        )
                        continue
                    for message in error.messages:
                        state.fail(column, message)
        else:
            for message in exc.messages:
                state.fail(None, message)

    def _save_one(self, state):
        if self.aborted:
            return
        if self.kind.write == "xref":
            self._save_xref(state)
            return
        instance = state.instance
        instance._history_user = self.user
        try:
            with transaction.atomic():
                instance.save()
        except (IntegrityError, ValidationError) as exc:
            state.fail(None, _database_refusal(exc))
            return
        if state.action == CREATE:
            self._remember_created(instance)

    def _remember_created(self, instance):
        """A later row of the file may name this record (a location's parent); a plan
        remembers the record it would create."""
        for ref in self.kind.refs:
            if ref.model is self.model:
                self.ref_cache[ref.field][ref.key_of(instance)] = instance

    # -- bulk kinds --

    def _validate_bulk(self, rows):
        todo = [s for s in rows if not s.errors and s.action in (CREATE, UPDATE)]
        for state in todo:
            instance = state.instance
            try:
                # Foreign keys given in the file were found by the chunk's lookup: checking
                # them again would be a query per row and per key.
                self._full_clean(instance, state.resolved_fields | self._not_given)
            except ValidationError as exc:
                self._fail_validation(state, exc)
            self._check_constraints_of(state)
        self._check_unique([s for s in todo if not s.errors])

    def _check_constraints_of(self, state):
        for constraint in self._check_constraints:
            try:
                holds = _holds(constraint.condition, state.instance)
            except _Unsupported:
                try:
                    constraint.validate(self.model, state.instance)
                except ValidationError as exc:
                    self._fail_validation(state, exc)
                continue
            if holds is False:
                state.fail(None, str(constraint.get_violation_error_message()))

    def _check_unique(self, rows):
        key_fields = {
            self.specs_by_header[h].field
            for h in self.kind.key
            if not isinstance(self.specs_by_header[h], Ref)
        }
        for index, (fields, condition, constraint) in enumerate(self._unique_checks):
            if not set(fields) & self._written_fields():
                continue
            if condition is None and set(fields) == key_fields:
                continue  # the natural key itself: the chunk's lookup found any holder
            meta = self.model._meta
            attnames = [meta.get_field(name).attname for name in fields]
            subject = {}
            for state in rows:
                values = tuple(getattr(state.instance, a) for a in attnames)
                if any(v is None for v in values):
                    continue
                if condition is not None and _holds(condition, state.instance) is False:
                    continue
                subject[state.number] = (state, values)
            if not subject:
                continue
            first_values = {values[0] for _, values in subject.values()}
            stored = self.model.objects.filter(**{_in(self.model, attnames[0]): first_values})
            if condition is not None:
                stored = stored.filter(condition)
            holders = {}
            for pk, *values in stored.values_list("pk", *attnames):
                holders[tuple(values)] = pk
            for state, values in subject.values():
                holder = holders.get(values)
                if holder is not None and holder != state.instance.pk:
                    self._fail_unique(state, fields, constraint, in_file=False)
                else:  # whether an earlier row of the file has them: _settle()
                    state.unique.append((index, _digest(values)))

    def _written_fields(self):
        written = {spec.field for spec in self.kind.specs}
        return written

    def _fail_unique(self, state, fields, constraint, in_file):
        if constraint is None:
            message = self.model().unique_error_message(self.model, fields).messages[0]
        else:
            message = str(constraint.get_violation_error_message())
        if in_file:
            message = f"{message} (row {in_file} of this file)"
        single = len(fields) == 1 and (
            constraint is None or constraint.violation_error_code in (None, "unique")
        )
        state.fail(self.header_of_field.get(fields[0]) if single else None, message)

    def _write_bulk(self, rows):
        if self.aborted:
            return
        creates = [s for s in rows if not s.errors and s.action == CREATE]
        updates = [s for s in rows if not s.errors and s.action == UPDATE]
        if not creates and not updates:
            return
        try:
            with transaction.atomic():
                self._bulk_create([s.instance for s in creates])
                self._bulk_update(updates)
        except IntegrityError:
            # Something the checks above could not see (a concurrent write): go row by row
            # so the refused rows are named.
            for state in (*creates, *updates):
                if state.action == CREATE:
                    state.instance.pk = None
                    state.instance._state.adding = True
                    if isinstance(state.instance, PublicIdModel):
                        state.instance.public_id = ""
                self._save_one(state)
            return
        self.bulk_written = True

    def _history_attrs(self):
        return {"change_source": Source.IMPORT, "change_reference": str(self.run.pk)}

    def _bulk_create(self, objs):
        if not objs:
            return
        if self._layout is not None:  # PostgreSQL: COPY
            lines = [self._layout.text(obj) for obj in objs]
            self._layout.write(lines, self.user, self._history_attrs())
            return
        if issubclass(self.model, PublicIdModel):
            ids = allocate_public_ids(self.model.PUBLIC_ID_PREFIX, len(objs))
            for obj, public_id in zip(objs, ids, strict=True):
                obj.public_id = public_id
        self.model.objects.bulk_create(objs, batch_size=1000)
        get_history_manager_for_model(self.model).bulk_history_create(
            objs,
            batch_size=1000,
            default_user=self.user,
            custom_historical_attrs=self._history_attrs(),
        )

    def _bulk_update(self, states):
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
            custom_historical_attrs=self._history_attrs(),
        )

    # -- the plan's verdict, written by the apply without reading the file again --

    def apply_prepared(self, stream):
        """Write what the plan validated, chunk by chunk, after checking that every record
        the file names is as the plan saw it (else StalePlan) and every record the rows
        reference too (else _Revalidate: the caller reads the file again)."""
        refs = {ref.field: ref for ref in self.kind.refs}
        self._given = {spec.field for spec in self.kind.specs}  # no record is cleaned here
        self.counts = dict(self.run.plan_counts)
        self.errors = list(self.run.errors)
        self.error_total = self.counts.get(ERROR, 0)
        if self.error_total and self.run.failed_rows:
            with self.run.failed_rows.open("rb") as failed:
                self.failed_file.write(failed.read().decode("utf-8-sig"))
        now_stamps = {}  # (ref field, key) -> stamp of the record now
        unique_key = self._key_is_unique()
        to_write = max(self.counts[CREATE] + self.counts[UPDATE], 1)
        written = 0
        try:
            while True:
                try:
                    chunk = pickle.load(stream)  # noqa: S301 (a file this hub wrote)
                except EOFError:
                    break
                # A record created since the plan under the key of a row it would create
                # makes the insert fail on the key's unique constraint (and the apply read
                # the file again, which refuses the plan): only records the plan saw are
                # looked up again.
                states = [
                    RowState(0, [], key=key, errors=[] if found else [(None, "")])
                    if planned != _stamp(None) or not unique_key
                    else None
                    for key, found, planned in chunk["keys"]
                ]
                self._find_existing([state for state in states if state is not None])
                # Each record compared with the plan's stamp of it: what the fingerprint
                # of a file pass sums up (see stamps_checked).
                for state, (_, _, planned) in zip(states, chunk["keys"], strict=True):
                    if state is not None and _stamp(state.existing) != planned:
                        raise StalePlan
                for name, stamps in chunk["refs"].items():
                    ref = refs[name]
                    unseen = {parts for parts in stamps if (name, parts) not in now_stamps}
                    if unseen:
                        found = _records_by_key(ref.model, ref.lookups, unseen)
                        for parts in unseen:
                            now_stamps[(name, parts)] = _stamp(found.get(parts))
                    if any(now_stamps[(name, parts)] != s for parts, s in stamps.items()):
                        raise _Revalidate
                creates = [self._revive(values, adding=True) for values in chunk["creates"]]
                updates = [
                    RowState(0, [], instance=self._revive(values), changed=changed)
                    for values, changed in chunk["updates"]
                ]
                self._bulk_create(creates)
                if chunk["lines"]:
                    self._layout.write(chunk["lines"], self.user, self._history_attrs())
                self._bulk_update(updates)
                count = len(creates) + len(chunk["lines"]) + len(updates)
                self.bulk_written = self.bulk_written or bool(count)
                written += count
                percent = int(100 * written / to_write)
                self._progress_writer.write(self.run.pk, min(percent, 99))
                if self.progress:
                    self.progress(self.counts, percent)
        finally:
            self._progress_writer.close()
        self.stamps_checked = True
        return self

    def _key_is_unique(self):
        """Whether the database refuses a second record with a row's natural key."""
        fields = {self.specs_by_header[header].field for header in self.kind.key}
        return any(
            set(unique) == fields and condition is None
            for unique, condition, _ in _unique_checks(self.model)
        )

    def _revive(self, values, adding=False):
        """A model instance with these field values, as the plan validated them; made
        without __init__, which would only set every field to what `values` holds."""
        instance = self.model.__new__(self.model)
        instance.__dict__.update(values)
        instance._state = ModelState()
        instance._state.adding = adding
        instance._state.db = None if adding else DEFAULT_DB_ALIAS
        return instance

    # -- cross-references --

    def _resolve_targets(self, rows):
        wanted = {}
        for state in rows:
            if state.errors:
                continue
            kind, target = state.values.get("kind"), state.values.get("target")
            if kind not in XREF_TARGET_LOOKUPS:
                state.fail(
                    "kind", f"{kind!r} is not a kind of reference ({', '.join(XrefKind.values)})."
                )
                continue
            wanted.setdefault(kind, set()).add(target)
        self.targets = {}
        for kind, keys in wanted.items():
            model, lookups, split = XREF_TARGET_LOOKUPS[kind]
            parts = {split(key) for key in keys}
            parts.discard(None)
            found = _records_by_key(model, lookups, parts) if parts else {}
            for key in keys:
                split_key = split(key)
                if split_key in found:
                    self.targets[(kind, key)] = found[split_key]

    def _build_xref(self, state, existing_or_new, resolved):
        values = state.values
        kind = values["kind"]
        target = self.targets.get((kind, values["target"]))
        if target is None:
            state.fail(
                "target",
                f"No {XrefKind(kind).label.lower()} {values['target']!r} "
                f"(give the {XREF_TARGET_FORMATS[kind]}).",
            )
            return
        system = resolved["system"]
        reference = existing_or_new
        field_name, _ = TARGETS[XrefKind(kind)]
        wanted = {
            "scope": values.get("scope", reference.scope if state.existing else ""),
            "valid_from": values.get("valid_from"),
            "valid_to": values.get("valid_to", reference.valid_to if state.existing else None),
            "status": values.get(
                "status", reference.status if state.existing else CrossReference.Status.ACTIVE
            ),
            "is_preferred": values.get(
                "is_preferred", reference.is_preferred if state.existing else False
            ),
        }
        if state.existing is None:
            reference = CrossReference(
                kind=kind,
                system=system,
                code=values["code"],
                origin=CrossReference.Origin.IMPORT,
                created_by=self.user,
                **wanted,
            )
            setattr(reference, field_name, target)
            state.changes = {}
            state.action = CREATE
        else:
            changes = {
                name: value for name, value in wanted.items() if getattr(reference, name) != value
            }
            if reference.target_id != target.pk:
                changes["target"] = target
            state.changes = changes
            if self.row_log is not None:
                state.diff = planned_rows.xref_diff(reference, changes)
            for name, value in changes.items():
                if name == "target":
                    setattr(reference, field_name, value)
                else:
                    setattr(reference, name, value)
            state.action = UPDATE if changes else UNCHANGED
        state.system = system
        state.target = target
        state.instance = reference
        self._describe(state)

    def _save_xref(self, state):
        if self.aborted:
            return
        reference = state.instance
        try:
            if state.action == CREATE:
                saved, created = register_reference(
                    kind=reference.kind,
                    system=state.system,
                    code=reference.code,
                    target=state.target,
                    scope=reference.scope,
                    valid_from=reference.valid_from,
                    valid_to=reference.valid_to,
                    is_preferred=reference.is_preferred,
                    origin=CrossReference.Origin.IMPORT,
                    user=self.user,
                )
                if not created:
                    state.action = UNCHANGED
                elif reference.status != CrossReference.Status.ACTIVE:
                    update_reference(saved, user=self.user, status=reference.status)
            else:
                stored = CrossReference.objects.get(pk=reference.pk)
                update_reference(stored, user=self.user, **state.changes)
        except ValidationError as exc:
            self._fail_validation(state, exc)


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


# --- PostgreSQL COPY for new records ----------------------------------------------------------


def _next_ids(model, count):
    """`count` ids from the sequence of the model's table (named once: looking it up in every
    row of the statement costs more than taking the numbers)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, %s)", [model._meta.db_table, model._meta.pk.column]
        )
        (sequence,) = cursor.fetchone()
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count]
        )
        return [pk for (pk,) in cursor.fetchall()]


def _copy(table, fields, text):
    """COPY text (lines in COPY's text format; a string, or an iterable of strings) into
    these columns of a table."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    statement = f"COPY {quote(table)} ({columns}) FROM STDIN"
    # The driver's own COPY: its errors are turned into Django's (IntegrityError) as the ORM's.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(statement) as copy,
    ):
        for part in (text,) if isinstance(text, str) else text:
            copy.write(part.encode())


# Field types whose values COPY's text format takes as str() gives them (numbers and keys);
# text, booleans, dates and JSON have encoders of their own.
PASSED_AS_IS = frozenset(
    {
        *("AutoField", "BigAutoField", "BigIntegerField", "BooleanField", "CharField"),
        *("DateField", "DateTimeField", "DecimalField", "EmailField", "ForeignKey"),
        *("IntegerField", "PositiveBigIntegerField", "PositiveIntegerField"),
        *("PositiveSmallIntegerField", "SlugField", "SmallIntegerField", "TextField"),
    }
)


# COPY's text format: a backslash, tab, newline and carriage return inside a value are escaped.
COPY_ESCAPES = planned_rows.COPY_ESCAPES


def _text_encoder(model_field):
    """A function giving a value of this field in COPY's text format, or None for a type that
    is not written this way."""
    kind = model_field.get_internal_type()
    # Built-in callables where there are such: a line is encoded per new record.
    if kind in ("CharField", "TextField", "SlugField", "EmailField"):
        return operator.methodcaller("translate", COPY_ESCAPES)
    if kind == "BooleanField":
        return lambda value: "t" if value else "f"
    if kind in ("DateField", "DateTimeField"):
        return operator.methodcaller("isoformat")
    if kind == "JSONField":
        encoder = model_field.encoder
        return lambda value: json.dumps(value, cls=encoder).translate(COPY_ESCAPES)
    if kind in PASSED_AS_IS:
        return str
    return None


class CopyLayout:
    """New records of a bulk kind as a plan keeps them for the apply, on PostgreSQL: each as a
    line of COPY text holding every value the plan validated, to which the apply adds only
    what it assigns (the id, the public id, the time stamps), and the same line, with the
    history's own columns, for the history row. The apply then writes nearly as fast as
    COPY of the file itself. None for a model with a field this cannot write."""

    @classmethod
    def of(cls, model):
        if connection.vendor != "postgresql":
            return None
        layout = cls(model)
        return layout if layout.encoders is not None else None

    def __init__(self, model):
        self.model = model
        fields = model._meta.concrete_fields
        self.public_ids = issubclass(model, PublicIdModel)
        assigned_names = {model._meta.pk.attname}
        if self.public_ids:
            assigned_names.add("public_id")
        stamped = [
            f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        ]
        assigned_names.update(f.attname for f in stamped)
        self.known = [f for f in fields if f.attname not in assigned_names]
        self.assigned = [f for f in fields if f.attname in assigned_names and f not in stamped]
        self.stamped = stamped
        self.read = operator.attrgetter(*(f.attname for f in self.known))
        encoders = [_text_encoder(f) for f in self.known]
        self.encoders = None if None in encoders else encoders
        self.history = get_history_manager_for_model(model).model
        by_attname = {f.attname: f for f in self.history._meta.concrete_fields}
        self.history_fields = [by_attname[f.attname] for f in self.known + self.assigned + stamped]
        self.history_extra = [
            f
            for f in self.history._meta.concrete_fields
            if f.name != "history_id" and f not in self.history_fields
        ]

    def text(self, instance):
        """The line of a validated new record, without what the apply assigns."""
        return "\t".join(
            [
                "\\N" if value is None else encode(value)
                for value, encode in zip(self.read(instance), self.encoders)  # noqa: B905
            ]
        )

    def write(self, texts, user, history_attrs):
        """Insert the records these lines hold, and their "+" history rows."""
        count = len(texts)
        pks = _next_ids(self.model, count)
        public_ids = (
            allocate_public_ids(self.model.PUBLIC_ID_PREFIX, count) if self.public_ids else None
        )
        now = timezone.now()
        stamps = "".join("\t" + now.isoformat() for _ in self.stamped)
        lines = []
        for index, text in enumerate(texts):
            public_id = "\t" + public_ids[index] if public_ids else ""
            lines.append(f"{text}\t{pks[index]}{public_id}{stamps}")
        record_fields = self.known + self.assigned + self.stamped
        _copy(self.model._meta.db_table, record_fields, text="\n".join(lines) + "\n")
        extra = {
            "history_date": now,
            "history_user_id": user.pk if user is not None else None,
            "history_change_reason": None,
            "history_type": "+",
            **history_attrs,
        }
        missing = [f.attname for f in self.history_extra if f.attname not in extra]
        if missing:
            raise ImproperlyConfigured(f"No value for history column(s) {', '.join(missing)}.")
        # The history rows are the records just written, read back inside the database:
        # no second COPY of the same text.
        quote = connection.ops.quote_name
        columns = [quote(f.column) for f in self.history_fields + self.history_extra]
        selected = [quote(f.column) for f in record_fields]
        selected += ["%s"] * len(self.history_extra)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(self.history._meta.db_table)} ({', '.join(columns)}) "
                f"SELECT {', '.join(selected)} FROM {quote(self.model._meta.db_table)} "
                f"WHERE {quote(self.model._meta.pk.column)} = ANY(%s)",
                [*(extra[f.attname] for f in self.history_extra), pks],
            )


def refresh_match_index(run_id):
    """Bring the fuzzy-match index (xref.matching) up to date with the records an import
    run wrote in bulk, which sends no save signals. Run after the apply commits, in the
    background: at a million items the index has some twenty million keys."""
    run = ImportRun.objects.filter(pk=run_id).first()
    if run is None:
        return 0
    model = KINDS[run.kind].model
    spec = _match_spec(model)
    if spec is None:
        return 0
    from xref import matching
    from xref.models import MatchKey

    history = get_history_manager_for_model(model).model
    ids = (
        history.objects.filter(change_source=Source.IMPORT, change_reference=str(run.pk))
        .order_by("id")
        .values_list("id", flat=True)
        .distinct()
    )
    done = 0
    chunk = []
    for record_id in ids.iterator(chunk_size=5000):
        chunk.append(record_id)
        if len(chunk) == 5000:
            done += _reindex(matching, MatchKey, spec, chunk)
            chunk = []
    if chunk:
        done += _reindex(matching, MatchKey, spec, chunk)
    return done


def _reindex(matching, match_key, spec, ids):
    with transaction.atomic():
        match_key.objects.filter(kind=spec.kind, record_id__in=ids).delete()
        rows = list(spec.model.objects.filter(pk__in=ids).values(*spec.fields))
        matching.index_rows(spec, rows)
    return len(rows)


# --- helpers -------------------------------------------------------------------------------


def _stamp(record):
    """What a plan holds of a record the file names or references, to tell whether it changed
    by the apply: its id and last update, or "-" for none."""
    return f"{record.pk}@{record.updated_at.isoformat()}" if record is not None else "-"


def _digest(values):
    return hashlib.blake2b(repr(values).encode(), digest_size=8).digest()


def _blank(model, name):
    """What a blank cell means for a field: its default, or empty, or null."""
    try:
        model_field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return ""  # a cell that is not a field (a reference's target)
    if model_field.has_default():
        return model_field.get_default()
    return None if model_field.null else ""


def _same(stored, value):
    if stored is None or value is None:
        return stored is value
    return stored == value


def _records_by_key(model, lookups, keys):
    """{key tuple: record} for the records of `model` whose `lookups` have these values
    (cell texts); one query."""
    first = {key[0] for key in keys}
    queryset = model.objects.filter(**{_in(model, lookups[0]): first})
    related = {"__".join(lookup.split("__")[:-1]) for lookup in lookups if "__" in lookup}
    if related:
        queryset = queryset.select_related(*related)
    found = {}
    for record in queryset:
        key = record_key(record, lookups)
        if key in keys:
            found[key] = record
    return found


def _set_related(instance, model_field, target):
    """instance.<foreign key> = target, as the field's descriptor sets it (the key columns and
    the cached record), without its checks: `target` was found by the key's own lookup."""
    values = instance.__dict__
    for own, remote in model_field.related_fields:
        values[own.attname] = None if target is None else getattr(target, remote.attname)
    model_field.set_cached_value(instance, target)


def _in(model, path):
    """The lookup for "`path` is one of these values": `__in_array` (imports.lookups) where
    the path ends at a plain column, `__in` at a foreign key (whose lookups are its own)."""
    target = model
    for name in path.split("__"):
        model_field = target._meta.get_field(name)
        if model_field.is_relation and name != path.split("__")[-1]:
            target = model_field.related_model
    return f"{path}__in" if model_field.is_relation else f"{path}__in_array"


def _split_once(separator, reverse=False):
    def split(key):
        head, sep, tail = key.rpartition(separator) if reverse else key.partition(separator)
        return (head, tail) if sep and head and tail else None

    return split


# xref kind -> (model, lookups of the target's natural key, cell text -> key tuple)
XREF_TARGET_LOOKUPS = {
    "item": (Item, ("number",), lambda key: (key,)),
    "item_revision": (ItemRevision, ("item__number", "revision"), _split_once("/", True)),
    "supplier": (Supplier, ("number",), lambda key: (key,)),
    "supplier_site": (SupplierSite, ("supplier__number", "code"), _split_once("/")),
    "location": (Location, ("code",), lambda key: (key,)),
    "unit": (Unit, ("code",), lambda key: (key.upper(),)),
    "code_value": (CodeValue, ("code_list__code", "code"), _split_once(":")),
}


def _database_refusal(exc):
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else "integrity error"
    return f"The database refused the row ({first})."


def _match_spec(model):
    from xref import matching

    specs = getattr(matching, "SPEC_BY_MODEL", {})
    return specs.get(model)


def _unique_checks(model):
    """(fields, condition, constraint) for every unique field and unique constraint of the
    model, read from its definition."""
    checks = []
    for model_field in model._meta.concrete_fields:
        if model_field.unique and not model_field.primary_key:
            checks.append(((model_field.name,), None, None))
    for constraint in model._meta.constraints:
        if isinstance(constraint, UniqueConstraint) and constraint.fields:
            checks.append((tuple(constraint.fields), constraint.condition, constraint))
    return checks


class _Unsupported(Exception):
    pass


def _holds(condition, instance):
    """A check constraint's Q evaluated on an instance with SQL's three-valued logic: True,
    False, or None (unknown, which a CHECK constraint lets pass). _Unsupported for lookups
    this does not know; the caller then asks the database. The condition is compiled once
    per model into plain comparisons."""
    key = (type(instance), id(condition))
    compiled = _COMPILED.get(key)
    if compiled is None:
        try:
            test = _compile(condition, instance._meta)
        except _Unsupported as exc:
            test = exc
        compiled = _COMPILED[key] = (condition, test)  # the condition kept: its id stays its
    test = compiled[1]
    if isinstance(test, _Unsupported):
        raise test
    return test(instance)


_COMPILED = {}


def _compile(condition, meta):
    parts = [
        _compile(child, meta) if isinstance(child, Q) else _compile_lookup(meta, *child)
        for child in condition.children
    ]
    conjunction, negated = condition.connector == Q.AND, condition.negated

    def test(instance):
        results = [part(instance) for part in parts]
        if conjunction:
            result = False if False in results else (None if None in results else True)
        else:
            result = True if True in results else (None if None in results else False)
        if negated and result is not None:
            result = not result
        return result

    return test


COMPARISONS = {
    "exact": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "in": lambda left, right: left in right,
    "regex": lambda left, right: re.search(right, str(left)) is not None,
}


def _compile_lookup(meta, lookup, value):
    name, _, lookup_name = lookup.partition("__")
    lookup_name = lookup_name or "exact"
    if "__" in lookup_name or (lookup_name not in COMPARISONS and lookup_name != "isnull"):
        raise _Unsupported(lookup)
    try:
        left = meta.get_field(name).attname
    except FieldDoesNotExist:
        raise _Unsupported(lookup) from None
    if isinstance(value, F):
        target = meta.pk if value.name in ("pk", "id") else meta.get_field(value.name)
        right_attname, constant = target.attname, None
    elif hasattr(value, "resolve_expression"):
        raise _Unsupported(lookup)
    else:
        right_attname, constant = None, value
    if lookup_name == "isnull":
        return lambda instance: (getattr(instance, left) is None) == bool(constant)
    if lookup_name == "exact" and right_attname is None and constant is None:
        return lambda instance: getattr(instance, left) is None
    compare = COMPARISONS[lookup_name]

    def test(instance):
        left_value = getattr(instance, left)
        right_value = constant if right_attname is None else getattr(instance, right_attname)
        if left_value is None or right_value is None:
            return None
        return compare(left_value, right_value)

    return test


def _memoizable(model_field):
    """Whether a field's clean() looks at the value alone: Django's own field classes other
    than relations (a project's own field class could look at the instance)."""
    cached = _MEMOIZABLE.get(model_field)
    if cached is None:
        cached = _MEMOIZABLE[model_field] = not model_field.is_relation and type(
            model_field
        ).__module__.startswith("django.")
    return cached


_MEMOIZABLE = {}


def _text_passes(model_field):
    """For Django's own CharField without choices: a test that a value certainly passes its
    clean() unchanged (a non-empty str within the length that its other validators accept),
    which then need not run; None for other fields. A value it doubts goes through clean(),
    which words the error."""
    if type(model_field) is not CharField or model_field.choices or not model_field.editable:
        return None
    limit = model_field.max_length
    others = [
        v
        for v in model_field.validators
        if not (type(v) is MaxLengthValidator and v.limit_value == limit)
    ]

    def passes(value):
        if type(value) is not str or not value or (limit is not None and len(value) > limit):
            return False
        try:
            for validator in others:
                validator(value)
        except ValidationError:
            return False
        return True

    return passes


# --- runs ------------------------------------------------------------------------------------


def start_run(kind, uploaded, *, mode=ImportRun.Mode.PLAN, skip_errors=False, user=None):
    """Store an uploaded file as a new queued run."""
    if kind not in KINDS:
        raise ValidationError({"kind": f"Unknown kind {kind!r} (known: {', '.join(KINDS)})."})
    run = ImportRun(
        kind=kind,
        mode=mode,
        skip_errors=skip_errors,
        created_by=user,
        file_name=(getattr(uploaded, "name", "") or "upload.csv").rsplit("/", 1)[-1][:255],
        file_size=getattr(uploaded, "size", 0) or 0,
        enqueued_at=timezone.now(),
    )
    run.save()
    run.file.save(run.file_name, uploaded, save=True)
    return run


def process_run(run_id, progress=None):
    """Plan a queued run and, when it asks for it, apply it. Claims the run first, so two
    workers never process it twice. A run queued for its apply (it has a plan) is not
    planned again: apply_queued_run() takes it."""
    now = timezone.now()
    claimed = ImportRun.objects.filter(
        pk=run_id, status=ImportRun.Status.QUEUED, plan_fingerprint=""
    ).update(status=ImportRun.Status.RUNNING, started_at=now, heartbeat_at=now, progress=0)
    if not claimed:
        return None
    run = ImportRun.objects.get(pk=run_id)
    with run.file.open("rb") as fileobj:
        plan_run(run, fileobj, progress=progress)
        if run.mode == ImportRun.Mode.APPLY and run.can_apply:
            apply_run(run, fileobj, progress=progress)
    return run


def plan_run(run, fileobj, progress=None):
    """Read the whole file, judge every row, write nothing; the run becomes planned (or
    failed for a file that cannot be read)."""
    try:
        if KINDS[run.kind].write == "bulk":
            work = Pass(run, fileobj, write=False, progress=progress).execute()
        else:
            with transaction.atomic():
                work = Pass(run, fileobj, write=False, rehearse=True, progress=progress).execute()
                transaction.set_rollback(True)  # the rehearsal's rows: a plan writes nothing
    except reading.FileError as exc:
        return _finish(run, ImportRun.Status.FAILED, message=str(exc))
    planned_rows.store(run, work.row_log, copy=_copy if connection.vendor == "postgresql" else None)
    run.plan_counts = dict(work.counts)
    run.plan_fingerprint = work.fingerprint.hexdigest()
    if work.prepared_file is not None:
        writes = work.counts[CREATE] or work.counts[UPDATE]
        if writes and (not work.counts[ERROR] or run.skip_errors):
            work.prepared_file.seek(0)
            run.prepared.save(f"prepared-{run.pk}.bin", File(work.prepared_file), save=False)
        work.prepared_file.close()
    return _finish(run, ImportRun.Status.PLANNED, work=work)


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


def request_apply(run, user=None, skip_errors=False):
    """Ask for a planned run's apply, to be done by a worker: planned -> queued in one
    conditional UPDATE, so of two requests at once one queues it and the other gets
    AlreadyApplying. The task is sent after commit; a send the broker refuses leaves the run
    queued for the sweep (enqueue_waiting_runs). RunError when it cannot be applied."""
    if skip_errors:
        run.skip_errors = True
    check_can_apply(run)
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
    from imports import tasks

    tasks.enqueue_apply(run)
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
    with run.file.open("rb") as stored:
        return apply_run_file(run, stored, user=run.applied_by, progress=progress)


def apply_run(run, fileobj=None, user=None, progress=None):
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
    if fileobj is None:
        with run.file.open("rb") as stored:
            return apply_run_file(run, stored, user=user, progress=progress)
    return apply_run_file(run, fileobj, user=user, progress=progress)


def apply_run_file(run, fileobj, user=None, progress=None):
    work = None
    try:
        with transaction.atomic(), change_source(Source.IMPORT, reference=run.pk):
            work = _apply_prepared(run, user, progress)
            if work is None:
                work = Pass(run, fileobj, write=True, user=user, progress=progress).execute()
            if not work.stamps_checked and work.fingerprint.hexdigest() != run.plan_fingerprint:
                raise StalePlan
            if work.aborted:
                transaction.set_rollback(True)
    except reading.FileError as exc:
        return _finish(run, ImportRun.Status.FAILED, message=str(exc))
    except StalePlan:
        return _finish(
            run,
            ImportRun.Status.REFUSED,
            message="Refused: records this file changes were changed, created or deleted since "
            "the plan was made. Nothing was written; plan the file again.",
        )
    if work.aborted:
        return _finish(
            run,
            ImportRun.Status.FAILED,
            work=work,
            message=f"{work.counts[ERROR]} row(s) failed while applying; nothing was written.",
        )
    run.counts = dict(work.counts)
    run.applied_at = timezone.now()
    if work.bulk_written and _match_spec(work.model) is not None:
        from imports import tasks

        tasks.enqueue_match_index(run)
    return _finish(run, ImportRun.Status.APPLIED, work=work)


def _apply_prepared(run, user, progress):
    """The apply from the plan's kept verdict (Pass.apply_prepared), or None when there is
    none or it cannot be used: a referenced record changed, or the database refused a row
    (a record created meanwhile holds a unique value); then the file is read again, so that
    each row is validated and named. StalePlan goes up to the caller."""
    if not run.prepared:
        return None
    work = Pass(run, None, write=True, user=user, progress=progress)
    try:
        with run.prepared.open("rb") as stream, transaction.atomic(), collecting_less():
            return work.apply_prepared(stream)
    except (_Revalidate, IntegrityError, FileNotFoundError):
        work.failed_file.close()
        return None
    finally:
        run.prepared.delete(save=False)


def _finish(run, status, work=None, message=""):
    run.status = status
    run.message = message
    run.progress = 100
    run.finished_at = timezone.now()
    if work is not None:
        if status != ImportRun.Status.APPLIED:
            run.counts = dict(work.counts)
        run.errors = work.errors
        run.errors_truncated = work.error_total > len(work.errors)
        if work.error_total:
            work.failed_file.seek(0)
            content = io.BytesIO(reading.BOM + work.failed_file.read().encode("utf-8"))
            run.failed_rows.save(f"failed-{run.pk}.csv", File(content), save=False)
        else:
            run.failed_rows = ""
        work.failed_file.close()
    elif status == ImportRun.Status.FAILED:
        run.errors = []
    run.save()
    return run


def import_file(kind, path_or_file, *, apply=False, skip_errors=False, user=None, progress=None):
    """Plan (and apply) a file without storing it: the command's way. Returns the run."""
    run = ImportRun.objects.create(
        kind=kind,
        mode=ImportRun.Mode.APPLY if apply else ImportRun.Mode.PLAN,
        skip_errors=skip_errors,
        created_by=user,
        status=ImportRun.Status.RUNNING,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        file_name=str(getattr(path_or_file, "name", path_or_file)).rsplit("/", 1)[-1][:255],
    )
    opened = path_or_file if hasattr(path_or_file, "read") else open(path_or_file, "rb")  # noqa: SIM115
    try:
        run.file_size = reading.file_size(opened)
        plan_run(run, opened, progress=progress)
        planned = run.status == ImportRun.Status.PLANNED
        if apply and planned and (not run.plan_counts.get("error") or skip_errors):
            apply_run(run, opened, user=user, progress=progress)
    finally:
        if opened is not path_or_file:
            opened.close()
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
    from imports import tasks

    queued = ImportRun.objects.filter(status=ImportRun.Status.QUEUED)
    taken = take_unsent(queued, "plan_fingerprint", now=now or timezone.now(), limit=SWEEP_BATCH)
    for row in taken:
        tasks.send(
            tasks.apply_import if row["plan_fingerprint"] else tasks.process_import, row["pk"]
        )
    sent = len(taken)
    if sent:
        logger.warning("import sweep: %s queued run(s) sent again", sent)
    return sent


def discard_old_prepared(now=None):
    """Delete what the plans of bulk kinds kept for their apply (a hundred bytes or so a row)
    once they are HUB_IMPORT_PREPARED_HOURS old and not applied: a plan nobody applies does not
    hold disk space for ever. Such a run can still be applied; its apply reads and validates
    the file again. Returns how many were deleted."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(hours=settings.HUB_IMPORT_PREPARED_HOURS)
    old = (
        ImportRun.objects.filter(status=ImportRun.Status.PLANNED, finished_at__lt=cutoff)
        .exclude(prepared="")
        .only("pk", "prepared")
    )
    count = 0
    for run in old:
        run.prepared.delete(save=False)
        ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.PLANNED).update(prepared="")
        count += 1
    return count


# --- revert ----------------------------------------------------------------------------------


def revert_run(run, user=None):
    """Undo an applied run: records it created are deleted (cross-references withdrawn
    through the registry), records it changed get their values from before the run back.
    Refused, with nothing changed, when a record was changed again after the run.

    The revert claims the run first (applied -> reverted, a conditional UPDATE in its
    transaction): of two reverts at once one runs, and the other, once the first commits,
    finds the run reverted and gets RunError; if the first fails and rolls back, the run is
    applied again for the second."""
    if run.status != ImportRun.Status.APPLIED:
        raise RunError(
            f"Import #{run.pk} is {run.get_status_display().lower()}; only an applied "
            "import can be reverted."
        )
    kind = KINDS[run.kind]
    model = kind.model
    history = model.history.model
    reference = str(run.pk)
    with transaction.atomic(), change_source(Source.IMPORT, reference=f"revert-{run.pk}"):
        now = timezone.now()
        claimed = ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.APPLIED).update(
            status=ImportRun.Status.REVERTED, reverted_at=now, reverted_by=user
        )
        if not claimed:
            raise RunError(
                f"Import #{run.pk} was reverted by another request at the same time; only an "
                "applied import can be reverted."
            )
        # The run's first history row of each record says what it did to it: "+" created
        # it, "~" changed it (the row before holds the values to restore).
        first = {}
        for row in history.objects.filter(
            change_source=Source.IMPORT, change_reference=reference
        ).order_by("-history_id"):
            first[row.id] = row
        ids = list(first)
        # Later runs that were reverted themselves changed nothing in the end.
        undone = [
            ref
            for pk in ImportRun.objects.filter(
                kind=run.kind, status=ImportRun.Status.REVERTED
            ).values_list("pk", flat=True)
            for ref in (str(pk), f"revert-{pk}")
        ]
        conflicts = []
        for start in range(0, len(ids), 1000):
            later = (
                history.objects.filter(id__in=ids[start : start + 1000])
                .exclude(change_reference=reference)
                .exclude(change_source=Source.IMPORT, change_reference__in=undone)
                .values_list("id", "history_id", "history_date", "change_source")
            )
            for record_id, history_id, when, source in later:
                if history_id > first[record_id].history_id:
                    conflicts.append(f"#{record_id} ({source}, {when:%Y-%m-%d %H:%M})")
        if conflicts:
            shown = ", ".join(conflicts[:5]) + (
                f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
            )
            raise RunError(
                f"Cannot revert import #{run.pk}: {len(conflicts)} record(s) were changed after "
                f"it: {shown}. Revert those changes first."
            )
        # Newest first, so a location is deleted before the parent the same run created.
        created = [row.id for row in first.values() if row.history_type == "+"]
        created.sort(reverse=True)
        changed = [row for row in first.values() if row.history_type == "~"]
        try:
            for row in changed:
                _restore(model, kind, row, user)
            if kind.write == "xref":
                for ref in CrossReference.objects.filter(pk__in=created):
                    retire_reference(ref, user=user)
            elif any(ref.model is model for ref in kind.refs):
                # Records of the run may point at each other (a location's parent): one at a
                # time, newest first, so children go before their parents.
                for record in model.objects.filter(pk__in=created).order_by("-pk"):
                    record.delete()
            else:
                for start in range(0, len(created), 1000):
                    model.objects.filter(pk__in=created[start : start + 1000]).delete()
        except (ProtectedError, RestrictedError) as exc:
            objects = list(getattr(exc, "protected_objects", None) or exc.restricted_objects)[:3]
            raise RunError(
                f"Cannot revert import #{run.pk}: records it created are now used by "
                f"{', '.join(str(o) for o in objects)}."
            ) from None
        run.status = ImportRun.Status.REVERTED
        run.reverted_at = now
        run.reverted_by = user
    return run


def _restore(model, kind, row, user):
    previous = row.prev_record
    if previous is None:
        return
    current = model.objects.get(pk=row.id)
    if kind.write == "xref":
        field_name, _ = TARGETS[XrefKind(previous.kind)]
        changes = {
            name: getattr(previous, name)
            for name in ("scope", "code", "valid_from", "valid_to", "status", "is_preferred")
            if getattr(current, name) != getattr(previous, name)
        }
        target_id = getattr(previous, f"{field_name}_id")
        if current.target_id != target_id:
            target_model = TARGETS[XrefKind(previous.kind)][1]
            changes["target"] = target_model.objects.get(pk=target_id)
        if changes:
            update_reference(current, user=user, **changes)
        return
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key or model_field.name in ("created_at", "updated_at"):
            continue
        setattr(current, model_field.attname, getattr(previous, model_field.attname))
    current._history_user = user
    current.save()


# --- export ----------------------------------------------------------------------------------


def export_kind(kind_name, textfile):
    """Write every record of a kind as CSV; returns how many."""
    kind = KINDS[kind_name]
    writer = reading.CsvWriter(textfile, kind.headers)
    count = 0
    for record in _export_queryset(kind).iterator(chunk_size=2000):
        writer.write(kind.row_of(record))
        count += 1
    return count


def export_chunks(kind_name, rows_per_chunk=2000):
    """export_kind() as a stream of text chunks (for a streaming HTTP response)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")  # a byte order mark, so spreadsheets read the file as UTF-8
    kind = KINDS[kind_name]
    writer = reading.CsvWriter(buffer, kind.headers)
    for count, record in enumerate(_export_queryset(kind).iterator(chunk_size=2000), start=1):
        writer.write(kind.row_of(record))
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _export_queryset(kind):
    queryset = kind.model.objects.all()
    if kind.select_related:
        queryset = queryset.select_related(*kind.select_related)
    if kind.order_by:
        queryset = queryset.order_by(*kind.order_by)
    return queryset


def template_csv(kind_name):
    """The header line of a kind, for a steward to fill in."""
    out = io.StringIO()
    reading.CsvWriter(out, KINDS[kind_name].headers)
    return out.getvalue()
