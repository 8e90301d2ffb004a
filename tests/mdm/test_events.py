"""The events master data publishes (mdm.events): for every save of an item, supplier or
location, created or changed (with the fields that changed), and status_changed beside a
change of status; in the save's transaction, so none of a save that rolled back."""

import pytest
from django.db import transaction
from django.urls import reverse

from events.models import Event
from mdm.models import Item, Location, Supplier, Unit
from tests.mdm.test_admin import _submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def units(db):
    return {code: Unit.objects.create(code=code, name=code.lower()) for code in ("H87", "KGM")}


@pytest.fixture
def bolt(units):
    return Item.objects.create(
        number="BOLT-M8",
        description="Hex bolt M8",
        base_unit=units["H87"],
        item_type=Item.Type.COMPONENT,
    )


def events_of(public_id):
    return list(Event.objects.filter(subject=public_id).order_by("number"))


def test_a_new_item_is_published_as_created_with_its_values(bolt):
    (event,) = events_of(bolt.public_id)

    assert event.type == "hub.item.created"
    assert (event.subject, event.partition_key) == (bolt.public_id, bolt.public_id)
    assert event.facts == {"item": bolt.public_id}
    assert event.data["id"] == bolt.public_id
    assert event.data["record"]["number"] == "BOLT-M8"
    assert event.data["record"]["base_unit"] == "H87"
    assert event.data["record"]["status"] == "active"
    assert "description" in event.data["fields"]


def test_a_change_names_the_fields_it_changed(bolt):
    bolt.description = "Hex bolt ISO 4017 M8x40"
    bolt.mpn = "BT-4017"
    bolt.save()

    created, changed = events_of(bolt.public_id)
    assert changed.type == "hub.item.changed"
    assert changed.data["fields"] == ["description", "mpn"]
    assert changed.data["record"]["description"] == "Hex bolt ISO 4017 M8x40"


def test_a_status_change_is_published_beside_the_change(bolt):
    bolt.status = Item.Status.OBSOLETE
    bolt.save()

    _, changed, status = events_of(bolt.public_id)
    assert changed.type == "hub.item.changed"
    assert changed.data["fields"] == ["status"]
    assert status.type == "hub.item.status_changed"
    assert status.data == {"id": bolt.public_id, "old_status": "active", "new_status": "obsolete"}
    assert status.partition_key == bolt.public_id


def test_a_save_that_changes_nothing_publishes_nothing(bolt):
    Item.objects.get(pk=bolt.pk).save()

    assert [e.type for e in events_of(bolt.public_id)] == ["hub.item.created"]


def test_nothing_is_published_of_a_save_that_rolled_back(bolt):
    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), transaction.atomic():
        bolt.status = Item.Status.BLOCKED
        bolt.save()
        Supplier.objects.create(number="S-1", name="Acme", country="DE")
        raise Abandoned

    assert [e.type for e in events_of(bolt.public_id)] == ["hub.item.created"]
    assert not Event.objects.filter(type__startswith="hub.supplier.").exists()


def test_suppliers_and_plants_are_published_with_their_facts(db):
    acme = Supplier.objects.create(number="S-1", name="Acme", country="DE")
    plant = Location.objects.create(code="P1", name="Plant 1", kind="plant", country="DE")
    dock = Location.objects.create(
        code="P1-GR", name="Dock", kind="ship_to", country="DE", parent=plant
    )

    assert events_of(acme.public_id)[0].facts == {"supplier": acme.public_id}
    assert events_of(plant.public_id)[0].facts == {"plant": plant.public_id}
    (event,) = events_of(dock.public_id)
    assert (event.type, event.facts) == ("hub.location.created", {})
    assert event.data["record"]["parent"] == plant.public_id


def test_the_api_publishes_a_stewards_create_and_change(steward_api, units):
    response = steward_api.post(
        "/api/v1/items/",
        {
            "number": "NUT-M8",
            "description": "Hex nut M8",
            "base_unit": "H87",
            "item_type": "component",
        },
        format="json",
    )
    assert response.status_code == 201
    public_id = response.json()["public_id"]

    response = steward_api.patch(
        f"/api/v1/items/{public_id}/", {"status": "blocked"}, format="json"
    )
    assert response.status_code == 200

    assert [e.type for e in events_of(public_id)] == [
        "hub.item.created",
        "hub.item.changed",
        "hub.item.status_changed",
    ]


def test_the_admin_publishes_a_stewards_change(client, steward, bolt):
    client.force_login(steward)
    url = reverse("admin:mdm_item_change", args=[bolt.pk])
    data = _submitted(client.get(url))
    data["description"] = "Hex bolt M8, zinc plated"

    response = client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    changed = events_of(bolt.public_id)[-1]
    assert (changed.type, changed.data["fields"]) == ("hub.item.changed", ["description"])
