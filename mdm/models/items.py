"""Items, their engineering revisions and their pack conversions."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from mdm import identifiers
from mdm.models.base import (
    CODE_VALIDATOR,
    PublicIdModel,
    TimestampedModel,
    history,
    merged_index,
    merged_into_field,
    related_or_none,
)
from mdm.models.suppliers import Supplier
from mdm.models.units import Unit
from mdm.pint_registry import measures_mass


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

    merged_into = merged_into_field()

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
            merged_index("item_merged"),
        ]

    def __str__(self):
        return f"{self.number} {self.description}"

    def clean(self):
        errors = {}
        if self.gtin:
            kind = identifiers.gtin_kind(self.gtin)
            if kind is None:
                errors["gtin"] = identifiers.gtin_error(self.gtin)
        base_unit = related_or_none(self, "base_unit")
        if base_unit and base_unit.usable_error():
            errors["base_unit"] = base_unit.usable_error()
        weight_unit = related_or_none(self, "weight_unit")
        if weight_unit:
            if weight_unit.usable_error():
                errors["weight_unit"] = weight_unit.usable_error()
            elif not measures_mass(weight_unit):
                errors["weight_unit"] = f"{weight_unit.code} is not a unit of mass."
        if (self.net_weight is None) != (self.weight_unit_id is None):
            errors.setdefault("weight_unit", "Net weight and weight unit go together.")
        if errors:
            raise ValidationError(errors)


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
            unit = related_or_none(self, field)
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
