"""Units of measure: UN/ECE Rec 20 codes and Rec 21 packages."""

from django.core.exceptions import ValidationError
from django.db import models

from mdm.models.base import TimestampedModel, history


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
