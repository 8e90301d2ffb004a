"""A merged record's id keeps working over the API (issue 19): its detail URL answers with the
record it was merged into, lists leave it out unless asked, and it cannot be changed or
deleted there. The records are marked merged by hand here; tests/xref/test_merging.py merges
them the real way."""

import pytest

from mdm.models import Item, Location, Supplier, Unit

pytestmark = pytest.mark.django_db


def make(kind, n):
    if kind == "items":
        unit = Unit.objects.get_or_create(code="H87", defaults={"name": "piece"})[0]
        return Item.objects.create(
            number=f"I{n}", description=f"Bolt {n}", base_unit=unit, item_type="component"
        )
    if kind == "suppliers":
        return Supplier.objects.create(number=f"V{n}", name=f"Acme {n}", country="DE")
    return Location.objects.create(code=f"L{n}", name=f"Plant {n}", kind="plant", country="DE")


def merged(loser, survivor):
    type(loser).objects.filter(pk=loser.pk).update(merged_into=survivor.public_id)


@pytest.mark.parametrize("kind", ["items", "suppliers", "locations"])
def test_a_merged_records_url_answers_with_the_record_it_was_merged_into(kind, viewer_api):
    survivor, loser, older = make(kind, 1), make(kind, 2), make(kind, 3)
    merged(loser, survivor)
    merged(older, loser)  # merged into the loser before the loser was merged: a chain

    for asked in (loser, older):
        response = viewer_api.get(f"/api/v1/{kind}/{asked.public_id}/")

        assert response.status_code == 200
        body = response.json()
        assert (body["public_id"], body["merged_into"]) == (survivor.public_id, None)
        assert body["merged_from"] == asked.public_id
        assert response["Content-Location"] == (
            f"http://testserver/api/v1/{kind}/{survivor.public_id}/"
        )
    live = viewer_api.get(f"/api/v1/{kind}/{survivor.public_id}/")
    assert "merged_from" not in live.json() and "Content-Location" not in live


def test_lists_leave_merged_records_out_unless_asked(viewer_api):
    survivor, loser = make("suppliers", 1), make("suppliers", 2)
    merged(loser, survivor)

    listed = viewer_api.get("/api/v1/suppliers/").json()["results"]
    everything = viewer_api.get("/api/v1/suppliers/?include_merged=true").json()["results"]

    assert [row["public_id"] for row in listed] == [survivor.public_id]
    assert {row["public_id"]: row["merged_into"] for row in everything} == {
        survivor.public_id: None,
        loser.public_id: survivor.public_id,
    }


def test_a_merged_record_is_not_changed_or_deleted_over_the_api(steward_api):
    survivor, loser = make("suppliers", 1), make("suppliers", 2)
    merged(loser, survivor)
    url = f"/api/v1/suppliers/{loser.public_id}/"

    changed = steward_api.patch(url, {"name": "Renamed"}, format="json")
    deleted = steward_api.delete(url)

    for response in (changed, deleted):
        assert response.status_code == 409
        assert response.json()["detail"] == (
            f"{loser.public_id} was merged into {survivor.public_id}; "
            f"change {survivor.public_id} instead."
        )
    loser.refresh_from_db()
    assert loser.name == "Acme 2"


def test_merged_into_cannot_be_written_over_the_api(steward_api):
    supplier = make("suppliers", 1)
    other = make("suppliers", 2)

    response = steward_api.patch(
        f"/api/v1/suppliers/{supplier.public_id}/",
        {"merged_into": other.public_id, "name": "Acme One"},
        format="json",
    )

    assert response.status_code == 200
    supplier.refresh_from_db()
    assert (supplier.name, supplier.merged_into) == ("Acme One", "")


def test_a_cycle_of_merges_is_a_conflict_not_an_error(viewer_api):
    one, two = make("suppliers", 1), make("suppliers", 2)
    merged(one, two)
    merged(two, one)  # only by hand: xref.merging never merges into a merged record

    response = viewer_api.get(f"/api/v1/suppliers/{one.public_id}/")

    assert response.status_code == 409
    assert "make a cycle" in response.json()["detail"]
