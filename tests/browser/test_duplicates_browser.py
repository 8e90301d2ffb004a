"""A steward finds a supplier onboarded twice in the duplicates queue, in a real browser: the
queue names both records, the pair page marks what differs, and "Not the same" takes the pair
out of the queue; a full run's progress bar follows the run until it is done. Both screens
are checked for layout at 1280 and 1920 px (tests/browser/test_layout.py's checks,
screenshots in HUB_SCREENSHOT_DIR)."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from demo.login import reset_demo_steward
from demo.suppliers import TWINS, supplier_number, twin_number
from mdm.models import Supplier
from tests.browser.test_layout import Layout
from xref.models import DuplicatePair, DuplicateRun

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_world(transactional_db, eager_celery):
    call_command("seed_demo", items=40, suppliers=5, verbosity=0)
    return reset_demo_steward()


@pytest.fixture
def onboarded_twice(demo_world):
    """The demo's third supplier, planted twice (demo.suppliers.TWINS: the cloud ERP's own
    record under the legal name), and their pair, found by the seed's duplicate run."""
    first = Supplier.objects.get(number=supplier_number(TWINS[0]))
    twin = Supplier.objects.get(number=twin_number(TWINS[0]))
    pair = DuplicatePair.objects.get(
        kind="supplier", record_a=first.public_id, record_b=twin.public_id
    )
    return first, twin, pair


def _log_in(page, live_server, password):
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "steward")
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#hub-nav")


def test_a_steward_decides_a_pair_from_the_queue(live_server, page, demo_world, onboarded_twice):
    first, twin, pair = onboarded_twice
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server, demo_world)

    page.click("#hub-nav >> text=Duplicates")
    page.wait_for_selector("h1:has-text('Possible duplicates')")
    clusters = page.inner_text("#duplicate-clusters")
    assert f"{first.public_id} {first.name}" in clusters
    assert f"{twin.public_id} {twin.name}" in clusters
    layout = Layout(page, 1280)
    layout.check("duplicates-queue")

    page.click(f"a.pair-link:has-text('{twin.public_id}')")
    page.wait_for_selector("#compare")
    assert page.locator("#compare tr.differs[data-field=name]").count() == 1
    assert page.locator("#compare tr.agrees[data-field=country]").count() == 1
    layout.check("duplicates-pair")
    page.fill("#id_note", "Checked with procurement: two companies")
    page.click("button[value=not_same]")

    page.wait_for_selector("h1:has-text('Possible duplicates')")
    assert "not the same" in page.inner_text(".messages")
    assert page.locator("#duplicate-clusters").count() == 0
    pair.refresh_from_db()
    assert (pair.status, pair.note) == ("not_same", "Checked with procurement: two companies")
    assert not layout.failures, "\n".join(layout.failures)


def test_the_duplicates_screens_fit_1920_px(live_server, page, demo_world, onboarded_twice):
    _, _, pair = onboarded_twice
    page.set_viewport_size({"width": 1920, "height": 1000})
    _log_in(page, live_server, demo_world)

    layout = Layout(page, 1920)
    layout.visit("duplicates-queue", f"{live_server.url}/quarantine/duplicates/supplier/")
    layout.visit(
        "duplicates-pair", f"{live_server.url}/quarantine/duplicates/supplier/pairs/{pair.pk}/"
    )

    assert not layout.failures, "\n".join(layout.failures)


def test_the_queue_follows_a_running_full_run_until_it_finishes(
    live_server, page, demo_world, onboarded_twice
):
    run = DuplicateRun.objects.create(kind="supplier", chunks_total=4, chunks_done=1)
    _log_in(page, live_server, demo_world)

    page.goto(f"{live_server.url}/quarantine/duplicates/supplier/")
    assert page.get_attribute("#run-bar", "value") == "25"
    assert "1 of 4 chunks done" in page.inner_text("#run-text")
    DuplicateRun.objects.filter(pk=run.pk).update(
        status="finished", chunks_done=4, pairs_found=1, finished_at=timezone.now()
    )

    page.wait_for_selector("#run-text:has-text('Finished: 1 pair found')")
    assert page.get_attribute("#duplicate-run", "data-finished") == "1"  # the queue reloaded


def test_a_steward_merges_a_pair_sees_the_merged_record_and_unmerges_it(
    live_server, page, demo_world, onboarded_twice
):
    first, twin, pair = onboarded_twice
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server, demo_world)
    layout = Layout(page, 1280)

    page.goto(f"{live_server.url}/quarantine/duplicates/supplier/")
    page.click(f"a.pair-link:has-text('{twin.public_id}')")
    page.click("#merge-link")
    page.wait_for_selector("#merge-fields")
    survivor, loser = (
        (first, twin)
        if f"into {first.public_id}" in page.inner_text("h1")
        else (
            twin,
            first,
        )
    )
    assert page.locator("#merge-fields tr.differs[data-field=name]").count() == 1
    layout.check("merge-screen")
    page.check("#pick-name-survivor")
    page.fill("#id_reason", "One company: same VAT number, onboarded from two ERPs")
    page.click("#merge-button")

    page.wait_for_selector("#merge-status:has-text('Merged')")
    assert f"{loser.public_id} merged into {survivor.public_id}" in page.inner_text(".messages")
    assert survivor.name in page.inner_text("h1")
    layout.check("merged-record")
    loser.refresh_from_db()
    assert loser.merged_into == survivor.public_id

    page.click("text=← Merges")
    page.wait_for_selector("#merges")
    layout.check("merges-screen")
    page.click("details.unmerge summary")
    page.fill("details.unmerge textarea", "Checked again: two legal entities")
    page.click("details.unmerge button[type=submit]")

    page.wait_for_selector("#merges .status-undone")
    assert "is a record of its own again" in page.inner_text(".messages")
    layout.check("merges-screen-undone")
    loser.refresh_from_db()
    assert loser.merged_into == ""
    page.set_viewport_size({"width": 1920, "height": 1000})
    wide = Layout(page, 1920)
    wide.visit("merges-screen", f"{live_server.url}/quarantine/merges/")
    wide.visit(
        "merge-screen",
        f"{live_server.url}/quarantine/duplicates/supplier/pairs/{pair.pk}/merge/",
    )
    assert not layout.failures + wide.failures, "\n".join(layout.failures + wide.failures)
