"""How a record compares with a query, field by field: for each comparison of the kind (an
identifier, the name, the description, model numbers, ...), the level of agreement it shows
(or None when either side lacks the field), and the evidence a person reads (0-100 per
field). `xref.matching.calibration` turns the levels into a match probability.

The levels, best first, are the same for every data set; only the weights of each level
are estimated from data. A level is a plain fact about the pair ("the names are the same
one word", "the model numbers are equal and the number is rare"), so that its weight means
the same everywhere.
"""

import math
from dataclasses import dataclass

from rapidfuzz import fuzz

from mdm.identifiers import compact, parse_duns, parse_gln, parse_gtin, parse_lei, vat_forms
from xref.matching.text import (
    code_similarity,
    comparable,
    model_numbers,
    normalize,
    own_model_numbers,
)

# What candidate retrieval ranks names by (the scan the match bench compares it with).
NAME_SCORER = fuzz.WRatio


@dataclass(frozen=True)
class Comparison:
    name: str
    # Level names, the strongest agreement first: a better level is never weaker evidence
    # (`calibration` holds its estimates to that).
    levels: tuple
    # A unique identifier: its first level ("same") is near proof, its last ("different")
    # near disproof, before any data says otherwise (`calibration`'s starting weights).
    identifier: bool = False


# A name of one word the same (once legal forms are left out) is weak evidence: it counts at
# most as two names 92% alike (the levels are in order).
NAME_LEVELS = ("same", "92+", "same one word", "84+", "75+", "60+", "below 60")
NAME_FLOORS = {0: 100.0, 1: 92.0, 3: 84.0, 4: 75.0, 5: 60.0, 6: -1.0}
ADDRESS_LEVELS = ("same", "90+", "75+", "below 75")
DESCRIPTION_LEVELS = ("same", "95+", "90+", "85+", "80+", "70+", "60+", "45+", "below 45")
DESCRIPTION_FLOORS = (100.0, 95.0, 90.0, 85.0, 80.0, 70.0, 60.0, 45.0, -1.0)
NUMBER = Comparison(
    "number",
    ("given and the same", "in the text and the same", "given and different"),
    identifier=True,
)
COMPARISONS = {
    "item": (
        Comparison("gtin", ("same", "different"), identifier=True),
        NUMBER,
        Comparison(
            "part_number",
            ("given and the same", "in the text and the same", "given and different"),
            identifier=True,
        ),
        Comparison(
            "model_number",
            ("same, rare", "same, common", "variant", "close", "different"),
        ),
        Comparison("description", DESCRIPTION_LEVELS),
        Comparison("manufacturer", ("same", "different")),
    ),
    "supplier": (
        Comparison("identifier", ("same", "different"), identifier=True),
        NUMBER,
        Comparison("name", NAME_LEVELS),
    ),
    "location": (
        Comparison("gln", ("same", "different"), identifier=True),
        NUMBER,
        Comparison("name", NAME_LEVELS),
        Comparison("address", ADDRESS_LEVELS),
        Comparison("postal_code", ("same", "different")),
    ),
}


def display_name(kind, row):
    return row["description"] if kind == "item" else row["name"]


def compare(kind, query, row, counts, size):
    """({comparison: level index or None}, {evidence field: 0-100}) of a record's row
    against a parsed query."""
    levels, evidence = {}, {}
    levels["number"] = _number(query, row)
    if levels["number"] in (0, 1):
        evidence["number" if kind != "location" else "code"] = 100.0
    if kind == "item":
        _compare_item(query, row, counts, size, levels, evidence)
    else:
        _compare_named(kind, query, row, levels, evidence)
    return levels, evidence


def _number(query, row):
    own = compact(row.get("number") or row.get("code") or "")
    if not own:
        return None
    if query.number:
        return 0 if query.number == own else 2
    if own in query.numbers:
        return 1
    return None


def _same(given, own, evidence, field):
    """0 when both have the value and it agrees, 1 when it differs, else None."""
    if not given or not own:
        return None
    if given == own:
        evidence[field] = 100.0
        return 0
    return 1


def _compare_item(query, row, counts, size, levels, evidence):
    own_gtin = parse_gtin(row["gtin"] or "") if query.gtin else None
    levels["gtin"] = _same(query.gtin, own_gtin, evidence, "gtin")
    description = normalize(row["description"])
    levels["description"] = None
    # A query that is only a model number ("BT-4017-M8-40") describes nothing: the model
    # numbers compare it.
    if query.described and description:
        text = _description_similarity(query, description, row, counts, size)
        evidence["description"] = text
        same = description == query.text
        levels["description"] = 0 if same else _level(min(text, 99.9), DESCRIPTION_FLOORS)
    levels["manufacturer"] = None
    if query.manufacturer and row["manufacturer"]:
        similarity = fuzz.WRatio(
            normalize(query.manufacturer), normalize(row["manufacturer"]), processor=None
        )
        evidence["manufacturer"] = similarity
        levels["manufacturer"] = 0 if similarity >= 90 else 1
    levels["part_number"] = _part_number(query, row, evidence)
    # A part number that agrees says what the model numbers would say again.
    agreed = levels["part_number"] in (0, 1)
    levels["model_number"] = None if agreed else _model_number(query, row, counts, size, evidence)


def _part_number(query, row, evidence):
    """The record's manufacturer part number against the one the caller named (0 the same,
    2 different in the same numbering scheme) or, when none was named, one of the text's
    own model numbers (1 the same): else None."""
    mpn = compact(row["mpn"] or "")
    if not mpn:
        return None
    if query.mpn:
        if query.mpn == mpn:
            evidence["mpn"] = 100.0
            return 0
        return 2 if comparable(query.mpn, mpn) and code_similarity(query.mpn, mpn) < 70 else None
    if mpn in query.own_codes:
        evidence["mpn"] = 100.0
        return 1
    return None


def _description_similarity(query, description, row, counts, size):
    """0-100: token set and token sort ratios and the rarity-weighted share of the query's
    words the record has, averaged."""
    record_words = set(description.split()) | set(normalize(row["manufacturer"]).split())
    total = found = 0.0
    for word in sorted(set(query.words)):
        weight = math.log((size + 1) / (counts.get("w:" + word, 0) + 1))
        total += weight
        if word in record_words:
            found += weight
    coverage = 100.0 * found / total if total else 0.0
    return (
        fuzz.token_set_ratio(query.text, description)
        + fuzz.token_sort_ratio(query.text, description)
        + coverage
    ) / 3


def _model_number(query, row, counts, size, evidence):
    """The best agreement of the query's model numbers with the record's: same (rare or
    common), a variant, close, different (one numbering scheme, other numbers), or None."""
    record_codes = set(model_numbers(row["description"]))
    own = set(own_model_numbers(row["description"]))
    mpn = compact(row["mpn"] or "")
    if mpn:
        record_codes.add(mpn)
        own.add(mpn)
    best, rarity, near = 0.0, 0.0, False
    for a in query.codes:
        for b in sorted(record_codes):
            similarity = code_similarity(a, b)
            near = near or similarity >= 75
            if a not in query.own_codes or b not in own:
                similarity *= 0.7  # a number the product is for, not its own
            if similarity > best:
                best, rarity = similarity, _rarity(a, b, counts, size)
    if best:
        evidence["mpn"] = best
    if best >= 95:
        return 0 if rarity >= 1 else 1
    if best >= 88:
        return 2
    if best >= 75:
        return 3
    # Numbers disagree only when written in one numbering scheme and none is near another:
    # a retailer's catalogue number beside a maker's model number, or the same number of a
    # product both are for, says nothing either way.
    if not near and any(comparable(a, b) for a in query.codes for b in record_codes):
        return 4
    return None


def _rarity(a, b, counts, size):
    """1 when the shared part of two model numbers is in at most a few records, less when
    it is common (a family name like DDR3 says little)."""
    short = a if len(a) <= len(b) else b
    n = max(counts.get("c:" + short, 0), counts.get("p:" + short, 0))
    return min(1.0, math.log((size + 1) / (n + 1)) / math.log(max(size, 4) / 3))


def _compare_named(kind, query, row, levels, evidence):
    if kind == "supplier":
        levels["identifier"] = _identifier(query, row, evidence)
    else:
        own_gln = parse_gln(row["gln"] or "") if query.gln else None
        levels["gln"] = _same(query.gln, own_gln, evidence, "gln")
    best, level = 0.0, None
    if query.text:
        for field in ("name", "legal_name") if kind == "supplier" else ("name",):
            value = normalize(row.get(field) or "", legal_forms=True)
            if value:
                similarity = name_similarity(query.text, value)
                evidence[field] = similarity
                if similarity > best or level is None:
                    best, level = similarity, _name_level(query.text, value, similarity)
    levels["name"] = level
    if kind == "location":
        levels["address"] = None
        address = normalize(row.get("address") or "")
        if query.address and address:
            similarity = fuzz.token_sort_ratio(query.address, address)
            evidence["address"] = similarity
            levels["address"] = _level(similarity, (100.0, 90.0, 75.0, -1.0))
            # Another house number is another door of the street, however alike the rest.
            asked, own = _house_numbers(query.address), _house_numbers(address)
            if asked and own and asked != own:
                levels["address"] = len(ADDRESS_LEVELS) - 1
        levels["postal_code"] = _same(
            query.postal_code, compact(row.get("postal_code") or "")[:5], evidence, "postal_code"
        )


def _identifier(query, row, evidence):
    """A supplier's DUNS, LEI or VAT number: 0 when one the query gives is the record's, 1
    when the query gives one the record has another of, else None."""
    if not query.supplier_ids:
        return None
    own = {
        "duns": parse_duns(row["duns"] or ""),
        "lei": parse_lei(row["lei"] or ""),
        "vat": vat_forms(row["vat"] or ""),
    }
    differs = False
    for field, given in query.supplier_ids.items():
        mine = own[field]
        if not given or not mine:
            continue
        if (given & mine) if field == "vat" else given == mine:
            evidence[field] = 100.0
            return 0
        differs = differs or field in query.named
    return 1 if differs else None


def _house_numbers(address):
    """The numbers of a normalised address ("4502 n christiana ave" -> {"4502"})."""
    return {word for word in address.split() if word.isdigit()}


def name_similarity(a, b):
    """0-100 for two normalised names (legal forms left out): the token sort ratio (typos,
    words reordered), or the token set ratio (one name's words all in the other) when the
    shorter has two words or more. A name of one word inside a longer one ("amer" in "amer
    chemicals") is not taken as the same: one word says little."""
    if a == b:
        return 100.0
    similarity = fuzz.token_sort_ratio(a, b)
    if min(len(set(a.split())), len(set(b.split()))) >= 2:
        similarity = max(similarity, fuzz.token_set_ratio(a, b))
    return min(similarity, 99.0)


def _name_level(a, b, similarity):
    if similarity >= 100.0 and len(set(a.split())) == 1:
        return 2  # one word says little
    return next(level for level, floor in NAME_FLOORS.items() if similarity >= floor)


def _level(value, floors):
    for index, floor in enumerate(floors):
        if value >= floor:
            return index
    return len(floors) - 1
