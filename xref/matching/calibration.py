"""A match probability from comparison levels, with weights estimated from data.

The model is Fellegi and Sunter's: for each comparison of a kind (`scoring.COMPARISONS`) and
each of its levels, m is how often a true match shows that level and u how often a
non-match does; a pair's likelihood ratio is the product of m/u over the comparisons it has
(a field either side lacks says nothing). The weights are estimated by expectation
maximisation over the candidates of many queries, none of them labelled (`estimate`), the
pairs people decided on taken as known (`xref.matching.training`). Better levels are held to
weigh at least as much as worse ones (pool adjacent violators), and no level but an
identifier's rules a pair out alone (every level's m is at least MIN_M).

A query is asked for one record, so its candidates compete: the record meant is among them
with the kind's found rate (or each has the pair prior, for weights estimated from a
dedupe), any of them alike before they are compared, and the probability that candidate i
is it follows from the ratios of all of them (`probabilities`). Two records
that agree equally well with a query share the probability, and neither is sure. A duplicate
check judges one pair alone (`pair_probability`, with the prior of a pair). The score the
API answers is the probability in percent:

- SURE (90): the answer is right nine times in ten or more; reconciliation marks it
  `match: true` and a sync flow may take it without a person.
- WORTH_A_LOOK (20): one time in five or more: shown to a steward as a suggestion.

Without estimated weights in the database (`MatchWeights`), the weights shipped in
`weights.json` are used: estimated by `bench/bench_match_quality.py --write-weights` on
public data (see the README's matching section), ground truth unused.
"""

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from xref.matching.counts import cache
from xref.matching.scoring import COMPARISONS
from xref.models import MatchWeights

SURE = 90.0
WORTH_A_LOOK = 20.0
DEFAULTS = Path(__file__).with_name("weights.json")
# EM stops when no probability moves by more than this, or after MAX_ITERATIONS.
TOLERANCE = 1e-6
MAX_ITERATIONS = 500
# Probabilities are kept off 0 and 1 (their logarithms are taken).
FLOOR = 1e-12
# A true match shows any level of a comparison but an identifier's at least this often.
MIN_M = 0.02
# A unique identifier is shared by a non-match about once in this many pairs, before data
# says otherwise (the start of EM, and the weights of an identifier no data has).
IDENTIFIER_CHANCE = 1_000_000
ODDS_CAP = 700.0  # math.exp overflows past ~709
# A query's candidates are taken as this many, however many retrieval found, so that a
# candidate's probability does not depend on how many weak ones were read beside it (nor on
# the limit asked for): about what retrieval reads for a query.
CANDIDATES = 100


@dataclass(frozen=True)
class Weights:
    """Estimated weights of one kind: the prior probability that a candidate pair is a match,
    per comparison m and u of each level (best level first), and the found rate."""

    kind: str
    prior: float
    m: dict  # comparison name -> tuple of probabilities, one per level
    u: dict
    # How often the record a query means is among its candidates at all, as estimated from
    # lookups; None when the weights were estimated from pairs judged alone (a dedupe):
    # then a candidate's prior is the pair prior.
    found_rate: float | None = None

    def log_odds(self, levels):
        """The log odds that a pair with these levels ({comparison: level or None}) is a
        match, judged alone."""
        return math.log(self.prior / (1 - self.prior)) + self.log_ratio(levels)

    def log_ratio(self, levels):
        """The log of the product of m/u over the comparisons a pair has."""
        total = 0.0
        for name, level in levels.items():
            if level is not None and name in self.m:
                total += math.log(self.m[name][level] / self.u[name][level])
        return total

    def bayes_factors(self):
        """{comparison: {level name: m/u}}, for people."""
        return {
            c.name: {
                level: round(self.m[c.name][i] / self.u[c.name][i], 3)
                for i, level in enumerate(c.levels)
            }
            for c in COMPARISONS[self.kind]
        }

    def as_json(self):
        return {
            "prior": self.prior,
            "found_rate": self.found_rate,
            "comparisons": {
                c.name: {
                    "levels": list(c.levels),
                    "m": [round(x, 6) for x in self.m[c.name]],
                    "u": [round(x, 6) for x in self.u[c.name]],
                }
                for c in COMPARISONS[self.kind]
            },
        }

    @classmethod
    def from_json(cls, kind, data):
        """Weights from their JSON form; ValueError when they are not for this kind's
        comparisons as the code has them (levels added or renamed since)."""
        m, u = {}, {}
        for comparison in COMPARISONS[kind]:
            found = data["comparisons"].get(comparison.name)
            if not found or tuple(found["levels"]) != comparison.levels:
                raise ValueError(f"{kind} weights do not have the levels of {comparison.name}.")
            m[comparison.name] = tuple(_clip(x) for x in found["m"])
            u[comparison.name] = tuple(_clip(x) for x in found["u"])
        found_rate = data.get("found_rate")
        found_rate = None if found_rate is None else _clip(found_rate)
        return cls(kind, _clip(data["prior"]), m, u, found_rate)


def _clip(p):
    return min(max(float(p), FLOOR), 1 - FLOOR)


def shipped(kind):
    """The weights shipped with the code for `kind`."""
    with DEFAULTS.open(encoding="utf-8") as handle:
        return Weights.from_json(kind, json.load(handle)[kind])


def current(kind):
    """The weights in use for `kind`: the latest estimate in the database whose levels are
    the code's, else the shipped ones. Cached per process (counts.CACHE_SECONDS)."""
    cached = cache.get(("weights", kind))
    if cached is not None:
        return cached
    weights = None
    for row in MatchWeights.objects.filter(kind=kind).order_by("-estimated_at", "-id")[:5]:
        try:
            weights = Weights.from_json(kind, row.weights)
            break
        except (ValueError, KeyError, TypeError):
            continue  # an estimate of comparisons the code no longer has
    weights = weights or shipped(kind)
    cache.put(("weights", kind), weights)
    return weights


def forget():
    """Drop the cached weights of every kind (after a new estimate in this process)."""
    for kind in COMPARISONS:
        cache.discard(("weights", kind))


def pair_probability(weights, levels):
    """The probability (0-100) that one pair is a match, judged alone: what a duplicate
    check asks of two records."""
    return 100.0 / (1.0 + math.exp(-min(max(weights.log_odds(levels), -ODDS_CAP), ODDS_CAP)))


def prior_candidates(population):
    """n: how many candidates a query's record is taken to be any one of beforehand, for a
    kind of `population` records."""
    return max(1, min(CANDIDATES, population or CANDIDATES))


def probabilities(weights, rows, population=None):
    """For the candidates of one query (their levels), the probability, 0-100, that each is
    the record meant: the query's record is among its candidates with the kind's found_rate
    f, any one of n = CANDIDATES alike before they are compared (fewer when the kind has
    fewer records, its `population`); so candidate i is it with
    (f/n) r_i / ((1 - f) + (f/n) sum r_j), r the product of m/u over its comparisons. Weights
    estimated from pairs judged alone have no found rate: each candidate's prior odds are
    then the pair prior's, o, and candidate i is it with o r_i / (1 + o sum r_j)."""
    if not rows:
        return []
    ratios = [min(weights.log_ratio(levels), ODDS_CAP) for levels in rows]
    top = max(ratios)
    # Scaled by exp(-top) so that large ratios do not overflow.
    if weights.found_rate is None:  # the pair prior: odds_i / (1 + sum of odds)
        share, rest = weights.prior / (1 - weights.prior), 1.0
    else:
        share = weights.found_rate / prior_candidates(population)
        rest = 1 - weights.found_rate
    scaled = [share * math.exp(x - top) for x in ratios]
    none = rest * math.exp(-top) if top < ODDS_CAP else 0.0
    total = none + sum(scaled)
    return [100.0 * x / total for x in scaled]


# --- estimation ------------------------------------------------------------------------------


def estimate(kind, groups, lookup=True, start=None, strength=1.0, population=None):
    """(Weights, iterations) estimated by EM from `groups`: per query, its candidate pairs as
    (levels, label), label True or False where a person decided, else None. With `lookup`,
    a query means one record at most, so its candidates share one match (the probability a
    candidate is it is `probabilities`); without (a dedupe), each pair is judged alone.
    `start` (Weights) is where EM begins and what it is drawn to with `strength`
    pseudo-pairs per comparison; without it, a start where better levels are likelier for
    matches. `population`: how many records the kind has (`probabilities`)."""
    comparisons = COMPARISONS[kind]
    start = start or neutral(kind)
    pairs = _pairs(comparisons, groups)
    m = [np.array(start.m[c.name]) for c in comparisons]
    u = [np.array(start.u[c.name]) for c in comparisons]
    prior, found_rate = start.prior, start.found_rate or 0.5
    free = pairs.known < 0
    iterations = 0
    while iterations < MAX_ITERATIONS:
        iterations += 1
        ratio = np.exp(_log_ratios(pairs.levels, m, u))
        if lookup:
            weight = found_rate / prior_candidates(population) * ratio
            share = weight / ((1 - found_rate) + np.bincount(pairs.query, weight)[pairs.query])
        else:
            odds = prior / (1 - prior) * ratio
            share = odds / (1 + odds)
        share = np.where(free, share, pairs.known)
        share[pairs.taken] = 0.0  # another candidate of the query is the one meant
        new_m, new_u = [], []
        for index, comparison in enumerate(comparisons):
            column = pairs.levels[:, index]
            present = column >= 0
            levels = len(comparison.levels)
            seen_m = np.bincount(column[present], share[present], levels)
            seen_u = np.bincount(column[present], 1 - share[present], levels)
            level_m, level_u = _level_weights(seen_m, seen_u, start, comparison, strength)
            new_m.append(level_m)
            new_u.append(level_u)
        counted = free & ~pairs.taken if (free & ~pairs.taken).any() else ~pairs.taken
        new_prior = float(np.clip(share[counted].mean(), FLOOR, 1 - FLOOR))
        found = np.bincount(pairs.query, share)[np.unique(pairs.query[counted])]
        new_found_rate = float(np.clip(found.mean(), 0.01, 0.99))
        moved = max(
            abs(new_prior - prior),
            abs(new_found_rate - found_rate),
            *(float(np.abs(a - b).max()) for a, b in zip(new_m + new_u, m + u, strict=True)),
        )
        m, u, prior, found_rate = new_m, new_u, new_prior, new_found_rate
        if moved < TOLERANCE:
            break
    weights = Weights(
        kind,
        prior,
        {c.name: tuple(map(float, m[i])) for i, c in enumerate(comparisons)},
        {c.name: tuple(map(float, u[i])) for i, c in enumerate(comparisons)},
        found_rate if lookup else None,
    )
    return weights, iterations


def with_found_rate(weights, groups, population=None):
    """`weights` with the found rate of these queries (groups as `estimate` takes them),
    estimated by EM with every m and u kept: how often this stream of queries has its
    record among the candidates. A found rate belongs to a stream more than to a kind."""
    ratios = [
        [math.exp(min(weights.log_ratio(levels), ODDS_CAP / 2)) for levels, _ in g] for g in groups
    ]
    ratios = [r for r in ratios if r]
    rate = weights.found_rate or 0.5
    for _ in range(MAX_ITERATIONS):
        found = 0.0
        for group in ratios:
            weight = rate / prior_candidates(population)
            total = sum(group) * weight
            found += total / ((1 - rate) + total)
        new_rate = min(max(found / len(ratios), 0.01), 0.99)
        if abs(new_rate - rate) < TOLERANCE:
            break
        rate = new_rate
    return replace(weights, found_rate=rate)


@dataclass
class _Pairs:
    levels: np.ndarray  # pairs x comparisons, -1 where a field is missing
    query: np.ndarray  # the query each pair is of
    known: np.ndarray  # 1 or 0 where a person decided, else -1
    taken: np.ndarray  # True where another candidate of the query was decided the match


def _pairs(comparisons, groups):
    names = [c.name for c in comparisons]
    levels, query, known = [], [], []
    for index, group in enumerate(groups):
        for pair_levels, label in group:
            levels.append([-1 if pair_levels.get(n) is None else pair_levels[n] for n in names])
            query.append(index)
            known.append(-1 if label is None else int(bool(label)))
    if not levels:
        raise ValueError("No pairs to estimate weights from.")
    levels = np.array(levels, dtype=np.int64)
    query = np.array(query, dtype=np.int64)
    known = np.array(known, dtype=float)
    decided = np.bincount(query, known == 1, len(groups)) > 0
    taken = decided[query] & (known != 1)
    return _Pairs(levels, query, known, taken)


def _log_ratios(levels, m, u):
    """log(m/u) summed over the comparisons each pair has."""
    total = np.zeros(len(levels))
    for index in range(levels.shape[1]):
        column = levels[:, index]
        present = column >= 0
        ratio = np.log(m[index]) - np.log(u[index])
        total[present] += ratio[column[present]]
    return np.clip(total, -ODDS_CAP, ODDS_CAP / 2)


def _level_weights(seen_m, seen_u, start, comparison, strength):
    """(m, u) of a comparison's levels from the expected counts of matches and non-matches
    showing each, drawn to `start` by `strength` pseudo-pairs. A level no pair shows keeps
    the start's ratio. Except for identifiers, every level's m is at least MIN_M: a true
    match shows any level now and then (a typo, a long description, a shortened name), so
    no one of them rules a pair out whatever else agrees. The levels are kept in order
    (`_in_order`)."""
    start_m = np.array(start.m[comparison.name])
    start_u = np.array(start.u[comparison.name])
    m = (seen_m + strength * start_m) / (seen_m + strength * start_m).sum()
    u = (seen_u + strength * start_u) / (seen_u + strength * start_u).sum()
    unseen = (seen_m + seen_u) == 0
    m[unseen] = (start_m / start_u)[unseen] * u[unseen]
    if not comparison.identifier:
        m = np.where(unseen, m, np.maximum(m, MIN_M * m.sum()))
    m, u = _in_order(m, u)
    return np.clip(m / m.sum(), FLOOR, 1 - FLOOR), np.clip(u / u.sum(), FLOOR, 1 - FLOOR)


def _in_order(m, u):
    """Counts of matches and non-matches per level, with adjacent levels pooled where a
    better level would otherwise be weaker evidence than the next (pool adjacent
    violators): each pooled level keeps its share of non-matches and gets the pool's
    ratio."""
    m, u = m.astype(float).copy(), u.astype(float).copy()
    blocks = [[i] for i in range(len(m))]
    changed = True
    while changed:
        changed = False
        for b in range(len(blocks) - 1):
            first, second = blocks[b], blocks[b + 1]
            if m[first].sum() * u[second].sum() < m[second].sum() * u[first].sum():
                blocks[b : b + 2] = [first + second]
                changed = True
                break
    for block in blocks:
        ratio = m[block].sum() / u[block].sum()
        m[block] = ratio * u[block]
    return m, u


def neutral(kind):
    """A start for EM: better levels likelier among matches, worse among non-matches; a
    unique identifier the same is near proof (a non-match shares it about once in
    IDENTIFIER_CHANCE), different near disproof."""
    m, u = {}, {}
    for comparison in COMPARISONS[kind]:
        n = len(comparison.levels)
        ranks = np.arange(n, dtype=float)
        if comparison.identifier:
            agree = np.where(ranks < n - 1, 1.0 / IDENTIFIER_CHANCE, 1.0)
            m[comparison.name] = tuple(_normal(np.where(ranks < n - 1, 1.0, 0.05)))
            u[comparison.name] = tuple(_normal(agree))
        else:
            m[comparison.name] = tuple(_normal(0.5**ranks))
            u[comparison.name] = tuple(_normal(0.5 ** (n - 1 - ranks)))
    return Weights(kind, 0.01, m, u)


def _normal(values):
    return values / values.sum()
