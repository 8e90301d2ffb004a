"""The quarantine tests' world: tests/conftest.py's users and clients, with Celery in eager
mode whatever broker the environment names, and validation's test world of master data."""

import pytest

from tests.validation.world import build_world


@pytest.fixture(autouse=True)
def _eager(eager_celery):
    """Every quarantine test runs its tasks in its own process (tests/conftest.py)."""


@pytest.fixture
def world(db):
    """Validation's test world (tests/validation/world.py): systems, records, references."""
    return build_world()
