"""The events quarantine publishes (quarantine.events): a case resolved, however it closed,
and a steward's steps on a supply exception, each once, in the step's transaction; none of a
step that rolled back."""

import pytest
from django.db import transaction

from events.models import Event
from quarantine import services, supply
from quarantine.models import QuarantineCase
from tests.quarantine.test_review import RELEASED, overrider, replayed  # noqa: F401 (fixture)
from tests.quarantine.test_supply import late_ack  # noqa: F401 (a fixture)
from tests.validation.world import OPEN_PO
from validation.models import SupplyException

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(erp_system):
    from tests.quarantine.test_cases import quarantine

    quarantine(erp_system)
    return QuarantineCase.objects.get()


def only(type):
    events = list(Event.objects.filter(type=type))
    assert len(events) == 1, [e.subject for e in events]
    return events[0]


def test_a_rejected_case_is_published_as_resolved(case, steward):
    services.reject(case, by=steward, reason="Duplicate of ASN-2")

    event = only("hub.case.resolved")
    assert (event.subject, event.partition_key) == (str(case.pk), case.message.public_id)
    assert event.facts == {"system": "ERP_LEGACY"}
    data = event.data
    assert (data["case"], data["message"], data["message_type"]) == (
        case.pk,
        case.message.public_id,
        "ship_notice",
    )
    assert (data["status"], data["resolution"], data["by"]) == (
        "rejected",
        "reject",
        "stella.steward",
    )
    assert "Duplicate of ASN-2" in data["reason"]
    assert data["rules"] == ["ITEM_OBSOLETE", "NO_TARGET_CODE", "XREF_UNRESOLVED"]
    assert data["facets"]["supplier"] == "SUP-NET-0042"


def test_a_replay_that_releases_resolves_the_case_and_publishes_both(case, steward):
    replayed(RELEASED, services.replay, case, by=steward, reason="master data fixed")

    event = only("hub.case.resolved")
    assert (event.data["status"], event.data["resolution"]) == ("resolved_by_replay", "replay")
    assert event.data["by"] is None  # the outcome came from validation
    released = only("hub.message.released")
    assert released.subject == case.message.public_id
    assert released.number < event.number


def test_a_release_by_override_publishes_the_message_released_and_the_case_resolved(
    case,
    overrider,  # noqa: F811
):
    services.release_by_override(case, by=overrider, reason="Supplier confirmed by phone")

    released = only("hub.message.released")
    assert released.subject == case.message.public_id
    assert released.data["override"] is True
    assert "XREF_UNRESOLVED" in released.data["rules"]
    resolved = only("hub.case.resolved")
    assert (resolved.data["status"], resolved.data["resolution"]) == (
        "released_by_override",
        "override",
    )


def test_an_assignment_closes_nothing_and_publishes_nothing(case, steward):
    services.assign(case, by=steward, assignee=steward)

    assert not Event.objects.filter(type="hub.case.resolved").exists()


def test_a_reject_that_rolled_back_publishes_nothing(case, steward):
    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), transaction.atomic():
        services.reject(case, by=steward, reason="Not ours")
        raise Abandoned

    assert QuarantineCase.objects.get().status == "open"
    assert not Event.objects.filter(type="hub.case.resolved").exists()


def test_a_stewards_steps_on_a_supply_exception_are_published(steward, world, late_ack):  # noqa: F811
    exception = SupplyException.objects.get()
    order = f"PO:{world.supplier.public_id}:{OPEN_PO}"

    supply.acknowledge(exception, by=steward, note="Asking Kugelmann for a split delivery")
    supply.close(exception, by=steward, note="Volume moved to the second source")

    changed = only("hub.supply_exception.changed")
    closed = only("hub.supply_exception.closed")
    for event in (changed, closed):
        assert (event.subject, event.partition_key) == (str(exception.pk), order)
        assert event.facts["supplier"] == world.supplier.public_id
        assert event.data["quantity_at_risk"] == "150"
    assert changed.data["step"] == {
        "name": "acknowledged",
        "by": "stella.steward",
        "note": "Asking Kugelmann for a split delivery",
    }
    assert (changed.data["state"], closed.data["state"]) == ("open", "closed")
    assert closed.data["step"]["note"] == "Volume moved to the second source"
    assert changed.number < closed.number


def test_a_refused_close_publishes_nothing(steward, world, late_ack):  # noqa: F811
    exception = SupplyException.objects.get()
    supply.close(exception, by=steward, note="Settled")

    with pytest.raises(supply.SupplyConflict):
        supply.close(exception, by=steward, note="Again")

    assert only("hub.supply_exception.closed").data["step"]["note"] == "Settled"
