"""The API's door: a write a policy says needs approval answers 202 Accepted with the change
request it became and writes nothing; the reason comes in the X-Change-Reason header, and
without it the answer is a 400 saying so. Only another approver applies the request.
Without a policy the API writes at once, as it always did."""

import datetime

import pytest
from rest_framework.test import APIClient

from changes.models import ApprovalPolicy, ChangeRequest
from mdm.models import CalendarException, Supplier
from xref.models import CrossReference

pytestmark = pytest.mark.django_db

REASON = "Gone's orders go to Kugelmann since the takeover"


def api_of(user):
    api = APIClient()
    api.force_login(user)
    return api


def stored(record):
    return type(record).objects.filter(pk=record.pk).values().get()


def remap(api, reference, supplier, reason=REASON):
    headers = {"X-Change-Reason": reason} if reason is not None else {}
    body = {"target": supplier.public_id, "is_preferred": False}
    return api.patch(f"/api/v1/xrefs/{reference.pk}/", body, format="json", headers=headers)


def test_a_remap_answers_202_with_the_request_and_writes_nothing(
    steward, world, erp_policy, old_code
):
    before, count = stored(old_code), CrossReference.objects.count()

    response = remap(api_of(steward), old_code, world.supplier)

    assert response.status_code == 202, response.json()
    change = ChangeRequest.objects.get()
    assert response["Location"] == f"/api/v1/change-requests/{change.pk}/"
    body = response.json()
    assert (body["number"], body["status"], body["source"]) == (change.number, "open", "api")
    assert (body["reason"], body["requested_by"]) == (REASON, "stella.steward")
    [item] = body["items"]
    assert (item["action"], item["object_id"]) == ("update", str(old_code.pk))
    assert {c["field"]: (c["before"], c["after"]) for c in item["changes"]} == {
        "supplier": ("S-100999 Gone", "S-100234 Kugelmann"),
        "preferred": ("yes", "no"),
    }
    assert (CrossReference.objects.count(), stored(old_code)) == (count, before)


def test_without_the_reason_header_it_is_a_400_and_nothing_is_asked(
    steward, world, erp_policy, old_code
):
    before = stored(old_code)

    response = remap(api_of(steward), old_code, world.supplier, reason=None)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"] == (
        "This change needs another person's approval (ERP codes drive procurement): say why "
        "it is made in the X-Change-Reason header. Nothing was changed."
    )
    assert problem["errors"] == [
        {"parameter": "X-Change-Reason", "detail": "Say why the change is made."}
    ]
    assert not ChangeRequest.objects.exists()
    assert stored(old_code) == before


def test_a_reason_sent_as_utf8_is_read_as_utf8(steward, world, erp_policy, old_code):
    # WSGI hands a header's bytes over as Latin-1 text.
    sent = "Übernahme durch Kugelmann".encode().decode("latin-1")

    assert remap(api_of(steward), old_code, world.supplier, reason=sent).status_code == 202

    assert ChangeRequest.objects.get().reason == "Übernahme durch Kugelmann"


def test_the_requester_gets_a_403_and_another_approver_applies_it(
    steward, approver, world, erp_policy, old_code
):
    steward.groups.add(approver.groups.get(name="approver"))  # the permission is not enough
    asked = remap(api_of(steward), old_code, world.supplier).json()
    url = f"/api/v1/change-requests/{asked['id']}/approve/"

    refused = api_of(steward).post(url, {}, format="json")

    assert refused.status_code == 403
    assert "another person must review it" in refused.json()["detail"]
    assert CrossReference.objects.get(pk=old_code.pk).supplier == world.gone_supplier

    approved = api_of(approver).post(url, {"comment": "Checked"}, format="json")

    assert approved.status_code == 200, approved.json()
    assert (approved.json()["status"], approved.json()["decided_by"]) == (
        "applied",
        "arno.approver",
    )
    reference = CrossReference.objects.get(pk=old_code.pk)
    assert (reference.supplier, reference.is_preferred) == (world.supplier, False)
    assert reference.history.first().history_user == approver


def test_a_new_reference_is_held_and_registered_in_the_requester_s_name(
    steward, approver, world, erp_policy
):
    frontier = Supplier.objects.create(number="S-100300", name="Frontier Bearing", country="DE")
    body = {"system": "ERP_LEGACY", "kind": "supplier", "code": "100300"}
    body["target"] = frontier.public_id
    count = CrossReference.objects.count()

    response = api_of(steward).post(
        "/api/v1/xrefs/", body, format="json", headers={"X-Change-Reason": "New supplier"}
    )

    assert response.status_code == 202, response.json()
    assert CrossReference.objects.count() == count
    [item] = response.json()["items"]
    assert (
        item["label"]
        == f"ERP_LEGACY supplier code 100300 -> Frontier Bearing ({frontier.public_id})"
    )

    api_of(approver).post(f"{response['Location']}approve/", {}, format="json")

    created = CrossReference.objects.get(system__code="ERP_LEGACY", code="100300")
    assert (created.supplier, created.origin, created.created_by) == (frontier, "api", steward)
    assert created.history.get().history_user == approver


def test_a_mapping_registered_already_or_a_clash_is_answered_as_ever(steward, world, erp_policy):
    api = api_of(steward)
    again = {"system": "ERP_LEGACY", "kind": "supplier", "code": "100234"}

    same = api.post("/api/v1/xrefs/", {**again, "target": world.supplier.public_id}, format="json")
    clash = api.post(
        "/api/v1/xrefs/", {**again, "target": world.gone_supplier.public_id}, format="json"
    )

    assert same.status_code == 200
    assert clash.status_code == 409
    assert not ChangeRequest.objects.exists()


def test_a_deletion_is_held_and_applied_on_approval(steward, approver, world, erp_policy, old_code):
    response = api_of(steward).delete(
        f"/api/v1/xrefs/{old_code.pk}/", headers={"X-Change-Reason": "Gone is gone"}
    )

    assert response.status_code == 202
    assert CrossReference.objects.filter(pk=old_code.pk).exists()

    api_of(approver).post(f"{response['Location']}approve/", {}, format="json")

    assert not CrossReference.objects.filter(pk=old_code.pk).exists()


def test_without_a_policy_the_api_writes_at_once_as_before(steward, world, old_code):
    response = remap(api_of(steward), old_code, world.supplier, reason=None)

    assert response.status_code == 200
    assert CrossReference.objects.get(pk=old_code.pk).supplier == world.supplier
    assert not ChangeRequest.objects.exists()


def test_a_policy_on_supplier_status_holds_a_status_change_and_not_a_rename(steward, world):
    ApprovalPolicy.objects.create(kind="mdm.supplier", fields=["status"])
    api, url = api_of(steward), f"/api/v1/suppliers/{world.supplier.public_id}/"
    headers = {"X-Change-Reason": "Quality audit failed"}

    renamed = api.patch(url, {"name": "Kugelmann Wälzlager"}, format="json")
    blocked = api.patch(url, {"status": "blocked"}, format="json", headers=headers)

    assert renamed.status_code == 200
    assert blocked.status_code == 202
    supplier = Supplier.objects.get(pk=world.supplier.pk)
    assert (supplier.name, supplier.status) == ("Kugelmann Wälzlager", "active")
    assert ChangeRequest.objects.get().items.get().after == {"status": "blocked"}


def test_a_nested_record_is_held_with_its_parent_and_created_there_on_approval(
    steward, approver, world
):
    ApprovalPolicy.objects.create(kind="mdm.calendarexception", note="Plant calendars")
    url = f"/api/v1/calendars/{world.calendar.public_id}/exceptions/"
    shutdown = {"start": "2026-12-24", "end": "2027-01-01", "reason": "Winter shutdown"}

    response = api_of(steward).post(
        url, shutdown, format="json", headers={"X-Change-Reason": "Agreed with the works council"}
    )

    assert response.status_code == 202, response.json()
    assert world.calendar.exceptions.count() == 1  # the world's stocktaking day only
    [item] = response.json()["items"]
    assert item["label"] == (
        f"Winter shutdown, closed 2026-12-24 to 2027-01-01, in Hamburg plant "
        f"({world.calendar.public_id})"
    )
    assert item["after"]["calendar"] == world.calendar.pk

    api_of(approver).post(f"{response['Location']}approve/", {}, format="json")

    created = CalendarException.objects.get(reason="Winter shutdown")
    assert (created.calendar, created.start, created.end) == (
        world.calendar,
        datetime.date(2026, 12, 24),
        datetime.date(2027, 1, 1),
    )
