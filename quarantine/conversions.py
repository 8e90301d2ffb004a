"""Fix a UNIT_NOT_CONVERTIBLE case from its page: add the item's missing pack conversion and
replay the message, in one step.

`missing_conversions(case)` reads the case's UNIT_NOT_CONVERTIBLE errors and resolves the
codes of their lines as validation did (validation.enrich.Facts: the sender's codes, the
plant scope of the message, its supplier), so the form is pre-filled with the master records:
the item, the message's supplier, the unit sent and the item's base unit. `add_conversion`
saves the conversion the way the admin and the API do (the model's `full_clean()`, then
`save()`, which writes its history), and replays the message, in one transaction: a refused
factor or a clash with an existing conversion saves nothing and replays nothing. When a policy
says a new conversion needs approval (changes), it is asked for in a change request instead
(quarantine.approvals) and the case waits: a conversion's approval replays nothing by itself
(no signal announces conversions), so the steward replays the case once it is approved.
"""

import dataclasses
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from core.numbers import NumberError, bounded_decimal
from mdm.models import Item, ItemUnitConversion, Supplier, Unit
from quarantine import approvals
from quarantine.models import QuarantineCase
from quarantine.services import (
    CaseConflict,
    _busy_check,
    _lock,
    _name,
    _record,
    _refresh,
    _replay_message,
    can_act,
)
from validation.enrich import Facts, Systems
from validation.layouts import ITEM, LAYOUTS, UNIT
from validation.pipeline import header_date, header_of

RULE = "UNIT_NOT_CONVERTIBLE"
ADD_PERMISSION = "mdm.add_itemunitconversion"
_LINE = re.compile(r"^\$\.lines\[(\d+)\]\.")


@dataclasses.dataclass(frozen=True)
class MissingConversion:
    """A conversion the case lacks: 1 `from_unit` = ? `to_unit` for `item` (from `supplier`,
    the message's, when it has one). `code` is the unit as the sender wrote it."""

    item: Item
    from_unit: Unit
    to_unit: Unit
    supplier: Supplier | None
    code: str
    path: str


def can_add(user):
    """A steward who may also add unit conversions (mdm.add_itemunitconversion)."""
    return can_act(user) and user.has_perm(ADD_PERMISSION)


def missing_conversions(case):
    """The conversions an open case's UNIT_NOT_CONVERTIBLE errors ask for, one per distinct
    (item, unit sent), in the order of the diagnostics; [] for any other case."""
    message = case.message
    paths = [
        d.get("path") or ""
        for d in case.diagnostics
        if d.get("rule") == RULE
        and d.get("severity") == "error"
        and d.get("part") in (None, message.part_number)
    ]
    layout = LAYOUTS.get(case.message_type)
    payload = message.payload if isinstance(message.payload, dict) else {}
    lines = payload.get("lines") if isinstance(payload.get("lines"), list) else []
    if not case.is_open or not paths or layout is None or not lines:
        return []
    header = header_of(payload)
    systems = Systems(case.system)
    as_of = header_date(case.message_type, message.schema_version, header)
    head = Facts(systems=systems, as_of=as_of, layout=layout).load([header])
    wanted = []
    for path in paths:
        match = _LINE.match(path)
        index = int(match[1]) if match else None
        if index is not None and index < len(lines) and isinstance(lines[index], dict):
            wanted.append((path, lines[index]))
    if not wanted:
        return []
    facts = Facts(systems=systems, as_of=as_of, layout=layout, header=head)
    facts.load([line for _, line in wanted])
    found, seen = [], set()
    for path, line in wanted:
        item_code, unit_code = line.get(facts.item_field.name), line.get(facts.unit_field.name)
        item_pk = facts.target(ITEM, item_code) if isinstance(item_code, str) else None
        unit = facts.target(UNIT, unit_code) if isinstance(unit_code, str) else None
        if item_pk is None or unit is None or (item_pk, unit) in seen:
            continue
        seen.add((item_pk, unit))
        found.append((path, unit_code, item_pk, unit))
    items = Item.objects.select_related("base_unit").in_bulk({pk for _, _, pk, _ in found})
    units = Unit.objects.in_bulk({unit for *_, unit in found})
    supplier_pk = head.supplier_pk if layout.supplier_field else None
    supplier = Supplier.objects.filter(pk=supplier_pk).first() if supplier_pk else None
    return [
        MissingConversion(
            item=items[item_pk],
            from_unit=units[unit],
            to_unit=items[item_pk].base_unit,
            supplier=supplier,
            code=code,
            path=path,
        )
        for path, code, item_pk, unit in found
        if item_pk in items and unit in units and unit != items[item_pk].base_unit_id
    ]


def add_conversion(case, *, by, entry, factor, for_supplier=True):
    """Add the conversion the case's `entry`-th missing conversion asks for (1 from-unit =
    `factor` to-units; for the message's supplier only when `for_supplier` and it has one)
    and replay the message. Returns (case, conversion).

    PermissionDenied for a user who is not a steward allowed to add conversions;
    ValidationError for a refused factor or a conversion the model refuses (nothing is saved);
    CaseConflict when the case is closed, being replayed, or no longer lacks that conversion.
    Returns (case, change request) when a policy says the conversion needs approval: nothing
    is saved or replayed, and the case says it waits for the request.
    """
    if not can_add(by):
        raise PermissionDenied(
            "Adding a unit conversion needs the steward role and the permission to add "
            "conversions (mdm.add_itemunitconversion)."
        )
    try:
        factor = bounded_decimal(factor)
    except NumberError as exc:
        raise ValidationError({"factor": str(exc)}) from None
    with transaction.atomic():
        locked = _lock(case, "conversion")
        _busy_check(locked)
        missing = missing_conversions(locked)
        if not 0 <= entry < len(missing):
            raise CaseConflict(f"Case {case.pk} no longer lacks that conversion; reload the case.")
        wanted = missing[entry]
        conversion = ItemUnitConversion(
            item=wanted.item,
            supplier=wanted.supplier if for_supplier else None,
            from_unit=wanted.from_unit,
            to_unit=wanted.to_unit,
            factor=factor,
        )
        conversion.full_clean()
        asked = approvals.ask_for(locked, conversion, by)
        if asked is not None:
            then = "replay the case once it is approved (an approval does not replay it)."
            what = f"Unit conversion {describe(conversion)}"
            _record(locked, locked.status, by, approvals.waits(what, asked, by, then))
            _refresh(case, locked)
            return case, asked
        conversion._history_user = by  # the history says who, outside a request too
        conversion.save()
        _replay_message(locked, by, kind=QuarantineCase.Resolution.CONVERSION)
        _record(
            locked,
            locked.status,
            by,
            f"Unit conversion {describe(conversion)} added by {_name(by)}; replayed.",
        )
    _refresh(case, locked)
    return case, conversion


def describe(conversion):
    """1 XBX = 12 H87 for ITM-000023 from supplier SUP-000001: the conversion in a line."""
    factor = f"{conversion.factor.normalize():f}"
    text = (
        f"1 {conversion.from_unit_id} = {factor} {conversion.to_unit_id} "
        f"for {conversion.item.public_id}"
    )
    if conversion.supplier_id:
        text += f" from supplier {conversion.supplier.public_id}"
    return text
