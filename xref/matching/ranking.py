"""match(): a query's candidates, scored and ranked."""

from dataclasses import dataclass, field

from xref.matching import calibration, retrieval
from xref.matching.counts import number_shapes
from xref.matching.keys import KINDS, SPECS
from xref.matching.query import parse
from xref.matching.scoring import compare, display_name

MAX_LIMIT = 50
# The longest text a query may give: /api/v1/match/ and the reconciliation service refuse
# longer text (its pieces and spellings are bounded by KEY_LENGTH and PROBED_LETTERS; this
# bounds the rest, fuzzy scores against the text included).
MAX_QUERY_LENGTH = 500
# The evidence fields of a record's text: the closest orders candidates of equal score.
TEXT_FIELDS = ("description", "name", "legal_name")


@dataclass(frozen=True)
class Candidate:
    """A record that may be the one meant: the probability (0-100) that it is, and what
    agreed, by field (0-100)."""

    id: str
    name: str
    score: float
    evidence: dict = field(default_factory=dict)

    def as_dict(self):
        return {"id": self.id, "name": self.name, "score": self.score, "evidence": self.evidence}


@dataclass(frozen=True)
class Compared:
    """A candidate record's row, its comparison levels and evidence."""

    row: dict
    levels: dict
    evidence: dict


@dataclass(frozen=True)
class Candidates:
    """A query's candidates, compared, and how many records the kind has."""

    rows: list
    population: int


def compared(kind, q="", country=None, limit=5, include=(), **fields):
    """Every candidate record of a query, compared field by field (unordered), as
    `Candidates`: what `match()` ranks and `training` estimates weights from. The records of
    the public ids in `include` are compared too, found or not."""
    if kind not in SPECS:
        raise ValueError(f"Unknown kind {kind!r}; choose one of {', '.join(KINDS)}.")
    spec = SPECS[kind]
    unknown = set(fields) - set(spec.identifiers)
    if unknown:
        raise ValueError(f"{kind} matching does not take {', '.join(sorted(unknown))}.")
    if country and not spec.has_country:
        raise ValueError(f"{kind}s have no country.")
    q = (q or "").strip()
    fields = {name: (value or "").strip() for name, value in fields.items() if value}
    if not q and not fields:
        return Candidates([], 0)
    query = parse(kind, q, fields, number_shapes(spec))
    found = retrieval.find(spec, kind, query, limit, country, include)
    result = []
    for row in found.records.values():
        levels, evidence = compare(kind, query, row, found.counts, found.size)
        result.append(Compared(row, levels, evidence))
    return Candidates(result, found.size)


def match(kind, q="", limit=5, country=None, **fields):
    """Ranked candidates for free text `q` and `fields` (item: mpn, gtin, manufacturer;
    supplier: duns, lei, vat; location: gln, address, postal_code; every kind: its own
    number), best first, at most `limit`. `country` keeps suppliers and locations of that
    ISO country only. The score is the probability, in percent, that the candidate is the
    record meant (`calibration`); equal scores are ordered by the closer text, then by
    public id, so every process answers alike."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    found = compared(kind, q, country, limit, **fields)
    rows = found.rows
    if not rows:
        return []
    weights = calibration.current(kind)
    scores = calibration.probabilities(weights, [r.levels for r in rows], found.population)
    ranked = sorted(
        zip(scores, rows, strict=True),
        key=lambda pair: (-round(pair[0], 1), -closeness(pair[1]), pair[1].row["public_id"]),
    )
    return [
        Candidate(
            id=candidate.row["public_id"],
            name=display_name(kind, candidate.row),
            score=round(score, 1),
            evidence={name: round(value, 1) for name, value in candidate.evidence.items() if value},
        )
        for score, candidate in ranked[:limit]
    ]


def closeness(candidate):
    """How close the record's text is to the query's (0-100): what orders equal scores."""
    return max(
        (candidate.evidence.get(name, 0.0) for name in TEXT_FIELDS),
        default=0.0,
    )
