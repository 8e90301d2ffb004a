"""Judging the rows of a file, a chunk at a time: each row's cells parsed in its column's
format, the records it names and references looked up (one query per natural key and per
reference for the chunk), the row made a model instance through the model (`Model(**values)`,
or the stored record with the file's values set) and checked by the model's `full_clean()`.

For kinds written in bulk (items, suppliers, ...), the per-row queries of `full_clean()` are
done per chunk instead: foreign keys by the chunk's lookup (a row naming a missing record is
refused there), check constraints and unique values by one query per constraint
(imports.constraints). What a chunk cannot decide alone (a key or unique value an earlier
row of the file has) is decided in file order by the settling (imports.settling).
Kinds whose `clean()` looks at other rows are judged row by row (imports.row_by_row).

A read-only cell (merged_into) is compared with the stored record, never set: blank or as
stored passes, anything else fails the row. A row that would change a record merged into
another fails too (the API answers 409, the admin shows it read-only); a merged record's
row left as exported is unchanged. A row that names a merged record as its reference (a site
of a merged supplier, a revision of a merged item) fails, naming the record it was merged
into.
"""

from dataclasses import dataclass, field

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError

from imports import constraints, explain
from imports import rows as planned_rows
from imports.kinds import KINDS, CellError, Ref, format_value, record_key
from xref.models import TARGET_FIELDS

CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"


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
    stamp: str = "-"  # what the fingerprint holds of the row's stored record
    unique: list = field(default_factory=list)  # [check index, digest] the file must not repeat
    # What the plan shows of the row (imports.rows): [[column, value now, value in the file]]
    # of the fields it sets, and the id of the record it updates.
    diff: list = field(default_factory=list)
    record_pk: object = None

    def fail(self, column, message):
        self.errors.append((column, message))


def new_row(number, read, problem):
    """A row as the reader gives it, to be judged: failed already when its cells do not fit
    the header (`problem`)."""
    state = RowState(number, read)
    if problem:
        state.fail(None, problem)
    return state


def stamp(record):
    """What a plan holds of a record the file names, to tell whether it changed by the apply:
    its id and last update, or "-" for none."""
    return f"{record.pk}@{record.updated_at.isoformat()}" if record is not None else "-"


class Judge:
    """Judges the chunks of one reading of a file whose header is `headers`."""

    def __init__(self, kind_name, headers, *, describe=True):
        self.kind = KINDS[kind_name]
        self.model = self.kind.model
        self.describe = describe  # a plan tells each row's change (imports.rows)
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
        present = set(headers)
        given_specs = [
            spec
            for spec in self.kind.specs
            if any(h in present for h in (spec.columns if isinstance(spec, Ref) else (spec.name,)))
        ]
        # Read-only columns are compared with the stored record (check_read_only), never set:
        # their fields stay out of the row's values, as fields the file does not give.
        self.read_only = [s for s in given_specs if not isinstance(s, Ref) and s.read_only]
        self.given_specs = [s for s in given_specs if s not in self.read_only]
        self.given = {spec.field for spec in self.given_specs}
        # As a ModelForm does for fields it does not show, full_clean() leaves out the fields
        # the file does not give: their values are the stored ones or the model's defaults.
        self.not_given = {f.name for f in self.model._meta.concrete_fields} - self.given
        self.ref_fields = {ref.field for ref in self.kind.refs}
        self.refs_by_field = {ref.field: ref for ref in self.kind.refs}
        self.ref_cache = {ref.field: {} for ref in self.kind.refs}
        self.unique_checks = (
            constraints.unique_checks(self.model) if self.kind.write == "bulk" else []
        )
        self.check_constraints = constraints.check_constraints(self.model)
        # The fields a new record takes from its row (not its id, public id, time stamps).
        self.new_record_fields = [
            f
            for f in self.model._meta.concrete_fields
            if not f.primary_key
            and f.name != "public_id"
            and not getattr(f, "auto_now", False)
            and not getattr(f, "auto_now_add", False)
        ]
        self._missing = {}  # (ref field, key) -> why no record has it (explain)
        self._blanks = {}

    # -- a chunk of a bulk kind --

    def judge(self, rows, cells_of):
        """Everything a chunk of a bulk kind can decide on its own: each row parsed, its
        references and record looked up, built and validated. cells_of(read) gives a row's
        {header: cell}."""
        for state in rows:
            if not state.errors:
                self.parse(state, cells_of(state.read))
        self.resolve_refs(rows)
        self.find_existing(rows)
        for state in rows:
            state.stamp = stamp(state.existing)
            if state.errors:
                self.check_what_parsed(state)
                self.fail_unresolved(state)
            else:
                self.build(state)
                if state.unresolved:
                    self.check_fields_only(state)
        todo = [s for s in rows if not s.errors and s.action in (CREATE, UPDATE)]
        for state in todo:
            self.validate(state, exclude=state.resolved_fields | self.not_given)
        self._check_constraints([s for s in todo if not s.errors])
        self.check_unique([s for s in todo if not s.errors])
        self.name_old_targets(rows)

    # -- reading cells --

    def parse(self, state, cells):
        state.cells = cells
        for spec in self.given_specs:
            if isinstance(spec, Ref):
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
                state.values[spec.field] = self.blank(spec.field)
                continue
            try:
                state.values[spec.field] = spec.parse(cell)
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

    def blank(self, name):
        """What a blank cell means for a field: its default, or empty, or null."""
        if name in self._blanks:
            return self._blanks[name]
        try:
            model_field = self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return ""  # a cell that is not a field (a reference's target)
        if model_field.has_default():
            value = model_field.get_default()
            if not callable(model_field.default):
                self._blanks[name] = value
            return value
        value = self._blanks[name] = None if model_field.null else ""
        return value

    # -- lookups per chunk --

    def resolve_refs(self, rows):
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
                cache.update(records_by_key(ref.model, ref.lookups, wanted))

    def find_existing(self, rows):
        """Each keyed row's stored record (`existing`, None for none): one query."""
        keys = {s.key for s in rows if s.key}
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
        queryset = self.model.objects.filter(**{in_lookup(self.model, lookup): values})
        if self.kind.select_related:
            queryset = queryset.select_related(*self.kind.select_related)
        if len(self.kind.key) == 1 and not isinstance(spec, Ref):
            # The key is the field itself: compare as stored, no need to format the record.
            found = {(getattr(r, spec.field),): r for r in queryset}
        else:
            found = {self.kind.key_of_record(record): record for record in queryset}
        for state in rows:
            if state.key:
                state.existing = found.get(state.key)

    # -- one row --

    def resolve(self, state):
        """{ref field: record or None} of the row's references; a reference naming no record
        fails the row."""
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
                state.fail(ref.columns[0], self.no_record(ref, parts))
                state.unresolved.add(ref.field)
                continue
            if getattr(target, "merged_into", ""):  # history: its rows belong to the survivor
                state.fail(ref.columns[0], explain.merged_target_message(ref, parts, target))
                state.unresolved.add(ref.field)
                continue
            resolved[ref.field] = target
        return resolved

    def build(self, state):
        """The row as a model instance: a new one made by the model, or the stored record
        with the file's values set; which fields it changes, and so its action."""
        resolved = self.resolve(state)
        self.check_read_only(state)
        existing = state.existing
        if existing is None:
            state.instance = self.model(**state.values, **resolved)
            state.changed = [*state.values, *resolved]
            state.action = CREATE
        else:
            instance = state.instance = existing
            for name, value in state.values.items():
                attname = self.model._meta.get_field(name).attname
                old = getattr(instance, attname)
                if not same(old, value):
                    state.changed.append(name)
                    if self.describe:
                        header = self.header_of_field[name]
                        state.diff.append([header, format_value(old), format_value(value)])
                    setattr(instance, attname, value)
            for name, target in resolved.items():
                old_pk = getattr(instance, self.model._meta.get_field(name).attname)
                if old_pk != (target.pk if target is not None else None):
                    state.changed.append(name)
                    if self.describe:  # the old record's key is looked up per chunk
                        ref = self.refs_by_field[name]
                        new = planned_rows.target_text(ref, target)
                        label = planned_rows.ref_label(ref)
                        state.diff.append([label, planned_rows.old_target(old_pk), new])
                    setattr(instance, name, target)
            state.action = UPDATE if state.changed else UNCHANGED
            if self.describe:
                state.record_pk = existing.pk
            if state.action == UPDATE and getattr(existing, "merged_into", ""):
                # Its values are the merge's to restore on an unmerge; the file's changes
                # belong to the record it was merged into.
                key = ", ".join(part for part in state.key if part)
                state.fail(None, explain.merged_record_message(existing, key))
        state.resolved_fields = {n for n, t in resolved.items() if t is not None}

    def check_read_only(self, state):
        """Each read-only cell of the row: blank (not given) or what the stored record holds,
        in the column's format; anything else fails the row, as does any value for a new
        record."""
        for column in self.read_only:
            cell = state.cells.get(column.name, "")
            if cell == "":
                continue
            existing = state.existing
            stored = format_value(getattr(existing, column.field)) if existing else ""
            try:
                given = format_value(column.parse(cell))
            except CellError as exc:
                state.fail(column.name, str(exc))
                continue
            if given != stored:
                message = explain.read_only_message(column.name, stored, new=existing is None)
                state.fail(column.name, message)

    def validate(self, state, exclude):
        """The model's full_clean(): every field's checks and clean(). Unique values and
        constraints are judged per chunk (bulk kinds) or by the database (row by row)."""
        try:
            state.instance.full_clean(
                exclude=exclude, validate_unique=False, validate_constraints=False
            )
        except ValidationError as exc:
            self.fail_validation(state, exc)

    # -- what a plan keeps for its apply --

    def values_to_write(self, state):
        """What the apply writes of a valid row, as {attname: value}: a new record's fields
        (all but its ids and time stamps, which the writing sets), an update's changed
        fields; None for a row that writes nothing."""
        if state.errors or state.action not in (CREATE, UPDATE):
            return None
        if state.action == CREATE:
            names = [f.attname for f in self.new_record_fields]
        else:
            names = [self.model._meta.get_field(name).attname for name in state.changed]
        return {name: getattr(state.instance, name) for name in names}

    def restore(self, state, values):
        """The row's instance again from what the plan kept (values_to_write, read back from
        JSON through each field's to_python): a new record, or the stored record found now
        with the planned changes set."""
        meta = self.model._meta
        parsed = {name: meta.get_field(name).to_python(value) for name, value in values.items()}
        if state.action == CREATE:
            state.instance = self.model(**parsed)
        else:
            state.instance = state.existing
            for name, value in parsed.items():
                setattr(state.instance, name, value)
            state.changed = list(parsed)

    def fail_unresolved(self, state):
        """A row that failed before its record was built (a cell that does not parse, say):
        its references that name no record are told too, with its other errors."""
        for ref in self.kind.refs:
            parts = state.ref_keys.get(ref.field)
            if parts and self.ref_cache[ref.field].get(parts) is None:
                state.fail(ref.columns[0], self.no_record(ref, parts))

    def no_record(self, ref, parts):
        key = (ref.field, parts)
        if key not in self._missing:
            if len(self._missing) > 10_000:
                self._missing.clear()
            self._missing[key] = explain.no_record_message(ref, parts)
        return self._missing[key]

    def check_what_parsed(self, state):
        """A row with a cell that does not parse (or a key the file repeats): the field checks
        (choices, lengths, digits) of the cells that did, so that every error of the row is
        told at once."""
        if state.cells is None or self.kind.write == "xref":
            return
        if state.key:  # its record was looked up
            self.check_read_only(state)
        failed = {
            self.specs_by_header[c].field for c, _ in state.errors if c in self.specs_by_header
        }
        instance = self.model(**state.values)
        try:
            instance.clean_fields(exclude=self.ref_fields | self.not_given | failed)
        except ValidationError as exc:
            self.fail_validation(state, exc)

    def check_fields_only(self, state):
        """The field checks of a row whose reference names no record, so the row's other
        errors are told with it. Its clean(), constraints and uniqueness involve the record
        referenced, and are judged once the reference is fixed."""
        if state.action not in (CREATE, UPDATE):
            return
        try:
            state.instance.clean_fields(exclude=self.ref_fields | self.not_given)
        except ValidationError as exc:
            self.fail_validation(state, exc)

    def fail_validation(self, state, exc):
        if hasattr(exc, "error_dict"):
            for name, errors in exc.error_dict.items():
                column = None if name == NON_FIELD_ERRORS else self.header_of_field.get(name, name)
                for error in errors:
                    if error.code == "invalid_choice" and error.params:
                        model_field = self.model._meta.get_field(name)
                        message = explain.choice_message(model_field, error.params["value"])
                        state.fail(column, message)
                        continue
                    for message in error.messages:
                        state.fail(column, message)
        else:
            for message in exc.messages:
                state.fail(None, message)

    def name_old_targets(self, rows):
        """The keys of the records an update's references pointed at, in one query per
        reference and chunk (rows.name_old_targets)."""
        if self.describe and self.kind.write != "xref":
            planned_rows.name_old_targets(rows, self.kind.refs)

    # -- constraints per chunk --

    def _check_constraints(self, rows):
        instances = [state.instance for state in rows]
        for constraint in self.check_constraints:
            verdicts = constraints.evaluate(self.model, constraint.condition, instances)
            for state, holds in zip(rows, verdicts, strict=True):
                if holds is False:  # unknown (NULL) passes, as in the database
                    state.fail(None, str(constraint.get_violation_error_message()))

    def check_unique(self, rows):
        key_fields = {
            self.specs_by_header[h].field
            for h in self.kind.key
            if not isinstance(self.specs_by_header[h], Ref)
        }
        written = {spec.field for spec in self.kind.specs}
        meta = self.model._meta
        for index, (fields, condition, _) in enumerate(self.unique_checks):
            if not set(fields) & written:
                continue
            if condition is None and set(fields) == key_fields:
                continue  # the natural key itself: the chunk's lookup found any holder
            attnames = [meta.get_field(name).attname for name in fields]
            subject = []
            for state in rows:
                values = tuple(getattr(state.instance, a) for a in attnames)
                if not any(v is None for v in values):
                    subject.append((state, values))
            if condition is not None and subject:
                held = constraints.evaluate(self.model, condition, [s.instance for s, _ in subject])
                subject = [pair for pair, holds in zip(subject, held, strict=True) if holds]
            if not subject:
                continue
            first_values = {values[0] for _, values in subject}
            stored = self.model.objects.filter(**{in_lookup(self.model, attnames[0]): first_values})
            if condition is not None:
                stored = stored.filter(condition)
            holders = {tuple(values): pk for pk, *values in stored.values_list("pk", *attnames)}
            for state, values in subject:
                holder = holders.get(values)
                if holder is not None and holder != state.instance.pk:
                    self.fail_unique(state, index, in_file=False)
                else:  # whether an earlier row of the file has them: the settling's
                    state.unique.append([index, constraints.digest(values)])

    def fail_unique(self, state, index, in_file):
        fields, _, constraint = self.unique_checks[index]
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


def same(stored, value):
    if stored is None or value is None:
        return stored is value
    return stored == value


def records_by_key(model, lookups, keys):
    """{key tuple: record} for the records of `model` whose `lookups` have these values
    (cell texts); one query."""
    first = {key[0] for key in keys}
    queryset = model.objects.filter(**{in_lookup(model, lookups[0]): first})
    related = {"__".join(lookup.split("__")[:-1]) for lookup in lookups if "__" in lookup}
    if related:
        queryset = queryset.select_related(*related)
    found = {}
    for record in queryset:
        key = record_key(record, lookups)
        if key in keys:
            found[key] = record
    return found


def in_lookup(model, path):
    """The lookup for "`path` is one of these values": `__in_array` (core.db) where the path
    ends at a plain column, `__in` at a foreign key (whose lookups are its own)."""
    target = model
    for name in path.split("__"):
        model_field = target._meta.get_field(name)
        if model_field.is_relation and name != path.split("__")[-1]:
            target = model_field.related_model
    return f"{path}__in" if model_field.is_relation else f"{path}__in_array"
