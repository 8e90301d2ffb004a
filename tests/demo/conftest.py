"""The demo tests: Celery in eager mode whatever broker the environment names (the demo
messages are validated in the test's own process), and the units the demo uses."""

import pytest

from demo.reference_data import DEMO_UNITS
from mdm.models import Unit


@pytest.fixture(autouse=True)
def _eager(eager_celery):
    """Every demo test runs its tasks in its own process (tests/conftest.py)."""


@pytest.fixture
def demo_units(db):
    """Just the units the demo uses, so that most tests skip loading all of Rec 20 and 21."""
    for code, fields in DEMO_UNITS.items():
        Unit.objects.create(code=code, **fields)
