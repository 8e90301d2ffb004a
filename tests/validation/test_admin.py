"""Rules and messages in the admin: stewards disable a rule or change its severity, with
history; messages and their outcome are read only."""

from unittest import mock

import pytest

from validation import enqueue
from validation.models import PlanPolicy, Rule
from validation.submission import submit_message

from .world import example

pytestmark = pytest.mark.django_db

SEEDED = {
    "XREF_UNRESOLVED",
    "ITEM_OBSOLETE",
    "ITEM_BLOCKED",
    "REVISION_OBSOLETE",
    "SUPPLIER_INACTIVE",
    "SUPPLIER_SITE_INACTIVE",
    "SHIP_TO_INVALID",
    "FORECAST_LOCATION_NOT_PLANT",
    "UNIT_NOT_CONVERTIBLE",
    "NOT_A_WORKING_DAY",
    "QUANTITY_INVALID",
    "NO_TARGET_CODE",
}


@pytest.fixture
def steward_client(client, steward):
    client.force_login(steward)
    return client


def test_the_rules_are_seeded_with_a_severity_and_a_team():
    rules = {rule.code: rule for rule in Rule.objects.all()}
    assert set(rules) >= SEEDED
    assert rules["NO_TARGET_CODE"].severity == "warning"
    assert rules["XREF_UNRESOLVED"].severity == "error"
    assert all(rule.enabled and rule.description and rule.team for rule in rules.values())


def test_a_steward_changes_a_rules_severity_with_history(steward_client, steward):
    rule = Rule.objects.get(code="NOT_A_WORKING_DAY")
    response = steward_client.post(
        f"/admin/validation/rule/{rule.pk}/change/",
        {
            "severity": "warning",
            "team": "planning",
            "enabled": "on",
            "description": rule.description,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rule.refresh_from_db()
    assert rule.severity == "warning"
    latest = rule.history.first()
    assert (latest.severity, latest.history_user, latest.change_source) == (
        "warning",
        steward,
        "admin",
    )


def test_a_steward_disables_a_rule_but_cannot_rename_add_or_delete_one(steward_client):
    rule = Rule.objects.get(code="ITEM_BLOCKED")
    steward_client.post(
        f"/admin/validation/rule/{rule.pk}/change/",
        {"code": "RENAMED", "severity": "error", "team": "erp", "description": "x"},
    )
    rule.refresh_from_db()
    assert (rule.code, rule.enabled, rule.team) == ("ITEM_BLOCKED", False, "erp")
    assert steward_client.get("/admin/validation/rule/add/").status_code == 403
    assert steward_client.get(f"/admin/validation/rule/{rule.pk}/delete/").status_code == 403


def test_operators_read_a_message_with_its_error_in_the_admin(steward_client, erp_system):
    with mock.patch.object(enqueue, "enqueue_validation"):
        message = submit_message(
            system=erp_system,
            message_type="receipt",
            schema_version=1,
            payload=example("receipt"),
            idempotency_key="k",
        ).message
    message.status, message.last_error = "dead_letter", "OperationalError: gone"
    message.save()

    listing = steward_client.get("/admin/validation/inboundmessage/?status=dead_letter")
    assert listing.status_code == 200
    assert "OperationalError: gone" in listing.content.decode()
    page = steward_client.get(f"/admin/validation/inboundmessage/{message.pk}/change/")
    assert page.status_code == 200
    assert "GR-5000001" in page.content.decode()
    assert steward_client.get("/admin/validation/inboundmessage/add/").status_code == 403


def test_the_business_controls_are_rules_stewards_see_and_configure(steward_client, steward):
    rule = Rule.objects.get(code="OVER_SHIPMENT")
    assert rule.tolerance_percent == 5
    listing = steward_client.get("/admin/validation/rule/").content.decode()
    for code in ("STALE_FORECAST_VERSION", "FROZEN_FENCE_CHANGE", "UNKNOWN_PO", "OVER_SHIPMENT"):
        assert code in listing

    response = steward_client.post(
        f"/admin/validation/rule/{rule.pk}/change/",
        {
            "severity": "error",
            "team": "procurement",
            "enabled": "on",
            "tolerance_percent": "12.5",
            "description": rule.description,
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    rule.refresh_from_db()
    assert str(rule.tolerance_percent) == "12.50"
    assert rule.history.first().history_user == steward


def test_a_planner_sets_a_plans_policy_in_the_admin(steward_client, planning_system):
    response = steward_client.post(
        "/admin/validation/planpolicy/add/",
        {
            "system": planning_system.pk,
            "plan_id": "S&OP-2026-03",
            "horizon_weeks": "12",
            "frozen_fence_days": "14",
            "change_threshold_percent": "5",
            "change_threshold_quantity": "20",
            "notes": "",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    policy = PlanPolicy.objects.get()
    assert (policy.horizon_weeks, policy.frozen_fence_days) == (12, 14)
    assert policy.history.first().change_source == "admin"
    listing = steward_client.get("/admin/validation/planpolicy/").content.decode()
    assert "S&amp;OP-2026-03" in listing
