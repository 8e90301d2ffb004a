"""How many records of a kind have a key, and the kind's common words with their likeliest
misspellings: what steers which keys a query reads and how it weighs them, cached per process.
"""

import threading
import time
from collections import Counter

from django.db import connection
from rapidfuzz import process
from rapidfuzz.distance import OSA

from core.db import fetch_prepared
from mdm.identifiers import compact
from xref.matching.sql import value_rows
from xref.matching.text import number_shape
from xref.models import MatchKey

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
# A token of free text is read as a record's number only when its shape is that of at least
# NUMBER_SHAPE_SHARE of a sample of NUMBER_SHAPE_SAMPLE of the kind's numbers (read once per
# process and CACHE_SECONDS: a new shape counts in free text within that time, given as
# number= at once).
NUMBER_SHAPE_SAMPLE = 2000
NUMBER_SHAPE_SHARE = 0.01


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

    def discard(self, key):
        with self.lock:
            self.values.pop(key, None)

    def clear(self):
        with self.lock:
            self.values.clear()


cache = _Cache()


def kind_size(spec):
    """About how many records the kind has (only the weights of keys depend on it): the
    planner's estimate on PostgreSQL when the table is large, else a count."""
    cached = cache.get(("size", spec.kind))
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
        cache.put(("size", spec.kind), size)
    return size


def key_counts(spec, keys, cap):
    """{key: records with it}, counted up to cap + 1 (a common key is not worth counting
    through)."""
    counts, missing = {}, []
    for key in keys:
        cached = cache.get((spec.kind, key))
        if cached is None:
            missing.append(key)
        else:
            counts[key] = cached
    table = MatchKey._meta.db_table
    for start in range(0, len(missing), 200):
        keys, params = value_rows((missing[start : start + 200], str))
        sql = (
            "SELECT v.column1, (SELECT COUNT(*) FROM (SELECT 1 FROM "
            f"{table} m WHERE m.kind = %s AND m.key = v.column1 LIMIT %s) AS capped) FROM {keys}"
        )
        for key, count in fetch_prepared(sql, [spec.kind, cap + 1, *params]):
            counts[key] = count
            if count > 0:  # an absent key is looked for again: a new record may add it
                cache.put((spec.kind, key), count)
    return counts


def existing_words(spec, keys, cap):
    """{key: records} for those of `keys` (a word's other spellings) that are in the index.
    Each key is probed for one row, so a common word is not read through."""
    keys = sorted(keys)
    if not keys:
        return {}
    table = MatchKey._meta.db_table
    found = []
    for start in range(0, len(keys), 1000):
        values, params = value_rows((keys[start : start + 1000], str))
        sql = (
            f"SELECT v.column1 FROM {values} WHERE EXISTS "
            f"(SELECT 1 FROM {table} m WHERE m.kind = %s AND m.key = v.column1)"
        )
        found += [row[0] for row in fetch_prepared(sql, [*params, spec.kind])]
    return key_counts(spec, found, cap)


def _common_words(spec):
    """{word: records} of the kind's words in at least COMMON_WORD records: one grouped read
    of the word keys, cached per process."""
    cached = cache.get(("common", spec.kind))
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
    cache.put(("common", spec.kind), words)
    return words


def common_spellings(spec, word, count):
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


def number_shapes(spec):
    """The shapes (`text.number_shape`) the kind's numbers have, read from a sample and
    cached per process: those of at least NUMBER_SHAPE_SHARE of the sample."""
    cached = cache.get(("shapes", spec.kind))
    if cached is not None:
        return cached
    field = "code" if "code" in spec.fields else "number"
    sample = spec.model.objects.values_list(field, flat=True)[:NUMBER_SHAPE_SAMPLE]
    shapes = Counter(number_shape(compact(value)) for value in sample)
    total = sum(shapes.values())
    found = frozenset(s for s, n in shapes.items() if n >= NUMBER_SHAPE_SHARE * total)
    cache.put(("shapes", spec.kind), found)
    return found
