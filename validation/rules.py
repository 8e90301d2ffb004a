"""The reference rules: whether the codes of a message mean something, one plain function
per rule code, marked with `@rule` (validation.registry) and a Finding for each problem.

A Finding names the field, the value, a human sentence and a suggestion where one exists.
The message types' fields are validation.layouts.LAYOUTS.

A purchase order line's revision is the item's revision code as the hub knows it
(ItemRevision.revision, "B"), not a cross-reference: engineering revisions are the same in
every system. Dates checked against the receiving location's calendar: a purchase order's
need_by and a ship notice's expected_delivery (the ship-to's). An acknowledgement's
committed_date is checked against its order's supplier site calendar by the business controls
(validation.controls), which also correlate acknowledgements, ship notices and receipts with
the released purchase orders.
"""

import datetime
from decimal import Decimal

from core.numbers import NumberError, bounded_decimal
from mdm.models import ItemRevision, Location
from validation.layouts import (
    CODE_VALUE,
    ITEM,
    KIND_NAMES,
    LOCATION,
    REJECTED_STATUS,
    SITE,
    SUPPLIER,
    UNIT,
)
from validation.registry import Finding, rule
from xref import described, near_miss
from xref.resolve import AMBIGUOUS, NOT_YET_VALID, RESOLVED, RETIRED
from xref.services import REVISION_SEPARATOR

# Quantities: at most this many decimal places, and below this size (a quantity beyond it is
# a unit or a field mixed up, and would overflow the receiving systems' number fields).
MAX_DECIMALS = 6
MAX_QUANTITY = Decimal(10) ** 12


# --- helpers -------------------------------------------------------------------------------


def _has(layout, kind, role=None):
    return any(
        field.kind == kind and (role is None or field.role == role)
        for field in (*layout.header, *layout.lines)
    )


def _answers(facts, obj):
    """{kind: (field, value, answer)} of the resolved code fields of obj (first of a kind)."""
    found = {}
    for field in facts.fields:
        value = obj.get(field.name)
        if isinstance(value, str) and field.kind not in found:
            answer = facts.answer(field.kind, value)
            if answer is not None and answer["status"] == RESOLVED:
                found[field.kind] = (field, value, answer)
    return found


def _label(record):
    name = record.get("description") or record.get("name") or record.get("meaning") or ""
    code = record.get("number") or record.get("code") or ""
    text = " ".join(part for part in (code, name) if part)
    return f"{record['id']} ({text})" if text else record["id"]


def _system_label(facts, plant=""):
    return facts.system.code + (f" (plant scope {plant})" if plant else "")


# --- the rules -----------------------------------------------------------------------------


@rule("XREF_UNRESOLVED", per="field", hints=True)
def xref_unresolved(facts, field, value, answer, plant, hints=()):
    """Every code resolves in the sender's cross-references at the business date. An unknown
    code's candidates: its near misses among the sender's codes, the matcher's for the code,
    and the records the object's `hints` describe (an item's description, MPN and GTIN, a
    supplier's name), one entry per record, best first, each with its reason."""
    if answer is not None and answer["status"] != RESOLVED:
        return _unresolved(facts, field, value, answer, hints)
    return None


def _unresolved(facts, field, value, answer, hints=()):
    kind = KIND_NAMES.get(field.kind, field.kind)
    where = _system_label(facts, facts.scope)
    status = answer["status"]
    if status == RETIRED:
        successor = answer.get("successor")
        message = (
            f"{where} {kind} code {value!r} was retired on {_day(answer['valid_to'])}; it meant "
            f"{answer['id']}."
        )
        suggestion = (
            f"Use {successor['system']} code {successor['code']!r}"
            + (f" (scope {successor['scope']})" if successor.get("scope") else "")
            + (f", valid from {_day(successor['valid_from'])}" if successor["valid_from"] else "")
            + "."
            if successor
            else None
        )
        return Finding(field.name, value, message, suggestion)
    if status == NOT_YET_VALID:
        message = (
            f"{where} {kind} code {value!r} is valid only from {_day(answer['valid_from'])} "
            f"(it will mean {answer['id']})."
        )
        return Finding(field.name, value, message, "Send it on or after that date.")
    if status == AMBIGUOUS:
        options = ", ".join(f"{m['scope'] or 'unscoped'}: {m['id']}" for m in answer["matches"])
        message = (
            f"{where} {kind} code {value!r} means different records in different scopes "
            f"({options}), and the message does not say which."
        )
        return Finding(field.name, value, message, "Send a code that is unique in the system.")
    found = described.merged(
        facts.fuzzy_candidates(field.kind, value, answer.get("candidates")),
        facts.described_candidates(field.kind, hints),
    )
    message = f"{where} has no {kind} code {value!r} on {facts.as_of.isoformat()}."
    if not found:
        return Finding(
            field.name,
            value,
            message,
            f"Register {value!r} as a {facts.system.code} cross-reference.",
        )
    warning = near_miss.describe_for_registration(value, found)
    if warning:
        # The warning names the best near miss and why; the other near misses by id and
        # name, the records the message's other fields describe with what agreed.
        named = next(c["id"] for c in found if c.get("source") == near_miss.SOURCE)
        others = ", ".join(
            _candidate_text(
                {**c, "reason": "", "score": None} if c.get("source") == near_miss.SOURCE else c
            )
            for c in found
            if c["id"] != named
        )
        suggestion = f"{warning} Other candidates: {others}." if others else warning
    else:
        listed = ", ".join(_candidate_text(candidate) for candidate in found)
        suggestion = f"Did you mean {listed}?"
    return Finding(
        field.name,
        value,
        message,
        suggestion,
        {"candidates": [_json_safe(candidate) for candidate in found]},
    )


def _candidate_text(candidate):
    record = candidate.get("record") if isinstance(candidate.get("record"), dict) else candidate
    identifier = record.get("id") or record.get("public_id") or candidate.get("id") or "?"
    name = record.get("name") or record.get("description") or record.get("label") or ""
    score = candidate.get("score")
    text = f"{identifier} {name}".strip()
    if candidate.get("reason"):
        return f"{text} ({candidate['reason']})"
    return f"{text} ({score:.0f}% likely)" if isinstance(score, int | float) else text


def _json_safe(value):
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _day(value):
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _resolved(field, answer, kind):
    return field.kind == kind and answer is not None and answer["status"] == RESOLVED


@rule("ITEM_OBSOLETE", per="field", applies=lambda layout: _has(layout, ITEM))
def item_obsolete(facts, field, value, answer, plant):
    """The item is not obsolete."""
    if _resolved(field, answer, ITEM) and answer["record"]["status"] == "obsolete":
        return Finding(
            field.name,
            value,
            f"Item {_label(answer['record'])} is obsolete.",
            "Order, plan or ship its successor, or ask the item's owner to reactivate it.",
        )
    return None


@rule("ITEM_BLOCKED", per="field", applies=lambda layout: _has(layout, ITEM))
def item_blocked(facts, field, value, answer, plant):
    """The item is not blocked."""
    if _resolved(field, answer, ITEM) and answer["record"]["status"] == "blocked":
        return Finding(
            field.name,
            value,
            f"Item {_label(answer['record'])} is blocked.",
            "Ask the item's owner why it is blocked, then replay the message.",
        )
    return None


@rule("REVISION_OBSOLETE", applies=lambda layout: layout.revision)
def revision_obsolete(facts, obj):
    """A named revision of the line's item exists, is released and is effective at the
    business date."""
    field = facts.layout.revision
    if not isinstance(obj.get(field), str):
        return
    item = _answers(facts, obj).get(ITEM)
    if item is None:
        return
    revision = obj[field]
    found = facts.remember(
        ("REVISION_OBSOLETE", item[2]["id"], revision),
        lambda: _revision_problem(facts, item[2], revision),
    )
    if found:
        yield Finding(field, revision, *found)


def _revision_problem(facts, item, revision):
    """(message, suggestion) when the revision may not be used, else None."""
    day = facts.as_of
    rows = facts.revisions.get(facts.items.get(item["id"]), [])
    effective = [
        code
        for code, status, start, end in rows
        if status == ItemRevision.Status.RELEASED and start <= day and (end is None or day <= end)
    ]
    suggestion = (
        f"Use revision {effective[0]}, effective on {day.isoformat()}." if effective else None
    )
    named = next((row for row in rows if row[0] == revision), None)
    label = f"Revision {revision} of item {_label(item)}"
    if named is None:
        return f"Item {_label(item)} has no revision {revision!r}.", suggestion
    _, status, start, end = named
    if status == ItemRevision.Status.OBSOLETE:
        return f"{label} is obsolete.", suggestion
    if start > day or (end is not None and end < day):
        period = f"{start.isoformat()} to {end.isoformat() if end else 'open'}"
        return f"{label} is not effective on {day.isoformat()} (effective {period}).", suggestion
    return None


@rule("SUPPLIER_INACTIVE", per="field", applies=lambda layout: _has(layout, SUPPLIER))
def supplier_inactive(facts, field, value, answer, plant):
    """The supplier is active."""
    if _resolved(field, answer, SUPPLIER) and answer["record"]["status"] != "active":
        return Finding(
            field.name,
            value,
            f"Supplier {_label(answer['record'])} is {answer['record']['status']}.",
            "Send it to an active supplier, or ask procurement to reactivate this one.",
        )
    return None


@rule("SUPPLIER_SITE_INACTIVE", per="field", applies=lambda layout: _has(layout, SITE))
def supplier_site_inactive(facts, field, value, answer, plant):
    """The supplier site is active."""
    if _resolved(field, answer, SITE) and answer["record"]["status"] != "active":
        record = answer["record"]
        return Finding(
            field.name,
            value,
            f"Supplier site {answer['id']} ({record['code']}) of supplier {record['supplier']} "
            f"is {record['status']}.",
            "Use one of the supplier's active sites.",
        )
    return None


@rule("SHIP_TO_INVALID", per="field", applies=lambda layout: _has(layout, LOCATION, "ship_to"))
def ship_to_invalid(facts, field, value, answer, plant):
    """A location goods are delivered to is active, can receive, and belongs to a plant (is
    the plant or lies below it). The contracts name no separate plant: the plant of the
    message is the ship-to's own."""
    if field.role != "ship_to" or not _resolved(field, answer, LOCATION):
        return None
    place = facts.place(value)
    if place is None:
        return None
    label = f"{answer['id']} ({place.code})"
    if place.status != Location.Status.ACTIVE:
        problem = f"Ship-to {label} is {place.status}."
    elif place.kind == Location.Kind.SUPPLIER_SITE:
        problem = f"Ship-to {label} is a supplier's site, not a location of ours."
    elif not place.can_receive:
        problem = f"Ship-to {label} is a {place.kind.replace('_', ' ')} that cannot receive."
    elif place.plant_pk is None:
        problem = f"Ship-to {label} belongs to no plant."
    else:
        return None
    return Finding(
        field.name,
        value,
        problem,
        "Ship to a receiving location of the plant (its goods receipt or warehouse).",
    )


@rule(
    "FORECAST_LOCATION_NOT_PLANT",
    per="field",
    applies=lambda layout: _has(layout, LOCATION, "plant"),
)
def forecast_location_not_plant(facts, field, value, answer, plant):
    """A forecast line's location is an active plant."""
    if field.role != "plant" or not _resolved(field, answer, LOCATION):
        return None
    record = answer["record"]
    if record["kind"] != Location.Kind.PLANT:
        kind = record["kind"].replace("_", " ")
        return Finding(
            field.name,
            value,
            f"Forecast location {_label(record)} is a {kind}, not a plant.",
            "Forecast at the plant the location belongs to.",
        )
    if record["status"] != Location.Status.ACTIVE:
        return Finding(
            field.name,
            value,
            f"Forecast plant {_label(record)} is {record['status']}.",
            "Forecast at an active plant.",
        )
    return None


@rule("UNIT_NOT_CONVERTIBLE", applies=lambda layout: _has(layout, UNIT))
def unit_not_convertible(facts, obj):
    """The unit converts to the item's base unit (for the message's supplier, if any)."""
    item_field, unit_field = facts.item_field, facts.unit_field
    if item_field is None or unit_field is None:
        return
    pair = (obj.get(item_field.name), obj.get(unit_field.name))
    key = ("UNIT_NOT_CONVERTIBLE", pair)
    if key not in facts.memo:
        facts.memo[key] = _unconvertible(facts, item_field, unit_field, *pair)
    if facts.memo[key] is not None:
        yield facts.memo[key]


def _unconvertible(facts, item_field, unit_field, item_code, unit_code):
    item = facts.answer(ITEM, item_code) if isinstance(item_code, str) else None
    unit = facts.answer(UNIT, unit_code) if isinstance(unit_code, str) else None
    if not item or not unit or item["status"] != RESOLVED or unit["status"] != RESOLVED:
        return None
    record = item["record"]
    _, problem = facts.factor(
        facts.items.get(record["id"]), record["base_unit"], unit["id"], facts.supplier_pk
    )
    if problem is None:
        return None
    return Finding(
        unit_field.name,
        unit_code,
        f"{facts.system.code} unit {unit_code!r} means {unit['id']}. {problem}",
        f"Send the quantity in the item's base unit {record['base_unit']}, or add a "
        f"conversion from {unit['id']} for item {record['id']}.",
    )


@rule("NOT_A_WORKING_DAY", applies=lambda layout: layout.header_dates or layout.line_dates)
def not_a_working_day(facts, obj):
    """Delivery dates fall on working days of the receiving location's calendar."""
    names = facts.layout.header_dates if facts.header is None else facts.layout.line_dates
    if not names:
        return
    place = facts.receiving
    if place is None or place.calendar is None:
        return
    for name in names:
        value = obj.get(name)
        if not isinstance(value, str):
            continue
        found = facts.remember(("NOT_A_WORKING_DAY", value), lambda v=value: _day_off(place, v))
        if found:
            yield Finding(name, value, *found)


def _day_off(place, value):
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        return None
    calendar = place.calendar
    if calendar.is_working_day(day):
        return None
    info = calendar.day_info(day)
    try:
        following = calendar.next_working_day(day)
    except ValueError:
        following = None
    return (
        f"{day.isoformat()} is not a working day at {place.public_id} ({place.code}), calendar "
        f"{calendar.code}: {info.reason}.",
        f"The next working day is {following.isoformat()}." if following else None,
    )


@rule("QUANTITY_INVALID")
def quantity_invalid(facts, obj):
    """A quantity is a finite number above zero (or zero where that means something: a
    stock of none, a rejected acknowledgement line), below MAX_QUANTITY, with at most
    MAX_DECIMALS decimal places."""
    name = facts.layout.quantity
    if name not in obj:
        return
    value = obj[name]
    problem = quantity_problem(value, facts.layout.zero_allowed or _rejected(facts, obj))
    if problem:
        yield Finding(name, value, *problem)


def quantity_problem(value, zero_allowed):
    """(message, suggestion) when `value` is not a valid quantity, else None."""
    kind = value.__class__
    if kind is int:
        if 0 < value < MAX_QUANTITY:
            return None  # the common case, without Decimal arithmetic
        number = Decimal(value)
    elif kind is not float and kind is not str:
        return f"{value!r} is not a quantity.", None
    else:
        try:
            number = bounded_decimal(value)  # core.numbers: no arithmetic on 1e999999999
        except NumberError as exc:
            return str(exc), None
    if number < 0 or (number == 0 and not zero_allowed):
        wanted = "zero or more" if zero_allowed else "above zero"
        return f"Quantity {value} is not {wanted}.", None
    if number >= MAX_QUANTITY:
        return (
            f"Quantity {value} is too large (at most {MAX_QUANTITY:,.0f}).",
            "Check the unit and the field: this looks like a different number.",
        )
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        decimals = -number.normalize().as_tuple().exponent
        if decimals > MAX_DECIMALS:
            return (
                f"Quantity {value} has {decimals} decimal places; at most {MAX_DECIMALS} are kept.",
                f"Round it to {MAX_DECIMALS} decimal places.",
            )
    return None


def _rejected(facts, obj):
    """Whether an acknowledgement line says the supplier rejected it (then zero is meant)."""
    status = obj.get("status")
    if not isinstance(status, str):
        return False
    answer = facts.answer(CODE_VALUE, status)
    return bool(answer) and answer["status"] == RESOLVED and answer["id"] == REJECTED_STATUS


@rule("NO_TARGET_CODE", per="field", applies=lambda layout: bool(layout.targets))
def no_target_code(facts, field, value, answer, plant):
    """Every record the target system needs has a code there (a warning by default: the
    released payload then lacks that system's code)."""
    if answer is None or answer["status"] != RESOLVED:
        return None
    for target_kind, kinds in facts.layout.targets.items():
        systems = facts.systems.of_kind(target_kind)
        if field.kind not in kinds or not systems:
            continue
        record = facts.target(field.kind, value)
        if any(facts.code_in(system, field.kind, record, plant) for system in systems):
            continue
        names = " or ".join(facts.systems.code[system] for system in systems)
        kind = KIND_NAMES.get(field.kind, field.kind)
        return Finding(
            field.name,
            value,
            f"{names} has no code for {kind} {answer['id']} on {facts.as_of.isoformat()}, so "
            "the released message carries none for it.",
            f"Add a preferred {names} cross-reference for {answer['id']}.",
        )
    return None


def revision_id(item_id, revision):
    return f"{item_id}{REVISION_SEPARATOR}{revision}"
