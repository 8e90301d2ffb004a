"""The shortlist's bound never undercuts WRatio, so its best names are the scan's."""

import random

import numpy as np
import pytest
from rapidfuzz import fuzz, process

from xref.matching import shortlist

WORDS = str.split(
    "precision castings forgings steel wire industries group li patel muller mueller "
    "nordic baltic brelix zankortec zankortek kitrilium tubes pipes a b x ab abc"
)


def name(rng):
    words = [rng.choice(WORDS) for _ in range(rng.choice((1, 2, 2, 3, 3, 4, 6)))]
    if rng.random() < 0.1:
        words.append(words[0])  # a repeated word, as in "Li & Li"
    if rng.random() < 0.2:
        word = rng.choice(words)
        at = rng.randrange(len(word))
        words[words.index(word)] = word[:at] + rng.choice("aeioux") + word[at + 1 :]
    return " ".join(words)


def names_of(rows):
    return shortlist.Names([i for i, _ in rows], [text for _, text in rows])


def names(rng, count):
    return [(n, name(rng)) for n in range(1, count + 1)]


def as_groups(rows, query, by_word):
    """The names as they come from the index: one group per query word they have (word
    known), the rest in a group of their own (word unknown), or all in one unknown group."""
    if not by_word:
        return [(names_of(rows), None)]
    groups = []
    for word in sorted(set(query.split())):
        under = [(i, t) for i, t in rows if word in t.split()]
        groups.append((names_of(under), word))
    rest = [(i, t) for i, t in rows if not set(t.split()) & set(query.split())]
    groups.append((names_of(rest), None))
    return groups


def test_the_bound_is_never_below_wratio():
    rng = random.Random(7)
    rows = names(rng, 3000) + [(9001, "x" * 40), (9002, "li li li li li li li li li")]
    rows += [(9003, "castings steel"), (9004, "kitrilium")]
    texts = [text for _, text in rows]
    named = names_of(rows)
    # a name whose words are all the query's (token set 100), one inside a query word
    # (partial 100), and queries of random words
    for query in ["castings steel x", "li kitrilium"] + [name(rng) for _ in range(60)]:
        words = sorted(set(query.split()))
        shares = np.array([[word in text.split() for text in texts] for word in words])
        bound = shortlist.upper_bound(query, words, named.counts, named.lengths, shares)
        bound[named.repeats] = 100.0  # as best() does: a repeated word is never pruned
        scores = process.cdist([query], texts, scorer=fuzz.WRatio, dtype=np.float64)[0]
        below = [(texts[i], scores[i], bound[i]) for i in np.flatnonzero(bound < scores)]
        assert not below, f"{query!r}: bound below the score for {below[:3]}"


@pytest.mark.parametrize("by_word", [True, False])
def test_the_best_names_score_as_a_full_scan_does(by_word, monkeypatch):
    rng = random.Random(11 + by_word)
    rows = names(rng, 4000)
    scored = []
    original = process.cdist

    def counting(queries, choices, **kwargs):
        scored.append(len(choices))
        return original(queries, choices, **kwargs)

    monkeypatch.setattr(shortlist.process, "cdist", counting)

    for _ in range(40):
        query = name(rng)
        excluded = {i for i, _ in rng.sample(rows, 50)}
        wanted = rng.choice((1, 5, 30))
        scan = process.extract(
            query,
            {i: t for i, t in rows if i not in excluded},
            scorer=fuzz.WRatio,
            processor=None,
            limit=wanted,
        )
        groups = as_groups(rows, query, by_word)
        absent = {w for w in query.split() if not any(w in t.split() for _, t in rows)}
        found = shortlist.best(query, groups, wanted, excluded, absent if by_word else ())
        assert [round(s, 6) for _, s in found] == [round(s, 6) for _, s, _ in scan if s > 0]
        assert not {i for i, _ in found} & excluded
        assert len({i for i, _ in found}) == len(found)
    # ...without scoring every name: most cannot reach the top.
    assert sum(scored) < 0.5 * 40 * len(rows)


def test_a_query_with_a_repeated_word_scores_every_name():
    rows = [(1, "patel patel"), (2, "patel tubes"), (3, "nordic pipes")]
    found = shortlist.best("patel patel", [(names_of(rows), None)], 3)
    expected = process.extract("patel patel", dict(rows), scorer=fuzz.WRatio, limit=3)
    assert [(i, round(s, 6)) for i, s in found] == [(i, round(s, 6)) for _, s, i in expected]


def test_no_names_no_query_or_no_room_is_nothing():
    names = names_of([(1, "acme")])
    assert shortlist.best("", [(names, None)], 5) == []
    assert shortlist.best("acme", [], 5) == []
    assert shortlist.best("acme", [(names_of([]), None)], 5) == []
    assert shortlist.best("acme", [(names, None)], 0) == []
    assert shortlist.best("acme", [(names, None)], 5, exclude={1}) == []
