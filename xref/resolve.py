"""Resolution and translation of other systems' codes: the hot path every sync flow calls.

`resolve(kind, system, code, scope=None, as_of=None)` answers one code, `resolve_many(keys,
as_of=None)` answers many in request order. Every answer is a plain dict with a "status":

- "resolved": the code means one record at `as_of`: {"id", "record", "reference"};
- "not_found": no reference knows the code: {"candidates"}, for items, suppliers and
  locations: first the near misses among the same system's codes of the kind (`xref.near_miss`:
  "100O22" for "100022", each with its reason), then fuzzy candidates from `xref.matching`
  for the code as text. Batch answers carry the near misses only (one query per kind and
  system for the whole batch), since a fuzzy search per unknown key would make a large batch
  as slow as that many single calls;
- "retired": the code is known but ended before `as_of`: {"id" (the record it meant),
  "valid_to", "reference", "successor" (the reference that took over, by the registry's rules
  in `xref.services.successor_of`, or None)};
- "not_yet_valid": the code is known but only from a later date: {"id", "valid_from",
  "reference"};
- "ambiguous": no scope was given and the code is valid in several scopes, meaning different
  records: {"matches": [{"scope", "id", "reference"}]}.

Scopes: with a scope, a reference of that scope wins, then an unscoped one (a code valid
across all scopes). Without a scope, an unscoped reference wins; otherwise references of
every scope are considered, and several meaning different records are ambiguous (several
meaning the same record resolve to it).

A reference still pointing at a record merged into another (a merge moves them; only one
written to the merged record since does) answers with the live record the merge chain ends
at, naming the merged one in the record's `merged_from`.

The "unit" kind is resolved strictly through references: a Rec 20 code that no reference
maps is not_found, so each system's unit codes are stated, never guessed.

`translate(kind, from_system, code, to_system, ...)` and `translate_many(keys, ...)` resolve in
the first system, then give the target system's code for the record: its preferred reference
at `as_of`, else its only one. Several and none preferred is "no_preferred" (listing them),
none at all is "no_code_in_target"; different preferred codes in several target scopes with
no `to_scope` given is "ambiguous". Candidates that all give the same code are that code.

Queries do not grow with the number of keys: one statement reads the references of every key
together with their records' summaries (the keys go in as one JSON parameter, so 50,000 keys
stay one statement on PostgreSQL and SQLite alike), one more finds successors when a code is
retired, one more the target codes when translating. Source system ids are cached per
process. A single resolve is one query. Duplicate keys share one answer object.
"""

import functools
import json
import time
from collections import defaultdict
from datetime import date

from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from core.db import fetch_prepared, one_of
from mdm.models import (
    CodeList,
    CodeValue,
    Item,
    ItemRevision,
    Location,
    SourceSystem,
    Supplier,
    SupplierSite,
)
from mdm.models import Unit as UnitModel
from mdm.models.base import live_record
from xref import matching, near_miss
from xref.models import TARGETS, CrossReference, Kind
from xref.services import CODE_VALUE_SEPARATOR, REVISION_SEPARATOR

RESOLVED = "resolved"
NOT_FOUND = "not_found"
RETIRED = "retired"
NOT_YET_VALID = "not_yet_valid"
AMBIGUOUS = "ambiguous"
TRANSLATED = "translated"
NO_PREFERRED = "no_preferred"
NO_CODE_IN_TARGET = "no_code_in_target"

KINDS = frozenset(Kind.values)
MATCHABLE_KINDS = frozenset({Kind.ITEM, Kind.SUPPLIER, Kind.LOCATION})
CANDIDATE_LIMIT = 5
# The most keys a batch call answers.
MAX_KEYS = 50_000
# How many malformed keys an InvalidKeys error lists (all are counted).
LISTED_ERRORS = 20

CODE_MAX = CrossReference._meta.get_field("code").max_length
SCOPE_MAX = CrossReference._meta.get_field("scope").max_length

TABLE = CrossReference._meta.db_table
# A reference row as the resolver handles it: a plain tuple, cheap to build by the thousand.
ID, KIND, SYSTEM, CODE, SCOPE, TARGET, VALID_FROM, VALID_TO, STATUS, PREFERRED, VALID = range(11)


class InvalidKeys(ValueError):
    """Malformed keys: `errors` lists the first ones as {"index", "field", "message"},
    `count` says how many there are in all."""

    def __init__(self, errors, count, unknown_system=False):
        self.errors = errors
        self.count = count
        self.unknown_system = unknown_system
        first = errors[0]
        super().__init__(f"{count} malformed key(s); key {first['index']}: {first['message']}")


# --- public functions ---------------------------------------------------------------------


def resolve(kind, system, code, scope=None, as_of=None):
    """The record `code` of `kind` means in `system` (within `scope`) on `as_of` (default
    today). Raises InvalidKeys for an unknown kind or system or an empty code."""
    result = resolve_many([(kind, system, code, scope)], as_of)[0]
    if result["status"] == NOT_FOUND:
        found = candidates(kind, code, near=result["candidates"])
        result = {"status": NOT_FOUND, "candidates": found}
    return result


def resolve_many(keys, as_of=None, near_misses=True):
    """One answer per key, in the order given. A key is a (kind, system, code[, scope]) tuple
    or a dict with those names; raises InvalidKeys listing the malformed ones. Without
    `near_misses`, not_found answers carry no candidates (a screen that only shows what codes
    mean spares their queries)."""
    as_of = as_of or timezone.localdate()
    parsed, systems = _parse_keys(keys, ("kind", "system", "code", "scope"), ("system",))
    return _Resolver(as_of, systems).resolve(parsed, near_misses)


def translate(kind, from_system, code, to_system, scope=None, as_of=None, to_scope=None):
    """`code` of `from_system` as `to_system` knows the same record on `as_of`."""
    result = translate_many([(kind, from_system, code, to_system, scope, to_scope)], as_of)[0]
    if result["status"] == NOT_FOUND:
        result = {"status": NOT_FOUND, "candidates": candidates(kind, code)}
    return result


def translate_many(keys, as_of=None):
    """One answer per key in the order given. A key is a (kind, from_system, code, to_system[,
    scope[, to_scope]]) tuple or a dict with those names. An answer is the source code's
    resolution when it did not resolve, else "translated" {"code", "id", "reference"},
    "no_preferred", "no_code_in_target" or "ambiguous"."""
    as_of = as_of or timezone.localdate()
    fields = ("kind", "from_system", "code", "to_system", "scope", "to_scope")
    parsed, systems = _parse_keys(keys, fields, ("from_system", "to_system"))
    return _Resolver(as_of, systems).translate(parsed)


def candidates(kind, code, limit=CANDIDATE_LIMIT, system=None, scope="", as_of=None, near=None):
    """Candidates for an unknown code, at most `limit`: its near misses among `system`'s codes
    of the kind (given as `near`, or looked up when a system is named), then the matching
    service's fuzzy candidates for the code as text worth a look (matching.WORTH_A_LOOK),
    each with a "reason" and a "source" ("near_miss" or "match")."""
    if kind not in MATCHABLE_KINDS:
        return []
    if near is None and system:
        near = near_miss.candidates(kind, system, [(code, scope)], as_of)[(code, scope)]
    found = list(near or ())
    seen = {candidate["id"] for candidate in found}
    for candidate in matching.match(kind, code, limit=limit):
        worth = candidate.score >= matching.WORTH_A_LOOK
        if worth and candidate.id not in seen and len(found) < limit:
            found.append({**candidate.as_dict(), "source": "match", "reason": _why(candidate)})
    return found


# Evidence fields (xref.matching) in words.
FIELD_WORDS = {"mpn": "MPN", "gtin": "GTIN", "duns": "DUNS", "lei": "LEI", "vat": "VAT number"}


def _why(candidate):
    """'description 92% alike, 76% likely' from a match candidate's evidence and score."""
    agreed = sorted(candidate.evidence.items(), key=lambda item: -item[1])
    said = [
        f"{FIELD_WORDS.get(name, name.replace('_', ' '))} "
        + ("the same" if value >= 100 else f"{value:.0f}% alike")
        for name, value in agreed
    ]
    return ", ".join([*said, f"{candidate.score:.0f}% likely"])


# --- keys ---------------------------------------------------------------------------------


class _Systems:
    """Source system code -> id, kept per process: the table is tiny and almost never changes,
    and a query for it on every call would be half of a single resolve's round trips to the
    database. Reloaded after SYSTEMS_TTL seconds, when a key names a code it does not know,
    and (in this process) whenever a system is saved or deleted. Inside a transaction the
    table is read afresh and not kept: what the transaction sees may yet be rolled back."""

    def __init__(self):
        self.ids = {}
        self.loaded_at = None

    def get(self):
        """(code -> id, whether just read)"""
        if connection.in_atomic_block:
            return dict(SourceSystem.objects.values_list("code", "id")), True
        if self.loaded_at is None or time.monotonic() - self.loaded_at > SYSTEMS_TTL:
            return self.reload(), True
        return self.ids, False

    def reload(self):
        self.ids = dict(SourceSystem.objects.values_list("code", "id"))
        self.loaded_at = time.monotonic()
        return self.ids

    def forget(self, **kwargs):
        self.loaded_at = None


SYSTEMS_TTL = 60
_systems = _Systems()
post_save.connect(_systems.forget, sender=SourceSystem, dispatch_uid="xref.resolve.systems")
post_delete.connect(_systems.forget, sender=SourceSystem, dispatch_uid="xref.resolve.systems")


def _parse_keys(keys, fields, system_fields):
    """(parsed keys, system code -> id); a system unknown to the cache is looked up again."""
    systems, fresh = _systems.get()
    try:
        return _parse(keys, fields, system_fields, systems), systems
    except InvalidKeys as exc:
        if fresh or not exc.unknown_system:
            raise
    systems = _systems.reload()
    return _parse(keys, fields, system_fields, systems), systems


def _parse(keys, fields, system_fields, systems):
    """Keys as tuples of `fields`, stripped, scope "" when absent; system codes checked.
    Plain Python, not a serializer: this runs for every one of up to 50,000 keys."""
    parsed = []
    errors = []
    count = 0
    unknown_system = False
    width = len(fields)
    code_at = fields.index("code")
    for index, key in enumerate(keys):
        if isinstance(key, dict):
            values = [key.get(name) for name in fields]
        elif isinstance(key, list | tuple) and code_at < len(key) <= width:
            values = [*key, *([None] * (width - len(key)))]
        else:
            count += 1
            if len(errors) < LISTED_ERRORS:
                message = f"Give an object with {', '.join(fields)}."
                errors.append({"index": index, "field": None, "message": message})
            continue
        problem = None
        for position, name in enumerate(fields):
            value = values[position]
            if value is None or value == "":
                if name in ("scope", "to_scope"):
                    values[position] = ""
                    continue
                problem = (name, f"Give the {name.replace('_', ' ')}.")
                break
            if not isinstance(value, str):
                problem = (name, f"Give the {name.replace('_', ' ')} as text.")
                break
            value = values[position] = value.strip()
            if name == "kind" and value not in KINDS:
                problem = (name, f"Unknown kind {value!r}; choose one of {', '.join(Kind.values)}.")
            elif name in system_fields and value not in systems:
                unknown_system = True
                known = ", ".join(sorted(systems)) or "none yet"
                problem = (name, f"No source system {value!r} (known: {known}).")
            elif name == "code" and not 0 < len(value) <= CODE_MAX:
                problem = (name, f"Give a code of 1 to {CODE_MAX} characters.")
            elif name in ("scope", "to_scope") and len(value) > SCOPE_MAX:
                problem = (name, f"A scope has at most {SCOPE_MAX} characters.")
            if problem:
                break
        if problem:
            count += 1
            if len(errors) < LISTED_ERRORS:
                errors.append({"index": index, "field": problem[0], "message": problem[1]})
            continue
        parsed.append(tuple(values))
    if count:
        raise InvalidKeys(errors, count, unknown_system)
    return parsed


# --- the resolver -------------------------------------------------------------------------


def _scope_rank(scope):
    """Sort key: the asked-for scope first (unscoped when none was asked), then by name."""
    return lambda row: (row[SCOPE] != scope, row[SCOPE])


class _Resolver:
    """Answers one call's keys with a fixed number of queries."""

    def __init__(self, as_of, systems):
        self.as_of = as_of
        self.system_ids = systems
        self.system_codes = {pk: code for code, pk in systems.items()}
        self.records = {}
        # (kind, pk) of a record merged into another -> the live record's pk (_follow_merged).
        self.live = {}

    def resolve(self, parsed, near_misses=True):
        """parsed: (kind, system code, code, scope) tuples."""
        decisions = self._decide(parsed)
        answers = {key: self._answer(*decision) for key, decision in decisions.items()}
        if near_misses:
            self._add_near_misses(answers)
        return [answers[key] for key in parsed]

    def _add_near_misses(self, answers):
        """Give each not_found answer of an item, supplier or location the near misses among
        its system's codes: one query per kind and system, for the keys not found only."""
        missing = defaultdict(list)
        for (kind, system, code, scope), answer in answers.items():
            if answer["status"] == NOT_FOUND and kind in MATCHABLE_KINDS:
                missing[(kind, system)].append((code, scope))
        for (kind, system), keys in missing.items():
            found = near_miss.candidates(kind, system, keys, self.as_of)
            for code, scope in keys:
                answers[(kind, system, code, scope)]["candidates"] = found[(code, scope)]

    def translate(self, parsed):
        """parsed: (kind, from system, code, to system, scope, to scope) tuples."""
        sources = {(kind, system, code, scope) for kind, system, code, _, scope, _ in parsed}
        decisions = self._decide(sources)
        wanted = {
            (
                self.system_ids[to_system],
                kind,
                self._live(kind, decisions[(kind, system, code, scope)][1][TARGET]),
            )
            for kind, system, code, to_system, scope, _ in parsed
            if decisions[(kind, system, code, scope)][0] == RESOLVED
        }
        codes = self._codes_in_targets(wanted)
        answers = {}
        for key in set(parsed):
            kind, system, code, to_system, scope, to_scope = key
            status, found = decisions[(kind, system, code, scope)]
            if status != RESOLVED:
                answers[key] = self._answer(status, found)
                continue
            target = self._live(kind, found[TARGET])
            rows = codes.get((self.system_ids[to_system], kind, target), ())
            answers[key] = self._translation(kind, found, rows, to_scope)
        return [answers[key] for key in parsed]

    # Decisions: which references answer each distinct key.

    def _decide(self, keys):
        """{(kind, system code, code, scope): (status, row or rows)} for distinct keys; the
        records of every reference found are loaded on the way."""
        keys = set(keys)
        lookups = {(self.system_ids[system], kind, code) for kind, system, code, _ in keys}
        by_lookup = defaultdict(list)
        for row in self._references(lookups):
            by_lookup[(row[SYSTEM], row[KIND], row[CODE])].append(row)
        decisions = {}
        retired = []
        system_ids = self.system_ids
        pick = self._pick
        for key in keys:
            kind, system, code, scope = key
            found = by_lookup.get((system_ids[system], kind, code))
            if found is None:
                decisions[key] = (NOT_FOUND, None)
            elif (
                len(found) == 1
                and found[0][VALID]
                and (not scope or found[0][SCOPE] in (scope, ""))
            ):
                decisions[key] = (RESOLVED, found[0])  # the usual case, decided without _pick
            else:
                decisions[key] = decision = pick(found, scope)
                if decision[0] == RETIRED:
                    retired.append(decision[1])
        self.successors = self._successors(retired, by_lookup) if retired else {}
        return decisions

    def _pick(self, rows, scope):
        if scope:
            rows = [row for row in rows if row[SCOPE] == scope or not row[SCOPE]]
            if not rows:
                return NOT_FOUND, None
        valid = [row for row in rows if row[VALID]]
        if len(valid) == 1:
            return RESOLVED, valid[0]
        if valid:
            valid.sort(key=_scope_rank(scope))
            if scope or not valid[0][SCOPE] or len({row[TARGET] for row in valid}) == 1:
                return RESOLVED, valid[0]
            return AMBIGUOUS, valid
        as_of = self.as_of
        upcoming = [
            row
            for row in rows
            if row[STATUS] == CrossReference.Status.ACTIVE
            and row[VALID_FROM] is not None
            and row[VALID_FROM] > as_of
        ]
        ended = [row for row in rows if row not in upcoming]
        if ended:
            return RETIRED, max(ended, key=lambda row: (row[VALID_TO] or as_of, row[ID]))
        return NOT_YET_VALID, min(upcoming, key=lambda row: (row[VALID_FROM], row[ID]))

    # Answers.

    def _answer(self, status, found):
        if status == RESOLVED:
            record = self.records[(found[KIND], found[TARGET])]
            return {
                "status": RESOLVED,
                "id": record["id"],
                "record": record,
                "reference": self._reference(found),
            }
        if status == NOT_FOUND:
            return {"status": NOT_FOUND, "candidates": []}
        if status == AMBIGUOUS:
            matches = [
                {"scope": row[SCOPE], "id": self._record_id(row), "reference": self._reference(row)}
                for row in found
            ]
            return {"status": AMBIGUOUS, "matches": matches}
        if status == RETIRED:
            successor = self.successors.get(found[ID])
            return {
                "status": RETIRED,
                "id": self._record_id(found),
                "valid_to": found[VALID_TO],
                "reference": self._reference(found),
                "successor": self._reference(successor) if successor else None,
            }
        return {
            "status": NOT_YET_VALID,
            "id": self._record_id(found),
            "valid_from": found[VALID_FROM],
            "reference": self._reference(found),
        }

    def _translation(self, kind, source, rows, to_scope):
        record_id = self._record_id(source)
        if to_scope:
            exact = [row for row in rows if row[SCOPE] == to_scope]
            rows = exact or [row for row in rows if not row[SCOPE]]
        preferred = [row for row in rows if row[PREFERRED]]
        candidates = sorted(preferred or rows, key=_scope_rank(""))
        if len(preferred) > 1 and len({row[CODE] for row in preferred}) > 1:
            # Preferred codes in several target scopes: the caller has to name one.
            matches = [
                {"scope": row[SCOPE], "code": row[CODE], "reference": self._reference(row)}
                for row in candidates
            ]
            return {"status": AMBIGUOUS, "id": record_id, "matches": matches}
        # One candidate, or several that all give the same code (the record's code in each
        # target scope, say): that code is the answer, by the unscoped reference if any.
        chosen = candidates[0] if len({row[CODE] for row in candidates}) == 1 else None
        if chosen:
            return {
                "status": TRANSLATED,
                "code": chosen[CODE],
                "id": record_id,
                "reference": self._reference(chosen),
            }
        if rows:
            references = [self._reference(row) for row in sorted(rows, key=_scope_rank(""))]
            return {"status": NO_PREFERRED, "id": record_id, "references": references}
        return {"status": NO_CODE_IN_TARGET, "id": record_id}

    def _reference(self, row):
        """The reference as every API answer names one: xref.serializers.ReferenceSerializer's
        short form, built here from the row (tests/xref/test_resolve_api.py holds the two
        equal): a serializer per answer would cost more than the lookup."""
        return {
            "id": row[ID],
            "kind": row[KIND],
            "system": self.system_codes[row[SYSTEM]],
            "scope": row[SCOPE],
            "code": row[CODE],
            "valid_from": row[VALID_FROM],
            "valid_to": row[VALID_TO],
            "status": row[STATUS],
            "is_preferred": bool(row[PREFERRED]),
        }

    def _record_id(self, row):
        return self.records[(row[KIND], row[TARGET])]["id"]

    # Queries.

    def _references(self, lookups):
        """Every reference of the (system id, kind, code) lookups, whatever its dates, with a
        flag saying whether it is valid at as_of, and the summary of its record: one statement
        for any number of keys (they go in as one JSON parameter)."""
        if not lookups:
            return []
        kinds = tuple(sorted({kind for _, kind, _ in lookups}))
        single = len(lookups) == 1
        sql, slices = _references_sql(kinds, single, connection.vendor)
        day = self.as_of.isoformat()
        if single:
            params = [day, day, *next(iter(lookups))]
        else:
            # Sorted keys walk the index in order: fewer pages touched, a fifth quicker.
            params = [day, day, json.dumps(sorted(lookups))]
        if single:  # the statement of every single resolve: planned once per connection
            fetched = fetch_prepared(sql, params)
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                fetched = cursor.fetchall()
        records = self.records
        rows = []
        merged = []
        for row in fetched:
            kind = row[1]
            target = row[5] if row[6] is None else row[6]
            if (kind, target) not in records:
                first, last, summarize = slices[kind]
                records[(kind, target)] = summary = summarize(row[first:last])
                if "merged_into" in summary:
                    merged.append((kind, target))
            rows.append((*row[:5], target, *row[7:12]))
        if merged:
            self._follow_merged(merged)
        return rows

    def _follow_merged(self, merged):
        """References to a record merged into another (a merge moves them, so only those
        written to it since) answer with the live record at the end of its merged_into
        chain, naming the merged one in `merged_from`; translation uses the live record's
        codes. A broken chain (mdm.models.base.live_record) leaves the summary as it is."""
        for kind, target in merged:
            summary = self.records[(kind, target)]
            joins, columns, summarize = SUMMARIES[kind]
            try:
                record = live_record(TARGETS[kind][1], summary["id"])
            except ValueError:
                continue
            if record is None:
                continue
            values = [_value_of(record, column) for column in columns]
            self.records[(kind, target)] = {**summarize(values), "merged_from": summary["id"]}
            self.live[(kind, target)] = record.pk

    def _live(self, kind, target):
        return self.live.get((kind, target), target)

    def _references_of(self, targets, system_ids=None, valid_only=True):
        """Active references of the (kind, record pk) targets, valid at as_of unless told
        otherwise, optionally only in some systems: one statement."""
        by_kind = defaultdict(set)
        for kind, target in targets:
            by_kind[kind].add(target)
        day = self.as_of.isoformat()
        params = [day, day]
        per_kind = []
        for kind, pks in by_kind.items():
            field, _ = TARGETS[kind]
            condition, values = one_of(f"x.{field}_id", pks, str if kind == Kind.UNIT else int)
            per_kind.append(f"(x.kind = %s AND {condition})")
            params += [kind, *values]
        where = [f"({' OR '.join(per_kind)})", "x.status = 'active'"]
        if valid_only:
            where.append(VALID_AT)
            params += [day, day]
        if system_ids is not None:
            condition, values = one_of("x.system_id", system_ids, int)
            where.append(condition)
            params += values
        sql = f"SELECT {', '.join(BASE_COLUMNS)} FROM {TABLE} x WHERE {' AND '.join(where)}"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            fetched = cursor.fetchall()
        return [(*row[:5], row[5] if row[6] is None else row[6], *row[7:12]) for row in fetched]

    def _successors(self, retired, same_code):
        """{retired reference id: the reference that took over}, by the registry's rules
        (xref.services.successor_of) in one query for all: among active references starting on
        or after the day the old one ended (any, for a withdrawn one), earliest first, a
        preferred one first, look for 1. the same record's new code in the same system and
        scope, 2. the same code reused in the same system and scope, 3. the same record's code
        in another system (a cut-over). `same_code` holds the rows already fetched by code."""
        by_target = defaultdict(list)
        targets = {(row[KIND], row[TARGET]) for row in retired}
        for row in self._references_of(targets, valid_only=False):
            by_target[(row[KIND], row[TARGET])].append(row)
        successors = {}
        for old in retired:
            withdrawn = old[STATUS] == CrossReference.Status.RETIRED or old[VALID_TO] is None

            def later(row, old=old, withdrawn=withdrawn):
                if row[ID] == old[ID] or row[STATUS] != CrossReference.Status.ACTIVE:
                    return False
                return withdrawn or (
                    row[VALID_FROM] is not None and row[VALID_FROM] >= old[VALID_TO]
                )

            records = [row for row in by_target[(old[KIND], old[TARGET])] if later(row)]
            same_system = [
                row for row in records if row[SYSTEM] == old[SYSTEM] and row[SCOPE] == old[SCOPE]
            ]
            reused = [
                row
                for row in same_code[(old[SYSTEM], old[KIND], old[CODE])]
                if row[SCOPE] == old[SCOPE] and later(row)
            ]
            other_system = [row for row in records if row[SYSTEM] != old[SYSTEM]]
            for found in (same_system, reused, other_system):
                if found:
                    successors[old[ID]] = min(found, key=self._succession_order)
                    break
        return successors

    def _succession_order(self, row):
        return (
            row[VALID_FROM] or date.min,
            not row[PREFERRED],
            self.system_codes[row[SYSTEM]],
            row[SCOPE],
            row[CODE],
            row[ID],
        )

    def _codes_in_targets(self, wanted):
        """{(system id, kind, record pk): valid references} for translation: one query."""
        if not wanted:
            return {}
        system_ids = {system_id for system_id, _, _ in wanted}
        targets = {(kind, target) for _, kind, target in wanted}
        found = defaultdict(list)
        for row in self._references_of(targets, system_ids):
            found[(row[SYSTEM], row[KIND], row[TARGET])].append(row)
        return found


@functools.cache
def _references_sql(kinds, single, vendor):
    """The statement reading references with their records' summaries for keys of these
    kinds, and where each kind's summary columns are in its rows. Built once per shape."""
    columns, joins, slices = [], [], {}
    start = len(BASE_COLUMNS)
    for kind in kinds:
        kind_joins, kind_columns, summarize = SUMMARIES[kind]
        joins += kind_joins
        columns += kind_columns
        slices[kind] = (start, start + len(kind_columns), summarize)
        start += len(kind_columns)
    select = ", ".join([*BASE_COLUMNS, *columns])
    joins = " ".join(joins)
    if single:
        # A single resolve, the most frequent call: plain parameters plan quickest.
        sql = (
            f"SELECT {select} FROM {TABLE} x {joins} "
            "WHERE x.system_id = %s AND x.kind = %s AND x.code = %s"
        )
    elif vendor == "postgresql":
        sql = (
            f"SELECT {select} FROM json_array_elements(%s::json) AS k(v) JOIN {TABLE} x "
            f"ON x.system_id = (k.v->>0)::bigint AND x.kind = k.v->>1 AND x.code = k.v->>2 {joins}"
        )
    else:
        # CROSS JOIN keeps the keys as the outer loop, so each is one index lookup.
        sql = (
            f"SELECT {select} FROM json_each(%s) AS k CROSS JOIN {TABLE} x "
            "ON x.system_id = json_extract(k.value, '$[0]') "
            "AND x.kind = json_extract(k.value, '$[1]') "
            f"AND x.code = json_extract(k.value, '$[2]') {joins}"
        )
    return sql, slices


# The columns every reference row is read with; "x" is xref_crossreference. The numeric
# target keys share one column (exactly one is set), units have text keys.
_NUMERIC_TARGETS = ", ".join(f"x.{field}_id" for field, _ in TARGETS.values() if field != "unit")
VALID_AT = (
    "(x.status = 'active' AND (x.valid_from IS NULL OR x.valid_from <= %s) "
    "AND (x.valid_to IS NULL OR x.valid_to > %s))"
)
BASE_COLUMNS = (
    "x.id",
    "x.kind",
    "x.system_id",
    "x.code",
    "x.scope",
    f"COALESCE({_NUMERIC_TARGETS})",
    "x.unit_id",
    "x.valid_from",
    "x.valid_to",
    "x.status",
    "x.is_preferred",
    VALID_AT,
)


def _join(model, alias, on):
    return f"LEFT JOIN {model._meta.db_table} {alias} ON {alias}.{on}"


# The record a summary column's table alias reads, from the record the summary is of
# (_follow_merged reads the live record's values by the columns' names).
ALIAS_PATHS = {"sss": "supplier"}


def _value_of(record, column):
    """The value of a summary column ("ss.code", "sss.public_id") for a record."""
    alias, name = column.split(".")
    if alias in ALIAS_PATHS:
        record = getattr(record, ALIAS_PATHS[alias])
    return getattr(record, name)


def _merged(summary, merged_into):
    """A summary marked when its record was merged into another (see _follow_merged)."""
    if merged_into:
        summary["merged_into"] = merged_into
    return summary


# The summary of each kind of record, read in the same statement as the references: the
# joins, the columns, and the dict built from them. Canonical ids are the registry's natural
# keys (xref.services): the public id, the Rec 20 code for units, ITM-000123/B for an item
# revision, LIST:code for a code value.
SUMMARIES = {
    Kind.ITEM: (
        [_join(Item, "i", "id = x.item_id")],
        ["i.public_id", "i.number", "i.description", "i.status", "i.base_unit_id", "i.merged_into"],
        lambda v: _merged(
            {"id": v[0], "number": v[1], "description": v[2], "status": v[3], "base_unit": v[4]},
            v[5],
        ),
    ),
    Kind.ITEM_REVISION: (
        [_join(ItemRevision, "r", "id = x.item_revision_id"), _join(Item, "ri", "id = r.item_id")],
        ["ri.public_id", "r.revision", "r.status"],
        lambda v: {
            "id": f"{v[0]}{REVISION_SEPARATOR}{v[1]}",
            "item": v[0],
            "revision": v[1],
            "status": v[2],
        },
    ),
    Kind.SUPPLIER: (
        [_join(Supplier, "s", "id = x.supplier_id")],
        ["s.public_id", "s.number", "s.name", "s.status", "s.country", "s.merged_into"],
        lambda v: _merged(
            {"id": v[0], "number": v[1], "name": v[2], "status": v[3], "country": v[4]}, v[5]
        ),
    ),
    Kind.SUPPLIER_SITE: (
        [
            _join(SupplierSite, "ss", "id = x.supplier_site_id"),
            _join(Supplier, "sss", "id = ss.supplier_id"),
        ],
        ["ss.public_id", "sss.public_id", "ss.code", "ss.status", "ss.merged_into"],
        lambda v: _merged({"id": v[0], "supplier": v[1], "code": v[2], "status": v[3]}, v[4]),
    ),
    Kind.LOCATION: (
        [_join(Location, "l", "id = x.location_id")],
        ["l.public_id", "l.code", "l.name", "l.kind", "l.status", "l.merged_into"],
        lambda v: _merged(
            {"id": v[0], "code": v[1], "name": v[2], "kind": v[3], "status": v[4]}, v[5]
        ),
    ),
    Kind.UNIT: (
        [_join(UnitModel, "u", "code = x.unit_id")],
        ["u.code", "u.name"],
        lambda v: {"id": v[0], "name": v[1]},
    ),
    Kind.CODE_VALUE: (
        [
            _join(CodeValue, "cv", "id = x.code_value_id"),
            _join(CodeList, "cl", "id = cv.code_list_id"),
        ],
        ["cl.code", "cv.code", "cv.meaning"],
        lambda v: {
            "id": f"{v[0]}{CODE_VALUE_SEPARATOR}{v[1]}",
            "list": v[0],
            "code": v[1],
            "meaning": v[2],
        },
    ),
}
