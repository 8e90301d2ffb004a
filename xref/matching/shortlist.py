"""The best names of many by rapidfuzz's WRatio, without scoring every one.

A supplier query's anchored names (every name under its words) run to tens of thousands
when a word is common ("castings", "industries"), and WRatio costs about a microsecond and
a half a name. Most of them cannot reach the top few: how well two strings can agree is
bounded by the letters they have in common. `best()` computes, with numpy over letter
counts, an upper bound of WRatio for every name, then scores names best bound first, in
rounds, and stops when no bound left can beat the `limit`-th score found. What it returns
is what `process.extract(text, names, scorer=WRatio, limit=limit)` returns, up to the order
of equal scores.

The bound follows WRatio's definition part by part. With q the query, n a name, m the
letters (and spaces) they have in common counted with repeats, and `short` the shorter
length:

- ratio and token_sort_ratio (the words sorted, same letters): at most 2m / (|q| + |n|),
  since a common subsequence uses common letters only;
- token_set_ratio: the bound above on the distinct words, or the share of the words in
  common, 2s / (s + short) with s the length of the words the name may share (100 when
  one's words are all the other's);
- partial_ratio (lengths 1.5 times apart or more): at most 2m / (short + m), the best any
  window, a shorter one at either end included, can do;
- partial_token_ratio: 100 when a word may be shared, else the partial bound.

"May share a word" is known from the word keys a name was read under (the word is in the
name or its legal name: an overestimate, which keeps the bound safe); a word the index
lacks is in no name; for any other query word whose names were not read, a name may share it
when it has all of that word's letters. A name with a
repeated word ("Li & Li") is never pruned: its distinct words are shorter than its text.
"""

from itertools import chain

import numpy as np
from rapidfuzz import fuzz, process

LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789 "
OTHER = len(LETTERS)  # any other character (normalised names have none)
CLASSES = OTHER + 1
_CLASS = np.full(256, OTHER, dtype=np.int32)
for _index, _letter in enumerate(LETTERS):
    _CLASS[ord(_letter)] = _index

ROUND = 256  # names scored per round
SLACK = 1e-6  # a bound this close to the last score kept cannot better it


def letter_counts(texts):
    """(counts, lengths): per text, how often each of LETTERS (and any other character)
    occurs, as a len(texts) x CLASSES array, and its length."""
    lengths = np.fromiter(map(len, texts), np.int64, len(texts))
    rows = np.repeat(np.arange(len(texts), dtype=np.int32), lengths)
    blob = np.frombuffer("".join(texts).encode("ascii", "replace"), np.uint8)
    counts = np.bincount(rows * CLASSES + _CLASS[blob], minlength=len(texts) * CLASSES)
    counts = counts.reshape(len(texts), CLASSES)
    return counts.astype(np.uint8 if lengths.max(initial=0) < 256 else np.int32), lengths


class Names:
    """Names under one word key: record ids, texts (normalised: words joined by single
    spaces), and what bounds their scores."""

    __slots__ = ("ids", "texts", "counts", "lengths", "repeats")

    def __init__(self, ids, texts):
        self.ids = np.array(ids, np.int64)
        self.texts = texts
        self.counts, self.lengths = letter_counts(self.texts)
        self.repeats = np.array(
            [len(words) != len(set(words)) for words in map(str.split, self.texts)], bool
        )

    def __len__(self):
        return len(self.texts)


def best(text, groups, limit, exclude=(), absent=()):
    """[(record id, score)] of the `limit` best-scoring names, best first.

    `groups` are (Names, shared) pairs: `shared` is the query word every name of the group
    has (the group was read under that word's key), else None; `absent` are query words no
    name has. A record in several groups is scored once; records in `exclude` are left
    out."""
    groups = [(names, word) for names, word in groups if len(names)]
    if not text or not groups or limit < 1:
        return []
    ids = np.concatenate([names.ids for names, _ in groups])
    ids, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    at = np.cumsum([0] + [len(names) for names, _ in groups])
    counts = np.concatenate([names.counts for names, _ in groups])[first]
    lengths = np.concatenate([names.lengths for names, _ in groups])[first]
    repeats = np.concatenate([names.repeats for names, _ in groups])[first]

    words = sorted(set(text.split()))
    shares = np.zeros((len(words), len(ids)), bool)
    for index, word in enumerate(words):
        read = [inverse[at[g] : at[g + 1]] for g, (_, w) in enumerate(groups) if w == word]
        if read:
            shares[index, np.concatenate(read)] = True
        elif word not in absent:
            shares[index] = (counts >= _count(word)).all(axis=1)

    bound = upper_bound(text, words, counts, lengths, shares)
    bound[repeats] = 100.0
    if exclude:  # ids are sorted (np.unique)
        left_out = np.fromiter(exclude, np.int64)
        at_id = np.minimum(np.searchsorted(ids, left_out), len(ids) - 1)
        bound[at_id[ids[at_id] == left_out]] = -1.0
    everyone = list(chain.from_iterable(names.texts for names, _ in groups))

    def texts(positions):
        return [everyone[row] for row in first[positions].tolist()]

    # The best bounds first, in rounds, until no bound left can beat the limit-th score.
    scores = np.empty(0)
    scored = np.empty(0, np.int64)
    waiting = np.flatnonzero(bound >= 0)
    while len(waiting):
        if len(waiting) > ROUND:
            waiting = waiting[np.argpartition(-bound[waiting], ROUND)]
        chunk, waiting = waiting[:ROUND], waiting[ROUND:]
        found = process.cdist(
            [text], texts(chunk), scorer=fuzz.WRatio, processor=None, dtype=np.float64
        )[0]
        scores = np.concatenate([scores, found])
        scored = np.concatenate([scored, chunk])
        if len(scores) >= limit:
            floor = -np.partition(-scores, limit - 1)[limit - 1]
            waiting = waiting[bound[waiting] > floor + SLACK]
    order = np.lexsort((ids[scored], -scores))[:limit]
    return [(int(ids[scored[i]]), float(scores[i])) for i in order if scores[i] > 0]


def _count(text):
    return letter_counts([text])[0][0]


def upper_bound(text, words, counts, lengths, shares):
    """An upper bound of WRatio(text, name) for every name (see the module's doc)."""
    if len(words) < len(text.split()):
        return np.full(len(lengths), 100.0)  # the query repeats a word: no bound holds
    size = float(len(text))
    query = _count(text)
    letters = np.flatnonzero(query)
    common = np.minimum(counts[:, letters], query[letters]).sum(axis=1, dtype=np.int64)
    common = common.astype(np.float64)
    lengths = lengths.astype(np.float64)
    short = np.minimum(lengths, size)
    ratio = 200.0 * common / (size + lengths)

    shared = shares.sum(axis=0)
    word_lengths = np.array([len(word) for word in words], np.float64)
    shared_length = word_lengths @ shares + np.maximum(shared - 1, 0)
    # The words in common: their share of the shorter string. This is 100 when one's words
    # are all the other's, token_set_ratio's own 100.
    in_common = np.where(shared > 0, 200.0 * shared_length / (shared_length + short), 0.0)
    token = np.maximum(ratio, np.minimum(in_common, 100.0))
    near = np.maximum(ratio, 0.95 * token)

    partial = 200.0 * common / (short + np.maximum(common, 1.0))
    scale = np.where(np.maximum(lengths, size) <= 8.0 * short, 0.9, 0.6)
    partial_token = np.where(shared > 0, 100.0, partial)
    far = np.maximum(ratio, np.maximum(scale * partial, 0.95 * scale * partial_token))

    apart = np.maximum(lengths, size) >= 1.5 * short
    return np.where(apart, far, near) + SLACK
