"""997, 999 and TA1 acknowledgements: what goes back to a partner, line by line."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from edi.acks import functional_ack, ta1
from edi.x12 import Problem, X12Error, parse

DATA = Path(__file__).parent / "data"
SAMPLE_855 = (DATA / "nodex12_855_004010.edi").read_text()
TWO_855S = (DATA / "oopfactory_855_SSimmons_004010.txt").read_text()
NOW = datetime(2024, 3, 5, 14, 7, tzinfo=UTC)

# The acknowledgement goes from the 855's receiver (ZZ 123MILL) back to its sender (ZZ 1556150).
ISA_997 = (
    "ISA*00*          *00*          *ZZ*123MILL        *ZZ*1556150        "
    "*240305*1407*U*00401*000000042*0*P*>~"
)
GS_997 = "GS*FA*123MILL*1556150*20240305*1407*17*X*004010~"


def ack(text, **options):
    interchange = parse(text)
    options = {"control": "17", "interchange_control": "42", "now": NOW, **options}
    return functional_ack(interchange, interchange.groups[0], **options)


def test_it_accepts_a_good_group_with_a_997():
    assert ack(SAMPLE_855).splitlines() == [
        ISA_997,
        GS_997,
        "ST*997*0001~",
        "AK1*PR*5~",
        "AK2*855*0005~",
        "AK5*A~",
        "AK9*A*1*1*1~",
        "SE*6*0001~",
        "GE*1*17~",
        "IEA*1*000000042~",
    ]


def test_the_997_reads_back_from_the_receiver_to_the_sender():
    interchange = parse(ack(SAMPLE_855))
    assert (interchange.sender_qualifier, interchange.sender_id) == ("ZZ", "123MILL")
    assert (interchange.receiver_qualifier, interchange.receiver_id) == ("ZZ", "1556150")
    assert interchange.control == "000000042"
    [group] = interchange.groups
    assert (group.functional_id, group.control, group.version) == ("FA", "17", "004010")
    [transaction] = group.transactions
    assert (transaction.code, transaction.control, transaction.problems) == ("997", "0001", [])
    assert [s.tag for s in transaction.segments] == ["ST", "AK1", "AK2", "AK5", "AK9", "SE"]


def test_it_acknowledges_each_set_of_a_group():
    lines = ack(TWO_855S).splitlines()
    assert lines[2:10] == [
        "ST*997*0001~",
        "AK1*PR*76417~",
        "AK2*855*0001~",
        "AK5*A~",
        "AK2*855*0002~",
        "AK5*A~",
        "AK9*A*2*2*2~",
        "SE*8*0001~",
    ]
    # Back from ISA07/ISA08 (12 1234567890) to ISA05/ISA06 (01 121792154).
    assert lines[0].startswith(
        "ISA*00*          *00*          *12*1234567890     *01*121792154      *"
    )


def test_a_set_whose_trailer_does_not_match_is_rejected_with_code_3():
    lines = ack(SAMPLE_855.replace("SE*26*0005", "SE*26*0006")).splitlines()
    assert lines[3:7] == ["AK1*PR*5~", "AK2*855*0005~", "AK5*R*3~", "AK9*R*1*1*0~"]


def test_a_set_whose_segment_count_is_wrong_is_rejected_with_code_4():
    lines = ack(SAMPLE_855.replace("SE*26*", "SE*27*")).splitlines()
    assert lines[5:7] == ["AK5*R*4~", "AK9*R*1*1*0~"]


def test_a_set_without_se_is_rejected_with_code_2():
    lines = ack(SAMPLE_855.replace("SE*26*0005~\n", "")).splitlines()
    assert lines[5:7] == ["AK5*R*2~", "AK9*R*1*1*0~"]


def test_a_group_whose_trailer_does_not_match_is_rejected_with_code_4():
    lines = ack(SAMPLE_855.replace("GE*1*5~", "GE*1*6~")).splitlines()
    assert lines[4:8] == ["AK2*855*0005~", "AK5*R~", "AK9*R*1*1*0*4~", "SE*6*0001~"]


def test_a_group_that_declares_more_sets_than_it_holds_says_both_counts():
    lines = ack(SAMPLE_855.replace("GE*1*5~", "GE*2*5~")).splitlines()
    assert lines[6] == "AK9*R*2*1*0*5~"


def test_a_group_with_one_bad_set_of_two_is_partially_accepted():
    lines = ack(TWO_855S.replace("SE*9*0002", "SE*8*0002")).splitlines()
    assert lines[4:9] == [
        "AK2*855*0001~",
        "AK5*A~",
        "AK2*855*0002~",
        "AK5*R*4~",
        "AK9*P*2*2*1~",
    ]


def test_a_problem_found_by_the_mapping_is_reported_at_its_segment_and_element():
    unknown_unit = Problem(
        "element",
        "7",
        "PO1 line 1: the unit 'UN' is not one this partner may use.",
        segment_position=10,
        segment_tag="PO1",
        element_position=3,
    )
    lines = ack(SAMPLE_855, extra_problems={"0005": [unknown_unit]}).splitlines()
    assert lines[2:10] == [
        "ST*997*0001~",
        "AK1*PR*5~",
        "AK2*855*0005~",
        "AK3*PO1*10**8~",
        "AK4*3**7~",
        "AK5*R*5~",
        "AK9*R*1*1*0~",
        "SE*8*0001~",
    ]


def test_a_bad_segment_id_gets_an_ak3_with_code_1():
    lines = ack(SAMPLE_855.replace("CUR*BT*USD", "Cur*BT*USD")).splitlines()
    assert lines[4:8] == ["AK2*855*0005~", "AK3*Cur*3**1~", "AK5*R*5~", "AK9*R*1*1*0~"]


def test_a_set_the_caller_rejects_is_rejected():
    lines = ack(TWO_855S, rejected_sets={"0002"}).splitlines()
    assert lines[5:9] == ["AK5*A~", "AK2*855*0002~", "AK5*R~", "AK9*P*2*2*1~"]


def test_a_999_has_ik3_ik4_and_ik5():
    wrong_date = Problem(
        "element",
        "8",
        "BAK04 '20201315' is not a date.",
        segment_position=2,
        segment_tag="BAK",
        element_position=4,
    )
    text = ack(SAMPLE_855, kind="999", extra_problems={"0005": [wrong_date]})
    assert text.splitlines() == [
        "ISA*00*          *00*          *ZZ*123MILL        *ZZ*1556150        "
        "*240305*1407*^*00501*000000042*0*P*>~",
        "GS*FA*123MILL*1556150*20240305*1407*17*X*005010X231A1~",
        "ST*999*0001*005010X231A1~",
        "AK1*PR*5*004010~",
        "AK2*855*0005~",
        "IK3*BAK*2**8~",
        "IK4*4**8~",
        "IK5*R*5~",
        "AK9*R*1*1*0~",
        "SE*8*0001~",
        "GE*1*17~",
        "IEA*1*000000042~",
    ]
    [transaction] = parse(text).groups[0].transactions
    assert (transaction.code, transaction.implementation, transaction.problems) == (
        "999",
        "005010X231A1",
        [],
    )


def test_the_997_keeps_the_senders_odd_delimiters():
    text = ack((DATA / "oopfactory_856_Example1.txt").read_bytes(), interchange_control="7")
    assert text.splitlines()[2:10] == [
        "ST~997~0001*",
        "AK1~SH~1*",
        "AK2~856~0001*",
        "AK5~A*",
        "AK9~A~1~1~1*",
        "SE~6~0001*",
        "GE~1~17*",
        "IEA~1~000000007*",
    ]
    interchange = parse(text)
    assert (interchange.sender_id, interchange.receiver_id) == ("207663412", "201495124")


def test_only_997_and_999_exist():
    with pytest.raises(ValueError, match="997 or a 999"):
        ack(SAMPLE_855, kind="998")


def test_a_ta1_rejects_an_interchange_whose_trailer_does_not_match():
    with pytest.raises(X12Error) as caught:
        parse(SAMPLE_855.replace("IEA*1*000000005", "IEA*1*000000006"))
    text = ta1(caught.value.interchange, caught.value.problem, "43", now=NOW)
    assert text.splitlines() == [
        "ISA*00*          *00*          *ZZ*123MILL        *ZZ*1556150        "
        "*240305*1407*U*00401*000000043*0*P*>~",
        "TA1*000000005*201015*1534*R*001~",
        "IEA*0*000000043~",
    ]


def test_a_ta1_can_start_from_the_raw_interchange():
    raw = SAMPLE_855.replace("IEA*1*", "IEA*3*").encode()
    problem = Problem("interchange", "021", "IEA01 says 3 groups.")
    assert "TA1*000000005*201015*1534*R*021~" in ta1(raw, problem, "44", now=NOW)


def test_no_ta1_when_not_even_the_isa_can_be_read():
    problem = Problem("interchange", "022", "No ISA.")
    with pytest.raises(ValueError, match="no sender"):
        ta1(b"GS*PR*1556150~", problem, "45", now=NOW)
