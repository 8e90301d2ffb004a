"""The master records behind the codes a case carries: a case keeps its plant, supplier and
item as the sender wrote them (an unresolved code has no other form), and the review screens
show, group and filter them by the record each resolves to.

Resolution goes through the cross-references (`xref.resolve.resolve_many`, one batch for a
page or a facet, never a query per row), as of today: a code that meant a record until a
cut-over still names that record. An item code valid in several plants' scopes is resolved
within the case's plant (as validation.enrich does); a code that still means several records,
or none, stays the sender's code, "not in master data".

Read at display time rather than stored on the case: a cross-reference added, retargeted or
retired, or two records merged, shows at once on every case without rewriting any.
"""

from django.db.models import Q

from mdm.models import Location, SourceSystem
from xref.models import CrossReference, Kind
from xref.records import MODELS, names, records_by_id
from xref.resolve import AMBIGUOUS, InvalidKeys, resolve_many

# The case's fields that hold a sender's code, with the kind of record each names.
FIELDS = {"plant": Kind.LOCATION, "supplier": Kind.SUPPLIER, "item": Kind.ITEM}
PREFIX = {Kind.LOCATION: "LOC-", Kind.SUPPLIER: "SUP-", Kind.ITEM: "ITM-"}


def resolve_codes(keys):
    """{(field, system id, code, plant): Record or None} for keys of the case's fields
    (`plant` is the case's plant code for an item, "" otherwise): one resolve batch, and
    for item codes valid in several plants' scopes a second one within the case's plant;
    then one query per kind for the records' names and admin pages."""
    keys = {key for key in keys if key[2]}
    if not keys:
        return {}
    systems = dict(SourceSystem.objects.values_list("pk", "code"))
    # An item's plant is resolved with it: its plant gives the scope of an ambiguous code.
    plants = {("plant", key[1], key[3], "") for key in keys if key[0] == "item" and key[3]}
    wanted = {key for key in keys | plants if key[1] in systems}
    # Each code is resolved once, whatever the number of plants it comes with.
    answers = _resolved(systems, {key: (*key[:3], "") for key in wanted})

    def plant_id(key):
        return answers.get(("plant", key[1], key[3], ""), {}).get("id")

    ambiguous = [key for key in wanted if key[0] == "item" and answers[key]["status"] == AMBIGUOUS]
    if ambiguous:
        scopes = _plant_scopes({(key[1], plant_id(key)) for key in ambiguous})
        scoped = {
            key: (*key[:3], scopes[(key[1], plant_id(key))])
            for key in ambiguous
            if scopes.get((key[1], plant_id(key)))
        }
        answers.update(_resolved(systems, scoped))
    ids = {key: answer["id"] for key, answer in answers.items() if names(answer)}
    records = records_by_id({(FIELDS[key[0]], public_id) for key, public_id in ids.items()})
    return {key: records.get((FIELDS[key[0]], ids.get(key))) for key in keys}


def _resolved(systems, lookups):
    """{key: resolve answer} for {key: (field, system id, code, scope)}: one resolve_many
    over the distinct lookups."""
    distinct = sorted(set(lookups.values()))
    try:
        answers = resolve_many(
            [
                (FIELDS[field], systems[system], code, scope)
                for field, system, code, scope in distinct
            ],
            near_misses=False,
        )
    except InvalidKeys:  # a code too long for the registry: it cannot be in it
        answers = [{"status": "invalid"}] * len(distinct)
    found = dict(zip(distinct, answers, strict=True))
    return {key: found[lookup] for key, lookup in lookups.items()}


def _plant_scopes(wanted):
    """{(system id, location public id): the scope the system files item codes under in
    that location's plant}: the plant is the location or its nearest parent that is a plant,
    the scope the system's code for it (its scope, if the code has one). As
    validation.enrich scopes a message's lines."""
    public_ids = {public_id for _, public_id in wanted if public_id}
    if not public_ids:
        return {}
    rows = {
        pk: (public_id, kind, parent)
        for pk, public_id, kind, parent in Location.objects.filter(
            public_id__in=public_ids
        ).values_list("pk", "public_id", "kind", "parent_id")
    }
    missing = {parent for _, _, parent in rows.values() if parent and parent not in rows}
    while missing:  # a few levels at most: dock, warehouse, plant
        found = Location.objects.filter(pk__in=missing).values_list(
            "pk", "public_id", "kind", "parent_id"
        )
        rows.update({pk: (public_id, kind, parent) for pk, public_id, kind, parent in found})
        missing = {parent for _, _, parent in rows.values() if parent and parent not in rows}
    by_public_id = {public_id: pk for pk, (public_id, _, _) in rows.items()}
    plant_of = {}
    for public_id in public_ids:
        pk, seen = by_public_id.get(public_id), set()
        while pk is not None and pk not in seen and rows[pk][1] != Location.Kind.PLANT:
            seen.add(pk)
            pk = rows[pk][2] if rows[pk][2] in rows else None
        if pk is not None:
            plant_of[public_id] = pk
    references = CrossReference.objects.filter(
        kind=Kind.LOCATION,
        location_id__in=set(plant_of.values()),
        system_id__in={system for system, _ in wanted},
    ).values_list("system_id", "location_id", "scope", "code", "is_preferred")
    codes = {}
    for system_id, location_id, scope, code, _preferred in sorted(
        references, key=lambda r: not r[4]
    ):
        codes.setdefault((system_id, location_id), scope or code)
    return {
        (system_id, public_id): codes.get((system_id, plant_of.get(public_id)), "")
        for system_id, public_id in wanted
    }


def case_keys(case):
    """The resolve keys of a case's plant, supplier and item."""
    return [
        ("plant", case.system_id, case.plant, ""),
        ("supplier", case.system_id, case.supplier, ""),
        ("item", case.system_id, case.item, case.plant),
    ]


def attach(cases):
    """Set `records` on each case: {field: Record or None}, resolved in one batch."""
    cases = list(cases)
    found = resolve_codes(key for case in cases for key in case_keys(case))
    for case in cases:
        case.records = {key[0]: found.get(key) for key in case_keys(case)}
    return cases


def is_record_id(field, value):
    """Whether a filter value is a public id of the field's kind (SUP-000001)."""
    return isinstance(value, str) and value.upper().startswith(PREFIX[FIELDS[field]])


def record_condition(field, value):
    """The cases whose `field` names the record `value` (a public id): every code any system
    has (or had) for it, in that system; also the id itself, as a sender may write it."""
    kind = FIELDS[field]
    target = {f"{MODELS[kind]._meta.model_name}__public_id": value.upper()}
    codes = set(CrossReference.objects.filter(kind=kind, **target).values_list("system_id", "code"))
    condition = Q(**{field: value})
    for system_id, code in codes:
        condition |= Q(system_id=system_id, **{field: code})
    return condition


def merge_counts(field, per_code):
    """Counts per sender code summed per master record. `per_code` is {(system id, code):
    (n, buckets)}, or for items {(system id, plant, code): ...} (an item code may be scoped
    by the plant). Returns {value: {"count", "buckets", "record", "codes"}}, where value is
    the record's public id, or the sender's code when it resolves to none."""
    keys = {code_key: _resolve_key(field, code_key) for code_key in per_code}
    found = resolve_codes(keys.values())
    merged = {}
    for code_key, (n, buckets) in per_code.items():
        key = keys[code_key]
        record = found.get(key)
        code = key[2]
        value = record.id if record else code
        entry = merged.setdefault(
            value, {"count": 0, "buckets": [0] * len(buckets), "record": record, "codes": set()}
        )
        entry["count"] += n
        entry["buckets"] = [a + b for a, b in zip(entry["buckets"], buckets, strict=True)]
        if code:
            entry["codes"].add(code)
    for entry in merged.values():
        entry["codes"] = sorted(entry["codes"])
    return merged


def _resolve_key(field, code_key):
    if field == "item":
        system_id, plant, code = code_key
        return (field, system_id, code or "", plant or "")
    system_id, code = code_key
    return (field, system_id, code or "", "")
