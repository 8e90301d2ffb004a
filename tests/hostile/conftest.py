"""A small world for the hostile input: units, an item, a supplier, a calendar, a code list
and a cross-reference already stored, so "nothing written" also means "nothing changed";
and the steward's API client that sends the input."""

import pytest
from rest_framework.test import APIClient

from mdm.models import (
    Calendar,
    CalendarException,
    CodeList,
    CodeValue,
    Item,
    ItemRevision,
    ItemUnitConversion,
    Location,
    SourceSystem,
    Supplier,
    SupplierSite,
    Unit,
)
from mdm.services import create_api_client
from validation.models import InboundMessage
from xref.models import CrossReference

# The tables hostile input could write to; counted before and after each case.
TABLES = (
    SourceSystem,
    Unit,
    Item,
    ItemRevision,
    ItemUnitConversion,
    Supplier,
    SupplierSite,
    Location,
    Calendar,
    CalendarException,
    CodeList,
    CodeValue,
    CrossReference,
    InboundMessage,
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _eager(eager_celery):
    """Import tasks run in the test's own process (tests/conftest.py)."""


@pytest.fixture
def stored(db):
    erp = SourceSystem.objects.create(code="ERP_LEGACY", name="Legacy ERP", kind="erp")
    piece = Unit.objects.create(code="H87", name="piece", mapping_class="count")
    box = Unit.objects.create(code="XBX", name="Box", source=Unit.Source.REC21)
    item = Item.objects.create(
        number="EXIST-1", description="Hex bolt", base_unit=piece, item_type="component"
    )
    ItemUnitConversion.objects.create(item=item, from_unit=box, to_unit=piece, factor=12)
    Supplier.objects.create(number="V100001", name="Acme Fasteners", country="DE")
    Calendar.objects.create(code="DE-BY", name="Bavaria", holiday_country="DE")
    code_list = CodeList.objects.create(code="ACK_STATUS", name="Acknowledgement status")
    CodeValue.objects.create(code_list=code_list, code="accepted", meaning="OK")
    CrossReference.objects.create(kind="item", system=erp, code="MAT-1", item=item)
    return item


@pytest.fixture
def steward_key(stored):
    _, key = create_api_client("ERP_LEGACY", "hostile-steward", role="steward")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return api


def snapshot():
    """Row counts and the latest change of every table hostile input could write to."""
    return {
        model.__name__: (
            model.objects.count(),
            model.objects.order_by("-pk").values_list("pk", flat=True).first(),
        )
        for model in TABLES
    }


@pytest.fixture
def unchanged(stored):
    """Asserts, after the test, that no table gained, lost or changed a row."""
    before = snapshot()
    updated = Item.objects.get(pk=stored.pk).updated_at
    yield
    assert snapshot() == before
    assert Item.objects.get(pk=stored.pk).updated_at == updated
