"""Working-day arithmetic over a `Calendar`: is a day worked, N working days on, how many
working days lie between two dates, and why a day is or is not worked.

A day is judged in this order:
1. a dated exception covering it (a shutdown, a bridge day, a working Saturday) wins;
2. else a public holiday of the calendar's country/subdivision is a day off;
3. else the weekday mask decides.

Build one `WorkingCalendar` and reuse it when judging many dates: it reads the calendar's
exceptions once (none at all if they were prefetched) and holidays are computed once per
year. It is a snapshot; build a new one to see later changes. The module functions are thin
wrappers for one-off questions and accept either a `Calendar` or a `WorkingCalendar`.
"""

import bisect
import datetime
import itertools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import holidays

# A calendar that has not worked for three years in a row is treated as broken, not as slow.
MAX_DAYS_WITHOUT_WORK = 3 * 366

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class DayInfo:
    """Whether a day is worked and why, e.g. not worked because "public holiday: Christmas
    Day". `holiday` names the public holiday even when an exception overrides it."""

    day: datetime.date
    is_working: bool
    reason: str
    holiday: str = ""

    def __str__(self):
        return f"{self.day} {'working' if self.is_working else 'not working'}: {self.reason}"


@dataclass(frozen=True)
class _Exception:
    start: datetime.date
    end: datetime.date
    is_working: bool
    reason: str


class WorkingCalendar:
    """A calendar's working days, loaded once for many questions."""

    def __init__(self, calendar):
        self.calendar = calendar
        self.code = calendar.code
        self.timezone = ZoneInfo(calendar.timezone or "UTC")
        mask = calendar.working_weekdays or ""
        self.working_weekdays = tuple(char == "1" for char in mask.ljust(7, "0")[:7])
        # .all() uses the prefetch cache when the caller prefetched "exceptions".
        rows = sorted(calendar.exceptions.all(), key=lambda row: (row.start, row.end))
        self._exceptions = [_Exception(r.start, r.end, r.is_working, r.reason) for r in rows]
        self._starts = [exception.start for exception in self._exceptions]
        # The latest end among exceptions up to each index: lets a backward scan stop early
        # even if overlapping exceptions slipped past clean().
        self._ends_so_far = list(itertools.accumulate((e.end for e in self._exceptions), max))
        self._holidays = _holidays_for(calendar.holiday_country, calendar.holiday_subdivision)

    @classmethod
    def of(cls, calendar):
        """`calendar` itself if it already is a WorkingCalendar, else a new one."""
        return calendar if isinstance(calendar, cls) else cls(calendar)

    def __repr__(self):
        return f"<WorkingCalendar {self.code}>"

    def local_date(self, value):
        """The calendar's date for `value`: a date as is, an aware datetime converted to the
        calendar's time zone, a naive datetime taken as local wall-clock time."""
        if isinstance(value, datetime.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(self.timezone)
            return value.date()
        if isinstance(value, datetime.date):
            return value
        raise TypeError(f"Expected a date or datetime, got {type(value).__name__}.")

    def exception_on(self, day):
        """The exception covering `day`, or None. With overlapping exceptions (which clean()
        refuses) the one starting latest wins."""
        index = bisect.bisect_right(self._starts, day) - 1
        while index >= 0 and self._ends_so_far[index] >= day:
            if self._exceptions[index].end >= day:
                return self._exceptions[index]
            index -= 1
        return None

    def holiday_on(self, day):
        """The public holiday's name on `day`, or "" when there is none."""
        if self._holidays is None:
            return ""
        return self._holidays.get(day) or ""

    def day_info(self, day):
        """Whether `day` is worked and the reason, for diagnostics and error messages."""
        day = self.local_date(day)
        holiday = self.holiday_on(day)
        exception = self.exception_on(day)
        if exception is not None:
            if exception.is_working:
                reason = f"extra working day: {exception.reason}"
            else:
                reason = f"closed: {exception.reason}"
            return DayInfo(day, exception.is_working, reason, holiday)
        if holiday:
            return DayInfo(day, False, f"public holiday: {holiday}", holiday)
        weekday = day.weekday()
        if self.working_weekdays[weekday]:
            return DayInfo(day, True, f"working weekday ({WEEKDAY_NAMES[weekday]})")
        label = "weekend" if weekday >= 5 else "non-working weekday"
        return DayInfo(day, False, f"{label} ({WEEKDAY_NAMES[weekday]})")

    def is_working_day(self, day):
        """True when `day` is worked."""
        day = self.local_date(day)
        exception = self.exception_on(day)
        if exception is not None:
            return exception.is_working
        if self.holiday_on(day):
            return False
        return self.working_weekdays[day.weekday()]

    def add_working_days(self, day, n):
        """The date `n` working days from `day`.

        n > 0: the n-th working day after `day`, not counting `day` itself (Friday + 1 is
        Monday on a Monday-Friday calendar; Saturday + 1 is also Monday).
        n < 0: the |n|-th working day before `day` (Monday - 1 is Friday).
        n = 0: `day` when it is worked, else the next working day.

        For a working day d, working_days_between(d, add_working_days(d, n)) == n.
        Raises ValueError when no working day turns up for three years in a row.
        """
        day = self.local_date(day)
        if n == 0:
            return day if self.is_working_day(day) else self._next_working(day, forward=True)
        for _ in range(abs(n)):
            day = self._next_working(day, forward=n > 0)
        return day

    def working_days_between(self, start, end):
        """The number of working days in [start, end): `start` counts, `end` does not, so
        Friday to the next Monday is 1 on a Monday-Friday calendar and a date to itself is 0.
        When end is before start the count of [end, start) is returned negated."""
        start, end = self.local_date(start), self.local_date(end)
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start
        while day < end:
            count += self.is_working_day(day)
            day += ONE_DAY
        return count

    def next_working_day(self, day):
        """The first working day strictly after `day`."""
        return self._next_working(self.local_date(day), forward=True)

    def previous_working_day(self, day):
        """The last working day strictly before `day`."""
        return self._next_working(self.local_date(day), forward=False)

    def _next_working(self, day, forward):
        first = day
        step = ONE_DAY if forward else -ONE_DAY
        for _ in range(MAX_DAYS_WITHOUT_WORK):
            day += step
            if self.is_working_day(day):
                return day
        direction = "after" if forward else "before"
        raise ValueError(
            f"Calendar {self.code} has no working day in the {MAX_DAYS_WITHOUT_WORK} days "
            f"{direction} {first}; check its working weekdays and exceptions."
        )


def _holidays_for(country, subdivision):
    """A lazily expanding holiday table (years are computed on first use), or None."""
    if not country:
        return None
    # Names in US English where the country provides them (else the country's own language);
    # set explicitly, because without it `holidays` guesses from the process locale.
    return holidays.country_holidays(country, subdiv=subdivision or None, language="en_US")


def is_working_day(calendar, day):
    """True when `day` is worked on `calendar`. See WorkingCalendar.is_working_day."""
    return WorkingCalendar.of(calendar).is_working_day(day)


def add_working_days(calendar, day, n):
    """The date `n` working days from `day`. See WorkingCalendar.add_working_days."""
    return WorkingCalendar.of(calendar).add_working_days(day, n)


def working_days_between(calendar, start, end):
    """Working days in [start, end), negative when end < start. See
    WorkingCalendar.working_days_between."""
    return WorkingCalendar.of(calendar).working_days_between(start, end)


def day_info(calendar, day):
    """Whether `day` is worked on `calendar` and why. See WorkingCalendar.day_info."""
    return WorkingCalendar.of(calendar).day_info(day)
