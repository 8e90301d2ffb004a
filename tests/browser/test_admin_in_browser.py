"""A steward logs in with the demo login, finds an item and edits it, in a real browser."""

import pytest
from django.core.management import call_command

from demo.login import reset_demo_steward
from mdm.models import Item

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_world(transactional_db):
    call_command("seed_demo", items=40, suppliers=5, verbosity=0)
    return reset_demo_steward()


def test_it_lets_a_steward_log_in_find_an_item_and_edit_it(live_server, page, demo_world):
    item = Item.objects.order_by("number").first()
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "steward")
    page.fill("#id_password", demo_world)
    page.click("input[type=submit]")
    page.wait_for_selector("text=Master data hub")

    page.goto(f"{live_server.url}/admin/mdm/item/")
    page.fill("#searchbar", item.number)
    page.press("#searchbar", "Enter")
    page.click(f"text={item.public_id}")
    page.fill("#id_description", "Edited in the browser")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")

    item.refresh_from_db()
    assert item.description == "Edited in the browser"
    latest = item.history.latest()
    assert latest.change_source == "admin"
    assert latest.history_user.username == "steward"


def test_it_serves_the_api_docs_without_any_cdn(live_server, page, demo_world):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/admin/login/?next=/api/docs/")
    page.fill("#id_username", "steward")
    page.fill("#id_password", demo_world)
    page.click("input[type=submit]")
    page.wait_for_selector(".swagger-ui .opblock", timeout=15000)
    # Swagger UI draws the tags as they are scrolled to: scroll down to the items'.
    items = page.locator(".swagger-ui .opblock-summary-path", has_text="/api/v1/items/")
    for _ in range(60):
        if items.count():
            break
        page.mouse.wheel(0, 4000)
        page.wait_for_timeout(250)
    assert items.count(), "the items' operations were never drawn"
    outside = [url for url in requested if not url.startswith(live_server.url)]
    assert outside == []
