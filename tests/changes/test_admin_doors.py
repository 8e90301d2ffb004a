"""The admin's door: a change a policy says needs approval, made on a record's admin page,
becomes a change request and writes nothing until another person approves it; then the
record changes, its history names both people, and the messages blocked on the old code
replay on their own. Without a policy the admin writes at once, as it always did."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from changes import requests
from changes.models import ApprovalPolicy, ChangeRequest
from mdm.models import CalendarException, Supplier
from quarantine.models import QuarantineCase
from tests.helpers import logged_in
from tests.mdm.test_admin import _submitted
from tests.validation.world import example
from validation.models import InboundMessage, Rule
from validation.submission import submit_message
from xref.models import CrossReference
from xref.services import update_reference

pytestmark = pytest.mark.django_db

REASON = "Gone's orders go to Kugelmann since the takeover"


@pytest.fixture
def blocked_order(world, django_capture_on_commit_callbacks):
    """A purchase order to supplier 100999, quarantined: Gone is inactive."""
    with django_capture_on_commit_callbacks(execute=True):
        message = submit_message(
            system=world.systems["ERP_LEGACY"],
            message_type="purchase_order",
            schema_version=1,
            payload=example("purchase_order", supplier="100999"),
            idempotency_key="po-to-gone",
        ).message
    message.refresh_from_db()
    assert message.status == InboundMessage.Status.QUARANTINED, message.diagnostics
    assert list(message.quarantine_case.keys.values_list("kind", "code")) == [
        ("supplier", "100999")
    ]
    return message


def change_url(record):
    opts = record._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.pk])


def stored(record):
    """The record's row as the database holds it."""
    return type(record).objects.filter(pk=record.pk).values().get()


def edit(client, record, **values):
    """Submit the record's admin page with `values` changed, as a browser would."""
    page = client.get(change_url(record))
    assert page.status_code == 200
    return client.post(change_url(record), {**_submitted(page), **values})


def remap(client, reference, supplier, reason=REASON):
    """Point the reference at `supplier`; not preferred, the supplier has its own code."""
    return edit(client, reference, supplier=supplier.pk, is_preferred=False, change_reason=reason)


def as_approver(user):
    """The user in the "approver" group too, permissions read afresh."""
    user.groups.add(user.groups.model.objects.get(name="approver"))
    return type(user).objects.get(pk=user.pk)


# --- held -----------------------------------------------------------------------------------


def test_a_remap_in_the_admin_becomes_a_request_and_writes_nothing(
    steward, world, erp_policy, old_code
):
    before, count, versions = (
        stored(old_code),
        CrossReference.objects.count(),
        (old_code.history.count()),
    )

    response = remap(logged_in(steward), old_code, world.supplier)

    change = ChangeRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("changes:request", args=[change.pk])
    assert (CrossReference.objects.count(), stored(old_code)) == (count, before)
    assert old_code.history.count() == versions
    assert (change.status, change.requested_by, change.source) == ("open", steward, "admin")
    assert (change.reason, change.systems) == (REASON, ["ERP_LEGACY"])
    [item] = change.items.all()
    assert (item.action, item.object_id) == ("update", str(old_code.pk))
    assert (item.before, item.after) == (
        {"supplier": world.gone_supplier.pk, "is_preferred": True},
        {"supplier": world.supplier.pk, "is_preferred": False},
    )
    # The record as it is known until the change.
    assert item.label == (
        f"ERP_LEGACY supplier code 100999 -> Gone ({world.gone_supplier.public_id})"
    )


def test_without_a_reason_the_form_asks_for_one_and_nothing_is_asked(
    steward, world, erp_policy, old_code
):
    before = stored(old_code)

    response = remap(logged_in(steward), old_code, world.supplier, reason="  ")

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["change_reason"] == [
        "This change needs another person's approval (ERP codes drive procurement): say why "
        "it is made."
    ]
    assert not ChangeRequest.objects.exists()
    assert stored(old_code) == before


def test_another_system_s_references_are_not_held(steward, world, erp_policy):
    network = CrossReference.objects.get(system__code="SUPPLIER_NET", code="SUP-NET-0042")

    response = edit(logged_in(steward), network, scope="HH", change_reason="")

    assert response.status_code == 302
    assert not ChangeRequest.objects.exists()
    assert CrossReference.objects.get(pk=network.pk).scope == "HH"


def test_a_deletion_in_the_admin_is_held_too(steward, world, erp_policy, old_code):
    response = logged_in(steward).post(
        reverse("admin:xref_crossreference_delete", args=[old_code.pk]), {"post": "yes"}
    )

    change = ChangeRequest.objects.get()
    assert response["Location"] == reverse("changes:request", args=[change.pk])
    assert CrossReference.objects.filter(pk=old_code.pk).exists()
    assert change.items.get().action == "delete"
    assert "no reason could be given" in change.reason


def test_a_revert_from_the_history_page_is_held_too(steward, world, old_code):
    update_reference(old_code, target=world.supplier, is_preferred=False, user=steward)
    ApprovalPolicy.objects.create(kind="xref.crossreference", systems=["ERP_LEGACY"])
    first = old_code.history.order_by("history_id").first()  # still meaning Gone
    url = reverse("admin:xref_crossreference_simple_history", args=[old_code.pk, first.history_id])
    client = logged_in(steward)

    response = client.post(url, {**_submitted(client.get(url)), "change_reason": "Wrong remap"})

    change = ChangeRequest.objects.get()
    assert response["Location"] == reverse("changes:request", args=[change.pk])
    assert CrossReference.objects.get(pk=old_code.pk).supplier == world.supplier
    assert change.items.get().after == {"supplier": world.gone_supplier.pk, "is_preferred": True}
    assert change.reason.startswith("Wrong remap (Reverted to the version of ")


def test_a_new_code_added_in_the_admin_is_registered_in_the_requester_s_name_on_approval(
    steward, approver, world, erp_policy
):
    client = logged_in(steward)
    url = reverse("admin:xref_crossreference_add")
    new = {"system": world.systems["ERP_LEGACY"].pk, "kind": "supplier", "code": "100777"}
    new.update(supplier=world.supplier.pk, status="active", change_reason="Second account")

    response = client.post(url, {**_submitted(client.get(url)), **new})

    change = ChangeRequest.objects.get()
    assert response["Location"] == reverse("changes:request", args=[change.pk])
    assert not CrossReference.objects.filter(code="100777").exists()
    assert change.items.get().label == (
        f"ERP_LEGACY supplier code 100777 -> Kugelmann ({world.supplier.public_id})"
    )

    requests.approve(change, by=approver)

    created = CrossReference.objects.get(code="100777")
    assert (created.supplier, created.created_by, created.origin) == (
        world.supplier,
        steward,
        "manual",
    )
    assert created.history.get().history_user == approver


# --- approval -------------------------------------------------------------------------------


def test_only_another_approver_applies_it_and_the_blocked_order_replays_on_its_own(
    steward,
    approver,
    world,
    erp_policy,
    old_code,
    blocked_order,
    django_capture_on_commit_callbacks,
):
    remap(logged_in(steward), old_code, world.supplier)
    change = ChangeRequest.objects.get()
    steward = as_approver(steward)  # holding the permission does not let one approve one's own

    with pytest.raises(PermissionDenied, match="another person must review it"):
        requests.approve(change, by=steward)
    assert CrossReference.objects.get(pk=old_code.pk).supplier == world.gone_supplier

    with django_capture_on_commit_callbacks(execute=True):  # reference_changed, the replay
        requests.approve(change, by=approver, comment="Checked with purchasing")

    change.refresh_from_db()
    assert (change.status, change.decided_by) == ("applied", approver)
    reference = CrossReference.objects.get(pk=old_code.pk)
    assert reference.supplier == world.supplier
    latest = reference.history.first()
    assert latest.history_user == approver
    assert latest.history_change_reason == (
        f"{change.number} asked by stella.steward, approved by arno.approver"
    )
    assert latest.change_reference == change.number
    blocked_order.refresh_from_db()
    assert blocked_order.status == InboundMessage.Status.RELEASED, blocked_order.diagnostics
    case = QuarantineCase.objects.get(message=blocked_order)
    assert case.status == QuarantineCase.Status.RESOLVED_BY_REPLAY
    assert [t.reason for t in case.transitions.all()][1:] == [
        f"Replayed automatically: Cross-reference #{old_code.pk} ERP_LEGACY supplier 100999 "
        "was changed.",
        "Replayed and released.",
    ]


def test_an_emergency_remap_applies_at_once_and_still_waits_for_approval(
    steward,
    firefighter,
    world,
    erp_policy,
    old_code,
    blocked_order,
    django_capture_on_commit_callbacks,
):
    remap(logged_in(steward), old_code, world.supplier)
    change = ChangeRequest.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        requests.apply_now(change, by=firefighter, reason="Line stops without this order")

    assert CrossReference.objects.get(pk=old_code.pk).supplier == world.supplier
    blocked_order.refresh_from_db()
    assert blocked_order.status == InboundMessage.Status.RELEASED
    assert list(requests.emergency_unapproved()) == [change]


def test_a_stale_request_is_refused_and_approved_once_rebased(
    steward, approver, world, erp_policy, old_code
):
    remap(logged_in(steward), old_code, world.supplier)
    change = ChangeRequest.objects.get()
    frontier = Supplier.objects.create(number="S-100300", name="Frontier Bearing", country="DE")
    update_reference(CrossReference.objects.get(pk=old_code.pk), target=frontier, user=approver)
    meanwhile, versions = stored(old_code), old_code.history.count()

    with pytest.raises(requests.Stale) as refused:
        requests.approve(change, by=approver)

    assert str(refused.value) == (
        f"ERP_LEGACY supplier code 100999 -> Gone ({world.gone_supplier.public_id}) changed "
        "since the request: supplier is now S-100300 Frontier Bearing, it was S-100999 Gone. "
        "Nothing was changed; the requester can rebase the request."
    )
    assert (stored(old_code), old_code.history.count()) == (meanwhile, versions)
    change.refresh_from_db()
    assert change.status == "open"

    requests.rebase(change, by=steward)
    requests.approve(change, by=approver)

    assert CrossReference.objects.get(pk=old_code.pk).supplier == world.supplier
    assert change.items.get().before == {"supplier": frontier.pk, "is_preferred": True}


# --- the kinds, the fields, no policy -------------------------------------------------------


def test_without_a_policy_the_admin_writes_at_once_as_before(steward, world, old_code):
    page = logged_in(steward).get(change_url(old_code))
    assert "change_reason" not in page.context["adminform"].form.fields

    response = remap(logged_in(steward), old_code, world.supplier, reason="")

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:xref_crossreference_changelist")
    assert CrossReference.objects.get(pk=old_code.pk).supplier == world.supplier
    assert not ChangeRequest.objects.exists()


def test_a_policy_on_supplier_status_holds_a_status_change_and_not_a_rename(steward, world):
    ApprovalPolicy.objects.create(kind="mdm.supplier", fields=["status"])
    client = logged_in(steward)

    renamed = edit(client, world.supplier, name="Kugelmann Wälzlager", change_reason="")
    blocked = edit(client, world.supplier, status="blocked", change_reason="Quality audit failed")

    assert renamed.status_code == 302 and blocked.status_code == 302
    supplier = Supplier.objects.get(pk=world.supplier.pk)
    assert (supplier.name, supplier.status) == ("Kugelmann Wälzlager", "active")
    [item] = ChangeRequest.objects.get().items.all()
    assert (item.label, item.before, item.after) == (
        f"Kugelmann Wälzlager ({world.supplier.public_id})",
        {"status": "active"},
        {"status": "blocked"},
    )


def inline_of(page, model):
    [inline] = [i for i in page.context["inline_admin_formsets"] if i.formset.model is model]
    return inline


def test_the_inlines_of_a_governed_kind_are_read_only_while_a_policy_covers_it(
    steward, world, erp_policy
):
    ApprovalPolicy.objects.create(kind="mdm.calendarexception")
    client = logged_in(steward)

    known_as = inline_of(client.get(change_url(world.supplier)), CrossReference)
    exceptions = inline_of(client.get(change_url(world.calendar)), CalendarException)

    for inline in (known_as, exceptions):
        assert not inline.has_add_permission
        assert not inline.has_change_permission
        assert not inline.has_delete_permission
    # The supplier's page still saves what is its own; its codes stay as they were.
    codes = sorted(world.supplier.xrefs.values_list("code", "scope", "status"))
    response = edit(client, world.supplier, legal_name="Kugelmann KG")
    assert response.status_code == 302
    assert Supplier.objects.get(pk=world.supplier.pk).legal_name == "Kugelmann KG"
    assert sorted(world.supplier.xrefs.values_list("code", "scope", "status")) == codes
    assert not ChangeRequest.objects.exists()


def test_without_a_policy_the_inlines_stay_editable(steward, world):
    client = logged_in(steward)

    known_as = inline_of(client.get(change_url(world.supplier)), CrossReference)
    exceptions = inline_of(client.get(change_url(world.calendar)), CalendarException)

    for inline in (known_as, exceptions):
        assert inline.has_add_permission and inline.has_change_permission


def test_a_viewer_sees_a_governed_record_without_the_reason_to_give(viewer, world, erp_policy):
    page = logged_in(viewer).get(change_url(CrossReference.objects.get(code="100999")))

    assert page.status_code == 200
    assert "Reason for the change" not in page.content.decode()


def test_the_rules_list_is_not_editable_while_a_policy_covers_rules(world, steward):
    client = logged_in(steward)
    url = reverse("admin:validation_rule_changelist")
    assert 'name="form-0-severity"' in client.get(url).content.decode()

    ApprovalPolicy.objects.create(kind="validation.rule", fields=["severity"])

    page = client.get(url).content.decode()
    assert 'name="form-0-severity"' not in page
    rule = Rule.objects.order_by("code").first()
    change = client.get(reverse("admin:validation_rule_change", args=[rule.pk]))
    assert 'name="change_reason"' in change.content.decode()


def test_a_bulk_deletion_of_covered_records_is_one_request_and_says_so(world, steward):
    ApprovalPolicy.objects.create(kind="mdm.supplier")
    doomed = [
        Supplier.objects.create(number=f"V90{n}", name=f"Short-lived {n}", country="DE")
        for n in range(2)
    ]
    url = reverse("admin:mdm_supplier_changelist")
    chosen = {"action": "delete_selected", "_selected_action": [s.pk for s in doomed]}
    client = logged_in(steward)

    response = client.post(url, {**chosen, "post": "yes"}, follow=True)

    asked = ChangeRequest.objects.get()
    assert sorted(item.label for item in asked.items.all()) == sorted(
        f"{s.name} ({s.public_id})" for s in doomed
    )
    assert Supplier.objects.filter(pk__in=[s.pk for s in doomed]).count() == 2
    shown = [str(m) for m in response.context["messages"]]
    assert shown == [
        f"{asked.number} waits for another person's approval: nothing changes until then."
    ]
