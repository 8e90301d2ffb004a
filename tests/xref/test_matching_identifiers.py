"""Identifiers as people write them (spaces, dashes, dots, lower case) are read once, by
mdm.identifiers, into the form matching indexes and compares: valid ones only."""

import pytest

from mdm import identifiers


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("4006381333931", "04006381333931"),  # GTIN-13
        ("036000291452", "00036000291452"),  # GTIN-12: the same GTIN-14 as its GTIN-13
        ("0036000291452", "00036000291452"),
        ("4006381 333931", "04006381333931"),
        ("96385074", "00000096385074"),  # GTIN-8
        ("4006381333932", None),  # check digit wrong
        ("40063813339", None),  # 11 digits
        ("", None),
    ],
)
def test_it_reads_a_gtin_as_its_gtin_14(written, expected):
    assert identifiers.parse_gtin(written) == expected


def test_it_reads_gln_duns_and_lei_as_written():
    assert identifiers.parse_gln("4012345.000009") == "4012345000009"
    assert identifiers.parse_gln("4012345000008") is None
    assert identifiers.parse_duns("15-048-3782") == "150483782"
    assert identifiers.parse_duns("15048378") is None
    assert identifiers.parse_lei("5299 00t8bm49aursdo55") == "529900T8BM49AURSDO55"
    assert identifiers.parse_lei("529900T8BM49AURSDO56") is None


def test_it_finds_a_vat_number_with_or_without_its_country_prefix():
    assert identifiers.vat_forms("DE 136 695 976") == {"DE136695976", "136695976"}
    assert identifiers.vat_forms("1234") == set()
    assert identifiers.looks_like_vat("CHE-116.281.710")
    assert not identifiers.looks_like_vat("Industries")


def test_it_compacts_accented_and_wide_characters():
    assert identifiers.compact("ktc-d320/1g") == "KTCD3201G"
    assert identifiers.compact("Ré-１２") == "RE12"
