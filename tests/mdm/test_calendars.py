"""Working-day arithmetic: the answers a planner would check against a wall calendar.

Dates are in 2026. A Bavarian plant (Mon-Fri, German public holidays for Bavaria) and a few
neighbours: a Berlin warehouse, a US supplier site.
"""

import datetime
from datetime import date

import pytest
from django.core.exceptions import ValidationError

from mdm.calendars import (
    WorkingCalendar,
    add_working_days,
    day_info,
    is_working_day,
    working_days_between,
)
from mdm.models import Calendar, CalendarException


def _calendar(code, **fields):
    fields.setdefault("name", code)
    return Calendar.objects.create(code=code, **fields)


@pytest.fixture
def bavaria(db):
    return _calendar(
        "PLANT-BY",
        timezone="Europe/Berlin",
        holiday_country="DE",
        holiday_subdivision="BY",
    )


@pytest.fixture
def berlin(db):
    return _calendar(
        "WH-BE", timezone="Europe/Berlin", holiday_country="DE", holiday_subdivision="BE"
    )


@pytest.fixture
def texas(db):
    return _calendar("SUP-TX", timezone="America/Chicago", holiday_country="US")


def _close(calendar, start, end, reason, is_working=False):
    return CalendarException.objects.create(
        calendar=calendar, start=start, end=end, reason=reason, is_working=is_working
    )


@pytest.mark.django_db
def test_it_gives_christmas_day_off(bavaria):
    assert not is_working_day(bavaria, date(2026, 12, 25))
    assert is_working_day(bavaria, date(2026, 12, 24))
    info = day_info(bavaria, date(2026, 12, 25))
    assert not info.is_working
    assert info.reason == "public holiday: Christmas Day"


@pytest.mark.django_db
def test_it_applies_a_regional_holiday_only_in_its_subdivision(bavaria, berlin):
    epiphany = date(2026, 1, 6)  # a Tuesday; a holiday in Bavaria, not in Berlin
    assert not is_working_day(bavaria, epiphany)
    assert day_info(bavaria, epiphany).reason == "public holiday: Epiphany"
    assert is_working_day(berlin, epiphany)


@pytest.mark.django_db
def test_it_takes_the_observed_day_of_a_us_holiday_off(texas):
    # 4 July 2026 is a Saturday; the federal holiday is observed on Friday 3 July.
    assert not is_working_day(texas, date(2026, 7, 3))
    assert day_info(texas, date(2026, 7, 3)).reason == "public holiday: Independence Day (observed)"
    assert add_working_days(texas, date(2026, 7, 2), 1) == date(2026, 7, 6)


@pytest.mark.django_db
def test_it_ignores_holidays_for_a_calendar_without_a_country(db):
    calendar = _calendar("NO-HOLIDAYS")
    assert is_working_day(calendar, date(2026, 12, 25))
    assert day_info(calendar, date(2026, 12, 25)).reason == "working weekday (Friday)"


@pytest.mark.django_db
def test_it_explains_weekends_and_non_working_weekdays(db):
    four_day_week = _calendar("FOUR-DAY", working_weekdays="1111000")
    assert day_info(four_day_week, date(2026, 3, 14)).reason == "weekend (Saturday)"
    assert day_info(four_day_week, date(2026, 3, 13)).reason == "non-working weekday (Friday)"
    assert day_info(four_day_week, date(2026, 3, 12)).is_working


@pytest.mark.django_db
def test_it_closes_the_plant_for_a_shutdown(bavaria):
    _close(bavaria, date(2026, 8, 3), date(2026, 8, 14), "summer shutdown")

    assert is_working_day(bavaria, date(2026, 7, 31))
    for day in (date(2026, 8, 3), date(2026, 8, 10), date(2026, 8, 14)):
        assert not is_working_day(bavaria, day)
    assert str(day_info(bavaria, date(2026, 8, 10))) == (
        "2026-08-10 not working: closed: summer shutdown"
    )
    assert is_working_day(bavaria, date(2026, 8, 17))
    assert add_working_days(bavaria, date(2026, 7, 31), 1) == date(2026, 8, 17)
    assert working_days_between(bavaria, date(2026, 7, 27), date(2026, 8, 24)) == 10


@pytest.mark.django_db
def test_it_works_a_saturday_by_exception(bavaria):
    _close(bavaria, date(2026, 10, 10), date(2026, 10, 10), "inventory count", is_working=True)

    assert is_working_day(bavaria, date(2026, 10, 10))
    assert day_info(bavaria, date(2026, 10, 10)).reason == "extra working day: inventory count"
    assert not is_working_day(bavaria, date(2026, 10, 17))
    assert add_working_days(bavaria, date(2026, 10, 9), 1) == date(2026, 10, 10)


@pytest.mark.django_db
def test_it_lets_an_exception_override_a_public_holiday(bavaria):
    _close(bavaria, date(2026, 12, 25), date(2026, 12, 25), "year-end push", is_working=True)

    info = day_info(bavaria, date(2026, 12, 25))
    assert info.is_working
    assert info.reason == "extra working day: year-end push"
    assert info.holiday == "Christmas Day"


@pytest.mark.django_db
def test_it_adds_working_days_across_a_weekend_and_a_holiday(bavaria):
    friday, monday = date(2026, 3, 13), date(2026, 3, 16)
    assert add_working_days(bavaria, friday, 1) == monday
    assert add_working_days(bavaria, friday, 5) == date(2026, 3, 20)
    # Christmas Day is a Friday, Boxing Day a Saturday.
    assert add_working_days(bavaria, date(2026, 12, 24), 1) == date(2026, 12, 28)


@pytest.mark.django_db
def test_it_goes_back_with_negative_days(bavaria):
    assert add_working_days(bavaria, date(2026, 3, 16), -1) == date(2026, 3, 13)
    assert add_working_days(bavaria, date(2026, 12, 28), -1) == date(2026, 12, 24)
    assert add_working_days(bavaria, date(2026, 3, 16), -10) == date(2026, 3, 2)


@pytest.mark.django_db
def test_it_rolls_zero_days_forward_only_from_a_day_off(bavaria):
    assert add_working_days(bavaria, date(2026, 3, 13), 0) == date(2026, 3, 13)
    assert add_working_days(bavaria, date(2026, 3, 14), 0) == date(2026, 3, 16)
    # Counting starts after the start day, so Saturday + 1 is Monday too.
    assert add_working_days(bavaria, date(2026, 3, 14), 1) == date(2026, 3, 16)


@pytest.mark.django_db
def test_it_counts_working_days_from_start_up_to_end(bavaria):
    assert working_days_between(bavaria, date(2026, 3, 2), date(2026, 3, 9)) == 5
    assert working_days_between(bavaria, date(2026, 3, 13), date(2026, 3, 16)) == 1
    assert working_days_between(bavaria, date(2026, 3, 13), date(2026, 3, 13)) == 0
    assert working_days_between(bavaria, date(2026, 3, 9), date(2026, 3, 2)) == -5
    assert working_days_between(bavaria, date(2026, 12, 21), date(2026, 12, 28)) == 4


@pytest.mark.django_db
def test_it_agrees_with_itself_when_adding_then_counting(bavaria):
    _close(bavaria, date(2026, 12, 28), date(2026, 12, 31), "year-end closure")
    calendar = WorkingCalendar(bavaria)
    for start in (date(2026, 12, 21), date(2026, 12, 24), date(2027, 1, 4)):
        for n in range(-12, 13):
            end = calendar.add_working_days(start, n)
            assert calendar.working_days_between(start, end) == n, (start, n)


@pytest.mark.django_db
def test_it_refuses_to_search_forever_on_a_calendar_without_working_days(db):
    never = _calendar("NEVER", working_weekdays="0000000")  # clean() would refuse it

    with pytest.raises(ValueError, match=r"Calendar NEVER has no working day in the \d+ days"):
        add_working_days(never, date(2026, 3, 2), 1)
    with pytest.raises(ValueError, match="no working day"):
        add_working_days(never, date(2026, 3, 2), -1)


@pytest.mark.django_db
def test_it_refuses_to_search_forever_through_an_endless_shutdown(bavaria):
    _close(bavaria, date(2026, 1, 1), date(2035, 12, 31), "site closed")

    with pytest.raises(ValueError, match="Calendar PLANT-BY has no working day"):
        add_working_days(bavaria, date(2026, 3, 2), 0)
    assert working_days_between(bavaria, date(2026, 1, 1), date(2027, 1, 1)) == 0


@pytest.mark.django_db
def test_it_reads_the_calendar_once_for_many_questions(bavaria, django_assert_num_queries):
    _close(bavaria, date(2026, 8, 3), date(2026, 8, 14), "summer shutdown")
    _close(bavaria, date(2026, 10, 10), date(2026, 10, 10), "inventory", is_working=True)

    with django_assert_num_queries(1):
        calendar = WorkingCalendar(bavaria)
    with django_assert_num_queries(0):
        assert calendar.working_days_between(date(2026, 1, 1), date(2028, 1, 1)) > 400
        for offset in range(365):
            calendar.add_working_days(date(2026, 1, 1) + datetime.timedelta(offset), 3)
        assert is_working_day(calendar, date(2026, 10, 10))

    prefetched = Calendar.objects.prefetch_related("exceptions").get(pk=bavaria.pk)
    with django_assert_num_queries(0):
        assert not WorkingCalendar(prefetched).is_working_day(date(2026, 8, 5))


@pytest.mark.django_db
def test_it_reads_an_aware_time_in_the_calendars_time_zone(bavaria):
    # 23:30 UTC on Christmas Eve is already Christmas Day in Bavaria.
    moment = datetime.datetime(2026, 12, 24, 23, 30, tzinfo=datetime.UTC)
    assert not is_working_day(bavaria, moment)
    assert day_info(bavaria, moment).day == date(2026, 12, 25)


def _clean_errors(calendar):
    with pytest.raises(ValidationError) as caught:
        calendar.full_clean()
    return caught.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mask", "message"),
    [
        ("11111", "Seven characters of 1 (working) or 0 (not working), Monday first."),
        ("1111102", "Seven characters of 1 (working) or 0 (not working), Monday first."),
        ("0000000", "A calendar needs at least one working weekday."),
    ],
)
def test_it_refuses_a_bad_weekday_mask(mask, message):
    errors = _clean_errors(Calendar(code="BAD", name="Bad", working_weekdays=mask))
    assert message in errors["working_weekdays"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("country", "subdivision", "field", "message"),
    [
        ("XX", "", "holiday_country", "'XX' is not an ISO 3166 country."),
        ("de", "", "holiday_country", "'de' is not an ISO 3166 country."),
        ("DE", "ZZ", "holiday_subdivision", "'ZZ' is not a subdivision of DE"),
        ("", "BY", "holiday_subdivision", "A subdivision needs a holiday country."),
    ],
)
def test_it_refuses_unknown_holiday_regions(country, subdivision, field, message):
    calendar = Calendar(
        code="BAD", name="Bad", holiday_country=country, holiday_subdivision=subdivision
    )
    errors = _clean_errors(calendar)
    assert any(message in text for text in errors[field]), errors


@pytest.mark.django_db
def test_it_refuses_an_unknown_time_zone():
    errors = _clean_errors(Calendar(code="BAD", name="Bad", timezone="Europe/Bavaria"))
    assert "'Europe/Bavaria' is not a known IANA time zone" in errors["timezone"][0]


@pytest.mark.django_db
def test_it_accepts_a_bavarian_calendar():
    Calendar(
        code="PLANT-BY",
        name="Plant Bavaria",
        timezone="Europe/Berlin",
        working_weekdays="1111110",
        holiday_country="DE",
        holiday_subdivision="BY",
    ).full_clean()
