"""The demo messages seed_demo submits once the demo world is in: a mix from every system,
most released, and for every rule a quarantined message that names it; seeding again adds
none."""

import datetime
from collections import Counter

import pytest

from demo.seed import seed_demo
from edi.models import Interchange
from mdm.models import Item
from quarantine import services
from quarantine.models import QuarantineCase
from validation.models import ForecastRelease, InboundMessage, Rule, SupplyException
from validation.registry import RULES
from xref import matching

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 2)


def seed(capture):
    with capture(execute=True):
        seed_demo(items=200, suppliers=40, today=TODAY)


@pytest.fixture
def seeded(demo_units, django_capture_on_commit_callbacks):
    """The demo world with just the units the demo uses (not all of Rec 20 and 21)."""
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
        ("ERP_LEGACY", "forecast_acceptance"),
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
    warned = {
        d["rule"] for message in seeded.filter(status="released") for d in message.diagnostics
    }

    # CHANGE_NOT_ACTIONABLE is no diagnostic: it leaves lines out of a release (the scenario).
    errors = {code for code in RULES if Rule.objects.get(code=code).severity == "error"}
    assert named >= errors
    assert named | warned | {"CHANGE_NOT_ACTIONABLE"} == set(RULES)
    for message in quarantined:
        errors = {d["rule"] for d in message.diagnostics if d["severity"] == "error"}
        assert len(errors) == 1, (message.idempotency_key, message.diagnostics)
    assert QuarantineCase.objects.count() == quarantined.count()


def test_the_legacy_erp_took_the_sop_and_the_first_critical_forecast_not_the_revised_one(
    seeded,
):
    sop = seeded.get(idempotency_key="demo-forecast-sop").forecast_release
    first = seeded.get(idempotency_key="demo-crit-forecast-v1").forecast_release
    revised = seeded.get(idempotency_key="demo-crit-forecast-v2").forecast_release
    for release, key in (
        (sop, "demo-accept-forecast-sop"),
        (first, "demo-crit-accept-forecast-v1"),
    ):
        acceptance = seeded.get(idempotency_key=key)
        assert acceptance.status == "released"
        assert (release.decision, release.decided_by.code) == ("accepted", "ERP_LEGACY")
        assert release.decision_message == acceptance
        assert release.decided_at > release.released_at
    # The revised version waits for the ERP: the acceptances naming it, or the version after
    # it that the hub held, were quarantined and recorded nothing.
    assert (revised.decision, revised.decided_at, revised.decision_message) == ("", None, None)
    pending = ForecastRelease.objects.filter(decision="").values_list("plan_id", "version")
    assert set(pending) == {(revised.plan_id, 2)}
    held = {
        message.idempotency_key: [d["rule"] for d in message.diagnostics]
        for message in seeded.filter(message_type="forecast_acceptance", status="quarantined")
    }
    assert held == {
        "demo-bad-accept-unknown-version": ["FORECAST_RELEASE_UNKNOWN"],
        "demo-bad-accept-not-erp": ["FORECAST_ACCEPTANCE_NOT_ERP"],
    }


def test_a_second_seed_submits_nothing_new(seeded, django_capture_on_commit_callbacks):
    before = set(seeded.values_list("pk", "status"))

    seed(django_capture_on_commit_callbacks)

    assert set(seeded.values_list("pk", "status")) == before


def test_a_seed_without_messages_submits_none(demo_units, django_capture_on_commit_callbacks):
    """As the validation benchmark seeds its world."""
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo(items=20, suppliers=4, today=TODAY, messages=False)

    assert not InboundMessage.objects.exists()


def test_the_demos_unknown_item_code_is_fixed_from_its_suggestion_and_released(
    seeded, steward, django_capture_on_commit_callbacks
):
    case = QuarantineCase.objects.get(rules__code="XREF_UNRESOLVED")
    [blocked] = services.suggestions(case)
    best = blocked["candidates"][0]
    # The planner typed the item's manufacturer part number: the item is the best candidate
    # by it, worth a look (a part number alone, with nothing else said, is not sure).
    assert best["id"] == Item.objects.get(mpn=blocked["code"]).public_id
    assert matching.WORTH_A_LOOK <= best["score"] < matching.SURE

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


def test_the_seed_scenario_shows_its_supply_exception_to_planners(seeded, client, steward):
    revised = seeded.get(idempotency_key="demo-crit-forecast-v2")
    sync = revised.released_payload["hub"]["selective_sync"]
    assert (revised.status, sync["compared_with_version"]) == ("released", 1)
    assert sync["lines_filtered"] == 4  # the two frozen weeks, one tiny change, one unchanged
    assert len(revised.released_payload["lines"]) == 8
    changes = seeded.filter(idempotency_key__startswith="demo-crit-po-", status="released")
    assert changes.count() == 6  # three orders, each with its change
    stale = seeded.get(idempotency_key="demo-crit-forecast-v1-again")
    assert [d["rule"] for d in stale.diagnostics] == ["STALE_FORECAST_VERSION"]
    exception = SupplyException.objects.get(order_line__order__po_number="4500020003")
    # The third supplier's acknowledgement came in as an X12 855, answered with a 997.
    interchange = Interchange.objects.get(direction="in", contents="855")
    assert (interchange.status, interchange.partner.supplier) == ("accepted", exception.supplier)
    [ack] = interchange.acknowledgements.all()
    assert "AK5*A" in ack.text
    constrained = interchange.transaction_sets.get().message
    assert (constrained.status, constrained.message_type) == ("released", "po_acknowledgement")
    assert exception.acknowledgement.message == constrained
    # The hub's order to it, and the change that pulled it in, went out to it as 850 and 860.
    sent = Interchange.objects.filter(
        direction="out", partner=interchange.partner, message__isnull=False
    )
    assert sorted(sent.values_list("contents", "status")) == [("850", "sent"), ("860", "sent")]
    assert (exception.quantity_at_risk, exception.days_late) == (450, 14)
    client.force_login(steward)
    page = client.get("/quarantine/supply-exceptions/").content.decode()
    assert f'data-exception="{exception.pk}"' in page
    assert "PO 4500020003/10" in page and "<strong>450 piece</strong> (H87)" in page
