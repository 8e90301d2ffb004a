"""The validation tests' world: tests/conftest.py's users and clients, a planning system
client, Celery in eager mode whatever broker the environment names, and (asked for by name)
the master data and cross-references of world.py."""

import pytest

from hub.celery import app as celery_app
from tests.validation.world import build_world, integration_client


@pytest.fixture(autouse=True)
def eager_celery():
    """Tasks run in the test's own process and transaction (the worker integration test has
    a real worker instead)."""
    saved = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


@pytest.fixture
def planning_api(planning_system):
    """An integration client of the planning system."""
    return integration_client("PLANNING", "planning-sync")


@pytest.fixture
def world(db):
    """The plant, suppliers, items and cross-references the example messages speak of."""
    return build_world()
