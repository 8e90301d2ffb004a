"""API v1 of quarantine cases: the queue's filters, reads by role, and the actions."""

import pytest

from mdm.services import create_api_client
from quarantine.models import QuarantineCase
from tests.quarantine.test_cases import SHIP_NOTICE, quarantine
from tests.validation.world import integration_client

pytestmark = pytest.mark.django_db

CASES = "/api/v1/quarantine/cases/"


@pytest.fixture
def case(erp_system):
    quarantine(erp_system)
    return QuarantineCase.objects.get()


def test_it_lists_cases_with_the_queue_filters(case, steward_api, planning_system):
    quarantine(planning_system, payload=dict(SHIP_NOTICE, shipment_id="ASN-P"))

    body = steward_api.get(CASES, {"system": "ERP_LEGACY", "rule": "ITEM_OBSOLETE"}).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["id"] == case.pk
    assert row["message"] == case.message.public_id
    assert row["rules"] == ["ITEM_OBSOLETE", "XREF_UNRESOLVED"]
    assert row["status"] == "open"
    assert steward_api.get(CASES, {"q": "asn-p"}).json()["count"] == 1
    assert steward_api.get(CASES, {"age": "older"}).json()["count"] == 0


def test_an_integration_client_reads_only_its_own_systems_cases(case, planning_system, erp_api):
    quarantine(planning_system, payload=dict(SHIP_NOTICE, shipment_id="ASN-P"))
    assert erp_api.get(CASES).json()["count"] == 1
    planning = integration_client("PLANNING", "planning-sync")
    assert [r["system"] for r in planning.get(CASES).json()["results"]] == ["PLANNING"]
    assert planning.get(f"{CASES}{case.pk}/").status_code == 404


def test_it_shows_a_case_with_diagnostics_and_transitions(case, viewer_api):
    body = viewer_api.get(f"{CASES}{case.pk}/").json()
    assert body["message_status"] == "quarantined"
    assert len(body["diagnostics"]) == 3
    assert body["transitions"][0]["to_status"] == "open"


def test_a_viewer_and_an_integration_client_cannot_act(case, viewer_api, erp_api):
    for api in (viewer_api, erp_api):
        assert api.post(f"{CASES}{case.pk}/reject/", {"reason": "x"}).status_code == 403


def test_reject_needs_a_reason_and_a_second_reject_is_a_conflict(case, steward_api):
    assert steward_api.post(f"{CASES}{case.pk}/reject/", {}).status_code == 400
    response = steward_api.post(f"{CASES}{case.pk}/reject/", {"reason": "duplicate"})
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    again = steward_api.post(f"{CASES}{case.pk}/reject/", {"reason": "duplicate"})
    assert again.status_code == 409
    assert again.json()["detail"].startswith(f"Case {case.pk} was already rejected by api:")


def test_release_needs_the_override_permission(case, steward_api, erp_system):
    assert steward_api.post(f"{CASES}{case.pk}/release/", {"reason": "ok"}).status_code == 403
    client, key = create_api_client("ERP_LEGACY", "erp-override", role="steward")
    from django.contrib.auth.models import Group

    client.user.groups.add(Group.objects.get(name="override"))
    steward_api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = steward_api.post(f"{CASES}{case.pk}/release/", {"reason": "ok"})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "released_by_override"


def test_replay_from_the_api(case, steward_api):
    from unittest import mock

    from validation import enqueue

    with mock.patch.object(enqueue, "enqueue_validation"):
        response = steward_api.post(f"{CASES}{case.pk}/replay/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["replay_pending"] is True
    conflict = steward_api.post(f"{CASES}{case.pk}/replay/", {}, format="json")
    assert conflict.status_code == 409
