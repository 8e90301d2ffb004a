"""A steward clears a quarantined forecast in a real browser: filters the queue to one rule,
opens the case, creates the missing cross-reference from a suggested candidate, and sees the
case resolved and the message released. And the dashboard draws its charts, with nothing
fetched from outside the hub."""

import pytest
from django.core.management import call_command

from demo.login import reset_demo_steward
from validation.models import InboundMessage
from validation.submission import submit_message
from xref.models import CrossReference

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_world(transactional_db, eager_celery):
    call_command("seed_demo", items=40, suppliers=5, verbosity=0)
    return reset_demo_steward()


@pytest.fixture
def planner_slip(demo_world):
    """A forecast in which the planner typed the hub's item number where PLANNING's own code
    belongs: quarantined as XREF_UNRESOLVED, with the item as the matcher's candidate."""
    demo = InboundMessage.objects.get(idempotency_key="demo-bad-forecast-unknown-item")
    payload = demo.payload
    known = payload["lines"][0]
    item = CrossReference.objects.get(system__code="PLANNING", kind="item", code=known["item"]).item
    payload["plan_id"] = "VAL-SLIP"
    payload["lines"] = [known, dict(known, item=item.number)]
    message = submit_message(
        system=demo.system,
        message_type="forecast",
        schema_version=1,
        payload=payload,
        idempotency_key="browser-planner-slip",
    ).message
    message.refresh_from_db()
    assert message.status == "quarantined", message.diagnostics
    return message, item


def _log_in(page, live_server, password):
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "steward")
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("text=Master data hub")


def test_a_steward_fixes_a_case_from_a_suggested_candidate(
    live_server, page, demo_world, planner_slip
):
    message, item = planner_slip
    _log_in(page, live_server, demo_world)

    page.click("#quarantine-link >> text=Quarantine queue")
    page.wait_for_selector("h1:has-text('Quarantine queue')")
    page.click("[data-facet=rule] a[data-value=XREF_UNRESOLVED]")
    page.wait_for_selector("[data-facet=rule] li.selected")
    rows = page.locator("table.cases tbody tr")
    assert rows.count() == 2  # the demo's unknown item and the planner's slip
    assert "XREF_UNRESOLVED" in page.inner_text("table.cases tbody")

    page.click(f"text={message.public_id}")
    page.wait_for_selector("text=Create the missing cross-reference")
    assert page.locator("pre.payload mark").count() >= 1
    candidate = page.locator(f"input[name=target][value={item.public_id}]")
    assert candidate.is_checked()  # the matcher's best candidate, ready to confirm
    page.click("text=Create cross-reference and replay")

    page.wait_for_selector("#case-status:has-text('Fixed by cross-reference')")
    assert page.inner_text("#message-status") == "Released"
    assert "the message was released and the case is resolved" in page.inner_text(".messages")
    message.refresh_from_db()
    assert message.status == "released"
    reference = CrossReference.objects.get(system__code="PLANNING", code=item.number)
    assert reference.item_id == item.pk


def test_the_dashboard_draws_its_charts_without_any_cdn(live_server, page, demo_world):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.set_viewport_size({"width": 1280, "height": 800})
    _log_in(page, live_server, demo_world)

    page.goto(f"{live_server.url}/quarantine/dashboard/")
    page.wait_for_selector(".bar-list")
    assert page.locator("#by_rule a.bar-row").count() >= 9  # a bar per demo rule
    assert page.locator("#by_rule a.bar-row .bar").count() >= 9
    # Interventions per day, forecast release latency and forecast to order latency.
    assert page.locator("svg.chart").count() == 3
    # The breakdowns are not repeated as key-figure tables.
    assert page.locator("#kpi-hub_quarantine_open_cases_by_rule").count() == 0
    assert int(page.inner_text("#open-total")) >= 9
    assert "last 7 days" in page.inner_text(".window-choice")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    outside = [url for url in requested if not url.startswith(live_server.url)]
    assert outside == []

    # A bar opens the queue filtered to its cases: the supplier's, by master record.
    page.click("#by_supplier a.bar-row >> nth=0")
    page.wait_for_selector("h1:has-text('Quarantine queue')")
    assert "supplier=SUP-000001" in page.url
    assert page.locator("[data-facet=supplier] li.selected a[data-value=SUP-000001]").count() == 1
    suppliers = page.locator("table.cases tbody a.master-record[href*='/admin/mdm/supplier/']")
    assert suppliers.count() >= 2
    assert set(suppliers.all_inner_texts()) == {"SUP-000001 Frontier Bearing Supply"}
