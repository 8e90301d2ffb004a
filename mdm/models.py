"""Authoritative master data: the records every other system's codes map to.

Validation lives here and only here: database constraints for what must never be violated,
`clean()` for the rest. The admin, the API serializers and the CSV import all call
`full_clean()`, so a record is judged the same way whichever door it came through.
"""

import hashlib
import secrets
from decimal import Decimal
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core.history import HistoricalChangeSource
from mdm import identifiers

CODE_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._\-]*$",
    "Use letters, digits and . _ - only, starting with a letter or digit.",
)
SYSTEM_CODE_VALIDATOR = RegexValidator(
    r"^[A-Z][A-Z0-9_]*$", "Use upper-case letters, digits and underscores, starting with a letter."
)
WEEKDAY_MASK_VALIDATOR = RegexValidator(
    r"^[01]{7}$", "Seven characters of 1 (working) or 0 (not working), Monday first."
)


class History(HistoricalRecords):
    """Historical records whose copied fields are not indexed, but for the record's id.

    simple_history copies every index of the master table onto its history table (and a
    unique field becomes an index there). History is read by record (its id), by date and by
    change reference (an import run's rows); nobody looks up history by number or status, and
    each copied index would cost every write (a million-row import writes a million history
    rows) one more index update."""

    def copy_fields(self, model):
        fields = super().copy_fields(model)
        for name, copied in fields.items():
            if name != model._meta.pk.name:
                copied.db_index = False
        return fields


def history():
    """History for a master record: who, when, from where, before and after; revertable."""
    return History(bases=[HistoricalChangeSource], cascade_delete_history=False)


class IdSequence(models.Model):
    """The last number handed out for one public id prefix. Only ever grows, so ids are never
    reused, even after a record is deleted."""

    prefix = models.CharField(max_length=8, primary_key=True)
    last = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.prefix}: {self.last}"


def allocate_public_ids(prefix, count=1):
    """Reserve `count` consecutive public ids for `prefix` and return them."""
    with transaction.atomic():
        IdSequence.objects.get_or_create(prefix=prefix)
        # The UPDATE takes the row lock, so concurrent callers get disjoint ranges.
        IdSequence.objects.filter(prefix=prefix).update(last=F("last") + count)
        last = IdSequence.objects.values_list("last", flat=True).get(prefix=prefix)
    return [f"{prefix}-{number:06d}" for number in range(last - count + 1, last + 1)]


class PublicIdModel(models.Model):
    """A record known to the outside world by an immutable, URL-safe public id."""

    PUBLIC_ID_PREFIX = None

    public_id = models.CharField(
        max_length=20, unique=True, editable=False, help_text="Immutable id, never reused."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self._state.adding:
            if not self.public_id:
                self.public_id = allocate_public_ids(self.PUBLIC_ID_PREFIX)[0]
        else:
            stored = getattr(self, "_stored_public_id", None)
            if stored and stored != self.public_id:
                raise ValueError(f"Public id {stored} cannot be changed.")
        super().save(*args, **kwargs)
        self._stored_public_id = self.public_id

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_public_id = instance.__dict__.get("public_id")
        return instance


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True


def _related(obj, field):
    """The related object, or None when the key is unset or points at no row (clean() still
    runs after clean_fields() has reported the bad key)."""
    try:
        return getattr(obj, field)
    except ObjectDoesNotExist:
        return None


def validate_country(value):
    if not identifiers.is_country(value):
        raise ValidationError(f"{value!r} is not an ISO 3166-1 alpha-2 country code.")


def validate_timezone(value):
    if value not in _timezones():
        raise ValidationError(f"{value!r} is not a known IANA time zone (e.g. Europe/Berlin).")


def _timezones():
    global _TIMEZONES
    if _TIMEZONES is None:
        _TIMEZONES = frozenset(available_timezones())
    return _TIMEZONES


_TIMEZONES = None


class SourceSystem(TimestampedModel):
    """A system that exchanges data through the hub: an ERP, a planning tool, a supplier
    network."""

    class Kind(models.TextChoices):
        ERP = "erp", "ERP"
        PLANNING = "planning", "Demand / supply planning"
        SUPPLIER_NETWORK = "supplier_network", "Supplier network / portal"
        OTHER = "other", "Other"

    class Domain(models.TextChoices):
        ITEM = "item", "Items"
        SUPPLIER = "supplier", "Suppliers"
        LOCATION = "location", "Locations"
        UNIT = "unit", "Units"
        CALENDAR = "calendar", "Calendars"
        CODE = "code", "Code lists"

    code = models.CharField(max_length=40, unique=True, validators=[SYSTEM_CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    authoritative_for = models.JSONField(
        default=list,
        blank=True,
        help_text='Domains this system is the source of record for, e.g. ["item", "supplier"].',
    )
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    # The system's submission budget (validation.services.spend_submission_budget); empty:
    # the hub's default (HUB_BUDGET_MESSAGES_PER_MINUTE, HUB_BUDGET_BYTES_PER_MINUTE).
    budget_messages_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Messages it may submit per minute (429 beyond); empty: the hub's "
        "default; 0: no limit.",
    )
    budget_bytes_per_minute = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="Bytes of messages it may submit per minute (429 beyond); empty: the "
        "hub's default; 0: no limit.",
    )

    history = history()

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code

    def clean(self):
        domains = self.authoritative_for
        if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
            raise ValidationError({"authoritative_for": "Give a list of domain names."})
        unknown = sorted(set(domains) - set(self.Domain.values))
        if unknown:
            raise ValidationError(
                {
                    "authoritative_for": f"Unknown domain(s): {', '.join(unknown)}. "
                    f"Known: {', '.join(self.Domain.values)}."
                }
            )
        if len(set(domains)) != len(domains):
            raise ValidationError({"authoritative_for": "A domain is listed twice."})


class Unit(TimestampedModel):
    """A unit of measure, identified by its UN/ECE Rec 20 common code (Rec 21 packages as
    X-prefixed codes)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DEPRECATED = "deprecated", "Deprecated (warned)"
        DELETED = "deleted", "Deleted from Rec 20 (refused)"

    class Source(models.TextChoices):
        REC20 = "rec20", "UN/ECE Rec 20"
        REC21 = "rec21", "UN/ECE Rec 21 package"
        LOCAL = "local", "Local"

    class MappingClass(models.TextChoices):
        DIRECT = "direct", "pint unit"
        EXPRESSION = "expression", "pint expression"
        OFFSET = "offset", "offset unit (temperature)"
        COUNT = "count", "count"
        CUSTOM = "custom", "hub-defined unit"
        ITEM_SPECIFIC = "item_specific", "content varies by item (pack)"
        CALENDAR = "calendar", "depends on a calendar"
        NOT_PHYSICAL = "not_physical", "not physical"
        UNMAPPED = "unmapped", "no conversion defined"

    code = models.CharField(max_length=3, primary_key=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    symbol = models.CharField(max_length=60, blank=True)
    level_category = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.REC20)
    conversion_factor = models.CharField(
        max_length=80, blank=True, help_text="As printed in Rec 20, for reference."
    )
    pint_expression = models.CharField(
        max_length=80,
        blank=True,
        help_text="Expression in the hub's pint registry. Mapped by code, never by symbol.",
    )
    mapping_class = models.CharField(
        max_length=16, choices=MappingClass.choices, default=MappingClass.UNMAPPED
    )

    history = history()

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} ({self.name})"

    @property
    def public_id(self):
        return self.code

    def usable_error(self):
        """The sentence that refuses this unit, or None when it may be used."""
        if self.status == self.Status.DELETED:
            rec = "Rec 21" if self.source == self.Source.REC21 else "Rec 20"
            name = f"Unit {self.code} ({self.name})"
            return f"{name} was deleted from UN/ECE {rec} and may not be used."
        return None


def validate_unit_usable(unit):
    error = unit.usable_error() if unit else None
    if error:
        raise ValidationError(error)


class Calendar(PublicIdModel):
    """A working calendar: which days a plant, warehouse or supplier site works."""

    PUBLIC_ID_PREFIX = "CAL"

    code = models.CharField(max_length=40, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    working_weekdays = models.CharField(
        max_length=7,
        default="1111100",
        validators=[WEEKDAY_MASK_VALIDATOR],
        help_text="Seven characters, Monday first: 1 = working, 0 = not. 1111100 = Mon-Fri.",
    )
    holiday_country = models.CharField(
        max_length=2,
        blank=True,
        help_text="ISO 3166 country whose public holidays are days off (blank: none).",
    )
    holiday_subdivision = models.CharField(
        max_length=10, blank=True, help_text="Subdivision for regional holidays, e.g. BY, TX."
    )
    is_active = models.BooleanField(default=True)

    history = history()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(working_weekdays__regex=r"^[01]{7}$"),
                name="calendar_weekday_mask_format",
                violation_error_message="Working weekdays must be seven 0/1 characters.",
            ),
        ]

    def __str__(self):
        return f"{self.code} ({self.name})"

    def clean(self):
        errors = {}
        if self.holiday_country and not identifiers.is_country(self.holiday_country):
            errors["holiday_country"] = f"{self.holiday_country!r} is not an ISO 3166 country."
        elif self.holiday_subdivision and not self.holiday_country:
            errors["holiday_subdivision"] = "A subdivision needs a holiday country."
        elif self.holiday_country:
            problem = identifiers.holiday_support_problem(
                self.holiday_country, self.holiday_subdivision
            )
            if problem:
                errors["holiday_subdivision" if self.holiday_subdivision else "holiday_country"] = (
                    problem
                )
        if self.working_weekdays and "1" not in self.working_weekdays:
            errors["working_weekdays"] = "A calendar needs at least one working weekday."
        if errors:
            raise ValidationError(errors)


class CalendarException(TimestampedModel):
    """A dated exception to a calendar: a plant shutdown, a bridge day, a working Saturday."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="exceptions")
    start = models.DateField()
    end = models.DateField(help_text="Last day of the exception, inclusive.")
    is_working = models.BooleanField(
        default=False, help_text="Ticked: these days are worked (e.g. a working Saturday)."
    )
    reason = models.CharField(max_length=200)

    history = history()

    class Meta:
        ordering = ["calendar", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=F("start")),
                name="calendar_exception_end_after_start",
                violation_error_message="An exception cannot end before it starts.",
            ),
        ]
        indexes = [models.Index(fields=["calendar", "start", "end"])]

    def __str__(self):
        kind = "working" if self.is_working else "closed"
        return f"{self.calendar.code} {self.start}..{self.end} {kind}: {self.reason}"

    def clean(self):
        if self.start and self.end and self.calendar_id:
            if self.end < self.start:
                raise ValidationError({"end": "An exception cannot end before it starts."})
            clash = (
                CalendarException.objects.filter(
                    calendar_id=self.calendar_id, start__lte=self.end, end__gte=self.start
                )
                .exclude(pk=self.pk)
                .first()
            )
            if clash:
                raise ValidationError(
                    f"Overlaps the exception {clash.start}..{clash.end} ({clash.reason})."
                )


class CodeList(TimestampedModel):
    """A list of canonical codes with a meaning, e.g. acknowledgement line statuses."""

    code = models.CharField(max_length=60, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    history = history()

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code


class CodeValue(TimestampedModel):
    """One canonical code of a code list and what it means."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    code_list = models.ForeignKey(CodeList, on_delete=models.CASCADE, related_name="values")
    code = models.CharField(max_length=60, validators=[CODE_VALIDATOR])
    meaning = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    sort_order = models.PositiveIntegerField(default=0)

    history = history()

    class Meta:
        ordering = ["code_list", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["code_list", "code"],
                name="code_value_unique_in_list",
                violation_error_message="This code already exists in the list.",
            ),
        ]

    def __str__(self):
        return f"{self.code_list.code}:{self.code}"


class Item(PublicIdModel):
    """A material, component or product the manufacturer plans, buys, makes or sells."""

    PUBLIC_ID_PREFIX = "ITM"

    class Type(models.TextChoices):
        RAW_MATERIAL = "raw_material", "Raw material"
        COMPONENT = "component", "Purchased component"
        SEMI_FINISHED = "semi_finished", "Semi-finished"
        FINISHED_GOOD = "finished_good", "Finished good"
        PACKAGING = "packaging", "Packaging"
        MRO = "mro", "Maintenance, repair, operations"
        SERVICE = "service", "Service"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        BLOCKED = "blocked", "Blocked"
        OBSOLETE = "obsolete", "Obsolete"

    number = models.CharField(max_length=40, unique=True, validators=[CODE_VALIDATOR])
    description = models.CharField(max_length=250)
    # No index on the unit references: on PostgreSQL a foreign key to a text key gets two
    # (plain and LIKE), and the only query they would serve is the PROTECT check when a unit
    # is deleted, which is rare and reads a table of units' worth of items anyway.
    base_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", db_index=False)
    item_type = models.CharField(max_length=16, choices=Type.choices)
    # Indexed by Meta.indexes, not db_index, which on PostgreSQL adds a second (LIKE) index.
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    gtin = models.CharField(
        "GTIN", max_length=14, blank=True, help_text="GTIN-8, -12, -13 or -14 with check digit."
    )
    manufacturer = models.CharField(max_length=200, blank=True)
    mpn = models.CharField("manufacturer part number", max_length=80, blank=True)
    commodity = models.CharField(max_length=80, blank=True, help_text="Commodity or item group.")
    net_weight = models.DecimalField(
        max_digits=18,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Weight of one base unit; lets counts convert to mass.",
    )
    weight_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )

    history = history()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["gtin"],
                condition=~Q(gtin=""),
                name="item_gtin_unique",
                violation_error_code="unique",
                violation_error_message="Another item already has this GTIN.",
            ),
            models.CheckConstraint(
                condition=Q(net_weight__isnull=True, weight_unit__isnull=True)
                | Q(net_weight__isnull=False, weight_unit__isnull=False),
                name="item_weight_has_unit",
                violation_error_message="Net weight and weight unit go together.",
            ),
        ]
        indexes = [
            models.Index(fields=["mpn"]),
            models.Index(fields=["manufacturer"]),
            models.Index(fields=["status"], name="item_status"),
        ]

    def __str__(self):
        return f"{self.number} {self.description}"

    def clean(self):
        errors = {}
        if self.gtin:
            kind = identifiers.gtin_kind(self.gtin)
            if kind is None:
                errors["gtin"] = identifiers.gtin_error(self.gtin)
        base_unit = _related(self, "base_unit")
        if base_unit and base_unit.usable_error():
            errors["base_unit"] = base_unit.usable_error()
        weight_unit = _related(self, "weight_unit")
        if weight_unit:
            if weight_unit.usable_error():
                errors["weight_unit"] = weight_unit.usable_error()
            elif not _is_mass_unit(weight_unit):
                errors["weight_unit"] = f"{weight_unit.code} is not a unit of mass."
        if (self.net_weight is None) != (self.weight_unit_id is None):
            errors.setdefault("weight_unit", "Net weight and weight unit go together.")
        if errors:
            raise ValidationError(errors)


def _is_mass_unit(unit):
    from mdm import units

    return units.is_mass(unit)


class ItemRevision(TimestampedModel):
    """An engineering revision of an item, effective over a date range."""

    class Status(models.TextChoices):
        RELEASED = "released", "Released"
        OBSOLETE = "obsolete", "Obsolete"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="revisions")
    revision = models.CharField(max_length=20, validators=[CODE_VALIDATOR])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RELEASED)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Blank: open-ended.")
    description = models.CharField(max_length=250, blank=True)

    history = history()

    class Meta:
        ordering = ["item", "effective_from", "revision"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "revision"],
                name="item_revision_unique",
                violation_error_message="This item already has a revision with this code.",
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=F("effective_from")),
                name="item_revision_dates_ordered",
                violation_error_message="A revision cannot end before it becomes effective.",
            ),
        ]

    def __str__(self):
        return f"{self.item.number} rev {self.revision}"

    def clean(self):
        if self.effective_to and self.effective_from and self.effective_to < self.effective_from:
            raise ValidationError(
                {"effective_to": "A revision cannot end before it becomes effective."}
            )
        if self.status == self.Status.RELEASED and self.item_id and self.effective_from:
            clash = _overlapping(
                ItemRevision.objects.filter(item_id=self.item_id, status=self.Status.RELEASED),
                self.pk,
                self.effective_from,
                self.effective_to,
                "effective_from",
                "effective_to",
            )
            if clash:
                raise ValidationError(
                    f"Released revision {clash.revision} is effective over the same dates "
                    f"({clash.effective_from} to {clash.effective_to or 'open'}); end it first."
                )


def _overlapping(queryset, pk, start, end, start_field, end_field):
    """The first record of `queryset` (other than pk) whose [start, end] overlaps the given
    range; an end of None is open."""
    overlap = Q(**{f"{end_field}__isnull": True}) | Q(**{f"{end_field}__gte": start})
    if end is not None:
        overlap &= Q(**{f"{start_field}__lte": end})
    return queryset.filter(overlap).exclude(pk=pk).first()


class Supplier(PublicIdModel):
    """A company the manufacturer buys from."""

    PUBLIC_ID_PREFIX = "SUP"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        BLOCKED = "blocked", "Blocked"
        INACTIVE = "inactive", "Inactive"

    number = models.CharField(max_length=40, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    legal_name = models.CharField(max_length=250, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    country = models.CharField(max_length=2, validators=[validate_country])
    duns = models.CharField("DUNS", max_length=9, blank=True)
    lei = models.CharField("LEI", max_length=20, blank=True)
    vat = models.CharField("VAT number", max_length=20, blank=True)

    history = history()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["lei"],
                condition=~Q(lei=""),
                name="supplier_lei_unique",
                violation_error_code="unique",
                violation_error_message="Another supplier already has this LEI.",
            ),
            models.UniqueConstraint(
                fields=["duns"],
                condition=~Q(duns=""),
                name="supplier_duns_unique",
                violation_error_code="unique",
                violation_error_message="Another supplier already has this DUNS number.",
            ),
        ]
        indexes = [models.Index(fields=["name"]), models.Index(fields=["country"])]

    def __str__(self):
        return f"{self.number} {self.name}"

    def clean(self):
        errors = {}
        if self.duns:
            error = identifiers.duns_error(self.duns)
            if error:
                errors["duns"] = error
        if self.lei:
            error = identifiers.lei_error(self.lei)
            if error:
                errors["lei"] = error
        if self.vat:
            error = identifiers.vat_error(self.vat, self.country)
            if error:
                errors["vat"] = error
        if errors:
            raise ValidationError(errors)


class SupplierSite(PublicIdModel):
    """A supplier's ordering or shipping address: where purchase orders go and goods come from."""

    PUBLIC_ID_PREFIX = "SST"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        BLOCKED = "blocked", "Blocked"
        INACTIVE = "inactive", "Inactive"

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="sites")
    code = models.CharField(max_length=40, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200, blank=True)
    address = models.CharField(max_length=250, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, validators=[validate_country])
    calendar = models.ForeignKey(
        Calendar, on_delete=models.PROTECT, null=True, blank=True, related_name="supplier_sites"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)

    history = history()

    class Meta:
        ordering = ["supplier", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "code"],
                name="supplier_site_unique_code",
                violation_error_message="This supplier already has a site with this code.",
            ),
        ]

    def __str__(self):
        return f"{self.supplier.number}/{self.code}"


class Location(PublicIdModel):
    """A place goods are made, stored, shipped to or received at."""

    PUBLIC_ID_PREFIX = "LOC"

    class Kind(models.TextChoices):
        PLANT = "plant", "Plant"
        WAREHOUSE = "warehouse", "Warehouse"
        DC = "dc", "Distribution centre"
        SHIP_TO = "ship_to", "Ship-to"
        SUPPLIER_SITE = "supplier_site", "Supplier site"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"

    code = models.CharField(max_length=40, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    gln = models.CharField("GLN", max_length=13, blank=True)
    address = models.CharField(max_length=250, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, validators=[validate_country])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    calendar = models.ForeignKey(
        Calendar, on_delete=models.PROTECT, null=True, blank=True, related_name="locations"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    supplier_site = models.ForeignKey(
        SupplierSite,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="locations",
        help_text="For supplier-site locations: the supplier site this is.",
    )
    can_receive = models.BooleanField(default=False, help_text="Goods may be shipped here.")

    history = history()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["gln"],
                condition=~Q(gln=""),
                name="location_gln_unique",
                violation_error_code="unique",
                violation_error_message="Another location already has this GLN.",
            ),
            models.CheckConstraint(
                condition=~Q(parent=F("id")),
                name="location_not_own_parent",
                violation_error_message="A location cannot be its own parent.",
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    def clean(self):
        errors = {}
        if self.gln:
            error = identifiers.gln_error(self.gln)
            if error:
                errors["gln"] = error
        if self.kind == self.Kind.SUPPLIER_SITE and not self.supplier_site_id:
            errors["supplier_site"] = "A supplier-site location names its supplier site."
        if self.kind != self.Kind.SUPPLIER_SITE and self.supplier_site_id:
            errors["supplier_site"] = "Only supplier-site locations name a supplier site."
        if self.parent_id:
            seen = {self.pk} if self.pk else set()
            node = _related(self, "parent")
            while node is not None:
                if node.pk in seen:
                    errors["parent"] = "This parent would make a cycle of locations."
                    break
                seen.add(node.pk)
                node = node.parent
        if errors:
            raise ValidationError(errors)


class ItemUnitConversion(TimestampedModel):
    """A pack conversion for one item, optionally for one supplier: 1 from-unit = factor
    to-units (1 XBX = 12 H87)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="unit_conversions")
    supplier = models.ForeignKey(
        Supplier,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="unit_conversions",
        help_text="Blank: applies for every supplier.",
    )
    from_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    to_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    factor = models.DecimalField(
        max_digits=20,
        decimal_places=8,
        help_text="How many to-units make one from-unit.",
    )
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    history = history()

    class Meta:
        ordering = ["item", "from_unit", "to_unit"]
        constraints = [
            models.CheckConstraint(
                condition=Q(factor__gt=0),
                name="unit_conversion_factor_positive",
                violation_error_message="The factor must be greater than zero.",
            ),
            models.CheckConstraint(
                condition=~Q(from_unit=F("to_unit")),
                name="unit_conversion_distinct_units",
                violation_error_message="A conversion needs two different units.",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gte=F("valid_from")),
                name="unit_conversion_dates_ordered",
                violation_error_message="A conversion cannot end before it starts.",
            ),
        ]
        indexes = [models.Index(fields=["item", "from_unit", "to_unit"])]

    def __str__(self):
        supplier = f" ({self.supplier.number})" if self.supplier_id else ""
        factor = f"{self.factor.normalize():f}" if isinstance(self.factor, Decimal) else self.factor
        units = f"1 {self.from_unit_id} = {factor} {self.to_unit_id}"
        return f"{self.item.number}: {units}{supplier}"

    def clean(self):
        errors = {}
        for field in ("from_unit", "to_unit"):
            unit = _related(self, field)
            if unit and unit.usable_error():
                errors[field] = unit.usable_error()
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            errors["valid_to"] = "A conversion cannot end before it starts."
        if errors:
            raise ValidationError(errors)
        if self.item_id and self.from_unit_id and self.to_unit_id:
            same = ItemUnitConversion.objects.filter(
                item_id=self.item_id,
                supplier_id=self.supplier_id,
                from_unit_id=self.from_unit_id,
                to_unit_id=self.to_unit_id,
            )
            clash = _overlapping_optional(same, self.pk, self.valid_from, self.valid_to)
            if clash:
                factor = f"{clash.factor.normalize():f}"
                raise ValidationError(
                    f"A conversion 1 {clash.from_unit_id} = {factor} {clash.to_unit_id} "
                    "already applies to this item"
                    + (f" and supplier {clash.supplier.number}" if clash.supplier_id else "")
                    + " over overlapping dates."
                )


def _overlapping_optional(queryset, pk, start, end):
    """Overlap where both ends may be open (None)."""
    condition = Q()
    if end is not None:
        condition &= Q(valid_from__isnull=True) | Q(valid_from__lte=end)
    if start is not None:
        condition &= Q(valid_to__isnull=True) | Q(valid_to__gte=start)
    return queryset.filter(condition).exclude(pk=pk).first()


class SecretKeyHolder(models.Model):
    """A holder of a random secret key (API clients, reconciliation keys): only the key's
    hash is stored, and when it was last used."""

    # How often last_used_at is written at most: a burst of calls costs one UPDATE a minute.
    TOUCH_SECONDS = 60

    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    @staticmethod
    def hash_key(key):
        # Keys are 256-bit random strings, so a fast hash is enough: nothing to brute-force.
        return hashlib.sha256(key.encode()).hexdigest()

    def touch(self):
        """Note a use of the key (at most every TOUCH_SECONDS)."""
        now = timezone.now()
        if self.last_used_at is None or (now - self.last_used_at).total_seconds() > (
            self.TOUCH_SECONDS
        ):
            type(self).objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


class SubmissionCount(models.Model):
    """What a source system submitted in one minute, messages and bytes: the count its
    submission budget is checked against. Counted in the database, so that every web process
    counts against one budget; rows of past minutes are deleted by the retention task."""

    system = models.ForeignKey(SourceSystem, on_delete=models.CASCADE, related_name="+")
    minute = models.DateTimeField(help_text="The minute counted (its start).")
    messages = models.PositiveIntegerField(default=0)
    bytes = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            # One counter per system and minute: the upsert of every submission targets it.
            models.UniqueConstraint(fields=["system", "minute"], name="submission_count_minute")
        ]

    def __str__(self):
        return f"{self.system_id} {self.minute:%Y-%m-%d %H:%M}: {self.messages}"


class ApiClient(TimestampedModel, SecretKeyHolder):
    """A named credential a system uses to call the API. Only a hash of its key is stored."""

    KEY_PREFIX = "mdh"

    name = models.CharField(max_length=100, unique=True)
    system = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="api_clients")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_client"
    )
    key_prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.system.code})"

    @classmethod
    def new_key(cls):
        prefix = secrets.token_hex(4)
        return prefix, f"{cls.KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
