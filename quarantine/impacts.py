"""What a change request would do to the quarantine, for its page and the API (an impact
provider of changes.registry, registered when quarantine.apps is ready).

- A cross-reference's change: the quarantined messages blocked on its new code are validated
  again once it is applied (auto-replay, quarantine.receivers); the cases blocked on the code
  it had are not, and messages naming that code no longer resolve through it; and the systems
  whose codes it changes.
- A master record's status change (a supplier blocked, an item made obsolete): the open cases
  held by a code naming the record are validated again; while the record is out of use, new
  messages naming it are quarantined.

A few queries whatever the number of records: the stored references, the records and their
codes (one each per kind of record), the blocked cases of every code at once, the systems.
"""

from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.urls import reverse

from changes import registry
from changes.models import ChangeItem
from changes.registry import Impact
from mdm.models import ItemRevision, SourceSystem
from quarantine.models import CaseKey, QuarantineCase
from validation.models import InboundMessage
from xref.models import TARGETS, CrossReference, Kind

REFERENCE = "xref.crossreference"
# The queue's filters by a sender's code or a record's public id (quarantine.filters).
QUEUE_FILTERS = {Kind.SUPPLIER: "supplier", Kind.ITEM: "item", Kind.LOCATION: "plant"}
# The statuses in which a record is in use; in any other, messages naming it are quarantined.
IN_USE = {"active", "released"}
# Master record models (label) -> (kind of their codes, the reference's field naming them).
RECORDS = {model._meta.label_lower: (kind, field) for kind, (field, model) in TARGETS.items()}
Action = ChangeItem.Action


@registry.impact
def quarantine_impact(change_request):
    """The Impacts of a request's items on quarantined messages and systems' codes."""
    items = list(change_request.items.all())
    references = [item for item in items if item.model == REFERENCE]
    statuses = [
        item
        for item in items
        if item.model in RECORDS and item.action == Action.UPDATE and "status" in item.after
    ]
    if not references and not statuses:
        return []
    systems = {
        pk: (code, name)
        for pk, code, name in SourceSystem.objects.values_list("pk", "code", "name")
    }
    moves = _reference_moves(references)
    held = _held_by_records(statuses)
    keys = {key for old, new in moves for key in (old, new) if key}
    keys |= {key for _, _, record_keys in held for key in record_keys}
    blocked = _blocked(keys)
    found = []
    for old, new in moves:
        found += _reference_impact(old, new, blocked, systems)
    changed = sorted({systems[key[0]] for old, new in moves for key in (old, new) if key})
    if changed:
        names = " and ".join(f"{name} ({code})" for code, name in changed)
        found.append(Impact(f"Changes the codes of {names}."))
    for item, record, record_keys in held:
        found += _status_impact(item, record, record_keys, blocked)
    return found


# --- cross-references ----------------------------------------------------------------------


def _reference_moves(items):
    """[(old key, new key)] per reference item, a key (system id, kind, code) or None (a
    creation has no old one, a deletion no new one). The stored reference fills in what
    an update's difference leaves out."""
    ids = [item.object_id for item in items if item.object_id]
    stored = {
        str(row["pk"]): row
        for row in CrossReference.objects.filter(pk__in=ids).values("pk", "system", "kind", "code")
    }
    moves = []
    for item in items:
        base = {**stored.get(item.object_id, {}), **item.before}
        old = _key(base) if item.action != Action.CREATE else None
        new = _key({**base, **item.after}) if item.action != Action.DELETE else None
        moves.append((old, new))
    return moves


def _key(values):
    try:
        return (int(values["system"]), str(values["kind"]), str(values["code"]))
    except (KeyError, TypeError, ValueError):
        return None


def _reference_impact(old, new, blocked, systems):
    found = []
    if new:
        count = len(blocked.get(new, ()))
        if count:
            text = (
                f"{_messages(count)} blocked on {_code_words(new, systems)} would be validated "
                "again."
            )
        else:
            text = f"No quarantined message waits for {_code_words(new, systems)}."
        found.append(Impact(text, _queue_url(new, systems) if count else "", count))
    if old and old != new:
        count = len(blocked.get(old, ()))
        if count:
            found.append(
                Impact(
                    f"{_cases(count)} blocked on {_code_words(old, systems)}, which this change "
                    "takes away, would stay blocked.",
                    _queue_url(old, systems),
                    count,
                )
            )
        found.append(
            Impact(
                f"{_first_up(_code_words(old, systems))} would no longer name the record: new "
                "messages using it are quarantined unless another cross-reference claims it."
            )
        )
    return found


def _code_words(key, systems):
    system_id, kind, code = key
    system_code, name = systems.get(system_id, (str(system_id), str(system_id)))
    words = Kind(kind).label.lower() if kind in Kind.values else kind
    return f"the {words} code “{code}” of {name} ({system_code})"


def _queue_url(key, systems):
    """The queue narrowed to the open cases of one sender's code, when it has that filter."""
    system_id, kind, code = key
    if kind not in QUEUE_FILTERS or system_id not in systems:
        return ""
    query = urlencode({"system": systems[system_id][0], QUEUE_FILTERS[kind]: code})
    return f"{reverse('quarantine:queue')}?{query}"


# --- master records' status -----------------------------------------------------------------


def _held_by_records(items):
    """[(item, record, its codes as keys)] of the items changing a record's status: the
    records read once per model, their codes once per model (quarantine.services.record_keys
    for many records at once: a revision is named by its item's codes too)."""
    found = []
    by_model = {}
    for item in items:
        by_model.setdefault(item.model, []).append(item)
    for label, model_items in by_model.items():
        kind, field = RECORDS[label]
        model = TARGETS[kind][1]
        records = model._base_manager.in_bulk([item.object_id for item in model_items])
        condition = Q(kind=kind, **{f"{field}__in": list(records)})
        if model is ItemRevision:
            condition |= Q(kind=Kind.ITEM, item__in={r.item_id for r in records.values()})
        codes = list(
            CrossReference.objects.filter(condition).values_list(
                f"{field}_id", "item_id", "system_id", "kind", "code"
            )
        )
        for item in model_items:
            record = records.get(_pk(model, item.object_id))
            if record is None:
                continue
            keys = {
                (system_id, code_kind, code)
                for own, item_id, system_id, code_kind, code in codes
                if own == record.pk
                or (model is ItemRevision and code_kind == Kind.ITEM and item_id == record.item_id)
            }
            found.append((item, record, keys))
    return found


def _pk(model, value):
    try:
        return model._meta.pk.to_python(value)
    except ValidationError:  # a malformed id names no record
        return None


def _status_impact(item, record, keys, blocked):
    cases = set().union(*(blocked.get(key, set()) for key in keys)) if keys else set()
    count = len(cases)
    public_id = getattr(record, "public_id", "")
    kind = RECORDS[item.model][0]
    url = ""
    if count and public_id and kind in QUEUE_FILTERS:
        url = f"{reverse('quarantine:queue')}?{urlencode({QUEUE_FILTERS[kind]: public_id})}"
    if count:
        text = f"{_cases(count)} held by {item.label} would be validated again."
    else:
        text = f"No open case is held by {item.label}."
    found = [Impact(text, url, count)]
    status = item.after["status"]
    if status not in IN_USE:
        words = dict(type(record)._meta.get_field("status").flatchoices).get(status, status)
        found.append(
            Impact(
                f"While {item.label} is {str(words).lower()}, new messages naming it will be "
                "quarantined."
            )
        )
    return found


# --- counting ------------------------------------------------------------------------------


def _blocked(keys):
    """{key: {case ids}} of the open cases with a quarantined message blocked on each key
    (as quarantine.services.blocked_cases finds them), in one query."""
    if not keys:
        return {}
    condition = Q()
    for system_id, kind, code in keys:
        condition |= Q(system_id=system_id, kind=kind, code=code)
    rows = (
        CaseKey.objects.filter(
            condition,
            case__status__in=QuarantineCase.OPEN_STATUSES,
            case__message__status=InboundMessage.Status.QUARANTINED,
        )
        .values_list("case_id", "system_id", "kind", "code")
        .distinct()
    )
    found = {}
    for case_id, system_id, kind, code in rows:
        found.setdefault((system_id, kind, code), set()).add(case_id)
    return found


def _first_up(words):
    return words[:1].upper() + words[1:]


def _messages(count):
    return f"{count} quarantined message{'s' if count != 1 else ''}"


def _cases(count):
    return f"{count} open case{'s' if count != 1 else ''}"
