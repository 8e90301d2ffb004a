"""The master records whose changes a policy may say need approval (changes.registry),
registered from MdmConfig.ready(): suppliers and items (their status, above all), item and
supplier unit conversions, calendars and their exceptions. Each is applied by the plain
`full_clean()` and `save()` every door makes, so its history and signals follow as usual.

A supplier conversion is an item conversion with its supplier set: one kind for a policy,
told apart in the words a steward reads.
"""

from decimal import Decimal

from changes.diffs import writable_fields
from changes.registry import Governed, govern, system_names
from mdm.models import (
    Calendar,
    CalendarException,
    Item,
    ItemUnitConversion,
    SourceSystem,
    Supplier,
)
from mdm.models.base import related_or_none


def offered(model):
    """(name, words) of every field a change may touch: any of them may be named."""
    return tuple((field.name, str(field.verbose_name)) for field in writable_fields(model))


def named(name, record):
    """ "Frontier Bearing Supply (SUP-000001)"; a record not yet saved is "(new)"."""
    return f"{name} ({record.public_id or 'new'})"


def describe_supplier(supplier):
    return named(supplier.name, supplier)


def describe_item(item):
    return named(item.description, item)


def describe_calendar(calendar):
    return named(calendar.name, calendar)


def describe_exception(exception):
    """ "Stocktaking, closed 2026-03-13 to 2026-03-13, in Hamburg plant (CAL-000001)"."""
    days = "working" if exception.is_working else "closed"
    calendar = related_or_none(exception, "calendar")
    where = f", in {describe_calendar(calendar)}" if calendar is not None else ""
    return f"{exception.reason}, {days} {exception.start} to {exception.end}{where}"


def _unit(conversion, field):
    unit = related_or_none(conversion, field)
    return f"{unit.name} ({unit.code})" if unit is not None else "?"


def describe_conversion(conversion):
    """ "1 box (XBX) = 12 piece (H87) for Ball bearing 6204 (ITM-000001), from Frontier
    Bearing Supply (SUP-000001)"; an item conversion is "..., any supplier"."""
    factor = conversion.factor
    factor = f"{factor.normalize():f}" if isinstance(factor, Decimal) else str(factor)
    item = related_or_none(conversion, "item")
    supplier = related_or_none(conversion, "supplier")
    text = f"1 {_unit(conversion, 'from_unit')} = {factor} {_unit(conversion, 'to_unit')}"
    text += f" for {describe_item(item)}" if item is not None else ""
    return text + (f", from {describe_supplier(supplier)}" if supplier else ", any supplier")


def names_of_systems(codes):
    """{code: name} of the source systems with these codes (the change request screens)."""
    return dict(SourceSystem.objects.filter(code__in=codes).values_list("code", "name"))


def register():
    system_names(names_of_systems)
    for model, title, describe in (
        (Supplier, "Suppliers", describe_supplier),
        (Item, "Items", describe_item),
        (ItemUnitConversion, "Unit conversions of items and suppliers", describe_conversion),
        (Calendar, "Calendars", describe_calendar),
        (CalendarException, "Calendar exceptions", describe_exception),
    ):
        govern(
            Governed(
                model=model._meta.label_lower,
                title=title,
                fields=offered(model),
                describe=describe,
            )
        )
