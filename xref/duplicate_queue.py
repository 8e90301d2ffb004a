"""The stewards' review queue of duplicates: the clusters of a kind as people read them, the
side-by-side comparison of a pair, its decision history, and decisions taken on what the
steward saw. Detection and the decisions themselves are `xref.duplicates`; this module
describes them.

    queue(kind, min_score, status, open_cases)  clusters in review order, with their impact
    describe(kind, queued)                       a page of them with each record's facts
    comparison(pair)                             two records field by field, evidence in words
    decide(kind, pair_id, decision, ...)         a decision, refused if the pair changed since
    run_progress(run)                            a full run's progress, for a bar

A supplier site is shown by its supplier's name and number, its code and its address: a
steward must see which company it is before which of its addresses.

A cluster's impact is what a merge would touch: the cross-references of its records (how
many, from which systems). The quarantine app knows the open cases naming each record and
hands a counter of them to `queue` (a lower app does not read a higher one's tables).
"""

import re
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils.text import capfirst

from mdm.identifiers import compact
from xref import duplicates, site_duplicates
from xref.duplicates import FIELDS, IDENTIFIERS, TEXT_FIELD, Cluster, DuplicateError, model_of
from xref.matching.calibration import SURE, WORTH_A_LOOK
from xref.matching.scoring import COMPARISONS
from xref.models import TARGETS, CrossReference, DuplicatePair, DuplicateRun
from xref.sites import KIND as SITE

Status = DuplicatePair.Status
KINDS = duplicates.KINDS
# Fields of the match index's rows that are not a record's facts compared by the matcher.
NOT_COMPARED_FIELDS = ("id", "public_id", "merged_into")
# The record's own number (a location's and a site's is its code): shown beside its name,
# never first.
NUMBER_FIELD = {"item": "number", "supplier": "number", "location": "code", SITE: "code"}
# A site's fields side by side: what is compared first, its code last.
SITE_FIELDS = ("address", "postal_code", "city", "country", "name", "code")
# The comparisons of `xref.matching.scoring` in words.
COMPARISON_LABELS = {
    "gtin": "GTIN",
    "number": "Number",
    "part_number": "Manufacturer part number",
    "model_number": "Model numbers in the description",
    "description": "Description",
    "manufacturer": "Manufacturer",
    "identifier": "DUNS, LEI or VAT number",
    "name": "Name",
    "gln": "GLN",
    "address": "Address",
    "postal_code": "Postal code",
}
NOT_COMPARED = "not compared (one record lacks it)"
# A duplicate check never compares the records' own numbers: two records of one thing have two.
NUMBER_NOT_COMPARED = "not compared (each record has its own)"
DECISION_WORDS = {
    Status.SAME: "Decided: the same",
    Status.NOT_SAME: "Decided: not the same",
    Status.LATER: "Put off for later",
}


class PairChanged(Exception):
    """The pair was decided (or reopened) by someone else since the steward looked at it."""


def compared_fields(kind):
    """The fields of a record the matcher compares, in the order a person reads them: the
    name (or description) first, the record's own number last; a site's address first."""
    if kind == SITE:
        return list(SITE_FIELDS)
    fields = [name for name in FIELDS[kind] if name not in NOT_COMPARED_FIELDS]
    fields.remove(TEXT_FIELD[kind])
    fields.remove(NUMBER_FIELD[kind])
    return [TEXT_FIELD[kind], *fields, NUMBER_FIELD[kind]]


def field_label(kind, name):
    return capfirst(model_of(kind)._meta.get_field(name).verbose_name)


def identifier_words(kind):
    """The identifiers whose change reopens a "not the same", in words: "number, DUNS, LEI,
    VAT number"."""
    model = model_of(kind)._meta
    return ", ".join(str(model.get_field(name).verbose_name) for name in IDENTIFIERS[kind])


def band(score):
    """The matcher's documented threshold a score reaches, in words."""
    if score >= SURE:
        return "sure"
    if score >= WORTH_A_LOOK:
        return "worth a look"
    return "below worth a look"


# --- the queue -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemReferences:
    """A source system's cross-references to one record."""

    code: str
    name: str
    references: int


@dataclass(frozen=True)
class Impact:
    """What a merge of a cluster would touch."""

    references: int  # active cross-references of its records
    systems: tuple  # codes of the systems that hold them
    open_cases: int | None = None  # None: not counted (the API has no cases)


@dataclass(frozen=True)
class QueuedCluster:
    """A cluster in the queue with its impact (and its records, once described)."""

    cluster: Cluster
    impact: Impact
    records: tuple = ()  # QueueRecord per public id, once described

    @property
    def pairs(self):
        return self.cluster.pairs

    @property
    def best(self):
        return self.cluster.best

    @property
    def band(self):
        return band(self.cluster.best)


@dataclass(frozen=True)
class QueueRecord:
    """A record of a cluster as the queue shows it."""

    kind: str
    id: str
    name: str
    number: str
    identifiers: dict  # {field: value}, the kind's identifiers but its number
    exists: bool
    merged_into: str = ""  # the public id it was merged into (xref.merging), if it was
    supplier: str = ""  # a supplier site's supplier: its public id,
    supplier_number: str = ""  # its number (its name is the site's `name`),
    supplier_url: str = ""  # and its page in the admin
    address: str = ""  # a supplier site's address on one line
    admin_url: str = ""
    systems: tuple = ()  # SystemReferences, most references first
    open_cases: int | None = None

    @property
    def references(self):
        return sum(system.references for system in self.systems)

    @property
    def labelled_identifiers(self):
        """[(label, value)] of the identifiers the record has."""
        return [
            (field_label(self.kind, name), value)
            for name, value in self.identifiers.items()
            if value
        ]


def clusters_of(kind, min_score=SURE, status=Status.OPEN):
    """The pairs of `kind` with `status` scoring at least `min_score`, as clusters (best
    first), as `xref.duplicates.clusters` groups them: a steward sees what was decided
    together."""
    duplicates.kind_of(kind)
    if status not in Status.values:
        raise DuplicateError(
            f"Unknown status {status!r}; choose one of {', '.join(Status.values)}."
        )
    return duplicates.clusters(kind, min_score, status)


def queue(kind, min_score=SURE, status=Status.OPEN, open_cases=None):
    """The clusters in review order: the best score first, then the larger impact (open
    cases, when `open_cases` counts them, then cross-references), then the lowest public id.
    `open_cases(kind, public_ids)` gives {public id: open cases naming it}."""
    found = clusters_of(kind, min_score, status)
    public_ids = {public_id for cluster in found for public_id in cluster.records}
    systems = system_references(kind, public_ids)
    cases = open_cases(kind, public_ids) if open_cases is not None else None
    queued = []
    for cluster in found:
        held = [s for public_id in cluster.records for s in systems.get(public_id, ())]
        impact = Impact(
            references=sum(s.references for s in held),
            systems=tuple(sorted({s.code for s in held})),
            open_cases=None
            if cases is None
            else sum(cases.get(public_id, 0) for public_id in cluster.records),
        )
        queued.append(QueuedCluster(cluster, impact))
    return sorted(
        queued,
        key=lambda q: (
            -q.best,
            -(q.impact.open_cases or 0),
            -q.impact.references,
            q.cluster.records[0],
        ),
    )


def system_references(kind, public_ids):
    """{public id: (SystemReferences, ...)} of the records' active cross-references, the
    system with most first: one query."""
    target = TARGETS[kind][0]
    rows = (
        CrossReference.objects.filter(
            kind=kind,
            status=CrossReference.Status.ACTIVE,
            **{f"{target}__public_id__in": list(public_ids)},
        )
        .values_list(f"{target}__public_id", "system__code", "system__name")
        .annotate(n=Count("id"))
    )
    found = defaultdict(list)
    for public_id, code, name, n in rows:
        found[public_id].append(SystemReferences(code, name, n))
    return {
        public_id: tuple(sorted(held, key=lambda s: (-s.references, s.code)))
        for public_id, held in found.items()
    }


def describe(kind, queued, open_cases=None):
    """The clusters (a page of `queue`'s) with each record's facts: a query for the records,
    one for their cross-references, and `open_cases` when given."""
    public_ids = {public_id for q in queued for public_id in q.cluster.records}
    found = records(kind, public_ids, open_cases)
    return [
        QueuedCluster(
            q.cluster, q.impact, tuple(found[public_id] for public_id in q.cluster.records)
        )
        for q in queued
    ]


def records(kind, public_ids, open_cases=None):
    """{public id: QueueRecord}; a record deleted since its pair was found is there too,
    with exists False."""
    model = model_of(kind)._meta
    rows = _rows(kind, public_ids)
    systems = system_references(kind, public_ids)
    cases = open_cases(kind, public_ids) if open_cases is not None else {}
    shown = [name for name in IDENTIFIERS[kind] if name != NUMBER_FIELD[kind]]
    found = {}
    for public_id in public_ids:
        row = rows.get(public_id)
        found[public_id] = QueueRecord(
            kind=kind,
            id=public_id,
            name=row[TEXT_FIELD[kind]] if row else "",
            number=row[NUMBER_FIELD[kind]] if row else "",
            identifiers={name: row[name] for name in shown} if row else {},
            exists=row is not None,
            merged_into=(row or {}).get("merged_into") or "",
            supplier=(row or {}).get("supplier__public_id") or "",
            supplier_number=(row or {}).get("supplier__number") or "",
            supplier_url=reverse("admin:mdm_supplier_change", args=[row["supplier_id"]])
            if row and kind == SITE
            else "",
            address=one_line_address(row) if row and kind == SITE else "",
            admin_url=reverse(
                f"admin:{model.app_label}_{model.model_name}_change", args=[row["id"]]
            )
            if row
            else "",
            systems=systems.get(public_id, ()),
            open_cases=cases.get(public_id, 0) if open_cases is not None else None,
        )
    return found


def _rows(kind, public_ids):
    """{public id: row} of the records (FIELDS), a site's with its supplier's public id,
    number and name."""
    supplier = ("supplier__public_id", "supplier__number", "supplier__name")
    fields = FIELDS[kind] + (supplier if kind == SITE else ())
    return {
        row["public_id"]: row
        for row in model_of(kind).objects.filter(public_id__in=list(public_ids)).values(*fields)
    }


def one_line_address(row):
    """ "Hafenstraße 12, 97421 Schweinfurt" of a row with address, postal_code and city."""
    town = " ".join(part for part in (row["postal_code"], row["city"]) if part)
    return ", ".join(part for part in (row["address"], town) if part)


# --- one pair ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRow:
    """One compared field of both records."""

    field: str
    label: str
    a: str
    b: str
    differs: bool  # the values differ as written (surrounding spaces aside)
    written_apart: bool  # they differ as written, but are one value (spaces, dashes, case)
    evidence: float | None  # how alike the matcher found them (0-100), if it compared them


@dataclass(frozen=True)
class Evidence:
    """A field the matcher found alike, and how alike (0-100)."""

    field: str
    label: str
    agreement: float
    words: str


@dataclass(frozen=True)
class LevelWords:
    """A comparison of the matcher and the level of agreement it found, in words."""

    comparison: str
    label: str
    level: int | None
    level_name: str | None
    words: str


@dataclass(frozen=True)
class HistoryEntry:
    """A change of a pair's decision: who, when, from where, what."""

    at: object
    by: str  # a username, or "" for the hub itself
    source: str
    status: str
    words: str
    note: str


@dataclass(frozen=True)
class PairComparison:
    """A pair as the side-by-side screen shows it."""

    pair: DuplicatePair
    record_a: QueueRecord
    record_b: QueueRecord
    fields: tuple = ()
    evidence: tuple = ()  # Evidence, most alike first
    levels: tuple = ()
    history: tuple = ()  # HistoryEntry, newest first

    @property
    def band(self):
        return band(self.pair.score)


def pair_of(kind, pair_id):
    """The pair of `kind` with that id, or DuplicatePair.DoesNotExist."""
    return DuplicatePair.objects.select_related("decided_by").get(
        kind=duplicates.kind_of(kind), pk=pair_id
    )


def comparison(pair, open_cases=None):
    """The pair's two records side by side, every compared field with whether it differs,
    the evidence and the matcher's levels in words, and the decision history."""
    kind = pair.kind
    model = model_of(kind)
    rows = _rows(kind, (pair.record_a, pair.record_b))
    described = records(kind, {pair.record_a, pair.record_b}, open_cases)
    a, b = rows.get(pair.record_a) or {}, rows.get(pair.record_b) or {}
    fields = []
    for name in compared_fields(kind):
        one, other = (a.get(name) or "").strip(), (b.get(name) or "").strip()
        differs = one != other
        fields.append(
            FieldRow(
                field=name,
                label=field_label(kind, name),
                a=one,
                b=other,
                differs=differs,
                written_apart=differs and bool(one) and compact(one) == compact(other),
                # The matcher's evidence compares one record's query with the other's fields
                # (a name with a legal name, too): a field shows it when both have a value.
                evidence=pair.evidence.get(name) if one and other else None,
            )
        )
    evidence = tuple(
        Evidence(
            name, field_label(kind, name), value, f"{field_label(kind, name)}: {value:.0f}% alike"
        )
        for name, value in sorted(pair.evidence.items(), key=lambda e: (-e[1], e[0]))
        if name in {f.name for f in model._meta.concrete_fields}
    )
    return PairComparison(
        pair=pair,
        record_a=described[pair.record_a],
        record_b=described[pair.record_b],
        fields=tuple(fields),
        evidence=evidence,
        levels=levels_in_words(kind, pair.levels),
        history=decision_history(pair),
    )


def levels_in_words(kind, levels):
    """Each comparison of the kind with the level the pair reached (the scoring module's
    level names), in words."""
    found = []
    for compared in site_duplicates.COMPARISONS if kind == SITE else COMPARISONS[kind]:
        level = levels.get(compared.name)
        label = COMPARISON_LABELS.get(compared.name, capfirst(compared.name.replace("_", " ")))
        if compared.name == "number" and kind == "location":
            label = "Code"
        name = compared.levels[level] if level is not None else None
        if name is not None:
            words = _level_words(name)
        else:
            words = NUMBER_NOT_COMPARED if compared.name == "number" else NOT_COMPARED
        found.append(LevelWords(compared.name, label, level, name, f"{label}: {words}"))
    return tuple(found)


def _level_words(name):
    """ "92+" is "92% alike or more", "below 60" "less than 60% alike", "same" "the same"."""
    if match := re.fullmatch(r"(\d+)\+", name):
        return f"{match[1]}% alike or more"
    if match := re.fullmatch(r"below (\d+)", name):
        return f"less than {match[1]}% alike"
    if name == "same":
        return "the same"
    return name


def decision_history(pair):
    """The changes of the pair's decision, newest first: when it was found, each decision,
    undo and reopening (score updates by later checks are left out)."""
    rows = pair.history.select_related("history_user").order_by("history_date", "history_id")
    entries, previous = [], None
    for row in rows:
        changed = previous is None or (row.status, row.decided_at) != (
            previous.status,
            previous.decided_at,
        )
        if changed:
            if previous is None:
                words = f"Found: {row.score:.0f}% likely the same"
            elif row.status != Status.OPEN:
                words = DECISION_WORDS[row.status]
            elif row.note.startswith("Reopened"):
                words = "Reopened"
            else:
                words = "Undone: back to the queue"
            user = row.history_user
            entries.append(
                HistoryEntry(
                    at=row.history_date,
                    by=user.get_username() if user else "",
                    source=row.get_change_source_display(),
                    status=row.status,
                    words=words,
                    note=row.note,
                )
            )
        previous = row
    return tuple(reversed(entries))


def decide(kind, pair_id, decision, user=None, note="", seen=None):
    """`xref.duplicates.decide` on the pair, locked; when `seen` (the status the steward was
    shown) is given and the pair's status is another now, PairChanged and nothing is done."""
    with transaction.atomic():
        pair = DuplicatePair.objects.select_for_update().get(
            kind=duplicates.kind_of(kind), pk=pair_id
        )
        if seen is not None and pair.status != seen:
            who = pair.decided_by.get_username() if pair.decided_by else "the hub"
            raise PairChanged(
                f"{pair.record_a} and {pair.record_b} are now "
                f"'{pair.get_status_display().lower()}' ({who} changed it after you opened "
                "the pair); nothing was changed. Look again and decide."
            )
        return duplicates.decide(pair, decision, user, note)


# --- full runs -----------------------------------------------------------------------------


def start_run(kind):
    """A full run over `kind` (`xref.duplicates.full_run`)."""
    return duplicates.full_run(duplicates.kind_of(kind))


def run_of(kind, run_id):
    """The run of `kind` with that id, or DuplicateRun.DoesNotExist."""
    return DuplicateRun.objects.get(kind=duplicates.kind_of(kind), pk=run_id)


def latest_run(kind):
    return DuplicateRun.objects.filter(kind=kind).order_by("-started_at", "-id").first()


def run_progress(run):
    """A run's progress as the screens and the API show it."""
    finished = run.status != DuplicateRun.Status.RUNNING
    percent = int(100 * run.chunks_done / run.chunks_total) if run.chunks_total else 0
    if run.status == DuplicateRun.Status.FINISHED:
        percent = 100
    if run.status == DuplicateRun.Status.FINISHED:
        words = f"Finished: {run.pairs_found} pair{'s' if run.pairs_found != 1 else ''} found."
    elif run.status == DuplicateRun.Status.FAILED:
        words = f"Failed: {run.message}"
    else:
        words = f"Checking: {run.chunks_done} of {run.chunks_total} chunks done."
    return {
        "id": run.pk,
        "kind": run.kind,
        "status": run.status,
        "finished": finished,
        "chunks_total": run.chunks_total,
        "chunks_done": run.chunks_done,
        "percent": percent,
        "pairs_found": run.pairs_found,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "message": run.message,
        "words": words,
    }
