"""Merging through the API (issue 19, items 4 and 5): the survivorship proposal, a merge with
a picked value and the reason in the records' history, the loser's URL and codes answering
with the survivor, unmerge, the list of merges, bad requests that change nothing, and who
may do what."""

import pytest

from mdm.models import Supplier
from tests.problems import problem_of
from xref.models import CrossReference, Merge

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _eager(eager_celery):
    pass


@pytest.fixture
def acme_twice(systems):
    """Acme Fasteners onboarded twice: the first known to ERP_LEGACY and PLANNING, the second
    (with a legal form in its name and a DUNS number) to ERP_CLOUD; and Globex."""
    acme = Supplier.objects.create(number="V1", name="Acme Fasteners", country="DE")
    again = Supplier.objects.create(
        number="V2", name="ACME Fasteners GmbH", country="DE", duns="150483782"
    )
    globex = Supplier.objects.create(number="V3", name="Globex Components", country="DE")
    for system, code, record in (
        (systems.legacy, "L-100", acme),
        (systems.planning, "P-100", acme),
        (systems.cloud, "C-900", again),
    ):
        CrossReference.objects.create(kind="supplier", system=system, code=code, supplier=record)
    return acme, again, globex


def merge_url(public_id):
    return f"/api/v1/suppliers/{public_id}/merge/"


def propose(api, survivor, loser):
    response = api.get(merge_url(survivor.public_id), {"loser": loser.public_id})
    assert response.status_code == 200, response.content
    return response.json()


def test_the_proposal_gives_each_field_both_values_the_default_and_why(acme_twice, viewer_api):
    acme, again, _ = acme_twice

    body = propose(viewer_api, acme, again)

    assert (body["survivor"]["id"], body["loser"]["id"]) == (acme.public_id, again.public_id)
    assert body["survivor"]["references"] == 2
    assert body["survivor"]["url"].endswith(f"/api/v1/suppliers/{acme.public_id}/")
    fields = {f["field"]: f for f in body["fields"]}
    assert fields["name"] == {
        "field": "name",
        "label": "Name",
        "survivor": "Acme Fasteners",
        "loser": "ACME Fasteners GmbH",
        "default": "ACME Fasteners GmbH",
        "rule": f"{again.public_id}'s: the longer",
        "differs": True,
        "group": "name",
    }
    assert fields["duns"]["default"] == "150483782"  # the survivor has none
    assert fields["country"]["group"] == "vat"  # checked with the VAT number: one record's
    assert fields["country"]["differs"] is False
    assert set(body["seen"]) == {acme.public_id, again.public_id}
    assert body["seen"][again.public_id] == body["loser"]["updated_at"]


def test_a_steward_merges_keeping_the_survivors_name_and_the_loser_answers_with_it(
    acme_twice, steward_api, systems
):
    acme, again, _ = acme_twice
    seen = propose(steward_api, acme, again)["seen"]

    response = steward_api.post(
        merge_url(acme.public_id),
        {
            "loser": again.public_id,
            "values": {"name": "Acme Fasteners"},
            "reason": "One company, onboarded from two ERPs.",
            "seen": seen,
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    merge = Merge.objects.get()
    assert body["id"] == merge.pk
    assert (body["kind"], body["survivor"], body["loser"]) == (
        "supplier",
        acme.public_id,
        again.public_id,
    )
    assert (body["survivor_name"], body["loser_name"]) == ("Acme Fasteners", "ACME Fasteners GmbH")
    assert body["taken_from_loser"] == ["duns"]  # the name was picked from the survivor
    assert body["moved"] == {"xref.crossreference": 1}
    assert body["merged_by"] == "api:erp-steward"
    assert body["reason"] == "One company, onboarded from two ERPs."
    assert body["undone_at"] is None
    acme.refresh_from_db()
    assert (acme.name, acme.duns) == ("Acme Fasteners", "150483782")
    # The loser's URL and its ERP code answer with the survivor.
    old = steward_api.get(f"/api/v1/suppliers/{again.public_id}/")
    assert (old.json()["public_id"], old.json()["merged_from"]) == (acme.public_id, again.public_id)
    resolved = steward_api.get(
        "/api/v1/resolve/supplier/", {"system": "ERP_CLOUD", "code": "C-900"}
    )
    assert resolved.json()["id"] == acme.public_id
    # Both records' history names who merged and why.
    for record in (acme, again):
        entry = Supplier.history.filter(id=record.pk).order_by("-history_date").first()
        assert entry.history_user.username == "api:erp-steward"
        assert entry.history_change_reason == (
            f"Merge #{merge.pk}: {again.public_id} merged into {acme.public_id}: "
            "One company, onboarded from two ERPs."
        )


def test_a_merge_of_records_changed_since_the_proposal_is_a_409_and_changes_nothing(
    acme_twice, steward_api
):
    acme, again, _ = acme_twice
    seen = propose(steward_api, acme, again)["seen"]
    again.name = "ACME Fasteners GmbH & Co. KG"
    again.save()

    response = steward_api.post(
        merge_url(acme.public_id), {"loser": again.public_id, "seen": seen}, format="json"
    )

    problem = problem_of(response, 409)
    assert problem["detail"].startswith(f"{again.public_id} was changed")
    assert "compare the records again" in problem["detail"]
    again.refresh_from_db()
    assert again.merged_into == ""
    assert not Merge.objects.exists()


def test_a_merge_into_itself_across_kinds_or_of_a_list_is_a_400(acme_twice, steward_api, items):
    acme, again, _ = acme_twice

    itself = steward_api.post(merge_url(acme.public_id), {"loser": acme.public_id}, format="json")
    across = steward_api.post(
        merge_url(acme.public_id), {"loser": items.bolt.public_id}, format="json"
    )
    nothing = steward_api.post(merge_url(acme.public_id), {}, format="json")
    listed = steward_api.post(
        merge_url(acme.public_id),
        {"loser": again.public_id, "values": {"name": ["Acme"]}},
        format="json",
    )

    assert problem_of(itself, 400)["detail"] == f"{acme.public_id} cannot be merged into itself."
    assert "is an item, not a supplier" in problem_of(across, 400)["detail"]
    assert problem_of(nothing, 400)["errors"][0]["pointer"] == "#/loser"
    assert problem_of(listed, 400)["errors"][0]["pointer"] == "#/values"
    assert not Merge.objects.exists()


def test_a_merge_into_a_merged_record_is_a_409_naming_the_record_to_merge_into(
    acme_twice, steward_api
):
    acme, again, globex = acme_twice
    steward_api.post(merge_url(acme.public_id), {"loser": again.public_id}, format="json")

    response = steward_api.post(
        merge_url(again.public_id), {"loser": globex.public_id}, format="json"
    )
    proposal = steward_api.get(merge_url(again.public_id), {"loser": globex.public_id})

    for answer in (response, proposal):
        detail = problem_of(answer, 409)["detail"]
        assert detail.startswith(f"{again.public_id} was merged into {acme.public_id}")
        assert detail.endswith(f"merge into {acme.public_id} instead.")
    globex.refresh_from_db()
    assert globex.merged_into == ""


def test_unmerge_restores_the_loser_and_its_codes(acme_twice, steward_api):
    acme, again, _ = acme_twice
    steward_api.post(merge_url(acme.public_id), {"loser": again.public_id}, format="json")

    response = steward_api.post(
        f"/api/v1/suppliers/{again.public_id}/unmerge/",
        {"reason": "Two legal entities after all."},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["undone_by"], body["undo_reason"]) == (
        "api:erp-steward",
        "Two legal entities after all.",
    )
    assert body["undone_at"] is not None
    again.refresh_from_db()
    acme.refresh_from_db()
    assert (again.merged_into, again.status, again.duns) == ("", "active", "150483782")
    assert (acme.name, acme.duns) == ("Acme Fasteners", "")
    own = steward_api.get(f"/api/v1/suppliers/{again.public_id}/").json()
    assert own["public_id"] == again.public_id and "merged_from" not in own
    resolved = steward_api.get(
        "/api/v1/resolve/supplier/", {"system": "ERP_CLOUD", "code": "C-900"}
    )
    assert resolved.json()["id"] == again.public_id
    entry = Supplier.history.filter(id=again.pk).order_by("-history_date").first()
    assert entry.history_change_reason.endswith(
        f"undone: {again.public_id} split from {acme.public_id}: Two legal entities after all."
    )
    twice = steward_api.post(f"/api/v1/suppliers/{again.public_id}/unmerge/", {}, format="json")
    assert problem_of(twice, 409)["detail"] == (
        f"{again.public_id} is not merged into another supplier; there is no merge to undo."
    )


def test_merges_are_listed_newest_first_by_kind_and_record(acme_twice, steward_api, viewer_api):
    acme, again, globex = acme_twice
    steward_api.post(merge_url(acme.public_id), {"loser": again.public_id}, format="json")
    steward_api.post(merge_url(acme.public_id), {"loser": globex.public_id}, format="json")

    listed = viewer_api.get("/api/v1/merges/").json()
    mine = viewer_api.get("/api/v1/merges/", {"record": again.public_id.lower()}).json()
    items = viewer_api.get("/api/v1/merges/", {"kind": "item"}).json()

    assert [m["loser"] for m in listed["results"]] == [globex.public_id, again.public_id]
    assert [m["loser"] for m in mine["results"]] == [again.public_id]
    assert items["count"] == 0
    bad = viewer_api.get("/api/v1/merges/", {"kind": "vendor"})
    assert problem_of(bad, 400)["errors"][0]["parameter"] == "kind"


def test_an_unknown_record_is_a_404_and_a_missing_loser_a_400(acme_twice, steward_api):
    acme, again, _ = acme_twice

    problem_of(steward_api.get(merge_url("SUP-999999"), {"loser": again.public_id}), 404)
    problem_of(steward_api.get(f"/api/v1/items/{acme.public_id}/merge/", {"loser": "x"}), 404)
    problem_of(steward_api.post("/api/v1/suppliers/SUP-999999/unmerge/", {}, format="json"), 404)
    unknown_loser = steward_api.post(
        merge_url(acme.public_id), {"loser": "SUP-999999"}, format="json"
    )
    assert problem_of(unknown_loser, 400)["detail"] == "No supplier SUP-999999."
    missing = problem_of(steward_api.get(merge_url(acme.public_id)), 400)
    assert missing["errors"] == [{"parameter": "loser", "detail": "This parameter is required."}]


def test_viewers_read_stewards_merge_and_integration_clients_have_no_access(
    acme_twice, viewer_api, erp_api, anonymous_api
):
    acme, again, _ = acme_twice
    body = {"loser": again.public_id}

    assert viewer_api.get(merge_url(acme.public_id), {"loser": again.public_id}).status_code == 200
    problem_of(viewer_api.post(merge_url(acme.public_id), body, format="json"), 403)
    problem_of(viewer_api.post(f"/api/v1/suppliers/{again.public_id}/unmerge/", {}), 403)
    problem_of(erp_api.get(merge_url(acme.public_id), {"loser": again.public_id}), 403)
    problem_of(erp_api.post(merge_url(acme.public_id), body, format="json"), 403)
    problem_of(erp_api.get("/api/v1/merges/"), 403)
    problem_of(anonymous_api.post(merge_url(acme.public_id), body, format="json"), 401)
    again.refresh_from_db()
    assert again.merged_into == ""
