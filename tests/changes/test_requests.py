"""The change request service (changes.requests), on its own: which changes a policy holds,
what a request keeps, and who may do what with it. A change held for approval never reaches
the database before approval; approval applies it in one transaction and names both people in
the record's history; a stale request is refused, nothing written, until rebased; an
emergency change is applied at once and stays listed until approved after the fact."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError

from changes import requests
from changes.models import ApprovalPolicy, ChangeRequest
from mdm.models import SourceSystem, Supplier
from tests.changes.conftest import person
from validation.models import PlanPolicy

pytestmark = pytest.mark.django_db


def status_policy():
    return ApprovalPolicy.objects.create(kind="mdm.supplier", fields=["status"])


def edited(supplier, **values):
    copy = Supplier.objects.get(pk=supplier.pk)
    for name, value in values.items():
        setattr(copy, name, value)
    return copy


def asked(supplier, by, **values):
    proposal = requests.hold(edited(supplier, **values), "update")
    assert proposal is not None
    return requests.ask([proposal], by=by, reason="Supplier stopped trading", source="api")


# --- what a policy holds --------------------------------------------------------------------


def test_a_policy_on_a_field_holds_a_change_of_that_field_and_no_other(supplier):
    status_policy()

    assert requests.hold(edited(supplier, name="Frontier Bearings"), "update") is None
    held = requests.hold(edited(supplier, status="blocked"), "update")
    assert (held.before, held.after) == ({"status": "active"}, {"status": "blocked"})
    assert held.label == f"Frontier Bearing Supply ({supplier.public_id})"
    # A field policy says nothing of creating or deleting a supplier.
    assert requests.hold(Supplier(number="V2", name="New", country="DE"), "create") is None
    assert requests.hold(supplier, "delete") is None


def test_a_policy_without_fields_holds_every_change_and_inactive_ones_hold_none(supplier):
    policy = ApprovalPolicy.objects.create(kind="mdm.supplier")

    assert requests.hold(edited(supplier, name="Frontier Bearings"), "update") is not None
    new = requests.hold(Supplier(number="V2", name="New", country="DE"), "create")
    assert new.after["number"] == "V2" and new.object_id == ""
    assert requests.hold(supplier, "delete").before["name"] == "Frontier Bearing Supply"
    policy.active = False
    policy.save()
    assert requests.hold(edited(supplier, name="Frontier Bearings"), "update") is None


def test_a_policy_naming_systems_holds_only_those_systems_records(erp_system, planning_system):
    ApprovalPolicy.objects.create(kind="validation.planpolicy", systems=["PLANNING"])
    planned = PlanPolicy.objects.create(system=planning_system, plan_id="SOP", horizon_weeks=12)
    other = PlanPolicy.objects.create(system=erp_system, plan_id="SOP", horizon_weeks=12)
    planned.horizon_weeks = other.horizon_weeks = 26

    assert requests.hold(planned, "update").systems == ("PLANNING",)
    assert requests.hold(other, "update") is None
    # Moving a record into a governed system is covered too.
    other.system = planning_system
    assert requests.hold(other, "update").systems == ("ERP_LEGACY", "PLANNING")


def test_an_unchanged_record_or_an_ungoverned_kind_holds_nothing(supplier, erp_system):
    ApprovalPolicy.objects.create(kind="mdm.supplier")

    assert requests.hold(edited(supplier), "update") is None
    assert requests.hold(SourceSystem.objects.get(code="ERP_LEGACY"), "delete") is None


# --- asking and approving ---------------------------------------------------------------------


def test_a_held_change_waits_and_is_applied_only_when_another_person_approves(supplier, alice, bob):
    status_policy()
    request = asked(supplier, alice, status="blocked")

    assert request.status == "open" and request.awaits_approval
    assert request.title == (
        f"Change to suppliers: Frontier Bearing Supply ({supplier.public_id}) (status)"
    )
    supplier.refresh_from_db()
    assert supplier.status == "active"  # nothing reached the database
    assert supplier.history.count() == 1
    with pytest.raises(PermissionDenied, match="another person must review it"):
        requests.approve(request, by=alice)
    supplier.refresh_from_db()
    assert supplier.status == "active"

    requests.approve(request, by=bob, comment="Confirmed with purchasing")

    supplier.refresh_from_db()
    assert supplier.status == "blocked"
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.comment) == (
        "applied",
        bob,
        "Confirmed with purchasing",
    )
    latest = supplier.history.first()
    assert latest.history_user == bob
    assert latest.history_change_reason == f"{request.number} asked by alice, approved by bob"
    assert latest.change_reference == request.number


def test_a_reason_is_required_and_approving_needs_the_approver_permission(
    supplier, alice, django_user_model
):
    status_policy()
    proposal = requests.hold(edited(supplier, status="blocked"), "update")
    with pytest.raises(ValidationError, match="say why"):
        requests.ask([proposal], by=alice, reason="  ", source="admin")
    assert ChangeRequest.objects.count() == 0

    request = asked(supplier, alice, status="blocked")
    plain = person(django_user_model, "dave")
    with pytest.raises(PermissionDenied, match="approver permission"):
        requests.approve(request, by=plain)
    with pytest.raises(PermissionDenied, match="approver permission"):
        requests.reject(request, by=plain, comment="No")


def test_a_stale_request_is_refused_whole_until_the_requester_rebases_it(supplier, alice, bob):
    ApprovalPolicy.objects.create(kind="mdm.supplier")
    other = Supplier.objects.create(number="V200", name="Kugelmann", country="DE")
    first = requests.hold(edited(supplier, status="blocked"), "update")
    second = requests.hold(edited(other, name="Kugelmann Wälzlager"), "update")
    request = requests.ask([first, second], by=alice, reason="Clean-up", source="api")
    Supplier.objects.filter(pk=other.pk).update(name="Kugelmann GmbH")  # someone else, since

    assert [
        (item.label, field, before, now)
        for item, field, before, now in requests.departures(request)
    ] == [(f"Kugelmann ({other.public_id})", "name", "Kugelmann", "Kugelmann GmbH")]
    with pytest.raises(requests.Stale, match="name is now Kugelmann GmbH, it was Kugelmann"):
        requests.approve(request, by=bob)
    supplier.refresh_from_db()
    assert supplier.status == "active"  # the first item was rolled back with the second
    request.refresh_from_db()
    assert request.status == "open"

    with pytest.raises(PermissionDenied):
        requests.rebase(request, by=bob)
    requests.rebase(request, by=alice)
    requests.approve(request, by=bob)

    supplier.refresh_from_db()
    other.refresh_from_db()
    assert (supplier.status, other.name) == ("blocked", "Kugelmann Wälzlager")


def test_rebasing_drops_what_the_records_already_hold(supplier, alice):
    status_policy()
    request = asked(supplier, alice, status="blocked")
    Supplier.objects.filter(pk=supplier.pk).update(status="blocked")

    with pytest.raises(requests.Refused, match="nothing is left to approve; withdraw it"):
        requests.rebase(request, by=alice)
    requests.withdraw(request, by=alice)
    request.refresh_from_db()
    assert request.status == "withdrawn"
    with pytest.raises(requests.Refused, match="withdrawn already"):
        requests.withdraw(request, by=alice)


def test_a_rejection_needs_a_comment_and_writes_nothing(supplier, alice, bob):
    status_policy()
    request = asked(supplier, alice, status="blocked")

    with pytest.raises(ValidationError, match="why the change is rejected"):
        requests.reject(request, by=bob, comment="")
    requests.reject(request, by=bob, comment="Still delivering")

    supplier.refresh_from_db()
    request.refresh_from_db()
    assert (supplier.status, request.status, request.comment) == (
        "active",
        "rejected",
        "Still delivering",
    )
    with pytest.raises(requests.Refused, match="rejected already"):
        requests.approve(request, by=bob)


def test_a_creation_and_a_deletion_are_applied_on_approval(alice, bob, supplier):
    ApprovalPolicy.objects.create(kind="validation.planpolicy")
    system = SourceSystem.objects.create(code="PLANNING", name="Planning", kind="planning")
    new = PlanPolicy(
        system=system, plan_id="SOP", horizon_weeks=12, change_threshold_percent=Decimal("2.5")
    )
    created = requests.ask(
        [requests.hold(new, "create")], by=alice, reason="New plan", source="api"
    )
    assert PlanPolicy.objects.count() == 0

    requests.approve(created, by=bob)

    policy = PlanPolicy.objects.get()
    assert (policy.plan_id, policy.change_threshold_percent) == ("SOP", Decimal("2.5"))
    deleted = requests.ask(
        [requests.hold(policy, "delete")], by=alice, reason="Plan retired", source="api"
    )
    assert PlanPolicy.objects.count() == 1
    requests.approve(deleted, by=bob)
    assert PlanPolicy.objects.count() == 0


def test_an_invalid_change_is_refused_at_approval_with_the_records_words(alice, bob, supplier):
    ApprovalPolicy.objects.create(kind="mdm.supplier")
    new = Supplier(number="V100", name="Twin", country="DE")  # the number is taken
    request = requests.ask([requests.hold(new, "create")], by=alice, reason="x", source="api")

    with pytest.raises(requests.Refused, match="(?i)no longer fits: .*number already exists"):
        requests.approve(request, by=bob)
    assert Supplier.objects.count() == 1


# --- emergencies ------------------------------------------------------------------------------


def test_an_emergency_change_is_applied_at_once_and_listed_until_approved_after(
    supplier, alice, bob, carol
):
    status_policy()
    request = asked(supplier, carol, status="blocked")

    with pytest.raises(PermissionDenied, match="emergency permission"):
        requests.apply_now(request, by=alice, reason="Fraud alert")
    with pytest.raises(ValidationError, match="cannot wait"):
        requests.apply_now(request, by=carol, reason="")
    requests.apply_now(request, by=carol, reason="Fraud alert from the bank")

    supplier.refresh_from_db()
    assert supplier.status == "blocked"
    assert list(requests.emergency_unapproved()) == [request]
    request.refresh_from_db()
    assert request.awaits_approval and request.is_emergency
    assert supplier.history.first().history_change_reason == (
        f"{request.number} applied as an emergency by carol"
    )
    # Whoever applied it cannot approve it after the fact.
    carol.groups.add(Group.objects.get(name="approver"))
    carol = type(carol).objects.get(pk=carol.pk)
    with pytest.raises(PermissionDenied, match="another person must review it"):
        requests.approve(request, by=carol)

    requests.approve(request, by=bob, comment="Bank confirmed")

    assert list(requests.emergency_unapproved()) == []
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("applied", bob)
    supplier.refresh_from_db()
    assert supplier.status == "blocked"  # applied once, not again
    assert supplier.history.count() == 2
