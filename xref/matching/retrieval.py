"""Candidates for a query, before scoring: the records its identifiers name exactly, the
records sharing its rarest keys, and for suppliers and locations the best names among all
the records under its words (and their likely spellings). A query never reads all records of
a kind; inside `batch()` the names under a word are read once for the batch."""

import contextlib
import math
import threading
from dataclasses import dataclass

from django.db import connection
from rapidfuzz import process

from core.db import fetch_prepared, one_of
from xref.matching import shortlist
from xref.matching.counts import common_spellings, existing_words, key_counts, kind_size
from xref.matching.query import text_keys
from xref.matching.scoring import NAME_SCORER
from xref.matching.sql import value_rows
from xref.models import MatchKey

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
# A query word's one-edit spellings (about 70 a letter) and its pieces (one-word names inside
# it) are each looked up in the index: they are made only for the query's first words of at
# most WORD_MAX letters (names' words are shorter), PROBED_LETTERS letters in all, so that a
# long garbled query costs about what a name does, not what a hundred names do.
WORD_MAX = 32
PROBED_LETTERS = 64


@dataclass
class Found:
    """What retrieval found for a query: the records to score, those an identifier named, and
    the counts of the query's keys (which weigh its words in scoring) in a kind of `size`."""

    records: dict  # record id -> {field: value}
    hits: set  # ids of the records an identifier named
    counts: dict  # index key -> records with it (capped)
    size: int


def find(spec, kind, query, limit, country=None, include=()):
    """The records worth scoring for a query that wants `limit` candidates (of `country` only,
    if given), and those of the public ids in `include`."""
    hits = _identifier_hits(spec, query)
    size = max(kind_size(spec), 1)
    cap = max(COMMON_KEY_FLOOR, int(size * COMMON_KEY_SHARE))
    keys = text_keys(kind, query)
    counts = key_counts(spec, keys, cap) if keys else {}
    weights = _pool_weights(counts, size, cap, NAMED_POOL_ROWS if spec.anchors else POOL_ROWS)
    pooled = _pooled(spec, weights, POOL * (4 if country else 1))

    read = set(pooled) | hits
    if include:
        read.update(spec.model.objects.filter(public_id__in=include).values_list("id", flat=True))
    if spec.anchors and query.words:
        # The names are scored as the records' names are: a few more than asked for leave
        # room for a legal name that scores higher.
        wanted = max(RESCORED, limit * 3) * (4 if country else 1)
        keys = _anchor_keys(spec, query, counts) | _inner_word_keys(query)
        read.update(_best_anchored(spec, query, keys, read, wanted, counts))
    return Found(_records(spec, read, country), hits, counts, size)


def _identifier_hits(spec, query):
    """Ids of the records the query's identifiers name exactly."""
    if not query.identifiers:
        return set()
    where, params = one_of("key", sorted(query.identifiers), str)
    sql = f"SELECT record_id FROM {MatchKey._meta.db_table} WHERE kind = %s AND {where}"
    return {row[0] for row in fetch_prepared(sql, [spec.kind, *params])}


def _pool_weights(counts, size, cap, rows=POOL_ROWS):
    """Weights of the keys worth summing: the rarest first, until they hold `rows` rows (a
    key in more than `cap` records is never used)."""
    weights, total = {}, 0
    for key, n in sorted(counts.items(), key=lambda item: (item[1], item[0])):
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


def _pooled(spec, weights, size):
    """The `size` records with the highest sum of their keys' weights."""
    if not weights:
        return []
    table = MatchKey._meta.db_table
    values, params = value_rows((weights, str), (weights.values(), float))
    sql = (
        f"SELECT m.record_id FROM {table} m JOIN {values} ON m.key = v.column1 "
        "WHERE m.kind = %s GROUP BY m.record_id ORDER BY SUM(v.column2) DESC, m.record_id "
        "LIMIT %s"
    )
    return [row[0] for row in fetch_prepared(sql, [*params, spec.kind, size])]


def _anchor_keys(spec, query, counts):
    """Word keys whose every record is read: the query's words that are in the index and not
    too common, and for a word that is not, its one-edit spellings that are (a misspelled
    common word: "industies" -> "industries"), the most common spelling first: it is the
    likeliest meant. A rare or unknown word also brings the common words it may misspell
    (`common_spellings`)."""
    unknown = [w for w in _probed(query) if len(w) >= 4 and counts.get("w:" + w, 0) == 0]
    spellings = {}
    for word in unknown:
        for spelling in sorted(_edits(word)):
            spellings["w:" + spelling] = word
    found = existing_words(spec, spellings, ANCHOR_WORD_MAX) if spellings else {}
    first, rest = {}, {}
    for word in query.words:
        key = "w:" + word
        n = counts.get(key, 0)
        if 0 < n <= ANCHOR_WORD_MAX:
            first[key] = n
    for word in query.words:
        for key, n in common_spellings(spec, word, counts.get("w:" + word, 0)).items():
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
    for key, n in sorted(first.items(), key=lambda item: (item[1], item[0])):
        if total + n <= ANCHOR_ROWS:
            picked.add(key)
            total += n
    for key, n in sorted(rest.items(), key=lambda item: (item[1], item[0])):
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


def _edits(word):
    """Spellings one edit away (deletion, transposition, substitution, insertion)."""
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    transposes = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in letters if c != b[0]]
    inserts = [a + c + b for a, b in splits for c in letters]
    return set(deletes + transposes + replaces + inserts)


def _anchored(spec, keys):
    """{record id: normalised name} of every record with one of these word keys (trimmed, as
    _names_under reads them for a batch)."""
    if not keys:
        return {}
    where, params = one_of("key", sorted(keys), str)
    sql = (
        f"SELECT record_id, rtrim(text) FROM {MatchKey._meta.db_table} WHERE kind = %s AND {where}"
    )
    return dict(fetch_prepared(sql, [spec.kind, *params]))


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
    where, params = one_of("key", keys, str)
    sql = f"SELECT key, record_id, rtrim(text) FROM {table} WHERE kind = %s AND {where}"
    for key, record_id, text in fetch_prepared(sql, [spec.kind, *params]):
        found[key][0].append(record_id)
        found[key][1].append(text)
    return found


def _records(spec, ids, country=None):
    """{id: {field: value}} of these records (of `country` only, if given)."""
    if not ids:
        return {}
    columns = ", ".join(spec.model._meta.get_field(name).column for name in spec.fields)
    where, params = one_of("id", sorted(ids), int)
    if country:
        where, params = f"{where} AND country = %s", [*params, country]
    sql = f"SELECT {columns} FROM {spec.model._meta.db_table} WHERE {where}"
    return {row[0]: dict(zip(spec.fields, row, strict=True)) for row in fetch_prepared(sql, params)}
