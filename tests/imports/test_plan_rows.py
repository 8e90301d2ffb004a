"""An import you can see through: the plan shows each row's change (field: value now -> value
in the file), filtered by what it does and paged; every error of a row with the values it
accepts; an example file per kind that plans clean against the demo; after the apply, the
records written, linked; a revert that asks first and shows what it will undo."""

import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from imports import examples, rows
from imports.kinds import KINDS
from imports.models import ImportRow, ImportRun
from mdm.models import Item
from tests.imports.conftest import apply, csv_file, plan

HEADER = "number,description,base_unit,item_type,status\n"
TWO = HEADER + "100,Bolt,H87,component,active\n101,Nut,H87,component,active\n"


def upload(browser, text, django_capture_on_commit_callbacks, kind="items"):
    with django_capture_on_commit_callbacks(execute=True):
        browser.post("/imports/", {"kind": kind, "file": csv_file(text, f"{kind}.csv")})
    return ImportRun.objects.first()


def text_of(html):
    """The page's words, tags dropped and spaces collapsed, as a reader sees them."""
    words = re.sub(r"<[^>]+>", " ", html).replace("&rarr;", "->").replace("&#x27;", "'")
    return " ".join(words.split())


def table_rows(html, table_id):
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return body.count("<tr") - 1  # the header row


# --- the plan, row by row -----------------------------------------------------------------


def test_the_plan_shows_each_changed_field_of_an_update_as_old_to_new(
    units, steward_browser, django_capture_on_commit_callbacks
):
    apply("items", TWO)
    changed = HEADER + "100,Bolt M8,KGM,component,blocked\n101,Nut,H87,component,active\n"
    run = upload(steward_browser, changed, django_capture_on_commit_callbacks)

    update = ImportRow.objects.get(run=run, action="update")
    assert update.key == "100"
    assert update.changes == [
        ["description", "Bolt", "Bolt M8"],
        ["status", "active", "blocked"],
        ["base_unit", "H87", "KGM"],
    ]
    html = steward_browser.get(f"/imports/{run.pk}/").content.decode()
    words = text_of(html)
    assert "description : Bolt -> Bolt M8" in words
    assert "status : active -> blocked" in words
    assert "base_unit : H87 -> KGM" in words
    # The updated record is a link to its admin page; nothing was written by the plan.
    bolt = Item.objects.get(number="100")
    assert reverse("admin:mdm_item_change", args=[bolt.pk]) in html
    assert bolt.description == "Bolt"


def test_the_plan_shows_the_new_values_of_a_create_and_counts_unchanged_rows(
    units, steward_browser, django_capture_on_commit_callbacks
):
    apply("items", TWO)
    more = TWO + "102,Washer,H87,component,active\n"
    run = upload(steward_browser, more, django_capture_on_commit_callbacks)
    assert run.plan_counts == {"rows": 3, "create": 1, "update": 0, "unchanged": 2, "error": 0}
    create = ImportRow.objects.get(run=run, action="create")
    assert ["description", None, "Washer"] in create.changes
    words = text_of(steward_browser.get(f"/imports/{run.pk}/").content.decode())
    assert "Unchanged (2)" in words and "Create (1)" in words
    assert "description : Washer" in words


def test_past_its_first_new_rows_a_plan_counts_them_without_listing_them(
    units, steward_browser, django_capture_on_commit_callbacks, monkeypatch
):
    # A load of a million new records is counted, not listed row by row (rows.KEPT_ROWS).
    monkeypatch.setattr(rows, "KEPT_ROWS", 1)
    run = upload(steward_browser, TWO, django_capture_on_commit_callbacks)
    assert run.plan_counts["create"] == 2
    kept = ImportRow.objects.get(run=run)
    assert (kept.key, kept.action) == ("100", "create")
    words = text_of(steward_browser.get(f"/imports/{run.pk}/?action=create").content.decode())
    assert "description : Bolt" in words and "Nut" not in words
    assert "1 more rows that create a record or change nothing are counted" in words
    answer = steward_browser.get(f"/api/v1/imports/{run.pk}/rows/").json()
    assert (answer["count"], answer["unlisted"]) == (1, 1)


def test_the_rows_can_be_filtered_by_what_they_do(
    units, steward_browser, django_capture_on_commit_callbacks
):
    apply("items", TWO)
    mixed = (
        HEADER
        + "100,Bolt M8,H87,component,active\n"  # update
        + "101,Nut,H87,component,active\n"  # unchanged
        + "102,Washer,H87,component,active\n"  # create
        + "103,Gear,H87,gizmo,active\n"  # error
    )
    run = upload(steward_browser, mixed, django_capture_on_commit_callbacks)
    page = steward_browser.get(f"/imports/{run.pk}/").content.decode()
    for action in ("create", "update", "unchanged", "error"):
        assert f'href="?action={action}#plan-rows"' in page
    expected = {"create": "102", "update": "100", "unchanged": "101", "error": "103"}
    for action, key in expected.items():
        html = steward_browser.get(f"/imports/{run.pk}/", {"action": action}).content.decode()
        assert table_rows(html, "rows") == 1
        shown = re.findall(
            r'<tr class="row-(\w+)">\s*<td class="num">\d+</td>\s*'
            r'<td class="record">(?:<a [^>]*>)?([^<]*)',
            html,
        )
        assert shown == [(action, key)]
    everything = steward_browser.get(f"/imports/{run.pk}/").content.decode()
    assert table_rows(everything, "rows") == 4


def test_a_large_plan_is_paged(units, steward_browser, django_capture_on_commit_callbacks):
    data = HEADER + "".join(f"{n},Part {n},H87,component,active\n" for n in range(1000, 1250))
    run = upload(steward_browser, data, django_capture_on_commit_callbacks)
    assert ImportRow.objects.filter(run=run).count() == 250
    first = steward_browser.get(f"/imports/{run.pk}/").content.decode()
    assert table_rows(first, "rows") == rows.PAGE_SIZE
    assert "Page 1 of 3" in text_of(first)
    assert 'href="?action=&amp;page=2#plan-rows"' in first
    last = steward_browser.get(f"/imports/{run.pk}/", {"page": 3}).content.decode()
    assert table_rows(last, "rows") == 50
    assert ">1249<" in last and ">1000<" not in last


def test_every_error_of_a_row_is_listed_with_the_values_it_accepts(
    units, steward_browser, django_capture_on_commit_callbacks
):
    data = (
        "number,description,base_unit,item_type,status,net_weight\n"
        "100,Bolt,PIECE,purchased,gone,heavy\n"
    )
    run = upload(steward_browser, data, django_capture_on_commit_callbacks)
    row = ImportRow.objects.get(run=run)
    assert row.action == "error"
    assert row.errors == [
        ["net_weight", "'heavy' is not a number (use a dot for decimals)."],
        [
            "item_type",
            "'purchased' is not a valid choice; did you mean component (Purchased component)? "
            "Accepted codes: raw_material (Raw material); component (Purchased component); "
            "semi_finished (Semi-finished); finished_good (Finished good); packaging "
            "(Packaging); mro (Maintenance, repair, operations); service (Service).",
        ],
        [
            "status",
            "'gone' is not a valid choice. Accepted codes: active (Active); blocked (Blocked); "
            "obsolete (Obsolete).",
        ],
        ["base_unit", "No unit with code 'PIECE' (column base_unit); did you mean H87 (piece)?"],
    ]
    words = text_of(steward_browser.get(f"/imports/{run.pk}/").content.decode())
    assert "did you mean H87 (piece)?" in words
    assert "did you mean component (Purchased component)?" in words
    assert "Accepted codes: active (Active); blocked (Blocked); obsolete (Obsolete)." in words


def test_a_reference_says_what_it_looks_up_and_lists_a_short_table(units, calendar):
    run = plan(
        "supplier_sites",
        "supplier.number,code,country,calendar.code\nS-404,HQ,DE,DE-BX\n",
    )
    assert run.error_lines() == [
        "Row 2, supplier.number: No supplier with number 'S-404' (column supplier.number).",
        "Row 2, calendar.code: No calendar with code 'DE-BX' (column calendar.code). "
        "Accepted: DE-BY (Bavaria).",
    ]


# --- examples -----------------------------------------------------------------------------


@pytest.fixture
def demo(db):
    call_command("seed_demo", items=40, suppliers=5, verbosity=0)


def test_each_kinds_example_plans_clean_against_the_demo(demo, steward_browser):
    assert set(examples.EXAMPLES) == set(KINDS)
    for kind in KINDS:
        response = steward_browser.get(reverse("imports:example", args=[kind]))
        assert response.status_code == 200
        text = response.content.decode()
        assert text.splitlines()[0] == ",".join(KINDS[kind].headers)
        run = plan(kind, text)
        assert run.status == ImportRun.Status.PLANNED, (kind, run.message)
        assert run.error_lines() == [], kind
        assert run.plan_counts["rows"] == 1 and run.plan_counts["error"] == 0, kind


def test_the_screen_and_the_api_offer_each_example(units, steward_browser, erp_api):
    page = steward_browser.get("/imports/").content.decode()
    for kind in KINDS:
        assert reverse("imports:example", args=[kind]) in page
    response = erp_api.get("/api/v1/imports/examples/items.csv")
    assert response.status_code == 200
    assert response.content.decode().splitlines()[1].startswith("EX-100001,")


# --- after the apply, and the revert --------------------------------------------------------


def test_the_apply_lists_the_records_written_with_links(
    units, steward_browser, django_capture_on_commit_callbacks
):
    apply("items", TWO)
    changed = HEADER + "100,Bolt M8,H87,component,active\n102,Washer,H87,component,active\n"
    run = upload(steward_browser, changed, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        steward_browser.post(f"/imports/{run.pk}/apply/")
    run.refresh_from_db()
    assert run.status == ImportRun.Status.APPLIED
    html = steward_browser.get(f"/imports/{run.pk}/").content.decode()
    words = text_of(html)
    assert "Records written: 1 created, 1 updated" in words
    bolt, washer = Item.objects.get(number="100"), Item.objects.get(number="102")
    for item, what in ((bolt, "Updated"), (washer, "Created")):
        link = reverse("admin:mdm_item_change", args=[item.pk])
        assert re.search(
            rf'<a href="{link}">{re.escape(str(item))}</a></td>\s*<td class="what"><span '
            rf'class="badge badge-\w+">{what}</span>',
            html,
        ), what
    assert table_rows(html, "written-records") == 2


def test_revert_asks_first_showing_what_it_undoes_and_reverts_on_post(
    units, steward_browser, django_capture_on_commit_callbacks
):
    apply("items", TWO)
    run = apply("items", HEADER + "100,Bolt M8,H87,component,active\n102,Washer,H87,component,\n")
    assert run.status == ImportRun.Status.APPLIED
    page = steward_browser.get(f"/imports/{run.pk}/").content.decode()
    assert f'href="/imports/{run.pk}/revert/"' in page  # a link to the question, not a POST

    question = steward_browser.get(f"/imports/{run.pk}/revert/")
    assert question.status_code == 200
    words = text_of(question.content.decode())
    assert "delete the 1 record this import created" in words
    assert "give the 1 record it changed their earlier values back" in words
    assert "description : Bolt M8 -> Bolt" in words
    assert "Deleted" in words and "102 Washer" in words
    run.refresh_from_db()
    assert run.status == ImportRun.Status.APPLIED  # asking did nothing
    assert Item.objects.get(number="100").description == "Bolt M8"
    assert Item.objects.filter(number="102").exists()

    response = steward_browser.post(f"/imports/{run.pk}/revert/")
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == ImportRun.Status.REVERTED
    assert Item.objects.get(number="100").description == "Bolt"
    assert not Item.objects.filter(number="102").exists()
    # Once reverted there is nothing to confirm.
    again = steward_browser.get(f"/imports/{run.pk}/revert/")
    assert again.status_code == 302


# --- the API ------------------------------------------------------------------------------


def test_the_api_pages_the_plans_rows_by_action(units, steward_api):
    apply("items", TWO)
    data = (
        HEADER
        + "100,Bolt M8,H87,component,active\n101,Nut,H87,component,active\n"
        + "".join(f"{n},Part {n},H87,component,active\n" for n in range(1000, 1150))
    )
    run = plan("items", data)
    rows_url = steward_api.get(f"/api/v1/imports/{run.pk}/").json()["rows_url"]
    assert rows_url == f"/api/v1/imports/{run.pk}/rows/"
    body = steward_api.get(rows_url, {"action": "update"}).json()
    assert body["count"] == 1 and body["next"] is None
    assert body["results"] == [
        {
            "number": 2,
            "action": "update",
            "key": "100",
            "record_id": Item.objects.get(number="100").pk,
            "changes": [["description", "Bolt", "Bolt M8"]],
            "errors": [],
        }
    ]
    created = steward_api.get(f"/api/v1/imports/{run.pk}/rows/", {"action": "create"}).json()
    assert created["count"] == 150 and created["pages"] == 2 and len(created["results"]) == 100
    assert created["next"].endswith(f"/api/v1/imports/{run.pk}/rows/?page=2&action=create")
    second = steward_api.get(created["next"]).json()
    assert len(second["results"]) == 50 and second["results"][-1]["key"] == "1149"


def test_the_openapi_schema_documents_the_rows(steward_api):
    schema = steward_api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/imports/{id}/rows/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters["action"]["schema"]["enum"]) == {"create", "update", "unchanged", "error"}
    assert "page" in parameters
    assert "200" in operation["responses"]
