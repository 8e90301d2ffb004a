"""The validation tests' world: tests/conftest.py's users and clients, a planning system
client, Celery in eager mode whatever broker the environment names, and (asked for by name)
the master data and cross-references of world.py."""

import pytest

from tests.validation.world import build_world


@pytest.fixture(autouse=True)
def _eager(eager_celery):
    """Every validation test runs its tasks in its own process (tests/conftest.py)."""


@pytest.fixture
def world(db):
    """The plant, suppliers, items and cross-references the example messages speak of."""
    return build_world()
