"""The demo messages seed_demo submits once the demo world is in: a mix from every system,
most released, and for every rule a quarantined message that names it; seeding again adds
none."""

import datetime
from collections import Counter

import pytest

from mdm import demo
from mdm.models import Unit
from quarantine import services
from quarantine.models import QuarantineCase
from validation.models import InboundMessage
from validation.rules import RULES

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 2)


def seed(capture):
    with capture(execute=True):
        demo.seed_demo(items=200, suppliers=40, today=TODAY)


@pytest.fixture
def seeded(django_capture_on_commit_callbacks):
    """The demo world with just the units the demo uses (not all of Rec 20 and 21)."""
    for code, fields in demo.DEMO_UNITS.items():
        Unit.objects.create(code=code, **fields)
    seed(django_capture_on_commit_callbacks)
    return InboundMessage.objects.filter(idempotency_key__startswith="demo-")


def test_every_system_sends_messages_and_most_are_released(seeded):
    sent = Counter(seeded.values_list("system__code", "message_type"))
    assert set(sent) >= {
        ("PLANNING", "forecast"),
        ("ERP_LEGACY", "purchase_order"),
        ("ERP_CLOUD", "purchase_order"),
        ("SUPPLIER_NET", "po_acknowledgement"),
        ("SUPPLIER_NET", "ship_notice"),
        ("ERP_LEGACY", "receipt"),
        ("ERP_LEGACY", "inventory_balance"),
        ("ERP_CLOUD", "inventory_balance"),
    }
    assert not seeded.exclude(status__in=("released", "quarantined")).exists()
    released = seeded.filter(status="released")
    assert {m.idempotency_key for m in released} >= {
        "demo-forecast-sop",
        "demo-po-4500010001",
        "demo-po-2000001",
        "demo-ack-4500010001",
        "demo-asn-4500010001",
        "demo-gr-5000100001",
        "demo-stock-1000",
        "demo-stock-us10",
    }
    assert not any(d["severity"] == "error" for message in released for d in message.diagnostics)


def test_every_rule_quarantines_a_demo_message(seeded):
    quarantined = seeded.filter(status="quarantined")
    named = {d["rule"] for message in quarantined for d in message.diagnostics}

    assert named == set(RULES)
    for message in quarantined:
        errors = {d["rule"] for d in message.diagnostics if d["severity"] == "error"}
        assert len(errors) == 1, (message.idempotency_key, message.diagnostics)
    assert QuarantineCase.objects.count() == quarantined.count()


def test_a_second_seed_submits_nothing_new(seeded, django_capture_on_commit_callbacks):
    before = set(seeded.values_list("pk", "status"))

    seed(django_capture_on_commit_callbacks)

    assert set(seeded.values_list("pk", "status")) == before


def test_the_demos_unknown_item_code_is_fixed_from_its_suggestion_and_released(
    seeded, steward, django_capture_on_commit_callbacks
):
    case = QuarantineCase.objects.get(rules__code="XREF_UNRESOLVED")
    [blocked] = services.suggestions(case)
    best = blocked["candidates"][0]
    assert best["score"] == 100  # the planner typed the item's manufacturer part number

    with django_capture_on_commit_callbacks(execute=True):
        services.fix_by_reference(
            case,
            by=steward,
            kind=blocked["kind"],
            system=blocked["system"],
            code=blocked["code"],
            target=best["id"],
        )

    case.refresh_from_db()
    case.message.refresh_from_db()
    assert (case.status, case.message.status) == ("resolved_by_replay", "released")
