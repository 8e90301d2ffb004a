"""Near misses: a system's existing codes that an unknown code is probably a slip of.

A code that does not resolve is often an existing code mistyped: a letter O for a zero
("100O22" for "100022"), a dropped or doubled digit, two digits swapped, leading zeros,
another system's prefix ("PL-10022" for "100022"), other separators. `explain(asked, known)`
says whether `known` is such a near miss of `asked` and why, in words a steward reads;
`find(asked, known_codes)` ranks the near misses among many codes; `candidates(...)` reads a
system's codes of a kind once and answers many unknown codes against them.

How two codes are compared: in capitals; a leading run of letters ending before a digit is
a prefix, and it may be missing on one side only; separators (space - _ . /) and leading zeros
are set aside; the rest may differ by up to MAX_EDITS edits (insert, delete, replace, swap of
two neighbours), a letter O read as 0 and I as 1 costing nothing. Short codes allow fewer
edits: one edit in a five-character code is already a fifth of it.
"""

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import Count, Max
from django.utils import timezone
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, Levenshtein

from xref.models import TARGETS, CrossReference, valid_on

MAX_EDITS = 2
# The edits a code of this many characters (once normalised) may be away: below the first
# length, none (only case, separators, O/0, I/1, zeros and prefixes); below the second, one.
ONE_EDIT_LENGTH = 4
TWO_EDITS_LENGTH = 6
LIMIT = 5
# A near miss scores how alike the two normalised codes are, never 100: that means an
# identifier agreed exactly (xref.matching).
SCORE_MAX = 99.0

PREFIX = re.compile(r"^([A-Z]+[\s\-_./]*)(?=[0-9])")
SEPARATORS = re.compile(r"[\s\-_./]+")
CONFUSABLE = str.maketrans({"O": "0", "I": "1"})
COUNTS = {1: "one character", 2: "two characters"}


@dataclass(frozen=True)
class NearMiss:
    """An existing code `code` that the asked code is `edits` edits from, and why."""

    code: str
    edits: int
    reason: str
    score: float
    rank: tuple


def split_prefix(code):
    """(prefix, rest) of a code in capitals: "PL-100022" -> ("PL-", "100022")."""
    code = code.strip().upper()
    found = PREFIX.match(code)
    return (found[1], code[found.end() :]) if found else ("", code)


def _bare(rest):
    """The code without separators and leading zeros ("0-100022" -> "100022")."""
    return SEPARATORS.sub("", rest).lstrip("0") or "0"


def normalise(code):
    """The form two codes are compared in: no prefix, separators or leading zeros, O as 0,
    I as 1. "PL-100O22" -> "100022"."""
    return _bare(split_prefix(code)[1]).translate(CONFUSABLE)


def allowed_edits(form):
    if len(form) < ONE_EDIT_LENGTH:
        return 0
    return 1 if len(form) < TWO_EDITS_LENGTH else MAX_EDITS


def explain(asked, known):
    """A NearMiss when `known` is a near miss of the unknown code `asked`, else None."""
    asked, known = asked.strip(), known.strip()
    if asked == known:
        return None
    asked_prefix, asked_rest = split_prefix(asked)
    known_prefix, known_rest = split_prefix(known)
    reasons = []
    if asked_prefix != known_prefix:
        if asked_prefix and known_prefix:
            return None  # another numbering scheme, not a slip
        reasons.append(
            f"same code without the prefix {asked_prefix!r}"
            if asked_prefix
            else f"the prefix {known_prefix!r} is missing"
        )
    if SEPARATORS.findall(asked_rest) != SEPARATORS.findall(known_rest):
        reasons.append("other separators")
    asked_bare, known_bare = _bare(asked_rest), _bare(known_rest)
    zeros = _zeros(asked_rest) - _zeros(known_rest)
    if zeros:
        reasons.append(
            f"{zeros} extra leading zero(s)" if zeros > 0 else f"{-zeros} leading zero(s) missing"
        )
    form = known_bare.translate(CONFUSABLE)
    edits = OSA.distance(asked_bare.translate(CONFUSABLE), form)
    if edits > allowed_edits(form):
        return None
    slips = _slips(asked_bare, known_bare)
    reasons += [slip for slip, _ in slips]
    if not reasons:
        reasons.append("the same code in other letter case")
    doubled = any(likely for _, likely in slips)
    score = min(fuzz.ratio(normalise(asked), normalise(known)), SCORE_MAX)
    rank = (edits, len(slips), not doubled, len(reasons), known)
    return NearMiss(known, edits, "; ".join(reasons), round(score, 1), rank)


def _zeros(rest):
    bare = SEPARATORS.sub("", rest)
    return len(bare) - len(bare.lstrip("0")) if bare.strip("0") else 0


def _slips(asked, known):
    """[(sentence, whether it is the likeliest slip: a doubled character dropped or typed
    twice)] for the characters that differ between two bare codes."""
    if asked == known:
        return []
    mapped = asked.translate(CONFUSABLE), known.translate(CONFUSABLE)
    if len(asked) == len(known) and OSA.distance(*mapped) == 1 < Levenshtein.distance(*mapped):
        at = next(i for i in range(len(asked)) if mapped[0][i] != mapped[1][i])
        swapped = f"two neighbours swapped: {asked[at : at + 2]} for {known[at : at + 2]}"
        others = [
            f"{asked[i]} for {known[i]}"
            for i in range(len(asked))
            if i not in (at, at + 1) and asked[i] != known[i]
        ]
        return [(swapped + (f"; and {_listed(others)}" if others else ""), True)]
    parts, likely = [], False
    # Aligned with O read as 0 and I as 1, so that a look-alike is a replacement in place.
    for op in Levenshtein.opcodes(*mapped):
        if op.tag in ("equal", "replace"):
            pairs = zip(
                range(op.src_start, op.src_end), range(op.dest_start, op.dest_end), strict=True
            )
            for i, j in pairs:
                if asked[i] != known[j]:
                    parts.append(("differs", f"{asked[i]} for {known[j]}"))
            continue
        text, start, end = (
            (known, op.dest_start, op.dest_end)
            if op.tag == "insert"
            else (asked, op.src_start, op.src_end)
        )
        for at in range(start, end):
            doubled = text[at] in text[max(at - 1, 0) : at] + text[at + 1 : at + 2]
            likely = likely or doubled
            what = f"a second {text[at]}" if doubled else text[at]
            parts.append(("missing", what) if op.tag == "insert" else ("too many", what))
    if len(parts) == 1:
        head = {"differs": "one character differs", "missing": "one character missing"}
        return [(f"{head.get(parts[0][0], 'one character too many')}: {parts[0][1]}", likely)]
    described = [text if verb == "differs" else f"{text} {verb}" for verb, text in parts]
    count = COUNTS.get(len(parts), f"{len(parts)} characters")
    return [(f"{count} differ: {_listed(described)}", likely)]


def _listed(parts):
    """ "O for 0 twice, 2 for 1" from ["O for 0", "O for 0", "2 for 1"]."""
    counted = Counter(parts)
    times = {1: "", 2: " twice"}
    return ", ".join(f"{part}{times.get(n, f' {n} times')}" for part, n in counted.items())


def find(asked, known_codes, limit=LIMIT):
    """The near misses of `asked` among `known_codes` (an iterable of codes), closest first."""
    return NearMissIndex(known_codes).find(asked, limit)


class NearMissIndex:
    """A system's codes of one kind, normalised once, asked for many unknown codes: rapidfuzz
    compares an unknown code with all of them in one C loop, Python explains the few close."""

    def __init__(self, known_codes):
        self.by_form = defaultdict(list)
        for code in known_codes:
            self.by_form[normalise(code)].append(code)
        self.forms = list(self.by_form)

    def find(self, asked, limit=LIMIT, keep=None):
        """The near misses of `asked` among the codes (those `keep(code)` accepts, if given),
        closest first. Closer forms are explained first, and farther ones only while fewer
        than `limit` were found: a dense numbering has hundreds of codes two edits away."""
        form = normalise(asked)
        close = process.extract(
            form, self.forms, scorer=OSA.distance, score_cutoff=MAX_EDITS, limit=None
        )
        tiers = defaultdict(list)
        for known_form, distance, _ in close:
            tiers[distance].append(known_form)
        found = []
        for edits in range(MAX_EDITS + 1):
            if len(found) >= limit:
                break
            for known_form in tiers[edits]:
                for code in self.by_form[known_form]:
                    miss = explain(asked, code)
                    if miss is not None and (keep is None or keep(code)):
                        found.append(miss)
        found.sort(key=lambda miss: miss.rank)
        return found[:limit]


# The kinds near misses are looked for in, with the field their record is named by.
NAMES = {"item": "description", "supplier": "name", "location": "name"}


def candidates(kind, system, keys, as_of=None, limit=LIMIT):
    """{(code, scope): [candidate]} for unknown (code, scope) `keys` of `kind` in `system` (a
    SourceSystem code): near misses among the system's codes of that kind valid on `as_of`
    (today by default), of the key's scope or unscoped when it has one.

    A candidate: {"id", "name", "score", "evidence", "source": "near_miss", "system", "code"
    (the existing code), "scope", "reason"}; a code meaning several records (in several
    scopes) gives one candidate per record. Names are read fresh for the codes found."""
    keys = set(keys)
    if kind not in NAMES or not keys:
        return {key: [] for key in keys}
    codes = SystemCodes.of(kind, system, as_of or timezone.localdate())
    found = {}
    for asked, scope in keys:
        misses = codes.index.find(
            asked, limit, keep=lambda code, scope=scope: codes.fit(code, scope)
        )
        found[(asked, scope)] = [
            (miss, record, code_scope)
            for miss in misses
            for record, code_scope in codes.fit(miss.code, scope).items()
        ][:limit]
    names = _names(kind, {record for hits in found.values() for _, record, _ in hits})
    return {
        key: [
            {
                "id": public_id,
                "name": name,
                "score": miss.score,
                "evidence": {"code": miss.score},
                "source": SOURCE,
                "system": system,
                "code": miss.code,
                "scope": code_scope,
                "reason": miss.reason,
            }
            for miss, record, code_scope in hits
            for public_id, name in [names[record]]
        ]
        for key, hits in found.items()
    }


class SystemCodes:
    """A system's active codes of a kind valid on a day, normalised once (NearMissIndex) and
    kept in the process while they stay the same: reading and normalising 200,000 codes takes
    seconds, and every unknown code of a sync flow asks for them. Whether they changed is one
    aggregate query (how many, the last id, the last update), so a code added, retired or
    moved to another validity is seen at the next call."""

    KEPT = 8  # (kind, system, day) sets kept per process; the oldest is dropped beyond
    _kept = {}

    @classmethod
    def of(cls, kind, system, as_of):
        field = TARGETS[kind][0]
        references = CrossReference.objects.filter(valid_on(as_of), system__code=system, kind=kind)
        stamp = tuple(references.aggregate(Count("id"), Max("id"), Max("updated_at")).values())
        key = (kind, system, as_of)
        kept = cls._kept.get(key)
        if kept is None or kept.stamp != stamp:
            # By scope, so that a code meaning several records names the unscoped one first.
            rows = references.order_by("scope", "id").values_list("code", "scope", field)
            kept = cls(stamp, rows)
            cls._kept.pop(key, None)
            cls._kept[key] = kept
            while len(cls._kept) > cls.KEPT:
                cls._kept.pop(next(iter(cls._kept)), None)
        return kept

    def __init__(self, stamp, rows):
        self.stamp = stamp
        # code -> record id -> the scopes the code has that record in
        self.records = defaultdict(dict)
        for code, code_scope, record in rows:
            self.records[code].setdefault(record, []).append(code_scope)
        self.index = NearMissIndex(self.records)

    def fit(self, code, scope):
        """{record id: scope} of the code's records within `scope`."""
        found = {}
        for record, code_scopes in self.records[code].items():
            fitting = sorted(s for s in code_scopes if not scope or s in (scope, ""))
            if fitting:
                found[record] = scope if scope in fitting else fitting[0]
        return found


def _names(kind, records):
    """{record id: (public id, name)} of the records of `kind`."""
    rows = (
        TARGETS[kind][1].objects.filter(pk__in=records).values_list("pk", "public_id", NAMES[kind])
    )
    return {pk: (public_id, name) for pk, public_id, name in rows}


def describe_for_registration(asked, candidates):
    """The warning a suggestion to register `asked` as a new code carries when it is a near
    miss of existing codes (candidates as `candidates()` gives them), else None."""
    near = [candidate for candidate in candidates if candidate.get("source") == SOURCE]
    if not near:
        return None
    best = near[0]
    return (
        f"{asked!r} is a near miss of {best['system']}'s {best['code']!r} ({best['id']} "
        f"{best['name']}: {best['reason']}); check the sender's code before registering it "
        "as new."
    )


SOURCE = "near_miss"
