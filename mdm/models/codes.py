"""Code lists and their canonical values."""

from django.db import models

from mdm.models.base import CODE_VALIDATOR, TimestampedModel, history


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
