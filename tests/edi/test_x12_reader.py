"""The X12 reader: every sample interchange is read with the values written in it, and every
kind of bad input gives the X12 code, a message naming what is wrong, and where."""

from datetime import datetime
from pathlib import Path

import pytest

from edi.x12 import (
    Delimiters,
    X12Error,
    decode,
    isa_segment,
    non_ascii,
    parse,
    render,
)

DATA = Path(__file__).parent / "data"
SAMPLES = [  # the public samples and this file's own edge cases (tests/edi/data/SOURCES.md)
    "ediengine_856_Crossdock_004010.edi",
    "nodex12_850_004010VICS.edi",
    "nodex12_855_004010.edi",
    "oopfactory_855_SSimmons_004010.txt",
    "oopfactory_856_Example1.txt",
    "x12_850_pipe_terminator_004010.edi",
    "x12_855_856_004060_two_groups.edi",
    "x12_856_003060_cr_terminator.edi",
    "x12_856_ellipsis_terminator_004010.txt",
]


def read(name):
    return (DATA / name).read_bytes()


SAMPLE_855 = read("nodex12_855_004010.edi").decode()  # one segment a line, "~" terminators


def fails(raw):
    with pytest.raises(X12Error) as caught:
        parse(raw)
    return caught.value.problem


def tags(transaction):
    return [segment.tag for segment in transaction.segments]


# The samples ------------------------------------------------------------------------------


def test_it_reads_the_node_x12_855_with_its_ack_lines():
    interchange = parse(read("nodex12_855_004010.edi"))
    assert (interchange.sender_qualifier, interchange.sender_id) == ("ZZ", "1556150")
    assert (interchange.receiver_qualifier, interchange.receiver_id) == ("ZZ", "123MILL")
    assert (interchange.date, interchange.time) == ("201015", "1534")
    assert (interchange.version, interchange.control, interchange.usage) == (
        "00401",
        "000000005",
        "P",
    )
    assert interchange.ack_requested is False
    assert interchange.delimiters == Delimiters("*", ">", None, "~")
    assert len(interchange.segments) == 30
    [group] = interchange.groups
    assert (group.functional_id, group.sender, group.receiver) == ("PR", "1556150", "123MILL")
    assert (group.date, group.time, group.control, group.version) == (
        "20201015",
        "1534",
        "5",
        "004010",
    )
    [transaction] = group.transactions
    assert (transaction.code, transaction.control, transaction.implementation) == (
        "855",
        "0005",
        "",
    )
    assert len(transaction.segments) == 26
    assert transaction.problems == [] and group.problems == []
    bak = transaction.segments[1]
    assert (bak.tag, bak.position, bak.element(2), bak.element(3)) == ("BAK", 2, "AD", "POTEST1112")
    po1 = transaction.segments[9]
    assert (po1.tag, po1.position, po1.element(3), po1.element(7)) == (
        "PO1",
        10,
        "UN",
        "9780446360265",
    )
    assert [s.element(1) for s in transaction.segments if s.tag == "ACK"] == [
        "IA",
        "IR",
        "IR",
        "IA",
    ]
    assert transaction.segments[-1].element(1) == "26"
    assert bak.element(30) == ""


def test_it_reads_the_crossdock_856_whose_terminator_is_a_line_break():
    interchange = parse(read("ediengine_856_Crossdock_004010.edi"))
    assert interchange.delimiters == Delimiters("*", ">", None, "\n")
    assert (interchange.sender_id, interchange.receiver_id) == ("SENDER", "RECEIVER")
    assert interchange.control == "000000091"
    [group] = interchange.groups
    assert (group.functional_id, group.control, group.version) == ("SH", "91", "004010")
    [transaction] = group.transactions
    assert (transaction.code, transaction.control, len(transaction.segments)) == ("856", "0001", 57)
    segments = transaction.segments
    assert segments[1].element(5) == "0001"  # BSN05: shipment, order, pack, item
    assert [s.element(3) for s in segments if s.tag == "HL"] == list("SOPIPIPIPIOPI")
    assert [(s.element(1), s.element(2)) for s in segments if s.tag == "REF"][:3] == [
        ("BM", "000001"),
        ("CN", "0000000008741"),
        ("SE", "0000000008741"),
    ]
    td1 = segments[3]
    assert (td1.tag, td1.element(1), td1.element(2), td1.element(7), td1.element(8)) == (
        "TD1",
        "CTN",
        "5",
        "24",
        "LB",
    )
    assert [s.element(2) for s in segments if s.tag == "MAN"][0] == "00000715670002152360"
    assert len(interchange.segments) == 61


def test_it_reads_the_vics_850():
    interchange = parse(read("nodex12_850_004010VICS.edi"))
    assert (interchange.sender_qualifier, interchange.sender_id) == ("12", "4405197800")
    assert (interchange.receiver_qualifier, interchange.receiver_id) == ("01", "999999999")
    assert (interchange.version, interchange.control) == ("00400", "000003438")
    [group] = interchange.groups
    assert (group.functional_id, group.control, group.version) == ("PO", "1421", "004010VICS")
    [transaction] = group.transactions
    assert (transaction.code, transaction.control, len(transaction.segments)) == (
        "850",
        "000000010",
        33,
    )
    assert transaction.segments[1].element(3) == "08292233294"
    lines = [s for s in transaction.segments if s.tag == "PO1"]
    assert len(lines) == 6
    assert (lines[0].element(2), lines[0].element(4), lines[0].element(11)) == (
        "120",
        "9.25",
        "AB3542",
    )
    assert [s.element(2) for s in transaction.segments if s.tag == "AMT"] == ["13045.94"]


def test_it_reads_two_855s_from_an_indented_interchange_with_crlf():
    raw = read("oopfactory_855_SSimmons_004010.txt")
    interchange = parse(raw)
    assert (interchange.sender_qualifier, interchange.sender_id) == ("01", "121792154")
    assert (interchange.receiver_qualifier, interchange.receiver_id) == ("12", "1234567890")
    [group] = interchange.groups
    assert (group.control, group.version) == ("76417", "004010")
    first, second = group.transactions
    assert (first.code, first.control, len(first.segments)) == ("855", "0001", 11)
    assert (second.code, second.control, len(second.segments)) == ("855", "0002", 9)
    assert (first.segments[1].element(3), first.segments[1].element(8)) == ("7542", "83517234")
    assert second.segments[1].element(3) == "99035"
    assert tags(second) == ["ST", "BAK", "DTM", "N1", "N1", "PO1", "N1", "CTT", "SE"]
    # Offsets point at the segment id, past the indentation, for highlighting.
    text = decode(raw)
    bak = first.segments[1]
    assert text[bak.offset :].startswith("BAK*00*AD*7542*")
    assert text[bak.offset - 6 : bak.offset] == "      "


def test_it_reads_a_bom_and_tilde_as_element_separator_and_star_as_terminator():
    raw = read("oopfactory_856_Example1.txt")
    assert raw.startswith(b"\xef\xbb\xbfISA~")
    interchange = parse(raw)
    assert interchange.delimiters == Delimiters("~", "`", None, "*")
    assert (interchange.sender_id, interchange.receiver_id) == ("201495124", "207663412")
    assert interchange.ack_requested is True
    [group] = interchange.groups
    assert (group.functional_id, group.sender, group.control) == ("SH", "207663412", "1")
    [transaction] = group.transactions
    assert (transaction.code, transaction.control, len(transaction.segments)) == ("856", "0001", 25)
    lines = [s for s in transaction.segments if s.tag == "LIN"]
    assert [s.element(3) for s in lines] == ["1234-123456", "1234-654321", "1234-223456"]
    quantities = [(s.element(2), s.element(3)) for s in transaction.segments if s.tag == "SN1"]
    assert quantities == [("16", "PC"), ("23", "LB"), ("16", "PC")]
    n1 = [s for s in transaction.segments if s.tag == "N1"][1]
    assert n1.element(2) == "ESSAR Steel Algoma Inc."
    assert decode(raw)[interchange.segments[0].offset :].startswith("ISA~00~")


def test_it_reads_an_ellipsis_as_segment_terminator():
    interchange = parse(read("x12_856_ellipsis_terminator_004010.txt"))
    assert interchange.delimiters.segment == "\u2026"
    assert (interchange.sender_id, interchange.usage) == ("ACMEPARTS", "T")
    [transaction] = interchange.groups[0].transactions
    assert (transaction.code, transaction.control, len(transaction.segments)) == ("856", "0417", 18)
    lin = transaction.segments[10]
    assert (lin.tag, lin.element(3), lin.element(5), lin.element(7)) == (
        "LIN",
        "BRK-2210",
        "V-2210",
        "C",
    )
    cld = transaction.segments[12]
    assert (cld.tag, cld.element(1), cld.element(2), cld.element(3)) == ("CLD", "3", "8", "CTN25")


def test_it_reads_a_003060_interchange_terminated_by_carriage_returns():
    interchange = parse(read("x12_856_003060_cr_terminator.edi"))
    assert interchange.delimiters == Delimiters("*", ":", None, "\r")
    assert interchange.version == "00306"
    [group] = interchange.groups
    assert (group.version, group.date, group.control) == ("003060", "240405", "52")
    [transaction] = group.transactions
    assert (transaction.control, len(transaction.segments)) == ("520001", 21)
    lots = [s.element(2) for s in transaction.segments if s.tag == "REF" and s.element(1) == "LS"]
    assert lots == ["LOT2404A", "LOT2404B"]


def test_it_reads_a_004060_interchange_with_a_repetition_separator_and_two_groups():
    interchange = parse(read("x12_855_856_004060_two_groups.edi"))
    assert interchange.delimiters == Delimiters("*", ":", "^", "~")
    assert interchange.ack_requested is True
    acknowledgements, shipments = interchange.groups
    assert (acknowledgements.functional_id, acknowledgements.control) == ("PR", "1201")
    assert (shipments.functional_id, shipments.control, shipments.version) == (
        "SH",
        "1202",
        "004060",
    )
    [po_ack] = acknowledgements.transactions
    assert (po_ack.code, po_ack.control, len(po_ack.segments)) == ("855", "12010001", 9)
    assert [s.element(1) for s in po_ack.segments if s.tag == "ACK"] == ["IA", "IQ"]
    assert [(t.control, len(t.segments)) for t in shipments.transactions] == [
        ("12020001", 11),
        ("12020002", 10),
    ]
    # GE and IEA count in the interchange; ST counts from 1 again in each set.
    assert [(s.tag, s.position) for s in interchange.segments if s.tag in ("GE", "IEA")] == [
        ("GE", 12),
        ("GE", 35),
        ("IEA", 36),
    ]
    assert shipments.transactions[1].segments[0].position == 1


def test_it_reads_a_pipe_terminator_and_splits_components():
    interchange = parse(read("x12_850_pipe_terminator_004010.edi"))
    assert interchange.delimiters == Delimiters("*", "~", None, "|")
    [transaction] = interchange.groups[0].transactions
    mea = transaction.segments[5]
    assert (mea.tag, mea.element(4), mea.components(4)) == ("MEA", "LB~1", ["LB", "1"])
    assert mea.components(9) == []
    assert transaction.segments[4].element(7) == "GL-4410"


@pytest.mark.parametrize("name", SAMPLES)
def test_every_segment_offset_points_at_its_id(name):
    raw = read(name)
    text = decode(raw)
    interchange = parse(raw)
    for segment in interchange.segments:
        assert text[segment.offset :].startswith(segment.tag + interchange.delimiters.element)


def test_it_tolerates_blank_lines_and_indentation_before_the_isa():
    text = "\n\n   " + SAMPLE_855.replace("~\n", "~\r\n\r\n    ")
    [transaction] = parse(text).groups[0].transactions
    assert len(transaction.segments) == 26


def test_it_accepts_a_last_iea_without_its_terminator():
    interchange = parse(SAMPLE_855.removesuffix("~\n"))
    assert interchange.segments[-1].elements == ["1", "000000005"]


def test_it_falls_back_to_latin_1():
    raw = SAMPLE_855.replace("EDI TEST ACCOUNT", "EDI TÉST ACCOUNT").encode("latin-1")
    n1 = parse(raw).groups[0].transactions[0].segments[5]
    assert (n1.tag, n1.element(2)) == ("N1", "EDI TÉST ACCOUNT-SUFFIX")


# Interchanges that cannot be read ---------------------------------------------------------


def test_an_empty_body_is_unreadable():
    problem = fails(b"  \r\n")
    assert (problem.level, problem.code, problem.message) == (
        "interchange",
        "023",
        "The interchange is empty.",
    )


def test_a_body_that_does_not_start_with_isa_is_unreadable():
    problem = fails(SAMPLE_855[SAMPLE_855.index("GS*") :])
    assert problem.code == "022"
    assert problem.message.startswith("An interchange must start with an ISA segment")


def test_an_isa_of_the_wrong_width_says_which_field_is_wrong():
    short = SAMPLE_855.replace("*ZZ*1556150        *", "*ZZ*1556150      *")
    problem = fails(short)
    assert (problem.code, problem.offset) == ("022", 0)
    assert "must be exactly 106 characters" in problem.message
    assert "this one is 104" in problem.message
    assert "ISA06 (sender id) is 13 characters, it must be 15" in problem.message


def test_an_isa_without_its_last_elements_is_cut_off():
    problem = fails("ISA*00*          *00*")
    assert problem.code == "023"


def test_a_non_numeric_isa13_is_refused_but_the_header_is_kept_for_a_ta1():
    with pytest.raises(X12Error) as caught:
        parse(SAMPLE_855.replace("*000000005*0*P*", "*00000000A*0*P*"))
    assert caught.value.problem.code == "018"
    assert caught.value.interchange.sender_id == "1556150"


def test_a_component_separator_equal_to_the_element_separator_is_refused():
    problem = fails(SAMPLE_855.replace("*P*>~", "*P**~", 1))
    assert problem.code == "027"


def test_an_interchange_without_iea_is_truncated():
    text = SAMPLE_855[: SAMPLE_855.index("CTT*")]
    with pytest.raises(X12Error) as caught:
        parse(text)
    problem = caught.value.problem
    assert problem.code == "023"
    assert problem.message == (
        "The interchange is cut off: it ends after SCH at line 26 without its IEA trailer."
    )
    assert text[problem.offset :].startswith("SCH*2*UN*")
    assert caught.value.interchange.control == "000000005"


def test_an_interchange_cut_inside_a_segment_is_truncated():
    problem = fails(SAMPLE_855[: SAMPLE_855.index("CTT*4") + 5])
    assert problem.code == "023"
    assert "ends inside segment 'CTT*4' at line 27" in problem.message


def test_isa13_and_iea02_must_agree():
    text = SAMPLE_855.replace("IEA*1*000000005", "IEA*1*000000006")
    problem = fails(text)
    assert (problem.code, problem.segment_tag, problem.segment_position) == ("001", "IEA", 30)
    assert problem.message == (
        "The IEA trailer at line 30 carries control number '000000006'; it must repeat ISA13 "
        "'000000005'."
    )
    assert text[problem.offset :].startswith("IEA*1*000000006")


def test_iea01_must_count_the_groups():
    problem = fails(SAMPLE_855.replace("IEA*1*", "IEA*2*"))
    assert problem.code == "021"
    assert problem.message == (
        "IEA01 at line 30 says '2' functional groups, but the interchange holds 1."
    )


def test_a_segment_with_another_element_separator_is_mixed_delimiters():
    text = SAMPLE_855.replace("CUR*BT*USD", "CUR|BT|USD")
    problem = fails(text)
    assert (problem.code, problem.segment_tag) == ("026", "CUR")
    assert problem.message == (
        "Segment CUR at line 5 separates its elements with '|' where the ISA declared '*' "
        "(mixed delimiters): 'CUR|BT|USD'."
    )
    assert text[problem.offset :].startswith("CUR|BT|USD")


def test_a_line_break_in_place_of_the_terminator_is_mixed_delimiters():
    problem = fails(SAMPLE_855.replace("CUR*BT*USD~", "CUR*BT*USD"))
    assert problem.code == "004"
    assert problem.message.startswith("The segment terminator '~' is missing at line 5")
    assert "before 'REF*ZZZ*ORDER PROCES'" in problem.message


def test_data_after_the_iea_is_refused():
    problem = fails(SAMPLE_855 + "JUNK*1~\n")
    assert problem.code == "022"
    assert problem.message == "There is data after the IEA trailer, at line 31: 'JUNK*1'."


def test_a_second_isa_before_the_iea_means_the_first_is_cut_off():
    first = SAMPLE_855[: SAMPLE_855.index("IEA*")]
    problem = fails(first + SAMPLE_855)
    assert (problem.code, problem.segment_tag) == ("023", "ISA")


def test_a_transaction_set_outside_a_group_is_refused():
    problem = fails(SAMPLE_855.replace("GS*PR*1556150*123MILL*20201015*1534*5*X*004010~\n", ""))
    assert (problem.code, problem.segment_tag) == ("024", "ST")
    assert "stands outside a functional group" in problem.message


# Broken groups and transaction sets: recorded, the rest still read -----------------------


def test_gs06_and_ge02_must_agree():
    group = parse(SAMPLE_855.replace("GE*1*5~", "GE*1*6~")).groups[0]
    [problem] = group.problems
    assert (problem.level, problem.code, problem.segment_tag, problem.segment_position) == (
        "group",
        "4",
        "GE",
        29,
    )
    assert problem.message == (
        "Group PR 5: the trailer's control number GE02 is '6' at line 29; it must repeat GS06 '5'."
    )
    assert group.transactions[0].problems == []


def test_ge01_must_count_the_transaction_sets():
    [problem] = parse(SAMPLE_855.replace("GE*1*5~", "GE*2*5~")).groups[0].problems
    assert problem.code == "5"
    assert (
        problem.message
        == "Group PR 5: GE01 at line 29 says '2' transaction sets, but the group holds 1."
    )


def test_a_group_without_ge_is_reported_and_its_sets_are_kept():
    group = parse(SAMPLE_855.replace("GE*1*5~\n", "")).groups[0]
    [problem] = group.problems
    assert problem.code == "3"
    assert problem.message == "Group PR 5 has no GE trailer: IEA at line 29 follows its last set."
    assert len(group.transactions[0].segments) == 26


def test_st02_and_se02_must_agree():
    [transaction] = parse(SAMPLE_855.replace("SE*26*0005", "SE*26*0006")).groups[0].transactions
    [problem] = transaction.problems
    assert (problem.level, problem.code, problem.segment_tag, problem.segment_position) == (
        "transaction",
        "3",
        "SE",
        26,
    )
    assert problem.message == (
        "Transaction set 855 0005: the trailer's control number SE02 is '0006' at line 28; it "
        "must repeat ST02 '0005'."
    )


def test_se01_must_count_the_segments():
    [transaction] = parse(SAMPLE_855.replace("SE*26*", "SE*25*")).groups[0].transactions
    [problem] = transaction.problems
    assert problem.code == "4"
    assert problem.message == (
        "Transaction set 855 0005: SE01 at line 28 says '25' segments, but the set has 26 from "
        "ST to SE inclusive."
    )


def test_a_set_without_se_is_reported():
    group = parse(SAMPLE_855.replace("SE*26*0005~\n", "")).groups[0]
    [problem] = group.transactions[0].problems
    assert (problem.code, problem.segment_tag, problem.segment_position) == ("2", "ST", 1)
    assert problem.message == (
        "Transaction set 855 0005 (ST at line 3) has no SE trailer: GE at line 28 follows its "
        "last segment."
    )
    assert group.problems == []  # GE01 still counts one set


def test_a_segment_id_of_the_wrong_shape_is_a_segment_problem():
    [transaction] = parse(SAMPLE_855.replace("CUR*BT*USD", "Cur*BT*USD")).groups[0].transactions
    [problem] = transaction.problems
    assert (problem.level, problem.code, problem.segment_position, problem.segment_tag) == (
        "segment",
        "1",
        3,
        "Cur",
    )
    assert "segment 3 at line 5 has the id 'Cur', which is not a segment id" in problem.message


def test_a_control_number_used_twice_in_a_group_is_reported():
    text = read("oopfactory_855_SSimmons_004010.txt").decode()
    text = text.replace("ST*855*0002", "ST*855*0001").replace("SE*9*0002", "SE*9*0001")
    first, second = parse(text).groups[0].transactions
    assert first.problems == []
    [problem] = second.problems
    assert problem.code == "23"
    assert problem.message == (
        "Transaction set 855 at line 14: control number '0001' is used twice in group 76417."
    )


# Characters outside ASCII ------------------------------------------------------------------


def test_non_ascii_is_located_by_segment_and_element():
    raw = SAMPLE_855.replace("FORT WAYNE", "FÖRT WAYNE").encode()
    [problem] = non_ascii(raw)
    assert (problem.level, problem.code) == ("element", "6")
    assert (problem.segment_tag, problem.segment_position, problem.element_position) == (
        "N4",
        9,
        1,
    )
    assert problem.message.startswith("Non-ASCII character 'Ö' (U+00D6) in N401 at line 11")
    assert decode(raw)[problem.offset] == "Ö"


def test_non_ascii_reports_only_the_first_few():
    raw = SAMPLE_855.replace("UN", "ÜN").encode()
    assert len(non_ascii(raw)) == 5
    assert len(non_ascii(raw, limit=2)) == 2


def test_a_non_ascii_terminator_is_reported_once():
    [problem] = non_ascii(read("x12_856_ellipsis_terminator_004010.txt"))
    assert (problem.level, problem.code) == ("interchange", "024")
    assert problem.message.startswith("The segment terminator is the non-ASCII character '…'")


def test_an_ascii_interchange_has_no_non_ascii_problems():
    assert non_ascii(read("nodex12_850_004010VICS.edi")) == []
    assert non_ascii(read("oopfactory_856_Example1.txt")) == []  # the BOM is not data


# Writing -----------------------------------------------------------------------------------

STAR_TILDE = Delimiters(element="*", component=":", repetition="^", segment="~")


def test_render_drops_trailing_empty_elements_and_keeps_inner_ones():
    text = render([["BEG", "00", "SA", "PO-1", "", "20240611", "", ""], ["CTT", "2"]], STAR_TILDE)
    assert text == "BEG*00*SA*PO-1**20240611~\nCTT*2~\n"


def test_render_adds_no_line_break_when_the_terminator_is_one():
    newline = Delimiters(element="*", component=">", repetition=None, segment="\n")
    assert render([["ST", "850", "0001"], ["SE", "2", "0001"]], newline) == (
        "ST*850*0001\nSE*2*0001\n"
    )


def test_render_refuses_a_value_holding_a_delimiter():
    with pytest.raises(ValueError, match="contains the element separator"):
        render([["N1", "ST", "ACME*EAST"]], STAR_TILDE)


def test_a_rendered_isa_is_106_characters_and_reads_back():
    isa = isa_segment(
        sender_qualifier="ZZ",
        sender_id="HUB",
        receiver_qualifier="01",
        receiver_id="123456789",
        control=42,
        when=datetime(2024, 6, 11, 16, 30),
        delimiters=STAR_TILDE,
        version="00501",
    )
    text = render([isa, ["IEA", "0", "000000042"]], STAR_TILDE)
    assert text.index("\n") == 106
    assert text.startswith("ISA*00*          *00*          *ZZ*HUB            *01*123456789      ")
    assert text[82:106] == "^*00501*000000042*0*P*:~"
    interchange = parse(text)
    assert (interchange.sender_id, interchange.receiver_id, interchange.control) == (
        "HUB",
        "123456789",
        "000000042",
    )
    assert (interchange.date, interchange.time) == ("240611", "1630")
