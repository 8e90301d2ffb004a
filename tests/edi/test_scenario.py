"""The issue's scenario at the level of the pipeline: a supplier's 855 with a constrained line
enters as X12, is answered with a 997, and raises the same supply exception as the same
acknowledgement sent by the supplier portal as JSON."""

from unittest import mock

import pytest
from django.db import transaction

from demo.edi import acknowledgement_855
from edi import receiving, x12
from edi.models import Interchange
from mdm.models import CodeList, CodeValue
from tests.edi import partners
from tests.validation.world import build_world, example
from validation import enqueue, validate
from validation.models import InboundMessage, SupplyException
from validation.submission import submit_message
from xref.services import register_reference

pytestmark = pytest.mark.django_db

# The order (line 10: 500 ST, need by 2026-03-20) acknowledged 350 on time (IA, accepted) and
# 150 two weeks late for lack of capacity (IB, backordered), in the supplier network's codes.
ACK = {
    "po_number": example("purchase_order")["po_number"],
    "ack_number": "ACK-1",
    "supplier": "SUP-NET-0042",
    "ack_date": "2026-03-03",
    "lines": [
        {"line": 10, "status": "IA", "committed_quantity": 350, "unit": "PC",
         "committed_date": "2026-03-20"},
        {"line": 10, "status": "IB", "committed_quantity": 150, "unit": "PC",
         "committed_date": "2026-04-03"},
    ],
}  # fmt: skip


class Rollback(Exception):
    pass


@pytest.fixture
def world(db):
    world = build_world()
    backordered = CodeValue.objects.create(
        code_list=CodeList.objects.get(code="ACK_LINE_STATUS"), code="backordered", meaning="Late"
    )
    register_reference(kind="code_value", system="SUPPLIER_NET", code="IB", target=backordered)
    _validated(
        submit_message(
            system=world.systems["ERP_LEGACY"],
            message_type="purchase_order",
            schema_version=1,
            payload=example("purchase_order"),
            idempotency_key="po-1",
        ).message
    )
    return world


@pytest.fixture
def partner(world):
    return partners.kugelmann(world)


def _validated(message):
    validate.validate_message(message.pk)
    message.refresh_from_db()
    return message


def _exception():
    found = SupplyException.objects.get()
    return {
        "supplier": found.supplier_id,
        "item": found.item_id,
        "plant": found.plant_id,
        "order_line": found.order_line_id,
        "quantity_at_risk": found.quantity_at_risk,
        "days_late": found.days_late,
        "committed_date": found.committed_date,
        "need_by": found.need_by,
    }


def test_an_855_raises_the_same_supply_exception_as_the_portals_json(world, partner):
    with pytest.raises(Rollback), transaction.atomic():
        portal = _validated(
            submit_message(
                system=world.systems["SUPPLIER_NET"],
                message_type="po_acknowledgement",
                schema_version=1,
                payload={**ACK, "lines": [{**line, "unit": "PCE"} for line in ACK["lines"]]},
                idempotency_key="portal-ack-1",
            ).message
        )
        assert portal.status == "released"
        from_json = _exception()
        raise Rollback

    with mock.patch.object(enqueue, "enqueue_validation"):
        interchange = receiving.receive(
            acknowledgement_855(ACK, partner, 42),
            source=Interchange.Source.API,
            system=partner.system,
        )
    [found] = interchange.transaction_sets.all()
    message = _validated(found.message)

    assert (interchange.status, message.status) == ("accepted", "released")
    # X12 PC (piece) became Rec 20 H87 by the crosswalk, then the network's own code for it.
    assert [line["unit"] for line in message.payload["lines"]] == ["PCE", "PCE"]
    assert _exception() == from_json
    assert from_json["quantity_at_risk"] == 150
    [ack] = interchange.acknowledgements.all()
    segments = [(s.tag, s.elements) for s in x12.parse(bytes(ack.raw)).segments]
    assert ("AK5", ["A"]) in segments and ("AK9", ["A", "1", "1", "1"]) in segments
    assert InboundMessage.objects.filter(message_type="po_acknowledgement").count() == 1
