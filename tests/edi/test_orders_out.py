"""A purchase order released for a supplier that trades by EDI goes out as an X12 850 in the
supplier's own codes, through the event outbox and the partner's directory; one the partner
has no codes for is kept, not sent, saying what is missing."""

from pathlib import Path
from unittest import mock

import pytest

from edi import outbound, x12, x12_inbound
from edi.models import Interchange, Standard
from events.models import Event
from tests.edi import partners
from tests.validation.world import build_world, example
from validation import enqueue, validate
from validation.models import InboundMessage
from validation.submission import submit_message
from xref.models import CrossReference

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _eager(eager_celery):
    """The order's task runs here, as soon as the release commits."""


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def partner(world, tmp_path):
    return partners.kugelmann(
        world,
        supplier=world.supplier,
        send_orders=True,
        outbound_directory=str(tmp_path / "to-kugelmann"),
    )


def _release(world, payload, capture):
    """The ERP's purchase order, submitted and validated now; its commit's work done."""
    with capture(execute=True), mock.patch.object(enqueue, "enqueue_validation"):
        message = submit_message(
            system=world.systems["ERP_LEGACY"],
            message_type="purchase_order",
            schema_version=1,
            payload=payload,
            idempotency_key=f"po-{InboundMessage.objects.count() + 1}",
        ).message
    with capture(execute=True):
        validate.validate_message(message.pk)
    message.refresh_from_db()
    return message


def test_a_released_order_goes_out_as_an_850_in_the_suppliers_codes(
    world, partner, django_capture_on_commit_callbacks
):
    message = _release(world, example("purchase_order"), django_capture_on_commit_callbacks)
    assert message.status == "released"

    [sent] = Interchange.objects.filter(direction="out", message=message)
    assert (sent.status, sent.contents, sent.partner) == ("sent", "850", partner)
    parsed = x12.parse(bytes(sent.raw))
    assert (parsed.sender_id, parsed.receiver_id) == ("MDMHUB", "KUGELMANN")
    assert parsed.control == "000000001"
    [group] = parsed.groups
    [order] = group.transactions
    read = x12_inbound.map_transaction(order, group, supplier="SUP-NET-0042").payload
    # Read back, it is the released order in the supplier network's codes.
    assert read["po_number"] == example("purchase_order")["po_number"]
    assert read["supplier"] == "SUP-NET-0042"
    assert read["ship_to"] == "DE-HH-00"
    assert [line["item"] for line in read["lines"]] == ["6204-2RS-C3"]
    assert read == outbound.order_in_codes_of(message.released_payload, "SUPPLIER_NET")[0] | {
        "lines": read["lines"]
    }

    event = Event.objects.get(type="hub.edi.sent")
    assert event.subject == sent.public_id
    assert event.data["text"] == sent.text
    assert event.facts == {"system": "SUPPLIER_NET", "supplier": world.supplier.public_id}
    written = Path(partner.outbound_directory) / f"{sent.public_id}.x12"
    assert written.read_bytes() == bytes(sent.raw)


def test_the_next_order_takes_the_next_control_numbers(
    world, partner, django_capture_on_commit_callbacks
):
    _release(world, example("purchase_order"), django_capture_on_commit_callbacks)
    _release(
        world, example("purchase_order", po_number="4500099999"), django_capture_on_commit_callbacks
    )
    controls = [x12.parse(bytes(found.raw)).control for found in Interchange.objects.order_by("pk")]
    assert controls == ["000000001", "000000002"]
    partner.refresh_from_db()
    assert (partner.next_interchange_control, partner.next_group_control) == (3, 3)


def test_an_order_the_partner_has_no_code_for_is_kept_and_not_sent(
    world, partner, django_capture_on_commit_callbacks
):
    CrossReference.objects.filter(system__code="SUPPLIER_NET", item=world.bearing).delete()
    message = _release(world, example("purchase_order"), django_capture_on_commit_callbacks)

    [kept] = Interchange.objects.filter(direction="out", message=message)
    assert kept.status == "rejected"
    assert f"line 10: item {world.bearing.public_id} has no code in SUPPLIER_NET" in kept.error
    assert not Event.objects.filter(type="hub.edi.sent").exists()


def test_an_order_goes_out_once_whatever_repeats_the_task(
    world, partner, django_capture_on_commit_callbacks
):
    message = _release(world, example("purchase_order"), django_capture_on_commit_callbacks)
    again = outbound.send_order(message, partner)
    assert Interchange.objects.filter(direction="out").count() == 1
    assert again.message == message


def test_a_supplier_without_an_edi_profile_gets_nothing(
    world, partner, django_capture_on_commit_callbacks
):
    partner.send_orders = False
    partner.save()
    _release(world, example("purchase_order"), django_capture_on_commit_callbacks)
    assert not Interchange.objects.exists()


def test_an_edifact_partner_gets_orders(world, partner, django_capture_on_commit_callbacks):
    partner.standard = Standard.EDIFACT
    partner.save()
    message = _release(world, example("purchase_order"), django_capture_on_commit_callbacks)
    [sent] = Interchange.objects.filter(direction="out", message=message)
    assert sent.contents == "ORDERS"
    assert "UNH+1+ORDERS:D:96A:UN" in sent.text
    assert "6204-2RS-C3" in sent.text
