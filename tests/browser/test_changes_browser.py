"""The change request screens in a real browser, on the demo's data: the demo steward asks for
a supplier to be blocked and an ERP code of another to be remapped; the demo approver finds
them through the header, opens one and approves it on its page, and the supplier is blocked.
The queue and a request's page fit a 1280 px window without scrolling sideways. Screenshots at
1280 and 1920 px are written to /tmp/changes_*.png, to be looked at."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from changes import requests
from demo.login import reset_demo_steward
from mdm.models import Supplier
from tests.browser.test_layout import SQUEEZED_JS, TOLERANCE_PX
from xref.models import CrossReference

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_world(transactional_db, eager_celery):
    """The demo, its steward and approver logins, and two requests of the steward's: a
    supplier blocked and an ERP_LEGACY supplier code remapped, and a supplier's new name
    applied as an emergency."""
    call_command("seed_demo", items=40, suppliers=5, verbosity=0)
    reset_demo_steward()
    password = reset_demo_steward("approver", approver=True)
    steward = get_user_model().objects.get(username="steward")
    supplier = Supplier.objects.order_by("pk").first()
    blocked = Supplier.objects.get(pk=supplier.pk)
    blocked.status = Supplier.Status.BLOCKED
    block = requests.ask(
        [requests.propose(blocked, "update")],
        by=steward,
        reason="The supplier's certificate expired; purchasing stops ordering until renewed.",
        source="web",
    )
    reference = CrossReference.objects.filter(system__code="ERP_LEGACY", kind="supplier").first()
    remapped = CrossReference.objects.get(pk=reference.pk)
    remapped.code = f"{reference.code}-NEW"
    remap = requests.ask(
        [requests.propose(remapped, "update")],
        by=steward,
        reason="The legacy ERP renumbered its vendors in the migration.",
        source="web",
    )
    # A third, applied at once by a steward allowed emergencies: it waits for approval after.
    firefighter = get_user_model().objects.create_user("erin", first_name="Erin", is_staff=True)
    firefighter.groups.add(*Group.objects.filter(name__in=("steward", "emergency")))
    other = Supplier.objects.order_by("pk")[1]
    renamed = Supplier.objects.get(pk=other.pk)
    renamed.name = f"{other.name} GmbH"
    urgent = requests.ask(
        [requests.propose(renamed, "update")],
        by=steward,
        reason="The bank refuses payments to the old name.",
        source="web",
    )
    requests.apply_now(
        urgent, by=get_user_model().objects.get(pk=firefighter.pk), reason="Payment run today"
    )
    return password, supplier, block, remap


def _log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("text=Master data hub")


def _fits(page, width, screenshot=None):
    """The page at `width` px scrolls not sideways and squeezes no word (tests/browser/
    test_layout.py's check); its screenshot is written to `screenshot` first."""
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_load_state("load")
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate(SQUEEZED_JS, TOLERANCE_PX) == []


def test_a_second_person_approves_a_request_on_its_page(live_server, page, demo_world):
    password, supplier, block, remap = demo_world
    _log_in(page, live_server, "approver", password)
    page.set_viewport_size({"width": 1280, "height": 900})

    # The two open requests and the emergency change wait for the approver.
    assert "(3 to review)" in page.inner_text("#changes-link")
    page.click("#changes-link")
    page.wait_for_selector("h1:has-text('Change requests')")
    assert page.locator("#change-requests tbody tr[data-request]").count() == 3
    _fits(page, 1280, "/tmp/changes_queue_1280.png")
    _fits(page, 1920, "/tmp/changes_queue_1920.png")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.click(f"text={block.number}")
    page.wait_for_selector("#request-status:has-text('Waiting for approval')")
    assert "Blocked" in page.inner_text("table.diff")
    page.fill("#id_comment", "Confirmed with purchasing.")
    _fits(page, 1280, "/tmp/changes_request_1280.png")
    _fits(page, 1920, "/tmp/changes_request_1920.png")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.click("#approve")
    page.wait_for_selector("#request-status:has-text('Approved and applied')")
    assert "approved: the change is applied" in page.inner_text(".messages")
    assert "Confirmed with purchasing." in page.inner_text("#decisions")
    supplier.refresh_from_db()
    assert supplier.status == Supplier.Status.BLOCKED
    _fits(page, 1280, "/tmp/changes_approved_1280.png")
    assert "(2 to review)" in page.inner_text("#changes-link")

    # The code remapped, and changed again by someone since: the page warns, and its impact
    # names the system whose codes change.
    reference = CrossReference.objects.get(code=remap.items.get().before["code"])
    CrossReference.objects.filter(pk=reference.pk).update(code=f"{reference.code}-X")
    page.click("#changes-link")
    page.click(f"text={remap.number}")
    page.wait_for_selector("#stale")
    assert f"is now “{reference.code}-X”" in page.inner_text("#stale")
    assert "Changes the codes of" in page.inner_text("#impact")
    _fits(page, 1280, "/tmp/changes_remap_1280.png")
    _fits(page, 1920, "/tmp/changes_remap_1920.png")
    page.set_viewport_size({"width": 1280, "height": 900})

    # The emergency change is on the quarantine dashboard until someone approves it.
    page.click("#hub-nav >> text=Dashboard")
    page.wait_for_selector("#emergency-changes")
    assert "Erin" in page.inner_text("#emergency-changes")
    _fits(page, 1280, "/tmp/changes_dashboard_1280.png")
    _fits(page, 1920, "/tmp/changes_dashboard_1920.png")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("#emergency-changes a.emergency-change")
    page.wait_for_selector("#emergency-flag")
    _fits(page, 1280, "/tmp/changes_emergency_1280.png")
    page.click("#approve")
    page.wait_for_selector("#request-status:has-text('Approved and applied')")
    assert page.locator("#emergency-flag").count() == 0
    page.click("#hub-nav >> text=Dashboard")
    page.wait_for_selector("h1:has-text('Quarantine dashboard')")
    assert page.locator("#emergency-changes").count() == 0
