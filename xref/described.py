"""Candidates for an unknown code from what else its sender says of the record it means.

A message that names an item by a code the hub does not know often says more of it: the
item's description, its manufacturer part number, its GTIN; a supplier's code comes with the
supplier's name. `candidates(kind, text, **identifiers)` asks the match index
(`xref.matching.match`, one call) for the records those fields describe, and says of each why
it was suggested, in words a steward reads:

    "GTIN 4006381333931 is this item's GTIN"
    "description 'Deep groove ball bearing 6204' matches this item's description, score 91"
    "name 'Kugelmann GmbH' matches this supplier's legal name, score 95"

`merged(*lists)` puts such candidates together with the near misses of the code
(`xref.near_miss`) and the code's own fuzzy candidates (`xref.resolve.candidates`): one
entry per record, its reasons joined, best score first.
"""

from xref import matching

SOURCE = "described"
KINDS = frozenset(matching.KINDS)
LIMIT = 5
# A record less likely than this to be the one meant is not worth a steward's look.
MIN_SCORE = matching.WORTH_A_LOOK
# What the free text is, by kind, in a reason.
TEXT_LABELS = {"item": "description", "supplier": "name", "location": "name"}
# Evidence fields (xref.matching) in words.
LABELS = {
    "description": "description",
    "name": "name",
    "legal_name": "legal name",
    "mpn": "MPN",
    "gtin": "GTIN",
    "duns": "DUNS",
    "lei": "LEI",
    "vat": "VAT number",
    "gln": "GLN",
    "number": "number",
    "code": "code",
    "manufacturer": "manufacturer",
}
EXACT = 100.0


def candidates(kind, text="", limit=LIMIT, **identifiers):
    """Records of `kind` that free `text` (an item's description, a supplier's name) and
    `identifiers` (item: mpn, gtin; supplier: duns, lei, vat; location: gln) describe, best
    first, at most `limit`: {"id", "name", "score", "evidence", "source": "described",
    "reason"}, each at least MIN_SCORE likely."""
    identifiers = {name: value.strip() for name, value in identifiers.items() if value}
    text = (text or "").strip()[: matching.MAX_QUERY_LENGTH]
    if kind not in KINDS or not (text or identifiers):
        return []
    found = []
    for candidate in matching.match(kind, text, limit=limit, **identifiers):
        if candidate.score < MIN_SCORE:
            continue
        reason = _why(kind, candidate.evidence, text, identifiers)
        found.append({**candidate.as_dict(), "source": SOURCE, "reason": reason})
    return found


def _why(kind, evidence, text, identifiers):
    """The reasons a candidate was suggested, strongest first."""
    reasons = []
    textual = TEXT_LABELS[kind]
    # Strongest first; at equal strength an identifier the sender gave before the text.
    ranked = sorted(evidence.items(), key=lambda item: (-item[1], item[0] not in identifiers))
    for name, value in ranked:
        label = LABELS.get(name, name.replace("_", " "))
        given = identifiers.get(name)
        if given and value >= EXACT:
            reasons.append(f"{label} {given} is this {kind}'s {label}")
        elif given:
            reasons.append(
                f"{label} {given!r} is close to this {kind}'s {label}, score {value:.0f}"
            )
        elif name in ("description", "name", "legal_name"):
            reasons.append(f"{textual} {text!r} matches this {kind}'s {label}, score {value:.0f}")
        elif value >= EXACT:
            reasons.append(f"the {textual} {text!r} holds this {kind}'s {label}")
        elif name == "mpn":
            reasons.append(
                f"a part number in the {textual} is close to this {kind}'s MPN, score {value:.0f}"
            )
    # A supplier's name and legal name both agreeing say one thing: keep the better.
    named = [reason for reason in reasons if reason.startswith(f"{textual} {text!r} matches")]
    return "; ".join(reason for reason in reasons if reason not in named[1:])


def merged(*lists):
    """One candidate per record from several lists of candidates (dicts with "id", "score",
    "reason", "evidence"), best score first, the earlier list first among equal scores: a
    record in several lists keeps its first entry (a near miss keeps its code), the best
    score, every reason and all the evidence."""
    by_id = {}
    for found in lists:
        for candidate in found or ():
            identifier = candidate.get("id")
            if not identifier:
                continue
            kept = by_id.get(identifier)
            if kept is None:
                by_id[identifier] = dict(candidate)
                continue
            reason = candidate.get("reason")
            if reason and reason not in (kept.get("reason") or ""):
                kept["reason"] = "; ".join(part for part in (kept.get("reason"), reason) if part)
            if isinstance(candidate.get("evidence"), dict):
                kept["evidence"] = {**candidate["evidence"], **(kept.get("evidence") or {})}
            scores = [s for s in (kept.get("score"), candidate.get("score")) if _number(s)]
            kept["score"] = max(scores) if scores else kept.get("score")
    return sorted(by_id.values(), key=lambda c: -c["score"] if _number(c.get("score")) else 0)


def _number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)
