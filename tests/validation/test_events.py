"""The events validation publishes (validation.events): every outcome of a message, and the
supply exceptions an acknowledgement raises, each once, in the outcome's transaction, with
the canonical ids a subscriber filters on; none from a transaction that rolled back."""

import datetime
from unittest import mock

import pytest
from django.db import transaction

from demo.reference_data import DEMO_UNITS
from demo.seed import seed_demo
from events.models import Event
from mdm.models import Unit
from tests.validation.world import OPEN_PO, example
from validation import enqueue, pipeline, validate
from validation.models import InboundMessage, SupplyException
from validation.submission import submit_message

from .test_controls import ack, send, statuses  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def only(type):
    """The one event of `type` (an error when there are none or several)."""
    events = list(Event.objects.filter(type=type))
    assert len(events) == 1, [e.subject for e in events]
    return events[0]


def test_a_released_order_is_published_with_its_canonical_ids(world):
    message = send(world, "purchase_order")

    event = only("hub.message.released")
    assert message.status == "released"
    assert event.subject == message.public_id
    # An order's releases and its supply exceptions share its partition.
    assert event.partition_key == f"PO:{world.supplier.public_id}:4500012345"
    assert event.facts == {
        "system": "ERP_LEGACY",
        "plant": world.plant.public_id,
        "supplier": world.supplier.public_id,
        "item": world.bearing.public_id,
    }
    assert event.data["message"] == message.public_id
    assert event.data["message_type"] == "purchase_order"
    assert event.data["document"]["po_number"] == "4500012345"
    assert event.data["document"]["supplier"] == "100234"  # as the ERP wrote it
    assert event.data["records"]["supplier"] == world.supplier.public_id
    assert event.data["records"]["items"] == [world.bearing.public_id]
    assert not Event.objects.exclude(type="hub.message.released").filter(
        type__startswith="hub.message."
    )


def test_a_quarantined_message_is_published_with_the_rules_that_hold_it(world):
    message = send(world, "purchase_order", example("purchase_order", supplier="999999"))

    event = only("hub.message.quarantined")
    assert message.status == "quarantined"
    assert (event.subject, event.partition_key) == (message.public_id, message.public_id)
    assert event.facts == {"system": "ERP_LEGACY"}
    assert "XREF_UNRESOLVED" in event.data["rules"]
    assert event.data["errors"] >= 1
    assert event.data["records"] == {}  # nothing it names is known for sure
    assert event.data["document"]["supplier"] == "999999"


def test_a_message_that_breaks_its_contract_is_published_as_rejected(world):
    payload = example("purchase_order")
    del payload["po_number"]
    with mock.patch.object(enqueue, "enqueue_validation"):
        message = submit_message(
            system=world.systems["ERP_LEGACY"],
            message_type="purchase_order",
            schema_version=1,
            payload=payload,
            idempotency_key="broken",
        ).message

    event = only("hub.message.rejected")
    assert message.status == "rejected"
    assert event.subject == message.public_id
    assert event.data["rules"] == ["CONTRACT"]
    assert event.facts == {"system": "ERP_LEGACY"}


def test_a_message_that_keeps_failing_is_published_as_dead_lettered(world):
    with mock.patch.object(enqueue, "enqueue_validation"):
        message = submit_message(
            system=world.systems["ERP_LEGACY"],
            message_type="purchase_order",
            schema_version=1,
            payload=example("purchase_order"),
            idempotency_key="doomed",
        ).message
    with mock.patch.object(pipeline, "evaluate", side_effect=ValueError("a bug")):
        validate.validate_message(message.pk)

    event = only("hub.message.dead_lettered")
    assert event.subject == message.public_id
    assert "a bug" in event.data["error"]
    assert not Event.objects.filter(type="hub.message.released").exists()


def test_nothing_is_published_of_a_submission_that_rolled_back(world):
    payload = example("purchase_order")
    del payload["po_number"]

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), transaction.atomic():
        submit_message(
            system=world.systems["ERP_LEGACY"],
            message_type="purchase_order",
            schema_version=1,
            payload=payload,
            idempotency_key="rolled-back",
        )
        raise Abandoned

    assert not InboundMessage.objects.exists()
    assert not Event.objects.filter(type__startswith="hub.message.").exists()


def test_a_late_acknowledgement_raises_a_supply_exception_event_for_planners(world, statuses):  # noqa: F811
    message = send(
        world,
        "po_acknowledgement",
        ack(
            {"committed_quantity": 350, "committed_date": "2026-03-20"},
            {"status": "IB", "committed_quantity": 150, "committed_date": "2026-04-03"},
        ),
    )

    exception = SupplyException.objects.get()
    event = only("hub.supply_exception.raised")
    order = f"PO:{world.supplier.public_id}:{OPEN_PO}"
    assert (event.subject, event.partition_key) == (str(exception.pk), order)
    # The acknowledgement's release is in the same partition (and the same transaction).
    released = only("hub.message.released")
    assert (released.subject, released.partition_key) == (message.public_id, order)
    assert event.facts == {
        "system": "SUPPLIER_NET",
        "plant": world.plant.public_id,
        "supplier": world.supplier.public_id,
        "item": world.bearing.public_id,
    }
    data = event.data
    assert (data["po_number"], data["po_line"]) == (OPEN_PO, 10)
    assert (data["ordered_quantity"], data["committed_quantity"]) == ("500", "500")
    assert (data["on_time_quantity"], data["quantity_at_risk"], data["unit"]) == (
        "350",
        "150",
        "H87",
    )
    assert (data["need_by"], data["committed_date"], data["days_late"]) == (
        "2026-03-20",
        "2026-04-03",
        14,
    )
    assert data["status"] == "backordered"
    assert data["acknowledgement"] == message.public_id
    assert "150 H87 at risk" in data["reason"] and "14 days late" in data["reason"]


def test_an_acknowledgement_as_ordered_raises_no_supply_exception_event(world):
    send(world, "po_acknowledgement")

    assert not Event.objects.filter(type__startswith="hub.supply_exception.").exists()


def test_the_seed_scenarios_delayed_acknowledgement_reaches_planners_as_an_event(
    django_capture_on_commit_callbacks,
):
    for code, fields in DEMO_UNITS.items():
        Unit.objects.create(code=code, **fields)
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo(items=200, suppliers=40, today=datetime.date(2026, 3, 2))

    exception = SupplyException.objects.get(order_line__order__po_number="4500020003")
    event = Event.objects.get(type="hub.supply_exception.raised", subject=str(exception.pk))
    supplier = exception.supplier.public_id
    assert event.partition_key == f"PO:{supplier}:4500020003"
    assert event.facts["supplier"] == supplier
    assert event.facts["plant"] == exception.plant.public_id
    assert event.facts["item"] == exception.item.public_id
    data = event.data
    assert (data["quantity_at_risk"], data["days_late"]) == ("450", 14)
    assert (data["supplier"], data["item"], data["plant"]) == (
        supplier,
        exception.item.public_id,
        exception.plant.public_id,
    )
    assert data["supplier_name"] == exception.supplier.name
    assert data["ordered_quantity"] == format(exception.ordered_quantity.normalize(), "f")
    assert data["need_by"] == exception.need_by.isoformat()
    assert data["committed_date"] == exception.committed_date.isoformat()
    # The event is published once the seed's transaction commits.
    event.refresh_from_db()
    assert event.position is not None
