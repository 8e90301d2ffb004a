"""The world of the change requests' tests: tests/conftest.py's steward, stewards who approve
(alice, bob, arno.approver) and who may apply emergency changes (carol, erin.emergency), a
viewer, a supplier; Celery in eager mode whatever broker the environment names; validation's
test world of master data and cross-references (tests/validation/world.py) for the tests that
ask. The kinds of record are those the apps register (changes.registry)."""

import pytest
from django.contrib.auth.models import Group

from changes.models import ApprovalPolicy
from mdm.models import Supplier
from tests.validation.world import build_world
from xref.models import CrossReference


@pytest.fixture(autouse=True)
def _eager(eager_celery):
    """Every test here runs its tasks in its own process (tests/conftest.py)."""


def person(django_user_model, username, *groups, role="steward"):
    """A person of the role (a steward by default) in the given groups, with permissions read
    afresh."""
    user = django_user_model.objects.create_user(
        username=username, password="pw-for-tests-only", is_staff=True
    )
    for name in (role, *groups):
        user.groups.add(Group.objects.get(name=name))
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def approver(django_user_model):
    """A second steward, in the "approver" group."""
    return person(django_user_model, "arno.approver", "approver")


@pytest.fixture
def firefighter(django_user_model):
    """A steward in the "emergency" group: may apply a change before approval."""
    return person(django_user_model, "erin.emergency", "emergency")


@pytest.fixture
def world(db):
    """Validation's test world: systems, records, references."""
    return build_world()


@pytest.fixture
def alice(django_user_model):
    return person(django_user_model, "alice", "approver")


@pytest.fixture
def bob(django_user_model):
    return person(django_user_model, "bob", "approver")


@pytest.fixture
def carol(django_user_model):
    return person(django_user_model, "carol", "emergency")


@pytest.fixture
def vera(django_user_model):
    return person(django_user_model, "vera", role="viewer")


@pytest.fixture
def supplier(db):
    return Supplier.objects.create(number="V100", name="Frontier Bearing Supply", country="DE")


@pytest.fixture
def erp_policy(world):
    """Approval of the legacy ERP's cross-references."""
    return ApprovalPolicy.objects.create(
        kind="xref.crossreference", systems=["ERP_LEGACY"], note="ERP codes drive procurement"
    )


@pytest.fixture
def old_code(world):
    """ERP_LEGACY's supplier code 100999, meaning the inactive supplier Gone."""
    return CrossReference.objects.get(system__code="ERP_LEGACY", kind="supplier", code="100999")
