"""The quarantine review workflow: filters, actions and their permissions, conflicts,
replay, auto-replay, SLA notices, payload edits and bulk runs."""

import datetime
import threading
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from quarantine import services
from quarantine.filters import CaseFilter
from quarantine.models import BulkRun, CaseKey, QuarantineCase, TeamSettings
from tests.quarantine.test_cases import SHIP_NOTICE, finding, quarantine
from tests.services import require
from tests.validation.world import example
from validation import enqueue, pipeline, replay
from validation.models import InboundMessage, PayloadRevision, PurchaseOrder
from validation.submission import submit_message
from xref.services import register_reference

pytestmark = pytest.mark.django_db

RELEASED = pipeline.Outcome(status="released", diagnostics=[])


@pytest.fixture
def overrider(steward):
    steward.groups.add(Group.objects.get(name="override"))
    return type(steward).objects.get(pk=steward.pk)  # fresh permission cache


@pytest.fixture
def case(erp_system):
    quarantine(erp_system)
    return QuarantineCase.objects.get()


def replayed(outcome, func, *args, **kwargs):
    """Run an action that replays, with validation concluding `outcome`."""
    with mock.patch.object(pipeline, "evaluate", return_value=outcome), _on_commit():
        return func(*args, **kwargs)


def _on_commit():
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)


# --- filters ------------------------------------------------------------------------------


def _filtered(**params):
    return list(CaseFilter(params, queryset=QuarantineCase.objects.all()).qs)


def test_it_filters_the_queue(erp_system, planning_system):
    first = quarantine(erp_system).quarantine_case
    other = dict(SHIP_NOTICE, supplier="SUP-OTHER", ship_to="DE-B-02", shipment_id="ASN-77")
    second = quarantine(
        planning_system, [finding("SHIP_TO_INVALID", "$.ship_to", team="erp")], other
    ).quarantine_case
    QuarantineCase.objects.filter(pk=second.pk).update(
        opened_at=timezone.now() - datetime.timedelta(days=2)
    )

    assert _filtered(team="procurement") == [first]
    assert _filtered(team="erp") == [second]
    assert _filtered(rule="XREF_UNRESOLVED") == [first]
    assert _filtered(rule="SHIP_TO_INVALID") == [second]
    assert _filtered(plant="DE-B-02") == [second]
    assert _filtered(supplier="SUP-NET-0042") == [first]
    assert _filtered(item="6205-ZZ") == [first]
    assert _filtered(system="PLANNING") == [second]
    assert _filtered(message_type="ship_notice") == [second, first]  # oldest first
    assert _filtered(status=["open"]) == [second, first]
    assert _filtered(status=["rejected"]) == []
    assert _filtered(age="lt1h") == [first]
    assert _filtered(age="lt3d") == [second]
    assert _filtered(age="lt1d") == _filtered(age="older") == []
    assert _filtered(q="asn-77") == [second]
    assert _filtered(q=first.message.public_id) == [first]
    assert _filtered(q="item_obsolete at") == [first]  # a diagnostic's sentence
    assert _filtered(ordering="age") == [first, second]
    assert _filtered(ordering="-age") == [second, first]
    assert not CaseFilter({"age": "soon"}, queryset=QuarantineCase.objects.all()).is_valid()


# --- permissions --------------------------------------------------------------------------


def test_a_viewer_cannot_act(case, viewer, steward):
    assert not services.can_act(viewer)
    for action, kwargs in (
        (services.assign, {"assignee": steward}),
        (services.replay, {}),
        (services.reject, {"reason": "no"}),
        (services.release_by_override, {"reason": "no"}),
        (services.edit_payload, {"payload": SHIP_NOTICE}),
    ):
        with pytest.raises(PermissionDenied):
            action(case, by=viewer, **kwargs)
    with pytest.raises(PermissionDenied):
        services.bulk("reject", [case.pk], by=viewer, reason="no")
    case.refresh_from_db()
    assert case.status == "open"
    assert case.transitions.count() == 1


def test_a_steward_without_the_override_permission_cannot_release(case, steward):
    assert services.can_act(steward)
    assert not services.can_override(steward)
    with pytest.raises(PermissionDenied):
        services.release_by_override(case, by=steward, reason="Supplier confirmed by phone")
    case.refresh_from_db()
    assert case.status == "open"
    assert case.message.status == "quarantined"


def test_a_steward_in_the_override_group_releases_with_a_reason(case, overrider):
    with pytest.raises(ValidationError):
        services.release_by_override(case, by=overrider, reason=" ")
    services.release_by_override(case, by=overrider, reason="Supplier confirmed by phone")

    case.refresh_from_db()
    assert case.status == "released_by_override"
    assert case.resolved_at is not None
    assert case.message.status == "released"
    assert case.message.released_payload == SHIP_NOTICE
    last = case.transitions.last()
    assert (last.by, last.from_status, last.to_status) == (overrider, "open", case.status)
    assert "Supplier confirmed by phone" in last.reason
    assert not CaseKey.objects.filter(case=case).exists()


# --- actions and conflicts ----------------------------------------------------------------


def test_it_assigns_and_rejects_recording_each_transition(case, steward):
    services.assign(case, by=steward, assignee=steward, expected_status="open")
    assert (case.status, case.assignee_id) == ("in_review", steward.pk)
    services.reject(case, by=steward, reason="Duplicate of ASN-0")

    case.refresh_from_db()
    assert case.status == "rejected"
    assert case.message.status == "quarantined"  # never released
    steps = [(t.from_status, t.to_status, t.by) for t in case.transitions.all()]
    assert steps == [
        ("", "open", None),
        ("open", "in_review", steward),
        ("in_review", "rejected", steward),
    ]


def test_a_second_action_on_a_closed_case_gets_a_conflict_naming_the_first(case, steward, viewer):
    stale = QuarantineCase.objects.get(pk=case.pk)
    services.reject(case, by=steward, reason="Duplicate")

    with pytest.raises(services.CaseConflict, match=r"already rejected by stella.steward at"):
        services.replay(stale, by=steward)
    with pytest.raises(services.CaseConflict):
        services.assign(stale, by=steward, assignee=None)
    assert QuarantineCase.objects.get(pk=case.pk).transitions.count() == 2


def test_assign_with_a_stale_status_is_a_conflict(case, steward):
    services.assign(case, by=steward, assignee=steward)
    with pytest.raises(services.CaseConflict):
        services.assign(case, by=steward, assignee=None, expected_status="open")


@pytest.mark.django_db(transaction=True)
def test_of_two_concurrent_actions_one_wins_and_the_other_gets_a_conflict(
    erp_system, steward, overrider
):
    require(connection.vendor == "postgresql", "PostgreSQL")
    quarantine(erp_system)
    case_id = QuarantineCase.objects.get().pk
    barrier, results = threading.Barrier(2), {}

    def act(name, func, user, **kwargs):
        try:
            case = QuarantineCase.objects.get(pk=case_id)
            barrier.wait()
            func(case, by=user, **kwargs)
            results[name] = "ok"
        except services.CaseConflict as exc:
            results[name] = str(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(
            target=act, args=("reject", services.reject, steward), kwargs={"reason": "dup"}
        ),
        threading.Thread(
            target=act,
            args=("release", services.release_by_override, overrider),
            kwargs={"reason": "ok"},
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results.values()).count("ok") == 1, results
    loser = next(text for text in results.values() if text != "ok")
    assert loser.startswith(f"Case {case_id} was already ")
    case = QuarantineCase.objects.get(pk=case_id)
    assert case.transitions.count() == 2  # the opening and the winner's
    assert case.message.status == ("released" if results["release"] == "ok" else "quarantined")


# --- replay -------------------------------------------------------------------------------


def test_a_replay_that_releases_resolves_the_case(case, steward):
    replayed(RELEASED, services.replay, case, by=steward, reason="master data fixed")

    case.refresh_from_db()
    assert case.status == "resolved_by_replay"
    assert case.resolved_at is not None
    assert not case.replay_pending
    assert case.message.status == "released"
    assert case.message.attempts == 2
    reasons = [t.reason for t in case.transitions.all()]
    assert reasons[1] == "Replayed by stella.steward: master data fixed"
    assert reasons[2] == "Replayed and released."


def test_a_replay_quarantined_again_keeps_the_one_case_with_the_new_diagnostics(case, steward):
    again = [finding("SHIP_TO_INVALID", "$.ship_to", team="erp")]
    replayed(pipeline.Outcome("quarantined", again), services.replay, case, by=steward)

    assert QuarantineCase.objects.count() == 1
    case.refresh_from_db()
    assert case.status == "open"
    assert case.diagnostics == again
    assert case.rule_codes == ["SHIP_TO_INVALID"]
    assert (
        case.transitions.last().reason
        == "Replayed and quarantined again: 1 error(s) (SHIP_TO_INVALID)."
    )
    assert list(CaseKey.objects.values_list("kind", "code")) == [("location", "x")]


def test_a_second_replay_while_the_first_runs_is_a_conflict(case, steward):
    with mock.patch.object(enqueue, "enqueue_validation"):
        services.replay(case, by=steward)
        with pytest.raises(services.CaseConflict, match="already being replayed"):
            services.replay(case, by=steward)
        with pytest.raises(services.CaseConflict):
            services.reject(case, by=steward, reason="too late")


def test_edit_payload_keeps_the_original_and_revalidates(case, steward):
    edited = dict(SHIP_NOTICE, ship_to="DE-HH-02")
    replayed(RELEASED, services.edit_payload, case, by=steward, payload=edited, reason="typo")

    message = InboundMessage.objects.get(pk=case.message_id)
    assert message.payload == edited
    assert message.status == "released"
    revisions = list(PayloadRevision.objects.filter(message=message))
    assert [(r.number, r.author, r.payload) for r in revisions] == [
        (1, None, SHIP_NOTICE),
        (2, steward, edited),
    ]
    assert replay.original_payload(message) == SHIP_NOTICE
    case.refresh_from_db()
    assert case.status == "resolved_by_replay"
    assert "Payload edited by stella.steward (revision 2)" in case.transitions.all()[1].reason


def test_an_edit_breaking_the_contract_is_refused(case, steward):
    with pytest.raises(ValidationError):
        services.edit_payload(case, by=steward, payload={"shipment_id": 5})
    assert InboundMessage.objects.get(pk=case.message_id).payload == SHIP_NOTICE
    assert not PayloadRevision.objects.exists()


# --- the real pipeline: suggestions, fix by reference, auto-replay --------------------------


def _blocked_ship_notice(world, item="6204-2RS-XX"):
    payload = example("ship_notice")
    payload["lines"][0]["item"] = item
    with _on_commit():
        message = submit_message(
            system=world.systems["SUPPLIER_NET"],
            message_type="ship_notice",
            schema_version=1,
            payload=payload,
            idempotency_key=f"asn-{item}",
        ).message
    message.refresh_from_db()
    assert message.status == "quarantined", message.diagnostics
    return message


def test_auto_replay_after_a_cross_reference_is_added_releases_the_blocked_message(world):
    message = _blocked_ship_notice(world)
    case = message.quarantine_case
    assert list(case.keys.values_list("kind", "code")) == [("item", "6204-2RS-XX")]

    with _on_commit():
        reference, _ = register_reference(
            kind="item", system="SUPPLIER_NET", code="6204-2RS-XX", target=world.bearing
        )

    message.refresh_from_db()
    assert message.status == "released"
    case.refresh_from_db()
    assert case.status == "resolved_by_replay"
    reasons = [t.reason for t in case.transitions.all()]
    assert reasons[1] == (
        f"Replayed automatically: Cross-reference #{reference.pk} SUPPLIER_NET item "
        "6204-2RS-XX was added."
    )
    assert reasons[2] == "Replayed and released."
    assert not case.keys.exists()


def test_auto_replay_after_a_master_record_status_changes(world):
    payload = example("ship_notice")
    world.bearing_b.status = "obsolete"
    world.bearing_b.save()
    payload["lines"][0]["item"] = "6205-2RS-C3"
    with _on_commit():
        message = submit_message(
            system=world.systems["SUPPLIER_NET"],
            message_type="ship_notice",
            schema_version=1,
            payload=payload,
            idempotency_key="asn-obsolete",
        ).message
    message.refresh_from_db()
    assert message.status == "quarantined"
    case = message.quarantine_case
    assert ("item", "6205-2RS-C3") in set(case.keys.values_list("kind", "code"))

    item = type(world.bearing_b).objects.get(pk=world.bearing_b.pk)
    item.status = "active"
    with _on_commit():
        item.save()

    message.refresh_from_db()
    assert message.status == "released", message.diagnostics
    assert "changed status from obsolete to active" in case.transitions.all()[1].reason


def _order(world, key, **changes):
    with _on_commit():
        message = submit_message(
            system=world.systems["ERP_LEGACY"],
            message_type="purchase_order",
            schema_version=1,
            payload=example("purchase_order", **changes),
            idempotency_key=key,
        ).message
    message.refresh_from_db()
    return message


def test_a_change_held_for_its_missing_original_is_replayed_when_the_original_is_released(
    world,
):
    # The original was lost on the way; its two changes came and were held.
    changes = [_order(world, f"po-{n}", change_sequence=n) for n in (1, 2)]
    for change in changes:
        assert change.status == "quarantined"
        assert [d["rule"] for d in change.diagnostics] == ["PO_CHANGE_OUT_OF_SEQUENCE"]

    original = _order(world, "po-0")

    assert original.status == "released", original.diagnostics
    for change in changes:
        change.refresh_from_db()
        assert change.status == "released", change.diagnostics
        case = QuarantineCase.objects.get(message=change)
        assert case.status == "resolved_by_replay"
        reasons = [t.reason for t in case.transitions.all()]
        assert reasons[1:] == [
            f"Replayed automatically: {original.public_id} of the same purchase order "
            "(4500012345) was released.",
            "Replayed and released.",
        ]
    assert PurchaseOrder.objects.get(po_number="4500012345").change_sequence == 2


def test_an_acknowledgement_of_an_order_not_released_yet_is_replayed_when_it_is(world):
    with _on_commit():
        ack = submit_message(
            system=world.systems["SUPPLIER_NET"],
            message_type="po_acknowledgement",
            schema_version=1,
            payload=example("po_acknowledgement", po_number="4500012345"),
            idempotency_key="ack-1",
        ).message
    ack.refresh_from_db()
    assert [d["rule"] for d in ack.diagnostics] == ["UNKNOWN_PO"]

    original = _order(world, "po-0")

    ack.refresh_from_db()
    assert ack.status == "released", ack.diagnostics
    assert QuarantineCase.objects.get(message=ack).status == "resolved_by_replay"
    assert original.public_id in QuarantineCase.objects.get(message=ack).transitions.all()[1].reason


def test_suggestions_and_fix_by_reference_in_one_step(world, steward):
    message = _blocked_ship_notice(world)
    case = message.quarantine_case
    # Validation's diagnostic carries the matcher's candidates; the best is the bearing.
    (found,) = services.suggestions(case)
    assert {key: found[key] for key in ("path", "kind", "system", "code", "scope")} == {
        "path": "$.lines[0].item",
        "kind": "item",
        "system": "SUPPLIER_NET",
        "code": "6204-2RS-XX",
        "scope": "",
    }
    best = found["candidates"][0]
    assert (best["id"], best["name"]) == (world.bearing.public_id, "Item 6204-2RS")
    assert isinstance(best["score"], float)

    with _on_commit():
        _, reference = services.fix_by_reference(
            case,
            by=steward,
            kind="item",
            system="SUPPLIER_NET",
            code="6204-2RS-XX",
            target=best["id"],
        )
    assert reference.origin == "match_confirmed"
    assert reference.created_by == steward
    message.refresh_from_db()
    assert message.status == "released"
    case.refresh_from_db()
    assert case.status == "resolved_by_replay"
    assert f"Cross-reference #{reference.pk}" in case.transitions.all()[1].reason


# --- SLA ----------------------------------------------------------------------------------


def test_the_sla_notice_is_sent_once_per_case(case, erp_system):
    TeamSettings.objects.create(team="procurement", sla_hours=4, notify_email="buyers@example.com")
    TeamSettings.objects.create(team="erp", sla_hours=1)
    QuarantineCase.objects.filter(pk=case.pk).update(
        opened_at=timezone.now() - datetime.timedelta(hours=5)
    )

    assert services.mark_overdue() == 1
    assert services.mark_overdue() == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["buyers@example.com"]
    assert f"Case {case.pk}" in mail.outbox[0].body
    case.refresh_from_db()
    assert case.overdue_at is not None and case.sla_notified_at is not None
    assert _filtered(overdue=True) == [case]

    # A new case is not overdue yet, and the first is not told about again.
    quarantine(erp_system, payload=dict(SHIP_NOTICE, shipment_id="ASN-2"))
    assert services.mark_overdue() == 0
    assert len(mail.outbox) == 1


# --- bulk ---------------------------------------------------------------------------------


def test_a_bulk_run_reports_progress_and_each_cases_outcome(erp_system, steward):
    for number in range(3):
        quarantine(erp_system, payload=dict(SHIP_NOTICE, shipment_id=f"ASN-{number}"))
    ids = list(QuarantineCase.objects.values_list("pk", flat=True))
    services.reject(QuarantineCase.objects.get(pk=ids[0]), by=steward, reason="first")

    with _on_commit():
        run = services.start_bulk("reject", [*ids, 999], steward, reason="Supplier test data")

    progress = services.bulk_progress(run.pk)
    assert progress["status"] == "done"
    assert (progress["total"], progress["done"], progress["failed"]) == (4, 4, 2)
    assert progress["percent"] == 100
    assert [f["case"] for f in progress["failures"]] == [ids[0], 999]
    assert "already rejected" in progress["failures"][0]["detail"]
    assert QuarantineCase.objects.filter(status="rejected").count() == 3
    assert BulkRun.objects.get().status == "done"


def test_bulk_assign_takes_a_user_id(erp_system, steward):
    quarantine(erp_system)
    ids = list(QuarantineCase.objects.values_list("pk", flat=True))
    outcomes = services.bulk("assign", ids, by=steward, assignee=steward.pk)
    assert outcomes == [{"case": ids[0], "ok": True, "detail": "In review"}]
    with pytest.raises(ValueError):
        services.bulk("explode", ids, by=steward)
