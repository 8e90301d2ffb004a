"""A steward brings back the events an endpoint missed, in a real browser: the subscriptions
list says which subscription has dead letters, the steward opens them, replays them all, and
the progress bar follows their delivery until the endpoint has every one. Both screens are
checked for layout at 1280 px (tests/browser/test_layout.py's checks: nothing scrolls
sideways, no word squeezed; screenshots in HUB_SCREENSHOT_DIR)."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from core.roles import sync_role_permissions
from demo.login import reset_demo_steward
from events import delivery, outbox, webhooks
from events.models import Breaker, Delivery, Subscription
from tests.browser.test_layout import Layout
from tests.events.test_delivery import Receiver

pytestmark = pytest.mark.browser

KEYS = ("PO:SUP-000003:4500000001", "PO:SUP-000004:4500000002")


@pytest.fixture
def endpoint(settings):
    """The planning system's webhook receiver on the loopback (plain http: debug and the
    private-address setting allow it), answering 503 until told otherwise."""
    settings.DEBUG = True
    settings.HUB_WEBHOOK_ALLOW_PRIVATE = True
    settings.HUB_WEBHOOK_CONNECT_TIMEOUT = settings.HUB_WEBHOOK_TIMEOUT = 1
    receiver = Receiver(status=503)
    yield receiver
    receiver.stop()


@pytest.fixture
def dead_letters(transactional_db, eager_celery, endpoint):
    """Three supply-exception events in two orders that the planning endpoint failed to take
    for longer than the dead-letter age; beside it a subscription whose breaker is open and
    a pull subscription. Returns the steward's password and the subscription."""
    sync_role_permissions()
    password = reset_demo_steward()
    planning = Subscription.objects.create(
        name="planning-supply-exceptions",
        consumer="PLANNING",
        mode=Subscription.Mode.PUSH,
        types=["hub.supply_exception.*"],
        url=endpoint.url,
    )
    webhooks.create_secret(planning)
    with transaction.atomic():
        for subject, key in (("SE-1", KEYS[0]), ("SE-2", KEYS[1]), ("SE-3", KEYS[0])):
            outbox.emit("hub.supply_exception.raised", subject, {"id": subject}, key)
    outbox.publish()  # each key's first delivery is tried (eager) and fails: 503
    delivery.bury_expired(timezone.now() + dt.timedelta(hours=25))
    assert set(planning.deliveries.values_list("status", flat=True)) == {"dead"}
    erp = Subscription.objects.create(
        name="erp-cloud-supply-exceptions-for-the-procurement-team",
        consumer="ERP_CLOUD",
        mode=Subscription.Mode.PUSH,
        types=["hub.supply_exception.raised", "hub.supply_exception.changed"],
        url="https://erp-cloud.example.com/hooks/hub",
    )
    Breaker.objects.create(
        subscription=erp, state=Breaker.State.OPEN, failures=7, opened_at=timezone.now()
    )
    Subscription.objects.create(
        name="mes-items", consumer="MES", mode=Subscription.Mode.PULL, types=["hub.item.*"]
    )
    return password, planning


def _log_in(page, live_server, password):
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "steward")
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#hub-nav")


def test_a_steward_replays_dead_letters_and_watches_them_delivered(
    live_server, page, dead_letters, endpoint
):
    password, planning = dead_letters
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server, password)
    layout = Layout(page, 1280)

    page.click("#hub-nav >> text=Events")
    page.wait_for_selector("#subscriptions")
    row = page.inner_text("tr[data-subscription=planning-supply-exceptions]")
    assert "3 dead letters" in row
    assert "breaker open since" in page.inner_text(
        "tr[data-subscription=erp-cloud-supply-exceptions-for-the-procurement-team]"
    )
    layout.check("events-subscriptions")

    page.click("text=3 dead letters")
    page.wait_for_selector("#deliveries")
    assert page.locator("#deliveries tbody tr").count() == 3
    assert "HTTP 503" in page.inner_text("#deliveries")
    layout.check("events-dead-letters")
    page.check("#choose-all")
    page.click("#replay-button")  # the endpoint still answers 503: they wait for a retry

    page.wait_for_selector("#replay-run")
    assert "3 deliveries sent again" in page.inner_text(".messages")
    assert "0 of 3 delivered, 3 on their way" in page.inner_text("#replay-text")
    assert page.get_attribute("#replay-bar", "value") == "0"
    layout.check("events-replay-running")

    endpoint.status = 200  # the endpoint is back; the beat sends what is due
    later = timezone.now() + dt.timedelta(hours=1)
    delivery.push(planning.pk, now=later)

    page.wait_for_selector("#replay-text:has-text('3 of 3 delivered')")
    assert page.get_attribute("#replay-run", "data-finished") == "1"  # the page reloaded
    layout.check("events-replay-done")
    assert set(planning.deliveries.values_list("status", flat=True)) == {Delivery.Status.DELIVERED}
    delivered = endpoint.subjects()[-3:]  # the three answered 200, in each order's order
    assert sorted(delivered) == ["SE-1", "SE-2", "SE-3"]
    assert delivered.index("SE-1") < delivered.index("SE-3")

    page.click("#deliveries tr:has-text('SE-1') a")  # its event: the document, every answer
    page.wait_for_selector("#document")
    assert '"subject": "SE-1"' in page.inner_text("#document")
    answers = page.inner_text(".delivery")
    assert "Delivered" in answers and "HTTP 200" in answers and "HTTP 503" in answers
    layout.check("events-event")
    page.set_viewport_size({"width": 1920, "height": 1000})
    wide = Layout(page, 1920)
    wide.check("events-event")
    wide.visit("events-subscriptions", f"{live_server.url}/quarantine/events/")
    wide.visit(
        "events-subscription", f"{live_server.url}/quarantine/events/subscriptions/{planning.pk}/"
    )
    assert not layout.failures + wide.failures, "\n".join(layout.failures + wide.failures)
