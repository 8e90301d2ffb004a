"""The W3C Reconciliation Service API v0.2 over the hub's items, suppliers and locations: what
OpenRefine (and any other reconciliation client) asks, answered with plain dicts the views
send as JSON.

- Reconciliation: each query's text and property conditions go to `xref.matching.match`;
  candidates keep its score, the probability in percent that the candidate is the record
  meant. The best candidate is marked `match: true` when it is sure (`matching.SURE`, 90:
  right nine times in ten or more); candidates that agree equally share the probability, so
  of two look-alikes neither is; and never when the query's identifiers name two records.
  OpenRefine auto-matches only such a candidate.
- An identifier the query gives that disagrees with the candidate's own lowers its score by
  CONFLICT_PENALTY and rules out `match`; so does a country that disagrees.
- Data extension (`reconcile.extension`): a record's fields, and its code in a named source
  system (property `code:<SYSTEM>`).

Ids are the records' public ids (SUP-000045), URL-safe, so clients may put them in links
without encoding. Types are "Item", "Supplier" and "Location", in any case ("supplier" is
"Supplier": OpenRefine sends a type typed by hand as typed); a query naming another type is
refused, as is a batch of more than MAX_BATCH queries (the manifest's `batchSize`).
"""

import contextlib
from dataclasses import dataclass

import pycountry

from core.jsonbody import JSONRefused, read_json
from mdm import identifiers
from mdm.models import Item, Location, SourceSystem, Supplier
from reconcile.models import ReconciliationKey
from xref import matching

VERSION = "0.2"
DEFAULT_LIMIT = 5
# OpenRefine sends 10 queries a batch by default and a few hundred at most; the manifest
# advertises this as its `batchSize` (OpenRefine 3.8 and later size its batches by it).
MAX_BATCH = 1000
# A query's text, each property value and a suggest prefix: /api/v1/match/'s own limit.
MAX_TEXT = matching.MAX_QUERY_LENGTH
# A batch's work grows with its queries and their text: this bounds the text (1,000 names of
# 30 characters; the reconciliation benchmark's 1,000 names hold 22,000).
MAX_BATCH_CHARACTERS = 30_000
MATCH_SCORE = matching.SURE
SHARED_READS_QUERIES = 100  # a batch this large shares its reads (see reconcile_batch)
CONFLICT_PENALTY = 20.0
SUGGEST_PAGE = 10
CODE_PREFIX = "code:"
# Reads of records by public id go in chunks, well under SQLite's variable limit.
CHUNK = 500


class BadRequest(ValueError):
    """The request cannot be answered as sent (the view answers 400 with this message)."""


@dataclass(frozen=True)
class RecordType:
    """A reconciliation type: one kind of master record."""

    id: str
    kind: str  # xref.matching kind and xref Kind value
    model: type
    description: str
    conditions: tuple  # property ids used in scoring
    fields: tuple  # (property id, name, model field) offered to data extension

    def as_dict(self):
        return {"id": self.id, "name": self.id, "description": self.description}


TYPES = {
    "Supplier": RecordType(
        "Supplier",
        "supplier",
        Supplier,
        "A company the manufacturer buys from",
        ("country", "duns", "lei", "vat"),
        (
            ("name", "Name", "name"),
            ("number", "Supplier number", "number"),
            ("legal_name", "Legal name", "legal_name"),
            ("status", "Status", "status"),
            ("country", "Country", "country"),
            ("duns", "DUNS number", "duns"),
            ("lei", "LEI", "lei"),
            ("vat", "VAT number", "vat"),
        ),
    ),
    "Item": RecordType(
        "Item",
        "item",
        Item,
        "A material, component or product",
        ("manufacturer", "mpn", "gtin"),
        (
            ("name", "Description", "description"),
            ("number", "Item number", "number"),
            ("status", "Status", "status"),
            ("base_unit", "Base unit (UN/ECE Rec 20 code)", "base_unit_id"),
            ("item_type", "Item type", "item_type"),
            ("manufacturer", "Manufacturer", "manufacturer"),
            ("mpn", "Manufacturer part number", "mpn"),
            ("gtin", "GTIN", "gtin"),
            ("commodity", "Commodity", "commodity"),
        ),
    ),
    "Location": RecordType(
        "Location",
        "location",
        Location,
        "A plant, warehouse, distribution centre, ship-to or supplier site",
        ("gln", "country"),
        (
            ("name", "Name", "name"),
            ("code", "Location code", "code"),
            ("kind", "Kind", "kind"),
            ("status", "Status", "status"),
            ("country", "Country", "country"),
            ("gln", "GLN", "gln"),
            ("city", "City", "city"),
        ),
    ),
}
TYPE_BY_PREFIX = {t.model.PUBLIC_ID_PREFIX: t for t in TYPES.values()}
TYPE_BY_FOLDED_ID = {t.id.casefold(): t for t in TYPES.values()}
CONDITION_HELP = {
    "country": "ISO 3166 code or English name; used in matching",
    "duns": "used in matching: an exact DUNS identifies the supplier",
    "lei": "used in matching: an exact LEI identifies the supplier",
    "vat": "used in matching: an exact VAT number (with or without country prefix)",
    "manufacturer": "used in matching",
    "mpn": "used in matching: an exact part number identifies the item",
    "gtin": "used in matching: an exact GTIN-8/12/13/14 identifies the item",
    "gln": "used in matching: an exact GLN identifies the location",
}
# Evidence names of xref.matching that are identifiers (the others are fuzzy text).
IDENTIFIER_EVIDENCE = frozenset({"duns", "lei", "vat", "gtin", "gln", "mpn", "number", "code"})


def find_type(type_id):
    """The type of a type id in any case ("supplier", "SUPPLIER"), or None."""
    return TYPE_BY_FOLDED_ID.get(str(type_id).strip().casefold())


def record_type(public_id):
    """The type of a public id by its prefix, or None."""
    return TYPE_BY_PREFIX.get(str(public_id).split("-", 1)[0])


# --- keys ------------------------------------------------------------------------------------


def create_key(name, user=None, key=None):
    """Create a reconciliation key (or fill in and save the unsaved `key`); return it with the
    secret, which is shown only this once."""
    key = key or ReconciliationKey(name=name)
    secret = ReconciliationKey.new_key()
    key.key_prefix = secret[:9]
    key.key_hash = ReconciliationKey.hash_key(secret)
    key.created_by = user if user is not None and user.is_authenticated else None
    key.full_clean()
    key.save()
    return key, secret


def find_key(secret):
    """The active key whose secret this is, or None; notes its use."""
    if not secret or len(secret) > 100:
        return None
    key = ReconciliationKey.objects.filter(
        key_hash=ReconciliationKey.hash_key(secret), is_active=True
    ).first()
    if key:
        key.touch()
    return key


# --- manifest --------------------------------------------------------------------------------


def manifest(service_url, view_url, identifier_space, schema_space):
    """The service manifest. `service_url` ends with "/"; `view_url` holds {{id}}."""
    base = service_url.rstrip("/")
    return {
        "versions": [VERSION],
        "name": "Master data hub",
        "batchSize": MAX_BATCH,
        "identifierSpace": identifier_space,
        "schemaSpace": schema_space,
        "defaultTypes": [t.as_dict() for t in TYPES.values()],
        "view": {"url": view_url},
        "preview": {"url": f"{base}/preview?id={{{{id}}}}", "width": 400, "height": 200},
        "suggest": {
            "entity": {"service_url": base, "service_path": "/suggest/entity"},
            "type": {"service_url": base, "service_path": "/suggest/type"},
            "property": {"service_url": base, "service_path": "/suggest/property"},
        },
        "extend": {"propose_properties": {"service_url": base, "service_path": "/properties"}},
    }


# --- reconciliation --------------------------------------------------------------------------


def parse_json_param(text, name):
    """The JSON value of a request parameter, read within the hub's limits on JSON
    (core.jsonbody), or BadRequest saying what is wrong."""
    if not isinstance(text, str):
        raise BadRequest(f"{name} is not valid JSON: give it as JSON text.")
    try:
        return read_json(text)
    except JSONRefused as exc:
        raise BadRequest(f"{name} is not valid JSON: {exc}") from None


def reconcile_batch(queries):
    """{key: {"result": [candidate, ...]}} for every key of the batch, in its order."""
    if not isinstance(queries, dict):
        raise BadRequest('queries must be a JSON object: {"q0": {"query": "..."}, ...}.')
    if len(queries) > MAX_BATCH:
        raise BadRequest(f"A batch holds at most {MAX_BATCH} queries; this one has {len(queries)}.")
    parsed = {}
    characters = 0
    for key, query in queries.items():
        if not isinstance(query, dict):
            raise BadRequest(f"Query {key!r} must be a JSON object.")
        parsed[key] = _parse_query(key, query)
        text, _, _, conditions = parsed[key]
        characters += len(text) + sum(len(value) for _, value in conditions)
    if characters > MAX_BATCH_CHARACTERS:
        raise BadRequest(
            f"A batch holds at most {MAX_BATCH_CHARACTERS} characters of query text and "
            f"property values; this one has {characters}. Send it in smaller batches."
        )
    # Identical queries (a column with repeated values) are answered once.
    distinct = list(dict.fromkeys(parsed.values()))
    # A large batch shares the reads of its queries' words (xref.matching.batch); in a few
    # queries too few words recur to pay for keeping them. The batch is answered in the
    # request's process: capacity for many batches comes from more web processes.
    shared = matching.batch() if len(distinct) >= SHARED_READS_QUERIES else contextlib.nullcontext()
    with shared:
        answers = {query: _candidates(*query) for query in distinct}
    details = _details([c for candidates in answers.values() for c in candidates])
    results = {}
    for key, query in parsed.items():
        results[key] = {"result": _results(query, answers[query], details)}
    return results


def _parse_query(key, query):
    """(text, type ids, limit, conditions) of one query, hashable, with the types' own ids.
    Lenient: a client that sends a number where text is due, or an unknown property, is
    answered, not refused; an unknown type, or text or a property value over MAX_TEXT
    characters, is a BadRequest naming the query."""
    text = query.get("query")
    text = "" if text is None else str(text).strip()
    _check_length(text, f"Query {key[:40]!r}")
    type_ids = _query_types(key, query.get("type"))
    limit = query.get("limit", DEFAULT_LIMIT)
    try:
        limit = max(1, min(int(limit), matching.MAX_LIMIT))
    except (TypeError, ValueError):
        limit = DEFAULT_LIMIT
    conditions = {}
    properties = query.get("properties") or []
    if isinstance(properties, list):
        for prop in properties:
            if not isinstance(prop, dict):
                continue
            value = _first_value(prop.get("v"))
            pid = str(prop.get("pid") or "")
            _check_length(value, f"Query {key[:40]!r}: property {pid[:40]!r}")
            if value and pid and pid not in conditions:
                conditions[pid] = value
    return text, type_ids, limit, tuple(sorted(conditions.items()))


def _query_types(key, wanted):
    """The type ids a query names, in any case, as the types' own ids; every type when it
    names none.

    An unknown type refuses the whole batch (a 400) rather than answering that query with no
    candidates: a v0.2 result has no member for an error, so a client would show an empty
    result as "nothing matches", and OpenRefine sends one type for every query of a column,
    so no query of the batch would have been answered right anyway."""
    if wanted is None or wanted == "" or wanted == []:
        return tuple(TYPES)
    found = []
    for type_id in wanted if isinstance(wanted, list) else [wanted]:
        rtype = find_type(type_id)
        if rtype is None:
            raise BadRequest(
                f"Query {key[:40]!r} names an unknown type {str(type_id)[:40]!r}; the types "
                f"are {', '.join(TYPES)} (in any case)."
            )
        found.append(rtype.id)
    return tuple(dict.fromkeys(found))


def _check_length(text, what):
    if len(text) > MAX_TEXT:
        raise BadRequest(
            f"{what} is {len(text)} characters long; give at most {MAX_TEXT} characters."
        )


def _first_value(value):
    """The first non-empty value of a property condition as text (a reconciled entity's id)."""
    values = value if isinstance(value, list) else [value]
    for item in values:
        if isinstance(item, dict):
            item = item.get("id")
        if isinstance(item, bool) or item is None:
            continue
        item = str(item).strip()
        if item:
            return item
    return ""


def country_code(value):
    """An ISO 3166 alpha-2 code for a code or an English country name, or None."""
    value = (value or "").strip()
    if identifiers.is_country(value.upper()):
        return value.upper()
    try:
        return pycountry.countries.lookup(value).alpha_2
    except LookupError:
        return None


@dataclass
class _Candidate:
    type: RecordType
    id: str
    name: str
    score: float
    evidence: dict


def _candidates(text, type_ids, limit, conditions):
    """Scored candidates of one query over its types, best first, at most `limit` plus one
    more (the runner-up decides whether the best is a clear match)."""
    conditions = dict(conditions)
    found = []
    for type_id in type_ids:
        rtype = TYPES[type_id]
        fields = {
            pid: conditions[pid]
            for pid in rtype.conditions
            if pid in conditions and pid != "country"
        }
        if not text and not fields:
            continue
        country = None
        if "country" in rtype.conditions and "country" in conditions:
            country = country_code(conditions["country"])
        for candidate in _match(rtype, text, limit + 1, country, fields):
            found.append(candidate)
    found.sort(key=lambda c: (-c.score, c.id))
    return found[: limit + 1]


def _match(rtype, text, limit, country, fields):
    def run(**extra):
        return [
            _Candidate(rtype, c.id, c.name, float(c.score), dict(c.evidence))
            for c in matching.match(rtype.kind, text, limit=limit, **fields, **extra)
        ]

    if not country:
        return run()
    # The country narrows the search; with identifiers, or when nothing in that country
    # matches, the whole kind is searched too (an identifier is worldwide, and a country in
    # a spreadsheet may be wrong): those candidates' countries are checked afterwards.
    found = {c.id: c for c in run(country=country)}
    if fields or not found:
        for candidate in run():
            found.setdefault(candidate.id, candidate)
    return list(found.values())


def _details(candidates):
    """{public id: the record's fields} for every candidate, read per type in chunks."""
    by_type = {}
    for candidate in candidates:
        by_type.setdefault(candidate.type.id, set()).add(candidate.id)
    details = {}
    for type_id, ids in by_type.items():
        details.update(records_by_id(TYPES[type_id], ids))
    return details


def records_by_id(rtype, ids):
    """{public id: the record's fields} of these records of one type, read in chunks."""
    fields = ["id", "public_id", *(field for _, _, field in rtype.fields)]
    found = {}
    ids = sorted(ids)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for row in rtype.model.objects.filter(public_id__in=chunk).values(*fields):
            found[row["public_id"]] = row
    return found


def _results(query, candidates, details):
    """The API's candidates for one query: penalties applied, `match` decided, at most
    `limit`."""
    _, _, limit, conditions = query
    conditions = dict(conditions)
    scored = []
    for candidate in candidates:
        record = details.get(candidate.id)
        if record is None:
            continue  # deleted since it was matched
        evidence = dict(candidate.evidence)
        conflicts = _conflicts(candidate.type, record, conditions, evidence)
        score = candidate.score
        if conflicts:
            score = max(0.0, score - CONFLICT_PENALTY * len(conflicts))
        scored.append((score, candidate, record, evidence, conflicts))
    scored.sort(key=lambda item: (-item[0], item[1].id))
    # The query's identifiers name two records: it contradicts itself, so nothing is sure.
    named = [e for _, _, _, e, _ in scored if any(e.get(n) == 100.0 for n in IDENTIFIER_EVIDENCE)]
    contradicted = len(named) > 1
    results = []
    for position, (score, candidate, record, evidence, conflicts) in enumerate(scored[:limit]):
        is_match = position == 0 and not conflicts and score >= MATCH_SCORE and not contradicted
        features = [{"id": name, "value": value} for name, value in sorted(evidence.items())]
        features += [{"id": f"{name}_conflict", "value": True} for name in conflicts]
        results.append(
            {
                "id": candidate.id,
                "name": candidate.name,
                "score": round(score, 1),
                "match": is_match,
                "type": [{"id": candidate.type.id, "name": candidate.type.id}],
                "description": describe(candidate.type, record),
                "features": features,
            }
        )
    return results


def _conflicts(rtype, record, conditions, evidence):
    """Names of the query's identifiers (and country) the record has a different value for.
    An identifier hit is not doubted for its country: a spreadsheet's country may be a
    site's."""
    conflicts = []
    identified = any(evidence.get(name) == 100.0 for name in IDENTIFIER_EVIDENCE)
    checks = {
        "duns": identifiers.parse_duns,
        "lei": identifiers.parse_lei,
        "gtin": identifiers.parse_gtin,
        "gln": identifiers.parse_gln,
    }
    for pid in rtype.conditions:
        given = conditions.get(pid)
        if not given or evidence.get(pid) == 100.0:
            continue
        own = record.get(pid) or ""
        if pid == "country":
            wanted = country_code(given)
            if wanted and own and wanted != own and not identified:
                conflicts.append(pid)
        elif not own:
            continue
        elif pid in checks:
            if checks[pid](given) and checks[pid](own) and checks[pid](given) != checks[pid](own):
                conflicts.append(pid)
        elif pid == "vat":
            forms = identifiers.vat_forms(given)
            if forms and not forms & identifiers.vat_forms(own):
                conflicts.append(pid)
    return conflicts


def describe(rtype, record):
    """One line that tells namesakes apart: number, country or kind, status."""
    if rtype.id == "Supplier":
        parts = [record["number"], record["country"], record["status"]]
        if record["legal_name"] and record["legal_name"] != record["name"]:
            parts.insert(1, record["legal_name"])
    elif rtype.id == "Item":
        maker = " ".join(v for v in (record["manufacturer"], record["mpn"]) if v)
        parts = [record["number"], maker, record["base_unit_id"], record["status"]]
    else:
        parts = [record["code"], record["kind"], record["city"], record["country"]]
        parts.append(record["status"])
    return " · ".join(str(p) for p in parts if p)


# --- suggest ---------------------------------------------------------------------------------


def _page(items, cursor, limit=SUGGEST_PAGE):
    try:
        cursor = max(0, int(cursor or 0))
    except (TypeError, ValueError):
        cursor = 0
    return items[cursor : cursor + limit]


def suggest_entities(prefix, cursor=0, type_id=None):
    """Records whose id, number or name fits what was typed, best first."""
    prefix = _prefix(prefix)
    if not prefix:
        return {"result": []}
    chosen = find_type(type_id) if type_id else None
    types = [chosen] if chosen else list(TYPES.values())  # an unknown type: every type
    try:
        cursor = max(0, int(cursor or 0))
    except (TypeError, ValueError):
        cursor = 0
    wanted = min(cursor + SUGGEST_PAGE, matching.MAX_LIMIT)
    found = []
    exact = record_type(prefix.upper())
    if exact in types:
        row = exact.model.objects.filter(public_id=prefix.upper()).values("public_id").first()
        if row:
            found.append(_Candidate(exact, row["public_id"], "", 101.0, {}))
    for rtype in types:
        for c in matching.match(rtype.kind, prefix, limit=wanted):
            found.append(_Candidate(rtype, c.id, c.name, float(c.score), {}))
    found.sort(key=lambda c: (-c.score, c.id))
    best = list({c.id: c for c in reversed(found)}.values())  # the best score of each id wins
    best.sort(key=lambda c: (-c.score, c.id))
    page = best[cursor : cursor + SUGGEST_PAGE]
    details = _details(page)
    result = []
    for candidate in page:
        record = details.get(candidate.id)
        if record is None:
            continue
        name = record.get("name") or record.get("description") or candidate.id
        result.append(
            {
                "id": candidate.id,
                "name": name,
                "description": describe(candidate.type, record),
                "notable": [{"id": candidate.type.id, "name": candidate.type.id}],
            }
        )
    return {"result": result}


def _prefix(prefix):
    """What was typed, stripped; over MAX_TEXT characters a BadRequest."""
    prefix = (prefix or "").strip()
    _check_length(prefix, "The prefix")
    return prefix


def suggest_types(prefix, cursor=0):
    prefix = _prefix(prefix).lower()
    types = [t.as_dict() for t in TYPES.values() if prefix in t.id.lower()]
    return {"result": _page(types, cursor)}


def properties(type_id=None):
    """[{id, name, description}] of the properties of a type (of every type when None): the
    record's fields and its code in each active source system."""
    chosen = find_type(type_id) if type_id else None
    types = [chosen] if chosen else list(TYPES.values())
    found = {}
    for rtype in types:
        for pid, name, _ in rtype.fields:
            described = found.setdefault(pid, {"id": pid, "name": name, "types": []})
            described["types"].append(rtype.id)
            if pid in rtype.conditions:
                described["help"] = CONDITION_HELP[pid]
    result = []
    for described in found.values():
        text = ", ".join(described["types"])
        if "help" in described:
            text += f"; {described['help']}"
        result.append({"id": described["id"], "name": described["name"], "description": text})
    for system in active_systems():
        result.append(
            {
                "id": f"{CODE_PREFIX}{system.code}",
                "name": f"{system.code} code",
                "description": f"The record's code in {system.name} (preferred code valid today)",
            }
        )
    return result


def suggest_properties(prefix, cursor=0, type_id=None):
    prefix = _prefix(prefix).lower()
    fitting = [
        p for p in properties(type_id) if prefix in p["id"].lower() or prefix in p["name"].lower()
    ]
    return {"result": _page(fitting, cursor)}


def propose_properties(type_id, limit=None):
    rtype = find_type(type_id) if type_id else None
    if rtype is None:
        given = f"Unknown type {str(type_id)[:40]!r}" if type_id else "No type given"
        raise BadRequest(f"{given}; the types are {', '.join(TYPES)}.")
    proposed = [{"id": p["id"], "name": p["name"]} for p in properties(rtype.id)]
    if limit is not None and str(limit).isdigit():
        proposed = proposed[: int(limit)]
    return {"type": rtype.id, "properties": proposed}


def active_systems():
    """The active source systems, by code: each offers its codes as a property."""
    return list(SourceSystem.objects.filter(is_active=True).order_by("code"))


# --- preview ---------------------------------------------------------------------------------


def preview(public_id):
    """(type, [(label, value)]) of a record for its preview card, or None."""
    rtype = record_type(public_id)
    if rtype is None:
        return None
    record = records_by_id(rtype, [public_id]).get(public_id)
    if record is None:
        return None
    labels = [(name, record[field]) for pid, name, field in rtype.fields if record[field]]
    return rtype, labels
