"""The pipeline's outcome: the released payload's enrichment, warnings that release, rules
stewards switched off or softened, diagnostics in path order, a bounded list, a constant
number of queries per chunk, and a large forecast validated as chunks (by several tasks)
reaching one outcome."""

import datetime
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from validation import enqueue, pipeline, tasks, validate
from validation.models import InboundMessage, MessageChunk, Rule
from validation.submission import submit_message

from .world import example, forecast_part

pytestmark = pytest.mark.django_db


def evaluate(world, message_type, payload, system):
    return pipeline.evaluate(message_type, 1, payload, world.systems[system])


def forecast_lines(count, **changes):
    """`count` lines cycling over the world's items, plants and units, all valid."""
    variants = [
        {"item": "PLN-BRG-6204", "unit": "EA", "quantity": 12},
        {"item": "PLN-BRG-6204", "unit": "BOX", "quantity": 2},
        {"item": "PLN-BRG-6204", "unit": "KG", "quantity": "2.2"},
        {"item": "PLN-BRG-6205", "unit": "EA", "quantity": "7.5"},
    ]
    start = datetime.date(2026, 3, 2)
    return [
        {
            "location": "PLANT-HH",
            "period_start": (start + datetime.timedelta(days=n % 90)).isoformat(),
            **variants[n % len(variants)],
            **changes,
        }
        for n in range(count)
    ]


# --- enrichment ----------------------------------------------------------------------------


def test_a_released_purchase_order_carries_canonical_ids_and_every_other_systems_codes(world):
    payload = example("purchase_order")
    payload["lines"].append(
        {"line": 20, "item": "BRG-6204-2RS", "quantity": "3", "unit": "BX", "need_by": "2026-03-20"}
    )

    outcome = evaluate(world, "purchase_order", payload, "ERP_LEGACY")

    assert (outcome.status, outcome.diagnostics) == ("released", [])
    released = outcome.released_payload
    assert released["supplier"] == "100234"  # as sent
    assert released["hub"]["supplier"] == {
        "id": world.supplier.public_id,
        "codes": {"ERP_CLOUD": "BP100234", "SUPPLIER_NET": "SUP-NET-0042"},
    }
    assert released["hub"]["ship_to"] == {
        "id": world.plant.public_id,
        "codes": {"ERP_CLOUD": "DE10", "PLANNING": "PLANT-HH", "SUPPLIER_NET": "DE-HH-00"},
    }
    first, boxes = released["lines"]
    assert first["hub"]["item"] == {
        "id": world.bearing.public_id,
        "codes": {
            "ERP_CLOUD": "MAT-6204",
            "PLANNING": "PLN-BRG-6204",
            "SUPPLIER_NET": "6204-2RS-C3",
        },
    }
    assert first["hub"]["revision"] == {"id": f"{world.bearing.public_id}/B"}
    assert first["hub"]["unit"]["id"] == "H87"
    assert first["hub"]["quantity"] == {
        "value": "500",
        "unit": "H87",
        "codes": {"ERP_CLOUD": "H87", "PLANNING": "EA", "SUPPLIER_NET": "PCE"},
    }
    # 3 boxes of this supplier's (12 a box, not the generic 10): 36 pieces; and the order in
    # the supplier's own pack unit.
    assert (boxes["quantity"], boxes["unit"]) == ("3", "BX")
    assert boxes["hub"]["quantity"]["value"] == "36"
    assert boxes["hub"]["supplier_quantity"] == {
        "value": "3",
        "unit": "XBX",
        "codes": {"PLANNING": "BOX", "SUPPLIER_NET": "BX"},
    }


def test_a_released_forecast_line_is_translated_within_its_plant(world):
    outcome = evaluate(world, "forecast", example("forecast"), "PLANNING")

    line = outcome.released_payload["lines"][0]
    assert line["hub"]["item"]["codes"]["ERP_LEGACY"] == "BRG-6204-2RS"  # plant 1000's number
    assert line["hub"]["location"] == {
        "id": world.plant.public_id,
        "codes": {"ERP_CLOUD": "DE10", "ERP_LEGACY": "1000", "SUPPLIER_NET": "DE-HH-00"},
    }
    assert line["hub"]["quantity"]["value"] == "1200"
    assert outcome.released_payload["lines"][1]["hub"]["quantity"]["value"] == "1350.5"


def test_a_quantity_is_converted_by_weight_and_through_packs(world):
    payload = example("forecast")
    payload["lines"] = forecast_lines(3)  # pieces, boxes (10), kilograms (0.11 a piece)
    values = [
        line["hub"]["quantity"]["value"]
        for line in evaluate(world, "forecast", payload, "PLANNING").released_payload["lines"]
    ]
    assert values == ["12", "20", "20"]


# --- severity, team, switched off ------------------------------------------------------------


def test_warnings_travel_with_the_released_message(world):
    payload = example("forecast")
    payload["lines"][0]["item"] = "PLN-NEW-1"  # no ERP code yet: NO_TARGET_CODE

    outcome = evaluate(world, "forecast", payload, "PLANNING")

    assert outcome.status == "released"
    assert [(d["rule"], d["severity"]) for d in outcome.diagnostics] == [
        ("NO_TARGET_CODE", "warning")
    ]
    assert outcome.released_payload["lines"][0]["hub"]["item"]["codes"] == {}


def test_a_disabled_rule_does_not_run(world):
    payload = example("forecast")
    payload["lines"][0]["item"] = "PLN-OLD-1"
    assert evaluate(world, "forecast", payload, "PLANNING").status == "quarantined"

    Rule.objects.filter(code="ITEM_OBSOLETE").update(enabled=False)

    outcome = evaluate(world, "forecast", payload, "PLANNING")
    assert (outcome.status, outcome.diagnostics) == ("released", [])


def test_a_rule_a_steward_made_a_warning_releases_with_it(world):
    Rule.objects.filter(code="ITEM_BLOCKED").update(severity="warning", team="planning")
    payload = example("forecast")
    payload["lines"][1]["item"] = "PLN-BLK-1"

    outcome = evaluate(world, "forecast", payload, "PLANNING")

    assert outcome.status == "released"
    [diagnostic] = outcome.diagnostics
    assert (diagnostic["rule"], diagnostic["severity"], diagnostic["team"]) == (
        "ITEM_BLOCKED",
        "warning",
        "planning",
    )
    assert outcome.released_payload["lines"][1]["hub"]["item"]["id"] == world.blocked.public_id


def test_a_quarantined_outcome_carries_every_diagnostic_in_path_order(world):
    payload = example("forecast")
    payload["lines"] = forecast_lines(12)
    payload["lines"][10]["item"] = "PLN-NOPE"
    payload["lines"][9]["quantity"] = -1
    payload["lines"][4]["item"] = "PLN-NEW-1"  # a warning, listed too

    outcome = evaluate(world, "forecast", payload, "PLANNING")

    assert outcome.status == "quarantined"
    assert outcome.released_payload is None
    assert [(d["path"], d["rule"]) for d in outcome.diagnostics] == [
        ("$.lines[4].item", "NO_TARGET_CODE"),
        ("$.lines[9].quantity", "QUANTITY_INVALID"),
        ("$.lines[10].item", "XREF_UNRESOLVED"),
    ]


def test_an_outcome_lists_a_bounded_number_of_diagnostics_and_counts_the_rest(world):
    payload = example("forecast")
    payload["lines"] = forecast_lines(30, item="PLN-NOPE")
    with mock.patch.object(pipeline, "MAX_DIAGNOSTICS", 10):
        outcome = evaluate(world, "forecast", payload, "PLANNING")

    listed, summary = outcome.diagnostics[:-1], outcome.diagnostics[-1]
    assert [d["path"] for d in listed] == [f"$.lines[{n}].item" for n in range(10)]
    assert (summary["rule"], summary["omitted"]) == ("XREF_UNRESOLVED", 20)
    assert "20 more XREF_UNRESOLVED" in summary["message"]


# --- queries -------------------------------------------------------------------------------


def test_a_chunk_costs_the_same_queries_for_10_lines_as_for_200(world):
    header = pipeline.header_of(example("forecast"))

    def queries(count):
        check = pipeline.Check("forecast", 1, header, world.systems["PLANNING"])
        lines = forecast_lines(count)
        lines[3]["item"] = "PLN-OLD-1"
        with CaptureQueriesContext(connection) as captured:
            check.check_lines(lines)
        return len(captured)

    assert queries(10) == queries(200)


# --- large messages: chunks ------------------------------------------------------------------


def submit(system, payload, key="big"):
    return submit_message(
        system=system,
        message_type="forecast",
        schema_version=1,
        payload=payload,
        idempotency_key=key,
    ).message


def test_a_large_forecast_is_validated_in_chunks_and_reaches_one_outcome(
    world, settings, django_capture_on_commit_callbacks
):
    settings.VALIDATION_CHUNK_LINES = 1000
    payload = example("forecast")
    payload["lines"] = forecast_lines(12_000)
    payload["lines"][5555]["item"] = "PLN-NOPE"
    payload["lines"][11_999]["quantity"] = "1.1234567"

    with (
        mock.patch.object(pipeline, "evaluate", wraps=pipeline.evaluate) as whole,
        django_capture_on_commit_callbacks(execute=True),
    ):
        message = submit(world.systems["PLANNING"], payload)

    message.refresh_from_db()
    assert whole.call_count == 0  # never validated whole: twelve chunk tasks did it
    assert (message.status, message.chunks_total, message.chunks_done) == ("quarantined", 12, 12)
    assert [(d["rule"], d["path"]) for d in message.diagnostics] == [
        ("XREF_UNRESOLVED", "$.lines[5555].item"),
        ("QUANTITY_INVALID", "$.lines[11999].quantity"),
    ]
    assert message.attempts == 1
    assert not MessageChunk.objects.exists()
    assert message.quarantine_case.diagnostics == message.diagnostics


def test_a_large_release_in_parts_is_released_part_by_part(
    world, settings, django_capture_on_commit_callbacks
):
    settings.VALIDATION_CHUNK_LINES = 1000
    parts = []
    with django_capture_on_commit_callbacks(execute=True):
        for number, count in ((2, 1500), (1, 2500)):
            payload = forecast_part(number, 2)
            payload["lines"] = forecast_lines(count, quantity=number)
            parts.append(submit(world.systems["PLANNING"], payload, key=f"part-{number}"))

    two, one = (InboundMessage.objects.get(pk=part.pk) for part in parts)
    assert one.chunks_total == 5  # 3 of part 1, 2 of part 2: a chunk never spans two parts
    for part, count in ((one, 2500), (two, 1500)):
        assert part.status == "released"
        released = part.released_payload
        assert released["part"] == {"number": part.part_number, "of": 2}
        assert released["plan_id"] == "S&OP-2026-03"
        assert len(released["lines"]) == count
        assert {line["quantity"] for line in released["lines"]} == {part.part_number}
        assert released["lines"][-1]["hub"]["location"]["id"] == world.plant.public_id


def fan_out(world, settings, lines=3000):
    """A large message split into chunks whose tasks have not run yet."""
    settings.VALIDATION_CHUNK_LINES = 1000
    payload = example("forecast")
    payload["lines"] = forecast_lines(lines)
    with mock.patch.object(enqueue, "enqueue_validation"):
        message = submit(world.systems["PLANNING"], payload)
    with mock.patch.object(enqueue, "enqueue_chunk"):
        validate.validate_message(message.pk)
    return message, list(MessageChunk.objects.order_by("index").values_list("pk", flat=True))


def test_a_redelivered_chunk_task_counts_once(world, settings):
    message, chunks = fan_out(world, settings)

    assert tasks.validate_chunk.delay(chunks[0]).get() is None
    assert tasks.validate_chunk.delay(chunks[0]).get() is None  # a redelivery
    message.refresh_from_db()
    assert (message.status, message.chunks_done) == ("validating", 1)

    assert tasks.validate_chunk.delay(chunks[1]).get() is None
    assert tasks.validate_chunk.delay(chunks[2]).get() == "released"
    assert tasks.validate_chunk.delay(chunks[2]).get() is None  # after the outcome
    message.refresh_from_db()
    assert (message.status, len(message.released_payload["lines"])) == ("released", 3000)


def test_a_chunk_of_an_attempt_taken_back_does_nothing(world, settings):
    message, chunks = fan_out(world, settings)
    # The sweep took the claim back: the message is received again, for a new attempt.
    InboundMessage.objects.filter(pk=message.pk).update(status="received", claimed_at=None)

    assert tasks.validate_chunk.delay(chunks[0]).get() is None
    assert MessageChunk.objects.get(pk=chunks[0]).status == "pending"


def test_the_sweep_enqueues_a_lost_chunk_again(world, settings):
    message, chunks = fan_out(world, settings)
    for pk in chunks[:2]:
        tasks.validate_chunk.delay(pk)
    MessageChunk.objects.filter(pk=chunks[2]).update(
        enqueued_at=timezone.now() - datetime.timedelta(days=1)
    )

    counts = tasks.sweep_stuck_messages.delay().get()

    assert counts["requeued"] == 1
    message.refresh_from_db()
    assert message.status == "released"
    assert message.attempts == 1


def test_a_chunk_whose_worker_died_is_run_again_after_its_claim_expires(world, settings):
    message, chunks = fan_out(world, settings)
    expired = timezone.now() - datetime.timedelta(seconds=settings.VALIDATION_CHUNK_TIMEOUT + 1)
    MessageChunk.objects.filter(pk=chunks[0]).update(claimed_at=timezone.now())

    assert tasks.validate_chunk.delay(chunks[0]).get() is None  # held by a live claim
    MessageChunk.objects.filter(pk=chunks[0]).update(claimed_at=expired)
    for pk in chunks:
        tasks.validate_chunk.delay(pk)

    message.refresh_from_db()
    assert (message.status, message.chunks_done) == ("released", 3)


def test_a_chunk_that_fails_parks_its_message_as_a_dead_letter(world, settings):
    message, chunks = fan_out(world, settings)
    with mock.patch.object(pipeline.Check, "check_lines", side_effect=ZeroDivisionError("x")):
        tasks.validate_chunk.delay(chunks[1])

    message.refresh_from_db()
    assert (message.status, message.last_error) == ("dead_letter", "ZeroDivisionError: x")
    assert not MessageChunk.objects.exists()
