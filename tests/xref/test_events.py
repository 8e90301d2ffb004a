"""The events cross-references publish (xref.events): a reference created, changed or
retired, a record merged, each once and in its transaction; and a subscriber's own codes for
the canonical ids of any event (the function xref registers with the outbox)."""

import datetime as dt

import pytest
from django.db import transaction

from events.documents import document_for
from events.models import Event, Subscription
from events.outbox import emit
from xref.merging import merge
from xref.models import CrossReference
from xref.services import register_reference, retire_reference, update_reference

pytestmark = pytest.mark.django_db


def xref_events():
    return list(Event.objects.filter(type__startswith="hub.xref.").order_by("number"))


def register(world, code="100234", target=None, system=None, **fields):
    reference, _ = register_reference(
        kind="item",
        system=system or world.legacy,
        code=code,
        target=target or world.bolt,
        **fields,
    )
    return reference


def test_a_new_reference_is_published_under_its_record(world):
    reference = register(world, is_preferred=True)

    (event,) = xref_events()
    assert event.type == "hub.xref.created"
    assert (event.subject, event.partition_key) == (world.bolt.public_id, world.bolt.public_id)
    assert event.facts == {"system": "ERP_LEGACY", "item": world.bolt.public_id}
    assert event.data["reference"] == reference.pk
    assert (event.data["system"], event.data["kind"], event.data["code"]) == (
        "ERP_LEGACY",
        "item",
        "100234",
    )
    assert (event.data["target"], event.data["is_preferred"]) == (world.bolt.public_id, True)


def test_registering_it_again_publishes_nothing_more(world):
    register(world)
    register(world)

    assert [e.type for e in xref_events()] == ["hub.xref.created"]


def test_a_change_names_what_changed(world):
    reference = register(world)

    update_reference(reference, is_preferred=True, scope="1000")

    created, changed = xref_events()
    assert changed.type == "hub.xref.changed"
    assert changed.data["fields"] == ["scope", "is_preferred"]
    assert changed.data["scope"] == "1000"


def test_a_reference_withdrawn_or_ended_is_published_as_retired(world):
    withdrawn = register(world, code="A")
    ended = register(world, code="B", target=world.nut)

    retire_reference(withdrawn)
    retire_reference(ended, on_date=dt.date(2026, 7, 1))

    retired = [e for e in xref_events() if e.type == "hub.xref.retired"]
    assert [(e.data["code"], e.data["status"], e.data["valid_to"]) for e in retired] == [
        ("A", "retired", None),
        ("B", "active", "2026-07-01"),
    ]
    assert retired[1].subject == world.nut.public_id


def test_nothing_is_published_of_a_registration_that_rolled_back(world):
    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), transaction.atomic():
        register(world)
        raise Abandoned

    assert not CrossReference.objects.exists()
    assert xref_events() == []


def test_a_merge_is_published_once_and_its_moved_references_are_not(world, steward):
    register(world, code="BOLT-LEGACY", target=world.nut)
    before = len(xref_events())

    done = merge("item", world.bolt.public_id, world.nut.public_id, user=steward)

    event = Event.objects.get(type="hub.item.merged")
    assert (event.subject, event.partition_key) == (world.nut.public_id, world.nut.public_id)
    assert event.data == {
        "kind": "item",
        "survivor": world.bolt.public_id,
        "loser": world.nut.public_id,
        "merge": done.pk,
        "references": 1,
    }
    assert event.facts == {"item": world.bolt.public_id}
    assert len(xref_events()) == before  # the moved reference is told by the merge
    # The loser's own save says it became obsolete.
    status = Event.objects.get(type="hub.item.status_changed", subject=world.nut.public_id)
    assert status.data["new_status"] == "obsolete"


def test_a_subscriber_gets_its_own_codes_for_the_ids_an_event_names(world):
    register(world, code="100234", is_preferred=True)
    register(world, code="PL-BOLT", system=world.planning)
    register(world, code="OLD-BOLT", system=world.planning, valid_to=dt.date(2020, 1, 1))
    register_reference(kind="supplier", system=world.legacy, code="V1", target=world.acme)
    with transaction.atomic():
        event = emit(
            "hub.test.happened",
            world.bolt.public_id,
            {"item": world.bolt.public_id, "lines": [{"supplier": world.acme.public_id}]},
        )
    erp = Subscription(name="erp", consumer="ERP_LEGACY", mode="pull")
    planning = Subscription(name="planning", consumer="PLANNING", mode="pull")
    stranger = Subscription(name="stranger", consumer="NOBODY", mode="pull")

    assert document_for(event, erp)["data"]["codes"] == {
        world.bolt.public_id: "100234",
        world.acme.public_id: "V1",
    }
    assert document_for(event, planning)["data"]["codes"] == {world.bolt.public_id: "PL-BOLT"}
    assert "codes" not in document_for(event, stranger)["data"]


def test_an_id_with_several_codes_and_none_preferred_gets_none(world):
    register(world, code="X1", scope="1000")
    register(world, code="X2", scope="2000")
    with transaction.atomic():
        event = emit(
            "hub.test.happened", "ITM-999999", {"ids": [world.bolt.public_id, "ITM-999999"]}
        )

    assert "codes" not in document_for(event, Subscription(consumer="ERP_LEGACY"))["data"]
