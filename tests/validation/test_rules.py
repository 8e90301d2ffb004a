"""Each rule, where it fires and where it does not, on the example messages of world.py sent
by the systems whose codes they use (each example releases as it is)."""

import datetime

import pytest

from mdm.models import Location
from validation import pipeline
from xref.models import CrossReference
from xref.services import register_reference

from .world import example

pytestmark = pytest.mark.django_db

SENDERS = {
    "forecast": "PLANNING",
    "purchase_order": "ERP_LEGACY",
    "po_acknowledgement": "SUPPLIER_NET",
    "ship_notice": "SUPPLIER_NET",
    "receipt": "ERP_LEGACY",
    "inventory_balance": "ERP_LEGACY",
}


def evaluate(world, message_type, payload=None, system=None):
    payload = payload if payload is not None else example(message_type)
    sender = world.systems[system or SENDERS[message_type]]
    return pipeline.evaluate(message_type, 1, payload, sender)


def with_line(message_type, index=0, **changes):
    payload = example(message_type)
    payload["lines"][index].update(changes)
    return payload


def findings(outcome, rule):
    return [d for d in outcome.diagnostics if d["rule"] == rule]


def only(outcome, rule):
    """The one diagnostic of `rule`, when no other rule found an error (a record a test
    makes invalid may lack target codes too: NO_TARGET_CODE warnings are let be)."""
    found = findings(outcome, rule)
    others = [d for d in outcome.diagnostics if d["rule"] != rule and d["severity"] == "error"]
    assert len(found) == 1 and not others, outcome.diagnostics
    return found[0]


@pytest.mark.parametrize("message_type", list(SENDERS))
def test_it_releases_every_example_as_it_is(world, message_type):
    outcome = evaluate(world, message_type)
    assert (outcome.status, outcome.diagnostics) == ("released", [])


# --- XREF_UNRESOLVED -----------------------------------------------------------------------


def test_an_unknown_code_is_unresolved(world):
    outcome = evaluate(world, "forecast", with_line("forecast", 1, item="PLN-NOPE"))

    assert outcome.status == "quarantined"
    diagnostic = only(outcome, "XREF_UNRESOLVED")
    assert diagnostic["path"] == "$.lines[1].item"
    assert diagnostic["value"] == "PLN-NOPE"
    assert diagnostic["severity"] == "error"
    assert diagnostic["team"] == "integration"
    assert diagnostic["message"] == "PLANNING has no item code 'PLN-NOPE' on 2026-03-02."
    assert diagnostic["suggestion"]


def test_a_mistyped_code_is_shown_as_a_near_miss_of_the_code_meant_not_as_one_to_register(world):
    # A letter O for the zero of ERP_LEGACY's BRG-6204-2RS.
    payload = with_line("purchase_order", item="BRG-62O4-2RS")

    diagnostic = only(evaluate(world, "purchase_order", payload), "XREF_UNRESOLVED")

    bearing = world.bearing.public_id
    assert diagnostic["suggestion"].startswith(
        f"'BRG-62O4-2RS' is a near miss of ERP_LEGACY's 'BRG-6204-2RS' ({bearing} "
    )
    assert diagnostic["suggestion"].count("one character differs: O for 0); check the sender") == 1
    assert "Register" not in diagnostic["suggestion"]
    best = diagnostic["candidates"][0]
    assert (best["id"], best["code"], best["reason"]) == (
        bearing,
        "BRG-6204-2RS",
        "one character differs: O for 0",
    )


def test_a_code_from_another_system_is_unresolved(world):
    # PLN-BRG-6204 is the planning code; the legacy ERP does not know it.
    payload = with_line("inventory_balance", item="PLN-BRG-6204")
    assert only(evaluate(world, "inventory_balance", payload), "XREF_UNRESOLVED")["path"] == (
        "$.lines[0].item"
    )


def test_a_retired_code_suggests_its_successor(world):
    planning = world.systems["PLANNING"]
    renumbered = datetime.date(2026, 1, 1)
    register_reference(
        kind="item", system=planning, code="PLN-OLD", target=world.bearing_b, valid_to=renumbered
    )
    register_reference(
        kind="item", system=planning, code="PLN-6205", target=world.bearing_b,
        valid_from=renumbered,
    )  # fmt: skip

    diagnostic = only(
        evaluate(world, "forecast", with_line("forecast", item="PLN-OLD")), "XREF_UNRESOLVED"
    )

    assert "was retired on 2026-01-01" in diagnostic["message"]
    assert "'PLN-6205'" in diagnostic["suggestion"]


def test_a_code_is_resolved_at_the_business_date(world):
    reference = CrossReference.objects.get(code="PLN-BRG-6204")
    reference.valid_from = datetime.date(2026, 4, 1)
    reference.save()

    outcome = evaluate(world, "forecast")
    assert [d["path"] for d in outcome.diagnostics] == ["$.lines[0].item", "$.lines[1].item"]
    assert "valid only from 2026-04-01" in outcome.diagnostics[0]["message"]


def test_an_item_code_is_resolved_in_the_plant_of_the_ship_to(world):
    """The legacy ERP numbers items per plant: in plant 2000 the same number is another
    item, and the purchase order to plant 1000 means plant 1000's."""
    other_plant = Location.objects.create(
        code="US01", name="US01", kind="plant", country="US", can_receive=True
    )
    register_reference(kind="location", system="ERP_LEGACY", code="2000", target=other_plant)
    register_reference(
        kind="item", system="ERP_LEGACY", code="BRG-6204-2RS", target=world.bearing_b, scope="2000"
    )

    to_1000 = evaluate(world, "purchase_order")
    to_2000 = evaluate(world, "purchase_order", example("purchase_order", ship_to="2000"))

    assert to_1000.status == "released"
    assert to_1000.released_payload["lines"][0]["hub"]["item"]["id"] == world.bearing.public_id
    # In plant 2000 it is the other item, whose revision B does not exist.
    assert only(to_2000, "REVISION_OBSOLETE")["path"] == "$.lines[0].revision"


# --- items and revisions -------------------------------------------------------------------


def test_an_obsolete_item_quarantines(world):
    payload = with_line("purchase_order", item="OLD-1", revision=None)
    payload["lines"][0].pop("revision")
    diagnostic = only(evaluate(world, "purchase_order", payload), "ITEM_OBSOLETE")
    assert diagnostic["path"] == "$.lines[0].item"
    assert diagnostic["team"] == "procurement"
    assert world.obsolete.public_id in diagnostic["message"]


def test_a_blocked_item_quarantines(world):
    diagnostic = only(
        evaluate(world, "forecast", with_line("forecast", 1, item="PLN-BLK-1")), "ITEM_BLOCKED"
    )
    assert diagnostic["path"] == "$.lines[1].item"
    assert "is blocked" in diagnostic["message"]


def test_an_active_item_passes_the_item_rules(world):
    outcome = evaluate(world, "forecast")
    assert not findings(outcome, "ITEM_OBSOLETE") and not findings(outcome, "ITEM_BLOCKED")


@pytest.mark.parametrize(
    ("revision", "says"),
    [
        ("A", "is obsolete"),
        ("C", "is not effective on 2026-03-02"),
        ("Z", "has no revision 'Z'"),
    ],
)
def test_an_obsolete_or_not_effective_revision_quarantines(world, revision, says):
    payload = with_line("purchase_order", revision=revision)
    diagnostic = only(evaluate(world, "purchase_order", payload), "REVISION_OBSOLETE")
    assert diagnostic["path"] == "$.lines[0].revision"
    assert says in diagnostic["message"]
    assert diagnostic["suggestion"] == "Use revision B, effective on 2026-03-02."


def test_the_revision_in_effect_passes(world):
    assert not findings(evaluate(world, "purchase_order"), "REVISION_OBSOLETE")


# --- suppliers and sites -------------------------------------------------------------------


def test_an_inactive_supplier_quarantines(world):
    payload = example("purchase_order", supplier="100999")
    payload.pop("supplier_site")
    diagnostic = only(evaluate(world, "purchase_order", payload), "SUPPLIER_INACTIVE")
    assert (diagnostic["path"], diagnostic["value"]) == ("$.supplier", "100999")


def test_an_inactive_supplier_site_quarantines(world):
    payload = example("purchase_order", supplier_site="HAMBURG-OLD")
    diagnostic = only(evaluate(world, "purchase_order", payload), "SUPPLIER_SITE_INACTIVE")
    assert diagnostic["path"] == "$.supplier_site"


def test_an_active_supplier_and_site_pass(world):
    outcome = evaluate(world, "purchase_order")
    assert not findings(outcome, "SUPPLIER_INACTIVE")
    assert not findings(outcome, "SUPPLIER_SITE_INACTIVE")


# --- ship-to and forecast location ---------------------------------------------------------


@pytest.mark.parametrize(
    ("ship_to", "says"),
    [
        ("WE-OFF", "cannot receive"),
        ("WE-GR9", "is inactive"),
        ("DC-N", "belongs to no plant"),
    ],
)
def test_a_ship_to_that_cannot_receive_for_a_plant_quarantines(world, ship_to, says):
    payload = example("purchase_order", ship_to=ship_to)
    diagnostic = only(evaluate(world, "purchase_order", payload), "SHIP_TO_INVALID")
    assert diagnostic["path"] == "$.ship_to"
    assert diagnostic["team"] == "erp"
    assert says in diagnostic["message"]


def test_a_receiving_location_of_the_plant_is_a_valid_ship_to(world):
    for ship_to in ("1000", "GR01"):  # the plant itself (it receives), its dock
        outcome = evaluate(world, "purchase_order", example("purchase_order", ship_to=ship_to))
        assert outcome.status == "released", outcome.diagnostics


def test_a_receipt_location_must_receive_too(world):
    payload = example("receipt", location="WE-OFF")
    assert only(evaluate(world, "receipt", payload), "SHIP_TO_INVALID")["path"] == "$.location"


def test_a_forecast_at_a_warehouse_quarantines(world):
    payload = with_line("forecast", location="PLANT-HH-WH")
    diagnostic = only(evaluate(world, "forecast", payload), "FORECAST_LOCATION_NOT_PLANT")
    assert diagnostic["path"] == "$.lines[0].location"
    assert diagnostic["team"] == "planning"


def test_a_forecast_at_a_plant_passes(world):
    assert not findings(evaluate(world, "forecast"), "FORECAST_LOCATION_NOT_PLANT")


# --- units ---------------------------------------------------------------------------------


def test_a_unit_the_item_cannot_be_converted_from_quarantines(world):
    # The sheet is kept in kilograms and has no net weight: pieces say nothing.
    payload = with_line("forecast", item="PLN-SHEET-1")
    diagnostic = only(evaluate(world, "forecast", payload), "UNIT_NOT_CONVERTIBLE")
    assert diagnostic["path"] == "$.lines[0].unit"
    assert "Cannot convert H87 (piece) to KGM (kilogram)" in diagnostic["message"]


@pytest.mark.parametrize(
    ("unit", "quantity", "pieces"),
    [
        ("BOX", 3, "30"),  # 1 XBX = 10 H87 (the generic box)
        ("KG", "1.1", "10"),  # net weight 0.11 kg per piece
        ("EA", 7, "7"),
    ],
)
def test_a_unit_that_converts_to_the_base_unit_passes(world, unit, quantity, pieces):
    payload = with_line("forecast", unit=unit, quantity=quantity)
    outcome = evaluate(world, "forecast", payload)
    assert outcome.status == "released", outcome.diagnostics
    quantity = outcome.released_payload["lines"][0]["hub"]["quantity"]
    assert (quantity["value"], quantity["unit"]) == (pieces, "H87")


def test_an_unknown_unit_code_is_unresolved_not_unconvertible(world):
    payload = with_line("forecast", unit="CARTON")
    assert only(evaluate(world, "forecast", payload), "XREF_UNRESOLVED")["path"] == (
        "$.lines[0].unit"
    )


# --- working days --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "reason", "next_day"),
    [
        ("2026-03-21", "weekend (Saturday)", "2026-03-23"),
        ("2026-03-13", "closed: Stocktaking", "2026-03-16"),
        ("2026-04-03", "public holiday: Good Friday", "2026-04-07"),
    ],
)
def test_a_delivery_date_off_the_receiving_calendar_quarantines(world, day, reason, next_day):
    payload = with_line("purchase_order", need_by=day)
    diagnostic = only(evaluate(world, "purchase_order", payload), "NOT_A_WORKING_DAY")
    assert diagnostic["path"] == "$.lines[0].need_by"
    assert reason in diagnostic["message"]
    assert diagnostic["suggestion"] == f"The next working day is {next_day}."


def test_a_ship_notice_is_checked_at_its_ship_to(world):
    payload = example("ship_notice", expected_delivery="2026-03-22")  # a Sunday
    diagnostic = only(evaluate(world, "ship_notice", payload), "NOT_A_WORKING_DAY")
    assert diagnostic["path"] == "$.expected_delivery"


def test_a_delivery_date_on_a_working_day_passes(world):
    assert not findings(evaluate(world, "purchase_order"), "NOT_A_WORKING_DAY")


# --- quantities ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "says"),
    [
        (0, "is not above zero"),
        (-5, "is not above zero"),
        ("-0.5", "is not above zero"),
        ("1.1234567", "has 7 decimal places"),
        (10**13, "is too large"),
        (1e300, "is too large"),
    ],
)
def test_a_quantity_that_is_not_positive_or_sane_quarantines(world, quantity, says):
    payload = with_line("forecast", quantity=quantity)
    diagnostic = only(evaluate(world, "forecast", payload), "QUANTITY_INVALID")
    assert diagnostic["path"] == "$.lines[0].quantity"
    assert says in diagnostic["message"]


@pytest.mark.parametrize("quantity", [1, "0.000001", "12.500000000", 999_999_999_999])
def test_a_positive_quantity_with_sane_precision_passes(world, quantity):
    outcome = evaluate(world, "forecast", with_line("forecast", quantity=quantity))
    assert not findings(outcome, "QUANTITY_INVALID")


def test_zero_is_a_quantity_where_it_means_something(world):
    # A stock of none; a line the supplier rejected.
    assert evaluate(world, "inventory_balance").status == "released"  # line 2 has 0
    rejected = with_line("po_acknowledgement", status="IR", committed_quantity=0)
    assert evaluate(world, "po_acknowledgement", rejected).status == "released"
    accepted = with_line("po_acknowledgement", committed_quantity=0)
    assert only(evaluate(world, "po_acknowledgement", accepted), "QUANTITY_INVALID")


# --- target codes --------------------------------------------------------------------------


def test_a_record_the_target_system_has_no_code_for_is_released_with_a_warning(world):
    outcome = evaluate(world, "forecast", with_line("forecast", item="PLN-NEW-1"))

    assert outcome.status == "released"
    diagnostic = only(outcome, "NO_TARGET_CODE")
    assert diagnostic["severity"] == "warning"
    assert diagnostic["path"] == "$.lines[0].item"
    assert "ERP_CLOUD or ERP_LEGACY has no code for item" in diagnostic["message"]
    assert outcome.released_payload["lines"][0]["hub"]["item"]["codes"] == {}


def test_a_record_the_target_system_knows_passes(world):
    assert not findings(evaluate(world, "forecast"), "NO_TARGET_CODE")
