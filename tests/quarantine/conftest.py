"""The quarantine tests' world: tests/conftest.py's users and clients, with Celery in eager
mode whatever broker the environment names."""

import pytest


@pytest.fixture(autouse=True)
def _eager(eager_celery):
    """Every quarantine test runs its tasks in its own process (tests/conftest.py)."""
