"""Candidates from what else a message says of a record (xref.described), on the demo world:
the record an item description, GTIN or MPN or a supplier name describes, with why; and the
merge of those with a code's near misses, one entry per record, best first."""

from datetime import date

import pytest

from demo.reference_data import DEMO_UNITS
from demo.seed import seed_demo
from mdm.models import Item, Supplier, Unit
from xref import described

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    for code, fields in DEMO_UNITS.items():
        Unit.objects.create(code=code, **fields)
    seed_demo(items=40, suppliers=5, today=date(2026, 3, 2))


def test_an_items_gtin_mpn_and_description_each_find_it_and_say_so(world):
    item = Item.objects.exclude(gtin="").exclude(mpn="").order_by("pk").first()

    by_gtin = described.candidates("item", gtin=item.gtin)[0]
    by_mpn = described.candidates("item", mpn=item.mpn)[0]
    by_text = described.candidates("item", item.description.upper())[0]

    assert (by_gtin["id"], by_gtin["score"]) == (item.public_id, 100)
    assert by_gtin["reason"] == f"GTIN {item.gtin} is this item's GTIN"
    assert (by_mpn["id"], by_mpn["reason"]) == (
        item.public_id,
        f"MPN {item.mpn} is this item's MPN",
    )
    assert by_text["id"] == item.public_id
    assert by_text["reason"] == (
        f"description {item.description.upper()!r} matches this item's description, score 100"
    )
    assert by_text["source"] == "described"


def test_a_supplier_name_finds_the_supplier_and_says_it_once(world):
    supplier = Supplier.objects.order_by("pk").first()

    best = described.candidates("supplier", supplier.name.lower())[0]

    assert best["id"] == supplier.public_id
    # Its name and legal name both agree: one reason, not two.
    assert best["reason"].count("matches this supplier's") == 1


def test_text_too_far_from_any_record_suggests_nothing(world):
    assert described.candidates("item", "zzqx wibble frobnicator") == []
    assert described.candidates("item", "") == []
    assert described.candidates("unit", "piece") == []


def test_merged_keeps_one_entry_per_record_with_every_reason_best_first():
    near = [
        {
            "id": "ITM-1",
            "score": 99.0,
            "reason": "one character differs: O for 0",
            "code": "100022",
        },
        {
            "id": "ITM-2",
            "score": 83.3,
            "reason": "one character differs: 3 for 2",
            "code": "100023",
        },
    ]
    told = [
        {"id": "ITM-3", "score": 100.0, "reason": "GTIN 4006381333931 is this item's GTIN"},
        {"id": "ITM-1", "score": 95.0, "reason": "description 'x' matches, score 95"},
    ]

    found = described.merged(near, told)

    assert [c["id"] for c in found] == ["ITM-3", "ITM-1", "ITM-2"]
    assert found[1] == {
        "id": "ITM-1",
        "score": 99.0,
        "reason": "one character differs: O for 0; description 'x' matches, score 95",
        "code": "100022",
    }
