"""The thread is reachable from records and messages: an item's admin page links the trace
screen, which asks at which plant (the plants the item's orders go to); a message's admin page
links the thread of the order or forecast version it names."""

import pytest
from django.urls import reverse

from tests.helpers import logged_in
from tests.quarantine.test_trace import _released
from tests.validation.world import example
from validation.models import PurchaseOrder

pytestmark = pytest.mark.django_db


def test_an_items_page_leads_to_its_thread_at_a_plant_it_is_ordered_for(world, steward):
    legacy = world.systems["ERP_LEGACY"]
    _released(legacy, "purchase_order", example("purchase_order", po_number="4500012345"))
    _released(legacy, "purchase_order", example("purchase_order", po_number="4500012346"))
    order = PurchaseOrder.objects.select_related("plant").first()
    item = order.lines.select_related("item").first().item
    client = logged_in(steward)

    page = client.get(reverse("admin:mdm_item_change", args=[item.pk])).content.decode()
    link = f'href="/quarantine/trace/?item={item.public_id}" id="item-thread"'
    assert link in page

    choice = client.get(f"/quarantine/trace/?item={item.public_id}")
    assert choice.status_code == 200
    text = choice.content.decode()
    assert f'{item.description} <span class="muted">({item.public_id})</span>' in text
    assert "at which plant?" in text
    there = f"?item={item.public_id}&amp;plant={order.plant.public_id}"
    assert f'<a href="{there}">{order.plant.name}</a>' in text
    ordered = PurchaseOrder.objects.filter(lines__item=item, plant=order.plant).distinct()
    assert ordered.count() == 3  # the two released and the one open at go-live
    assert f"{order.plant.public_id} · 3 orders" in text
    thread = client.get(f"/quarantine/trace/?item={item.public_id}&plant={order.plant.public_id}")
    assert thread.status_code == 200
    assert thread.content.decode().count('<li class="step step-order"') == 2


def test_an_unknown_item_alone_is_a_404_saying_so(world, steward):
    answer = logged_in(steward).get("/quarantine/trace/?item=ITM-999999")
    assert answer.status_code == 404
    assert "No item ITM-999999 is known to the hub" in answer.content.decode()


def test_a_messages_page_links_the_thread_of_what_it_names(world, steward):
    order = _released(world.systems["ERP_LEGACY"], "purchase_order", example("purchase_order"))
    forecast = _released(world.systems["PLANNING"], "forecast", example("forecast"))
    client = logged_in(steward)

    def page(message):
        url = reverse("admin:validation_inboundmessage_change", args=[message.pk])
        return client.get(url).content.decode()

    po = order.payload["po_number"]
    assert f'href="/quarantine/trace/?po={po}" id="message-thread"' in page(order)
    plan, version = forecast.payload["plan_id"], forecast.payload["version"]
    shown = page(forecast)
    assert f"Thread of {plan} version {version}</a>" in shown.replace("&amp;", "&")
    assert f"?forecast={plan.replace('&', '%26')}%3A{version}" in shown
