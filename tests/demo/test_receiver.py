"""The seed's scenario end to end on the demo (issue 20): the planning system subscribes to
supply exceptions, and the third supplier's delayed acknowledgement reaches the demo's
planning receiver as a signed supply-exception event, which the hub records as delivered."""

import datetime
import json
import threading
import urllib.error
import urllib.request

import pytest

from demo.receiver import SUBSCRIPTION, server
from demo.seed import seed_demo
from events.models import Delivery, Subscription

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = datetime.date(2026, 3, 2)


@pytest.fixture
def receiver(settings):
    """The demo receiver on a free port of 127.0.0.1, with the settings `make run` gives."""
    httpd = server("127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    settings.DEBUG = True  # make run's HUB_DEBUG: a plain http webhook
    settings.HUB_WEBHOOK_ALLOW_PRIVATE = True
    settings.HUB_DEMO_RECEIVER_URL = f"http://127.0.0.1:{httpd.server_address[1]}/"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_the_delayed_acknowledgement_reaches_the_planning_receiver_signed(
    demo_units, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo(items=200, suppliers=40, today=TODAY)

    subscription = Subscription.objects.get(name=SUBSCRIPTION)
    assert (subscription.consumer, subscription.types) == ("PLANNING", ["hub.supply_exception.*"])
    got = list(receiver.received.lines)
    third = [line for line in got if "PO 4500020003 line 10" in line]
    assert len(third) == 1, got
    assert "hub.supply_exception.raised" in third[0]
    assert "450 H87 at risk" in third[0]
    assert all("supply_exception" in line for line in got)  # nothing it did not ask for
    delivered = Delivery.objects.filter(subscription=subscription)
    assert delivered.count() == len(got)
    assert set(delivered.values_list("status", flat=True)) == {Delivery.Status.DELIVERED}


def test_the_receiver_refuses_a_webhook_no_secret_of_the_subscription_signed(receiver):
    port = receiver.server_address[1]
    forged = urllib.request.Request(
        f"http://127.0.0.1:{port}/",
        data=json.dumps({"type": "hub.supply_exception.raised"}).encode(),
        headers={
            "webhook-id": "msg_forged",
            "webhook-timestamp": "1700000000",
            "webhook-signature": "v1,Zm9yZ2Vk",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=5)
    assert refused.value.code == 401
    assert list(receiver.received.lines) == []
