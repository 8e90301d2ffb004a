"""Locations: plants, warehouses, distribution centres, ship-to and supplier-site places."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from mdm import identifiers
from mdm.models.base import (
    CODE_VALIDATOR,
    PublicIdModel,
    history,
    merged_index,
    merged_into_field,
    related_or_none,
    validate_country,
    validate_timezone,
)
from mdm.models.calendars import Calendar
from mdm.models.suppliers import SupplierSite


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

    merged_into = merged_into_field()

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
        indexes = [merged_index("location_merged")]

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
            node = related_or_none(self, "parent")
            while node is not None:
                if node.pk in seen:
                    errors["parent"] = "This parent would make a cycle of locations."
                    break
                seen.add(node.pk)
                node = node.parent
        if errors:
            raise ValidationError(errors)
