"""Duplicate supplier sites (issue 19: "supplier site identifiers are inconsistent across
procurement and collaboration platforms"): one supplier's one address entered twice under two
site codes is found, scored like a pair of locations; sites of two suppliers, or at another
house number, are not; a "not the same" holds; and after two suppliers are merged, the
survivor's doubled sites are found."""

import datetime as dt
import re

import pytest

from demo.reference_data import DEMO_UNITS
from demo.seed import seed_demo
from demo.suppliers import SITE_TWIN_CODE, SITE_TWINS, supplier_number
from mdm.models import Supplier, SupplierSite, Unit
from xref import duplicate_queue, duplicates
from xref.matching import SURE, WORTH_A_LOOK
from xref.merging import merge
from xref.models import DuplicatePair, DuplicateRun, MatchLabel

pytestmark = pytest.mark.django_db

SITE = "supplier_site"


@pytest.fixture(autouse=True)
def _eager(eager_celery):
    pass


def site(supplier, code, address="Hafenstraße 12", postal_code="97421", **fields):
    fields.setdefault("city", "Schweinfurt")
    return SupplierSite.objects.create(
        supplier=supplier,
        code=code,
        address=address,
        postal_code=postal_code,
        country=supplier.country,
        **fields,
    )


@pytest.fixture
def kugelmann(db):
    """Kugelmann's ordering address, entered by procurement as ORD and by the collaboration
    portal as 0001 (spelled its own way), and its warehouse down the street."""
    supplier = Supplier.objects.create(number="S-100234", name="Kugelmann", country="DE")
    supplier.ord = site(supplier, "ORD", name="Kugelmann Schweinfurt")
    supplier.portal = site(supplier, "0001", address="Hafenstrasse 12")
    supplier.store = site(supplier, "LAGER", address="Hafenstraße 48", name="Kugelmann Lager")
    return supplier


def pair_of(one, other):
    first, second = sorted((one.public_id, other.public_id))
    return DuplicatePair.objects.get(kind=SITE, record_a=first, record_b=second)


def test_two_sites_of_one_supplier_at_one_address_pair_up_as_sure(kugelmann):
    found = duplicates.check(SITE, kugelmann.ord.public_id)

    assert [(p.record_a, p.record_b) for p in found] == [
        (kugelmann.ord.public_id, kugelmann.portal.public_id)
    ]
    pair = found[0]
    assert (pair.kind, pair.status) == (SITE, "open")
    assert pair.score >= SURE
    assert pair.evidence["postal_code"] == 100
    assert pair.evidence["address"] >= 90
    # Scored on the address alone: the codes and names a site has are its own.
    assert set(pair.levels) == {"address", "postal_code"}


def test_a_site_is_checked_when_it_is_saved(kugelmann, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        again = site(kugelmann, "SHIP1", address="Hafen-Straße 12")

    assert pair_of(kugelmann.ord, again).score >= SURE


def test_sites_of_two_suppliers_at_one_address_never_pair(kugelmann):
    neighbour = Supplier.objects.create(number="S-100777", name="Hafenlogistik", country="DE")
    shared = site(neighbour, "HQ")

    assert duplicates.check(SITE, shared.public_id) == []
    found = duplicates.check(SITE, kugelmann.ord.public_id)
    assert shared.public_id not in {p.other(kugelmann.ord.public_id) for p in found}


def test_another_house_number_of_the_street_does_not_pair(kugelmann):
    found = duplicates.check(SITE, kugelmann.store.public_id)

    assert found == []
    assert not duplicates.pairs_of(SITE, kugelmann.store.public_id).exists()


def test_a_not_the_same_holds_across_checks_and_runs_until_a_code_changes(
    kugelmann, steward, django_capture_on_commit_callbacks
):
    duplicates.check(SITE, kugelmann.ord.public_id)
    pair = duplicates.decide(
        pair_of(kugelmann.ord, kugelmann.portal), "not_same", steward, "Two docks, one gate."
    )

    duplicates.check(SITE, kugelmann.portal.public_id)
    with django_capture_on_commit_callbacks(execute=True):
        run = duplicates.full_run(SITE, chunk_size=2)
    with django_capture_on_commit_callbacks(execute=True):
        kugelmann.portal.name = "Kugelmann Tor 2"
        kugelmann.portal.save()

    run.refresh_from_db()
    assert (run.status, run.chunks_total, run.chunks_done) == ("finished", 2, 2)
    pair.refresh_from_db()
    assert (pair.status, pair.decided_by, pair.note) == (
        "not_same",
        steward,
        "Two docks, one gate.",
    )
    # Site pairs teach the location matcher nothing: it matches no sites.
    assert not MatchLabel.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        kugelmann.portal.code = "0002"
        kugelmann.portal.save()

    pair.refresh_from_db()
    assert pair.status == "open"
    assert pair.note.startswith("Reopened: an identifier (code)")


def test_the_survivor_of_a_supplier_merge_has_its_doubled_sites_found(
    steward, django_capture_on_commit_callbacks
):
    first = Supplier.objects.create(number="S-1", name="Kugelmann", country="DE")
    second = Supplier.objects.create(number="S-2", name="Kugelmann GmbH", country="DE")
    ordering = site(first, "ORD")
    portal = site(second, "0001", address="Hafenstrasse 12")
    # Two suppliers' sites are never paired, however alike.
    assert duplicates.check(SITE, ordering.public_id) == []

    with django_capture_on_commit_callbacks(execute=True):
        merge("supplier", first.public_id, second.public_id, user=steward)

    pair = pair_of(ordering, portal)
    assert (pair.status, pair.score >= SURE) == ("open", True)
    (cluster,) = duplicate_queue.clusters_of(SITE)
    assert cluster.records == tuple(sorted((ordering.public_id, portal.public_id)))


def test_the_queue_names_each_site_by_its_supplier_code_and_address(kugelmann):
    duplicates.check(SITE, kugelmann.ord.public_id)

    (queued,) = duplicate_queue.describe(SITE, duplicate_queue.queue(SITE, WORTH_A_LOOK))

    shown = {record.number: record for record in queued.records}
    assert set(shown) == {"ORD", "0001"}
    assert (shown["ORD"].name, shown["ORD"].supplier_number) == ("Kugelmann", "S-100234")
    assert shown["ORD"].address == "Hafenstraße 12, 97421 Schweinfurt"
    assert shown["0001"].address == "Hafenstrasse 12, 97421 Schweinfurt"


def test_the_review_screens_show_which_company_each_site_is_before_its_code(
    kugelmann, client, steward
):
    duplicates.check(SITE, kugelmann.ord.public_id)
    client.force_login(steward)

    queue = client.get("/quarantine/duplicates/supplier_site/")

    assert queue.status_code == 200
    text = " ".join(re.sub(r"<[^>]+>", " ", queue.content.decode()).split())
    assert f"{kugelmann.ord.public_id} Kugelmann ORD" in text
    assert "Hafenstraße 12, 97421 Schweinfurt · a site of Kugelmann S-100234" in text
    assert "Open cases" not in text  # cases name no sites
    (pair,) = duplicates.pairs_of(SITE, kugelmann.ord.public_id)
    page = client.get(f"/quarantine/duplicates/supplier_site/pairs/{pair.pk}/")
    assert page.status_code == 200
    rows = {row.field: row for row in page.context["shown"].fields}
    assert list(rows) == ["address", "postal_code", "city", "country", "name", "code"]
    assert rows["address"].differs and rows["address"].evidence >= 90
    assert [level.words for level in page.context["shown"].levels] == [
        "Address: the same",  # ß and ss are one letter to the matcher
        "Postal code: the same",
    ]


def test_the_api_lists_site_clusters_with_each_sites_supplier_and_url(kugelmann, viewer_api):
    duplicates.check(SITE, kugelmann.ord.public_id)

    response = viewer_api.get("/api/v1/duplicates/supplier_site/")

    assert response.status_code == 200
    (cluster,) = response.json()["results"]
    shown = {record["number"]: record for record in cluster["records"]}
    assert shown["ORD"]["name"] == "Kugelmann"
    assert (shown["ORD"]["supplier"], shown["ORD"]["supplier_number"]) == (
        kugelmann.public_id,
        "S-100234",
    )
    assert shown["0001"]["address"] == "Hafenstrasse 12, 97421 Schweinfurt"
    assert shown["ORD"]["url"].endswith(f"/api/v1/suppliers/{kugelmann.public_id}/sites/ORD/")
    assert viewer_api.get(shown["ORD"]["url"]).json()["public_id"] == kugelmann.ord.public_id


def test_the_demo_plants_a_head_office_twice_and_the_queue_shows_the_pair(
    django_capture_on_commit_callbacks,
):
    for code, fields in DEMO_UNITS.items():
        Unit.objects.create(code=code, **fields)
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo(items=20, suppliers=SITE_TWINS[0], today=dt.date(2026, 3, 2), messages=False)

    supplier = Supplier.objects.get(number=supplier_number(SITE_TWINS[0]))
    head_office, ordering = (supplier.sites.get(code=code) for code in ("HQ", SITE_TWIN_CODE))
    (cluster,) = duplicate_queue.queue(SITE)  # sure pairs only
    assert cluster.cluster.records == tuple(sorted((head_office.public_id, ordering.public_id)))
    assert DuplicateRun.objects.filter(kind=SITE, status="finished").exists()
