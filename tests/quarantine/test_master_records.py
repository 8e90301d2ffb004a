"""The review screens show the master record behind a sender's code, and group, count and
filter by it: on the demo, supplier codes 700001 (ERP_LEGACY) and AN0100007919
(SUPPLIER_NET) are both SUP-000001 Frontier Bearing Supply, plant codes GR1000 and
4098765000034 both LOC-000003."""

import pytest
from django.core.management import call_command
from django.db.models import Q

from mdm.models import Location, Supplier
from quarantine import masters, services
from quarantine.models import QuarantineCase
from xref.resolve import resolve_many

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo():
    call_command("seed_demo", items=40, suppliers=5, verbosity=0)


def _facet(response, param):
    group = next(g for g in response.context["facets"] if g["facet"].param == param)
    return {link["value"]: link for link in group["links"]}


def _open(**codes):
    condition = Q()
    for field, values in codes.items():
        condition |= Q(**{f"{field}__in": values})
    return QuarantineCase.objects.filter(condition, status__in=QuarantineCase.OPEN_STATUSES)


def test_the_demo_queue_lists_one_filter_row_per_master_record(client, steward, demo):
    frontier = Supplier.objects.get(public_id="SUP-000001")
    client.force_login(steward)

    response = client.get("/quarantine/")

    suppliers = _facet(response, "supplier")
    expected = _open(supplier=["700001", "AN0100007919"]).count()
    assert expected > _open(supplier=["700001"]).count() > 0  # both codes have cases
    assert suppliers["SUP-000001"]["count"] == expected
    assert suppliers["SUP-000001"]["label"] == f"SUP-000001 {frontier.name}"
    assert suppliers["SUP-000001"]["codes"] == "700001, AN0100007919"
    assert "700001" not in suppliers and "AN0100007919" not in suppliers
    plants = _facet(response, "plant")
    assert plants["LOC-000003"]["count"] == _open(plant=["GR1000", "4098765000034"]).count()
    assert "GR1000" not in plants and "4098765000034" not in plants
    # The words are on the page, the sender's codes beside them.
    html = response.content.decode()
    assert f'<span class="name">SUP-000001 {frontier.name}</span>' in html
    assert 'facet-codes">700001, AN0100007919</small>' in html


def test_filtering_by_a_master_record_shows_the_cases_of_all_its_codes(client, steward, demo):
    client.force_login(steward)

    response = client.get("/quarantine/?supplier=SUP-000001")

    shown = list(response.context["page"])
    assert {case.supplier for case in shown} == {"700001", "AN0100007919"}
    assert len(shown) == _open(supplier=["700001", "AN0100007919"]).count()
    assert response.context["page"].paginator.count == len(shown)
    # A sender's code still filters by itself, and the other facets count within the record.
    legacy = client.get("/quarantine/?supplier=700001")
    assert {case.supplier for case in legacy.context["page"]} == {"700001"}
    assert sum(link["count"] for link in _facet(response, "system").values()) == len(shown)


def test_queue_rows_show_the_master_record_linked_with_the_senders_code(client, steward, demo):
    frontier = Supplier.objects.get(public_id="SUP-000001")
    plant = Location.objects.get(public_id="LOC-000003")
    client.force_login(steward)

    html = client.get("/quarantine/?supplier=SUP-000001").content.decode()

    assert (
        f'<a class="master-record" href="/admin/mdm/supplier/{frontier.pk}/change/">'
        f"SUP-000001 {frontier.name}</a>" in html
    )
    assert 'title="The sender\'s code">AN0100007919</small>' in html
    assert f'href="/admin/mdm/location/{plant.pk}/change/">LOC-000003 {plant.name}</a>' in html


def test_a_code_in_no_master_record_says_so(client, steward, demo):
    case = _open(supplier=["700001"]).first()
    QuarantineCase.objects.filter(pk=case.pk).update(supplier="700O01")
    client.force_login(steward)

    response = client.get("/quarantine/")

    assert _facet(response, "supplier")["700O01"]["codes"] == "not in master data"
    page = client.get(f"/quarantine/{case.pk}/").content.decode()
    assert (
        '<span class="sender-code">700O01</span> <small class="muted">not in master data</small>'
        in page
    )


def test_the_case_page_names_its_master_records_and_links_them(client, steward, demo):
    case = _open(supplier=["700001"]).filter(rules__code="UNIT_NOT_CONVERTIBLE").first()
    client.force_login(steward)

    page = client.get(f"/quarantine/{case.pk}/").content.decode()

    frontier = Supplier.objects.get(public_id="SUP-000001")
    found = masters.attach([case])[0].records
    assert found["supplier"].id == "SUP-000001"
    assert f'href="/admin/mdm/supplier/{frontier.pk}/change/">SUP-000001 {frontier.name}' in page
    assert f">{found['plant'].label}</a>" in page and f">{found['item'].label}</a>" in page
    assert f'href="/admin/validation/inboundmessage/{case.message_id}/change/"' in page
    # The unit the sender wrote, in words: ERP_LEGACY's BX is the box, XBX.
    assert "value Box (XBX) <code>BX</code>" in page
    # Rules in words, the code beside.
    assert "rule The unit is unknown, or cannot be converted" in page


def test_the_dashboard_groups_by_master_record_and_its_bars_open_the_queue(client, steward, demo):
    client.force_login(steward)

    response = client.get("/quarantine/dashboard/")

    rows = response.context["figures"]["by_supplier"]["rows"]
    values = [value for _, value, _, _ in rows]
    assert "SUP-000001" in values and "700001" not in values and "AN0100007919" not in values
    (count,) = [n for _, value, _, n in rows if value == "SUP-000001"]
    assert count == _open(supplier=["700001", "AN0100007919"]).count()
    html = response.content.decode()
    assert 'class="bar-row" href="/quarantine/?supplier=SUP-000001"' in html
    assert 'class="bar-row" href="/quarantine/?plant=LOC-000003"' in html
    queue = client.get("/quarantine/?supplier=SUP-000001")
    assert queue.context["page"].paginator.count == count


def test_a_closed_case_looks_neutral_and_says_how_it_ended(client, steward, demo):
    case = _open(supplier=["700001"]).first()
    services.reject(case, by=steward, reason="Sent twice")
    client.force_login(steward)

    page = client.get(f"/quarantine/{case.pk}/").content.decode()

    assert '<h1 class="case-closed">' in page
    assert 'class="diagnostic error"' not in page
    assert 'id="case-outcome">Closed ' in page and ": rejected." in page


def test_a_message_in_the_admin_names_the_master_records_of_its_codes(client, steward, demo):
    case = _open(supplier=["AN0100007919"]).filter(message_type="ship_notice").first()
    frontier = Supplier.objects.get(public_id="SUP-000001")
    client.force_login(steward)

    page = client.get(f"/admin/validation/inboundmessage/{case.message_id}/change/")

    html = page.content.decode()
    assert page.status_code == 200
    assert (
        f'<tr><td>supplier</td><td><a href="/admin/mdm/supplier/{frontier.pk}/change/">'
        f"SUP-000001 {frontier.name}</a></td><td><small>AN0100007919</small></td></tr>" in html
    )
    assert "<td>ship_to</td><td><a href=" in html and "LOC-000003" in html


def test_the_screens_resolve_without_the_near_miss_search(demo):
    # The review screens only show what codes mean: their batch spares the near-miss queries
    # that an integration's resolve gets.
    key = [("supplier", "ERP_LEGACY", "700O01")]
    assert resolve_many(key)[0]["candidates"][0]["id"] == "SUP-000001"
    assert resolve_many(key, near_misses=False)[0] == {"status": "not_found", "candidates": []}
