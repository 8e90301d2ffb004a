"""The hub's pint registry and the pint unit each UN/ECE Rec 20 code stands for.

Apart from mdm.units (which loads units and converts quantities, and so reads the models)
because the models need it too: an item's clean() asks whether its weight unit measures
mass. This module reads no model but Unit's own definition, so the dependency runs one way:
mdm.units -> mdm.models -> mdm.pint_registry.
"""

import csv
import threading
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from mdm.models.units import Unit

PINT_MAP_FILE = Path(__file__).resolve().parent / "data" / "rec20_pint_curated_map.csv"

# Units the hub adds to pint's default registry. Counts get a dimension of their own so that
# 12 pieces never silently equal the plain number 12 or 1200 percent.
HUB_DEFINITIONS = (
    "piece = [piece] = _ = each = number_of_articles",
    "pair = 2 * piece",
    "dozen = 12 * piece",
    "gross = 144 * piece",
    "hundred = 100 * piece",
    "thousand = 1000 * piece",
    "ten_pack = 10 * piece",
    "ppb = 1e-9",  # pint has ppm but no ppb
)

# Codes the curated map leaves to the hub's own definitions above: (expression, class).
# C62 "one" (synonym: unit) is mapped to piece as well: in purchase orders and e-invoices
# (UBL, Peppol) C62, H87 and EA are used interchangeably for counted goods, so a C62 order
# line must convert to an H87 base unit. The price is that C62 cannot mean a plain ratio;
# percent (P1), ppm (59) and ppb (61) remain dimensionless for that.
_HUB_MAPPINGS = {
    "C62": ("piece", Unit.MappingClass.COUNT),
    "H87": ("piece", Unit.MappingClass.CUSTOM),
    "EA": ("each", Unit.MappingClass.CUSTOM),
    "NAR": ("number_of_articles", Unit.MappingClass.CUSTOM),
    "PR": ("pair", Unit.MappingClass.CUSTOM),
    "DZN": ("dozen", Unit.MappingClass.CUSTOM),
    "GRO": ("gross", Unit.MappingClass.CUSTOM),
    "CEN": ("hundred", Unit.MappingClass.CUSTOM),
    "MIL": ("thousand", Unit.MappingClass.CUSTOM),
    "TP": ("ten_pack", Unit.MappingClass.CUSTOM),
    "61": ("ppb", Unit.MappingClass.CUSTOM),
}

# Classes whose units have no conversion outside an item's own conversions.
NO_GLOBAL_CONVERSION = {
    Unit.MappingClass.ITEM_SPECIFIC,
    Unit.MappingClass.CALENDAR,
    Unit.MappingClass.NOT_PHYSICAL,
    Unit.MappingClass.UNMAPPED,
}


class ConversionError(ValueError):
    """A quantity cannot be converted; the message says why and what would help."""


@lru_cache(maxsize=1)
def builtin_mappings():
    """The hub's pint mapping by code: the curated map, completed by the hub's count units."""
    mappings = {}
    for row in read_csv(PINT_MAP_FILE):
        mapping_class = row["mapping_class"].strip()
        if mapping_class not in Unit.MappingClass.values:
            raise ValueError(f"Unknown mapping class {mapping_class!r} for {row['code']}.")
        mappings[row["code"].strip()] = (row["pint_expression"].strip(), mapping_class)
    mappings.update(_HUB_MAPPINGS)
    return mappings


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


_registry = None
_registry_lock = threading.Lock()


def registry():
    """The hub's pint registry: pint's defaults plus the hub's count units, on exact
    fractions. Built on first use (it takes about half a second) and shared."""
    global _registry
    if _registry is None:
        with _registry_lock:
            if _registry is None:
                import pint

                built = pint.UnitRegistry(non_int_type=Fraction)
                for definition in HUB_DEFINITIONS:
                    built.define(definition)
                _registry = built
    return _registry


@lru_cache(maxsize=512)
def parse_expression(expression):
    """(magnitude, pint units, dimensionality) of a pint expression such as 100*kilogram."""
    import pint

    try:
        quantity = registry().parse_expression(expression)
    except (pint.errors.PintError, AttributeError, SyntaxError, TypeError) as exc:
        raise ConversionError(
            f"The pint expression {expression!r} is not understood by the hub's registry."
        ) from exc
    if not isinstance(quantity, registry().Quantity):
        raise ConversionError(f"The pint expression {expression!r} names no unit.")
    return Fraction(quantity.magnitude), quantity.units, quantity.dimensionality


def mapping_of(unit):
    """(pint expression, mapping class) of a unit. A unit that was never mapped (no
    expression, class unmapped), e.g. one typed in by hand, takes the hub's mapping for its
    code, so KGM is a mass however it was created."""
    if unit.pint_expression or unit.mapping_class != Unit.MappingClass.UNMAPPED:
        return unit.pint_expression, unit.mapping_class
    return builtin_mappings().get(unit.code, ("", Unit.MappingClass.UNMAPPED))


def dimensionality_of(unit):
    """The pint dimensionality of a unit, or None when it has no global conversion."""
    expression, mapping_class = mapping_of(unit)
    if not expression or mapping_class in NO_GLOBAL_CONVERSION:
        return None
    return parse_expression(expression)[2]


def measures_mass(unit):
    """Whether a Unit measures mass, e.g. KGM, LBR, TNE."""
    return _measures_mass(*mapping_of(unit))


@lru_cache(maxsize=512)
def _measures_mass(expression, mapping_class):
    """measures_mass() of a unit's mapping: asked for every row of an item import with a
    weight."""
    if not expression or mapping_class in NO_GLOBAL_CONVERSION:
        return False
    return dict(parse_expression(expression)[2]) == {"[mass]": 1}
