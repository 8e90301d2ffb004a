"""A match query as matching reads it: the normalised text and its words, the identifiers it
gives or contains (as index keys), its model numbers, and the index keys of its text."""

from dataclasses import dataclass

from mdm.identifiers import (
    compact,
    looks_like_vat,
    parse_duns,
    parse_gln,
    parse_gtin,
    parse_lei,
    vat_forms,
)
from xref.matching.keys import KEY_LENGTH
from xref.matching.text import (
    TOKEN_SPLIT,
    cut_ok,
    model_numbers,
    normalize,
    own_model_numbers,
    trigrams,
)


@dataclass
class Query:
    """A query parsed once, for retrieval and scoring."""

    text: str  # normalised free text
    words: list
    identifiers: dict  # index key -> evidence field
    codes: list  # model numbers, explicit mpn first
    own_codes: set
    mpn: str
    manufacturer: str


def parse(name, q, fields):
    """The Query of free text `q` and identifier `fields` for the kind `name`."""
    legal = name != "item"
    text = normalize(q, legal_forms=legal)
    identifiers = {}
    tokens = [t for t in TOKEN_SPLIT.split(q) if t]
    for token in tokens:
        form = compact(token)
        if len(form) >= 3:
            identifiers["num:" + form] = "number" if name != "location" else "code"
    mpn = compact(fields.get("mpn") or "")
    codes = []
    if name == "item":
        if mpn:
            identifiers["mpn:" + mpn] = "mpn"
            codes.append(mpn)
            codes += [c for c in model_numbers(fields["mpn"]) if c != mpn]
        codes += [c for c in model_numbers(q) if c not in codes]
        # A model number the text names as what the product is for ("case for Iconia Tab
        # A500") is another product's: no identifier.
        own_text = set(own_model_numbers(q))
        for code in codes:
            if code in own_text or code == mpn or not q:
                identifiers.setdefault("mpn:" + code, "mpn")
        for value in [fields.get("gtin") or "", *tokens]:
            if gtin := parse_gtin(value):
                identifiers["gtin:" + gtin] = "gtin"
    elif name == "supplier":
        for value in [fields.get("duns") or "", *tokens]:
            if duns := parse_duns(value):
                identifiers["duns:" + duns] = "duns"
        for value in [fields.get("lei") or "", *tokens]:
            if lei := parse_lei(value):
                identifiers["lei:" + lei] = "lei"
        vat_values = [fields.get("vat") or ""] + [t for t in tokens if looks_like_vat(t)]
        for value in vat_values:
            for form in vat_forms(value):
                identifiers["vat:" + form] = "vat"
    else:
        for value in [fields.get("gln") or "", *tokens]:
            if gln := parse_gln(value):
                identifiers["gln:" + gln] = "gln"
    own = set(own_model_numbers(q))
    if mpn:
        own.add(mpn)
    manufacturer = fields.get("manufacturer") or ""
    words = text.split()
    if manufacturer:
        words += [w for w in normalize(manufacturer).split() if w not in words]
    return Query(text, words, identifiers, codes, own, mpn, manufacturer)


def text_keys(name, query):
    """The keys of the query's free text: words, trigrams of words (not for item
    descriptions), model numbers with their substrings."""
    keys = set()
    for word in query.words:
        if len(word) < 2:
            continue
        keys.add("w:" + word)
        if len(word) >= 3 and (name != "item" or word in query.manufacturer.lower()):
            keys.update("t:" + gram for gram in trigrams(word))
    for code in query.codes:
        keys.add("c:" + code)
        keys.add("p:" + code)
        for length in range(4, min(len(code), KEY_LENGTH - 1)):
            for start in range(len(code) - length + 1):
                part = code[start : start + length]
                if cut_ok(code, start) and cut_ok(code, start + length):
                    keys.add("c:" + part)
                    keys.add("p:" + part)
    return keys
