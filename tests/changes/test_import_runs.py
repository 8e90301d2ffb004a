"""An import run whose apply changes records a policy governs (imports.approval): at every
door (the screen, the API, the apply after planning, the command) it becomes one change
request for the whole run and nothing is written; another person's approval applies all of
it or none; a rejection or withdrawal leaves nothing written and puts the run back to
planned; the requester cannot approve it; a stale plan is refused on approval. Without a
policy that covers it, an import applies as before."""

import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from changes import registry, requests
from changes.models import ApprovalPolicy, ChangeRequest
from imports import approval, runs
from imports.models import ImportRun
from mdm.models import Item, Unit
from xref import services
from xref.models import CrossReference

pytestmark = pytest.mark.django_db

# Three new ERP references and one remapped (A-900: item 100 -> 101).
XREFS = (
    "system,kind,code,target\n"
    "ERP_LEGACY,item,A-100,100\n"
    "ERP_LEGACY,item,A-101,101\n"
    "ERP_LEGACY,unit,ST,H87\n"
    "ERP_LEGACY,item,A-900,101\n"
)
PLANNING_XREFS = "system,kind,code,target\nPLANNING,item,P-100,100\nPLANNING,item,P-101,101\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _eager(eager_celery):
    """Import tasks run in the test's own process (tests/conftest.py)."""


@pytest.fixture
def world(erp_system, planning_system):
    """Items 100 and 101, the piece unit, and the ERP's code A-900 meaning item 100."""
    piece = Unit.objects.create(code="H87", name="piece", mapping_class="count")
    bolt = Item.objects.create(
        number="100", description="Bolt", base_unit=piece, item_type="component"
    )
    Item.objects.create(number="101", description="Nut", base_unit=piece, item_type="component")
    services.register_reference(kind="item", system=erp_system, code="A-900", target=bolt)


@pytest.fixture
def erp_policy(world):
    """Cross-references of the ERP need approval."""
    return ApprovalPolicy.objects.create(kind="xref.crossreference", systems=["ERP_LEGACY"])


@pytest.fixture
def browser(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def api(alice):
    client = APIClient()
    client.force_login(alice)
    return client


def upload_file(text, name="xrefs.csv"):
    handle = io.BytesIO(text.encode())
    handle.name = name
    return handle


def planned_on_screen(browser, capture, text=XREFS):
    """A run of the file uploaded and planned on the screen."""
    with capture(execute=True):
        response = browser.post("/imports/", {"kind": "xrefs", "file": upload_file(text)})
    assert response.status_code == 302
    run = ImportRun.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[-1])
    assert run.status == ImportRun.Status.PLANNED, run.message
    return run


def written():
    """What the file would write: the ERP's references and their history rows."""
    return (
        CrossReference.objects.count(),
        CrossReference.history.count(),
        CrossReference.objects.get(code="A-900").item.number,
    )


BEFORE = (1, 1, "100")


def asked_on_screen(browser, capture, reason="New ERP codes for the bolt line"):
    run = planned_on_screen(browser, capture)
    with capture(execute=True):
        response = browser.post(f"/imports/{run.pk}/apply/", {"reason": reason})
    assert response.status_code == 302
    run.refresh_from_db()
    return run


# --- asking -------------------------------------------------------------------------------


def test_an_import_of_governed_references_awaits_approval_and_writes_nothing(
    browser, erp_policy, alice, django_capture_on_commit_callbacks
):
    run = planned_on_screen(browser, django_capture_on_commit_callbacks)
    page = browser.get(f"/imports/{run.pk}/").content.decode()
    assert "This import needs approval by another person (cross-references of ERP_LEGACY)" in page
    assert 'value="Ask for approval"' in page

    with django_capture_on_commit_callbacks(execute=True):
        browser.post(f"/imports/{run.pk}/apply/", {"reason": "New ERP codes for the bolt line"})

    run.refresh_from_db()
    assert run.status == ImportRun.Status.AWAITING_APPROVAL
    assert written() == BEFORE
    request = ChangeRequest.objects.get()
    assert run.change_request == request
    assert (request.batch, request.batch_reference) == ("imports.run", str(run.pk))
    assert request.title == "Import of xrefs.csv: 3 new, 1 changed cross-references"
    assert request.requested_by == alice and request.source == "import"
    assert request.reason == "New ERP codes for the bolt line"
    assert request.systems == ["ERP_LEGACY"]
    page = browser.get(f"/imports/{run.pk}/").content.decode()
    assert f'Waits for approval: <a href="/changes/{request.pk}/">{request.number}</a>' in page
    assert 'id="apply"' not in page


def test_the_screen_asks_for_a_reason_and_changes_nothing_without_one(
    browser, erp_policy, django_capture_on_commit_callbacks
):
    run = planned_on_screen(browser, django_capture_on_commit_callbacks)
    response = browser.post(f"/imports/{run.pk}/apply/", {"reason": "  "})
    assert response.status_code == 400
    assert (
        "This import needs approval by another person (cross-references of ERP_LEGACY): give "
        "the reason for the change." in response.content.decode()
    )
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PLANNED
    assert not ChangeRequest.objects.exists()
    assert written() == BEFORE


def test_the_api_asks_for_a_reason_then_holds_the_run(
    api, erp_policy, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/imports/",
            {"kind": "xrefs", "file": upload_file(XREFS)},
            format="multipart",
        )
    run_id = response.json()["id"]
    refused = api.post(f"/api/v1/imports/{run_id}/apply/", {}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["pointer"] == "#/reason"
    assert "give the reason for the change" in refused.json()["errors"][0]["detail"]
    assert not ChangeRequest.objects.exists()

    response = api.post(
        f"/api/v1/imports/{run_id}/apply/", {"reason": "ERP cut-over"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    request = ChangeRequest.objects.get()
    assert body["status"] == "awaiting_approval"
    assert body["change_request"] == {
        "id": request.pk,
        "number": request.number,
        "status": "open",
        "url": f"/api/v1/change-requests/{request.pk}/",
    }
    assert written() == BEFORE
    again = api.post(f"/api/v1/imports/{run_id}/apply/", {"reason": "Again"}, format="json")
    assert again.status_code == 409
    assert f"awaits approval ({request.number})" in again.json()["detail"]
    assert ChangeRequest.objects.count() == 1


def test_an_upload_that_asks_for_the_apply_is_held_after_its_plan(
    api, alice, erp_policy, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/imports/",
            {
                "kind": "xrefs",
                "mode": "apply",
                "reason": "ERP cut-over",
                "file": upload_file(XREFS),
            },
            format="multipart",
        )
    body = api.get(f"/api/v1/imports/{response.json()['id']}/").json()
    assert body["status"] == "awaiting_approval"
    request = ChangeRequest.objects.get(pk=body["change_request"]["id"])
    assert (request.requested_by, request.reason) == (alice, "ERP cut-over")
    assert written() == BEFORE

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/imports/",
            {"kind": "xrefs", "mode": "apply", "file": upload_file(XREFS)},
            format="multipart",
        )
    body = api.get(f"/api/v1/imports/{response.json()['id']}/").json()
    assert body["status"] == "planned"
    assert body["message"].startswith("Not applied: This import needs approval by another")
    assert ChangeRequest.objects.count() == 1
    assert written() == BEFORE


def test_the_command_asks_for_approval_with_a_reason(alice, erp_policy, tmp_path):
    path = tmp_path / "xrefs.csv"
    path.write_text(XREFS)
    with pytest.raises(CommandError, match="give the reason for the change"):
        call_command(
            "import_csv",
            "xrefs",
            str(path),
            "--apply",
            "--user",
            "alice",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert written() == BEFORE and not ChangeRequest.objects.exists()

    out = io.StringIO()
    call_command(
        "import_csv",
        "xrefs",
        str(path),
        "--apply",
        "--user",
        "alice",
        "--reason",
        "ERP cut-over",
        stdout=out,
        stderr=io.StringIO(),
    )
    request = ChangeRequest.objects.get()
    assert f"awaits approval: {request.number}, at /changes/{request.pk}/" in out.getvalue()
    assert ImportRun.objects.filter(status=ImportRun.Status.AWAITING_APPROVAL).count() == 1
    assert written() == BEFORE


# --- deciding -----------------------------------------------------------------------------


def test_another_approver_applies_every_row(
    browser, api, erp_policy, alice, bob, django_capture_on_commit_callbacks
):
    run = asked_on_screen(browser, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        requests.approve(run.change_request, by=bob, comment="Checked against the ERP")

    run.refresh_from_db()
    assert run.status == ImportRun.Status.APPLIED
    assert run.applied_by == bob
    assert run.counts["create"] == 3 and run.counts["update"] == 1
    assert written() == (4, 5, "101")
    number = run.change_request.number
    history = CrossReference.history.filter(change_reference=str(run.pk))
    assert history.count() == 4
    assert {row.history_user for row in history} == {bob}
    assert {row.history_change_reason for row in history} == {
        f"{number} asked by alice, approved by bob"
    }
    assert CrossReference.objects.get(code="A-100").created_by == bob
    page = browser.get(f"/imports/{run.pk}/").content.decode()
    assert f">{number}</a>, asked by\n        alice, approved by bob" in page
    assert "Revert this import" in page
    body = api.get(f"/api/v1/imports/{run.pk}/").json()
    assert body["change_request"]["status"] == "applied"


def test_a_rejection_writes_nothing_and_the_run_can_be_asked_again(
    browser, erp_policy, bob, django_capture_on_commit_callbacks
):
    run = asked_on_screen(browser, django_capture_on_commit_callbacks)
    first = run.change_request
    requests.reject(first, by=bob, comment="A-101 is not ours")

    run.refresh_from_db()
    assert run.status == ImportRun.Status.PLANNED
    assert written() == BEFORE
    page = browser.get(f"/imports/{run.pk}/").content.decode()
    assert f'<a href="/changes/{first.pk}/">{first.number}</a> was rejected by' in page
    assert "(&ldquo;A-101 is not ours&rdquo;). Nothing of this import was written." in page
    assert "It is planned again: ask again with a new reason" in page

    with django_capture_on_commit_callbacks(execute=True):
        browser.post(f"/imports/{run.pk}/apply/", {"reason": "A-101 checked with the ERP team"})
    run.refresh_from_db()
    assert run.status == ImportRun.Status.AWAITING_APPROVAL
    first.refresh_from_db()
    assert run.change_request != first and first.status == "rejected"
    requests.approve(run.change_request, by=bob)
    assert written() == (4, 5, "101")


def test_a_withdrawal_writes_nothing_and_says_so(
    browser, erp_policy, alice, django_capture_on_commit_callbacks
):
    run = asked_on_screen(browser, django_capture_on_commit_callbacks)
    requests.withdraw(run.change_request, by=alice)

    run.refresh_from_db()
    assert run.status == ImportRun.Status.PLANNED
    assert written() == BEFORE
    page = browser.get(f"/imports/{run.pk}/").content.decode()
    assert f"{run.change_request.number}</a> was withdrawn by\n        alice" in page
    assert "It is planned again" in page


def test_the_requester_cannot_approve_their_own_import(
    browser, erp_policy, alice, django_capture_on_commit_callbacks
):
    run = asked_on_screen(browser, django_capture_on_commit_callbacks)
    with pytest.raises(PermissionDenied, match="alice asked for CR-"):
        requests.approve(run.change_request, by=alice)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.AWAITING_APPROVAL
    assert run.change_request.status == ChangeRequest.Status.OPEN
    assert written() == BEFORE


def test_a_stale_plan_is_refused_on_approval_and_nothing_is_written(
    browser, erp_policy, erp_system, bob, django_capture_on_commit_callbacks
):
    run = asked_on_screen(browser, django_capture_on_commit_callbacks)
    remapped = CrossReference.objects.get(code="A-900")
    services.update_reference(remapped, is_preferred=True)  # a record the file names

    with pytest.raises(requests.Stale) as refused:
        requests.approve(run.change_request, by=bob)
    assert f"The data changed since the plan of import #{run.pk} (xrefs.csv)" in str(refused.value)
    assert "Nothing was written; plan the file again" in str(refused.value)
    assert CrossReference.objects.count() == 1
    assert CrossReference.objects.get(code="A-900").item.number == "100"
    run.refresh_from_db()
    assert run.status == ImportRun.Status.AWAITING_APPROVAL
    assert run.change_request.status == ChangeRequest.Status.OPEN


def test_a_row_failing_on_approval_writes_none_of_the_run(
    browser, erp_policy, erp_system, bob, django_capture_on_commit_callbacks
):
    run = asked_on_screen(browser, django_capture_on_commit_callbacks)
    # Since the plan, A-101 was given to item 100 from 2020: the file's A-101 (for all time)
    # now clashes with it, while the other rows are still fine.
    services.register_reference(
        kind="item",
        system=erp_system,
        code="A-101",
        target=Item.objects.get(number="100"),
        valid_from="2020-01-01",
    )

    with pytest.raises(requests.Refused, match=r"1 row\(s\) failed while applying"):
        requests.approve(run.change_request, by=bob)
    assert set(CrossReference.objects.values_list("code", flat=True)) == {"A-900", "A-101"}
    assert CrossReference.objects.get(code="A-900").item.number == "100"
    run.refresh_from_db()
    assert run.status == ImportRun.Status.AWAITING_APPROVAL


# --- which runs need approval -----------------------------------------------------------------


def test_without_a_covering_policy_an_import_applies_as_before(
    browser, world, django_capture_on_commit_callbacks
):
    ApprovalPolicy.objects.create(kind="xref.crossreference", systems=["ERP_LEGACY"])
    ApprovalPolicy.objects.create(kind="mdm.item")
    run = planned_on_screen(browser, django_capture_on_commit_callbacks, PLANNING_XREFS)
    page = browser.get(f"/imports/{run.pk}/").content.decode()
    assert "needs approval" not in page and 'value="Apply"' in page
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(f"/imports/{run.pk}/apply/")
    run.refresh_from_db()
    assert run.status == ImportRun.Status.APPLIED and run.change_request is None
    assert set(
        CrossReference.objects.filter(system__code="PLANNING").values_list("code", flat=True)
    ) == {"P-100", "P-101"}
    assert not ChangeRequest.objects.exists()


def test_a_policy_of_some_fields_covers_the_runs_that_change_them(world):
    ApprovalPolicy.objects.create(kind="xref.crossreference", fields=["item", "status"])
    new_codes = runs.import_file(
        "xrefs", upload_file("system,kind,code,target\nERP_LEGACY,item,A-1,100\n")
    )
    assert approval.covering(new_codes) == []
    remap = runs.import_file(
        "xrefs", upload_file("system,kind,code,target\nERP_LEGACY,item,A-900,101\n")
    )
    assert remap.plan_scope == [["ERP_LEGACY", "item"], ["ERP_LEGACY", "target"]]
    assert [p.fields for p in approval.covering(remap)] == [["item", "status"]]
    unchanged = runs.import_file(
        "xrefs", upload_file("system,kind,code,target\nERP_LEGACY,item,A-900,100\n")
    )
    assert approval.covering(unchanged) == []


def test_items_written_in_bulk_wait_for_approval_of_their_status(world, alice, bob):
    """A kind written in bulk keeps its plan's rows until the approval writes them."""
    ApprovalPolicy.objects.create(kind="mdm.item", fields=["status"])
    header = "number,description,base_unit,item_type,status\n"
    renamed = runs.import_file(
        "items", upload_file(header + "100,Hex bolt,H87,component,active\n"), apply=True
    )
    assert renamed.status == ImportRun.Status.APPLIED and renamed.change_request is None

    blocked = runs.import_file(
        "items",
        upload_file(header + "100,Hex bolt,H87,component,blocked\n101,Nut M8,H87,component,\n"),
        apply=True,
        user=alice,
        reason="Bolt recalled",
    )
    assert blocked.status == ImportRun.Status.AWAITING_APPROVAL
    assert Item.objects.get(number="100").status == "active"
    assert Item.objects.get(number="101").description == "Nut"

    requests.approve(blocked.change_request, by=bob)
    assert Item.objects.get(number="100").status == "blocked"
    assert Item.objects.get(number="101").description == "Nut M8"
    history = Item.history.filter(change_reference=str(blocked.pk))
    assert [(row.number, row.history_user) for row in history.order_by("number")] == [
        ("100", bob),
        ("101", bob),
    ]


def test_the_request_page_is_told_what_the_run_holds(
    browser, erp_policy, django_capture_on_commit_callbacks
):
    run = asked_on_screen(browser, django_capture_on_commit_callbacks)
    title, url, lines = registry.BATCHES["imports.run"].describe(run.change_request.batch_reference)
    assert title == f"Import #{run.pk}: xrefs.csv (Cross-references)"
    assert url == f"/imports/{run.pk}/"
    assert lines == [
        ("New cross-references", 3),
        ("Changed cross-references", 1),
        ("Rows that change nothing", 0),
    ]
