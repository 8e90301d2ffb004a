"""X12 855, 856 and 850 into the canonical contracts: the public samples under
../shared/refdata/x12/samples (copied to tests/edi/data) and fixtures of our own (map_*.edi).
Every expected value below was read off the interchange by eye."""

from pathlib import Path

import pytest

from edi import x12
from edi.x12_inbound import (
    LINE_STATUS_CODES,
    MAPPERS,
    decimal_text,
    hub_unit,
    map_transaction,
    parse_date,
    x12_unit,
)
from validation.contracts import contract_errors

DATA = Path(__file__).resolve().parent / "data"
SUPPLIER = "SUP-NET-7"


def mapped_all(name, **options):
    interchange = x12.parse((DATA / name).read_bytes())
    return [
        map_transaction(transaction, group, supplier=SUPPLIER, **options)
        for group in interchange.groups
        for transaction in group.transactions
    ]


def mapped(name, **options):
    [result] = mapped_all(name, **options)
    return result


def where(problems):
    """(level, code, segment position, tag, element position) of each problem."""
    return [
        (p.level, p.code, p.segment_position, p.segment_tag, p.element_position) for p in problems
    ]


def assert_valid(result):
    assert result.problems == []
    assert contract_errors(result.message_type, result.schema_version, result.payload) == []


# --- the public samples ---------------------------------------------------------------------


def test_it_maps_the_node_x12_855_with_its_ack_and_sch_lines():
    result = mapped("nodex12_855_004010.edi")
    assert (result.message_type, result.schema_version) == ("po_acknowledgement", 2)
    assert result.document == "855 for PO POTEST1112"
    assert_valid(result)
    # BAK08 is empty (the 60169126 is BAK06, a request reference): no ack_number.
    assert result.payload == {
        "po_number": "POTEST1112",
        "supplier": SUPPLIER,
        "ack_date": "2020-10-15",
        "lines": [
            {
                "line": 1,
                "status": "IA",
                "committed_quantity": "3",
                "unit": "C62",  # X12 UN (unit) is Rec 20 C62 (one)
                "committed_date": "2004-12-31",  # SCH05 080, scheduled for shipment
                "gtin": "9780446360265",
                "description": "DIC WEBSTERS NEW WORLD",
            },
            {
                "line": 2,
                "status": "IR",
                "committed_quantity": "0",
                "unit": "C62",
                "committed_date": "2007-10-09",
                "gtin": "9780767928427",
                "description": "CLAPTON THE AUTOBIOGRAPHY",
            },
            {
                "line": 3,
                "status": "IR",
                "committed_quantity": "0",
                "unit": "C62",
                "committed_date": "2004-12-31",
                "gtin": "9780099599531",
            },
            {
                "line": 4,
                "status": "IA",
                "committed_quantity": "2",
                "unit": "C62",
                "committed_date": "2004-12-31",
                "gtin": "9780446360272",
                "description": "WEBSTERS NEW WORLD THESAURUS",
            },
        ],
    }


def test_it_maps_both_855s_of_the_ssimmons_group_as_accepted_from_bak02_ad():
    first, second = mapped_all("oopfactory_855_SSimmons_004010.txt")
    assert_valid(first)
    assert_valid(second)
    # No ACK: BAK02 AD accepts each line as ordered, at the header's DTM*017 date. The
    # vendor's catalog number (VC) is the item, not the buyer's (CB).
    assert first.payload == {
        "po_number": "7542",
        "ack_number": "83517234",
        "supplier": SUPPLIER,
        "ack_date": "2011-09-28",
        "lines": [
            {
                "line": 100,
                "status": "IA",
                "committed_quantity": "1",
                "unit": "EA",
                "committed_date": "2011-10-07",
                "item": "64620451",
            },
            {
                "line": 200,
                "status": "IA",
                "committed_quantity": "1",
                "unit": "EA",
                "committed_date": "2011-10-07",
                "item": "51528451",
            },
        ],
    }
    assert second.payload["po_number"] == "99035"
    assert second.payload["ack_number"] == "83517334"
    assert second.payload["lines"] == [
        {
            "line": 100,
            "status": "IA",
            "committed_quantity": "1",
            "unit": "EA",
            "committed_date": "2011-10-06",
            "item": "54625740",
        }
    ]


def test_it_maps_the_crossdock_856_with_a_pack_and_its_sscc_per_item():
    result = mapped("ediengine_856_Crossdock_004010.edi")
    assert (result.message_type, result.schema_version) == ("ship_notice", 3)
    assert result.document == "856 shipment 000009"

    # A retail cross-dock: each item is identified under its order (PRF) by its UPC or EAN
    # (LIN02 UP, EN) in a pack of its own; LIN01 and SN101 are empty, so no line names the
    # order's line: ship_notice v3 lets po_line out, and the hub correlates by the item.
    def line(po_number, upc, sscc):
        return {
            "po_number": po_number,
            "item": upc,
            "quantity": "12",
            "unit": "EA",
            "packs": [{"sscc": sscc, "quantity": "12"}],
        }

    # MAN*GM carries the (00) application identifier before the 18-digit SSCC.
    assert result.payload == {
        "shipment_id": "000009",
        "supplier": SUPPLIER,
        "ship_date": "2009-09-21",
        "expected_delivery": "2009-09-25",
        "ship_to": "0001",
        "lines": [
            line("POREF00", "0000000000642", "000715670002152360"),
            line("POREF00", "0000000000831", "000715670002152377"),
            line("POREF00", "0000000000283", "000715670002152384"),
            line("POREF00", "0000000000203", "000715670002152391"),
            line("POREF01", "0000000000642", "000715670002152111"),
        ],
    }
    assert_valid(result)
    assert contract_errors("ship_notice", 3, result.payload) == []
    # Contract v2, which requires po_line, would refuse each line.
    paths = [error["path"] for error in contract_errors("ship_notice", 2, result.payload)]
    assert paths == [f"$.lines[{n}].po_line" for n in range(5)]


def test_it_maps_the_oopfactory_856_written_with_tilde_elements_and_star_terminators():
    result = mapped("oopfactory_856_Example1.txt")
    assert_valid(result)
    assert result.payload == {
        "shipment_id": "123456",
        "supplier": SUPPLIER,
        "ship_date": "2001-04-20",
        "expected_delivery": "2001-04-22",
        "ship_to": "201495124",
        "lines": [
            {
                "po_number": "123456",
                "po_line": 1,
                "item": "1234-123456",
                "quantity": "16",
                "unit": "H87",
            },
            {
                "po_number": "123456",
                "po_line": 2,
                "item": "1234-654321",
                "quantity": "23",
                "unit": "LBR",
            },
            {
                "po_number": "123456",
                "po_line": 4,
                "item": "1234-223456",
                "quantity": "16",
                "unit": "H87",
            },
        ],
    }


def test_it_maps_the_vics_850_with_the_vendors_item_numbers():
    result = mapped("nodex12_850_004010VICS.edi")
    assert (result.message_type, result.schema_version) == ("purchase_order", 2)
    assert result.document == "850 PO 08292233294"
    assert_valid(result)

    def line(n, item, quantity, price, description):
        return {
            "line": n,
            "item": item,
            "quantity": quantity,
            "unit": "EA",
            "price": price,
            "need_by": "2010-12-14",  # the header's DTM*002
            "description": description,
        }

    assert result.payload == {
        "po_number": "08292233294",
        "change_sequence": 0,
        "supplier": SUPPLIER,  # no N1*SU: the partner's supplier code
        "ship_to": "0003947268292",
        "order_date": "2010-11-27",
        "lines": [
            line(1, "AB3542", "120", "9.25", "SMALL WIDGET"),
            line(2, "RD5322", "220", "13.79", "MEDIUM WIDGET"),
            line(3, "XY5266", "126", "10.99", "LARGE WIDGET"),
            line(4, "VX2332", "76", "4.35", "NANO WIDGET"),
            line(5, "RV0524", "72", "7.5", "BLUE WIDGET"),
            line(6, "DX1875", "696", "9.55", "ORANGE WIDGET"),
        ],
    }


# --- 855: our fixtures ------------------------------------------------------------------------


def test_it_maps_each_ack_code_with_its_quantity_unit_and_date():
    result = mapped("map_855_ack_codes.edi")
    assert_valid(result)
    payload = result.payload
    assert (payload["po_number"], payload["ack_number"]) == ("4500012345", "ACK-7001")
    assert (payload["ack_date"], payload["supplier_name"]) == ("2024-06-01", "ACME SUPPLY CO")

    def line(n, status, quantity, unit, date, item, **more):
        return {
            "line": n,
            "status": status,
            "committed_quantity": quantity,
            "unit": unit,
            "committed_date": date,
            "item": item,
            **more,
        }

    assert payload["lines"] == [
        line(10, "IB", "100", "EA", "2024-07-15", "AC-100", description="HEX BOLT M8"),
        line(20, "IC", "48", "XCS", "2024-06-25", "AC-200", gtin="4006381333931"),
        line(30, "IQ", "150", "EA", "2024-06-20", "AC-300", mpn="MFR-300"),
        line(40, "IP", "10", "XBX", "2024-06-22", "AC-400"),  # the ACK loop's DTM*067
        line(50, "DR", "5", "DZN", "2024-07-05", "AC-500"),  # ACK05 before the line's DTM
        line(60, "BP", "120", "EA", "2024-06-15", "AC-600"),  # shipped part ...
        line(60, "IB", "180", "EA", "2024-08-01", "AC-600"),  # ... and the backorder
        line(70, "R1", "0", "EA", "2024-06-20", "AC-700"),  # no date: the header's DTM*017
        line(80, "R2", "0", "EA", "2024-06-20", "AC-800"),
        line(90, "IS", "15", "XPK", "2024-07-02", "AC-901"),  # the substitute, from ACK07/08
        line(100, "IA", "12", "EA", "2024-06-20", "AC-1000"),  # no ACK, BAK02 AC
    ]


def test_it_consults_the_partners_units_before_the_crosswalk():
    result = mapped("map_855_ack_codes.edi", units={"EA": "H87", "CA": "XCT"})
    assert_valid(result)
    units = [(line["line"], line["unit"]) for line in result.payload["lines"]]
    assert units[:3] == [(10, "H87"), (20, "XCT"), (30, "H87")]
    assert units[3] == (40, "XBX")  # no override: the crosswalk's


@pytest.mark.parametrize("status", ["IR", "ID", "IH", "R3", "R4", "R5", "R6", "R7", "R8", "SP"])
def test_it_passes_any_x12_668_status_through(status):
    raw = (DATA / "map_855_missing_bak.edi").read_text()
    raw = raw.replace("DTM*017*20240620~", "BAK*00*AC*PO-1*20240601~\nDTM*017*20240620~")
    raw = raw.replace("SE*6*", "SE*7*").replace("ACK*IA*10*EA~", f"ACK*{status}*0*EA~")
    interchange = x12.parse(raw)
    [group] = interchange.groups
    result = map_transaction(group.transactions[0], group, supplier=SUPPLIER)
    assert_valid(result)
    assert result.payload["lines"][0]["status"] == status
    assert status in LINE_STATUS_CODES


def test_a_missing_bak_is_a_mandatory_segment_missing_and_nothing_is_guessed():
    result = mapped("map_855_missing_bak.edi")
    assert where(result.problems) == [("segment", "3", 2, "BAK", None)]
    assert "po_number" not in result.payload and "ack_date" not in result.payload
    assert result.document == "855 0801"
    assert result.payload["lines"] == [
        {
            "line": 1,
            "status": "IA",
            "committed_quantity": "10",
            "unit": "EA",
            "committed_date": "2024-06-20",
            "item": "AC-100",
        }
    ]
    paths = [e["path"] for e in contract_errors("po_acknowledgement", 2, result.payload)]
    assert paths == ["$.ack_date", "$.po_number"]


def test_an_invalid_date_is_element_code_8_at_its_position():
    result = mapped("map_855_invalid_dates.edi")
    assert where(result.problems) == [
        ("element", "8", 2, "BAK", 4),  # 20240231: no 31 February
        ("element", "8", 4, "ACK", 5),  # 20241301: no month 13
        ("segment", "3", 6, "DTM", None),  # the IB line has no date anywhere
    ]
    assert "BAK04" in result.problems[0].message and "20240231" in result.problems[0].message
    assert "ack_date" not in result.payload
    assert [("committed_date" in line) for line in result.payload["lines"]] == [False, False]


def test_unknown_units_codes_and_missing_elements_are_reported_with_their_positions():
    result = mapped("map_855_bad_elements.edi")
    assert where(result.problems) == [
        ("element", "7", 4, "PO1", 3),  # QQ is no X12 unit
        ("element", "7", 6, "ACK", 3),  # CS (cassette) is X12, but not in the crosswalk
        ("element", "7", 8, "ACK", 1),  # XX is no 668 line status
        ("element", "1", 9, "PO1", 1),  # no line number
        ("element", "1", 10, "ACK", 2),  # IQ without the quantity
        ("element", "6", 12, "ACK", 2),  # 1,5 is not a number
    ]
    assert "'QQ'" in result.problems[0].message
    assert "unit" not in result.payload["lines"][0]


def test_a_partner_override_makes_an_unknown_unit_known():
    result = mapped("map_855_bad_elements.edi", units={"QQ": "H87", "cs": "XCS"})
    assert ("element", "7", 4, "PO1", 3) not in where(result.problems)
    assert ("element", "7", 6, "ACK", 3) not in where(result.problems)
    assert [line["unit"] for line in result.payload["lines"][:2]] == ["H87", "XCS"]


# --- 856 -------------------------------------------------------------------------------------


def test_it_maps_an_s_i_856_of_003060_with_short_dates_and_adds_up_a_split_line():
    result = mapped("map_856_s_i_003060.edi")
    assert_valid(result)
    assert result.payload == {
        "shipment_id": "SHP-702",
        "supplier": SUPPLIER,
        "ship_date": "2024-06-03",
        "expected_delivery": "2024-06-05",
        "ship_to": "P1",
        "lines": [
            {
                "po_number": "4500012345",
                "po_line": 1,
                "item": "AC-100",
                "quantity": "100",  # 60 in HL 2 and 40 in HL 4
                "unit": "EA",
            },
            {
                "po_number": "4500012345",
                "po_line": 2,
                "item": "AC-200",
                "quantity": "4",
                "unit": "XCS",
            },
        ],
    }


def test_it_maps_an_s_o_i_p_856_with_the_packs_below_the_item():
    result = mapped("map_856_s_o_i_p.edi")
    assert_valid(result)
    assert result.payload["expected_delivery"] == "2024-06-06"  # DTM*067
    assert result.payload["lines"] == [
        {
            "po_number": "4500012399",
            "po_line": 10,
            "item": "AC-100",
            "quantity": "24",
            "unit": "EA",
            "packs": [
                {"sscc": "037612345000000014", "quantity": "12"},
                {"sscc": "037612345000000021", "quantity": "12"},
            ],
        },
        # HL*6 leaves its parent empty: by BSN05 0002 it belongs to the order above it.
        {
            "po_number": "4500012399",
            "po_line": 20,
            "item": "AC-200",
            "quantity": "6",
            "unit": "XCS",
        },
    ]


def test_what_an_856_lacks_is_reported_at_the_level_that_lacks_it():
    result = mapped("map_856_missing.edi")
    assert where(result.problems) == [
        ("segment", "3", 3, "DTM", None),  # no ship date (011) on the shipment
        ("segment", "3", 3, "N1", None),  # no ship-to party
        ("segment", "3", 8, "PRF", None),  # the item's order level has no PRF
        ("element", "7", 10, "SN1", 3),  # ZZ is no unit
    ]  # LIN01 is empty too: no problem, ship_notice v3 lets po_line out
    assert result.payload == {
        "shipment_id": "SHP-705",
        "supplier": SUPPLIER,
        "expected_delivery": "2024-06-07",
        "lines": [
            {
                "item": "AC-100",
                "quantity": "10",
                "packs": [{"sscc": "037612345000000014", "quantity": "10"}],
            }
        ],
    }


def test_an_856_without_a_delivery_date_or_line_numbers_is_a_valid_v3_ship_notice():
    raw = (DATA / "map_856_s_i_003060.edi").read_text()
    raw = raw.replace("DTM*017*240605~\n", "").replace("SE*23*0702", "SE*22*0702")
    raw = raw.replace("LIN*1*VP*AC-100*BP", "LIN**VP*AC-100*BP").replace("LIN*2*", "LIN**")
    group = x12.parse(raw.encode()).groups[0]
    result = map_transaction(group.transactions[0], group, supplier=SUPPLIER)
    assert (result.message_type, result.schema_version) == ("ship_notice", 3)
    assert_valid(result)
    assert "expected_delivery" not in result.payload
    # HL 4 still names line 1 (LIN*1) and stays a line of its own.
    assert result.payload["lines"] == [
        {"po_number": "4500012345", "item": "AC-100", "quantity": "60", "unit": "EA"},
        {"po_number": "4500012345", "item": "AC-200", "quantity": "4", "unit": "XCS"},
        {"po_number": "4500012345", "po_line": 1, "item": "AC-100", "quantity": "40", "unit": "EA"},
    ]


def test_a_line_number_that_is_not_one_is_still_a_problem():
    raw = (DATA / "map_856_s_i_003060.edi").read_text().replace("LIN*2*", "LIN*A2*")
    group = x12.parse(raw.encode()).groups[0]
    result = map_transaction(group.transactions[0], group, supplier=SUPPLIER)
    assert where(result.problems) == [("element", "6", 15, "LIN", 1)]  # the second LIN
    assert "po_line" not in result.payload["lines"][1]


# --- 850 -------------------------------------------------------------------------------------


def test_it_maps_an_850_with_line_dates_schedules_and_every_kind_of_item_id():
    result = mapped("map_850_lines.edi")
    assert_valid(result)
    assert result.payload == {
        "po_number": "4500012360",
        "change_sequence": 0,
        "supplier": "ACME01",  # N1*SU's code wins over the partner's
        "supplier_name": "ACME SUPPLY CO",
        "supplier_site": "ACME01-E",
        "ship_to": "P1",
        "order_date": "2024-06-01",
        "currency": "EUR",
        "lines": [
            {
                "line": 1,
                "item": "AC-100",  # VP before BP
                "revision": "B",
                "quantity": "100",
                "unit": "EA",
                "price": "2.5",
                "need_by": "2024-06-15",  # the line's DTM before the header's
                "description": "HEX BOLT M8",
            },
            {
                "line": 2,
                "item": "AC-400",
                "mpn": "MFR-400",
                "gtin": "012345678905",
                "quantity": "3",
                "unit": "XBX",
                "price": "30",
                "need_by": "2024-06-20",  # SCH05 002
            },
            {
                "line": 3,
                "item": "ITM-000103",  # only the buyer's part
                "quantity": "12",
                "unit": "DZN",
                "price": "8",
                "need_by": "2024-06-30",  # the header's
                "description": "WASHER STAINLESS",
            },
        ],
    }


def test_an_850_that_replaces_an_order_or_lacks_item_and_date_is_reported():
    result = mapped("map_850_problems.edi")
    assert where(result.problems) == [
        ("element", "7", 2, "BEG", 1),  # 05 replace: only originals
        ("element", "1", 4, "PO1", 7),  # no product id at all
        ("segment", "3", 4, "DTM", None),  # no need-by date
    ]
    assert "change_sequence" not in result.payload
    assert result.payload["lines"] == [{"line": 1, "quantity": "10", "unit": "EA", "price": "2.5"}]


def test_an_860_that_cancels_deletes_a_line_or_lacks_its_sequence_is_reported():
    cancel, change = mapped_all("map_860_problems.edi")
    assert where(cancel.problems) == [
        ("element", "7", 2, "BCH", 1),  # 01 cancellation: no canonical form
        ("element", "7", 4, "POC", 2),  # DI, a deleted line: neither
    ]
    assert where(change.problems) == [("element", "1", 2, "BCH", 5)]  # no sequence number
    assert change.document == "860 PO 4500012360"
    # POC05 is a composite: its first component is the unit.
    assert change.payload["lines"] == [
        {
            "line": 1,
            "item": "AC-100",
            "quantity": "120",
            "unit": "EA",
            "price": "2.5",
            "need_by": "2024-06-15",
        }
    ]


# --- the pieces --------------------------------------------------------------------------------


def test_the_mappers_cover_855_856_850_and_860():
    assert sorted(MAPPERS) == ["850", "855", "856", "860"]


def test_dates_are_ccyymmdd_and_yymmdd_only_before_004010():
    assert parse_date("20240229") == "2024-02-29"
    assert parse_date("20230229") is None
    assert parse_date("240603") is None
    assert parse_date("240603", short_dates=True) == "2024-06-03"
    assert parse_date("990603", short_dates=True) == "1999-06-03"
    assert parse_date("2024-06-03") is None


def test_numbers_become_the_contracts_decimal_strings():
    assert decimal_text("4.50") == "4.5"
    assert decimal_text(".5") == "0.5"
    assert decimal_text("100") == "100"
    assert decimal_text("-0") == "0"
    assert decimal_text("12.000") == "12"


def test_the_crosswalk_heeds_its_look_alike_warnings():
    assert hub_unit("CA") == "XCS"  # a case, not Rec 20's deleted CA (can)
    assert hub_unit("PL") == "XPX"  # a pallet, not Rec 21's PL (pail)
    assert hub_unit("PA") == "XPL"  # a pail, not Rec 21's PA (packet)
    assert hub_unit("MR") == "MTR"
    assert hub_unit("pc") == "H87"
    assert hub_unit("CS") is None
    assert x12_unit("XPK") == "PK"  # PH (pack) maps there too; the first row wins
    assert x12_unit("H87", {"EA": "H87"}) == "EA"
    assert x12_unit("NOPE") is None
