"""Valdor's three plants: each with its calendar (holidays, a summer shutdown and a working
Saturday this year and next), a central warehouse and a goods-receipt dock."""

from dataclasses import dataclass
from datetime import date, timedelta

from demo.build import get_or_create, gs1
from mdm.models import Calendar, CalendarException, Location

COMPANY = "Valdor"


def nth_weekday(year, month, weekday, n=1):
    """The n-th given weekday (0 = Monday) of a month."""
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


@dataclass(frozen=True)
class Plant:
    code: str
    city: str
    country: str
    subdivision: str
    timezone: str
    postal_code: str
    street: str
    number: int
    gln_prefix: str
    shutdown_month: int
    shutdown_week: int
    shutdown_days: int


PLANTS = (
    Plant(
        code="DE01",
        city="Ingolstadt",
        country="DE",
        subdivision="BY",
        timezone="Europe/Berlin",
        postal_code="85055",
        street="Industriestraße",
        number=40,
        gln_prefix="4098765",
        shutdown_month=8,
        shutdown_week=1,
        shutdown_days=19,
    ),
    Plant(
        code="US01",
        city="Grand Rapids",
        country="US",
        subdivision="MI",
        timezone="America/Detroit",
        postal_code="49512",
        street="Industrial Park Dr SE",
        number=2150,
        gln_prefix="0614141",
        shutdown_month=7,
        shutdown_week=1,
        shutdown_days=5,
    ),
    Plant(
        code="MX01",
        city="Santiago de Querétaro",
        country="MX",
        subdivision="",
        timezone="America/Mexico_City",
        postal_code="76220",
        street="Av. de la Montaña",
        number=112,
        gln_prefix="7501234",
        shutdown_month=7,
        shutdown_week=2,
        shutdown_days=12,
    ),
)


def seed_plants(created, year):
    taken_glns = set(Location.objects.exclude(gln="").values_list("gln", flat=True))

    def location(code, gln, **fields):
        existing = Location.objects.filter(code=code).first()
        if existing:
            return existing
        fields["gln"] = "" if gln in taken_glns else gln
        created[Location] += 1
        return Location.objects.create(code=code, **fields)

    for plant in PLANTS:
        calendar = get_or_create(
            created,
            Calendar,
            code=f"{plant.code}-PLANT",
            defaults={
                "name": f"{plant.city} plant",
                "timezone": plant.timezone,
                "working_weekdays": "1111100",
                "holiday_country": plant.country,
                "holiday_subdivision": plant.subdivision,
            },
        )
        for y in (year, year + 1):
            start = nth_weekday(y, plant.shutdown_month, 0, plant.shutdown_week)
            get_or_create(
                created,
                CalendarException,
                calendar=calendar,
                start=start,
                defaults={
                    "end": start + timedelta(days=plant.shutdown_days - 1),
                    "is_working": False,
                    "reason": "Summer shutdown",
                },
            )
            saturday = nth_weekday(y, 11, 5, 2)
            get_or_create(
                created,
                CalendarException,
                calendar=calendar,
                start=saturday,
                defaults={
                    "end": saturday,
                    "is_working": True,
                    "reason": "Working Saturday: year-end volume",
                },
            )
        common = {
            "city": plant.city,
            "postal_code": plant.postal_code,
            "country": plant.country,
            "timezone": plant.timezone,
            "calendar": calendar,
        }
        street = f"{plant.street} {{}}" if plant.country != "US" else f"{{}} {plant.street}"
        site = location(
            plant.code,
            gs1(f"{plant.gln_prefix}00001"),
            name=f"{COMPANY} {plant.city} plant",
            kind=Location.Kind.PLANT,
            address=street.format(plant.number),
            **common,
        )
        location(
            f"{plant.code}-WH1",
            gs1(f"{plant.gln_prefix}00002"),
            name=f"{COMPANY} {plant.city} central warehouse",
            kind=Location.Kind.WAREHOUSE,
            address=street.format(plant.number + 4),
            parent=site,
            can_receive=True,
            **common,
        )
        location(
            f"{plant.code}-GR1",
            gs1(f"{plant.gln_prefix}00003"),
            name=f"{COMPANY} {plant.city} goods receipt, dock 1",
            kind=Location.Kind.SHIP_TO,
            address=street.format(plant.number + 2),
            parent=site,
            can_receive=True,
            **common,
        )
