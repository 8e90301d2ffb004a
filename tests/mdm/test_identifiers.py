"""Identifier checks: the verdicts and the sentences a steward sees for a wrong GTIN, GLN,
LEI, VAT or DUNS number. Vectors: tests/data/gs1_identifier_test_vectors.csv (see
tests/data/SOURCES.md)."""

import csv
from pathlib import Path

import pytest

from mdm import identifiers

VECTORS_FILE = Path(__file__).resolve().parent.parent / "data" / "gs1_identifier_test_vectors.csv"


def _vectors():
    with VECTORS_FILE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_it_has_every_vector():
    rows = _vectors()
    assert len(rows) == 12
    assert {row["id_type"] for row in rows} == {
        "GTIN-8",
        "GTIN-12",
        "GTIN-13",
        "GTIN-14",
        "GLN",
        "SSCC",
        "LEI",
    }


@pytest.mark.parametrize(
    "row", _vectors(), ids=lambda row: f"{row['id_type']}-{row['value']}-{row['expected_valid']}"
)
def test_it_classifies_the_reference_vectors(row):
    expected = {"true": True, "false": False}[row["expected_valid"]]
    assert identifiers.classify(row["id_type"], row["value"]) is expected


def test_it_refuses_to_classify_an_unknown_identifier_type():
    with pytest.raises(ValueError, match="Unknown identifier type 'ISBN'"):
        identifiers.classify("ISBN", "9780471117094")


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("73513537", "GTIN-8"),
        ("036000291452", "GTIN-12"),
        ("9780471117094", "GTIN-13"),
        ("98412345678908", "GTIN-14"),
        ("9780471117095", None),  # check digit wrong
        ("978047111708", None),  # 12 digits, but not a valid GTIN-12
        ("12345", None),
        ("", None),
    ],
)
def test_it_tells_the_gtin_kind(value, kind):
    assert identifiers.gtin_kind(value) == kind


def test_it_does_not_take_a_gtin_of_one_length_for_another():
    assert not identifiers.classify("GTIN-13", "036000291452")
    assert not identifiers.classify("GTIN-12", "0036000291452")
    # The same UPC-A padded to 13 digits is a valid GTIN-13.
    assert identifiers.classify("GTIN-13", "0036000291452")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("9780471117095", "GTIN check digit is wrong (expected 4)."),
        ("97804711170", "GTIN must have 8, 12, 13, 14 digits, not 11."),
        ("978-0471117094", "GTIN must contain digits only."),
        ("7351353²", "GTIN must contain digits only."),  # looks like a digit to str.isdigit()
        ("٧٣٥١٣٥٣٧", "GTIN must contain digits only."),  # Arabic-Indic digits
    ],
)
def test_it_says_what_is_wrong_with_a_gtin(value, message):
    assert identifiers.gtin_error(value) == message


def test_it_checks_a_gln():
    assert identifiers.gln_error("0614141000005") is None
    assert identifiers.gln_error("0614141000006") == "GLN check digit is wrong (expected 5)."
    assert identifiers.gln_error("73513537") == "GLN must have 13 digits, not 8."


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("213800KUD8LAJWSQ9D15", None),
        ("213800KUD8LXJWSQ9D15", "LEI check digits are wrong."),
        ("213800KUD8LAJWSQ9D1", "LEI must have 20 characters."),
        ("213800KUD8LAJWSQ9D1!", "LEI must contain letters and digits only."),
        ("2138 0KUD8LAJWSQ9D15", "LEI must contain letters and digits only."),
        ("213800kud8lajwsq9d15", "LEI must be written in upper case."),
        ("12345678901234567888", None),  # all digits is a valid form
        # 19 characters that pass the ISO 7064 check on their own: the length still counts.
        ("213800KUD8LAJWSQ90G", "LEI must have 20 characters."),
    ],
)
def test_it_checks_an_lei(value, message):
    assert identifiers.lei_error(value) == message


@pytest.mark.parametrize(
    ("value", "country", "message"),
    [
        ("DE136695976", "DE", None),
        ("136695976", "DE", None),
        ("DE136695977", "DE", "VAT number check digits are wrong for DE."),
        ("DE13669597", "DE", "Not a valid VAT number format for DE."),
        ("FR40303265045", "FR", None),
        ("FR84323140391", "FR", "VAT number check digits are wrong for FR."),
        # A French number on a German supplier is caught, not waved through.
        ("FR40303265045", "DE", "Not a valid VAT number format for DE."),
        ("DE136695976", "", "A VAT number needs the supplier's country."),
    ],
)
def test_it_checks_a_vat_number_by_the_suppliers_country(value, country, message):
    assert identifiers.vat_error(value, country) == message


def test_it_accepts_a_vat_number_of_a_country_without_known_rules():
    assert identifiers.vat_error("ANY-FORMAT-123", "US") is None


@pytest.mark.parametrize(
    ("value", "valid"),
    [("150483782", True), ("15048378", False), ("15-048-3782", False), ("15048378A", False)],
)
def test_it_checks_a_duns_number(value, valid):
    error = identifiers.duns_error(value)
    assert (error is None) is valid
    if not valid:
        assert error == "DUNS number must have 9 digits."


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("DE", True),
        ("US", True),
        ("CN", True),
        ("XX", False),  # user-assigned, not a country
        ("de", False),  # ISO 3166 codes are upper case; one country is stored one way
        ("DEU", False),  # alpha-3
        ("", False),
    ],
)
def test_it_knows_iso_3166_countries(value, valid):
    assert identifiers.is_country(value) is valid


def test_it_says_when_holidays_are_not_known():
    assert identifiers.holiday_support_problem("DE", "BY") is None
    assert identifiers.holiday_support_problem("DE") is None
    assert identifiers.holiday_support_problem("XX") == "No public holiday rules are known for XX."
    problem = identifiers.holiday_support_problem("DE", "XY")
    assert problem.startswith("'XY' is not a subdivision of DE with holiday rules (BB, BE")
