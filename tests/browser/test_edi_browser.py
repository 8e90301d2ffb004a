"""A steward looks into a partner's broken interchange in a real browser: the EDI screen
lists the interchanges with their partners and statuses in words, the steward filters by
status, opens the rejected one and jumps to its offending segment, highlighted among the raw
segments, a long one wrapping. Both screens are checked for layout at 1280 and 1920 px
(tests/browser/test_layout.py's checks: nothing scrolls sideways, no word squeezed);
screenshots go to HUB_SCREENSHOT_DIR and /tmp/edi_*.png, to be looked at."""

import pytest

from core.roles import sync_role_permissions
from demo.login import reset_demo_steward
from edi.models import Interchange
from tests.browser.test_layout import Layout
from tests.edi import partners
from tests.edi.partners import NORTHWIND, SAMPLE
from tests.edi.partners import received as _received

pytestmark = pytest.mark.browser

# A description of 400 characters without a space: its segment must wrap, not widen the page.
LONG_PID = b"PID*F****" + b"WEBSTERS-NEW-WORLD-THESAURUS-" * 14 + b"~"


@pytest.fixture
def interchanges(transactional_db, eager_celery):
    """Fort Wayne's 855 taken in; the same 855 with a long description and an IEA02 that does
    not repeat ISA13, refused; Northwind's two groups; and one from a sender no one set up.
    Returns the steward's password and the refused interchange."""
    sync_role_permissions()
    password = reset_demo_steward()
    network = partners.network()
    partners.fort_wayne(network)
    partners.northwind(network)
    _received(SAMPLE)
    _received(NORTHWIND)
    broken = SAMPLE.replace(b"PID*F****WEBSTERS NEW WORLD THESAURUS~", LONG_PID)
    broken = broken.replace(b"IEA*1*000000005", b"IEA*1*000000006")
    refused = _received(broken)
    _received(SAMPLE.replace(b"ZZ*1556150        ", b"ZZ*XYZ            "))
    assert refused.status == Interchange.Status.REJECTED
    return password, refused


def _log_in(page, live_server, password):
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "steward")
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#hub-nav")


def _check(layout, name):
    layout.check(f"edi-{name}")
    layout.page.screenshot(path=f"/tmp/edi_{name}_{layout.width}.png", full_page=True)


@pytest.mark.parametrize("width", (1280, 1920))
def test_a_steward_finds_the_offending_segment_of_a_refused_interchange(
    width, live_server, page, interchanges
):
    password, refused = interchanges
    page.set_viewport_size({"width": width, "height": 900})
    _log_in(page, live_server, password)
    layout = Layout(page, width)

    page.click("#hub-nav >> text=EDI")
    page.wait_for_selector("#interchanges")
    assert page.get_attribute("#hub-nav >> text=EDI", "aria-current") == "page"
    listed = page.inner_text("#interchanges")
    assert "Fort Wayne Books" in listed and "Northwind Traders" in listed
    assert "unknown sender ZZ:XYZ" in listed
    assert "Accepted" in listed and "Rejected" in listed and "Sent" in listed
    _check(layout, "list")

    page.select_option("select[name=status]", "rejected")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**status=rejected**")
    assert page.locator("#interchanges tbody tr").count() == 2  # the refused and the stranger
    row = page.locator(f"tr[data-interchange={refused.public_id}]")
    assert "The IEA trailer at line 30 carries control number" in row.inner_text()
    _check(layout, "list-rejected")

    row.locator("a").first.click()
    page.wait_for_selector("#segments")
    assert page.locator("#segments tr.offending").count() == 1
    offending = page.locator("#segments tr.offending")
    assert offending.get_attribute("id") == "segment-30"
    assert "IEA*1*000000006~" in offending.inner_text()
    assert "000000005" in page.inner_text("#facts")
    _check(layout, "detail")

    page.click("#go-to-offending")
    page.wait_for_url("**#segment-30")
    assert offending.is_visible()
    box = offending.bounding_box()
    assert 0 <= box["y"] < 900  # scrolled into the window
    # The long description wraps inside its row: it is taller than a short one, not wider.
    long_row = page.locator("#segments tr", has_text="WEBSTERS-NEW-WORLD")
    short_row = page.locator("#segment-2")
    assert long_row.bounding_box()["height"] > 1.5 * short_row.bounding_box()["height"]
    page.screenshot(path=f"/tmp/edi_offending_{width}.png")

    # Northwind's interchange: its 855 taken in, its 856s rejected, each with its problems.
    page.goto(f"{live_server.url}/edi/?partner=Northwind+Traders&direction=in")
    page.locator("#interchanges tbody tr a").first.click()
    page.wait_for_selector("#transaction-sets")
    sets = page.inner_text("#transaction-sets")
    assert "PO acknowledgement" in sets and "Ship notice" in sets
    assert "Rejected" in sets and "Accepted" in sets
    assert page.locator(".acknowledgement pre").count() == 2  # a 997 for each group
    _check(layout, "detail-sets")

    assert not layout.failures, "\n".join(layout.failures)
