"""The quarantine tests' world: tests/conftest.py's users and clients, with Celery in eager
mode whatever broker the environment names, and validation's test world of master data."""

import pytest

from mdm.models import Supplier
from tests.quarantine.test_cases import quarantine
from tests.validation.world import build_world
from xref import duplicates
from xref.models import CrossReference, DuplicatePair


@pytest.fixture(autouse=True)
def _eager(eager_celery):
    """Every quarantine test runs its tasks in its own process (tests/conftest.py)."""


@pytest.fixture
def world(db):
    """Validation's test world (tests/validation/world.py): systems, records, references."""
    return build_world()


@pytest.fixture
def kugelmann_twice(world):
    """The world's Kugelmann (known to three systems, SUPPLIER_NET's code in an open case;
    its legal name written out) onboarded again from the cloud ERP with a shorter legal name."""
    world.supplier.vat = "DE136695976"
    world.supplier.legal_name = "Kugelmann Wälzlager GmbH & Co. KG"
    world.supplier.save()
    twin = Supplier.objects.create(
        number="S-900",
        name="Kugelmann GmbH",
        legal_name="Kugelmann KG",
        country="DE",
        vat="DE 136 695 976",
    )
    CrossReference.objects.create(
        kind="supplier", system=world.systems["ERP_CLOUD"], code="BP900", supplier=twin
    )
    quarantine(world.systems["SUPPLIER_NET"])  # a ship notice from SUP-NET-0042
    duplicates.check("supplier", twin.public_id)
    pair = DuplicatePair.objects.get(kind="supplier")
    return world.supplier, twin, pair


@pytest.fixture
def steward_client(client, steward):
    client.force_login(steward)
    return client
