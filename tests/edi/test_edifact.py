"""EDIFACT D.96A through the gateway: a supplier's ORDRSP and DESADV interchanges read with
pydifact and mapped to the canonical po_acknowledgement and ship_notice, every fault reported
with CONTRL's codes and positions, the CONTRL answer itself, and a purchase order rendered as
ORDERS and read back. The fixtures data/edifact_*.edi were written by hand after the D.96A
segment layouts; the expected values below were read off them."""

import datetime
from pathlib import Path

import pytest

from edi.edifact import EdifactError, parse
from edi.edifact_inbound import map_message
from edi.edifact_outbound import contrl, render_orders
from validation.contracts import contract_errors

DATA = Path(__file__).parent / "data"
SUPPLIER = "V100001"
WHEN = datetime.datetime(2025, 3, 14, 10, 0)


def fixture(name):
    return (DATA / f"edifact_{name}.edi").read_text()


def only_message(text):
    interchange = parse(text)
    assert len(interchange.messages) == 1
    return interchange.messages[0]


def mapped(text, **options):
    return map_message(only_message(text), supplier=SUPPLIER, **options)


def lines(edifact):
    """An interchange written by the gateway, one segment a line."""
    return edifact.replace("'", "'\n").splitlines()


def codes(problems):
    return [
        (p.level, p.code, p.segment_position, p.segment_tag, p.element_position) for p in problems
    ]


# --- reading the envelope ------------------------------------------------------------------


def test_it_reads_the_envelope_and_the_message_of_an_ordrsp():
    raw = (DATA / "edifact_ordrsp_accepted.edi").read_bytes()
    interchange = parse(raw)
    assert (interchange.sender, interchange.sender_qualifier) == ("4012345000009", "14")
    assert (interchange.recipient, interchange.recipient_qualifier) == ("5790000000005", "14")
    assert (interchange.control, interchange.date, interchange.time) == (
        "ORS0001",
        "250314",
        "0930",
    )
    assert (interchange.syntax, interchange.syntax_version) == ("UNOC", "3")
    assert interchange.test is False
    assert interchange.problems == []
    (message,) = interchange.messages
    assert (message.type, message.version, message.reference) == ("ORDRSP", "D:96A:UN", "1")
    assert message.problems == []
    assert [s.position for s in message.segments] == list(range(1, 19))
    assert [s.tag for s in message.segments][:4] == ["UNH", "BGM", "DTM", "RFF"]
    bgm = message.segments[1]
    assert bgm.offset == raw.index(b"BGM+231")
    assert bgm.elements == ["231", "AR-7781", "29"]


def test_it_reads_an_interchange_without_una_or_line_breaks():
    text = fixture("ordrsp_accepted").replace("UNA:+.? '\n", "").replace("'\n", "'")
    message = only_message(text)
    assert message.problems == []
    assert message.segments[-1].offset == text.index("UNT+18+1")


def test_it_reads_an_interchange_with_a_byte_order_mark_and_crlf_line_ends():
    raw = b"\xef\xbb\xbf" + fixture("ordrsp_accepted").replace("\n", "\r\n").encode("latin-1")
    message = only_message(raw)
    assert message.problems == []
    assert message.segments[0].offset == raw.index(b"UNH+1")


def test_a_release_character_keeps_service_characters_in_a_value():
    text = fixture("ordrsp_accepted").replace("BGM+231+AR-7781+29", "BGM+231+AR?+7781?'B?:1??+29")
    message = only_message(text)
    assert message.problems == []
    assert message.segments[1].elements == ["231", "AR+7781'B:1?", "29"]
    assert mapped(text).payload["ack_number"] == "AR+7781'B:1?"
    assert message.segments[2].offset == text.index("DTM+137")


def test_offsets_count_bytes_of_a_utf8_interchange():
    text = fixture("ordrsp_accepted").replace("UNOC", "UNOW").replace("Acme", "Äcmé")
    raw = text.encode("utf-8")
    message = only_message(raw)
    assert message.segments[-1].offset == raw.index(b"UNT+18+1")
    assert mapped(raw).payload["supplier_name"] == "Äcmé Fasteners GmbH"


# --- ORDRSP -> po_acknowledgement ----------------------------------------------------------


def test_it_maps_an_accepted_ordrsp_to_a_po_acknowledgement():
    result = mapped(fixture("ordrsp_accepted"))
    assert (result.message_type, result.schema_version) == ("po_acknowledgement", 2)
    assert result.problems == []
    assert result.document == "ORDRSP for PO PO-450012"
    assert result.payload == {
        "po_number": "PO-450012",
        "ack_number": "AR-7781",
        "supplier": SUPPLIER,
        "supplier_name": "Acme Fasteners GmbH",
        "ack_date": "2025-03-14",
        "lines": [
            {
                "line": 1,
                "status": "IA",
                "committed_quantity": "500",
                "unit": "H87",
                "committed_date": "2025-03-28",
                "item": "FA-1001",
                "description": "Hex bolt M8x40 zinc plated",
                "gtin": "4012345100013",
            },
            {
                "line": 2,
                "status": "IA",
                "committed_quantity": "1200",
                "unit": "H87",
                "committed_date": "2025-03-28",
                "item": "FA-2040",
                "mpn": "MX-2040-B",
            },
        ],
    }
    assert contract_errors("po_acknowledgement", 2, result.payload) == []


def test_it_maps_changed_and_rejected_lines():
    result = mapped(fixture("ordrsp_changes"))
    assert result.problems == []
    assert result.payload == {
        "po_number": "PO-450012",
        "ack_number": "AR-7790",
        "supplier": SUPPLIER,
        "ack_date": "2025-03-17",
        "lines": [
            # LIN 1229 6, accepted with amendment: 400 of 500 (QTY 113), on 4 April (DTM 67).
            {
                "line": 1,
                "status": "IC",
                "committed_quantity": "400",
                "unit": "H87",
                "committed_date": "2025-04-04",
                "item": "FA-1001",
            },
            # 1229 7, not accepted: nothing committed; the date is the header's DTM 2.
            {
                "line": 2,
                "status": "IR",
                "committed_quantity": "0",
                "unit": "H87",
                "committed_date": "2025-03-28",
                "item": "FA-2040",
            },
            # 1229 5, accepted; RFF LI names order line 4; no DTM on the line: the header's.
            {
                "line": 4,
                "status": "IA",
                "committed_quantity": "50",
                "unit": "KGM",
                "committed_date": "2025-03-28",
                "item": "FA-3300",
            },
        ],
    }
    assert contract_errors("po_acknowledgement", 2, result.payload) == []


@pytest.mark.parametrize(
    ("bgm", "status", "quantity"),
    [
        ("BGM+231+AR-7781+29", "IA", "500"),  # 1225 accepted without amendment
        ("BGM+231+AR-7781+27", "IR", "0"),  # 1225 not accepted
        ("BGM+231+AR-7781+34", "IC", "500"),  # 1225 accepted with amendment
        ("BGM+231+AR-7781+9+AP", "IA", "500"),  # 4343 accepted
        ("BGM+231+AR-7781+9+RE", "IR", "0"),  # 4343 rejected
        ("BGM+231+AR-7781+9+CA", "IC", "500"),  # 4343 conditionally accepted
    ],
)
def test_a_line_without_its_own_status_takes_the_bgm_answer(bgm, status, quantity):
    text = fixture("ordrsp_accepted").replace("BGM+231+AR-7781+29", bgm)
    text = text.replace("LIN+1+5+", "LIN+1++").replace("LIN+2+5+", "LIN+2++")
    result = mapped(text)
    assert result.problems == []
    first = result.payload["lines"][0]
    assert (first["status"], first["committed_quantity"]) == (status, quantity)


@pytest.mark.parametrize(("sent", "read"), [("12,5", "12.5"), ("12.50", "12.50"), (",5", "0.5")])
def test_quantities_keep_their_decimals_with_a_comma_or_a_point(sent, read):
    text = fixture("ordrsp_accepted").replace("QTY+113:500:H87", f"QTY+113:{sent}:KGM")
    first = mapped(text).payload["lines"][0]
    assert (first["committed_quantity"], first["unit"]) == (read, "KGM")


def test_a_quantity_that_is_not_a_number_is_an_element_problem():
    text = fixture("ordrsp_accepted").replace("QTY+113:500:H87", "QTY+113:5OO:H87")
    result = mapped(text)
    assert codes(result.problems) == [("element", "12", 10, "QTY", 1)]
    assert "committed_quantity" not in result.payload["lines"][0]


def test_a_line_status_that_says_nothing_is_a_problem():
    text = fixture("ordrsp_accepted").replace("BGM+231+AR-7781+29", "BGM+231+AR-7781+30+AC")
    text = text.replace("LIN+1+5+", "LIN+1++").replace("LIN+2+5+", "LIN+2+9+")
    result = mapped(text)
    assert codes(result.problems) == [
        ("element", "13", 7, "LIN", 2),  # no action code, and 30/AC leave it to the line
        ("element", "14", 12, "LIN", 2),  # 9 (amendments) is not a line status
    ]
    assert "LIN 2: action code 9" in result.problems[1].message


# --- DESADV -> ship_notice -----------------------------------------------------------------


def test_it_maps_a_desadv_with_its_packs_to_a_ship_notice():
    result = mapped(fixture("desadv"), units={"PCE": "H87"})
    assert (result.message_type, result.schema_version) == ("ship_notice", 3)
    assert result.problems == []
    assert result.document == "DESADV shipment DN-88120"
    assert result.payload == {
        "shipment_id": "DN-88120",
        "supplier": SUPPLIER,
        "ship_date": "2025-03-20",
        "expected_delivery": "2025-03-24",
        "ship_to": "5790000000104",
        "lines": [
            {
                "po_number": "PO-450012",
                "po_line": 1,
                "item": "FA-1001",
                "quantity": "400",
                "unit": "H87",
                "packs": [{"sscc": "340123450000000017", "quantity": "400"}],
            },
            # 30 on pallet 2 (its own SSCC) and 20 in cartons (CPS 4) on pallet 3: the
            # cartons carry no SSCC, the pallet holding them does.
            {
                "po_number": "PO-450012",
                "po_line": 4,
                "item": "FA-3300",
                "quantity": "50",
                "unit": "KGM",
                "packs": [
                    {"sscc": "340123450000000017", "quantity": "30"},
                    {"sscc": "340123450000000024", "quantity": "20"},
                ],
            },
        ],
    }
    assert contract_errors("ship_notice", 3, result.payload) == []


def test_a_desadv_without_delivery_date_or_order_line_maps_without_problems():
    text = fixture("desadv").replace("DTM+17:20250324:102'\n", "").replace("UNT+31", "UNT+30")
    text = text.replace("LIN+1++FA-1001:SA'", "LIN+++FA-1001:SA'")
    text = text.replace("RFF+ON:PO-450012:1'", "RFF+ON:PO-450012'")
    result = mapped(text, units={"PCE": "H87"})
    assert result.problems == []
    assert "expected_delivery" not in result.payload
    # The first LIN names the order but no line of it: the hub correlates it by its item.
    assert result.payload["lines"][0] == {
        "po_number": "PO-450012",
        "item": "FA-1001",
        "quantity": "400",
        "unit": "H87",
        "packs": [{"sscc": "340123450000000017", "quantity": "400"}],
    }
    assert result.payload["lines"][1]["po_line"] == 4
    assert contract_errors("ship_notice", 3, result.payload) == []
    assert [e["path"] for e in contract_errors("ship_notice", 2, result.payload)] == [
        "$.expected_delivery",
        "$.lines[0].po_line",
    ]


def test_units_pass_through_unless_the_partner_overrides_them():
    result = mapped(fixture("desadv"))
    assert [line["unit"] for line in result.payload["lines"]] == ["PCE", "KGM"]


def test_a_desadv_without_despatch_date_or_delivery_party_is_a_problem():
    text = fixture("desadv").replace("DTM+11:20250320:102'\n", "")
    text = text.replace("NAD+DP+5790000000104::9'\n", "").replace("UNT+31", "UNT+29")
    result = mapped(text)
    assert codes(result.problems) == [
        ("segment", "13", 4, "DTM", None),  # after the last DTM of the header
        ("segment", "13", 6, "NAD", None),  # after the last NAD
    ]
    assert contract_errors("ship_notice", 3, result.payload) != []


# --- bad input -----------------------------------------------------------------------------


def test_a_control_reference_mismatch_between_unb_and_unz_cannot_be_read():
    text = fixture("ordrsp_accepted").replace("UNZ+1+ORS0001", "UNZ+1+ORS0009")
    with pytest.raises(EdifactError) as caught:
        parse(text)
    problem = caught.value.problem
    assert (problem.level, problem.code, problem.segment_tag, problem.element_position) == (
        "interchange",
        "28",
        "UNZ",
        2,
    )
    assert problem.offset == text.index("UNZ+")
    assert "ORS0009" in problem.message and "ORS0001" in problem.message
    assert caught.value.interchange.control == "ORS0001"


def test_a_wrong_message_count_in_unz_cannot_be_read():
    text = fixture("ordrsp_accepted").replace("UNZ+1+", "UNZ+2+")
    with pytest.raises(EdifactError) as caught:
        parse(text)
    assert (caught.value.problem.code, caught.value.problem.element_position) == ("29", 1)


@pytest.mark.parametrize(
    "cut",
    [
        "UNZ+1+ORS0001'\n",  # ends after the UNT: no UNZ
        "+ORS0001'\n",  # ends inside the UNZ
        "+1'\nUNZ+1+ORS0001'\n",  # ends inside the UNT
    ],
)
def test_a_truncated_interchange_cannot_be_read(cut):
    text = fixture("ordrsp_accepted").removesuffix(cut)
    with pytest.raises(EdifactError) as caught:
        parse(text)
    assert (caught.value.problem.code, caught.value.problem.segment_tag) == ("13", "UNZ")
    assert "truncated" in caught.value.problem.message


def test_data_without_unb_cannot_be_read():
    with pytest.raises(EdifactError) as caught:
        parse("ISA*00*          *00*          *ZZ*SENDER~")
    assert (caught.value.problem.code, caught.value.problem.segment_tag) == ("13", "UNB")
    assert caught.value.interchange is None


def test_a_wrong_segment_count_in_unt_is_a_message_problem():
    text = fixture("ordrsp_accepted").replace("UNT+18+1", "UNT+17+1")
    message = only_message(text)
    assert codes(message.problems) == [("message", "29", 18, "UNT", 1)]
    assert message.problems[0].offset == text.index("UNT+17")
    assert "has 18, UNH and UNT included" in message.problems[0].message


def test_a_unt_that_does_not_repeat_the_message_reference_is_a_message_problem():
    text = fixture("ordrsp_accepted").replace("UNT+18+1", "UNT+18+2")
    assert codes(only_message(text).problems) == [("message", "28", 18, "UNT", 2)]


def test_a_message_without_unt_is_a_message_problem():
    text = fixture("ordrsp_accepted").replace("UNT+18+1'\n", "")
    assert codes(only_message(text).problems) == [("message", "13", 17, "UNT", None)]


def test_a_segment_outside_any_message_is_an_interchange_problem():
    text = fixture("ordrsp_accepted").replace("UNZ+1+", "FTX+AAI+++stray'\nUNZ+1+")
    interchange = parse(text)
    assert [(p.code, p.segment_tag) for p in interchange.problems] == [("15", "FTX")]
    assert interchange.problems[0].offset == text.index("FTX+AAI")


def test_a_missing_bgm_is_reported_after_the_unh():
    text = fixture("ordrsp_accepted").replace("BGM+231+AR-7781+29'\n", "")
    text = text.replace("UNT+18+1", "UNT+17+1")
    result = mapped(text)
    assert codes(result.problems) == [("segment", "13", 1, "BGM", None)]
    assert "BGM" in result.problems[0].message
    assert "ack_number" not in result.payload


def test_an_invalid_date_is_an_element_problem():
    text = fixture("ordrsp_accepted").replace("DTM+137:20250314:102", "DTM+137:20250230:102")
    result = mapped(text)
    assert codes(result.problems) == [("element", "12", 3, "DTM", 1)]
    problem = result.problems[0]
    assert problem.component_position == 2
    assert problem.offset == text.index("DTM+137")
    assert "20250230" in problem.message


def test_an_unsupported_date_format_is_an_element_problem():
    text = fixture("ordrsp_accepted").replace("DTM+137:20250314:102", "DTM+137:2511:616")
    (problem,) = mapped(text).problems
    assert (problem.code, problem.element_position, problem.component_position) == ("14", 1, 3)


def test_an_unknown_message_type_is_not_read():
    text = fixture("ordrsp_accepted").replace("ORDRSP:D:96A:UN", "INVOIC:D:96A:UN")
    message = only_message(text)
    assert codes(message.problems) == [("message", "14", 1, "UNH", 2)]
    assert message.problems[0].component_position == 1
    result = map_message(message, supplier=SUPPLIER)
    assert result.payload is None
    assert codes(result.problems) == [("message", "14", 1, "UNH", 2)]


def test_another_directory_version_is_not_read():
    text = fixture("ordrsp_accepted").replace("ORDRSP:D:96A:UN", "ORDRSP:D:01B:UN")
    (problem,) = only_message(text).problems
    assert (problem.code, problem.element_position, problem.component_position) == ("14", 2, 3)


def test_a_message_reference_used_twice_is_a_duplicate():
    text = fixture("ordrsp_accepted")
    message = text[text.index("UNH+") : text.index("UNZ+")]
    text = text.replace("UNZ+1+", message + "UNZ+2+")
    interchange = parse(text)
    assert interchange.messages[0].problems == []
    assert codes(interchange.messages[1].problems) == [("message", "26", 1, "UNH", 1)]


def test_a_character_outside_unoa_is_an_interchange_problem():
    raw = fixture("ordrsp_accepted").replace("UNOC", "UNOA").encode("latin-1")
    raw = raw.replace(b"Acme", b"Acm\xe9")
    interchange = parse(raw)
    (problem,) = interchange.problems
    assert (problem.level, problem.code, problem.offset) == (
        "interchange",
        "21",
        raw.index(b"\xe9"),
    )


def test_functional_groups_are_reported_as_not_supported():
    text = fixture("ordrsp_accepted").replace(
        "UNH+1+", "UNG+ORDRSP+S+R+250314:0930+9+UN+D:96A'\nUNH+1+"
    )
    text = text.replace("UNZ+1+", "UNE+1+9'\nUNZ+1+")
    interchange = parse(text)
    assert [(p.code, p.segment_tag) for p in interchange.problems] == [("15", "UNG")]


# --- CONTRL --------------------------------------------------------------------------------


def test_contrl_acknowledges_a_good_interchange():
    interchange = parse(fixture("ordrsp_accepted"))
    assert lines(contrl(interchange, control="CTL77", when=WHEN)) == [
        "UNA:+.? '",
        "UNB+UNOC:3+5790000000005:14+4012345000009:14+250314:1000+CTL77'",
        "UNH+1+CONTRL:D:3:UN'",
        "UCI+ORS0001+4012345000009:14+5790000000005:14+7'",
        "UCM+1+ORDRSP:D:96A:UN+7'",
        "UNT+4+1'",
        "UNZ+1+CTL77'",
    ]


def test_contrl_rejects_a_message_with_its_errors_at_their_positions():
    text = fixture("ordrsp_accepted").replace("UNT+18+1", "UNT+17+1")
    text = text.replace("DTM+67:20250328:102'\nUNS", "DTM+67:20250231:102'\nUNS")
    interchange = parse(text)
    result = map_message(interchange.messages[0], supplier=SUPPLIER)
    answer = contrl(
        interchange, control="CTL78", problems_by_message={"1": result.problems}, when=WHEN
    )
    assert lines(answer) == [
        "UNA:+.? '",
        "UNB+UNOC:3+5790000000005:14+4012345000009:14+250314:1000+CTL78'",
        "UNH+1+CONTRL:D:3:UN'",
        "UCI+ORS0001+4012345000009:14+5790000000005:14+7'",
        # rejected: UNT01 count (29) in UNT, whose element 1 is S011 position 2 (tag = 1)
        "UCM+1+ORDRSP:D:96A:UN+4+29+UNT+2'",
        # segment 15, line 2's DTM: element 1, component 2 is not a valid date (12)
        "UCS+15'",
        "UCD+12+2:2'",
        "UNT+6+1'",
        "UNZ+1+CTL78'",
    ]


def test_contrl_reports_a_missing_segment_in_a_ucs():
    text = fixture("ordrsp_accepted").replace("BGM+231+AR-7781+29'\n", "")
    interchange = parse(text.replace("UNT+18+1", "UNT+17+1"))
    result = map_message(interchange.messages[0], supplier=SUPPLIER)
    answer = contrl(interchange, control="5", problems_by_message={"1": result.problems}, when=WHEN)
    assert lines(answer)[4:7] == ["UCM+1+ORDRSP:D:96A:UN+4'", "UCS+1+13'", "UNT+5+1'"]


def test_contrl_rejects_an_interchange_whose_unz_does_not_close_its_unb():
    text = fixture("ordrsp_accepted").replace("UNZ+1+ORS0001", "UNZ+1+ORS0009")
    text = text.replace("250314:0930+ORS0001'", "250314:0930+ORS0001++++++1'")
    with pytest.raises(EdifactError) as caught:
        parse(text)
    assert lines(contrl(caught.value.interchange, control="CTL79", when=WHEN)) == [
        "UNA:+.? '",
        "UNB+UNOC:3+5790000000005:14+4012345000009:14+250314:1000+CTL79++++++1'",
        "UNH+1+CONTRL:D:3:UN'",
        # rejected: UNZ element 2 (S011 position 3) does not match (28)
        "UCI+ORS0001+4012345000009:14+5790000000005:14+4+28+UNZ+3'",
        "UCM+1+ORDRSP:D:96A:UN+4'",
        "UNT+4+1'",
        "UNZ+1+CTL79'",
    ]


# --- ORDERS out and back -------------------------------------------------------------------

ORDER = {
    "po_number": "PO-450012",
    "change_sequence": 0,
    "supplier": "FA-SUP",
    "supplier_name": "Acme Fasteners GmbH + Co. KG: 'Schrauben'",
    "supplier_site": "FA-DE-01",
    "ship_to": "PLANT-DE01",
    "order_date": "2025-03-10",
    "currency": "EUR",
    "lines": [
        {
            "line": 1,
            "item": "FA-1001",
            "revision": "B",
            "quantity": "500",
            "unit": "H87",
            "need_by": "2025-03-28",
            "price": "0.125",
            "description": "Hex bolt M8x40 DIN 933 8.8, zinc plated, in cartons of 100 pieces",
            "mpn": "MX-1001",
            "gtin": "4012345100013",
        },
        {"line": 2, "item": "FA-3300", "quantity": "12.5", "unit": "KGM", "need_by": "2025-04-02"},
    ],
}


def test_a_purchase_order_rendered_as_orders_reads_back_the_same():
    assert contract_errors("purchase_order", 2, ORDER) == []
    edifact = render_orders(
        ORDER,
        sender=("5790000000005", "14"),
        recipient=("4012345000009", "14"),
        control=17,
        when=datetime.datetime(2025, 3, 10, 8, 5),
    )
    segments = lines(edifact)
    assert segments[:5] == [
        "UNA:+.? '",
        "UNB+UNOC:3+5790000000005:14+4012345000009:14+250310:0805+17'",
        "UNH+1+ORDERS:D:96A:UN'",
        "BGM+220+PO-450012+9'",
        "DTM+137:20250310:102'",
    ]
    # Service characters in a value go out behind the release character; the name is cut in
    # 35-character pieces (C080's 3036).
    assert "NAD+SU+FA-SUP++Acme Fasteners GmbH ?+ Co. KG?: ?'Schr:auben?''" in edifact
    assert "QTY+21:12.5:KGM'" in segments
    assert "DTM+2:20250328:102'" in segments
    assert segments[-2:] == ["UNT+19+1'", "UNZ+1+17'"]  # UNH to UNT: 19 segments
    interchange = parse(edifact)
    assert interchange.problems == []
    (message,) = interchange.messages
    assert (message.type, message.problems) == ("ORDERS", [])
    result = map_message(message, supplier="ignored: NAD+SU names it")
    assert result.problems == []
    assert result.payload == ORDER


def test_a_changed_order_goes_out_as_a_replacement_with_its_change_number():
    order = ORDER | {"change_sequence": 3, "supplier_name": "Acme", "lines": ORDER["lines"][1:]}
    edifact = render_orders(order, sender="HUB", recipient="ACME", control=18, when=WHEN)
    assert "BGM+220+PO-450012+5'" in lines(edifact)
    assert "RFF+PP:3'" in lines(edifact)
    assert map_message(only_message(edifact), supplier="x").payload == order
