"""Re-estimate the matcher's weights from the pairs people decided on (`xref.labels`): each
decided query is asked again, its candidates compared, the decided ones taken as known and
the rest left to EM, which starts from the weights in use and is drawn to them
(STRENGTH pseudo-pairs per comparison), so that a few decisions nudge the weights rather
than overturn them. The estimate is stored as a new `MatchWeights` row of the kind, which
every process uses within counts.CACHE_SECONDS."""

import json

from xref import labels
from xref.matching import calibration
from xref.matching.keys import KINDS
from xref.matching.ranking import compared
from xref.models import MatchWeights

# Fewer decisions than this say too little to move the weights.
MIN_PAIRS = 20
MIN_MATCHES = 5
STRENGTH = 200.0


def reestimate(kind):
    """(MatchWeights or None, what happened in words) for `kind`, from its labelled pairs."""
    if kind not in KINDS:
        raise ValueError(f"Unknown kind {kind!r}; choose one of {', '.join(KINDS)}.")
    decided = labels.pairs(kind)
    matches = sum(1 for _, _, is_match in decided if is_match)
    if len(decided) < MIN_PAIRS or matches < MIN_MATCHES:
        return None, (
            f"{kind}: kept the weights in use: {len(decided)} labelled pairs, {matches} of them "
            f"matches; re-estimating needs {MIN_PAIRS} pairs with {MIN_MATCHES} matches."
        )
    by_query = {}
    for query, record, is_match in decided:
        key = json.dumps(query, sort_keys=True)
        by_query.setdefault(key, (query, {}))[1][record] = is_match
    groups, unlabelled, population = [], 0, 0
    for query, records in by_query.values():
        fields = {name: value for name, value in query.items() if name != "q"}
        candidates = compared(kind, query.get("q", ""), include=records, **fields)
        population = max(population, candidates.population)
        group = [(c.levels, records.get(c.row["public_id"])) for c in candidates.rows]
        unlabelled += sum(1 for _, label in group if label is None)
        groups.append(group)
    weights, iterations = calibration.estimate(
        kind, groups, start=calibration.current(kind), strength=STRENGTH, population=population
    )
    summary = (
        f"Estimated from {len(decided)} labelled pairs ({matches} matches) over "
        f"{len(groups)} queries and {unlabelled} other candidates of theirs, "
        f"{iterations} EM iterations."
    )
    row = MatchWeights.objects.create(
        kind=kind,
        weights=weights.as_json(),
        labelled_pairs=len(decided),
        unlabelled_pairs=unlabelled,
        summary=summary,
    )
    calibration.forget()
    return row, f"{kind}: {summary}"
