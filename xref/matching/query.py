"""A match query as matching reads it: the normalised text and its words, the identifiers it
gives or contains (as index keys), its model numbers, and the index keys of its text."""

from dataclasses import dataclass, field

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
    not_a_code,
    number_shape,
    own_model_numbers,
    trigrams,
)


@dataclass
class Query:
    """A query parsed once, for retrieval and scoring."""

    text: str  # normalised free text
    words: list
    identifiers: set  # index keys: the records they name are candidates
    codes: list  # model numbers, explicit mpn first
    own_codes: set
    mpn: str
    manufacturer: str
    number: str = ""  # the hub's own number, given as such
    numbers: frozenset = frozenset()  # tokens of the text shaped like the kind's numbers
    gtin: str | None = None
    supplier_ids: dict = field(default_factory=dict)  # duns, lei: parsed; vat: its forms
    named: frozenset = frozenset()  # the fields the caller gave by name
    gln: str | None = None
    address: str = ""
    postal_code: str = ""
    described: bool = True  # whether the text says more than its model numbers


def parse(name, q, fields, shapes=frozenset()):
    """The Query of free text `q` and `fields` (identifiers, manufacturer, address, the hub's
    own `number`) for the kind `name`. A token of the text counts as a record's number only
    when it has one of `shapes` (those of the kind's numbers) and is not a year, a version
    or a measurement."""
    legal = name != "item"
    text = normalize(q, legal_forms=legal)
    identifiers = set()
    tokens = [t for t in TOKEN_SPLIT.split(q) if t]
    number = compact(fields.get("number") or "")
    numbers = set()
    for token in tokens:
        form = compact(token)
        if len(form) >= 3 and number_shape(form) in shapes and not not_a_code(token):
            numbers.add(form)
    for form in {number, *numbers} - {""}:
        identifiers.add("num:" + form)
    mpn = compact(fields.get("mpn") or "")
    codes = []
    gtin = None
    supplier_ids = {}
    gln = None
    if name == "item":
        if mpn:
            identifiers.add("mpn:" + mpn)
            codes.append(mpn)
            codes += [c for c in model_numbers(fields["mpn"]) if c != mpn]
        codes += [c for c in model_numbers(q) if c not in codes]
        # A model number the text names as what the product is for ("case for Iconia Tab
        # A500") is another product's: no identifier.
        own_text = set(own_model_numbers(q))
        for code in codes:
            if code in own_text or code == mpn or not q:
                identifiers.add("mpn:" + code)
        for value in [fields.get("gtin") or "", *tokens]:
            if gtin := parse_gtin(value):
                identifiers.add("gtin:" + gtin)
                break
    elif name == "supplier":
        for value in [fields.get("duns") or "", *tokens]:
            if duns := parse_duns(value):
                identifiers.add("duns:" + duns)
                supplier_ids["duns"] = duns
                break
        for value in [fields.get("lei") or "", *tokens]:
            if lei := parse_lei(value):
                identifiers.add("lei:" + lei)
                supplier_ids["lei"] = lei
                break
        vat_values = [fields.get("vat") or ""] + [t for t in tokens if looks_like_vat(t)]
        for value in vat_values:
            if forms := vat_forms(value):
                for form in forms:
                    identifiers.add("vat:" + form)
                supplier_ids["vat"] = forms
                break
    else:
        for value in [fields.get("gln") or "", *tokens]:
            if gln := parse_gln(value):
                identifiers.add("gln:" + gln)
                break
    own = set(own_model_numbers(q))
    if mpn:
        own.add(mpn)
    manufacturer = fields.get("manufacturer") or ""
    words = text.split()
    if manufacturer:
        words += [w for w in normalize(manufacturer).split() if w not in words]
    return Query(
        text,
        words,
        identifiers,
        codes,
        own,
        mpn,
        manufacturer,
        number=number,
        numbers=frozenset(numbers),
        gtin=gtin,
        supplier_ids=supplier_ids,
        named=frozenset(key for key, value in fields.items() if value),
        gln=gln,
        address=normalize(fields.get("address") or ""),
        postal_code=compact(fields.get("postal_code") or "")[:5],
        described=any(not any(compact(w) in code for code in codes) for w in text.split()),
    )


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
