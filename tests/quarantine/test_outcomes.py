"""A true record of how a case ended: each ending named in words on the case page, the queue
and the API (an edit is not "resolved by replay"); a closed case's diagnostics shown as
history, not as live errors; the payload as sent dated when it was received."""

import datetime
import importlib
import json

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.utils import timezone

from quarantine import services
from quarantine.models import CaseTransition, QuarantineCase
from tests.quarantine.test_cases import SHIP_NOTICE, quarantine
from tests.quarantine.test_screens import RELEASED, _replaying
from validation.models import InboundMessage, PayloadRevision

pytestmark = pytest.mark.django_db

CASES = "/api/v1/quarantine/cases/"


@pytest.fixture
def overrider(django_user_model, steward):
    steward.groups.add(Group.objects.get(name="override"))
    return django_user_model.objects.get(pk=steward.pk)


def _edit(case, user):
    services.edit_payload(case, by=user, payload=dict(SHIP_NOTICE, ship_to="DE-HH-02"))


def _replay(case, user):
    services.replay(case, by=user, reason="item reactivated")


def _auto_replay(case, user):
    keys = [(key.system_id, key.kind, key.code) for key in case.keys.all()]
    assert keys
    services.replay_blocked(keys, "Cross-reference #1 ERP_LEGACY location DE-HH-01 was added.")


def _override(case, user):
    services.release_by_override(case, by=user, reason="Supplier confirmed by phone")


def _reject(case, user):
    services.reject(case, by=user, reason="Sent twice")


ENDINGS = [
    (_edit, "edit", "Payload edited and revalidated"),
    (_replay, "replay", "Resolved by replay"),
    (_auto_replay, "auto_replay", "Resolved by auto-replay"),
    (_override, "override", "Released by override"),
    (_reject, "reject", "Rejected"),
]


@pytest.mark.parametrize(
    ("act", "resolution", "words"), ENDINGS, ids=[code for _, code, _ in ENDINGS]
)
def test_each_ending_is_named_on_the_case_page_the_queue_and_the_api(
    client, overrider, erp_system, act, resolution, words
):
    case = quarantine(erp_system).quarantine_case
    patch, on_commit = _replaying(RELEASED)
    with patch, on_commit:
        act(case, overrider)
    case.refresh_from_db()
    assert (case.is_open, case.resolution) == (False, resolution)
    client.force_login(overrider)

    page = client.get(f"/quarantine/{case.pk}/").content.decode()
    assert f'id="case-status">{words}</span>' in page
    assert f"This case is closed: {words.lower()}." in page
    closing = case.transitions.get(resolution=resolution)
    assert closing.to_status == case.status
    if resolution != "replay":
        assert "Resolved by replay" not in page  # an edit, a fix, ... says what it was

    queue = client.get("/quarantine/?status=any").content.decode()
    assert f'<span class="status status-{case.status}">{words}</span>' in queue

    answer = client.get(f"{CASES}{case.pk}/").json()
    assert (answer["resolution"], answer["outcome"]) == (resolution, words)
    assert answer["transitions"][-1]["resolution"] == resolution


def test_a_fix_by_editing_the_payload_is_not_called_a_replay(client, steward, erp_system):
    """The review's reproduction: the case said "Resolved by replay"."""
    case = quarantine(erp_system).quarantine_case
    client.force_login(steward)
    patch, on_commit = _replaying(RELEASED)
    with patch, on_commit:
        response = client.post(
            f"/quarantine/{case.pk}/edit/",
            {"payload": json.dumps(dict(SHIP_NOTICE, ship_to="DE-HH-02")), "reason": "typo"},
        )
    page = client.get(response["Location"]).content.decode()
    assert 'id="case-status">Payload edited and revalidated</span>' in page
    assert "Resolved by replay" not in page


def test_an_open_case_shows_its_errors_and_a_closed_one_shows_them_as_history(
    client, steward, erp_system
):
    case = quarantine(erp_system).quarantine_case
    client.force_login(steward)
    open_page = client.get(f"/quarantine/{case.pk}/").content.decode()
    assert 'class="diagnostic error"' in open_page
    assert "Holds the message" in open_page

    services.reject(case, by=steward, reason="Sent twice")
    closed = client.get(f"/quarantine/{case.pk}/").content.decode()

    assert 'class="diagnostic error"' not in closed  # no red error styling once closed
    assert 'class="diagnostic warning"' not in closed
    assert closed.count('class="diagnostic closed"') == len(case.diagnostics)
    assert "What was wrong" in closed and "Holds the message" not in closed
    assert 'id="case-outcome">Closed ' in closed and ": rejected." in closed


def test_revision_one_keeps_the_time_the_message_was_received(steward, erp_system):
    case = quarantine(erp_system).quarantine_case
    received = timezone.now() - datetime.timedelta(days=3)
    InboundMessage.objects.filter(pk=case.message_id).update(received_at=received)
    case = QuarantineCase.objects.select_related("message").get(pk=case.pk)

    patch, on_commit = _replaying(RELEASED)
    with patch, on_commit:
        _edit(case, steward)

    first, edit = PayloadRevision.objects.filter(message=case.message).order_by("number")
    assert (first.number, first.reason, first.created_at) == (1, "As sent.", received)
    assert edit.created_at > received + datetime.timedelta(days=2)


def test_the_migration_tells_how_earlier_cases_ended_from_their_transitions(steward, erp_system):
    migration = importlib.import_module("quarantine.migrations.0006_case_resolution")
    cases = {}
    for kind in ("edit", "fix", "auto_replay", "replay", "override", "reject"):
        case = quarantine(erp_system, payload=dict(SHIP_NOTICE, shipment_id=kind))
        cases[kind] = case.quarantine_case
    started = {
        "edit": "Payload edited by stella (revision 2) and revalidated.",
        "fix": "Cross-reference #4 ERP_LEGACY item X -> ITM-000001 added by stella; replayed.",
        "auto_replay": "Replayed automatically: cross-reference #4 was added.",
        "replay": "Replayed by stella.",
    }
    for kind, reason in started.items():
        case = cases[kind]
        CaseTransition.objects.create(
            case=case, from_status="open", to_status="open", reason=reason
        )
        CaseTransition.objects.create(
            case=case,
            from_status="open",
            to_status="resolved_by_replay",
            reason="Replayed and released.",
        )
    closed = {
        "override": "released_by_override",
        "reject": "rejected",
        **dict.fromkeys(started, "resolved_by_replay"),
    }
    for kind, status in closed.items():
        QuarantineCase.objects.filter(pk=cases[kind].pk).update(status=status, resolution="")

    migration.fill_resolutions(apps, None)

    for kind, case in cases.items():
        case.refresh_from_db()
        assert case.resolution == kind, kind
    closing = cases["edit"].transitions.get(to_status="resolved_by_replay")
    assert closing.resolution == "edit"


def test_the_migration_dates_earlier_revision_ones_at_receipt(steward, erp_system):
    migration = importlib.import_module("validation.migrations.0009_revision_one_at_receipt")
    message = quarantine(erp_system)
    received = timezone.now() - datetime.timedelta(days=3)
    InboundMessage.objects.filter(pk=message.pk).update(received_at=received)
    edited = timezone.now()
    for number in (1, 2):
        PayloadRevision.objects.create(
            message=message, number=number, payload=SHIP_NOTICE, created_at=edited
        )

    migration.date_revision_one_at_receipt(apps, None)

    times = dict(PayloadRevision.objects.values_list("number", "created_at"))
    assert times == {1: received, 2: edited}
