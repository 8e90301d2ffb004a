"""The business controls (validation.controls), each firing and not firing, through the real
pipeline and outcome (validate.validate_message), so the ledger they read is the one earlier
releases wrote: forecast versions, horizon, frozen fence and selective synchronization; the
purchase order ledger and its change sequence; acknowledgements correlated, normalized and
raising supply exceptions; ship notices and receipts correlated and closing the loop."""

import datetime
import io
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone

from mdm.models import CodeList, CodeValue
from quarantine.models import QuarantineCase
from validation import (
    claims,
    enqueue,
    outcomes,
    pipeline,
    replay,
    reports,
    status_codes,
    sweep,
    validate,
)
from validation.models import (
    ForecastRelease,
    InboundMessage,
    PlanPolicy,
    PurchaseOrder,
    PurchaseOrderLine,
    ReceiptLine,
    Rule,
    SupplyException,
)
from validation.submission import submit_message
from xref.services import register_reference

from .world import OPEN_PO, example

pytestmark = pytest.mark.django_db

SENDERS = {
    "forecast": "PLANNING",
    "purchase_order": "ERP_LEGACY",
    "po_acknowledgement": "SUPPLIER_NET",
    "ship_notice": "SUPPLIER_NET",
    "receipt": "ERP_LEGACY",
}


def send(world, message_type, payload=None, version=1):
    """Submit a message as its system would and validate it now; the message, refreshed."""
    payload = payload if payload is not None else example(message_type)
    with mock.patch.object(enqueue, "enqueue_validation"):
        message = submit_message(
            system=world.systems[SENDERS[message_type]],
            message_type=message_type,
            schema_version=version,
            payload=payload,
            idempotency_key=f"k-{InboundMessage.objects.count() + 1}",
        ).message
    validate.validate_message(message.pk)
    message.refresh_from_db()
    return message


def rules(message, severity=None):
    return [d["rule"] for d in message.diagnostics if severity in (None, d["severity"])]


def forecast(version, quantities=(1200, "1350.5"), plan_id="S&OP-2026-03"):
    payload = example("forecast", version=version, plan_id=plan_id)
    for line, quantity in zip(payload["lines"], quantities, strict=True):
        line["quantity"] = quantity
    return payload


def policy(world, **fields):
    return PlanPolicy.objects.create(
        system=world.systems["PLANNING"], plan_id="S&OP-2026-03", **fields
    )


# --- forecast versions -----------------------------------------------------------------------


def test_a_forecast_not_newer_than_the_last_release_is_refused(world):
    first = send(world, "forecast", forecast(3))
    assert first.status == "released"
    assert ForecastRelease.objects.get().version == 3

    again = send(world, "forecast", forecast(3, quantities=(1, 2)))
    older = send(world, "forecast", forecast(2))

    for message in (again, older):
        assert message.status == "quarantined"
        [diagnostic] = message.diagnostics
        assert diagnostic["rule"] == "STALE_FORECAST_VERSION"
        assert (diagnostic["path"], diagnostic["team"]) == ("$.version", "planning")
        assert "not newer than version 3" in diagnostic["message"]
        assert diagnostic["suggestion"] == "Send the plan as version 4 or later."
    assert send(world, "forecast", forecast(4)).status == "released"
    assert send(world, "forecast", forecast(2, plan_id="OTHER-PLAN")).status == "released"
    assert ForecastRelease.objects.count() == 3


def test_of_two_equal_versions_validated_at_once_the_second_is_quarantined(world):
    def received(key):
        with mock.patch.object(enqueue, "enqueue_validation"):
            return submit_message(
                system=world.systems["PLANNING"],
                message_type="forecast",
                schema_version=1,
                payload=forecast(3),
                idempotency_key=key,
            ).message

    first, second = received("a"), received("b")
    claim = claims.claim_message(second.pk)
    outcome = pipeline.evaluate("forecast", 1, forecast(3), world.systems["PLANNING"])
    assert outcome.status == "released"  # nothing released yet when it was validated

    validate.validate_message(first.pk)  # meanwhile, the other one is released
    status = outcomes.write_outcome(
        claim, outcome.status, outcome.diagnostics, outcome.released_payload
    )

    second.refresh_from_db()
    assert status == second.status == "quarantined"
    assert [d["rule"] for d in second.diagnostics] == ["STALE_FORECAST_VERSION"]
    assert "was released while version 3 was validated" in second.diagnostics[0]["message"]
    assert ForecastRelease.objects.get().message_id == first.pk
    assert second.quarantine_case.team == "planning"


def test_a_period_outside_the_plans_horizon_is_flagged_and_released(world):
    inside = send(world, "forecast", forecast(1))
    assert rules(inside) == []

    policy(world, horizon_weeks=1)  # the second line's week is beyond it
    flagged = send(world, "forecast", forecast(2))

    assert flagged.status == "released"
    [diagnostic] = flagged.diagnostics
    assert (diagnostic["rule"], diagnostic["severity"]) == (
        "FORECAST_PERIOD_OUTSIDE_HORIZON",
        "warning",
    )
    assert diagnostic["path"] == "$.lines[1].period_start"
    assert "1-week horizon (2026-03-02 to 2026-03-08)" in diagnostic["message"]


def test_a_change_inside_the_frozen_fence_is_held_for_approval(world, steward):
    policy(world, frozen_fence_days=7)  # the week of 2026-03-02 is frozen
    send(world, "forecast", forecast(3))

    outside = send(world, "forecast", forecast(4, quantities=(1200, 1400)))
    inside = send(world, "forecast", forecast(5, quantities=(900, 1400)))

    assert (outside.status, rules(outside)) == ("released", [])
    assert inside.status == "quarantined"
    [diagnostic] = inside.diagnostics
    assert diagnostic["rule"] == "FROZEN_FENCE_CHANGE"
    assert diagnostic["path"] == "$.lines[0].quantity"
    assert "changes it to 900 from 1,200 in version 4" in diagnostic["message"]
    assert inside.quarantine_case.team == "planning"

    # A planner approves: released by override, and the plan's last version is 5 now.
    assert replay.override_release(inside, by=steward)
    assert ForecastRelease.objects.filter(plan_id="S&OP-2026-03").first().version == 5
    assert rules(send(world, "forecast", forecast(6, quantities=(900, 1400)))) == []


def test_lines_below_the_plans_thresholds_are_left_out_of_the_release(world):
    policy(world, change_threshold_percent=5, change_threshold_quantity=10)
    send(world, "forecast", forecast(3))

    # +5 (0.4 %) is below both thresholds; +149.5 passes both.
    message = send(world, "forecast", forecast(4, quantities=(1205, 1500)))

    assert (message.status, message.diagnostics) == ("released", [])
    released = message.released_payload
    assert [line["quantity"] for line in released["lines"]] == [1500]
    sync = released["hub"]["selective_sync"]
    assert sync["compared_with_version"] == 3
    assert (sync["threshold_percent"], sync["threshold_quantity"]) == ("5", "10")
    assert sync["lines_filtered"] == 1
    [left_out] = sync["filtered"]
    assert left_out["line"] == 0
    assert (left_out["quantity"], left_out["released_quantity"]) == (1205, "1200")
    assert "below the plan's thresholds" in left_out["reason"]
    assert ForecastRelease.objects.get(version=4).lines_filtered == 1


def test_without_thresholds_every_line_is_released(world):
    policy(world, frozen_fence_days=0)
    send(world, "forecast", forecast(3))

    message = send(world, "forecast", forecast(4, quantities=(1205, 1500)))

    assert len(message.released_payload["lines"]) == 2
    assert "selective_sync" not in message.released_payload["hub"]


def test_a_large_forecast_validated_in_chunks_keeps_the_policy(
    world, settings, django_capture_on_commit_callbacks
):
    settings.VALIDATION_CHUNK_LINES = 1  # two lines: two chunks, on any worker
    policy(world, change_threshold_percent=5, frozen_fence_days=7)
    with django_capture_on_commit_callbacks(execute=True):
        send(world, "forecast", forecast(3))
    with django_capture_on_commit_callbacks(execute=True):
        filtered = send(world, "forecast", forecast(4, quantities=(1201, 1500)))
    with django_capture_on_commit_callbacks(execute=True):
        frozen = send(world, "forecast", forecast(5, quantities=(500, 1500)))
    with django_capture_on_commit_callbacks(execute=True):
        stale = send(world, "forecast", forecast(4, quantities=(1, 1)))

    filtered.refresh_from_db()
    assert filtered.status == "released"
    assert [line["quantity"] for line in filtered.released_payload["lines"]] == [1500]
    assert filtered.released_payload["hub"]["selective_sync"]["lines_filtered"] == 1
    assert ForecastRelease.objects.get(version=4).lines_filtered == 1
    frozen.refresh_from_db()
    stale.refresh_from_db()
    assert rules(frozen) == ["FROZEN_FENCE_CHANGE"]
    assert rules(stale) == ["STALE_FORECAST_VERSION"]


# --- purchase orders ---------------------------------------------------------------------------


def test_a_released_order_is_recorded_and_changes_must_come_in_sequence(world):
    original = send(world, "purchase_order")
    order = PurchaseOrder.objects.get(po_number="4500012345")
    line = order.lines.get()
    assert (order.change_sequence, order.plant, order.supplier_site) == (0, world.plant, world.site)
    assert (line.item, line.base_quantity, line.need_by) == (
        world.bearing,
        Decimal(500),
        datetime.date(2026, 3, 20),
    )

    change = example("purchase_order", change_sequence=1)
    change["lines"][0]["quantity"] = "450"
    assert send(world, "purchase_order", change).status == "released"
    order.refresh_from_db()
    assert order.change_sequence == 1
    assert order.lines.get().base_quantity == Decimal(450)
    assert [c.change_sequence for c in order.changes.all()] == [0, 1]

    for payload in (
        example("purchase_order", change_sequence=1),  # not newer
        example("purchase_order", change_sequence=0),  # the original again
        example("purchase_order", po_number="4599999999", change_sequence=2),  # unknown
    ):
        refused = send(world, "purchase_order", payload)
        assert refused.status == "quarantined"
        [diagnostic] = refused.diagnostics
        assert (diagnostic["rule"], diagnostic["path"]) == (
            "PO_CHANGE_OUT_OF_SEQUENCE",
            "$.change_sequence",
        )
    assert original.status == "released"


def stored(world, payload):
    """A purchase order stored as the API stores it, its validation not run yet."""
    with mock.patch.object(enqueue, "enqueue_validation"):
        return submit_message(
            system=world.systems["ERP_LEGACY"],
            message_type="purchase_order",
            schema_version=1,
            payload=payload,
            idempotency_key=f"k-{InboundMessage.objects.count() + 1}",
        ).message


def test_a_change_judged_before_its_original_is_final_waits_for_it(
    world, django_capture_on_commit_callbacks
):
    # Two workers took the original and its change a second apart: the change's task runs
    # while the original is still received, then while it is being validated.
    original = stored(world, example("purchase_order"))
    change = stored(world, example("purchase_order", change_sequence=1))

    assert validate.validate_message(change.pk) is None
    claim = claims.claim_message(original.pk)
    assert validate.validate_message(change.pk) is None
    change.refresh_from_db()
    assert (change.status, change.diagnostics, change.attempts) == ("received", [], 0)
    assert not QuarantineCase.objects.exists()

    # The original's outcome wakes the change after commit; it is judged then, and released.
    outcomes.release_claim(claim, "The worker was stopped.")
    with django_capture_on_commit_callbacks(execute=True):
        assert validate.validate_message(original.pk) == "released"
    change.refresh_from_db()
    assert change.status == "released", change.diagnostics
    assert PurchaseOrder.objects.get(po_number="4500012345").change_sequence == 1
    assert not QuarantineCase.objects.exists()


def test_the_sweep_enqueues_a_waiting_change_whose_wake_up_was_lost(world, settings):
    original = stored(world, example("purchase_order"))
    change = stored(world, example("purchase_order", change_sequence=1))
    assert validate.validate_message(change.pk) is None  # waits for the original
    validate.validate_message(original.pk)  # its wake-up never runs (no commit in this test)

    later = timezone.now() + datetime.timedelta(seconds=settings.VALIDATION_RECEIVED_TIMEOUT + 1)
    assert sweep.sweep_stuck_messages(now=later)["requeued"] == 1

    change.refresh_from_db()
    assert change.status == "released", change.diagnostics


def test_an_order_validated_in_chunks_is_recorded_line_by_line(
    world, settings, django_capture_on_commit_callbacks
):
    settings.VALIDATION_CHUNK_LINES = 1
    payload = example("purchase_order")
    payload["lines"].append({**payload["lines"][0], "line": 20, "quantity": "7"})

    with django_capture_on_commit_callbacks(execute=True):
        message = send(world, "purchase_order", payload)

    message.refresh_from_db()
    assert message.status == "released"
    order = PurchaseOrder.objects.get(po_number="4500012345")
    assert order.message == message
    assert [(line.line, line.base_quantity) for line in order.lines.all()] == [
        (10, Decimal(500)),
        (20, Decimal(7)),
    ]


def test_a_message_is_recorded_once_however_often_its_task_runs(world):
    message = send(world, "purchase_order")

    validate.validate_message(message.pk)  # a redelivered task

    assert PurchaseOrder.objects.get(po_number="4500012345").changes.count() == 1


# --- acknowledgements --------------------------------------------------------------------------


@pytest.fixture
def statuses(world):
    """The supplier network's X12 codes for the statuses beyond accepted and rejected."""
    code_list = CodeList.objects.get(code="ACK_LINE_STATUS")
    for code, erp_code, status in (
        ("IB", "03", "backordered"),
        ("IC", "02", "accepted_with_changes"),
    ):
        value = CodeValue.objects.create(code_list=code_list, code=status, meaning=status)
        for system, sent in (("SUPPLIER_NET", code), ("ERP_LEGACY", erp_code)):
            register_reference(
                kind="code_value",
                system=world.systems[system],
                code=sent,
                target=value,
                is_preferred=True,
            )


def ack(*lines):
    payload = example("po_acknowledgement")
    base = payload["lines"][0]
    payload["lines"] = [{**base, **changes} for changes in lines]
    return payload


def test_an_acknowledgement_is_correlated_to_its_order_and_line(world):
    message = send(world, "po_acknowledgement")
    assert (message.status, message.diagnostics) == ("released", [])
    line = PurchaseOrderLine.objects.get(order__po_number=OPEN_PO)
    assert (line.ack_status, line.committed_quantity) == ("accepted", Decimal(500))

    unknown = send(world, "po_acknowledgement", example("po_acknowledgement", po_number="4511"))
    assert rules(unknown) == ["UNKNOWN_PO"]
    assert unknown.diagnostics[0]["path"] == "$.po_number"
    no_line = send(world, "po_acknowledgement", ack({"line": 20}))
    assert rules(no_line) == ["UNKNOWN_PO_LINE"]
    assert no_line.diagnostics[0]["path"] == "$.lines[0].line"
    assert "its lines: 10" in no_line.diagnostics[0]["message"]


def test_acknowledged_quantities_are_checked_against_the_order_line(world, statuses):
    less = send(world, "po_acknowledgement", ack({"committed_quantity": 400}))
    more = send(world, "po_acknowledgement", ack({"status": "IB", "committed_quantity": 600}))
    split = send(
        world,
        "po_acknowledgement",
        ack({"committed_quantity": 300}, {"status": "IB", "committed_quantity": 200}),
    )

    assert rules(less) == ["ACK_QUANTITY_MISMATCH"]
    assert (
        "accepted as ordered, but commits 400 H87 of the 500 H87" in less.diagnostics[0]["message"]
    )
    assert rules(more) == ["ACK_QUANTITY_MISMATCH"]
    assert split.status == "released"


def test_committed_dates_are_working_days_of_the_supplier_site(world):
    world.site.calendar = world.calendar
    world.site.save()

    stocktaking = send(world, "po_acknowledgement", ack({"committed_date": "2026-03-13"}))
    working = send(world, "po_acknowledgement", ack({"committed_date": "2026-03-12"}))

    [diagnostic] = stocktaking.diagnostics
    assert diagnostic["rule"] == "COMMITTED_DATE_NOT_WORKING_DAY"
    assert "Stocktaking" in diagnostic["message"]
    assert diagnostic["suggestion"] == "The site's next working day is 2026-03-16."
    assert working.status == "released"


def test_a_late_or_short_acknowledgement_is_released_and_raises_a_supply_exception(world, statuses):
    # 70 % on the need-by date, 30 % two weeks later.
    message = send(
        world,
        "po_acknowledgement",
        ack(
            {"committed_quantity": 350, "committed_date": "2026-03-20"},
            {"status": "IB", "committed_quantity": 150, "committed_date": "2026-04-03"},
        ),
    )

    assert message.status == "released"
    assert rules(message) == ["SUPPLY_AT_RISK"]
    assert message.diagnostics[0]["severity"] == "warning"
    assert message.released_payload["lines"][1]["hub"]["status"]["id"] == (
        "ACK_LINE_STATUS:backordered"
    )
    exception = SupplyException.objects.get()
    assert (exception.item, exception.plant, exception.supplier) == (
        world.bearing,
        world.plant,
        world.supplier,
    )
    assert exception.order_line.line == 10
    assert (exception.quantity_at_risk, exception.days_late) == (Decimal(150), 14)
    assert exception.status == "backordered"


def test_an_acknowledgement_as_ordered_raises_no_supply_exception(world, statuses):
    send(world, "po_acknowledgement")
    send(world, "po_acknowledgement", ack({"status": "IC"}))  # changed, but not less or later

    assert not SupplyException.objects.exists()


# --- ship notices and receipts -----------------------------------------------------------------


def test_a_shipment_id_is_announced_once(world):
    first = send(world, "ship_notice")
    repeat = example("ship_notice")
    repeat["lines"][0]["quantity"] = 1  # within what is left: only the id is wrong
    Rule.objects.filter(code="OVER_SHIPMENT").update(tolerance_percent=1)
    again = send(world, "ship_notice", repeat)
    other = send(world, "ship_notice", example("ship_notice", shipment_id="ASN-2026-0002"))

    assert first.status == "released"
    assert rules(again) == ["DUPLICATE_SHIPMENT"]
    assert again.diagnostics[0]["path"] == "$.shipment_id"
    # The second shipment carries 500 more: over the order line's 500.
    assert rules(other) == ["OVER_SHIPMENT"]


def test_every_pack_of_a_v2_ship_notice_has_a_valid_sscc(world):
    payload = example("ship_notice")
    payload["lines"][0]["packs"] = [
        {"sscc": "376130321109103420", "quantity": 250},  # a valid check digit
        {"sscc": "376130321109103421", "quantity": 250},
    ]
    refused = send(world, "ship_notice", payload, version=2)
    [diagnostic] = refused.diagnostics
    assert (diagnostic["rule"], diagnostic["path"]) == (
        "SSCC_INVALID",
        "$.lines[0].packs[1].sscc",
    )

    payload["lines"][0]["packs"].pop()
    payload["shipment_id"] = "ASN-2026-0002"
    released = send(world, "ship_notice", payload, version=2)
    assert (released.status, released.diagnostics) == ("released", [])
    assert released.released_payload["lines"][0]["packs"][0]["sscc"] == "376130321109103420"


def test_a_ship_notice_names_a_released_order_line(world):
    payload = example("ship_notice")
    payload["lines"][0]["po_line"] = 20
    assert rules(send(world, "ship_notice", payload)) == ["UNKNOWN_PO_LINE"]
    payload["lines"][0]["po_number"] = "4599"
    assert rules(send(world, "ship_notice", payload)) == ["UNKNOWN_PO"]


def test_over_shipment_is_measured_against_the_acknowledgement_with_a_tolerance(world, statuses):
    within = example("ship_notice", shipment_id="S-1")
    within["lines"][0]["quantity"] = 520  # 4 % over the 500 ordered; the tolerance is 5 %
    assert send(world, "ship_notice", within).status == "released"

    send(world, "po_acknowledgement", ack({"status": "IB", "committed_quantity": 400}))
    more = example("ship_notice", shipment_id="S-2")
    more["lines"][0]["quantity"] = 1
    refused = send(world, "ship_notice", more)
    [diagnostic] = refused.diagnostics
    assert diagnostic["rule"] == "OVER_SHIPMENT"
    assert "acknowledged 400 (ordered 500)" in diagnostic["message"]

    Rule.objects.filter(code="OVER_SHIPMENT").update(tolerance_percent=50)  # a steward's
    assert (
        send(
            world,
            "ship_notice",
            example("ship_notice", shipment_id="S-3")
            | {"lines": [{**more["lines"][0], "quantity": 1}]},
        ).status
        == "released"
    )


def test_receipts_close_the_loop_and_count_towards_ship_notice_coverage(world):
    send(world, "ship_notice")
    announced = send(world, "receipt")
    unannounced = example("receipt", receipt_id="GR-5000002")
    unannounced["lines"][0].update(shipment_id="ASN-NONE", quantity="0.5")
    send(world, "receipt", unannounced)

    assert announced.status == "released"
    line = PurchaseOrderLine.objects.get(order__po_number=OPEN_PO)
    assert (line.shipped_quantity, line.received_quantity) == (Decimal(500), Decimal("500.5"))
    assert line.open_quantity == 0
    assert [r.notice is not None for r in ReceiptLine.objects.order_by("pk")] == [True, False]
    assert reports.ship_notice_coverage() == {
        "receipts": 2,
        "with_ship_notice": 1,
        "share": 0.5,
    }
    unknown = example("receipt", receipt_id="GR-3")
    unknown["lines"][0]["po_number"] = "4599"
    assert rules(send(world, "receipt", unknown)) == ["UNKNOWN_PO"]


def test_ship_notice_coverage_is_empty_before_any_receipt(world):
    assert reports.ship_notice_coverage() == {
        "receipts": 0,
        "with_ship_notice": 0,
        "share": None,
    }


def test_acknowledgement_turnaround_is_measured_per_supplier(world):
    send(world, "purchase_order")
    order = PurchaseOrder.objects.get(po_number="4500012345")
    PurchaseOrder.objects.filter(pk=order.pk).update(
        released_at=order.released_at - datetime.timedelta(hours=2)
    )
    payload = example("po_acknowledgement", po_number="4500012345")
    send(world, "po_acknowledgement", payload)

    figures = reports.acknowledgement_turnaround()

    assert list(figures) == [world.supplier.public_id]
    assert figures[world.supplier.public_id]["orders"] == 1
    assert 7200 <= figures[world.supplier.public_id]["max_seconds"] < 7260
    assert figures[world.supplier.public_id]["avg_seconds"] == pytest.approx(
        figures[world.supplier.public_id]["max_seconds"]
    )


def test_the_x12_codes_and_a_portals_words_are_loaded_as_status_cross_references(world):
    out = io.StringIO()
    call_command("load_ack_status_codes", "SUPPLIER_NET", scheme="x12_668", stdout=out)
    call_command("load_ack_status_codes", "SUPPLIER_NET", scheme="portal", stdout=out)
    again = status_codes.load_status_codes(world.systems["SUPPLIER_NET"], "x12_668")

    assert "x12_668 for SUPPLIER_NET: 21 registered, 2 already there" in out.getvalue()
    assert again == {"registered": 0, "unchanged": 23, "conflicts": 0}
    statuses = {
        line["status"]: line
        for line in send(
            world,
            "po_acknowledgement",
            ack(
                {"status": "DR", "committed_quantity": 200},
                {"status": "Delayed", "committed_quantity": 300, "committed_date": "2026-03-27"},
            ),
        ).released_payload["lines"]
    }
    assert statuses["DR"]["hub"]["status"]["id"] == "ACK_LINE_STATUS:accepted_with_changes"
    assert statuses["Delayed"]["hub"]["status"]["id"] == "ACK_LINE_STATUS:backordered"
    assert SupplyException.objects.get().days_late == 7


def test_the_ledger_figures_reach_metrics_over_their_window(world, client, settings):
    from prometheus_client.parser import text_string_to_metric_families

    send(world, "purchase_order")
    order = PurchaseOrder.objects.get(po_number="4500012345")
    PurchaseOrder.objects.filter(pk=order.pk).update(
        released_at=order.released_at - datetime.timedelta(hours=2)
    )
    send(world, "po_acknowledgement", example("po_acknowledgement", po_number="4500012345"))
    send(world, "ship_notice")
    send(world, "receipt")
    settings.METRICS_TOKEN = "metrics-token-for-tests-only-0123456789"

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}")
    families = {f.name: f for f in text_string_to_metric_families(response.content.decode())}

    [turnaround] = families["hub_ack_turnaround_seconds"].samples
    assert turnaround.labels == {"supplier": world.supplier.public_id}
    assert 7200 <= turnaround.value < 7260
    [coverage] = families["hub_ship_notice_coverage_ratio"].samples
    assert coverage.value == 1.0
    # Outside the window (orders released, receipts recorded before it) nothing counts.
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    assert reports.acknowledgement_turnaround(since=later) == {}
    assert reports.ship_notice_coverage(since=later)["receipts"] == 0
