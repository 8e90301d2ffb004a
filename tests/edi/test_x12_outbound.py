"""Canonical purchase orders out as X12 850 and 860, and back in: what the supplier receives,
segment by segment, and the round trip through edi.x12 and edi.x12_inbound."""

from datetime import datetime

import pytest

from edi import x12
from edi.x12_inbound import map_transaction
from edi.x12_outbound import RenderError, render_850, render_860
from validation.contracts import contract_errors

WHEN = datetime(2024, 6, 1, 10, 15)
ENVELOPE = {
    "sender": ("ZZ", "HUBSENDER"),
    "receiver": ("ZZ", "ACMESUPPLY"),
    "interchange_control": 42,
    "group_control": 7,
    "when": WHEN,
}

SMALL_ORDER = {
    "po_number": "4500012345",
    "change_sequence": 0,
    "supplier": "ACME01",
    "ship_to": "P1",
    "order_date": "2024-06-01",
    "lines": [
        {
            "line": 10,
            "item": "AC-100",
            "quantity": "100",
            "unit": "H87",
            "need_by": "2024-06-20",
            "price": "2.50",
        }
    ],
}

FULL_ORDER = {
    "po_number": "4500012399",
    "change_sequence": 0,
    "supplier": "ACME01",
    "supplier_name": "ACME SUPPLY CO",
    "supplier_site": "ACME01-E",
    "ship_to": "P1",
    "order_date": "2024-06-01",
    "currency": "EUR",
    "lines": [
        {
            "line": 10,
            "item": "AC-100",
            "revision": "B",
            "quantity": "1500",
            "unit": "H87",
            "need_by": "2024-06-20",
            "price": "2.5",
            "description": "HEX BOLT M8 x 40, zinc plated",
            "mpn": "DIN933-M8X40",
            "gtin": "4006381333931",
        },
        {
            "line": 20,
            "item": "AC-400",
            "quantity": "12.5",
            "unit": "KGM",
            "need_by": "2024-06-20",
            "gtin": "012345678905",
        },
        {
            "line": 30,
            "item": "AC-900",
            "quantity": "4",
            "unit": "XPK",
            "need_by": "2024-06-20",
            "price": "30",
        },
    ],
}


def read_back(text):
    """The interchange parsed and its one transaction set mapped, with its envelope."""
    interchange = x12.parse(text)
    [group] = interchange.groups
    [transaction] = group.transactions
    assert (group.problems, transaction.problems) == ([], [])
    mapped = map_transaction(transaction, group, supplier="SUPPLIER-OF-THE-PROFILE")
    return interchange, group, mapped


def test_it_writes_a_small_order_as_the_supplier_reads_it():
    text = render_850(SMALL_ORDER, **ENVELOPE)
    # H87 (piece) goes out as X12 PC; the price as a plain decimal; N1 codes are the
    # seller's (91).
    assert text == (
        "ISA*00*          *00*          *ZZ*HUBSENDER      *ZZ*ACMESUPPLY     *240601*1015*U*"
        "00401*000000042*0*P*:~\n"
        "GS*PO*HUBSENDER*ACMESUPPLY*20240601*1015*7*X*004010~\n"
        "ST*850*0001~\n"
        "BEG*00*SA*4500012345**20240601~\n"
        "DTM*002*20240620~\n"
        "N1*ST**91*P1~\n"
        "N1*SU**91*ACME01~\n"
        "PO1*10*100*PC*2.5**VP*AC-100~\n"
        "CTT*1~\n"
        "SE*8*0001~\n"
        "GE*1*7~\n"
        "IEA*1*000000042~\n"
    )


def test_a_released_order_rendered_as_850_and_read_back_is_the_same_order():
    interchange, group, mapped = read_back(render_850(FULL_ORDER, **ENVELOPE))
    assert (interchange.sender_id, interchange.receiver_id) == ("HUBSENDER", "ACMESUPPLY")
    assert (group.functional_id, group.version) == ("PO", "004010")
    assert mapped.problems == []
    assert mapped.payload == FULL_ORDER
    assert contract_errors("purchase_order", 2, mapped.payload) == []


def test_lines_with_their_own_dates_long_descriptions_and_partner_units_come_back_too():
    order = {
        **SMALL_ORDER,
        "lines": [
            {
                "line": 1,
                "item": "AC-100",
                "quantity": "24",
                "unit": "H87",
                "need_by": "2024-06-20",
                "description": " ".join(["STAINLESS"] * 20),  # 199 characters: 3 PIDs
            },
            {
                "line": 2,
                "item": "AC-200",
                "quantity": "2",
                "unit": "XCS",
                "need_by": "2024-07-01",
            },
        ],
    }
    units = {"EA": "H87", "CS": "XCS"}  # this partner says EA for piece and CS for case
    text = render_850(order, **ENVELOPE, units=units, buyer_items={1: "ITM-000101"})
    assert "PO1*1*24*EA***VP*AC-100*BP*ITM-000101~" in text
    assert "PO1*2*2*CS***VP*AC-200~" in text
    assert text.count("PID*F****") == 3
    assert "DTM*002*20240701~" in text
    interchange = x12.parse(text)
    [group] = interchange.groups
    mapped = map_transaction(group.transactions[0], group, supplier="X", units=units)
    assert mapped.problems == []
    assert mapped.payload == order


def test_a_change_goes_out_as_an_860_and_comes_back_as_the_changed_order():
    change = {
        **FULL_ORDER,
        "change_sequence": 2,
        "lines": [{**FULL_ORDER["lines"][0], "quantity": "1800", "need_by": "2024-06-27"}],
    }
    text = render_860(change, **ENVELOPE)
    assert "BCH*04*SA*4500012399**2*20240601~" in text
    assert "POC*10*RZ*1800**PC*2.5**VP*AC-100*EC*B*MG*DIN933-M8X40*EN*4006381333931~" in text
    _, group, mapped = read_back(text)
    assert group.functional_id == "PC"
    assert mapped.problems == []
    assert mapped.payload == change


def test_the_850_and_860_each_refuse_the_other_kind_of_order():
    with pytest.raises(RenderError, match="860"):
        render_850({**SMALL_ORDER, "change_sequence": 1}, **ENVELOPE)
    with pytest.raises(RenderError, match="850"):
        render_860(SMALL_ORDER, **ENVELOPE)


def test_a_unit_without_an_x12_code_is_refused_with_the_line():
    order = {**SMALL_ORDER, "lines": [{**SMALL_ORDER["lines"][0], "unit": "MTK"}]}
    with pytest.raises(RenderError, match="Line 10: unit 'MTK'"):
        render_850(order, **ENVELOPE)


def test_a_value_holding_a_delimiter_is_refused_rather_than_corrupting_the_interchange():
    order = {**SMALL_ORDER, "ship_to": "P1*DOCK 4"}
    with pytest.raises(RenderError, match="element separator"):
        render_850(order, **ENVELOPE)


def test_other_delimiters_can_be_asked_for():
    delimiters = x12.Delimiters(element="|", component=">", repetition=None, segment="\n")
    text = render_850(SMALL_ORDER, **ENVELOPE, delimiters=delimiters)
    assert text.splitlines()[5] == "N1|ST||91|P1"
    assert text.splitlines()[0].endswith("|P|>")
    _, _, mapped = read_back(text)
    assert mapped.payload == {**SMALL_ORDER, "lines": [{**SMALL_ORDER["lines"][0], "price": "2.5"}]}
