"""Working calendars and their dated exceptions."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from mdm import identifiers
from mdm.models.base import (
    CODE_VALIDATOR,
    WEEKDAY_MASK_VALIDATOR,
    PublicIdModel,
    TimestampedModel,
    history,
    validate_timezone,
)


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
