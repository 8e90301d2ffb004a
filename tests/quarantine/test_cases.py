"""Quarantine cases: a quarantined message always has exactly one open case, routed to the
team of its first error, opened in the same transaction as the outcome."""

from unittest import mock

import pytest

from quarantine.models import CaseTransition, QuarantineCase
from validation import enqueue, pipeline, tasks
from validation.models import InboundMessage, Rule
from validation.signals import message_outcome
from validation.submission import submit_message

pytestmark = pytest.mark.django_db

SHIP_NOTICE = {
    "shipment_id": "ASN-1",
    "supplier": "SUP-NET-0042",
    "ship_date": "2026-03-16",
    "expected_delivery": "2026-03-19",
    "ship_to": "DE-HH-01",
    "lines": [
        {"po_number": "45001", "po_line": 10, "item": "6204-2RS", "quantity": 5, "unit": "PCE"},
        {"po_number": "45001", "po_line": 20, "item": "6205-ZZ", "quantity": 9, "unit": "PCE"},
    ],
}


def finding(rule, path, severity="error", team="procurement"):
    return {
        "rule": rule,
        "severity": severity,
        "team": team,
        "path": path,
        "value": "x",
        "message": f"{rule} at {path}",
        "suggestion": None,
    }


FINDINGS = [
    finding("NO_TARGET_CODE", "$.lines[0].item", severity="warning", team="integration"),
    finding("ITEM_OBSOLETE", "$.lines[1].item", team="procurement"),
    finding("XREF_UNRESOLVED", "$.ship_to", team="integration"),
]


def quarantine(system, diagnostics=FINDINGS, payload=SHIP_NOTICE, message_type="ship_notice"):
    with mock.patch.object(enqueue, "enqueue_validation"):
        message = submit_message(
            system=system,
            message_type=message_type,
            schema_version=1,
            payload=payload,
            idempotency_key=f"k{InboundMessage.objects.count()}",
        ).message
    outcome = pipeline.Outcome(status="quarantined", diagnostics=list(diagnostics))
    with mock.patch.object(pipeline, "evaluate", return_value=outcome):
        tasks.validate_message.delay(message.pk)
    message.refresh_from_db()
    return message


def test_a_quarantined_message_opens_one_case_for_the_team_of_its_first_error(erp_system):
    message = quarantine(erp_system)

    assert message.status == "quarantined"
    case = QuarantineCase.objects.get()
    assert case.message == message
    assert case.status == "open"
    assert case.is_open
    assert case.team == "procurement"  # ITEM_OBSOLETE, the first error (not the warning)
    assert case.diagnostics == FINDINGS
    assert case.rule_codes == ["ITEM_OBSOLETE", "XREF_UNRESOLVED"]
    assert sorted(case.rules.values_list("code", flat=True)) == case.rule_codes
    assert case.message_type == "ship_notice"
    assert case.system == erp_system
    assert (case.plant, case.supplier, case.item) == ("DE-HH-01", "SUP-NET-0042", "6205-ZZ")
    assert case.assignee is None
    assert case.resolved_at is None
    transition = CaseTransition.objects.get()
    assert (transition.case, transition.from_status, transition.to_status) == (case, "", "open")
    assert transition.by is None
    assert "2 error(s) (ITEM_OBSOLETE, XREF_UNRESOLVED)" in transition.reason


def test_the_plant_of_a_forecast_case_is_the_location_of_the_first_error_line(planning_system):
    payload = {
        "plan_id": "P",
        "version": 1,
        "horizon": {"start": "2026-03-02", "end": "2026-03-29"},
        "bucket": "week",
        "lines": [
            {
                "item": "A",
                "location": "PL-1",
                "period_start": "2026-03-02",
                "quantity": 1,
                "unit": "EA",
            },
            {
                "item": "B",
                "location": "PL-2",
                "period_start": "2026-03-02",
                "quantity": 1,
                "unit": "EA",
            },
        ],
    }
    diagnostics = [finding("FORECAST_LOCATION_NOT_PLANT", "$.lines[1].location", team="planning")]
    quarantine(planning_system, diagnostics, payload, "forecast")
    case = QuarantineCase.objects.get()
    assert (case.team, case.plant, case.item, case.supplier) == ("planning", "PL-2", "B", "")


def test_announcing_the_same_outcome_again_opens_no_second_case(erp_system):
    message = quarantine(erp_system)
    message_outcome.send(
        sender=InboundMessage,
        message=message,
        status="quarantined",
        diagnostics=FINDINGS,
        parts=[message],
    )
    assert QuarantineCase.objects.count() == 1
    assert CaseTransition.objects.count() == 1


def test_a_released_message_opens_no_case(erp_system):
    with mock.patch.object(enqueue, "enqueue_validation"):
        message = submit_message(
            system=erp_system,
            message_type="ship_notice",
            schema_version=1,
            payload=SHIP_NOTICE,
            idempotency_key="r",
        ).message
    released = pipeline.Outcome(status="released", released_payload=SHIP_NOTICE)
    with mock.patch.object(pipeline, "evaluate", return_value=released):
        tasks.validate_message.delay(message.pk)
    message.refresh_from_db()
    assert message.status == "released"
    assert not QuarantineCase.objects.exists()


def test_a_rejected_message_opens_no_case(erp_system):
    submit_message(
        system=erp_system,
        message_type="ship_notice",
        schema_version=1,
        payload={"shipment_id": "ASN-1"},
        idempotency_key="bad",
    )
    assert InboundMessage.objects.get().status == "rejected"
    assert not QuarantineCase.objects.exists()


def test_a_case_that_cannot_be_opened_takes_the_outcome_back_with_it(erp_system):
    """The case is written in the outcome's transaction: if it fails, the message is not left
    quarantined without a case; it goes to dead letter with the error."""
    with mock.patch(
        "quarantine.models.CaseTransition.objects.create", side_effect=RuntimeError("disk full")
    ):
        message = quarantine(erp_system)

    assert message.status == "dead_letter"
    assert "RuntimeError: disk full" in message.last_error
    assert not QuarantineCase.objects.exists()


def test_every_quarantined_message_has_exactly_one_case(erp_system):
    for _ in range(5):
        quarantine(erp_system)
    quarantined = InboundMessage.objects.filter(status="quarantined")
    assert quarantined.count() == 5
    assert QuarantineCase.objects.count() == 5
    assert set(QuarantineCase.objects.values_list("message", flat=True)) == set(
        quarantined.values_list("pk", flat=True)
    )


def test_a_rule_unknown_to_the_rule_table_is_still_a_facet(erp_system):
    quarantine(erp_system, [finding("NEW_RULE", "$.supplier")])
    case = QuarantineCase.objects.get()
    assert case.rule_codes == ["NEW_RULE"]
    assert not case.rules.exists()
    assert Rule.objects.filter(code="XREF_UNRESOLVED").exists()


def test_stewards_list_and_open_cases_in_the_admin(client, steward, erp_system):
    quarantine(erp_system)
    client.force_login(steward)
    listing = client.get("/admin/quarantine/quarantinecase/")
    assert listing.status_code == 200
    assert "ITEM_OBSOLETE, XREF_UNRESOLVED" in listing.content.decode()
    case = QuarantineCase.objects.get()
    page = client.get(f"/admin/quarantine/quarantinecase/{case.pk}/change/")
    assert page.status_code == 200
    assert "Quarantined by validation" in page.content.decode()
