"""Candidates for a code that does not resolve from what else the message says of the record
(purchase_order and po_acknowledgement v2: a line's item description, MPN and GTIN, the
supplier's name), beside the code's near misses, each with why it was suggested."""

import pytest

from validation import enrich, pipeline
from xref import described

from .world import example

pytestmark = pytest.mark.django_db

GTIN = "4006381333931"


@pytest.fixture
def bearing(world):
    """The world's bearing as a real catalogue has it: a description, a maker's part number
    and a GTIN."""
    item = world.bearing
    item.description = "Deep groove ball bearing 6204-2RS"
    item.mpn = "6204-2RSH"
    item.gtin = GTIN
    item.save()  # the match index follows the save
    return item


def order(item="NOPE-4711", supplier="100234", **line):
    payload = example("purchase_order", supplier=supplier)
    payload["lines"][0].update(item=item, **line)
    return payload


def unresolved(world, payload, message_type="purchase_order", system="ERP_LEGACY"):
    outcome = pipeline.evaluate(message_type, 2, payload, world.systems[system])
    found = [d for d in outcome.diagnostics if d["rule"] == "XREF_UNRESOLVED"]
    assert len(found) == 1, outcome.diagnostics
    return found[0]


def test_an_unknown_item_gets_the_item_its_description_describes_with_the_reason(world, bearing):
    diagnostic = unresolved(world, order(description="Deep groove ball bearing 6204"))

    best = diagnostic["candidates"][0]
    assert best["id"] == bearing.public_id
    assert best["reason"].startswith(
        "description 'Deep groove ball bearing 6204' matches this item's description, score "
    )
    assert diagnostic["suggestion"].startswith(
        f"Did you mean {bearing.public_id} Deep groove ball bearing 6204-2RS (description "
    )
    assert "Register" not in diagnostic["suggestion"]


def test_an_unknown_item_gets_the_item_with_the_lines_gtin_or_mpn(world, bearing):
    by_gtin = unresolved(world, order(gtin=GTIN))["candidates"][0]
    by_mpn = unresolved(world, order(mpn="6204-2RSH"))["candidates"][0]

    assert (by_gtin["id"], by_gtin["score"]) == (bearing.public_id, 100)
    assert by_gtin["reason"] == f"GTIN {GTIN} is this item's GTIN"
    assert (by_mpn["id"], by_mpn["reason"]) == (
        bearing.public_id,
        "MPN 6204-2RSH is this item's MPN",
    )


def test_an_unknown_supplier_gets_the_supplier_its_name_describes(world):
    payload = order(item="BRG-6204-2RS", supplier="ZZ-NEW")
    payload["supplier_name"] = "Kugelmann GmbH"
    diagnostic = unresolved(world, payload)

    assert diagnostic["path"] == "$.supplier"
    best = diagnostic["candidates"][0]
    assert best["id"] == world.supplier.public_id
    assert best["reason"].startswith("name 'Kugelmann GmbH' matches this supplier's name, score ")


def test_an_acknowledgement_lines_gtin_finds_its_item(world, bearing):
    payload = example("po_acknowledgement")
    payload["lines"][0].update(item="ZZ-UNKNOWN", gtin=GTIN)

    diagnostic = unresolved(world, payload, "po_acknowledgement", "SUPPLIER_NET")

    assert diagnostic["path"] == "$.lines[0].item"
    assert diagnostic["candidates"][0]["reason"] == f"GTIN {GTIN} is this item's GTIN"


def test_a_near_miss_that_the_gtin_agrees_with_is_one_candidate_with_both_reasons(world, bearing):
    # A letter O for the zero of ERP_LEGACY's BRG-6204-2RS, and the bearing's GTIN.
    diagnostic = unresolved(world, order(item="BRG-62O4-2RS", gtin=GTIN))

    ids = [candidate["id"] for candidate in diagnostic["candidates"]]
    assert ids.count(bearing.public_id) == 1
    best = diagnostic["candidates"][0]
    assert (best["id"], best["code"], best["score"]) == (bearing.public_id, "BRG-6204-2RS", 100)
    assert best["reason"] == f"one character differs: O for 0; GTIN {GTIN} is this item's GTIN"
    # Still said plainly to be a near miss, not a new code to register.
    assert diagnostic["suggestion"].startswith("'BRG-62O4-2RS' is a near miss of ERP_LEGACY's ")
    assert "Register" not in diagnostic["suggestion"]


def test_a_line_describing_another_item_than_the_near_miss_lists_both_best_first(world, bearing):
    other = world.new_item  # no ERP_LEGACY code like the one sent
    other.gtin = "4006381333948"
    other.save()

    diagnostic = unresolved(world, order(item="BRG-62O4-2RS", gtin="4006381333948"))

    assert [(c["id"], c["source"]) for c in diagnostic["candidates"][:2]] == [
        (other.public_id, "described"),
        (bearing.public_id, "near_miss"),
    ]
    # The registration warning still names the near miss; the other candidate with its reason.
    assert diagnostic["suggestion"].startswith(
        f"'BRG-62O4-2RS' is a near miss of ERP_LEGACY's 'BRG-6204-2RS' ({bearing.public_id} "
    )
    assert "GTIN 4006381333948 is this item's GTIN" in diagnostic["suggestion"]


def test_a_message_without_the_v2_fields_is_answered_as_before(world, bearing):
    diagnostic = unresolved(world, order(item="BRG-62O4-2RS"))
    assert {c["source"] for c in diagnostic["candidates"]} <= {"near_miss", "match"}
    assert diagnostic["candidates"][0]["reason"] == "one character differs: O for 0"


def test_the_matcher_is_asked_once_per_distinct_description_within_the_message_budget(
    world, bearing, monkeypatch
):
    asked = []
    real = described.candidates

    def counted(kind, text="", **identifiers):
        asked.append((kind, text))
        return real(kind, text, **identifiers)

    monkeypatch.setattr(described, "candidates", counted)
    payload = order()
    line = payload["lines"][0]
    payload["lines"] = [
        {**line, "line": n, "item": f"ZZ-{n % 3}", "description": f"Ball bearing {n % 3}"}
        for n in range(1, 61)
    ] + [
        {**line, "line": 100 + n, "item": f"YY-{n}", "description": f"Roller {n}"}
        for n in range(40)
    ]

    pipeline.evaluate("purchase_order", 2, payload, world.systems["ERP_LEGACY"])

    assert sorted(set(asked[:3])) == [("item", f"Ball bearing {n}") for n in range(3)]
    assert len(asked) == len(set(asked)) <= enrich.SUGGESTION_LIMIT
