"""match(): a query's candidates, scored and ranked."""

from dataclasses import dataclass, field

from xref.matching import retrieval
from xref.matching.keys import KINDS, SPECS
from xref.matching.query import parse
from xref.matching.scoring import display_name, score_item, score_named

MAX_LIMIT = 50
# The longest text a query may give: /api/v1/match/ and the reconciliation service refuse
# longer text (its pieces and spellings are bounded by KEY_LENGTH and PROBED_LETTERS; this
# bounds the rest, fuzzy scores against the text included).
MAX_QUERY_LENGTH = 500
# 100 means an identifier agreed; text alone, however close, scores at most this.
TEXT_SCORE_MAX = 99.0


@dataclass(frozen=True)
class Candidate:
    """A record that may be the one meant, with a score (0-100) and what agreed, by field."""

    id: str
    name: str
    score: float
    evidence: dict = field(default_factory=dict)

    def as_dict(self):
        return {"id": self.id, "name": self.name, "score": self.score, "evidence": self.evidence}


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
    query = parse(kind, q, fields)
    if not q and not fields:
        return []

    found = retrieval.find(spec, kind, query, limit, country)
    scorer = score_item if kind == "item" else score_named
    scored = []
    for record_id, row in found.records.items():
        score, evidence = scorer(spec, query, row, found.counts, found.size)
        evidence = {name: value for name, value in evidence.items() if value > 0}
        if record_id in found.hits:
            evidence.update(found.hits[record_id])
            score = 100.0
        else:
            score = min(score, TEXT_SCORE_MAX)
        if score > 0:
            scored.append((score, row, evidence))
    scored.sort(key=lambda item: (-item[0], item[1]["public_id"]))
    return [
        Candidate(
            id=row["public_id"],
            name=display_name(kind, row),
            score=round(score, 1),
            evidence={name: round(value, 1) for name, value in evidence.items()},
        )
        for score, row, evidence in scored[:limit]
    ]
