"""Source systems, the API clients they call with, and what they submitted per minute."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from mdm.models.base import SYSTEM_CODE_VALIDATOR, SecretKeyHolder, TimestampedModel, history


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
    # Whose values a merge of two duplicate records keeps by default (xref.survivorship):
    # ranked, active systems only, and only for the domains above.
    trust_rank = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Where it comes in the order of trust when two duplicate records are merged: "
        "1 is trusted first, 2 next, and so on; counts only for the domains it is the source "
        "of record for. Empty: not ranked.",
    )
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    # The system's submission budget (validation.budget.spend_submission_budget); empty:
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
