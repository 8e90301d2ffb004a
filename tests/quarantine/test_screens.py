"""The review screens through the Django test client: what a steward, a viewer and an
outsider see and may do on /quarantine/, a case's page and the dashboard."""

import datetime
import json
from unittest import mock

import kombu.exceptions
import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from quarantine import services, tasks, views
from quarantine.models import BulkRun, QuarantineCase
from tests.quarantine.test_cases import SHIP_NOTICE, finding, quarantine
from tests.validation.world import example
from validation import pipeline
from validation.models import InboundMessage
from validation.submission import submit_message

pytestmark = pytest.mark.django_db

RELEASED = pipeline.Outcome(status="released", diagnostics=[])


@pytest.fixture
def overrider(django_user_model, steward):
    steward.groups.add(Group.objects.get(name="override"))
    return django_user_model.objects.get(pk=steward.pk)


@pytest.fixture
def other_steward(django_user_model):
    user = django_user_model.objects.create_user(
        username="otto.steward", password="pw-for-tests-only", is_staff=True
    )
    user.groups.add(Group.objects.get(name="steward"))
    return user


@pytest.fixture
def three_cases(erp_system, planning_system):
    """An ITEM_OBSOLETE ship notice of ERP_LEGACY for DE-HH-01 (procurement, new), a
    SHIP_TO_INVALID one of PLANNING for DE-B-02 (erp, two days old) and a second
    SHIP_TO_INVALID one of ERP_LEGACY for DE-B-02 (erp, new)."""
    first = quarantine(erp_system).quarantine_case
    ship_to = [finding("SHIP_TO_INVALID", "$.ship_to", team="erp")]
    berlin = dict(SHIP_NOTICE, supplier="SUP-OTHER", ship_to="DE-B-02", shipment_id="ASN-77")
    second = quarantine(planning_system, ship_to, berlin).quarantine_case
    QuarantineCase.objects.filter(pk=second.pk).update(
        opened_at=timezone.now() - datetime.timedelta(days=2)
    )
    third = quarantine(erp_system, ship_to, dict(berlin, shipment_id="ASN-78")).quarantine_case
    return first, second, third


def _rows(response):
    return [case.pk for case in response.context["page"]]


def _counts(response, facet):
    group = next(g for g in response.context["facets"] if g["facet"].param == facet)
    return {link["value"]: link["count"] for link in group["links"]}


def _replaying(outcome):
    """Validation, when a replay runs it, concludes `outcome`; on-commit work runs."""
    from django.test import TestCase

    patch = mock.patch.object(pipeline, "evaluate", return_value=outcome)
    return patch, TestCase.captureOnCommitCallbacks(execute=True)


# --- login and roles --------------------------------------------------------------------


def test_it_sends_anonymous_users_to_the_admin_login(client, three_cases):
    case = three_cases[0]
    for url in ("/quarantine/", f"/quarantine/{case.pk}/", "/quarantine/dashboard/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(f"/admin/login/?next={url}")
    response = client.post(f"/quarantine/{case.pk}/reject/", {"reject-reason": "no"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "open"


def test_it_refuses_users_without_a_hub_role(client, django_user_model, three_cases):
    outsider = django_user_model.objects.create_user(username="olga", is_staff=True)
    client.force_login(outsider)
    assert client.get("/quarantine/").status_code == 403


def test_a_viewer_sees_the_queue_and_a_case_but_no_buttons(client, viewer, three_cases):
    case = three_cases[0]
    client.force_login(viewer)

    queue = client.get("/quarantine/")
    assert queue.status_code == 200
    assert _rows(queue) == [three_cases[1].pk, case.pk, three_cases[2].pk]
    assert b'name="cases"' not in queue.content
    assert b"With the selected cases" not in queue.content

    page = client.get(f"/quarantine/{case.pk}/")
    assert page.status_code == 200
    assert b"You can look but not act" in page.content
    for button in (b"Reject the message", b"Release by override", b"Replay</button>"):
        assert button not in page.content


def test_a_viewer_cannot_act_even_by_posting(client, viewer, steward, three_cases):
    case = three_cases[0]
    client.force_login(viewer)
    posts = {
        "assign": {"assignee": steward.pk},
        "replay": {},
        "reject": {"reject-reason": "no"},
        "release": {"release-reason": "no"},
        "edit": {"payload": json.dumps(SHIP_NOTICE)},
        "fix": {"entry": 0, "target": "ITM-000001"},
    }
    for action, data in posts.items():
        response = client.post(f"/quarantine/{case.pk}/{action}/", data)
        assert response.status_code == 403, action
    bulk = {"action": "reject", "cases": [case.pk], "reason": "no"}
    assert client.post("/quarantine/bulk/", bulk).status_code == 403
    case.refresh_from_db()
    assert case.status == "open"
    assert case.transitions.count() == 1
    assert not BulkRun.objects.exists()


def test_a_steward_without_the_override_permission_sees_no_release_and_is_refused(
    client, steward, three_cases
):
    case = three_cases[0]
    client.force_login(steward)
    page = client.get(f"/quarantine/{case.pk}/")
    assert b"Reject the message" in page.content
    assert b"Release by override</button>" not in page.content

    response = client.post(f"/quarantine/{case.pk}/release/", {"release-reason": "urgent"})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.status == "open"


# --- the queue ----------------------------------------------------------------------------


def test_filters_narrow_the_queue_and_each_value_shows_its_count(client, steward, three_cases):
    first, second, third = three_cases
    client.force_login(steward)

    everything = client.get("/quarantine/")
    assert _rows(everything) == [second.pk, first.pk, third.pk]  # oldest first
    assert _counts(everything, "team") == {"erp": 2, "procurement": 1}
    assert _counts(everything, "rule") == {
        "SHIP_TO_INVALID": 2,
        "ITEM_OBSOLETE": 1,
        "XREF_UNRESOLVED": 1,
    }
    assert _counts(everything, "system") == {"ERP_LEGACY": 2, "PLANNING": 1}
    assert _counts(everything, "age") == {"lt1h": 2, "lt1d": 0, "lt3d": 1, "older": 0}
    assert _counts(everything, "status") == {"open": 3}

    by_rule = client.get("/quarantine/?rule=SHIP_TO_INVALID")
    assert _rows(by_rule) == [second.pk, third.pk]
    # The other facets count within the chosen rule; the rule facet still shows the others.
    assert _counts(by_rule, "system") == {"ERP_LEGACY": 1, "PLANNING": 1}
    assert _counts(by_rule, "plant") == {"DE-B-02": 2}
    assert _counts(by_rule, "rule")["ITEM_OBSOLETE"] == 1
    selected = [
        link["value"]
        for group in by_rule.context["facets"]
        for link in group["links"]
        if link["selected"]
    ]
    assert sorted(selected) == ["SHIP_TO_INVALID", "open"]

    assert _rows(client.get("/quarantine/?rule=SHIP_TO_INVALID&system=ERP_LEGACY")) == [third.pk]
    assert _rows(client.get("/quarantine/?team=procurement")) == [first.pk]
    assert _rows(client.get("/quarantine/?plant=DE-B-02&age=lt3d")) == [second.pk]
    assert _rows(client.get("/quarantine/?supplier=SUP-OTHER&ordering=age")) == [
        third.pk,
        second.pk,
    ]
    assert _rows(client.get("/quarantine/?message_type=ship_notice&q=asn-78")) == [third.pk]
    assert _rows(client.get("/quarantine/?q=nothing-like-this")) == []


def test_the_queue_shows_open_cases_unless_another_status_is_chosen(client, steward, three_cases):
    first, second, third = three_cases
    QuarantineCase.objects.filter(pk=first.pk).update(status="rejected")
    client.force_login(steward)

    assert _rows(client.get("/quarantine/")) == [second.pk, third.pk]
    assert _rows(client.get("/quarantine/?status=rejected")) == [first.pk]
    assert _rows(client.get("/quarantine/?status=any")) == [second.pk, first.pk, third.pk]
    assert _counts(client.get("/quarantine/"), "status") == {"open": 2, "rejected": 1}


def test_the_queue_is_paged(client, steward, three_cases, monkeypatch):
    monkeypatch.setattr(views, "PER_PAGE", 2)
    client.force_login(steward)

    first_page = client.get("/quarantine/?team=erp&rule=SHIP_TO_INVALID")
    assert len(_rows(first_page)) == 2
    assert first_page.context["page"].paginator.count == 2
    page_one = client.get("/quarantine/")
    assert _rows(page_one) == [three_cases[1].pk, three_cases[0].pk]
    assert b"Page 1 of 2" in page_one.content
    assert _rows(client.get("/quarantine/?page=2")) == [three_cases[2].pk]
    # Facet links start again at page 1 and keep the other filters.
    team = next(g for g in page_one.context["facets"] if g["facet"].param == "team")
    assert all("page=" not in entry["url"] for entry in team["links"])


def test_a_bulk_assign_runs_in_the_background_and_reports_its_progress(
    client, steward, three_cases, django_capture_on_commit_callbacks
):
    first, second, third = three_cases
    client.force_login(steward)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/quarantine/bulk/",
            {
                "action": "assign",
                "cases": [first.pk, third.pk],
                "assignee": steward.pk,
                "next": "/quarantine/?team=erp",
            },
        )
    run = BulkRun.objects.get()
    assert response.status_code == 302
    assert response["Location"].startswith(f"/quarantine/bulk/{run.pk}/")

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"<progress" in page.content
    assert b"2 of 2 done" in page.content
    assert page.context["back"] == "/quarantine/?team=erp"
    progress = client.get(f"/quarantine/bulk/{run.pk}/progress.json").json()
    assert progress["finished"] is True
    assert (progress["done"], progress["total"], progress["percent"]) == (2, 2, 100)

    assigned = QuarantineCase.objects.filter(assignee=steward).order_by("pk")
    assert list(assigned.values_list("pk", "status")) == [
        (first.pk, "in_review"),
        (third.pk, "in_review"),
    ]
    second.refresh_from_db()
    assert second.assignee is None


def test_a_bulk_reject_needs_a_reason_and_a_selection(client, steward, three_cases):
    client.force_login(steward)
    no_reason = client.post(
        "/quarantine/bulk/", {"action": "reject", "cases": [three_cases[0].pk]}, follow=True
    )
    assert b"Give a reason to reject" in no_reason.content
    nothing = client.post("/quarantine/bulk/", {"action": "replay"}, follow=True)
    assert b"Select at least one case" in nothing.content
    assert not BulkRun.objects.exists()


def test_a_bulk_reject_reports_the_cases_it_could_not_reject(
    client, steward, three_cases, django_capture_on_commit_callbacks
):
    first, second, _ = three_cases
    QuarantineCase.objects.filter(pk=second.pk).update(status="rejected")
    client.force_login(steward)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/quarantine/bulk/",
            {"action": "reject", "cases": [first.pk, second.pk], "reason": "Duplicates"},
        )
    response = client.get(response["Location"])
    assert b"2 of 2 done, 1 failed" in response.content
    assert f"Case {second.pk}".encode() in response.content
    first.refresh_from_db()
    assert first.status == "rejected"


@pytest.mark.django_db(transaction=True)  # the task is sent as the request commits
def test_a_bulk_replay_while_the_broker_is_down_is_kept_and_run_by_the_sweep(
    client, steward, three_cases, settings
):
    """The review's reproduction: the bulk replay answered 500 and its run stayed pending."""
    first, second, _ = three_cases
    client.force_login(steward)
    refused = kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379.")
    with mock.patch.object(tasks.bulk_action, "apply_async", side_effect=refused):
        response = client.post(
            "/quarantine/bulk/", {"action": "replay", "cases": [first.pk, second.pk]}
        )
    run = BulkRun.objects.get()
    assert response.status_code == 302
    assert response["Location"].startswith(f"/quarantine/bulk/{run.pk}/")
    assert client.get(response["Location"]).context["progress"]["status"] == "pending"
    assert services.enqueue_waiting_bulk_runs() == 0  # not lost yet: perhaps on its way
    lost = timezone.now() - datetime.timedelta(seconds=settings.HUB_REQUEUE_SECONDS + 1)
    BulkRun.objects.filter(pk=run.pk).update(enqueued_at=lost)
    tasks.sweep_waiting_bulk_runs()  # the beat's sweep; the broker is back
    run.refresh_from_db()
    assert (run.status, run.done, run.total) == ("done", 2, 2)
    assert services.enqueue_waiting_bulk_runs() == 0


# --- a case -------------------------------------------------------------------------------


def test_a_case_explains_itself_and_highlights_the_offending_fields(client, steward, three_cases):
    case = three_cases[0]
    client.force_login(steward)
    page = client.get(f"/quarantine/{case.pk}/")
    html = page.content.decode()

    assert "ITEM_OBSOLETE at $.lines[1].item" in html  # the diagnostic's sentence
    # Both error fields are marked in the payload, each with the anchor its diagnostic links.
    assert '<mark id="field-2" title="$.lines[1].item">' in html
    assert '<mark id="field-3" title="$.ship_to">' in html
    assert 'href="#field-2"' in html
    assert "&quot;6205-ZZ&quot;" in html
    assert "Quarantined by validation" in html  # the history


def test_a_steward_assigns_a_case(client, steward, other_steward, three_cases):
    case = three_cases[0]
    client.force_login(steward)
    response = client.post(
        f"/quarantine/{case.pk}/assign/", {"assignee": other_steward.pk}, follow=True
    )
    assert response.status_code == 200
    assert b"assigned to otto.steward" in response.content
    case.refresh_from_db()
    assert (case.assignee, case.status) == (other_steward, "in_review")


def test_a_steward_replays_a_case_and_sees_it_resolved(client, steward, three_cases):
    case = three_cases[0]
    client.force_login(steward)
    patch, on_commit = _replaying(RELEASED)
    with patch, on_commit:
        response = client.post(f"/quarantine/{case.pk}/replay/", {"reason": "item reactivated"})
    assert response.status_code == 302
    page = client.get(response["Location"])
    case.refresh_from_db()
    assert case.status == "resolved_by_replay"
    assert case.message.status == "released"
    assert b'id="case-status">Resolved by replay' in page.content
    assert b'id="message-status">Released' in page.content
    assert "item reactivated" in page.content.decode()


def test_a_steward_rejects_with_a_reason(client, steward, three_cases):
    case = three_cases[0]
    client.force_login(steward)
    empty = client.post(f"/quarantine/{case.pk}/reject/", {"reject-reason": ""})
    assert empty.status_code == 400
    assert b"This field is required" in empty.content

    response = client.post(
        f"/quarantine/{case.pk}/reject/", {"reject-reason": "Sent twice"}, follow=True
    )
    assert b"rejected" in response.content
    case.refresh_from_db()
    assert case.status == "rejected"
    assert "Sent twice" in case.transitions.last().reason
    assert b"This case is closed" in response.content


def test_a_steward_with_the_override_permission_releases_with_a_reason(
    client, overrider, three_cases
):
    case = three_cases[0]
    client.force_login(overrider)
    page = client.get(f"/quarantine/{case.pk}/")
    assert b"Release by override</button>" in page.content

    response = client.post(
        f"/quarantine/{case.pk}/release/",
        {"release-reason": "Supplier confirmed by phone"},
        follow=True,
    )
    assert b"released by override" in response.content
    case.refresh_from_db()
    assert case.status == "released_by_override"
    assert case.message.status == InboundMessage.Status.RELEASED


def test_invalid_json_is_refused_clearly_and_the_text_typed_is_kept(client, steward, three_cases):
    case = three_cases[0]
    client.force_login(steward)
    typed = '{"shipment_id": "ASN-1", "lines": [}'
    response = client.post(f"/quarantine/{case.pk}/edit/", {"payload": typed})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This is not valid JSON" in html
    assert "line 1, column" in html
    assert "{&quot;shipment_id&quot;: &quot;ASN-1&quot;, &quot;lines&quot;: [}" in html
    case.refresh_from_db()
    assert case.message.payload_revisions.count() == 0


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ('{"lines": ' + "[" * 256 + "]" * 256 + "}", "at most 64 levels of objects and arrays"),
        ('{"lines": ' + "[" * 5000 + "]" * 5000 + "}", "at most 64 levels of objects and arrays"),
        ('{"shipment_id": "ASN-1\\u0000"}', "A string holds a NUL character"),
        ('{"shipment_id": "ASN-1\\ud800"}', "half of a UTF-16 surrogate pair"),
        ('{"shipment_id": ' + "9" * 5000 + "}", "A number of 5,000 characters"),
    ],
    ids=["deep-256", "deep-5000", "nul", "lone-surrogate", "5000-digits"],
)
def test_json_beyond_the_hubs_limits_is_a_form_error_and_the_payload_unchanged(
    client, steward, three_cases, typed, says
):
    """The review's reproductions: each was a 500."""
    case = three_cases[0]
    before = case.message.payload
    client.force_login(steward)
    response = client.post(f"/quarantine/{case.pk}/edit/", {"payload": typed})
    assert response.status_code == 400
    html = response.content.decode()
    assert says in html
    assert "Nothing was saved; correct the text below and send it again." in html
    case.message.refresh_from_db()
    assert case.message.payload == before
    assert case.message.payload_revisions.count() == 0


def test_an_edit_that_breaks_the_contract_is_refused_with_the_text_kept(
    client, steward, three_cases
):
    case = three_cases[0]
    client.force_login(steward)
    broken = {key: value for key, value in SHIP_NOTICE.items() if key != "lines"}
    response = client.post(f"/quarantine/{case.pk}/edit/", {"payload": json.dumps(broken)})
    assert response.status_code == 400
    assert b"lines" in response.content
    case.message.refresh_from_db()
    assert case.message.status == "quarantined"


def test_a_steward_edits_the_payload_and_revalidates(client, steward, three_cases):
    case = three_cases[0]
    client.force_login(steward)
    fixed = dict(SHIP_NOTICE, ship_to="DE-HH-02")
    patch, on_commit = _replaying(RELEASED)
    with patch, on_commit:
        response = client.post(
            f"/quarantine/{case.pk}/edit/",
            {"payload": json.dumps(fixed), "reason": "ship-to typo"},
            follow=True,
        )
    assert b"Payload saved as a new revision" in response.content
    message = InboundMessage.objects.get(pk=case.message_id)
    assert message.payload["ship_to"] == "DE-HH-02"
    revisions = list(message.payload_revisions.order_by("number"))
    assert revisions[0].payload == SHIP_NOTICE  # the original is kept
    assert (revisions[-1].author, revisions[-1].reason) == (steward, "ship-to typo")
    case.refresh_from_db()
    assert case.status == "resolved_by_replay"


def test_a_second_action_on_a_case_gets_a_clear_conflict_not_an_error(
    client, steward, other_steward, three_cases
):
    case = three_cases[0]
    client.force_login(other_steward)
    client.post(f"/quarantine/{case.pk}/reject/", {"reject-reason": "Duplicate"})

    # Stella still has the page from before and rejects too.
    client.force_login(steward)
    response = client.post(f"/quarantine/{case.pk}/reject/", {"reject-reason": "Wrong PO"})
    assert response.status_code == 409
    assert b"already rejected by otto.steward" in response.content
    assert b"Wrong PO" in response.content  # the reason typed is kept on the page
    case.refresh_from_db()
    assert case.transitions.filter(reason__contains="Wrong PO").count() == 0

    assign = client.post(f"/quarantine/{case.pk}/assign/", {"assignee": steward.pk})
    assert assign.status_code == 409


# --- fix by cross-reference (the real pipeline) ---------------------------------------------


def _blocked_ship_notice(world, item):
    from django.test import TestCase

    payload = example("ship_notice")
    payload["lines"][0]["item"] = item
    with TestCase.captureOnCommitCallbacks(execute=True):
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


def test_a_steward_creates_the_missing_cross_reference_and_the_message_is_released(
    client, steward, world, django_capture_on_commit_callbacks
):
    message = _blocked_ship_notice(world, "6204-2RS-XX")
    case = message.quarantine_case
    client.force_login(steward)

    page = client.get(f"/quarantine/{case.pk}/")
    assert page.context["suggestions"][0]["code"] == "6204-2RS-XX"
    assert b"Create the missing cross-reference for SUPPLIER_NET item code" in page.content

    # The steward searches the master for the bearing and picks it.
    found = client.get(f"/quarantine/{case.pk}/?entry=0&find=6204-2RS")
    ids = [c["id"] for c in found.context["suggestions"][0]["found"]]
    assert world.bearing.public_id in ids

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/quarantine/{case.pk}/fix/", {"entry": 0, "target": world.bearing.public_id}
        )
    assert response.status_code == 302
    page = client.get(response["Location"])
    case.refresh_from_db()
    message.refresh_from_db()
    assert case.status == "resolved_by_replay"
    assert message.status == "released"
    assert b'id="case-status">Fixed by cross-reference' in page.content
    assert b'id="message-status">Released' in page.content
    reference = case.message.system.xrefs.get(code="6204-2RS-XX")
    assert reference.item == world.bearing


def test_a_mistyped_code_shows_the_code_meant_with_its_reason_and_fixes_by_it(
    client, steward, world, django_capture_on_commit_callbacks
):
    # A letter O for the zero of SUPPLIER_NET's 6204-2RS-C3.
    message = _blocked_ship_notice(world, "62O4-2RS-C3")
    case = message.quarantine_case
    client.force_login(steward)

    page = client.get(f"/quarantine/{case.pk}/")

    best = page.context["suggestions"][0]["candidates"][0]
    assert (best["id"], best["code"]) == (world.bearing.public_id, "6204-2RS-C3")
    html = page.content.decode()
    assert "SUPPLIER_NET code 6204-2RS-C3" in html
    assert "(one character differs: O for 0)" in html
    assert "is a near miss of SUPPLIER_NET&#x27;s &#x27;6204-2RS-C3&#x27;" in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/quarantine/{case.pk}/fix/", {"entry": 0, "target": best["id"]})
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == "released"
    assert case.message.system.xrefs.get(code="62O4-2RS-C3").origin == "match_confirmed"


def test_an_unknown_target_is_refused_on_the_form(client, steward, world):
    case = _blocked_ship_notice(world, "6204-2RS-XX").quarantine_case
    client.force_login(steward)
    response = client.post(f"/quarantine/{case.pk}/fix/", {"entry": 0, "target": "ITM-999999"})
    assert response.status_code == 400
    assert b"ITM-999999" in response.content
    case.refresh_from_db()
    assert case.status == "open"


# --- the dashboard and the way in -----------------------------------------------------------


def test_the_dashboard_shows_aging_charts_and_figures(client, viewer, steward, three_cases):
    first = three_cases[0]
    client.force_login(steward)
    client.post(f"/quarantine/{first.pk}/reject/", {"reject-reason": "Sent twice"})
    client.force_login(viewer)

    response = client.get("/quarantine/dashboard/")
    assert response.status_code == 200
    figures = response.context["figures"]
    assert figures["totals"]["total"] == 2
    assert [count for _, _, count in figures["buckets"]] == [1, 0, 1, 0]
    assert figures["by_team"]["rows"] == [("ERP", "erp", [1, 0, 1, 0], 2)]
    assert figures["by_plant"]["rows"][0][1:] == ("DE-B-02", [1, 0, 1, 0], 2)
    assert figures["interventions"][-1][1] == 1  # the rejection, today
    html = response.content.decode()
    # Each bar opens the queue filtered to its cases; a breakdown is drawn once, not also
    # repeated as a key-figure table.
    assert 'class="bar-row" href="/quarantine/?team=erp"' in html
    assert 'class="bar-row" href="/quarantine/?plant=DE-B-02"' in html
    assert 'class="bar-row" href="/quarantine/?rule=SHIP_TO_INVALID"' in html
    assert 'class="bar-row" href="/quarantine/?age=lt3d"' in html
    assert 'id="kpi-hub_quarantine_open_cases"' not in html
    assert 'id="kpi-hub_quarantine_open_cases_by_rule"' not in html
    assert [case.pk for case in figures["oldest"]] == [three_cases[1].pk, three_cases[2].pk]


def test_the_dashboard_counts_what_happened_over_one_window_it_states(client, viewer):
    client.force_login(viewer)

    default = client.get("/quarantine/dashboard/")
    html = default.content.decode()
    assert default.context["figures"]["window_text"] == "last 7 days"
    assert "replay success, last 7 days" in html
    assert "manual interventions, last 7 days" in html
    assert len(default.context["figures"]["interventions"]) == 7
    # Every key figure that looks back looks back over the same window.
    windows = {p["kpi"].window_text for p in default.context["kpis"]} - {"now"}
    assert windows == {"last 7 days"}

    month = client.get("/quarantine/dashboard/?window=30d")
    assert len(month.context["figures"]["interventions"]) == 30
    assert {p["kpi"].window_text for p in month.context["kpis"]} - {"now"} == {"last 30 days"}
    assert 'aria-current="true" class="chosen">last 30 days' in month.content.decode()
    unknown = client.get("/quarantine/dashboard/?window=forever")
    assert unknown.context["figures"]["window_text"] == "last 7 days"


def test_the_admin_index_links_to_the_quarantine_screens(client, steward):
    client.force_login(steward)
    response = client.get("/admin/")
    assert b'href="/quarantine/"' in response.content
    assert b'href="/quarantine/dashboard/"' in response.content


def test_actions_need_a_post_with_the_csrf_token(steward, three_cases):
    from django.test import Client

    case = three_cases[0]
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(steward)
    assert browser.get(f"/quarantine/{case.pk}/reject/").status_code == 405
    forged = browser.post(f"/quarantine/{case.pk}/reject/", {"reject-reason": "forged"})
    assert forged.status_code == 403
    page = browser.get(f"/quarantine/{case.pk}/")
    token = page.context["csrf_token"]
    response = browser.post(
        f"/quarantine/{case.pk}/reject/",
        {"reject-reason": "Sent twice", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "rejected"
    unknown = browser.post(f"/quarantine/{case.pk}/nonsense/", {"csrfmiddlewaretoken": token})
    assert unknown.status_code == 404
