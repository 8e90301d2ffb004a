"""The supply flows dashboard in a real browser, on the demo's data: it fits a 1280 px
window without scrolling sideways, and a bar opens the list of just the rows it counts.
Screenshots at 1280 and 1920 px are written to /tmp/flows_1280.png and /tmp/flows_1920.png,
to be looked at."""

import pytest
from django.core.management import call_command

from demo.login import reset_demo_steward
from tests.browser.test_layout import SQUEEZED_JS, TOLERANCE_PX

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_world(transactional_db, eager_celery):
    call_command("seed_demo", items=40, suppliers=5, verbosity=0)
    return reset_demo_steward()


def _log_in(page, live_server, password):
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "steward")
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


def _total(text):
    """A bar's total, from its value's text (the parts follow, for screen readers)."""
    return int(text.split()[0])


def test_the_flows_dashboard_fits_and_its_bars_open_their_lists(live_server, page, demo_world):
    _log_in(page, live_server, demo_world)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.click("#hub-nav >> text=Supply flows")
    page.wait_for_selector("h1:has-text('Supply flows')")
    for key in ("releases", "orders", "notices", "by_plant", "by_commodity"):
        assert page.locator(f"section#{key} h2").count() == 1
    _fits(page, 1280, "/tmp/flows_1280.png")
    _fits(page, 1920, "/tmp/flows_1920.png")
    page.set_viewport_size({"width": 1280, "height": 900})

    # The demo's forecasts wait for the ERP: the first age with any opens its releases.
    releases = page.locator("section#releases a.bar-row")
    assert releases.count() == 4
    totals = [
        _total(text) for text in page.locator("section#releases .bar-value").all_inner_texts()
    ]
    first = next(index for index, total in enumerate(totals) if total)
    releases.nth(first).click()
    page.wait_for_selector("h1:has-text('Forecast releases')")
    assert "state=pending" in page.url and "age=" in page.url
    assert int(page.inner_text("#row-count")) == totals[first]
    assert page.locator("#forecast-releases tbody tr[data-release]").count() == totals[first]
    assert page.locator("#showing").count() == 1
    _fits(page, 1280, "/tmp/flows_forecasts_1280.png")

    # The demo's supply exception, by its plant: the supply exceptions screen, narrowed.
    page.go_back()
    page.wait_for_selector("section#by_plant")
    plant_bar = page.locator("section#by_plant a.bar-row").first
    count = _total(plant_bar.locator(".bar-value").inner_text())
    plant_bar.click()
    page.wait_for_selector("h1:has-text('Supply exceptions')")
    assert "plant=" in page.url and "state=not_closed" in page.url
    assert page.locator("#supply-exceptions tbody tr[data-exception]").count() == count
    assert page.inner_text("#showing").startswith("Showing: plant ")
    _fits(page, 1280, "/tmp/flows_supply_1280.png")

    # Each waiting order's supplier opens its orders, each with its thread.
    page.go_back()
    orders = page.locator("section#orders a.bar-row")
    if orders.count():
        count = _total(orders.first.locator(".bar-value").inner_text())
        orders.first.click()
        page.wait_for_selector("h1:has-text('Orders waiting for an acknowledgement')")
        assert page.locator("#orders-awaiting tbody tr[data-order]").count() == count
        _fits(page, 1280, "/tmp/flows_orders_1280.png")
        page.locator("#orders-awaiting a.thread-link").first.click()
        page.wait_for_selector("h1")
        assert "/quarantine/trace/?po=" in page.url

    # A stale link: each parameter not understood is said in words, and the list unfiltered.
    page.goto(f"{live_server.url}/quarantine/flows/orders/?supplier=nobody&age=1w")
    assert page.locator("#filter-problems li").count() == 2
    assert "No supplier has the id “nobody”" in page.inner_text("#filter-problems")
    _fits(page, 1280, "/tmp/flows_bad_link_1280.png")
