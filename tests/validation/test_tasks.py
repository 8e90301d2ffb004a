"""The validation task: claims exactly once, retries transient errors and then parks the
message as a dead letter, and the sweep recovers messages a lost enqueue or a dead worker
left behind. Parts of a forecast release reach one outcome."""

import datetime
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone

from quarantine.models import QuarantineCase
from validation import claims, enqueue, pipeline, sweep, tasks
from validation.models import InboundMessage
from validation.signals import message_outcome
from validation.submission import submit_message

from .world import example, forecast_part

pytestmark = pytest.mark.django_db

RELEASED = pipeline.Outcome(status="released", released_payload={"released": True})


def receive(system, message_type="purchase_order", payload=None, key=None):
    """A message stored as the API stores it, its validation not run yet."""
    payload = payload if payload is not None else example(message_type)
    key = key or f"key-{InboundMessage.objects.count() + 1}"
    with mock.patch.object(enqueue, "enqueue_validation"):
        submission = submit_message(
            system=system,
            message_type=message_type,
            schema_version=1,
            payload=payload,
            idempotency_key=key,
        )
    return submission.message


def refresh(message):
    message.refresh_from_db()
    return message


@pytest.fixture
def evaluate():
    with mock.patch.object(pipeline, "evaluate", return_value=RELEASED) as patched:
        yield patched


def test_it_validates_a_received_message_once(erp_system, evaluate):
    message = receive(erp_system)

    assert tasks.validate_message.delay(message.pk).get() == "released"
    assert tasks.validate_message.delay(message.pk).get() is None  # a redelivery

    assert evaluate.call_count == 1
    message = refresh(message)
    assert message.status == "released"
    assert message.released_payload == {"released": True}
    assert message.attempts == 1
    assert message.claimed_at <= message.finished_at
    args, kwargs = evaluate.call_args
    assert args[:3] == ("purchase_order", 1, example("purchase_order"))
    assert args[3] == erp_system
    assert kwargs == {"as_of": datetime.date(2026, 3, 2)}


def test_a_claimed_message_is_left_to_its_claimant(erp_system, evaluate):
    message = receive(erp_system)
    assert claims.claim_message(message.pk) is not None

    assert tasks.validate_message.delay(message.pk).get() is None
    assert evaluate.call_count == 0
    assert refresh(message).status == "validating"


def test_an_unknown_message_is_nothing_to_do(evaluate):
    assert tasks.validate_message.delay(987654).get() is None


def test_a_transient_error_is_retried(erp_system, settings):
    settings.VALIDATION_MAX_RETRIES = 3
    message = receive(erp_system)
    with mock.patch.object(
        pipeline,
        "evaluate",
        side_effect=[OperationalError("server closed the connection"), RELEASED],
    ) as evaluate:
        tasks.validate_message.delay(message.pk)

    assert evaluate.call_count == 2
    message = refresh(message)
    assert message.status == "released"
    assert message.attempts == 2
    assert message.last_error == ""


def test_after_the_last_retry_the_message_is_a_dead_letter_with_the_error(erp_system, settings):
    settings.VALIDATION_MAX_RETRIES = 2
    message = receive(erp_system)
    outcomes = []
    message_outcome.connect(
        lambda **kwargs: outcomes.append(kwargs["status"]), weak=False, dispatch_uid="test.outcomes"
    )
    try:
        with mock.patch.object(
            pipeline, "evaluate", side_effect=OperationalError("could not connect to server")
        ) as evaluate:
            tasks.validate_message.delay(message.pk)
    finally:
        message_outcome.disconnect(dispatch_uid="test.outcomes")

    assert evaluate.call_count == 3  # the first try and two retries
    message = refresh(message)
    assert message.status == "dead_letter"
    assert message.last_error == (
        "OperationalError: could not connect to server (after the last retry)"
    )
    assert message.attempts == 3
    assert message.finished_at is not None
    assert outcomes == ["dead_letter"]


def test_a_programming_error_is_a_dead_letter_at_once(erp_system):
    message = receive(erp_system)
    with mock.patch.object(pipeline, "evaluate", side_effect=ZeroDivisionError("oops")) as evaluate:
        tasks.validate_message.delay(message.pk)
    assert evaluate.call_count == 1
    assert refresh(message).status == "dead_letter"
    assert refresh(message).last_error == "ZeroDivisionError: oops"


def test_a_worker_whose_claim_was_taken_back_cannot_write_its_outcome(
    erp_system, settings, django_capture_on_commit_callbacks
):
    """The first attempt stalls past the claim timeout; the sweep takes the claim back and a
    second attempt releases the message; the first attempt's late outcome is dropped."""
    message = receive(erp_system)
    calls = []

    def stalled_then_normal(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            later = timezone.now() + datetime.timedelta(
                seconds=settings.VALIDATION_CLAIM_TIMEOUT + 1
            )
            with django_capture_on_commit_callbacks(execute=True):
                sweep.sweep_stuck_messages(now=later)  # the second attempt, eagerly
            return pipeline.Outcome(status="quarantined", diagnostics=[{"rule": "LATE"}])
        return RELEASED

    with mock.patch.object(pipeline, "evaluate", side_effect=stalled_then_normal):
        assert tasks.validate_message.delay(message.pk).get() is None

    message = refresh(message)
    assert len(calls) == 2
    assert message.status == "released"
    assert message.attempts == 2
    assert not QuarantineCase.objects.exists()


# --- the sweep -----------------------------------------------------------------------------


def age(message, **fields):
    """Move a message's clocks into the past, as if time had gone by."""
    InboundMessage.objects.filter(pk=message.pk).update(**fields)


def test_the_sweep_enqueues_a_message_stuck_in_received(erp_system, evaluate, settings):
    lost = receive(erp_system)
    fresh = receive(erp_system)
    past = timezone.now() - datetime.timedelta(seconds=settings.VALIDATION_RECEIVED_TIMEOUT + 5)
    age(lost, enqueued_at=past)

    with mock.patch.object(enqueue, "enqueue_validation") as enqueued:
        counts = tasks.sweep_stuck_messages.delay().get()

    assert counts == {"requeued": 1, "reclaimed": 0, "dead_letter": 0}
    enqueued.assert_called_once_with(lost.pk)
    assert refresh(lost).enqueued_at > past
    assert refresh(fresh).status == "received"


def test_the_swept_message_is_validated(erp_system, evaluate, settings):
    lost = receive(erp_system)
    age(lost, enqueued_at=timezone.now() - datetime.timedelta(days=1))
    tasks.sweep_stuck_messages.delay()
    assert refresh(lost).status == "released"


def test_the_sweep_takes_back_an_expired_claim_and_validates_again(
    erp_system, evaluate, django_capture_on_commit_callbacks
):
    message = receive(erp_system)
    claims.claim_message(message.pk)  # a worker claimed it, then died
    age(message, claimed_at=timezone.now() - datetime.timedelta(days=1))

    with django_capture_on_commit_callbacks(execute=True):
        counts = tasks.sweep_stuck_messages.delay().get()

    assert counts == {"requeued": 0, "reclaimed": 1, "dead_letter": 0}
    message = refresh(message)
    assert message.status == "released"
    assert message.attempts == 2


def test_a_claim_within_its_timeout_is_left_alone(erp_system, evaluate):
    message = receive(erp_system)
    claims.claim_message(message.pk)
    assert tasks.sweep_stuck_messages.delay().get() == {
        "requeued": 0,
        "reclaimed": 0,
        "dead_letter": 0,
    }
    assert refresh(message).status == "validating"


def test_too_many_lost_claims_make_a_dead_letter(erp_system, evaluate, settings):
    settings.VALIDATION_MAX_ATTEMPTS = 3
    message = receive(erp_system)
    claims.claim_message(message.pk)
    age(message, attempts=3, claimed_at=timezone.now() - datetime.timedelta(days=1))

    counts = tasks.sweep_stuck_messages.delay().get()

    assert counts == {"requeued": 0, "reclaimed": 0, "dead_letter": 1}
    message = refresh(message)
    assert message.status == "dead_letter"
    assert message.last_error.startswith("Validation was claimed 3 times without an outcome")
    assert evaluate.call_count == 0


def test_the_sweep_leaves_an_incomplete_release_waiting(planning_system, evaluate):
    part = receive(planning_system, "forecast", forecast_part(1, 2))
    age(part, enqueued_at=timezone.now() - datetime.timedelta(days=1))
    assert tasks.sweep_stuck_messages.delay().get()["requeued"] == 0
    assert refresh(part).status == "received"


# --- a forecast in parts -------------------------------------------------------------------


def finding(path, rule="XREF_UNRESOLVED", severity="error", team="planning"):
    return {
        "rule": rule,
        "severity": severity,
        "team": team,
        "path": path,
        "value": "X",
        "message": f"Finding at {path}.",
    }


def test_a_release_in_parts_is_validated_once_when_the_last_part_is_in(planning_system):
    combined = []

    def evaluate(message_type, schema_version, payload, system, *, as_of=None):
        combined.append(payload)
        return pipeline.Outcome(
            status="quarantined",
            diagnostics=[
                finding("$.horizon"),
                finding("$.lines[1].item"),
                finding("$.lines[4].quantity", rule="QUANTITY_INVALID", team="integration"),
            ],
        )

    with mock.patch.object(pipeline, "evaluate", side_effect=evaluate):
        parts = []
        for number, lines in ((3, 1), (1, 3), (2, 2)):
            parts.append(receive(planning_system, "forecast", forecast_part(number, 3, lines)))
            assert tasks.validate_message.delay(parts[-1].pk).get() is None or number == 2
        for part in parts:  # redeliveries of every part's task
            assert tasks.validate_message.delay(part.pk).get() is None

    assert len(combined) == 1
    assert len(combined[0]["lines"]) == 6
    third, first, second = (refresh(part) for part in parts)
    assert {first.status, second.status, third.status} == {"quarantined"}
    assert {first.attempts, second.attempts, third.attempts} == {1}
    # Line 1 is part 1's second line; line 4 is part 2's second line (part 1 has 3 lines).
    assert [(d["path"], d.get("part")) for d in first.diagnostics] == [
        ("$.horizon", None),
        ("$.lines[1].item", 1),
    ]
    assert [(d["path"], d.get("part")) for d in second.diagnostics] == [
        ("$.horizon", None),
        ("$.lines[1].quantity", 2),
    ]
    assert [d["path"] for d in third.diagnostics] == ["$.horizon"]
    # One case for the release, on part 1, with every diagnostic.
    case = QuarantineCase.objects.get()
    assert case.message == first
    assert len(case.diagnostics) == 3
    assert case.rule_codes == ["QUANTITY_INVALID", "XREF_UNRESOLVED"]


def test_a_released_release_is_split_back_into_its_parts(planning_system):
    def evaluate(message_type, schema_version, payload, system, *, as_of=None):
        lines = [{**line, "item_id": f"ITM-{i}"} for i, line in enumerate(payload["lines"])]
        return pipeline.Outcome(status="released", released_payload={**payload, "lines": lines})

    with mock.patch.object(pipeline, "evaluate", side_effect=evaluate):
        one = receive(planning_system, "forecast", forecast_part(1, 2, lines=2))
        two = receive(planning_system, "forecast", forecast_part(2, 2, lines=1))
        tasks.validate_message.delay(two.pk)

    one, two = refresh(one), refresh(two)
    assert [line["item_id"] for line in one.released_payload["lines"]] == ["ITM-0", "ITM-1"]
    assert [line["item_id"] for line in two.released_payload["lines"]] == ["ITM-2"]
    assert two.released_payload["part"] == {"number": 2, "of": 2}
    assert two.released_payload["plan_id"] == "S&OP-2026-03"


def test_a_release_whose_lines_changed_in_number_is_held_whole_by_part_1(planning_system):
    def evaluate(message_type, schema_version, payload, system, *, as_of=None):
        return pipeline.Outcome(status="released", released_payload={**payload, "lines": []})

    with mock.patch.object(pipeline, "evaluate", side_effect=evaluate):
        one = receive(planning_system, "forecast", forecast_part(1, 2))
        two = receive(planning_system, "forecast", forecast_part(2, 2))
        tasks.validate_message.delay(one.pk)

    assert refresh(one).released_payload["lines"] == []
    assert refresh(two).released_payload is None
    assert refresh(two).status == "released"


def test_parts_with_different_headers_are_all_rejected(planning_system, evaluate):
    one = receive(planning_system, "forecast", forecast_part(1, 2))
    other = forecast_part(2, 2)
    other["bucket"] = "month"
    # Sent at the same moment, so the check at submission could not see part 1.
    with mock.patch("validation.submission._check_siblings"):
        two = receive(planning_system, "forecast", other)
    tasks.validate_message.delay(two.pk)

    assert evaluate.call_count == 0
    assert {refresh(one).status, refresh(two).status} == {"rejected"}
    assert refresh(two).diagnostics[0]["rule"] == "PARTS_INCONSISTENT"
