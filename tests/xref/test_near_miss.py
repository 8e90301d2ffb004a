"""Near misses (xref.near_miss): each kind of slip an unknown code may be of an existing one,
with the reason a steward reads, and what is too far to be one."""

import pytest

from xref import near_miss
from xref.services import retire_reference

# A dense numbering like the demo's: 100000 to 104999.
NUMBERS = [str(number) for number in range(100_000, 105_000)]


def reason(asked, known):
    found = near_miss.explain(asked, known)
    return found.reason if found else None


@pytest.mark.parametrize(
    ("asked", "known", "why"),
    [
        ("100O22", "100022", "one character differs: O for 0"),
        ("1I0022", "110022", "one character differs: I for 1"),
        ("10022", "100022", "one character missing: a second 0"),
        ("100322", "100022", "one character differs: 3 for 0"),
        ("1000223", "100022", "one character too many: 3"),
        ("100202", "100022", "two neighbours swapped: 20 for 02"),
        ("100O22", "100202", "two neighbours swapped: O2 for 20"),
        ("1OO022", "100022", "two characters differ: O for 0 twice"),
        ("100O2", "100022", "two characters differ: O for 0, a second 2 missing"),
        ("0100022", "100022", "1 extra leading zero(s)"),
        ("100022", "00100022", "2 leading zero(s) missing"),
        ("10-0022", "100022", "other separators"),
        ("PL-100022", "100022", "same code without the prefix 'PL-'"),
        ("100022", "MAT-100022", "the prefix 'MAT-' is missing"),
        ("brg-6204", "BRG-6204", "the same code in other letter case"),
        (
            "PL-10022",
            "100022",
            "same code without the prefix 'PL-'; one character missing: a second 0",
        ),
    ],
)
def test_it_explains_each_kind_of_slip(asked, known, why):
    assert reason(asked, known) == why


@pytest.mark.parametrize(
    ("asked", "known"),
    [
        ("100022", "100022"),  # the same code is no miss
        ("133322", "100022"),  # three edits
        ("PL-100022", "AB-100022"),  # two different prefixes are two numbering schemes
        ("10333", "10022"),  # five characters allow one edit only
        ("12", "13"),  # a short code is one edit from too many others
    ],
)
def test_it_finds_no_near_miss_when_the_codes_are_too_far_apart(asked, known):
    assert near_miss.explain(asked, known) is None


def test_o_for_zero_costs_no_edit_even_in_a_short_code():
    assert reason("1O0", "100") == "one character differs: O for 0"


def test_it_ranks_the_likeliest_slip_first_in_a_dense_numbering():
    assert [miss.code for miss in near_miss.find("100O22", NUMBERS, limit=1)] == ["100022"]
    # 10022 is one edit from about thirty numbers; a doubled digit dropped is the likeliest.
    found = near_miss.find("10022", NUMBERS)
    assert found[0].code == "100022"
    assert len(found) == near_miss.LIMIT
    assert all(miss.edits == 1 for miss in found)
    assert near_miss.find("PL-10022", NUMBERS)[0].code == "100022"
    assert near_miss.find("700O01", [f"7{n:05d}" for n in range(1, 201)])[0].code == "700001"


def test_a_near_miss_scores_below_an_exact_identifier():
    assert near_miss.explain("100O22", "100022").score == 99.0
    assert near_miss.explain("10022", "100022").score == pytest.approx(90.9)


def test_it_normalises_prefix_separators_zeros_and_look_alikes():
    assert near_miss.normalise("PL-00-10O2I") == "10021"
    assert near_miss.split_prefix("pl-100022") == ("PL-", "100022")
    assert near_miss.split_prefix("100O22") == ("", "100O22")


def test_the_registration_warning_names_the_existing_code_and_its_record():
    candidates = [
        {
            "id": "ITM-000023",
            "name": "Hex bolt",
            "source": "near_miss",
            "system": "ERP_LEGACY",
            "code": "100022",
            "reason": "one character differs: O for 0",
        }
    ]
    assert near_miss.describe_for_registration("100O22", candidates) == (
        "'100O22' is a near miss of ERP_LEGACY's '100022' (ITM-000023 Hex bolt: one character "
        "differs: O for 0); check the sender's code before registering it as new."
    )
    assert near_miss.describe_for_registration("100O22", [{"id": "X", "source": "match"}]) is None


def test_near_misses_follow_codes_added_retired_and_renamed_since_the_last_call(
    erp_system, items, add_reference
):
    """A system's codes are kept normalised between calls; what changed shows at once."""

    def suggested(code):
        found = near_miss.candidates("item", "ERP_LEGACY", [(code, "")])[(code, "")]
        return [(c["code"], c["id"], c["name"]) for c in found]

    bolt = add_reference(erp_system, "100234", items.bolt)
    assert suggested("1OO234") == [("100234", items.bolt.public_id, items.bolt.description)]

    add_reference(erp_system, "100235", items.nut)
    assert suggested("1OO235")[0] == ("100235", items.nut.public_id, items.nut.description)

    items.bolt.description = "Hex bolt M8x40, renamed"
    items.bolt.save()
    assert suggested("1OO234")[0][2] == "Hex bolt M8x40, renamed"

    retire_reference(bolt)
    assert [code for code, _, _ in suggested("1OO234")] == ["100235"]  # the nearest left
