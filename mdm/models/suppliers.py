"""Suppliers and their sites."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from mdm import identifiers
from mdm.models.base import (
    CODE_VALIDATOR,
    PublicIdModel,
    history,
    merged_index,
    merged_into_field,
    validate_country,
)
from mdm.models.calendars import Calendar


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

    merged_into = merged_into_field()

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
        indexes = [
            models.Index(fields=["name"]),
            models.Index(fields=["country"]),
            merged_index("supplier_merged"),
        ]

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

    merged_into = merged_into_field()

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
        indexes = [merged_index("supplier_site_merged")]

    def __str__(self):
        return f"{self.supplier.number}/{self.code}"
