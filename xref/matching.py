"""Match free text and identifiers to master records: ranked candidates with a score (0-100)
and per-field evidence, for items, suppliers and locations.

How a query is answered (`match()`):

1. Identifiers first. Explicit parameters (mpn=, gtin=, duns=, lei=, vat=, gln=) and
   identifier-shaped tokens inside the free text (a 13-digit GTIN with a valid check digit,
   a 9-digit DUNS, an LEI, a VAT number, the hub's own item or supplier number, a location
   code) are normalised (GTIN-12 and GTIN-13 compare as the same GTIN-14) and looked up
   exactly. An exact hit scores 100 with evidence naming the identifier, so it ranks above
   any name that merely looks closer.
2. Candidates from the match index (`MatchKey`, one row per search key of a record): the
   rarer keys of the query (words, trigrams of name words, model numbers and their prefixes)
   are summed per record, weighted by rarity, in one grouped query, and the best few hundred
   records are kept. For suppliers and locations, every record containing one of the
   query's words is also taken while the word is not too common (a misspelled word is
   corrected first against the index, its most common one-edit spelling first; a word that
   is unknown or rare is also read as a common word of the kind one edit away, two for
   longer words: "wier" as "wire", "farki" as "fabrik"), and so is
   every one-word name found inside a query word ("Li & Li" inside "Kitrilium", which WRatio's
   partial match scores high); their normalised names come straight from the index rows, so
   tens of thousands of names are compared without reading a master table. A query never
   reads all records of a kind. Inside `batch()` (a reconciliation batch), the names under
   a word are read once for the batch with their letter counts, and only the names whose
   bound (`xref.shortlist`) can reach the top are scored: the same best names, about a
   fifteenth of the scoring.
3. Scoring with rapidfuzz: `WRatio` over normalised names and legal names for suppliers and
   locations; for items, the description (token set, token sort and the rarity-weighted
   share of the query's words found), combined with the best model-number agreement (exact,
   a variant suffix or vendor prefix, or a conflicting number of the same numbering scheme,
   which lowers the score; a retailer's catalogue number beside a maker's model number
   neither helps nor hurts). Model numbers the text names as what the product is for ("case
   for Iconia Tab A500") are never identifier hits.

The index is kept current by signal receivers on save and delete of items, suppliers and
locations (connected in `XrefConfig.ready`), in the same transaction as the change.
Writes that skip signals (bulk inserts, `QuerySet.update`) need `manage.py
rebuild_match_index`; the demo seed rebuilds it itself.
"""

import contextlib
import math
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save, pre_save
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, Levenshtein
from stdnum import ean
from stdnum import lei as stdnum_lei

from core.db import fetch_prepared
from mdm.models import Item, Location, Supplier
from xref import shortlist
from xref.models import MatchKey

KINDS = ("item", "supplier", "location")
# Bump when the keys a record is indexed under change: indexes built by an older version need
# `manage.py rebuild_match_index` (the match benchmark rebuilds its copy by this number).
INDEX_VERSION = 2
MAX_LIMIT = 50
# The longest text a query may give: /api/v1/match/ and the reconciliation service refuse
# longer text (its pieces and spellings are bounded by KEY_LENGTH and PROBED_LETTERS; this
# bounds the rest, fuzzy scores against the text included).
MAX_QUERY_LENGTH = 500
# MatchKey.key's length: a record's longer key is cut to it in the index, so a query's key
# longer than this can never be found and is never made.
KEY_LENGTH = 80

# Candidate generation. A key in more records than COMMON_KEY (and 2% of the kind) says too
# little to be worth reading; ANCHOR_ROWS bounds the names read whole for one query.
COMMON_KEY_FLOOR = 2000
COMMON_KEY_SHARE = 0.02
ANCHOR_WORD_MAX = 30_000
ANCHOR_ROWS = 40_000
POOL = 100  # records kept from the rarity-weighted key sum
POOL_ROWS = 8_000  # index rows that sum may read
# ...for suppliers and locations, whose names match in part (WRatio's partial match): more
# of a word's trigrams are read, so that names sharing a long piece of it are found.
NAMED_POOL_ROWS = 12_000
RESCORED = 30  # records read in full and scored, at least
BATCH_ROWS = 3_000_000  # names under word keys a batch() keeps at most
# How many records have a key is cached per process for CACHE_SECONDS: the counts only steer
# which keys are read and their weights, the rows themselves are always read fresh. A key no
# record has is never cached as such, so a record added a moment ago is found at once.
CACHE_SECONDS = 600
# Spelling correction against the kind's common words (in COMMON_WORD records or more, read
# once per process and CACHE_SECONDS): a query word is read as a common word one edit away
# (two for words of SECOND_EDIT_LENGTH letters or more) when it is unknown or that word is in
# COMMON_WORD_RATIO times as many records ("wier" -> "wire", "farki" -> "fabrik").
COMMON_WORD = 100
COMMON_WORD_RATIO = 10
SECOND_EDIT_LENGTH = 5
# A query word's one-edit spellings (about 70 a letter) and its pieces (one-word names inside
# it) are each looked up in the index: they are made only for the query's first words of at
# most WORD_MAX letters (names' words are shorter), PROBED_LETTERS letters in all, so that a
# long garbled query costs about what a name does, not what a hundred names do.
WORD_MAX = 32
PROBED_LETTERS = 64

NAME_SCORER = fuzz.WRatio
# 100 means an identifier agreed; text alone, however close, scores at most this.
TEXT_SCORE_MAX = 99.0

# --- normalisation -----------------------------------------------------------------------

WORD_RE = re.compile(r"[a-z0-9]+")
# Characters removed inside a word before splitting, so "S.p.A." is "spa", "A/S" is "as".
JOINERS = re.compile(r"[.'’/]")
# Legal forms say nothing about which company is meant.
LEGAL_FORMS = frozenset(
    str.split(
        "gmbh mbh ag kg kgaa ohg ug co ltd limited inc incorporated llc llp lp corp "
        "corporation company sa spa srl sas sarl bv nv oy oyj ab as aps sp zoo sro kft pty plc "
        "sl slu sae ooo zao oao pte bhd sdn"
    )
)
TOKEN_SPLIT = re.compile(r"[\s,;:()\[\]{}\"'!?*+|<>]+")
NON_ALNUM = re.compile(r"[^0-9A-Za-z]+")
DIGIT_RUNS = re.compile(r"\d+")
# "16GB", "2.4GHz", "27-inch", "4-pack": measurements, not model numbers.
UNITS = (
    "b|kb|mb|gb|tb|bit|bits|hz|khz|mhz|ghz|w|kw|v|mv|kv|a|ma|mah|ah|wh|kwh|ohm|mm|cm|m|km|in|"
    "inch|inches|ft|feet|yd|lb|lbs|oz|g|kg|mg|l|ml|mp|x|p|i|pin|pins|port|ports|pk|pack|ct|"
    "count|sheet|sheets|way|channel|ch|mbps|gbps|kbps|dpi|ppm|rpm|k|th|st|nd|rd|s|pc|pcs|"
    "piece|db|dbi|ms|fps|lm|lumens|deg|f|c|gal|qt|pt|bar|psi|nm|mw|kva|va|a|h|min|d"
)
MEASUREMENT = re.compile(rf"^\d+([.,]\d+)?-?({UNITS})$", re.IGNORECASE)
NUMBER_WORD = re.compile(r"^\d+([.,]\d+)?-[a-z]{3,}$", re.IGNORECASE)
# What a product is for ("toner for Canon L170") names other products' model numbers.
COMPATIBLE = re.compile(r"\b(for|fits|compatible|replaces|works with)\b", re.IGNORECASE)


def fold(text):
    """Lower case without accents: "Müller" and "MULLER" fold alike."""
    text = text or ""
    if text.isascii():
        return text.lower()  # nothing to decompose; casefold is lower for ASCII
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


def normalize(text, legal_forms=False):
    """The words of `text`, folded and joined by single spaces; with `legal_forms`, company
    legal forms (GmbH, Ltd, S.p.A.) are left out."""
    words = WORD_RE.findall(JOINERS.sub("", fold(text)))
    if legal_forms:
        words = [w for w in words if w not in LEGAL_FORMS]
    return " ".join(words)


def trigrams(word):
    """Trigrams of a word padded with a space on each side: "acme" -> " ac", "acm", "cme",
    "me "."""
    padded = f" {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def compact(value):
    """An identifier or model number without spaces, dashes, dots or case: "KTC-D320/1G" ->
    "KTCD3201G"."""
    return NON_ALNUM.sub("", fold(value)).upper()


def _is_code(form):
    """A compacted token that looks like a model number: 4 to 30 characters with a digit;
    digits only when 5 or more."""
    if not 4 <= len(form) <= 30:
        return False
    digits = sum(c.isdigit() for c in form)
    if digits == 0:
        return False
    return digits < len(form) or len(form) >= 5


def _codeish(raw):
    return not (MEASUREMENT.match(raw) or NUMBER_WORD.match(raw)) and _is_code(compact(raw))


def model_numbers(text):
    """Model-number-like tokens of free text, compacted, in order: "Sony Turntable -
    PSLX350H" -> ["PSLX350H"]. A token's parts between / # - count too (New-ML1610D2 gives
    ML1610D2), and so does a short upper-case prefix or suffix written apart (MDR EX32LP, SD1100
    IS)."""
    raw = [t.strip("-./#_") for t in TOKEN_SPLIT.split(text or "")]
    raw = [t for t in raw if t]
    found = []
    for i, token in enumerate(raw):
        if _codeish(token):
            found.append(compact(token))
        for part in re.split(r"[/#-]", token):
            if part != token and _codeish(part):
                found.append(compact(part))
        if i + 1 < len(raw):
            following = raw[i + 1]
            prefix = token.isalpha() and token.isupper() and len(token) <= 4
            suffix = following.isalnum() and following.isupper() and len(following) <= 3
            if (prefix and _codeish(following)) or (suffix and _codeish(token)):
                found.append(compact(token) + compact(following))
    return list(dict.fromkeys(f for f in found if len(f) <= 30))


def own_model_numbers(text):
    """Model numbers of the thing itself: those before "for ..." (a toner's own number, not
    the printers it fits)."""
    match = COMPATIBLE.search(text or "")
    return model_numbers(text[: match.start()] if match else text)


def _cut_ok(code, at):
    """True when cutting `code` at `at` does not split a run of digits or of letters."""
    return at <= 0 or at >= len(code) or code[at - 1].isdigit() != code[at].isdigit()


def code_similarity(a, b):
    """0-100 agreement of two compacted model numbers. Equal: 100; equal but for leading
    zeros: 98; one extends the other by a few letters (a colour or region suffix, a
    distributor's vendor prefix: SS2477 / SS2477G, 97185 / VER97185): 90; contained at a
    letter/digit boundary: 60-90 by length; otherwise their edit similarity, at most 50 when
    their numbers differ (DAP-2590 is not DAP-2555)."""
    if a == b:
        return 100.0
    if a.lstrip("0") == b.lstrip("0"):
        return 98.0
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    at = long_.find(short) if len(short) >= 4 else -1
    if at >= 0 and _cut_ok(long_, at) and _cut_ok(long_, at + len(short)):
        rest = long_[:at] + long_[at + len(short) :]
        at_an_end = at == 0 or at + len(short) == len(long_)
        if at_an_end and rest.isalpha() and len(rest) <= 5:
            return 90.0
        ratio = len(short) / len(long_)
        return 70.0 + 20.0 * ratio if at == 0 else 60.0 + 25.0 * ratio
    similarity = 100.0 * Levenshtein.normalized_similarity(a, b)
    if DIGIT_RUNS.findall(a) != DIGIT_RUNS.findall(b):
        return min(similarity, 50.0)
    return similarity


def _shape(code):
    """Letter and digit runs of a model number: "SLRC202BLACK" -> "A9A"."""
    return re.sub(r"(A)A+|(9)9+", r"\1\2", re.sub(r"[A-Z]", "A", re.sub(r"[0-9]", "9", code)))


def comparable(a, b):
    """Whether two compacted model numbers look like one numbering scheme (T020201 and
    T029201: they start alike or have the same runs of letters and digits), so that their
    disagreeing means two different products."""
    return a[:2] == b[:2] or _shape(a) == _shape(b)


def gtin14(value):
    """A GTIN-8/12/13/14 with a valid check digit as the 14-digit GTIN it is, else None:
    GTIN-12 036000291452 and GTIN-13 0036000291452 are the same 00036000291452."""
    digits = compact(value)
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        return None
    if ean.calc_check_digit(digits[:-1]) != digits[-1]:
        return None
    return digits.zfill(14)


def gln(value):
    digits = compact(value)
    if len(digits) == 13 and digits.isdigit() and ean.calc_check_digit(digits[:-1]) == digits[-1]:
        return digits
    return None


def duns(value):
    digits = compact(value)
    return digits if len(digits) == 9 and digits.isdigit() else None


def lei(value):
    code = compact(value)
    if len(code) != 20:
        return None
    try:
        stdnum_lei.validate(code)
    except Exception:  # stdnum raises its own ValidationError subclasses
        return None
    return code


def vat_forms(value):
    """A VAT number compacted, and without its country prefix when it has one ("DE 123 456
    789" -> {"DE123456789", "123456789"}), so either way of writing it is found."""
    code = compact(value)
    if len(code) < 5:
        return set()
    forms = {code}
    if code[:2].isalpha() and len(code) >= 7:
        forms.add(code[2:])
    return forms


# --- what each kind indexes and how it scores ---------------------------------------------


@dataclass(frozen=True)
class KindSpec:
    """How one kind of record is indexed and matched."""

    kind: int  # MatchKey.Kind
    model: type
    fields: tuple  # fields read to index and score a record
    identifiers: tuple  # query parameters that are identifiers
    name_fields: tuple = ()  # fuzzy-matched names (suppliers, locations)
    anchors: bool = False  # whether word keys carry the name, for whole-word candidates
    has_country: bool = True

    def record_keys(self, row):
        return _RECORD_KEYS[self.model](row)


ITEM_FIELDS = ("id", "public_id", "number", "description", "manufacturer", "mpn", "gtin")
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
)
LOCATION_FIELDS = ("id", "public_id", "code", "name", "country", "gln")

SPECS = {
    "item": KindSpec(
        MatchKey.Kind.ITEM, Item, ITEM_FIELDS, ("mpn", "gtin", "manufacturer"), has_country=False
    ),
    "supplier": KindSpec(
        MatchKey.Kind.SUPPLIER,
        Supplier,
        SUPPLIER_FIELDS,
        ("duns", "lei", "vat"),
        name_fields=("name", "legal_name"),
        anchors=True,
    ),
    "location": KindSpec(
        MatchKey.Kind.LOCATION,
        Location,
        LOCATION_FIELDS,
        ("gln",),
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
    if row["gtin"] and gtin14(row["gtin"]):
        keys.add("gtin:" + gtin14(row["gtin"]))
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


# --- index maintenance -------------------------------------------------------------------


def index_rows(spec, rows):
    """(Re)write the keys of these records (dicts of spec.fields) in the match index."""
    keys = []
    for row in rows:
        text = anchor_text(spec, row) if spec.anchors else ""
        for key in spec.record_keys(row):
            keys.append(
                MatchKey(
                    kind=spec.kind,
                    key=key[:KEY_LENGTH],
                    record_id=row["id"],
                    text=stored_text(key, text),
                )
            )
    MatchKey.objects.bulk_create(keys, batch_size=2000, ignore_conflicts=True)
    return len(keys)


def unindex_rows(spec, rows):
    """Remove the keys these records had (computed from their stored values)."""
    for row in rows:
        keys = [key[:KEY_LENGTH] for key in spec.record_keys(row)]
        for start in range(0, len(keys), 500):
            MatchKey.objects.filter(
                kind=spec.kind, record_id=row["id"], key__in=keys[start : start + 500]
            ).delete()


def rebuild(kinds=KINDS, batch_size=5000, progress=None):
    """Empty and rebuild the index of these kinds from the master tables; returns {kind:
    (records, keys)}."""
    counts = {}
    for name in kinds:
        spec = SPECS[name]
        records = keys = 0
        with transaction.atomic():
            MatchKey.objects.filter(kind=spec.kind).delete()
            last = 0
            while True:
                rows = list(
                    spec.model.objects.filter(pk__gt=last)
                    .order_by("pk")
                    .values(*spec.fields)[:batch_size]
                )
                if not rows:
                    break
                keys += index_rows(spec, rows)
                records += len(rows)
                last = rows[-1]["id"]
                if progress:
                    progress(name, records, keys)
        counts[name] = (records, keys)
    _cache.clear()
    return counts


def _stored_row(spec, instance):
    if instance.pk is None:
        return None
    return spec.model.objects.filter(pk=instance.pk).values(*spec.fields).first()


def _remember_stored(sender, instance, raw=False, **kwargs):
    """pre_save: note the stored values, whose keys the save replaces."""
    spec = SPEC_BY_MODEL[sender]
    instance._match_stored = None if raw else _stored_row(spec, instance)


def _reindex_saved(sender, instance, raw=False, **kwargs):
    """post_save: swap the record's old keys for its new ones, in the save's transaction."""
    if raw:
        return
    spec = SPEC_BY_MODEL[sender]
    stored = getattr(instance, "_match_stored", None)
    row = {name: getattr(instance, name) for name in spec.fields}
    if stored == row:
        return
    if stored:
        unindex_rows(spec, [stored])
    index_rows(spec, [row])


def _unindex_deleted(sender, instance, **kwargs):
    spec = SPEC_BY_MODEL[sender]
    unindex_rows(spec, [{name: getattr(instance, name) for name in spec.fields}])


def connect_signals():
    """Keep the index current on every save and delete (called from XrefConfig.ready)."""
    for model in SPEC_BY_MODEL:
        label = model._meta.label_lower
        pre_save.connect(_remember_stored, sender=model, dispatch_uid=f"match.pre.{label}")
        post_save.connect(_reindex_saved, sender=model, dispatch_uid=f"match.post.{label}")
        post_delete.connect(_unindex_deleted, sender=model, dispatch_uid=f"match.del.{label}")


def index_unindexed(kinds=KINDS, batch_size=5000):
    """Index the records of these kinds that have no keys yet (added by a bulk insert, which
    sends no signals); returns how many. Records already indexed are left alone: their saves
    kept them current."""
    added = 0
    for name in kinds:
        spec = SPECS[name]
        indexed = MatchKey.objects.filter(kind=spec.kind).values("record_id")
        missing = spec.model.objects.exclude(pk__in=indexed).order_by("pk")
        last = 0
        while True:
            rows = list(missing.filter(pk__gt=last).values(*spec.fields)[:batch_size])
            if not rows:
                break
            index_rows(spec, rows)
            added += len(rows)
            last = rows[-1]["id"]
    if added:
        _cache.clear()
    return added


def index_after_demo(sender, **kwargs):
    """demo_seeded receiver: the demo bulk-inserts its records, which skips the signals, so
    the records it added are indexed here. One summary row: records indexed now, and all the
    records the index covers."""
    added = index_unindexed()
    total = sum(SPECS[name].model.objects.count() for name in KINDS)
    return [("match index (records)", added, total)]


# --- SQL of the queries a match makes ----------------------------------------------------
#
# A match makes half a dozen statements with lists of keys or ids in them. On PostgreSQL a
# list goes as one array parameter, so each statement's text is fixed and prepared once per
# connection (core.db.fetch_prepared): a list of a few hundred placeholders costs more to
# convert on the client and to plan than to run. Other databases get the same statements
# with the list written out.

_ARRAY_TYPES = {str: "text", int: "bigint", float: "double precision"}


def _one_of(column, values, kind=str):
    """(SQL, params) of `column` being one of `values` (not empty)."""
    values = list(values)
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::{_ARRAY_TYPES[kind]}[])", [values]
    return f"{column} IN ({', '.join('%s' for _ in values)})", values


def _rows(*columns):
    """(SQL, params) of a FROM item `v` whose rows are the columns' values side by side
    (v.column1, v.column2, ...); each column is (values, type), none empty."""
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{_ARRAY_TYPES[kind]}[]" for _, kind in columns)
        names = ", ".join(f"column{n}" for n in range(1, len(columns) + 1))
        return f"unnest({arrays}) AS v({names})", [list(values) for values, _ in columns]
    cells = ", ".join(f"CAST(%s AS {_ARRAY_TYPES[kind]})" for _, kind in columns)
    rows = list(zip(*(values for values, _ in columns), strict=True))
    params = [value for row in rows for value in row]
    return f"(VALUES {', '.join(f'({cells})' for _ in rows)}) AS v", params


# --- per-process cache of common key counts ----------------------------------------------


class _Cache:
    """Counts of common keys and each kind's size, kept for CACHE_SECONDS. Bounded: cleared
    when it holds more than `size` entries."""

    def __init__(self, size=200_000):
        self.size = size
        self.lock = threading.Lock()
        self.values = {}

    def get(self, key):
        hit = self.values.get(key)
        if hit and hit[1] > time.monotonic():
            return hit[0]
        return None

    def put(self, key, value):
        with self.lock:
            if len(self.values) >= self.size:
                self.values.clear()
            self.values[key] = (value, time.monotonic() + CACHE_SECONDS)

    def clear(self):
        with self.lock:
            self.values.clear()


_cache = _Cache()


def _kind_size(spec):
    """About how many records the kind has (only the weights of keys depend on it): the
    planner's estimate on PostgreSQL when the table is large, else a count."""
    cached = _cache.get(("size", spec.kind))
    if cached is not None:
        return cached
    size = 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
                [spec.model._meta.db_table],
            )
            row = cursor.fetchone()
            size = int(row[0]) if row and row[0] and row[0] > 0 else 0
    if size < 10_000:
        size = spec.model.objects.count()
    if size >= 10_000:
        _cache.put(("size", spec.kind), size)
    return size


def _key_counts(spec, keys, cap):
    """{key: records with it}, counted up to cap + 1 (a common key is not worth counting
    through)."""
    counts, missing = {}, []
    for key in keys:
        cached = _cache.get((spec.kind, key))
        if cached is None:
            missing.append(key)
        else:
            counts[key] = cached
    table = MatchKey._meta.db_table
    for start in range(0, len(missing), 200):
        keys, params = _rows((missing[start : start + 200], str))
        sql = (
            "SELECT v.column1, (SELECT COUNT(*) FROM (SELECT 1 FROM "
            f"{table} m WHERE m.kind = %s AND m.key = v.column1 LIMIT %s) AS capped) FROM {keys}"
        )
        for key, count in fetch_prepared(sql, [spec.kind, cap + 1, *params]):
            counts[key] = count
            if count > 0:  # an absent key is looked for again: a new record may add it
                _cache.put((spec.kind, key), count)
    return counts


def _existing_words(spec, keys, cap):
    """{key: records} for those of `keys` (a word's other spellings) that are in the index.
    Each key is probed for one row, so a common word is not read through."""
    keys = sorted(keys)
    if not keys:
        return {}
    table = MatchKey._meta.db_table
    found = []
    for start in range(0, len(keys), 1000):
        values, params = _rows((keys[start : start + 1000], str))
        sql = (
            f"SELECT v.column1 FROM {values} WHERE EXISTS "
            f"(SELECT 1 FROM {table} m WHERE m.kind = %s AND m.key = v.column1)"
        )
        found += [row[0] for row in fetch_prepared(sql, [*params, spec.kind])]
    return _key_counts(spec, found, cap)


def _common_words(spec):
    """{word: records} of the kind's words in at least COMMON_WORD records: one grouped read
    of the word keys, cached per process."""
    cached = _cache.get(("common", spec.kind))
    if cached is not None:
        return cached
    table = MatchKey._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT key, COUNT(*) FROM {table} WHERE kind = %s AND key >= 'w:' AND key < 'w;' "
            "GROUP BY key HAVING COUNT(*) >= %s",
            [spec.kind, COMMON_WORD],
        )
        words = {key[2:]: count for key, count in cursor.fetchall()}
    _cache.put(("common", spec.kind), words)
    return words


def _common_spellings(spec, word, count):
    """{"w:" key: records} of the common words the query word may be a misspelling of: the
    closest ones (optimal string alignment distance, a swap of two letters is one edit), and
    only those in COMMON_WORD_RATIO times as many records as the word itself."""
    if len(word) < 4:
        return {}
    common = _common_words(spec)
    if not common or common.get(word, 0) >= COMMON_WORD:
        return {}
    most = 2 if len(word) >= SECOND_EDIT_LENGTH else 1
    found = process.extract(
        word, list(common), scorer=OSA.distance, score_cutoff=most, limit=None, processor=None
    )
    close = [(distance, spelling) for spelling, distance, _ in found if distance > 0]
    if not close:
        return {}
    nearest = min(distance for distance, _ in close)
    return {
        "w:" + spelling: common[spelling]
        for distance, spelling in close
        if distance == nearest and common[spelling] >= COMMON_WORD_RATIO * max(count, 1)
    }


# --- queries -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A record that may be the one meant, with a score (0-100) and what agreed, by field."""

    id: str
    name: str
    score: float
    evidence: dict = field(default_factory=dict)

    def as_dict(self):
        return {"id": self.id, "name": self.name, "score": self.score, "evidence": self.evidence}


@dataclass
class _Query:
    text: str  # normalised free text
    words: list
    identifiers: dict  # index key -> evidence field
    codes: list  # model numbers, explicit mpn first
    own_codes: set
    mpn: str
    manufacturer: str


def _parse(spec, name, q, fields):
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
            if gtin14(value):
                identifiers["gtin:" + gtin14(value)] = "gtin"
    elif name == "supplier":
        for value in [fields.get("duns") or "", *tokens]:
            if duns(value):
                identifiers["duns:" + duns(value)] = "duns"
        for value in [fields.get("lei") or "", *tokens]:
            if lei(value):
                identifiers["lei:" + lei(value)] = "lei"
        vat_values = [fields.get("vat") or ""] + [t for t in tokens if _looks_like_vat(t)]
        for value in vat_values:
            for form in vat_forms(value):
                identifiers["vat:" + form] = "vat"
    else:
        for value in [fields.get("gln") or "", *tokens]:
            if gln(value):
                identifiers["gln:" + gln(value)] = "gln"
    own = set(own_model_numbers(q))
    if mpn:
        own.add(mpn)
    manufacturer = fields.get("manufacturer") or ""
    words = text.split()
    if manufacturer:
        words += [w for w in normalize(manufacturer).split() if w not in words]
    return _Query(text, words, identifiers, codes, own, mpn, manufacturer)


def _looks_like_vat(token):
    form = compact(token)
    return len(form) >= 8 and form[:2].isalpha() and any(c.isdigit() for c in form)


def _text_keys(name, query):
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
                if _cut_ok(code, start) and _cut_ok(code, start + length):
                    keys.add("c:" + part)
                    keys.add("p:" + part)
    return keys


def _edits(word):
    """Spellings one edit away (deletion, transposition, substitution, insertion)."""
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    transposes = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in letters if c != b[0]]
    inserts = [a + c + b for a, b in splits for c in letters]
    return set(deletes + transposes + replaces + inserts)


def _identifier_hits(spec, query):
    """{record id: {evidence field: 100}} for exact identifier hits."""
    if not query.identifiers:
        return {}
    hits = {}
    where, params = _one_of("key", query.identifiers)
    sql = f"SELECT key, record_id FROM {MatchKey._meta.db_table} WHERE kind = %s AND {where}"
    for key, record_id in fetch_prepared(sql, [spec.kind, *params]):
        hits.setdefault(record_id, {})[query.identifiers[key]] = 100.0
    return hits


def _pooled(spec, weights, size):
    """The `size` records with the highest sum of their keys' weights."""
    if not weights:
        return []
    table = MatchKey._meta.db_table
    values, params = _rows((weights, str), (weights.values(), float))
    sql = (
        f"SELECT m.record_id FROM {table} m JOIN {values} ON m.key = v.column1 "
        "WHERE m.kind = %s GROUP BY m.record_id ORDER BY SUM(v.column2) DESC, m.record_id "
        "LIMIT %s"
    )
    return [row[0] for row in fetch_prepared(sql, [*params, spec.kind, size])]


def _anchored(spec, keys):
    """{record id: normalised name} of every record with one of these word keys (trimmed, as
    _names_under reads them for a batch)."""
    if not keys:
        return {}
    where, params = _one_of("key", sorted(keys))
    sql = (
        f"SELECT record_id, rtrim(text) FROM {MatchKey._meta.db_table} WHERE kind = %s AND {where}"
    )
    return dict(fetch_prepared(sql, [spec.kind, *params]))


def _batch_names(spec, keys):
    """{key: shortlist.Names} under these word keys, each key's rows read once per batch."""
    cache = _batch.rows
    if _batch.kept > BATCH_ROWS:
        cache.clear()
        _batch.kept = 0
    missing = sorted(key for key in keys if (spec.kind, key) not in cache)
    if missing:
        for key, (ids, texts) in _names_under(spec, missing).items():
            # Most keys of a long or garbled query are in no name: one empty Names for all.
            cache[(spec.kind, key)] = shortlist.Names(ids, texts) if texts else _NO_NAMES
            _batch.kept += len(texts)
    return {key: cache[(spec.kind, key)] for key in keys}


def _names_under(spec, keys):
    """{key: ([record id], [normalised name])} of every record under these word keys (a
    name cut at its stored length loses the space it may end in)."""
    table = MatchKey._meta.db_table
    found = {key: ([], []) for key in keys}
    if connection.vendor == "postgresql":
        # A row per key, its ids and names aggregated on the server: a million names come
        # as a few hundred values, not as a million rows (names have no line breaks). The
        # two aggregates see the key's rows in the same order, so the lists line up; each
        # key is aggregated on its own (LATERAL), as a GROUP BY would first sort all rows.
        sql = (
            "SELECT v.column1, a.ids, a.texts FROM unnest(%s::text[]) AS v(column1) "
            "CROSS JOIN LATERAL (SELECT array_agg(record_id) AS ids, "
            f"string_agg(rtrim(text), E'\\n') AS texts FROM {table} m "
            "WHERE m.kind = %s AND m.key = v.column1) AS a"
        )
        for key, ids, texts in fetch_prepared(sql, [list(keys), spec.kind]):
            if ids:
                found[key] = (ids, texts.split("\n"))
        return found
    where, params = _one_of("key", keys)
    sql = f"SELECT key, record_id, rtrim(text) FROM {table} WHERE kind = %s AND {where}"
    for key, record_id, text in fetch_prepared(sql, [spec.kind, *params]):
        found[key][0].append(record_id)
        found[key][1].append(text)
    return found


def _best_anchored(spec, query, keys, read, wanted, counts):
    """Ids of the `wanted` records whose names under these word keys score best against the
    query, those in `read` left out. Inside batch(), the names are kept with their letter
    counts and only those that can reach the top are scored (`shortlist.best`); a query word
    with no key in `counts` is in no name."""
    if not keys:
        return []
    if getattr(_batch, "rows", None) is None:
        names = _anchored(spec, keys)
        best = process.extract(
            query.text, names, scorer=NAME_SCORER, processor=None, limit=wanted + len(read)
        )
        return [record_id for _, _, record_id in best if record_id not in read][:wanted]
    words = set(query.text.split())
    groups = [
        (names, key[2:] if key.startswith("w:") and key[2:] in words else None)
        for key, names in sorted(_batch_names(spec, keys).items())
    ]
    absent = {word for word in words if counts.get("w:" + word) == 0}
    best = shortlist.best(query.text, groups, wanted, read, absent)
    return [record_id for record_id, _ in best]


# What batch() keeps for the queries of one batch, per thread.
_batch = threading.local()
_NO_NAMES = shortlist.Names([], [])


@contextlib.contextmanager
def batch():
    """Queries answered together (a reconciliation batch): the names under a word key, which
    many queries of a batch share ("industries", "gmbh" misspelt), are read once for all of
    them, up to BATCH_ROWS names kept. What a batch reads is as fresh as its first query."""
    _batch.rows, _batch.kept = {}, 0
    try:
        yield
    finally:
        _batch.rows = None


def _records(spec, ids, country=None):
    """{id: {field: value}} of these records (of `country` only, if given)."""
    if not ids:
        return {}
    found = {}
    ids = sorted(ids)
    columns = ", ".join(spec.model._meta.get_field(name).column for name in spec.fields)
    for start in range(0, len(ids), 500):
        where, params = _one_of("id", ids[start : start + 500], int)
        if country:
            where, params = f"{where} AND country = %s", [*params, country]
        sql = f"SELECT {columns} FROM {spec.model._meta.db_table} WHERE {where}"
        for row in fetch_prepared(sql, params):
            found[row[0]] = dict(zip(spec.fields, row, strict=True))
    return found


def match(kind, q="", limit=5, country=None, **fields):
    """Ranked candidates for free text `q` and identifier `fields` (item: mpn, gtin,
    manufacturer; supplier: duns, lei, vat; location: gln), best first, at most `limit`.
    `country` keeps suppliers and locations of that ISO country only."""
    if kind not in SPECS:
        raise ValueError(f"Unknown kind {kind!r}; choose one of {', '.join(KINDS)}.")
    spec = SPECS[kind]
    unknown = set(fields) - set(spec.identifiers)
    if unknown:
        raise ValueError(f"{kind} matching does not take {', '.join(sorted(unknown))}.")
    if country and not spec.has_country:
        raise ValueError(f"{kind}s have no country.")
    limit = max(1, min(int(limit), MAX_LIMIT))
    q = (q or "").strip()
    fields = {name: (value or "").strip() for name, value in fields.items() if value}
    query = _parse(spec, kind, q, fields)
    if not q and not fields:
        return []

    hits = _identifier_hits(spec, query)
    size = max(_kind_size(spec), 1)
    cap = max(COMMON_KEY_FLOOR, int(size * COMMON_KEY_SHARE))
    text_keys = _text_keys(kind, query)
    counts = _key_counts(spec, text_keys, cap) if text_keys else {}
    weights = _pool_weights(counts, size, cap, NAMED_POOL_ROWS if spec.anchors else POOL_ROWS)
    pool = POOL * (4 if country else 1)
    pooled = _pooled(spec, weights, pool)

    read = set(pooled) | set(hits)
    if spec.anchors and query.words:
        # The names are scored as the records' names are: a few more than asked for leave
        # room for a legal name that scores higher.
        wanted = max(RESCORED, limit * 3) * (4 if country else 1)
        keys = _anchor_keys(spec, query, counts) | _inner_word_keys(query)
        read.update(_best_anchored(spec, query, keys, read, wanted, counts))
    records = _records(spec, read, country)

    scorer = _score_item if kind == "item" else _score_named
    scored = []
    for record_id, row in records.items():
        score, evidence = scorer(spec, query, row, counts, size)
        evidence = {name: value for name, value in evidence.items() if value > 0}
        if record_id in hits:
            evidence.update(hits[record_id])
            score = 100.0
        else:
            score = min(score, TEXT_SCORE_MAX)
        if score > 0:
            scored.append((score, row, evidence))
    scored.sort(key=lambda item: (-item[0], item[1]["public_id"]))
    return [
        Candidate(
            id=row["public_id"],
            name=_display_name(kind, row),
            score=round(score, 1),
            evidence={name: round(value, 1) for name, value in evidence.items()},
        )
        for score, row, evidence in scored[:limit]
    ]


def _pool_weights(counts, size, cap, rows=POOL_ROWS):
    """Weights of the keys worth summing: the rarest first, until they hold `rows` rows (a
    key in more than `cap` records is never used)."""
    weights, total = {}, 0
    for key, n in sorted(counts.items(), key=lambda item: item[1]):
        if n == 0:
            continue
        if n > cap or n >= size or (weights and total + n > rows):
            break
        weights[key] = _weight(key, size, n)
        total += n
    return weights


def _weight(key, size, count):
    weight = math.log((size + 1) / count)
    if key.startswith("t:"):
        return weight * 0.5  # one of many trigrams of a word
    if key.startswith("c:"):
        return weight * 2
    return weight


def _anchor_keys(spec, query, counts):
    """Word keys whose every record is read: the query's words that are in the index and not
    too common, and for a word that is not, its one-edit spellings that are (a misspelled
    common word: "industies" -> "industries"), the most common spelling first: it is the
    likeliest meant. A rare or unknown word also brings the common words it may misspell
    (`_common_spellings`)."""
    unknown = [w for w in _probed(query) if len(w) >= 4 and counts.get("w:" + w, 0) == 0]
    spellings = {}
    for word in unknown:
        for spelling in _edits(word):
            spellings["w:" + spelling] = word
    found = _existing_words(spec, spellings, ANCHOR_WORD_MAX) if spellings else {}
    first, rest = {}, {}
    for word in query.words:
        key = "w:" + word
        n = counts.get(key, 0)
        if 0 < n <= ANCHOR_WORD_MAX:
            first[key] = n
    for word in query.words:
        for key, n in _common_spellings(spec, word, counts.get("w:" + word, 0)).items():
            if key not in found or n > found[key]:
                spellings[key] = word
                found[key] = n
    likeliest = {}
    for key, n in found.items():
        if 0 < n <= ANCHOR_WORD_MAX and key not in first:
            rest[key] = n
            word = spellings[key]
            if n > likeliest.get(word, ("", 0))[1]:
                likeliest[word] = (key, n)
    for key, _ in likeliest.values():
        first[key] = rest.pop(key)
    picked, total = set(), 0
    for key, n in sorted(first.items(), key=lambda item: item[1]):
        if total + n <= ANCHOR_ROWS:
            picked.add(key)
            total += n
    for key, n in sorted(rest.items(), key=lambda item: item[1]):
        if total + n > ANCHOR_ROWS:
            break
        picked.add(key)
        total += n
    return picked


def _probed(query):
    """The query's words whose spellings and pieces are looked up (see PROBED_LETTERS)."""
    probed, letters = [], 0
    for word in query.words:
        if len(word) <= WORD_MAX:
            letters += len(word)
            if letters > PROBED_LETTERS:
                break
            probed.append(word)
    return probed


def _inner_word_keys(query):
    """ "o:" keys of the pieces of the query's words: one-word names inside them ("Li & Li"
    inside "Kitrilium")."""
    keys = set()
    for word in _probed(query):
        for length in range(2, len(word)):
            keys.update("o:" + word[i : i + length] for i in range(len(word) - length + 1))
    return keys


def _display_name(kind, row):
    return row["description"] if kind == "item" else row["name"]


def _score_named(spec, query, row, counts, size):
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


def _score_item(spec, query, row, counts, size):
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
