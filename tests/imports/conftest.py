"""A small world for the import tests: units and a calendar, and helpers that plan, apply
and export files in memory. Uploaded files go to a temporary media folder; tasks run eagerly."""

import io

import pytest

from imports import exporting, runs
from mdm.models import Calendar, Unit


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _eager(eager_celery):
    """Import tasks run in the test's own process (tests/conftest.py)."""


@pytest.fixture
def units(db):
    return Unit.objects.bulk_create(
        [
            Unit(code="H87", name="piece", mapping_class="count"),
            Unit(code="KGM", name="kilogram", pint_expression="kilogram", mapping_class="direct"),
            Unit(code="XBX", name="Box", source=Unit.Source.REC21),
        ]
    )


@pytest.fixture
def steward_browser(client, steward):
    """The steward screen, logged in as a steward."""
    client.force_login(steward)
    return client


@pytest.fixture
def calendar(db):
    return Calendar.objects.create(code="DE-BY", name="Bavaria", holiday_country="DE")


def csv_file(text, name="upload.csv", encoding="utf-8"):
    """An in-memory file as an upload would give it."""
    data = text.encode(encoding) if isinstance(text, str) else text
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def plan(kind, text, **options):
    return runs.import_file(kind, csv_file(text), **options)


def apply(kind, text, **options):
    return runs.import_file(kind, csv_file(text), apply=True, **options)


def export(kind):
    out = io.StringIO()
    exporting.export_kind(kind, out)
    return out.getvalue()
