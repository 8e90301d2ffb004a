"""The ERP's answer to a forecast release (forecast_acceptance v1): the contract, and through
the real API and pipeline an acceptance of a released version is released and recorded on the
release; one naming a version the hub never released is quarantined and records nothing; one
from a system that is not an ERP is refused; a decision taken earlier than the one recorded,
arriving late, does not overwrite it."""

import datetime

import pytest

from quarantine.models import QuarantineCase
from validation import contracts
from validation.models import ForecastRelease, InboundMessage

from .world import example, integration_client, submission

pytestmark = pytest.mark.django_db

URL = "/api/v1/messages/"
PLAN = "S&OP-2026-03"


def acceptance(**changes):
    return example("forecast_acceptance", **changes)


def post(api, message_type, payload, key, capture):
    """Submit as the API client's system and validate after commit (Celery eager); the
    stored message."""
    with capture(execute=True):
        response = api.post(
            URL, submission(message_type, payload), format="json", HTTP_IDEMPOTENCY_KEY=key
        )
    assert response.status_code == 202, response.json()
    return InboundMessage.objects.get(public_id=response.json()["id"])


@pytest.fixture
def api(world):
    """API clients of the world's planning system and its two ERPs, by system code."""
    codes = ("PLANNING", "ERP_LEGACY", "ERP_CLOUD")
    return {code: integration_client(code, f"{code.lower()}-sync") for code in codes}


@pytest.fixture
def released(api, django_capture_on_commit_callbacks):
    """Versions 2 and 3 of S&OP-2026-03, released by the planning system through the API."""
    for version in (2, 3):
        message = post(
            api["PLANNING"],
            "forecast",
            example("forecast", version=version),
            f"forecast-v{version}",
            django_capture_on_commit_callbacks,
        )
        assert message.status == "released", message.diagnostics
    return {release.version: release for release in ForecastRelease.objects.all()}


@pytest.fixture
def send(api, django_capture_on_commit_callbacks):
    """Send a forecast acceptance as a system (the legacy ERP unless told); the message,
    validated."""
    sent = []

    def send_it(payload, system="ERP_LEGACY"):
        sent.append(payload)
        return post(
            api[system],
            "forecast_acceptance",
            payload,
            f"acceptance-{len(sent)}",
            django_capture_on_commit_callbacks,
        )

    return send_it


# --- the contract ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"decided_at": "2026-03-03T08:15:00Z"},
        {"decided_at": "2026-03-03T08:15:00.250Z"},
        {"decision": "rejected", "reason": "Week 12 exceeds the line's capacity."},
        {"reason": "Taken as is."},
    ],
)
def test_the_contract_takes_a_decision_with_its_time(changes):
    assert contracts.contract_errors("forecast_acceptance", 1, acceptance(**changes)) == []


@pytest.mark.parametrize(
    "changes, path, words",
    [
        ({"decision": "rejected"}, "$.reason", "Missing"),
        ({"decision": "maybe"}, "$.decision", '"maybe" is not one of'),
        ({"version": 0}, "$.version", "less than the minimum of 1"),
        ({"decided_at": "2026-03-03"}, "$.decided_at", "write it as YYYY-MM-DDThh:mm:ss"),
        ({"decided_at": "2026-03-03T09:15:00"}, "$.decided_at", "with its offset"),
        ({"decided_at": "2026-02-30T09:15:00Z"}, "$.decided_at", "not a valid date and time"),
        ({"lines": []}, "$", "'lines' was unexpected"),
    ],
)
def test_the_contract_refuses_what_does_not_say_a_decision(changes, path, words):
    errors = contracts.contract_errors("forecast_acceptance", 1, acceptance(**changes))

    assert [error["path"] for error in errors] == [path]
    assert words in errors[0]["message"]


def test_the_contract_requires_the_plan_version_decision_and_time():
    errors = contracts.contract_errors("forecast_acceptance", 1, {})

    assert [error["path"] for error in errors] == [
        "$.decided_at",
        "$.decision",
        "$.plan_id",
        "$.version",
    ]


def test_its_business_date_is_the_decisions_date_as_the_sender_wrote_it():
    late_evening = acceptance(decided_at="2026-03-02T23:30:00-05:00")  # 04:30 UTC on the 3rd

    assert contracts.business_date("forecast_acceptance", 1, late_evening) == datetime.date(
        2026, 3, 2
    )


# --- through the API and the pipeline -----------------------------------------------------------


def test_an_acceptance_of_a_released_version_is_released_and_recorded(released, send, world):
    message = send(acceptance())

    assert message.status == "released", message.diagnostics
    assert message.diagnostics == []
    assert message.business_date == datetime.date(2026, 3, 3)
    assert "lines" not in message.released_payload
    release = ForecastRelease.objects.get(version=3)
    assert release.decision == "accepted"
    assert release.decided_at == datetime.datetime(2026, 3, 3, 8, 15, tzinfo=datetime.UTC)
    assert release.decided_by == world.systems["ERP_LEGACY"]
    assert release.decision_message == message
    assert release.decision_reason == ""
    # Version 2 is still waiting for the ERP.
    assert ForecastRelease.objects.get(version=2).decision == ""


def test_a_rejection_is_recorded_with_its_reason(released, send):
    reason = "Week 12 exceeds the line's capacity; send it capped at 1,500."
    message = send(acceptance(decision="rejected", reason=reason))

    assert message.status == "released", message.diagnostics
    release = ForecastRelease.objects.get(version=3)
    assert (release.decision, release.decision_reason) == ("rejected", reason)
    assert release.decision_message == message


def test_a_version_the_hub_never_released_is_quarantined_naming_the_ones_it_did(released, send):
    message = send(acceptance(version=4))

    assert message.status == "quarantined"
    [diagnostic] = message.diagnostics
    assert diagnostic["rule"] == "FORECAST_RELEASE_UNKNOWN"
    assert (diagnostic["path"], diagnostic["value"], diagnostic["team"]) == ("$.version", 4, "erp")
    release = released[3]
    assert diagnostic["message"] == (
        f"The hub never released plan {PLAN} version 4; it released versions 2 and 3, the "
        f"latest on {release.released_at:%Y-%m-%d} as {release.message.public_id}."
    )
    assert diagnostic["suggestion"].startswith(
        "Send the decision for version 3, the latest the hub released."
    )
    assert message.quarantine_case.team == "erp"
    assert not ForecastRelease.objects.exclude(decision="").exists()


def test_a_version_older_than_any_released_is_pointed_at_the_latest(released, send):
    message = send(acceptance(version=1))

    [diagnostic] = message.diagnostics
    assert diagnostic["rule"] == "FORECAST_RELEASE_UNKNOWN"
    assert "Send the decision for version 3, the latest" in diagnostic["suggestion"]


def test_a_plan_the_hub_never_released_suggests_the_one_it_looks_like(released, send):
    message = send(acceptance(plan_id="S&OP-2026-3"))

    assert message.status == "quarantined"
    [diagnostic] = message.diagnostics
    assert (diagnostic["rule"], diagnostic["path"]) == ("FORECAST_RELEASE_UNKNOWN", "$.plan_id")
    assert diagnostic["message"].startswith("The hub never released a forecast of plan S&OP-2026-3")
    assert diagnostic["suggestion"].startswith(f"Did you mean plan {PLAN}?")
    assert not ForecastRelease.objects.exclude(decision="").exists()
    case = QuarantineCase.objects.get(message=message)
    assert [rule.code for rule in case.rules.all()] == ["FORECAST_RELEASE_UNKNOWN"]


def test_a_system_that_is_not_an_erp_is_refused(released, send):
    message = send(acceptance(), system="PLANNING")

    assert message.status == "quarantined"
    [diagnostic] = message.diagnostics
    assert diagnostic["rule"] == "FORECAST_ACCEPTANCE_NOT_ERP"
    assert diagnostic["team"] == "integration"
    assert diagnostic["message"].startswith("Planning (PLANNING) is not an ERP")
    assert ForecastRelease.objects.get(version=3).decision == ""


def test_a_later_decision_replaces_an_earlier_one_and_not_the_other_way_round(released, send):
    first = send(acceptance(decided_at="2026-03-03T09:15:00+01:00"))
    rejected = send(
        acceptance(
            decision="rejected", reason="Revised after all.", decided_at="2026-03-04T10:00:00Z"
        )
    )
    # The ERP's first answer arrives again, late (its own retry), under another key.
    late = send(acceptance(decided_at="2026-03-03T09:15:00+01:00"))

    assert {m.status for m in (first, rejected, late)} == {"released"}
    release = ForecastRelease.objects.get(version=3)
    assert release.decision == "rejected"
    assert release.decided_at == datetime.datetime(2026, 3, 4, 10, tzinfo=datetime.UTC)
    assert release.decision_message == rejected
    assert release.decision_reason == "Revised after all."


def test_the_cloud_erp_may_answer_too_and_is_named_as_the_decider(released, send, world):
    message = send(acceptance(), system="ERP_CLOUD")

    assert message.status == "released", message.diagnostics
    assert ForecastRelease.objects.get(version=3).decided_by == world.systems["ERP_CLOUD"]
