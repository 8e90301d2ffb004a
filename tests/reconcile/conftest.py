"""A small named world for the reconciliation service: suppliers (two namesakes in different
countries), an item, a location, the legacy ERP's codes for them, and a key."""

import pytest

from mdm.models import Item, Location, Supplier, Unit
from reconcile.services import create_key
from xref.models import CrossReference


@pytest.fixture
def world(db, erp_system, planning_system):
    piece = Unit.objects.create(code="H87", name="piece", mapping_class="count")
    acme_de = Supplier.objects.create(
        number="S100",
        name="Acme Plastics",
        legal_name="Acme Plastics GmbH",
        country="DE",
        duns="123456789",
        vat="DE136695976",
    )
    acme_fr = Supplier.objects.create(number="S200", name="Acme Plastics", country="FR")
    nordwind = Supplier.objects.create(
        number="S300", name="Nordwind Castings", country="DE", lei="213800KUD8LAJWSQ9D15"
    )
    tricky = Supplier.objects.create(
        number="S400", name='Shady <script>alert("x")</script> & Sons', country="GB"
    )
    bolt = Item.objects.create(
        number="I100",
        description="Hex bolt M8x40 zinc plated",
        base_unit=piece,
        item_type="component",
        manufacturer="Boltworks",
        mpn="HB-M8-40-ZP",
        gtin="4006381333931",
    )
    # A second item and location: the matcher weighs words by rarity, and in a kind of one
    # record every word is in all of them.
    Item.objects.create(
        number="I200", description="Cable tie 200 mm black", base_unit=piece, item_type="mro"
    )
    Location.objects.create(code="W1", name="Hamburg Warehouse", kind="warehouse", country="DE")
    plant = Location.objects.create(
        code="P1", name="Main Plant Bremen", kind="plant", country="DE", gln="4012345000009"
    )
    for code, target, preferred in (
        ("V-0100", acme_de, True),
        ("V-0100-OLD", acme_de, False),
        ("V-0300", nordwind, False),
    ):
        CrossReference.objects.create(
            kind="supplier", system=erp_system, code=code, supplier=target, is_preferred=preferred
        )
    CrossReference.objects.create(
        kind="item", system=erp_system, code="MAT-100", item=bolt, is_preferred=True
    )
    return {
        "acme_de": acme_de,
        "acme_fr": acme_fr,
        "nordwind": nordwind,
        "tricky": tricky,
        "bolt": bolt,
        "plant": plant,
    }


@pytest.fixture
def key(db):
    """The service key a steward gave the procurement team's OpenRefine."""
    return create_key("procurement-openrefine")


@pytest.fixture
def service_url(key):
    return f"/reconcile/{key[1]}/"
