"""Merging two supplier sites of one supplier, and undoing it (issue 19): the codes other
systems have for the loser site, the locations that are it and the orders sent to it follow
it to the survivor; its id resolves to the survivor (the registry, resolve and translate, its
API URL); an unmerge leaves every table as before; sites of two suppliers are refused."""

import datetime as dt

import pytest
from django.utils import timezone

from mdm.models import Calendar, Location, SourceSystem, Supplier, SupplierSite
from tests.problems import problem_of
from tests.xref.rows import assert_as_before, fresh, snapshot
from validation.models import PurchaseOrder
from xref import duplicates, resolve
from xref.merging import MergeConflict, MergeError, merge, survivorship, unmerge
from xref.models import CrossReference, DuplicatePair
from xref.services import register_reference, target_by_key

pytestmark = pytest.mark.django_db

SITE = "supplier_site"
# Every table a site merge may change, compared row by row (history tables are not: a merge
# and its undoing are two more entries there, as they should be).
TABLES = (Supplier, SupplierSite, Location, CrossReference, PurchaseOrder, DuplicatePair)


@pytest.fixture(autouse=True)
def _eager(eager_celery):
    pass


def ref(system, code, site, preferred=True):
    reference, _ = register_reference(
        kind=SITE, system=system, code=code, target=site, is_preferred=preferred
    )
    return reference


@pytest.fixture
def kugelmann(systems):
    """Kugelmann's ordering address twice: ORD, the procurement ERP's (ERP_LEGACY: KUG-ORD),
    and 0001, the collaboration portal's (SUPPLIER_NET: 0001; ERP_LEGACY has it too, as
    KUG-0001, both preferred), with its own calendar, a location that is it (where the
    plant's trucks collect) and an order sent to it. And a plant dock to ship to."""
    supplier = Supplier.objects.create(number="S-100234", name="Kugelmann", country="DE")
    calendar = Calendar.objects.create(code="KUG", name="Kugelmann works", timezone="Europe/Berlin")
    ordering = SupplierSite.objects.create(
        supplier=supplier, code="ORD", address="Hafenstraße 12", postal_code="97421", country="DE"
    )
    portal = SupplierSite.objects.create(
        supplier=supplier,
        code="0001",
        name="Kugelmann Schweinfurt",
        address="Hafenstrasse 12",
        city="Schweinfurt",
        postal_code="97421",
        country="DE",
        calendar=calendar,
    )
    ref("ERP_LEGACY", "KUG-ORD", ordering)
    ref("SUPPLIER_NET", "0001", portal)
    ref("ERP_LEGACY", "KUG-0001", portal)
    dock = Location.objects.create(
        code="DE-HH-01", name="Hamburg dock", kind="ship_to", country="DE"
    )
    pickup = Location.objects.create(
        code="KUG-PICKUP",
        name="Kugelmann pick-up",
        kind="supplier_site",
        supplier_site=portal,
        country="DE",
    )
    order = PurchaseOrder.objects.create(
        po_number="4500012345",
        supplier=supplier,
        supplier_site=portal,
        ship_to=dock,
        system=SourceSystem.objects.get(code="ERP_LEGACY"),
        change_sequence=0,
        order_date=dt.date(2026, 3, 2),
        released_at=timezone.now(),
        changed_at=timezone.now(),
    )
    duplicates.check(SITE, ordering.public_id)
    supplier.ordering, supplier.portal, supplier.pickup, supplier.order = (
        ordering,
        portal,
        pickup,
        order,
    )
    return supplier


def test_a_site_merge_moves_codes_locations_and_orders_and_its_unmerge_leaves_all_as_before(
    kugelmann, steward
):
    before = snapshot(TABLES)
    survivor, loser = kugelmann.ordering, kugelmann.portal

    done = merge(SITE, survivor.public_id, loser.public_id, user=steward, reason="One address.")

    survivor, loser = fresh(survivor), fresh(loser)
    assert (loser.merged_into, loser.status) == (survivor.public_id, "inactive")
    # The survivor takes the values only the loser had: its name, city and calendar.
    assert (survivor.name, survivor.city, survivor.calendar.code) == (
        "Kugelmann Schweinfurt",
        "Schweinfurt",
        "KUG",
    )
    assert not CrossReference.objects.filter(supplier_site=loser).exists()
    portal_code = CrossReference.objects.get(code="0001")
    assert (portal_code.supplier_site, portal_code.is_preferred) == (survivor, True)
    second = CrossReference.objects.get(code="KUG-0001")  # KUG-ORD stays ERP_LEGACY's preferred
    assert (second.supplier_site, second.is_preferred) == (survivor, False)
    assert fresh(kugelmann.pickup).supplier_site == survivor
    assert fresh(kugelmann.order).supplier_site == survivor
    assert set(done.moved) == {
        "xref.crossreference",
        "xref.crossreference.unpreferred",
        "mdm.location.supplier_site",
        "validation.purchaseorder.supplier_site",
    }
    assert DuplicatePair.objects.get(kind=SITE).status == "same"

    unmerge(done, user=steward, reason="Two gates after all.")

    assert_as_before(before)


def test_the_old_site_id_and_its_codes_lead_to_the_survivor(kugelmann, steward, viewer_api):
    survivor, loser = kugelmann.ordering, kugelmann.portal

    merge(SITE, survivor.public_id, loser.public_id, user=steward)

    assert resolve.resolve(SITE, "SUPPLIER_NET", "0001")["id"] == survivor.public_id
    translated = resolve.translate(SITE, "SUPPLIER_NET", "0001", "ERP_LEGACY")
    assert (translated["status"], translated["code"]) == ("translated", "KUG-ORD")
    assert target_by_key(SITE, loser.public_id) == survivor
    # A code written to the merged site past the registry (a bulk load) resolves to the live one.
    CrossReference.objects.create(
        system=SourceSystem.objects.get(code="ERP_CLOUD"), kind=SITE, code="X1", supplier_site=loser
    )
    answer = resolve.resolve(SITE, "ERP_CLOUD", "X1")
    assert answer["id"] == survivor.public_id
    assert answer["record"]["merged_from"] == loser.public_id
    assert answer["record"]["supplier"] == kugelmann.public_id
    # Its API URL answers with the survivor; the list leaves it out.
    sites = f"/api/v1/suppliers/{kugelmann.public_id}/sites/"
    response = viewer_api.get(f"{sites}0001/")
    assert (response.json()["public_id"], response.json()["merged_from"]) == (
        survivor.public_id,
        loser.public_id,
    )
    assert response["Content-Location"].endswith(f"{sites}ORD/")
    assert [row["code"] for row in viewer_api.get(sites).json()["results"]] == ["ORD"]


def test_sites_of_two_suppliers_are_refused_with_nothing_changed(kugelmann, steward, steward_api):
    other = Supplier.objects.create(number="S-200234", name="Kugelmann GmbH", country="DE")
    theirs = SupplierSite.objects.create(
        supplier=other, code="HQ", address="Hafenstraße 12", postal_code="97421", country="DE"
    )
    before = snapshot(TABLES)

    with pytest.raises(MergeError, match=f"merge {other.public_id} into {kugelmann.public_id}"):
        merge(SITE, kugelmann.ordering.public_id, theirs.public_id, user=steward)
    response = steward_api.post(
        f"/api/v1/suppliers/{kugelmann.public_id}/sites/ORD/merge/",
        {"loser": theirs.public_id},
        format="json",
    )

    assert "only sites of one supplier are merged" in problem_of(response, 400)["detail"]
    assert_as_before(before)


def test_the_merge_offers_the_sites_fields_and_the_api_merges_and_unmerges_by_code(
    kugelmann, steward_api
):
    offered = survivorship(SITE, kugelmann.ordering.public_id, kugelmann.portal.public_id)
    assert list(offered) == [
        "name",
        "status",
        "address",
        "city",
        "postal_code",
        "country",
        "calendar",
    ]
    assert offered["calendar"]["default"] == kugelmann.portal.calendar.public_id  # only it has one
    url = f"/api/v1/suppliers/{kugelmann.public_id}/sites/ORD/merge/"
    proposal = steward_api.get(url, {"loser": "0001"}).json()
    assert proposal["loser"]["url"].endswith(f"/api/v1/suppliers/{kugelmann.public_id}/sites/0001/")

    merged = steward_api.post(
        url,
        {"loser": "0001", "values": {"name": ""}, "seen": proposal["seen"]},
        format="json",
    )

    assert merged.status_code == 200, merged.content
    assert (merged.json()["survivor"], merged.json()["loser"]) == (
        kugelmann.ordering.public_id,
        kugelmann.portal.public_id,
    )
    assert fresh(kugelmann.ordering).name == ""  # picked: the survivor's own (empty) name
    undone = steward_api.post(f"/api/v1/suppliers/{kugelmann.public_id}/sites/0001/unmerge/")
    assert undone.status_code == 200
    assert fresh(kugelmann.portal).merged_into == ""


def test_a_supplier_unmerge_waits_for_the_merge_of_sites_it_brought_together(systems, steward):
    first = Supplier.objects.create(number="S-1", name="Kugelmann", country="DE")
    second = Supplier.objects.create(number="S-2", name="Kugelmann GmbH", country="DE")
    ordering = SupplierSite.objects.create(supplier=first, code="ORD", country="DE")
    portal = SupplierSite.objects.create(supplier=second, code="0001", country="DE")
    suppliers = merge("supplier", first.public_id, second.public_id, user=steward)
    sites = merge(SITE, ordering.public_id, portal.public_id, user=steward)

    with pytest.raises(MergeConflict, match=f"undo that merge \\(#{sites.pk}\\) first"):
        unmerge(suppliers, user=steward)

    unmerge(sites, user=steward)
    unmerge(suppliers, user=steward)
    assert fresh(portal).supplier == second


def test_the_merge_screen_offers_the_sites_fields_and_merges_them(kugelmann, client, steward):
    pair = DuplicatePair.objects.get(kind=SITE)
    client.force_login(steward)
    page_url = f"/quarantine/duplicates/supplier_site/pairs/{pair.pk}/merge/"

    page = client.get(page_url, {"survivor": kugelmann.ordering.public_id})

    assert page.status_code == 200
    fields = [c.field for group in page.context["proposal"].groups for c in group.fields]
    assert fields == ["name", "status", "address", "city", "postal_code", "country", "calendar"]
    moving = {row.label: row.words for row in page.context["moving"]}
    assert moving["mdm.location.supplier_site"] == "1 location that is the site"
    assert moving["validation.purchaseorder.supplier_site"] == "1 purchase order"
    text = page.content.decode()
    assert "a site of" in text and "S-100234" in text
    seen = page.context["seen"]
    done = client.post(
        page_url,
        {
            "survivor": kugelmann.ordering.public_id,
            "seen-survivor": seen["survivor"],
            "seen-loser": seen["loser"],
            "reason": "One address, two codes.",
        },
    )
    assert done.status_code == 302
    assert fresh(kugelmann.portal).merged_into == kugelmann.ordering.public_id
    merged = client.get(done["Location"])
    assert merged.status_code == 200
    assert f"/api/v1/suppliers/{kugelmann.public_id}/sites/0001/" in merged.content.decode()
