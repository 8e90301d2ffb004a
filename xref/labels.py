"""Labelled match pairs: what people decided about match candidates, kept so the matcher's
weights can be estimated from them (`xref.matching.calibration`).

A pair is a query (what was asked: free text `q` and the identifiers the matcher takes for
the kind) and a record (its public id), with whether the record is what the query meant.
Pairs come from stewards' fixes in quarantine (the record chosen is a match, the other
candidates shown are not), from reconciliation clients and integrations through the API,
and from CSV files.

    record(kind, query, record, is_match, source)    one decision
    record_choice(kind, query, chosen, shown, source) a pick among candidates
    record_many(decisions)                            several, all or none
    pairs(kind)                                       [(query, record, is_match)]
    export_csv(kind) / import_csv(text, user)         the pairs as CSV

A query is stored normalised (values stripped, empty ones and fields the kind does not take
dropped) and keyed by the SHA-256 of its canonical JSON, so one decision per (kind, query,
record) is kept: a later decision on the same pair replaces the earlier one.
"""

import csv
import dataclasses
import datetime
import hashlib
import io
import json
import re

from django.db import transaction
from django.utils import timezone

from mdm.models import Item, Location, Supplier
from xref.models import MatchLabel

KINDS = ("item", "supplier", "location")
MODELS = {"item": Item, "supplier": Supplier, "location": Location}
# The fields of a query, per kind: the text, then the identifiers the matcher takes.
QUERY_FIELDS = {
    "item": ("q", "mpn", "gtin", "manufacturer"),
    "supplier": ("q", "duns", "lei", "vat"),
    "location": ("q", "gln", "address", "postal_code"),
}
ALL_QUERY_FIELDS = tuple(dict.fromkeys(name for names in QUERY_FIELDS.values() for name in names))
COLUMNS = ("kind", "record", "is_match", "source", "decided_at", "decided_by", *ALL_QUERY_FIELDS)
REQUIRED_COLUMNS = ("kind", "record", "is_match")
SOURCES = tuple(MatchLabel.Source.values)
# A query value longer than this is no name or identifier a matcher is asked for.
MAX_VALUE_LENGTH = 1000
RECORD_LENGTH = MatchLabel._meta.get_field("record").max_length
TRUE_WORDS = ("yes", "true", "1")
FALSE_WORDS = ("no", "false", "0")
# A cell a spreadsheet would run as a formula; the export prefixes such cells with an
# apostrophe, and the import takes exactly one apostrophe off again.
FORMULA_START = re.compile(r"^'*[=+\-@\t\r]")
NEUTRALISED = re.compile(r"^'+[=+\-@\t\r]")
# Public ids looked up per query when an import checks its records exist.
LOOKUP_CHUNK = 500


class LabelError(ValueError):
    """A decision that cannot be kept; `field` names what is wrong (kind, query, record,
    is_match, source), the message says what would be accepted."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


class LabelsRefused(ValueError):
    """Some of several decisions cannot be kept, so none was: `errors` is {position:
    {field: message}} in the order given."""

    def __init__(self, errors):
        self.errors = errors
        first = next(iter(errors.items()))
        super().__init__(f"Decision {first[0]}: {' '.join(first[1].values())}")


@dataclasses.dataclass
class ImportReport:
    """What an import did: how many pairs were added, replaced (an earlier decision on the
    same query and record) and left as they were, or, when any row is bad, nothing and
    every bad row as (line, reason)."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    errors: list = dataclasses.field(default_factory=list)

    @property
    def ok(self):
        return not self.errors

    def __str__(self):
        if self.errors:
            return f"{len(self.errors)} bad row(s); nothing was imported."
        return f"{self.added} added, {self.replaced} replaced, {self.unchanged} unchanged."


# --- one decision -------------------------------------------------------------------------


def record(kind, query, record, is_match, source, user=None, at=None):
    """Keep one decision: `record` (a public id) is, or is not, what `query` meant. Replaces
    an earlier decision on the same kind, query and record. Returns (label, created).
    LabelError for an unknown kind or source, an empty query, or a record that does not
    exist."""
    kind = check_kind(kind)
    query = normalised_query(kind, query)
    public_id = existing_record(kind, record)
    if not isinstance(is_match, bool):
        raise LabelError("is_match must be true or false.", "is_match")
    return MatchLabel.objects.update_or_create(
        kind=kind,
        query_key=query_key(query),
        record=public_id,
        defaults={
            "query": query,
            "is_match": is_match,
            "source": check_source(source),
            "decided_by": _person(user),
            "decided_at": at or timezone.now(),
        },
    )


def record_choice(kind, query, chosen, shown, source, user=None):
    """A pick among candidates: `chosen` is what `query` meant, every other record in `shown`
    (public ids, as they were offered) is not. A shown record deleted since is skipped.
    Returns the labels, the chosen one first."""
    kind = check_kind(kind)
    query = normalised_query(kind, query)
    chosen = existing_record(kind, chosen)
    others = [_public_id(other) for other in shown or ()]
    others = [other for other in dict.fromkeys(others) if other and other != chosen]
    others = set(
        MODELS[kind].objects.filter(public_id__in=others).values_list("public_id", flat=True)
    ).intersection(others)
    now = timezone.now()
    with transaction.atomic():
        labels = [record(kind, query, chosen, True, source, user=user, at=now)[0]]
        for other in sorted(others):
            labels.append(record(kind, query, other, False, source, user=user, at=now)[0])
    return labels


def record_many(decisions, user=None):
    """Keep several decisions ({"kind", "query", "record", "is_match", "source"} each), all or
    none: LabelsRefused naming every one that cannot be kept. Returns [(label, created)] in
    the order given."""
    results, errors = [], {}
    now = timezone.now()
    with transaction.atomic():
        for position, decision in enumerate(decisions):
            try:
                results.append(
                    record(
                        decision.get("kind"),
                        decision.get("query"),
                        decision.get("record"),
                        decision.get("is_match"),
                        decision.get("source") or MatchLabel.Source.API,
                        user=user,
                        at=now,
                    )
                )
            except LabelError as exc:
                errors[position] = {exc.field or "non_field_errors": str(exc)}
        if errors:
            raise LabelsRefused(errors)
    return results


def pairs(kind):
    """The labelled pairs of a kind for estimating the weights: [(query, record public id,
    is_match)], in a stable order."""
    kind = check_kind(kind)
    rows = (
        MatchLabel.objects.filter(kind=kind)
        .order_by("query_key", "record")
        .values_list("query", "record", "is_match")
    )
    return [(query, public_id, is_match) for query, public_id, is_match in rows.iterator(2000)]


# --- the parts of a decision --------------------------------------------------------------


def check_kind(kind):
    """The kind, lower case; LabelError when it is not item, supplier or location."""
    value = str(kind or "").strip().lower()
    if value not in KINDS:
        raise LabelError(f"Unknown kind {kind!r}; choose one of {', '.join(KINDS)}.", "kind")
    return value


def check_source(source):
    if source not in SOURCES:
        raise LabelError(
            f"Unknown source {source!r}; choose one of {', '.join(SOURCES)}.", "source"
        )
    return source


def normalised_query(kind, query):
    """The query as stored: the kind's fields only (QUERY_FIELDS), values stripped, empty
    ones dropped. LabelError when nothing is left or a value is not text."""
    if not isinstance(query, dict):
        raise LabelError(
            'The query must be an object of fields, e.g. {"q": "Acme Fasteners"}.', "query"
        )
    fields = QUERY_FIELDS[kind]
    found = {}
    for name in fields:
        value = query.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise LabelError(f"The query's {name} must be text.", "query")
        value = str(value).strip()
        if len(value) > MAX_VALUE_LENGTH:
            raise LabelError(
                f"The query's {name} is {len(value)} characters long; at most "
                f"{MAX_VALUE_LENGTH} are kept.",
                "query",
            )
        if value:
            found[name] = value
    if not found:
        raise LabelError(
            f"The query is empty: give the text (q) or an identifier ({', '.join(fields[1:])}).",
            "query",
        )
    return found


def query_key(query):
    """The SHA-256 (hex) of the normalised query's canonical JSON."""
    canonical = json.dumps(query, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def query_text(query):
    """The query in a few words: its text, then its identifiers ("Hex bolt · mpn BT-4017")."""
    parts = [query.get("q", "")]
    parts += [f"{name} {value}" for name, value in sorted(query.items()) if name != "q"]
    return " · ".join(part for part in parts if part)


def existing_record(kind, public_id):
    """The public id, upper case, of a record of `kind` that exists; LabelError if none."""
    value = _public_id(public_id)
    if not value:
        raise LabelError(f"Give the public id of the {kind}, e.g. {_example(kind)}.", "record")
    if not MODELS[kind].objects.filter(public_id=value).exists():
        raise LabelError(f"No {kind} with public id {value}.", "record")
    return value


def _public_id(value):
    return str(value or "").strip().upper()


def _example(kind):
    return {"item": "ITM-000123", "supplier": "SUP-000045", "location": "LOC-000007"}[kind]


def _person(user):
    return user if user is not None and user.is_authenticated else None


# --- CSV ----------------------------------------------------------------------------------


def export_csv(kind=None, labels=None):
    """The labelled pairs as CSV text (COLUMNS; no byte order mark): those of `kind`, or of
    the `labels` queryset, or all. Cells a spreadsheet would run as formulas are prefixed
    with an apostrophe, which import_csv() takes off again."""
    if labels is None:
        labels = MatchLabel.objects.all()
        if kind:
            labels = labels.filter(kind=check_kind(kind))
    labels = labels.select_related("decided_by").order_by("kind", "query_key", "record")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for label in labels.iterator(chunk_size=2000):
        row = {
            **label.query,
            "kind": label.kind,
            "record": label.record,
            "is_match": "yes" if label.is_match else "no",
            "source": label.source,
            "decided_at": label.decided_at.isoformat(),
            "decided_by": label.decided_by.get_username() if label.decided_by else "",
        }
        writer.writerow([_neutralise(str(row.get(name, ""))) for name in COLUMNS])
    return out.getvalue()


def import_csv(text, user=None):
    """Import labelled pairs from CSV text (COLUMNS; kind, record and is_match required; a
    comma or semicolon between cells, the header line decides). Every row is checked first;
    when any is bad nothing is written and the report lists each bad row with its line
    number and why. Otherwise each row adds its pair or replaces the decision stored for the
    same query and record; a row that says what is stored already (the same verdict and
    source, and the same time when it gives one) changes nothing, so importing an export
    again is a no-op. `decided_by` is informational: the pairs written are the importing
    user's; an empty source is "import", an empty decided_at now."""
    report = ImportReport()
    rows = _read_rows(text.removeprefix("\ufeff"), report)
    _check_records(rows, report)
    if report.errors:
        report.errors.sort()
        return report
    _write(rows, user, report)
    return report


@dataclasses.dataclass
class _Row:
    line: int
    kind: str
    query: dict
    record: str
    is_match: bool
    source: str
    decided_at: datetime.datetime | None

    @property
    def key(self):
        return (self.kind, query_key(self.query), self.record)


def _read_rows(text, report):
    """The rows of the file as _Row, or errors in `report`."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        report.errors.append((1, f"The header line cannot be read as CSV: {exc}."))
        return []
    if not header or not any(cell.strip() for cell in header):
        report.errors.append(
            (1, f"The file is empty; its first line names the columns: {','.join(COLUMNS)}.")
        )
        return []
    names = [cell.strip().lower() for cell in header]
    problem = _header_problem(names)
    if problem:
        report.errors.append((1, problem))
        return []
    rows, seen, line = [], {}, reader.line_num
    while True:
        start = line + 1
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            report.errors.append((start, f"The row cannot be read as CSV: {exc}."))
            return rows
        if cells is None:
            return rows
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(names):
            report.errors.append(
                (start, f"The row has {len(cells)} cells; the header names {len(names)}.")
            )
            continue
        values = dict(zip(names, map(_read_cell, cells), strict=False))
        row, problems = _row(start, values)
        if row is not None:
            earlier = seen.setdefault(row.key, start)
            if earlier != start:
                problems.append(f"it decides the same query and record as line {earlier}")
        if problems:
            report.errors.append((start, _sentence(problems)))
        else:
            rows.append(row)


def _header_problem(names):
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        return (
            f"Unknown column(s) {', '.join(repr(name) for name in unknown)}; the columns are "
            f"{', '.join(COLUMNS)}."
        )
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        return f"Column(s) {', '.join(twice)} appear more than once."
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        return f"Missing column(s) {', '.join(missing)}; every row needs kind, record and is_match."
    return None


def _row(line, values):
    """A _Row from the cells of one line, or None and what is wrong with them."""
    problems = []
    row = {"line": line}
    try:
        row["kind"] = check_kind(values.get("kind"))
    except LabelError as exc:
        problems.append(str(exc))
    else:
        kind = row["kind"]
        strangers = [
            name for name in ALL_QUERY_FIELDS if values.get(name) and name not in QUERY_FIELDS[kind]
        ]
        if strangers:
            problems.append(
                f"{kind} queries take {', '.join(QUERY_FIELDS[kind])}, not {' or '.join(strangers)}"
            )
        try:
            row["query"] = normalised_query(kind, {name: values.get(name) for name in values})
        except LabelError as exc:
            problems.append(str(exc))
    row["record"] = _public_id(values.get("record"))
    if not row["record"]:
        problems.append("The record (a public id) is empty.")
    elif len(row["record"]) > RECORD_LENGTH:
        problems.append(f"The record {row['record'][:50]!r} is no public id.")
    verdict = (values.get("is_match") or "").lower()
    if verdict in TRUE_WORDS or verdict in FALSE_WORDS:
        row["is_match"] = verdict in TRUE_WORDS
    else:
        problems.append(
            "The is_match cell must be yes or no (or true/false, 1/0), not "
            f"{values.get('is_match')!r}."
        )
    try:
        row["source"] = check_source(values.get("source") or MatchLabel.Source.IMPORT)
    except LabelError as exc:
        problems.append(str(exc))
    try:
        row["decided_at"] = _when(values.get("decided_at"))
    except ValueError:
        problems.append(
            "The decided_at cell must be an ISO date and time such as "
            "2026-03-02T14:05:00+01:00, "
            f"not {values.get('decided_at')!r}."
        )
    return (None if problems else _Row(**row)), problems


def _when(text):
    if not text:
        return None
    value = datetime.datetime.fromisoformat(text)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _check_records(rows, report):
    """Errors in `report` for rows whose record does not exist: one query per kind and
    LOOKUP_CHUNK ids."""
    wanted = {}
    for row in rows:
        wanted.setdefault(row.kind, set()).add(row.record)
    found = {}
    for kind, ids in wanted.items():
        ids = sorted(ids)
        found[kind] = set()
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            found[kind].update(
                MODELS[kind].objects.filter(public_id__in=chunk).values_list("public_id", flat=True)
            )
    for row in rows:
        if row.record not in found[row.kind]:
            report.errors.append((row.line, f"No {row.kind} with public id {row.record}."))


def _write(rows, user, report):
    """Add or replace the pairs of checked rows, in one transaction."""
    user = _person(user)
    now = timezone.now()
    with transaction.atomic():
        stored = {}
        by_kind = {}
        for row in rows:
            by_kind.setdefault(row.kind, set()).add(row.key[1])
        for kind, keys in by_kind.items():
            keys = sorted(keys)
            for start in range(0, len(keys), LOOKUP_CHUNK):
                for label in MatchLabel.objects.filter(
                    kind=kind, query_key__in=keys[start : start + LOOKUP_CHUNK]
                ):
                    stored[(label.kind, label.query_key, label.record)] = label
        added, replaced = [], []
        for row in rows:
            label = stored.get(row.key)
            if label is None:
                added.append(
                    MatchLabel(
                        kind=row.kind,
                        query=row.query,
                        query_key=row.key[1],
                        record=row.record,
                        is_match=row.is_match,
                        source=row.source,
                        decided_by=user,
                        decided_at=row.decided_at or now,
                    )
                )
            elif (label.is_match, label.source) == (row.is_match, row.source) and (
                row.decided_at is None or row.decided_at == label.decided_at
            ):
                report.unchanged += 1
            else:
                label.is_match, label.source = row.is_match, row.source
                label.decided_at = row.decided_at or now
                label.decided_by = user
                replaced.append(label)
        MatchLabel.objects.bulk_create(added, batch_size=1000)
        MatchLabel.objects.bulk_update(
            replaced, ["is_match", "source", "decided_by", "decided_at"], batch_size=1000
        )
    report.added, report.replaced = len(added), len(replaced)


def _neutralise(cell):
    if cell and FORMULA_START.match(cell):
        return "'" + cell
    return cell


def _read_cell(cell):
    cell = cell.strip()
    if NEUTRALISED.match(cell):
        return cell[1:]
    return cell


def _sentence(problems):
    text = "; ".join(problem.rstrip(".") for problem in problems)
    return text[0].upper() + text[1:] + "."
