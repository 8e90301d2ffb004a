"""A purchase order v2 whose line names an unknown item code but says the item's GTIN and
description: the case offers that item, says why, and is fixed from it."""

import pytest
from django.test import TestCase

from tests.validation.world import build_world, example
from validation.submission import submit_message

pytestmark = pytest.mark.django_db

GTIN = "4006381333931"


@pytest.fixture
def world(db):
    world = build_world()
    world.bearing.description = "Deep groove ball bearing 6204-2RS"
    world.bearing.gtin = GTIN
    world.bearing.save()
    return world


def _blocked_order(world, **line):
    payload = example("purchase_order")
    payload["lines"][0].update(line)
    with TestCase.captureOnCommitCallbacks(execute=True):
        message = submit_message(
            system=world.systems["ERP_LEGACY"],
            message_type="purchase_order",
            schema_version=2,
            payload=payload,
            idempotency_key="po-described",
        ).message
    message.refresh_from_db()
    assert message.status == "quarantined", message.diagnostics
    return message


def test_the_case_offers_the_item_the_lines_gtin_and_description_name_and_fixes_by_it(
    client, steward, world, django_capture_on_commit_callbacks
):
    message = _blocked_order(
        world, item="4711-NEW", gtin=GTIN, description="Deep groove ball bearing 6204"
    )
    case = message.quarantine_case
    client.force_login(steward)

    page = client.get(f"/quarantine/{case.pk}/")

    best = page.context["suggestions"][0]["candidates"][0]
    assert best["id"] == world.bearing.public_id
    html = page.content.decode()
    assert f"GTIN {GTIN} is this item&#x27;s GTIN" in html
    assert "description &#x27;Deep groove ball bearing 6204&#x27; matches this item" in html
    assert "No candidates were suggested" not in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/quarantine/{case.pk}/fix/", {"entry": 0, "target": best["id"]})
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == "released"
    reference = message.system.xrefs.get(code="4711-NEW")
    assert (reference.item, reference.origin) == (world.bearing, "match_confirmed")
