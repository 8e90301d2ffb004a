"""The quarantine's fixes when a policy says their change needs approval: the cross-reference
or unit conversion a fix would add is asked for in a change request, nothing is written or
replayed, and the case stays open saying what it waits for. Once another person approves,
the new cross-reference replays the case on its own; a new conversion does not (no signal
announces conversions), so the steward replays it."""

import html

import pytest
from django.contrib.messages import get_messages

from changes import requests
from changes.models import ApprovalPolicy, ChangeRequest
from mdm.models import ItemUnitConversion
from quarantine import services
from quarantine.models import QuarantineCase
from tests.helpers import logged_in
from tests.quarantine.test_add_conversion import boxes_without_conversion
from tests.validation.world import example
from validation.models import InboundMessage
from validation.submission import submit_message
from xref.models import CrossReference

pytestmark = pytest.mark.django_db

CODE = "6204-2RS-XX"


@pytest.fixture
def network_policy(world):
    return ApprovalPolicy.objects.create(kind="xref.crossreference", systems=["SUPPLIER_NET"])


@pytest.fixture
def unknown_item(world, django_capture_on_commit_callbacks):
    """A ship notice from the supplier network naming an item code the hub does not know."""
    payload = example("ship_notice")
    payload["lines"][0]["item"] = CODE
    with django_capture_on_commit_callbacks(execute=True):
        message = submit_message(
            system=world.systems["SUPPLIER_NET"],
            message_type="ship_notice",
            schema_version=1,
            payload=payload,
            idempotency_key="asn-unknown-item",
        ).message
    case = QuarantineCase.objects.get(message=message)
    assert case.rule_codes == ["XREF_UNRESOLVED"]
    return case


@pytest.fixture
def no_box_conversion(world):
    """The legacy ERP orders 2 boxes of the 6205 bearing, which has no box conversion."""
    return boxes_without_conversion(world)


def fix(case, steward, world):
    return services.fix_by_reference(
        case,
        by=steward,
        kind="item",
        system="SUPPLIER_NET",
        code=CODE,
        target=world.bearing.public_id,
    )


def latest_reason(case):
    return case.transitions.order_by("-at", "-pk").first().reason


def test_a_fix_needing_approval_asks_for_it_and_the_case_waits(
    steward, world, network_policy, unknown_item
):
    count = CrossReference.objects.count()

    case, asked = fix(unknown_item, steward, world)

    assert isinstance(asked, ChangeRequest)
    assert CrossReference.objects.count() == count
    assert not CrossReference.objects.filter(code=CODE).exists()
    message = InboundMessage.objects.get(pk=case.message_id)
    assert (message.status, message.attempts) == ("quarantined", 1)
    case.refresh_from_db()
    assert case.is_open
    assert latest_reason(case) == (
        f"Cross-reference SUPPLIER_NET item {CODE} -> {world.bearing.public_id} asked by "
        f"stella.steward: it needs another person's approval and waits for change request "
        f"{asked.number}; the message replays on its own once it is approved."
    )
    assert (asked.requested_by, asked.source) == (steward, "web")
    assert asked.reason == (f"To release quarantined message {message.public_id} (case {case.pk}).")
    [item] = asked.items.all()
    assert item.label == (
        f"SUPPLIER_NET item code {CODE} -> Item 6204-2RS ({world.bearing.public_id})"
    )


def test_fixing_the_same_code_again_names_the_request_already_waiting(
    steward, world, network_policy, unknown_item
):
    _, first = fix(unknown_item, steward, world)
    _, again = fix(unknown_item, steward, world)

    assert again == first
    assert ChangeRequest.objects.count() == 1


def test_once_approved_the_reference_replays_the_case_on_its_own(
    steward, approver, world, network_policy, unknown_item, django_capture_on_commit_callbacks
):
    case, asked = fix(unknown_item, steward, world)

    with django_capture_on_commit_callbacks(execute=True):
        requests.approve(asked, by=approver)

    reference = CrossReference.objects.get(system__code="SUPPLIER_NET", code=CODE)
    assert (reference.item, reference.created_by) == (world.bearing, steward)
    assert reference.origin == "match_confirmed"  # the matcher's best candidate was chosen
    case.refresh_from_db()
    assert case.status == QuarantineCase.Status.RESOLVED_BY_REPLAY
    assert InboundMessage.objects.get(pk=case.message_id).status == "released"
    assert [t.reason for t in case.transitions.order_by("at", "pk")][-2:] == [
        f"Replayed automatically: Cross-reference #{reference.pk} SUPPLIER_NET item {CODE} was "
        "added.",
        "Replayed and released.",
    ]


def test_the_screen_says_the_fix_waits_for_a_request(steward, world, network_policy, unknown_item):
    client = logged_in(steward)
    before = client.get(f"/quarantine/{unknown_item.pk}/").content.decode()
    assert "Ask for the cross-reference</button>" in before
    assert "your choice becomes a change request" in before

    response = client.post(
        f"/quarantine/{unknown_item.pk}/fix/", {"entry": 0, "target": world.bearing.public_id}
    )

    asked = ChangeRequest.objects.get()
    assert response.status_code == 302
    [shown] = [html.unescape(str(m)) for m in get_messages(response.wsgi_request)]
    assert shown == (
        f"Cross-reference SUPPLIER_NET item code {CODE} -> Item 6204-2RS "
        f"({world.bearing.public_id}) needs another "
        f'person\'s approval: it waits for change request <a href="/changes/{asked.pk}/">'
        f"{asked.number}</a>; the message replays on its own once it is approved."
    )
    assert not CrossReference.objects.filter(code=CODE).exists()


def test_without_a_policy_the_fix_registers_and_replays_at_once(
    steward, world, unknown_item, django_capture_on_commit_callbacks
):
    page = logged_in(steward).get(f"/quarantine/{unknown_item.pk}/").content.decode()
    assert "Create cross-reference and replay</button>" in page
    with django_capture_on_commit_callbacks(execute=True):
        case, reference = fix(unknown_item, steward, world)

    assert isinstance(reference, CrossReference) and reference.code == CODE
    assert not ChangeRequest.objects.exists()

    assert InboundMessage.objects.get(pk=case.message_id).status == "released"


def test_a_conversion_needing_approval_waits_and_is_replayed_by_the_steward_after(
    steward, approver, world, no_box_conversion, django_capture_on_commit_callbacks
):
    ApprovalPolicy.objects.create(kind="mdm.itemunitconversion", note="Pack sizes")
    client = logged_in(steward)

    response = client.post(
        f"/quarantine/{no_box_conversion.pk}/conversion/",
        {"entry": 0, "factor": "12", "for_supplier": "on"},
    )

    assert response.status_code == 302
    asked = ChangeRequest.objects.get()
    assert not ItemUnitConversion.objects.filter(item=world.bearing_b).exists()
    [item] = asked.items.all()
    assert item.label == (
        f"1 Box (XBX) = 12 piece (H87) for Item 6205-2RS ({world.bearing_b.public_id}), from "
        f"Kugelmann ({world.supplier.public_id})"
    )
    [shown] = [str(m) for m in get_messages(response.wsgi_request)]
    assert f"Unit conversion {item.label} needs another person's approval" in shown
    assert shown.endswith("; replay the case once it is approved.")
    case = QuarantineCase.objects.get(pk=no_box_conversion.pk)
    assert case.is_open
    assert f"waits for change request {asked.number}" in latest_reason(case)

    with django_capture_on_commit_callbacks(execute=True):
        requests.approve(asked, by=approver)

    conversion = ItemUnitConversion.objects.get(item=world.bearing_b)
    assert (conversion.factor, conversion.supplier) == (12, world.supplier)
    message = InboundMessage.objects.get(pk=case.message_id)
    assert message.status == "quarantined"  # no signal announces a conversion

    with django_capture_on_commit_callbacks(execute=True):
        services.replay(case, by=steward)

    case.refresh_from_db()
    assert case.status == QuarantineCase.Status.RESOLVED_BY_REPLAY
