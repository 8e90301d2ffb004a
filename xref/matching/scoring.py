"""How well a record agrees with a query (0-100) and the evidence, field by field: rapidfuzz's
WRatio over the names of suppliers and locations; for items, the description and the best
model-number agreement."""

import math

from rapidfuzz import fuzz

from mdm.identifiers import compact
from xref.matching.text import (
    code_similarity,
    comparable,
    model_numbers,
    normalize,
    own_model_numbers,
)

NAME_SCORER = fuzz.WRatio


def display_name(kind, row):
    return row["description"] if kind == "item" else row["name"]


def score_named(spec, query, row, counts, size):
    """Suppliers and locations: the best WRatio of the query over the name fields."""
    evidence = {}
    best = 0.0
    if query.text:
        for name in spec.name_fields:
            value = normalize(row.get(name) or "", legal_forms=True)
            if value:
                score = NAME_SCORER(query.text, value, processor=None)
                evidence[name] = score
                best = max(best, score)
    return best, evidence


def score_item(spec, query, row, counts, size):
    """Items: description agreement, then model numbers: an exact or variant model number
    lifts the score, a conflicting one lowers it."""
    evidence = {}
    description = normalize(row["description"])
    text = 0.0
    if query.text and description:
        record_words = set(description.split()) | set(normalize(row["manufacturer"]).split())
        total = found = 0.0
        for word in set(query.words):
            weight = math.log((size + 1) / (counts.get("w:" + word, 0) + 1))
            total += weight
            if word in record_words:
                found += weight
        coverage = 100.0 * found / total if total else 0.0
        text = (
            fuzz.token_set_ratio(query.text, description)
            + fuzz.token_sort_ratio(query.text, description)
            + coverage
        ) / 3
        evidence["description"] = text
    if query.manufacturer and row["manufacturer"]:
        evidence["manufacturer"] = fuzz.WRatio(
            normalize(query.manufacturer), normalize(row["manufacturer"]), processor=None
        )
    record_codes = set(model_numbers(row["description"]))
    own = set(own_model_numbers(row["description"]))
    mpn = compact(row["mpn"] or "")
    if mpn:
        record_codes.add(mpn)
        own.add(mpn)
    code, rarity = 0.0, 0.0
    for a in query.codes:
        for b in record_codes:
            similarity = code_similarity(a, b)
            if a not in query.own_codes or b not in own:
                similarity *= 0.7  # a number the product is for, not its own
            if similarity > code:
                code, rarity = similarity, _rarity(a, b, counts, size)
    if code:
        evidence["mpn"] = code
    score = text
    # Numbers disagree only when written in one numbering scheme: a retailer's catalogue
    # number beside a maker's model number says nothing either way.
    if query.mpn and mpn and code_similarity(query.mpn, mpn) < 70 and comparable(query.mpn, mpn):
        score -= 20  # both name their part number, and they disagree
    conflict = any(comparable(a, b) for a in query.codes for b in record_codes)
    if conflict and code < 70:
        score -= 15
    elif code >= 95 and rarity >= 1:
        score = max(score, 90 + 0.1 * text)
    elif code >= 88 and rarity >= 1:
        score = max(score, 80 + 0.2 * text)
    elif code >= 75:
        score = max(score, (text + code * rarity) / 2)
    return max(0.0, min(100.0, score)), evidence


def _rarity(a, b, counts, size):
    """1 when the shared part of two model numbers is in at most a few records, less when
    it is common (a family name like DDR3 says little)."""
    short = a if len(a) <= len(b) else b
    n = max(counts.get("c:" + short, 0), counts.get("p:" + short, 0))
    return min(1.0, math.log((size + 1) / (n + 1)) / math.log(max(size, 4) / 3))
