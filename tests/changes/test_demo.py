"""The issue's "done when", on the demo itself: its approval policies are on; a steward remaps
the legacy ERP's code of an inactive supplier in the admin; nothing changes until a second
person approves in the queue, after which the purchase order held on that code replays on
its own and is released."""

import pytest
from django.urls import reverse

from changes.models import ApprovalPolicy, ChangeRequest
from demo.approvals import DEMO_POLICIES
from demo.messages import KEY_PREFIX
from mdm.models import Supplier
from quarantine.models import QuarantineCase
from tests.helpers import logged_in
from tests.mdm.test_admin import _submitted
from tests.quarantine import test_trace
from validation.models import InboundMessage
from xref.models import CrossReference

pytestmark = pytest.mark.django_db

seeded = test_trace.seeded  # the demo world with its messages


def test_the_demo_holds_a_remap_until_a_second_person_approves_it(
    seeded, steward, approver, django_capture_on_commit_callbacks
):
    assert ApprovalPolicy.objects.filter(active=True).count() == len(DEMO_POLICIES)
    held = InboundMessage.objects.get(idempotency_key=KEY_PREFIX + "bad-po-supplier")
    case = QuarantineCase.objects.get(message=held)
    assert held.status == "quarantined" and case.is_open
    [key] = case.keys.filter(kind="supplier")
    reference = CrossReference.objects.get(system=key.system, kind="supplier", code=key.code)
    gone = reference.supplier
    assert gone.status != Supplier.Status.ACTIVE
    active = (
        Supplier.objects.filter(status=Supplier.Status.ACTIVE, merged_into="")
        .exclude(pk=gone.pk)
        .order_by("pk")
        .first()
    )
    url = reverse("admin:xref_crossreference_change", args=[reference.pk])
    page = logged_in(steward).get(url)

    # The steward remaps the code to the supplier that took over (which has its own preferred
    # code already): a request, no write.
    form = {**_submitted(page), "supplier": active.pk}
    form.pop("is_preferred", None)
    refused = logged_in(steward).post(url, form)
    assert refused.status_code == 200
    assert "This change needs another person&#x27;s approval" in refused.content.decode()
    response = logged_in(steward).post(url, {**form, "change_reason": "Taken over by a sister"})
    asked = ChangeRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("changes:request", args=[asked.pk])
    reference.refresh_from_db()
    case.refresh_from_db()
    assert reference.supplier == gone and case.is_open

    # The steward cannot approve it; the second person can, in the queue.
    queue = logged_in(approver).get(reverse("changes:queue") + "?scope=to_review")
    assert asked.number in queue.content.decode()
    approve = reverse("changes:request-action", args=[asked.pk, "approve"])
    assert logged_in(steward).post(approve, {"comment": "ok"}).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        done = logged_in(approver).post(approve, {"comment": "Confirmed with purchasing"})

    assert done.status_code == 302
    reference.refresh_from_db()
    assert reference.supplier == active
    latest = reference.history.first()
    assert latest.history_user == approver
    assert latest.history_change_reason == (
        f"{asked.number} asked by {steward.get_username()}, approved by {approver.get_username()}"
    )
    # The order held on the old meaning of the code replays on its own, and goes through.
    held.refresh_from_db()
    case.refresh_from_db()
    assert held.status == "released", held.diagnostics
    assert not case.is_open
