"""The change request screens: the queue and its filters, a request's page (the difference in
words, the impact on quarantined messages, the warning when the records changed since), the
buttons each person gets and the refusals of those who may not, the header's count and the
quarantine dashboard's emergency panel."""

import datetime as dt
import re
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from changes import registry, requests
from changes.models import ApprovalPolicy, ChangeRequest
from changes.registry import Batch
from mdm.models import SourceSystem, Supplier
from quarantine.models import CaseKey
from tests.helpers import logged_in
from tests.validation.world import example
from validation import enqueue, pipeline, tasks
from validation.models import InboundMessage
from validation.submission import submit_message
from xref.models import CrossReference

pytestmark = pytest.mark.django_db


def asked(record, by, reason="Supplier stopped trading", **values):
    copy = type(record).objects.get(pk=record.pk)
    for name, value in values.items():
        setattr(copy, name, value)
    return requests.ask([requests.propose(copy, "update")], by=by, reason=reason, source="web")


def page_of(change):
    return f"/changes/{change.pk}/"


def rows(response):
    """The request numbers the queue lists, in order."""
    return re.findall(r'data-request="(CR-\d+)"', response.content.decode())


def text(response):
    """The page's words, tags and extra spaces taken out."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


# --- the queue ------------------------------------------------------------------------------


def test_the_queue_filters_show_the_right_rows(supplier, alice, bob, carol, erp_system):
    mine = asked(supplier, alice, status="blocked")
    theirs = asked(supplier, bob, name="Frontier Bearings")
    emergency = asked(supplier, carol, status="inactive")
    requests.apply_now(emergency, by=carol, reason="Fraud alert")
    rejected = asked(supplier, carol, name="Frontier")
    requests.reject(rejected, by=bob, comment="Keep the name")
    reference = CrossReference.objects.create(
        kind="supplier", system=erp_system, code="V-OLD", supplier=supplier
    )
    remap = asked(reference, carol, code="V-NEW")
    client = logged_in(alice)

    def listed(query=""):
        response = client.get(f"/changes/{query}")
        assert response.status_code == 200
        return rows(response)

    assert listed() == [c.number for c in (remap, rejected, emergency, theirs, mine)]
    # Alice reviews the others' requests still waiting, the emergency one included.
    assert listed("?scope=to_review") == [remap.number, emergency.number, theirs.number]
    assert listed("?scope=mine") == [mine.number]
    assert listed("?scope=emergency") == [emergency.number]
    assert listed("?status=rejected") == [rejected.number]
    assert listed("?status=open&kind=mdm.supplier") == [theirs.number, mine.number]
    assert listed("?system=ERP_LEGACY") == [remap.number]
    assert listed("?scope=mine&status=applied") == []
    # A filter value not understood is said, and the rest of the filters still apply.
    bad = client.get("/changes/?status=stuck&scope=mine")
    assert rows(bad) == [mine.number]
    assert "Select a valid choice. stuck is not one of the available choices." in text(bad)

    page = client.get("/changes/?system=ERP_LEGACY")
    row = text(page)
    assert "Cross-references" in row  # the kind in words
    assert "<td>Legacy ERP (ERP_LEGACY)</td>" in page.content.decode()  # the system too
    assert 'value="ERP_LEGACY" selected>Legacy ERP (ERP_LEGACY)</option>' in page.content.decode()
    assert "Waiting for approval" in row and "carol" in row
    # Each tab counts what it holds for its user: for Bob, everything waiting but his own.
    tabs = text(logged_in(bob).get("/changes/"))
    assert "For me to review 3" in tabs and "Emergency changes not yet approved 1" in tabs


def test_an_old_open_request_is_flagged_old(supplier, alice, settings):
    settings.CHANGE_REQUEST_OLD_DAYS = 3
    fresh = asked(supplier, alice, status="blocked")
    stale = asked(supplier, alice, name="Frontier Bearings")
    ChangeRequest.objects.filter(pk=stale.pk).update(
        requested_at=timezone.now() - dt.timedelta(days=4)
    )
    content = logged_in(alice).get("/changes/").content.decode()

    listed = dict(re.findall(r'data-request="(CR-\d+)"(.*?)</tr>', content, re.S))
    assert list(listed) == [fresh.number, stale.number]
    assert 'class="old"' in listed[stale.number]
    assert 'class="old"' not in listed[fresh.number]


def test_a_viewer_reads_the_queue_and_a_request_but_gets_no_button(supplier, alice, vera):
    change = asked(supplier, alice, status="blocked")
    client = logged_in(vera)

    assert rows(client.get("/changes/")) == [change.number]
    page = client.get(page_of(change))
    assert page.status_code == 200
    assert "You can look but not act" in text(page)
    assert 'id="approve"' not in page.content.decode()
    refused = client.post(f"/changes/{change.pk}/withdraw/")
    assert refused.status_code == 403
    assert "Only data stewards act on change requests" in text(refused)


def test_a_login_without_a_hub_role_sees_no_change_request(django_user_model, supplier, alice):
    change = asked(supplier, alice, status="blocked")
    nobody = django_user_model.objects.create_user("nora", is_staff=True)

    assert logged_in(nobody).get("/changes/").status_code == 403
    assert logged_in(nobody).get(page_of(change)).status_code == 403


# --- a request's page -----------------------------------------------------------------------


def test_a_request_page_shows_the_difference_in_words(supplier, alice, bob):
    change = asked(supplier, alice, status="blocked")
    created = requests.ask(
        [requests.propose(Supplier(number="V200", name="Kugelmann", country="DE"), "create")],
        by=alice,
        reason="New supplier",
        source="web",
    )

    page = text(logged_in(bob).get(page_of(change)))
    assert f"Suppliers: Frontier Bearing Supply ({supplier.public_id})" in page
    assert "Status Active Blocked" in page  # the field, before and after, by their labels
    assert "Supplier stopped trading" in page and "alice" in page
    assert "Waiting for approval" in page
    new = text(logged_in(bob).get(page_of(created)))
    assert "New suppliers: Kugelmann" in new and "A new record, with these values" in new
    assert "Name Kugelmann" in new


def test_a_batch_request_shows_what_the_batch_says_of_itself(alice, bob):
    saved = dict(registry.BATCHES)
    registry.batch(
        Batch(
            "imports.run",
            "CSV import runs",
            apply=lambda reference, by, reason: None,
            describe=lambda reference: (
                f"suppliers.csv, run {reference}",
                f"/imports/{reference}/",
                [("suppliers changed", 3), ("suppliers created", 1)],
            ),
        )
    )
    try:
        change = requests.ask_batch(
            "imports.run",
            41,
            by=alice,
            reason="Quarterly supplier review",
            source="import",
            title="Import of suppliers.csv",
        )
        response = logged_in(bob).get(page_of(change))
    finally:
        registry.BATCHES.clear()
        registry.BATCHES.update(saved)

    page = text(response)
    assert "CSV import runs: suppliers.csv, run 41" in page
    assert "3 suppliers changed" in page and "1 suppliers created" in page
    assert 'href="/imports/41/"' in response.content.decode()
    assert "through a CSV import" in page


def quarantined_on(system, kind, code):
    """A quarantined message whose case is blocked on `code` (a `kind` code of `system`)."""
    with mock.patch.object(enqueue, "enqueue_validation"):
        message = submit_message(
            system=system,
            message_type="ship_notice",
            schema_version=1,
            payload=example("ship_notice", shipment_id=f"ASN-{code}", supplier=code),
            idempotency_key=f"k-{code}",
        ).message
    finding = {
        "rule": "XREF_UNRESOLVED",
        "severity": "error",
        "team": "integration",
        "path": "$.supplier",
        "kind": kind,
        "value": code,
        "message": f"Unknown {kind} {code}",
        "suggestion": None,
    }
    outcome = pipeline.Outcome(status="quarantined", diagnostics=[finding])
    with mock.patch.object(pipeline, "evaluate", return_value=outcome):
        tasks.validate_message.delay(message.pk)
    message.refresh_from_db()
    assert message.status == InboundMessage.Status.QUARANTINED
    return message


def test_a_request_page_counts_the_cases_blocked_on_the_old_and_the_new_code(
    supplier, alice, bob, erp_system, eager_celery
):
    reference = CrossReference.objects.create(
        kind="supplier", system=erp_system, code="V-OLD", supplier=supplier
    )
    quarantined_on(erp_system, "supplier", "V-OLD")
    quarantined_on(erp_system, "supplier", "V-NEW")
    quarantined_on(erp_system, "supplier", "V-NEW2")
    CaseKey.objects.filter(code="V-NEW2").update(code="V-NEW")  # two cases wait for V-NEW
    change = asked(reference, alice, reason="ERP renumbered the supplier", code="V-NEW")

    response = logged_in(bob).get(page_of(change))
    page = text(response)
    assert "Code V-OLD V-NEW" in page
    assert (
        "2 quarantined messages blocked on the supplier code “V-NEW” of Legacy ERP (ERP_LEGACY) "
        "would be validated again." in page
    )
    assert (
        "1 open case blocked on the supplier code “V-OLD” of Legacy ERP (ERP_LEGACY), which "
        "this change takes away, would stay blocked." in page
    )
    assert "Changes the codes of Legacy ERP (ERP_LEGACY)." in page
    assert 'href="/quarantine/?system=ERP_LEGACY&amp;supplier=V-NEW"' in response.content.decode()


def test_a_status_change_names_the_cases_the_record_holds(supplier, alice, bob, erp_system):
    CrossReference.objects.create(
        kind="supplier", system=erp_system, code="V-17", supplier=supplier
    )
    quarantined_on(erp_system, "supplier", "V-17")
    change = asked(supplier, alice, status="blocked")

    page = text(logged_in(bob).get(page_of(change)))
    label = f"Frontier Bearing Supply ({supplier.public_id})"
    assert f"1 open case held by {label} would be validated again." in page
    assert f"While {label} is blocked, new messages naming it will be quarantined." in page


def test_a_request_over_records_changed_since_warns_and_offers_the_requester_a_rebase(
    supplier, alice, bob
):
    change = asked(supplier, alice, name="Frontier Bearings")
    Supplier.objects.filter(pk=supplier.pk).update(name="Frontier GmbH")

    theirs = logged_in(bob).get(page_of(change)).content.decode()
    assert "Changed since the request" in theirs
    assert "name was “Frontier Bearing Supply”, is now “Frontier GmbH”" in theirs
    assert 'id="rebase"' not in theirs
    assert '<button type="submit" id="approve" disabled' in theirs  # rejecting still works
    mine = logged_in(alice).get(page_of(change)).content.decode()
    assert 'id="rebase"' in mine

    refused = logged_in(bob).post(f"/changes/{change.pk}/approve/", {"comment": "OK"})
    assert refused.status_code == 409
    assert "changed since the request" in text(refused)
    supplier.refresh_from_db()
    assert supplier.name == "Frontier GmbH"

    rebased = logged_in(alice).post(f"/changes/{change.pk}/rebase/", follow=True)
    assert "brought up to date" in text(rebased)
    assert "Changed since the request" not in text(rebased)
    fresh = logged_in(bob).get(page_of(change)).content.decode()
    assert '<button type="submit" id="approve">' in fresh
    assert logged_in(bob).post(f"/changes/{change.pk}/approve/").status_code == 302
    supplier.refresh_from_db()
    assert supplier.name == "Frontier Bearings"


# --- acting ---------------------------------------------------------------------------------


def test_the_requester_gets_no_approve_button_and_a_post_is_refused(supplier, alice):
    ApprovalPolicy.objects.create(kind="mdm.supplier", fields=["status"])
    change = asked(supplier, alice, status="blocked")
    client = logged_in(alice)

    page = client.get(page_of(change))
    assert 'id="approve"' not in page.content.decode()
    assert "You asked for this change" in text(page)
    refused = client.post(f"/changes/{change.pk}/approve/", {"comment": "Looks right to me"})

    assert refused.status_code == 403
    assert "alice asked for" in text(refused) and "another person must review it" in text(refused)
    assert "Looks right to me" in refused.content.decode()  # what was typed, kept to copy
    supplier.refresh_from_db()
    change.refresh_from_db()
    assert (supplier.status, change.status) == ("active", "open")


def test_an_approver_approves_and_the_record_changes(supplier, alice, bob):
    change = asked(supplier, alice, status="blocked")

    client = logged_in(bob)
    response = client.post(
        f"/changes/{change.pk}/approve/", {"comment": "Confirmed with purchasing"}
    )

    assert response.status_code == 302 and response["Location"] == page_of(change)
    supplier.refresh_from_db()
    assert supplier.status == "blocked"
    assert f"{change.number} approved: the change is applied." in text(client.get(page_of(change)))
    page = text(logged_in(alice).get(page_of(change)))
    assert "bob approved it, and the change was applied: “Confirmed with purchasing”" in page
    assert "Approved and applied" in page


def test_a_rejection_without_a_comment_is_refused_and_keeps_the_status(supplier, alice, bob):
    change = asked(supplier, alice, status="blocked")
    client = logged_in(bob)

    refused = client.post(f"/changes/{change.pk}/reject/", {"comment": "  "})
    assert refused.status_code == 400
    assert "Say why the change is rejected." in text(refused)
    change.refresh_from_db()
    assert change.status == "open"

    client.post(f"/changes/{change.pk}/reject/", {"comment": "Still delivering"})
    change.refresh_from_db()
    supplier.refresh_from_db()
    assert (change.status, supplier.status) == ("rejected", "active")
    assert "bob rejected it: “Still delivering”" in text(client.get(page_of(change)))


def test_the_requester_withdraws_an_open_request(supplier, alice, bob):
    change = asked(supplier, alice, status="blocked")

    assert logged_in(bob).post(f"/changes/{change.pk}/withdraw/").status_code == 403
    assert 'id="withdraw"' in logged_in(alice).get(page_of(change)).content.decode()
    page = logged_in(alice).post(f"/changes/{change.pk}/withdraw/", follow=True)

    assert f"{change.number} withdrawn: nothing was changed." in text(page)
    change.refresh_from_db()
    assert change.status == "withdrawn"
    again = logged_in(alice).post(f"/changes/{change.pk}/withdraw/")
    assert again.status_code == 409 and "withdrawn already" in text(again)


def test_an_unknown_action_is_not_found(supplier, alice, bob):
    change = asked(supplier, alice, status="blocked")
    assert logged_in(bob).post(f"/changes/{change.pk}/merge/").status_code == 404
    assert logged_in(bob).get(f"/changes/{change.pk}/approve/").status_code == 405


def test_apply_now_needs_the_emergency_permission_and_is_listed_until_approved(
    supplier, alice, bob, carol
):
    change = asked(supplier, alice, status="blocked")

    refused = logged_in(bob).post(f"/changes/{change.pk}/apply-now/", {"reason": "Fraud alert"})
    assert refused.status_code == 403 and "emergency permission" in text(refused)
    assert 'id="apply-now"' not in logged_in(bob).get(page_of(change)).content.decode()
    assert 'id="apply-now"' in logged_in(carol).get(page_of(change)).content.decode()
    no_reason = logged_in(carol).post(f"/changes/{change.pk}/apply-now/", {"reason": ""})
    assert no_reason.status_code == 400
    supplier.refresh_from_db()
    assert supplier.status == "active"

    logged_in(carol).post(f"/changes/{change.pk}/apply-now/", {"reason": "Fraud alert"})

    supplier.refresh_from_db()
    assert supplier.status == "blocked"
    assert rows(logged_in(alice).get("/changes/?scope=emergency")) == [change.number]
    dashboard = logged_in(alice).get("/quarantine/dashboard/")
    assert "Emergency changes not yet approved" in text(dashboard)
    assert f'href="/changes/{change.pk}/"' in dashboard.content.decode()
    page = text(logged_in(bob).get(page_of(change)))
    assert "carol applied it as an emergency, before approval: “Fraud alert”" in page
    # Alice asked for it: another approver approves it after the fact.
    assert logged_in(alice).post(f"/changes/{change.pk}/approve/").status_code == 403

    logged_in(bob).post(f"/changes/{change.pk}/approve/", {"comment": "Fraud confirmed"})

    assert rows(logged_in(alice).get("/changes/?scope=emergency")) == []
    dashboard = logged_in(alice).get("/quarantine/dashboard/")
    assert "Emergency changes not yet approved" not in text(dashboard)
    assert "bob approved it after the fact" in text(logged_in(alice).get(page_of(change)))


# --- the header -----------------------------------------------------------------------------


def test_the_header_counts_the_requests_waiting_for_the_users_review(supplier, alice, bob, vera):
    asked(supplier, alice, status="blocked")
    asked(supplier, alice, name="Frontier Bearings")

    assert "Change requests (2 to review)" in text(logged_in(bob).get("/changes/"))
    # Her own requests wait for someone else; a viewer reviews nothing.
    assert "to review)" not in text(logged_in(alice).get("/quarantine/"))
    assert "Change requests" in text(logged_in(vera).get("/quarantine/"))
    assert "to review)" not in text(logged_in(vera).get("/quarantine/"))


def test_the_system_of_a_request_is_its_records(erp_system, alice):
    planning = SourceSystem.objects.create(code="PLANNING", name="Planning", kind="planning")
    supplier = Supplier.objects.create(number="V300", name="Acme", country="DE")
    reference = CrossReference.objects.create(
        kind="supplier", system=planning, code="P-1", supplier=supplier
    )
    change = asked(reference, alice, code="P-2")
    assert rows(logged_in(alice).get("/changes/?system=planning")) == [change.number]
    assert rows(logged_in(alice).get("/changes/?system=ERP_LEGACY")) == []


# --- the API beside the screens -------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"system": "abc"}, "system: “abc” value must be an integer."),
        ({"valid_from": "soon"}, "valid_from: “soon” value has an invalid date format."),
    ],
)
def test_asking_with_a_value_of_the_wrong_type_is_a_400_naming_it(
    supplier, steward, erp_system, changes, said
):
    reference = CrossReference.objects.create(
        kind="supplier", system=erp_system, code="V-1", supplier=supplier
    )
    api = Client()
    api.force_login(steward)
    body = {
        "kind": "xref.crossreference",
        "action": "update",
        "object": str(reference.pk),
        "changes": changes,
        "reason": "ERP renumbered",
    }

    response = api.post("/api/v1/change-requests/", body, content_type="application/json")

    assert response.status_code == 400
    assert said in response.json()["detail"]
    assert ChangeRequest.objects.count() == 0
