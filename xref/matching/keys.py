"""What each kind of record is indexed under in the match index (`MatchKey`): the keys of
its words, trigrams, model numbers and identifiers, and the name stored on its word keys."""

from dataclasses import dataclass

from mdm.identifiers import compact, parse_gtin, vat_forms
from mdm.models import Item, Location, Supplier
from xref.matching.text import model_numbers, normalize, trigrams
from xref.models import MatchKey

KINDS = ("item", "supplier", "location")
# Bump when the keys a record is indexed under change: indexes built by an older version need
# `manage.py rebuild_match_index` (the match benchmark rebuilds its copy by this number).
INDEX_VERSION = 3
# MatchKey.key's length: a record's longer key is cut to it in the index, so a query's key
# longer than this can never be found and is never made.
KEY_LENGTH = 80


@dataclass(frozen=True)
class KindSpec:
    """How one kind of record is indexed and matched."""

    kind: int  # MatchKey.Kind
    model: type
    fields: tuple  # fields read to index and score a record
    identifiers: tuple  # fields a query may give beside its text
    name_fields: tuple = ()  # fuzzy-matched names (suppliers, locations)
    anchors: bool = False  # whether word keys carry the name, for whole-word candidates
    has_country: bool = True

    def record_keys(self, row):
        return _RECORD_KEYS[self.model](row)


# Each ends with merged_into: a record merged into another (xref.merging) is not indexed, so
# it is never a candidate (index.index_rows).
ITEM_FIELDS = (
    "id",
    "public_id",
    "number",
    "description",
    "manufacturer",
    "mpn",
    "gtin",
    "merged_into",
)
SUPPLIER_FIELDS = (
    "id",
    "public_id",
    "number",
    "name",
    "legal_name",
    "country",
    "duns",
    "lei",
    "vat",
    "merged_into",
)
LOCATION_FIELDS = (
    "id",
    "public_id",
    "code",
    "name",
    "country",
    "gln",
    "address",
    "postal_code",
    "merged_into",
)
SPECS = {
    "item": KindSpec(
        MatchKey.Kind.ITEM,
        Item,
        ITEM_FIELDS,
        ("mpn", "gtin", "manufacturer", "number"),
        has_country=False,
    ),
    "supplier": KindSpec(
        MatchKey.Kind.SUPPLIER,
        Supplier,
        SUPPLIER_FIELDS,
        ("duns", "lei", "vat", "number"),
        name_fields=("name", "legal_name"),
        anchors=True,
    ),
    "location": KindSpec(
        MatchKey.Kind.LOCATION,
        Location,
        LOCATION_FIELDS,
        ("gln", "number", "address", "postal_code"),
        name_fields=("name",),
        anchors=True,
    ),
}
SPEC_BY_MODEL = {spec.model: spec for spec in SPECS.values()}


def _word_keys(text, legal_forms=False, with_trigrams=True):
    keys = set()
    for word in normalize(text, legal_forms).split():
        if len(word) < 2:
            continue
        keys.add("w:" + word)
        if with_trigrams and len(word) >= 3:
            keys.update("t:" + gram for gram in trigrams(word))
    return keys


def _code_keys(codes):
    keys = set()
    for code in codes:
        keys.add("c:" + code)
        # Prefixes let a query for FS105 find FS105NA, and the query's own substrings find
        # a record's shorter code (97185 inside VER97185).
        keys.update("p:" + code[:end] for end in range(4, len(code)))
    return keys


def _item_keys(row):
    keys = _word_keys(row["description"], with_trigrams=False)
    keys |= _word_keys(row["manufacturer"])
    codes = set(model_numbers(row["description"]))
    if row["mpn"]:
        mpn = compact(row["mpn"])
        codes.add(mpn)
        keys.add("mpn:" + mpn)
    keys |= _code_keys(code for code in codes if len(code) >= 3)
    if row["gtin"] and (gtin := parse_gtin(row["gtin"])):
        keys.add("gtin:" + gtin)
    keys.add("num:" + compact(row["number"]))
    return keys


def _only_word_key(name):
    """ "o:<word>" for a name of one distinct word ("Li & Li", "Bosch GmbH"): such a name scores
    high against any query with the word inside one of its words (WRatio's partial match), so
    the query looks these up by its words' substrings."""
    words = set(normalize(name, legal_forms=True).split())
    if len(words) == 1:
        (word,) = words
        if len(word) >= 2:
            return {"o:" + word}
    return set()


def _supplier_keys(row):
    keys = _word_keys(row["name"], legal_forms=True) | _word_keys(
        row["legal_name"], legal_forms=True
    )
    keys |= _only_word_key(row["name"])
    keys.add("num:" + compact(row["number"]))
    if row["duns"]:
        keys.add("duns:" + compact(row["duns"]))
    if row["lei"]:
        keys.add("lei:" + compact(row["lei"]))
    if row["vat"]:
        keys.update("vat:" + form for form in vat_forms(row["vat"]))
    return keys


def _location_keys(row):
    keys = _word_keys(row["name"], legal_forms=True) | _only_word_key(row["name"])
    keys.add("num:" + compact(row["code"]))
    if row["gln"]:
        keys.add("gln:" + row["gln"])
    return keys


_RECORD_KEYS = {Item: _item_keys, Supplier: _supplier_keys, Location: _location_keys}


def anchor_text(spec, row):
    """The normalised name stored on a record's word keys (suppliers and locations)."""
    return normalize(row[spec.name_fields[0]], legal_forms=True)[:250].rstrip()


def stored_text(key, text):
    """What a key's row stores: the name on word keys ("w:", "o:"), else nothing."""
    return text if key.startswith(("w:", "o:")) else ""
