"""Authoritative master data: the records every other system's codes map to, one module per
subject (base: public ids, history and shared validators; systems and API clients; units;
calendars; code lists; suppliers and sites; items, revisions and pack conversions;
locations). Django finds the models through this module, and `from mdm.models import X`
works for every one of them.

Validation lives here and only here: database constraints for what must never be violated,
`clean()` for the rest. The admin, the API serializers and the CSV import all call
`full_clean()`, so a record is judged the same way whichever door it came through.
"""

from mdm.models.base import (
    CODE_VALIDATOR,
    SYSTEM_CODE_VALIDATOR,
    WEEKDAY_MASK_VALIDATOR,
    History,
    IdSequence,
    PublicIdModel,
    SecretKeyHolder,
    TimestampedModel,
    allocate_public_ids,
    history,
    validate_country,
    validate_timezone,
)
from mdm.models.calendars import Calendar, CalendarException
from mdm.models.codes import CodeList, CodeValue
from mdm.models.items import Item, ItemRevision, ItemUnitConversion
from mdm.models.locations import Location
from mdm.models.suppliers import Supplier, SupplierSite
from mdm.models.systems import ApiClient, SourceSystem, SubmissionCount
from mdm.models.units import Unit, validate_unit_usable

__all__ = [
    "CODE_VALIDATOR",
    "SYSTEM_CODE_VALIDATOR",
    "WEEKDAY_MASK_VALIDATOR",
    "ApiClient",
    "Calendar",
    "CalendarException",
    "CodeList",
    "CodeValue",
    "History",
    "IdSequence",
    "Item",
    "ItemRevision",
    "ItemUnitConversion",
    "Location",
    "PublicIdModel",
    "SecretKeyHolder",
    "SourceSystem",
    "SubmissionCount",
    "Supplier",
    "SupplierSite",
    "TimestampedModel",
    "Unit",
    "allocate_public_ids",
    "history",
    "validate_country",
    "validate_timezone",
    "validate_unit_usable",
]
