"""The small named world most tests share: a steward, a viewer, and API clients of two
source systems."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from rest_framework.test import APIClient

from hub.celery import app as celery_app
from mdm.models import SourceSystem
from mdm.services import create_api_client


def _user_with_role(django_user_model, username, role):
    user = django_user_model.objects.create_user(
        username=username, password="pw-for-tests-only", is_staff=True
    )
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def steward(django_user_model):
    return _user_with_role(django_user_model, "stella.steward", "steward")


@pytest.fixture
def viewer(django_user_model):
    return _user_with_role(django_user_model, "victor.viewer", "viewer")


@pytest.fixture
def erp_system(db):
    return SourceSystem.objects.create(code="ERP_LEGACY", name="Legacy ERP", kind="erp")


@pytest.fixture
def planning_system(db):
    return SourceSystem.objects.create(code="PLANNING", name="Planning", kind="planning")


def _bearer(key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return api


@pytest.fixture
def erp_api(erp_system):
    """An integration client of the legacy ERP."""
    _, key = create_api_client("ERP_LEGACY", "erp-sync")
    return _bearer(key)


@pytest.fixture
def planning_api(planning_system):
    """An integration client of the planning system."""
    _, key = create_api_client("PLANNING", "planning-sync")
    return _bearer(key)


@pytest.fixture
def steward_api(erp_system):
    """An API client with the steward role (an integration engineer maintaining data)."""
    _, key = create_api_client("ERP_LEGACY", "erp-steward", role="steward")
    return _bearer(key)


@pytest.fixture
def viewer_api(viewer):
    api = APIClient()
    api.force_login(viewer)
    return api


@pytest.fixture
def anonymous_api():
    return APIClient()


@pytest.fixture(autouse=True)
def _no_lockout_from_earlier_tests(settings):
    # Wrong API keys are counted in Django's cache (core.lockout): one test's wrong keys must not
    # lock the next out. The test process gets a cache of its own in memory, emptied for each
    # test: clearing a Redis cache would flush the database it shares with the broker. (Failed
    # logins are rows, rolled back with the test.)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_match_caches():
    # The matcher caches key counts and its weights per process: one test's records and
    # estimated weights (rolled back with it) must not steer the next test's answers.
    from xref.matching.counts import cache as match_cache

    match_cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real password hashing costs ~0.2 s per user; the tests do not measure it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def eager_celery():
    """Tasks run in the test's own process and transaction, whatever broker the environment
    names (the worker integration test has a real worker instead). App conftests use it for
    every test."""
    saved = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved
