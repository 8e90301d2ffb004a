"""The admin speaks in words with the code beside: countries and units by name, factors
without trailing zeros; and every steward page carries the same navigation."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from mdm.models import Item, ItemUnitConversion, Supplier, SupplierSite, Unit


@pytest.fixture
def world(db):
    h87 = Unit.objects.create(code="H87", name="piece", mapping_class="count")
    xbx = Unit.objects.create(
        code="XBX", name="box", source=Unit.Source.REC21, mapping_class="item_specific"
    )
    item = Item.objects.create(number="100-200", description="Hex bolt M8x40", base_unit=h87)
    ItemUnitConversion.objects.create(item=item, from_unit=xbx, factor=Decimal("100"), to_unit=h87)
    supplier = Supplier.objects.create(number="S-1000", name="Bossard", country="DE")
    SupplierSite.objects.create(supplier=supplier, code="HQ", name="Zug works", country="CH")
    return item, supplier


@pytest.fixture
def steward_client(client, steward):
    client.force_login(steward)
    return client


def test_change_lists_show_countries_and_units_in_words(steward_client, world):
    suppliers = steward_client.get(reverse("admin:mdm_supplier_changelist")).content.decode()
    assert "Germany (DE)" in suppliers
    sites = steward_client.get(reverse("admin:mdm_suppliersite_changelist")).content.decode()
    assert "Switzerland (CH)" in sites
    items = steward_client.get(reverse("admin:mdm_item_changelist")).content.decode()
    assert "piece (H87)" in items
    conversions = steward_client.get(reverse("admin:mdm_itemunitconversion_changelist"))
    html = conversions.content.decode()
    assert "box (XBX)" in html and ">100<" in html
    assert "100.00000000" not in html


def test_the_country_is_picked_by_name_and_stored_as_its_code(steward_client, world):
    _, supplier = world
    url = reverse("admin:mdm_supplier_change", args=[supplier.pk])
    page = steward_client.get(url).content.decode()
    assert '<option value="DE" selected>Germany (DE)</option>' in page
    assert '<option value="FR">France (FR)</option>' in page

    form = {
        "number": supplier.number,
        "name": supplier.name,
        "status": supplier.status,
        "country": "FR",
        "sites-TOTAL_FORMS": "0",
        "sites-INITIAL_FORMS": "0",
    }
    form |= _known_as_management(page)
    response = steward_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    supplier.refresh_from_db()
    assert supplier.country == "FR"


def _known_as_management(page):
    """The management form of any other inline on the page (the "Known as" codes), empty."""
    prefixes = set(re.findall(r'name="([^"]+)-TOTAL_FORMS"', page)) - {"sites"}
    form = {}
    for prefix in prefixes:
        form[f"{prefix}-TOTAL_FORMS"] = "0"
        form[f"{prefix}-INITIAL_FORMS"] = "0"
    return form


def test_an_item_page_shows_its_factor_and_weight_without_trailing_zeros(steward_client, world):
    item, _ = world
    item.net_weight = Decimal("0.000600")
    item.weight_unit = Unit.objects.create(code="KGM", name="kilogram", mapping_class="direct")
    item.save()
    page = steward_client.get(reverse("admin:mdm_item_change", args=[item.pk])).content.decode()
    assert 'value="100"' in page  # the conversion's factor
    assert 'value="0.0006"' in page
    assert "1 XBX = 100 H87" in page


@pytest.mark.parametrize(
    "url_name", ["admin:index", "admin:mdm_item_changelist", "quarantine:queue", "imports:index"]
)
def test_every_steward_page_links_to_every_screen(steward_client, url_name):
    page = steward_client.get(reverse(url_name)).content.decode()
    nav = page[page.index('id="hub-nav"') : page.index("</nav>", page.index('id="hub-nav"'))]
    for target in (
        "admin:index",
        "quarantine:queue",
        "quarantine:dashboard",
        "quarantine:supply-exceptions",
        "imports:index",
        "api-docs",
    ):
        assert f'href="{reverse(target)}"' in nav, target
    assert "View site" not in page  # it only led back to the admin


def test_a_viewer_is_not_offered_the_import(client, viewer):
    client.force_login(viewer)
    page = client.get(reverse("admin:index")).content.decode()
    assert 'id="hub-nav"' in page
    assert f'href="{reverse("imports:index")}"' not in page
