"""Data extension of the reconciliation service: property values of records by id, as
OpenRefine's "Add columns from reconciled values" asks for them: the records' fields, and
their codes in named source systems (property `code:<SYSTEM>`): the preferred code valid
today, else every code valid today."""

from django.db.models import Q
from django.utils import timezone

from reconcile.services import (
    CODE_PREFIX,
    TYPES,
    BadRequest,
    active_systems,
    properties,
    record_type,
    records_by_id,
)
from xref.models import CrossReference

MAX_EXTEND_IDS = 1000


def extend(request_data):
    """Property values of records: {"meta": [...], "rows": {id: {pid: [value, ...]}}}."""
    if not isinstance(request_data, dict):
        raise BadRequest('extend must be a JSON object: {"ids": [...], "properties": [...]}.')
    ids, props = request_data.get("ids"), request_data.get("properties")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise BadRequest("extend.ids must be a list of record ids.")
    if not isinstance(props, list) or not all(
        isinstance(p, dict) and isinstance(p.get("id"), str) for p in props
    ):
        raise BadRequest('extend.properties must be a list of {"id": ...} objects.')
    if len(ids) > MAX_EXTEND_IDS:
        raise BadRequest(f"extend takes at most {MAX_EXTEND_IDS} ids; this one has {len(ids)}.")
    pids = list(dict.fromkeys(p["id"] for p in props))
    systems = {s.code: s for s in active_systems()}
    names = {p["id"]: p["name"] for p in properties()}
    meta = [{"id": pid, "name": names.get(pid, pid)} for pid in pids]

    by_type = {}
    for public_id in ids:
        rtype = record_type(public_id)
        if rtype:
            by_type.setdefault(rtype.id, set()).add(public_id)
    records = {}
    for type_id, wanted in by_type.items():
        for public_id, row in records_by_id(TYPES[type_id], wanted).items():
            records[public_id] = (TYPES[type_id], row)
    wanted_systems = [
        systems[pid[len(CODE_PREFIX) :]]
        for pid in pids
        if pid.startswith(CODE_PREFIX) and pid[len(CODE_PREFIX) :] in systems
    ]
    codes = _codes(records.values(), wanted_systems) if wanted_systems else {}

    rows = {}
    for public_id in ids:
        row = {pid: [] for pid in pids}
        if public_id in records:
            rtype, record = records[public_id]
            fields = {pid: field for pid, _, field in rtype.fields}
            for pid in pids:
                if pid in fields:
                    value = record.get(fields[pid])
                    if value not in (None, ""):
                        row[pid] = [{"str": str(value)}]
                elif pid.startswith(CODE_PREFIX):
                    system = systems.get(pid[len(CODE_PREFIX) :])
                    if system:
                        found = codes.get((rtype.kind, record["id"], system.pk), [])
                        row[pid] = [{"str": code} for code in found]
        rows[public_id] = row
    return {"meta": meta, "rows": rows}


def _codes(records, systems):
    """{(kind, record pk, system pk): [code, ...]}: the preferred codes valid today, else
    every code valid today, by scope then code. One query per kind."""
    today = timezone.localdate()
    by_kind = {}
    for rtype, record in records:
        by_kind.setdefault(rtype.kind, []).append(record["id"])
    valid = (Q(valid_from__isnull=True) | Q(valid_from__lte=today)) & (
        Q(valid_to__isnull=True) | Q(valid_to__gt=today)
    )
    found = {}
    for kind, pks in by_kind.items():
        rows = (
            CrossReference.objects.filter(
                valid,
                kind=kind,
                status=CrossReference.Status.ACTIVE,
                system__in=systems,
                **{f"{kind}_id__in": pks},
            )
            .order_by("scope", "code")
            .values_list(f"{kind}_id", "system_id", "code", "is_preferred")
        )
        grouped = {}
        for pk, system_id, code, preferred in rows:
            grouped.setdefault((kind, pk, system_id), []).append((code, preferred))
        for key, codes in grouped.items():
            preferred = [code for code, is_preferred in codes if is_preferred]
            found[key] = preferred or [code for code, _ in codes]
    return found
