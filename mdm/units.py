"""Units of measure: loading UN/ECE Rec 20 and Rec 21 into `Unit`, and converting quantities.

Global conversions (kilogram to pound, dozen to piece) come from pint, with the unit's pint
expression mapped by Rec 20 code, never by symbol: Rec 20's `kt` is a kilotonne where pint's
is a knot. Pack conversions (a box of 12 for this item, of 10 from that supplier) come from
`ItemUnitConversion`, and an item's net weight links its base unit to mass.

Arithmetic is exact: quantities become fractions, pint runs on fractions, and only the final
result is rounded, to 28 significant digits (the decimal module's default). A result that
terminates within 28 digits is therefore exact: 10 LBR is 4.5359237 KGM, not 4.53592369999.
"""

from collections import defaultdict, deque
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from pathlib import Path

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from core.history import current_change_source
from core.numbers import NumberError, bounded_decimal
from mdm.models import ItemUnitConversion, Unit
from mdm.pint_registry import (
    ConversionError,
    builtin_mappings,
    dimensionality_of,
    mapping_of,
    measures_mass,
    parse_expression,
    read_csv,
    registry,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
REC20_FILE = DATA_DIR / "datahub_units-of-measure_active.csv"
REC20_LEVELS_FILE = DATA_DIR / "datahub_levels.csv"
REC21_FILE = DATA_DIR / "rec21_rev12_annex5_6_package_codes.csv"

# Status markers of Rec 20 section VII, shared by Rec 21.
_STATUSES = {
    "": Unit.Status.ACTIVE,
    "+": Unit.Status.ACTIVE,  # added
    "#": Unit.Status.ACTIVE,  # name changed
    "¦": Unit.Status.ACTIVE,  # characteristic changed
    "=": Unit.Status.ACTIVE,  # reinstated
    "D": Unit.Status.DEPRECATED,
    "X": Unit.Status.DELETED,
}

_UNIT_FIELDS = (
    "name",
    "description",
    "symbol",
    "level_category",
    "status",
    "source",
    "conversion_factor",
    "pint_expression",
    "mapping_class",
)

# Significant digits of a result: the decimal module's default, fixed here so that a caller's
# decimal context cannot change results.
_PRECISION = 28


# --- Loading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    created: int
    updated: int
    unchanged: int
    rec20: int
    rec21: int


def load_units(codes=None):
    """Create or update a Unit for every Rec 20 code and every Rec 21 package code (as X + the
    code), with its pint mapping. Safe to re-run: unchanged units are left alone, and changed
    ones are updated with a history record. `codes` limits the load to those codes."""
    wanted = _reference_units()
    rec20 = sum(1 for values in wanted.values() if values["source"] == Unit.Source.REC20)
    rec21 = len(wanted) - rec20
    if codes is not None:
        unknown = sorted(set(codes) - set(wanted))
        if unknown:
            raise ValueError(f"Not in the Rec 20 or Rec 21 files: {', '.join(unknown)}.")
        wanted = {code: wanted[code] for code in codes}

    source, reference = current_change_source()
    history_attrs = {"change_source": source, "change_reference": reference}
    now = timezone.now()
    with transaction.atomic():
        existing = Unit.objects.in_bulk(list(wanted))
        new, changed, changed_fields = [], [], set()
        for code, values in wanted.items():
            unit = existing.get(code)
            if unit is None:
                new.append(Unit(code=code, **values))
                continue
            differing = [name for name, value in values.items() if getattr(unit, name) != value]
            if differing:
                for name in differing:
                    setattr(unit, name, values[name])
                unit.updated_at = now
                changed.append(unit)
                changed_fields.update(differing)
        if new:
            bulk_create_with_history(
                new, Unit, batch_size=500, custom_historical_attrs=history_attrs
            )
        if changed:
            bulk_update_with_history(
                changed,
                Unit,
                sorted(changed_fields) + ["updated_at"],
                batch_size=500,
                custom_historical_attrs=history_attrs,
            )
    return LoadResult(
        created=len(new),
        updated=len(changed),
        unchanged=len(wanted) - len(new) - len(changed),
        rec20=rec20,
        rec21=rec21,
    )


def _reference_units():
    """Every unit the reference files define: code -> field values."""
    mappings = builtin_mappings()
    levels = {row["LevelAndCategory"] for row in read_csv(REC20_LEVELS_FILE)}
    units = {}
    for row in read_csv(REC20_FILE):
        code = row["CommonCode"].strip()
        expression, mapping_class = mappings.get(code, ("", Unit.MappingClass.UNMAPPED))
        units[code] = {
            "name": row["Name"].strip(),
            "description": row["Description"].strip(),
            "symbol": row["Symbol"].strip(),
            "level_category": _level_category(row["LevelAndCategory"], levels, code),
            "status": _status(row["Status"], code),
            "source": Unit.Source.REC20,
            "conversion_factor": row["ConversionFactor"].strip(),
            "pint_expression": expression,
            "mapping_class": mapping_class,
        }
    for row in read_csv(REC21_FILE):
        code = "X" + row["Code"].strip()
        if code in units:
            raise ValueError(f"Rec 21 package code {code} clashes with a Rec 20 code.")
        # What a box or pallet holds differs by item, so every package is item-specific.
        expression, mapping_class = mappings.get(code, ("", Unit.MappingClass.ITEM_SPECIFIC))
        units[code] = {
            "name": row["Name"].strip(),
            "description": row["Description"].strip(),
            "symbol": "",
            "level_category": "",
            "status": _status(row["Status"], code),
            "source": Unit.Source.REC21,
            "conversion_factor": "",
            "pint_expression": expression,
            "mapping_class": mapping_class,
        }
    unmatched = sorted(set(mappings) - set(units))
    if unmatched:
        raise ValueError(f"The pint map names codes no file defines: {', '.join(unmatched)}.")
    return units


def _status(marker, code):
    try:
        return _STATUSES[marker.strip()]
    except KeyError:
        raise ValueError(f"Unknown status {marker!r} for unit {code}.") from None


def _level_category(text, levels, code):
    # The datahub file writes some levels as floats ("2.0"); Rec 20 prints "2".
    parts = [part.strip().removesuffix(".0") for part in text.split(",") if part.strip()]
    unknown = [part for part in parts if part not in levels]
    if unknown:
        raise ValueError(f"Unknown level/category {', '.join(unknown)} for unit {code}.")
    return ",".join(parts)


def _pint_convert(value, source, target):
    magnitude, units, _ = parse_expression(mapping_of(source)[0])
    target_magnitude, target_units, _ = parse_expression(mapping_of(target)[0])
    converted = registry().Quantity(value * magnitude, units).to(target_units).magnitude
    return Fraction(converted) / target_magnitude


# --- Conversion ----------------------------------------------------------------------------


@dataclass
class Conversion:
    """The result of a conversion: the quantity, warnings for the caller (deprecated units),
    and the unit codes it went through, e.g. ["XPX", "XBX", "H87", "DZN"]."""

    quantity: Decimal
    warnings: list[str] = field(default_factory=list)
    path: list[str] = field(default_factory=list)


def convert(quantity, from_unit, to_unit, item=None, supplier=None, on_date=None):
    """`quantity` in `from_unit` expressed in `to_unit`, as a Decimal. See convert_detailed."""
    return convert_detailed(quantity, from_unit, to_unit, item, supplier, on_date).quantity


def convert_detailed(quantity, from_unit, to_unit, item=None, supplier=None, on_date=None):
    """Convert `quantity` (int, str, Decimal or float) from one unit to another (Unit
    instances or codes) and return a Conversion.

    Without an item only global conversions apply (pint). With an item, its pack conversions
    valid on `on_date` (default today) apply in both directions, the ones for `supplier`
    replacing generic ones between the same two units, and its net weight links its base unit
    to mass. Raises ConversionError when the conversion is impossible or a unit is refused."""
    value = _as_fraction(quantity)
    source, target = _resolve(from_unit), _resolve(to_unit)
    for unit in (source, target):
        refusal = unit.usable_error()
        if refusal:
            raise ConversionError(refusal)
    if source.code == target.code:
        steps, nodes = [], {}
    else:
        edges, nodes = ({}, {}) if item is None else _item_graph(item, supplier, on_date)
        nodes = {**nodes, source.code: source, target.code: target}
        steps = find_path(source.code, target.code, edges, nodes)
        if steps is None:
            raise _no_conversion(source, target, item)
    for step_source, step_target, factor in steps:
        if factor is None:
            value = _pint_convert(value, nodes[step_source], nodes[step_target])
        else:
            value *= factor
    units = [source] + [nodes[step_target] for _, step_target, _ in steps]
    warnings = [_deprecation(unit) for unit in _unique(units) if _deprecation(unit)]
    return Conversion(_as_decimal(value), warnings, [unit.code for unit in units])


def is_mass(unit):
    """Whether a unit (instance or code) measures mass, e.g. KGM, LBR, TNE."""
    return measures_mass(_resolve(unit))


def are_compatible(a, b):
    """Whether two units (instances or codes) convert into each other without an item."""
    a, b = _resolve(a), _resolve(b)
    if a.code == b.code:
        return True
    dimensionality = dimensionality_of(a)
    return dimensionality is not None and dimensionality == dimensionality_of(b)


def _resolve(unit):
    if isinstance(unit, Unit):
        return unit
    if not isinstance(unit, str):
        raise ConversionError(f"Give a unit as a Unit or its code, not {unit!r}.")
    found = Unit.objects.filter(pk=unit.strip().upper()).first()
    if found is None:
        raise ConversionError(f"Unknown unit code {unit!r}.")
    return found


def _deprecation(unit):
    if unit.status == Unit.Status.DEPRECATED:
        return (
            f"Unit {unit.code} ({unit.name}) is deprecated in UN/ECE Rec 20; "
            "use an active unit where you can."
        )
    return None


def _as_fraction(quantity):
    if isinstance(quantity, bool):
        raise ConversionError(f"{quantity!r} is not a quantity.")
    # Bounded before Fraction(): 1e999999999 as a fraction is a billion-digit integer.
    try:
        return Fraction(bounded_decimal(quantity))
    except NumberError as exc:
        raise ConversionError(str(exc)) from None


def _as_decimal(value):
    with localcontext() as context:
        context.prec = _PRECISION
        context.rounding = ROUND_HALF_EVEN
        result = (Decimal(value.numerator) / Decimal(value.denominator)).normalize()
        _, digits, exponent = result.as_tuple()
        if exponent > 0 and len(digits) + exponent <= _PRECISION:
            result = result.quantize(Decimal(1))  # 1E+6 -> 1000000
    return result


def _unique(units):
    seen = set()
    return [unit for unit in units if not (unit.code in seen or seen.add(unit.code))]


def global_factor(source, target):
    """How many `target` one `source` (Unit instances) is by their global (pint) conversion,
    as a Fraction of the Decimal convert() answers. Remembered per process by the units'
    mappings: pint's answer for a pair of mappings never changes."""
    key = (_unit_key(source), _unit_key(target))
    if key not in _GLOBAL_FACTORS:
        _GLOBAL_FACTORS[key] = Fraction(convert(1, source, target))
    return _GLOBAL_FACTORS[key]


_GLOBAL_FACTORS = {}


def _unit_key(unit):
    return (unit.code, unit.pint_expression, unit.mapping_class, unit.status)


def _item_graph(item, supplier, on_date):
    """The item's conversions valid on `on_date` as edges in both directions: code ->
    [(code, factor)], plus every unit they touch: code -> Unit."""
    on_date = on_date or timezone.localdate()
    suppliers = Q(supplier__isnull=True)
    if supplier is not None:
        suppliers |= Q(supplier=supplier)
    rows = (
        ItemUnitConversion.objects.filter(item=item)
        .filter(suppliers)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on_date))
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on_date))
        .select_related("from_unit", "to_unit")
        .order_by("supplier_id", "from_unit_id", "to_unit_id")
    )
    rows = sorted(rows, key=lambda row: row.supplier_id is None)  # supplier-specific first
    supplier_pairs = {frozenset((r.from_unit_id, r.to_unit_id)) for r in rows if r.supplier_id}
    edges, nodes = defaultdict(list), {item.base_unit_id: item.base_unit}
    for row in rows:
        pair = frozenset((row.from_unit_id, row.to_unit_id))
        if row.supplier_id is None and pair in supplier_pairs:
            continue  # the supplier's own conversion between these units wins
        _add_edge(edges, nodes, row.from_unit, row.to_unit, Fraction(row.factor))
    if item.net_weight and item.weight_unit_id and item.weight_unit_id != item.base_unit_id:
        _add_edge(edges, nodes, item.base_unit, item.weight_unit, Fraction(item.net_weight))
    return edges, nodes


def _add_edge(edges, nodes, source, target, factor):
    nodes[source.code], nodes[target.code] = source, target
    edges[source.code].append((target.code, factor))
    edges[target.code].append((source.code, 1 / factor))


def find_path(start, goal, edges, units):
    """The shortest chain of conversions from unit code `start` to `goal`, breadth first:
    through an item's own conversions (`edges`: code -> [(code, Fraction factor)], both
    directions) and the global (pint) conversions between any two of `units` (code -> Unit:
    the units the edges touch, with start and goal) of one dimensionality. Deleted units are
    never passed through. Returns the steps [(from code, to code, factor)], the factor None
    for a global conversion; [] when start is goal; None when no chain leads there.

    The one search of the conversion graph: convert() walks it with exact pint arithmetic,
    validation.enrich multiplies its factors (global ones by global_factor())."""
    nodes = {code: unit for code, unit in units.items() if unit.status != Unit.Status.DELETED}
    if start not in nodes or goal not in nodes:
        return None
    dimensions = {code: dimensionality_of(unit) for code, unit in nodes.items()}
    came_by = {start: None}
    queue = deque([start])
    while queue and goal not in came_by:
        code = queue.popleft()
        steps = list(edges.get(code, ()))
        if dimensions[code] is not None:
            steps += [
                (other, None)
                for other in sorted(nodes)
                if other != code and dimensions[other] == dimensions[code]
            ]
        for other, factor in steps:
            if other in nodes and other not in came_by:
                came_by[other] = (code, other, factor)
                queue.append(other)
    if goal not in came_by:
        return None
    path, code = [], goal
    while came_by[code] is not None:
        path.append(came_by[code])
        code = came_by[code][0]
    return path[::-1]


_KINDS = {
    (): "a plain number",
    (("[piece]", 1),): "a count",
    (("[mass]", 1),): "a mass",
    (("[length]", 1),): "a length",
    (("[length]", 2),): "an area",
    (("[length]", 3),): "a volume",
    (("[time]", 1),): "a time",
    (("[temperature]", 1),): "a temperature",
    (("[length]", 1), ("[time]", -1)): "a speed",
    (("[length]", 2), ("[mass]", 1), ("[time]", -2)): "an energy",
    (("[length]", 2), ("[mass]", 1), ("[time]", -3)): "a power",
    (("[length]", -1), ("[mass]", 1), ("[time]", -2)): "a pressure",
}


def _kind(dimensionality):
    key = tuple(sorted(dict(dimensionality).items()))
    if key in _KINDS:
        return _KINDS[key]
    return "a quantity of dimension " + " ".join(f"{name}^{power}" for name, power in key)


def _no_conversion(source, target, item):
    head = f"Cannot convert {source.code} ({source.name}) to {target.code} ({target.name})"
    if item is not None:
        head += f" for item {item.number}"
    kinds = {}
    for unit in (source, target):
        dimensionality = dimensionality_of(unit)
        kinds[unit.code] = None if dimensionality is None else _kind(dimensionality)
    involves_mass = "a mass" in kinds.values()
    if None not in kinds.values():
        reason = f"{source.name} is {kinds[source.code]} and {target.name} {kinds[target.code]}"
        if involves_mass and "a count" in kinds.values():
            hint = "give the item's net weight or a conversion for this item"
        else:
            hint = "give a conversion for this item"
    elif item is None:
        unit = source if kinds[source.code] is None else target
        reason = _why_no_global_conversion(unit)
        if mapping_of(unit)[1] == Unit.MappingClass.CALENDAR:
            hint = "count working days with the location's calendar instead"
        else:
            hint = "give the item and a conversion for it"
    else:
        reason = f"none of this item's conversions leads from {source.code} to {target.code}"
        hint = f"add one, e.g. 1 {source.code} = n {target.code}"
        if involves_mass:
            hint += ", or give the item's net weight"
    return ConversionError(f"{head}: {reason}; {hint}.")


def _why_no_global_conversion(unit):
    mapping_class = mapping_of(unit)[1]
    if mapping_class == Unit.MappingClass.ITEM_SPECIFIC:
        return f"what one {unit.name} holds differs by item"
    if mapping_class == Unit.MappingClass.CALENDAR:
        return f"{unit.name} depends on a working calendar"
    if mapping_class == Unit.MappingClass.NOT_PHYSICAL:
        return f"{unit.name} is not a physical quantity"
    return f"{unit.name} has no conversion defined in the hub"
