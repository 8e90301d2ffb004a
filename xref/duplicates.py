"""Duplicates among the master records: pairs of items, suppliers, locations or supplier sites
that may be one record twice, found by the matcher, grouped into clusters and decided on by
stewards.

    check(kind, public_id)        a record compared with the master; its pairs kept or dropped
    full_run(kind)                every record of a kind checked, a Celery task per chunk
    clusters(kind, min_score)     open pairs grouped (A~B and B~C: one cluster)
    decide(pair, decision, user)  same / not_same / later, or "open" to undo

A check asks the matcher with the record's own fields (its name or description, the
identifiers the kind is matched on, its country) and scores each candidate as one pair
judged alone (`calibration.pair_probability`). Pairs at or above WORTH_A_LOOK are kept; an
open pair that falls below it is dropped. A decision is kept on every later check, except
that a "not the same" reopens when an identifier of either record (`IDENTIFIERS`) changed
since it was decided. The record's own number is not asked for: every other record's number
differs, which the matcher takes as near proof of another record.

Supplier sites have no match index: a site is compared with the other sites of its supplier,
scored as a pair of locations (`xref.site_duplicates`). Their pairs are kept, clustered and
decided like the others', but teach the matcher nothing (it matches no sites).

Every save of an item, supplier, location or supplier site queues a check once its
transaction commits (`connect_signals`, from XrefConfig.ready); so does a supplier merge for
the sites it moves to the survivor (each is saved). Writes that send no signals (bulk
imports) are found by the next full run.
"""

import hashlib
import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from core.queue import send
from mdm.identifiers import compact
from mdm.models import SupplierSite
from xref import labels, site_duplicates
from xref.matching import calibration, ranking
from xref.matching.calibration import SURE, WORTH_A_LOOK
from xref.matching.keys import SPECS
from xref.models import DuplicatePair, DuplicateRun, MatchLabel
from xref.sites import KIND as SITE

logger = logging.getLogger(__name__)

Status = DuplicatePair.Status
# The identifiers of a record: a "not the same" decision holds until one of either record's
# changes.
IDENTIFIERS = {
    "item": ("number", "gtin", "mpn"),
    "supplier": ("number", "duns", "lei", "vat"),
    "location": ("code", "gln"),
    SITE: ("code",),
}
# What a person calls a record; a site is called by its supplier's name.
TEXT_FIELD = {
    "item": "description",
    "supplier": "name",
    "location": "name",
    SITE: "supplier__name",
}
# Candidates a check asks the matcher for: a record rarely has more true duplicates.
CANDIDATES = 10
# Records a full run's task checks.
CHUNK_SIZE = 500
# The kinds duplicates are looked for among, with their model and the fields a check reads:
# those of the match index, and supplier sites.
MODELS = {kind: spec.model for kind, spec in SPECS.items()} | {SITE: SupplierSite}
FIELDS = {kind: spec.fields for kind, spec in SPECS.items()} | {SITE: site_duplicates.FIELDS}
KINDS = tuple(MODELS)
KIND_BY_MODEL = {model: kind for kind, model in MODELS.items()}


class DuplicateError(ValueError):
    """A decision that cannot be taken; the message says why."""


# --- checking one record -------------------------------------------------------------------


def check(kind, public_id):
    """Compare the record with the master and keep its pairs at or above WORTH_A_LOOK
    (created, or updated with their new score); drop its open pairs below it. Returns the
    pairs found, best first. A record that no longer exists, or was merged into another
    (xref.merging), loses its open pairs, and is no other record's pair."""
    live = model_of(kind).objects.filter(merged_into="")
    row = live.filter(public_id=public_id).values(*FIELDS[kind]).first()
    known = {pair.other(public_id): pair for pair in pairs_of(kind, public_id)}
    # The record's known pairs are compared again whether retrieval finds them or not, so a
    # pair is dropped only when its score fell.
    others = sorted(live.filter(public_id__in=known).values_list("public_id", flat=True))
    found = _candidates(kind, row, others) if row else {}
    kept = []
    with transaction.atomic():
        for other, (score, compared) in sorted(found.items()):
            if score >= WORTH_A_LOOK:
                kept.append(_keep(kind, row, compared, score, known.get(other)))
        dropped = [
            pair.pk
            for other, pair in known.items()
            if pair.status == Status.OPEN and found.get(other, (0.0,))[0] < WORTH_A_LOOK
        ]
        for pair in DuplicatePair.objects.filter(pk__in=dropped):
            pair.delete()  # one by one: each leaves its history row
        DuplicatePair.objects.filter(pk__in=[pair.pk for pair in kept]).update(
            checked_at=timezone.now()
        )
    return sorted(kept, key=lambda pair: (-pair.score, pair.record_a, pair.record_b))


def pairs_of(kind, public_id):
    """Every pair of the record, whatever its status."""
    return DuplicatePair.objects.filter(Q(record_a=public_id) | Q(record_b=public_id), kind=kind)


def _candidates(kind, row, include):
    """{public id: (pair probability, Compared)} of the record's candidates, itself left out
    (a site's: the other sites of its supplier; `include` are compared only if they are)."""
    if kind == SITE:
        return site_duplicates.candidates(row)
    fields = {name: row[name] for name in labels.QUERY_FIELDS[kind][1:] if row[name]}
    country = row["country"] if SPECS[kind].has_country else None
    found = ranking.compared(
        kind, row[TEXT_FIELD[kind]], country, CANDIDATES, tuple(include), **fields
    )
    weights = calibration.current(kind)
    rows = [
        compared
        for compared in found.rows
        if compared.row["public_id"] != row["public_id"] and not compared.row.get("merged_into")
    ]
    if kind == "location":
        rows = _of_its_kind(row, rows)
    return {
        compared.row["public_id"]: (
            calibration.pair_probability(weights, compared.levels),
            compared,
        )
        for compared in rows
    }


def _of_its_kind(row, rows):
    """The compared locations of the location's own kind: a plant, its warehouse and its dock
    share an address and are three places, never one."""
    model = SPECS["location"].model
    kinds = dict(
        model.objects.filter(
            public_id__in=[row["public_id"], *(c.row["public_id"] for c in rows)]
        ).values_list("public_id", "kind")
    )
    own = kinds.get(row["public_id"])
    return [c for c in rows if kinds.get(c.row["public_id"]) == own]


def _keep(kind, row, compared, score, pair):
    """The pair of `row` and a compared record, created or brought up to date; a "not the
    same" whose records' identifiers changed since is reopened."""
    first, second = sorted((row["public_id"], compared.row["public_id"]))
    values = {
        "score": round(score, 1),
        "levels": compared.levels,
        "evidence": {name: round(value, 1) for name, value in compared.evidence.items()},
    }
    if pair is None:
        pair, created = DuplicatePair.objects.get_or_create(
            kind=kind, record_a=first, record_b=second, defaults=values
        )
        if created:
            return pair
    changed = False
    for name, value in values.items():
        if getattr(pair, name) != value:
            setattr(pair, name, value)
            changed = True
    if pair.status == Status.NOT_SAME and pair.identity != identity(kind, row, compared.row):
        when = f"{pair.decided_at:%Y-%m-%d}" if pair.decided_at else "earlier"
        pair.note = (
            f"Reopened: an identifier ({', '.join(IDENTIFIERS[kind])}) of {first} or {second} "
            f"changed after the pair was decided not the same ({when})."
        )
        pair.status, pair.identity = Status.OPEN, ""
        pair.decided_by = pair.decided_at = None
        changed = True
    if changed:
        pair.save()
    return pair


def identity(kind, one, other):
    """A digest of both records' identifiers (rows with public_id and IDENTIFIERS[kind]),
    whichever order they are given in; spaces, dashes and case do not count."""
    rows = sorted((one, other), key=lambda row: row["public_id"])
    values = [
        [row["public_id"], *(compact(row[name]) for name in IDENTIFIERS[kind])] for row in rows
    ]
    return hashlib.sha256(json.dumps(values).encode()).hexdigest()


# --- checking a whole kind -----------------------------------------------------------------


def full_run(kind, chunk_size=CHUNK_SIZE):
    """Start a full run over every record of `kind`: a task per chunk of `chunk_size` public
    ids, sent once the run is committed; the task that finishes the last chunk sends the one
    that settles the run. Returns the run (DuplicateRun), its progress kept on it."""
    ids = list(model_of(kind).objects.order_by("public_id").values_list("public_id", flat=True))
    chunks = [ids[start : start + chunk_size] for start in range(0, len(ids), chunk_size)]
    run = DuplicateRun.objects.create(
        kind=kind, chunks_total=len(chunks), pending=list(range(len(chunks)))
    )

    def send_chunks():
        if not chunks:
            send("xref.tasks.finish_duplicate_run", run.pk, queue=_queue())
        for index, chunk in enumerate(chunks):
            send("xref.tasks.check_duplicate_chunk", run.pk, index, chunk, queue=_queue())

    transaction.on_commit(send_chunks)
    return run


def check_chunk(run_id, index, public_ids):
    """Check one chunk of a run and count it done; a chunk done already (a task delivered
    twice) or of a run that ended is skipped. The chunk that leaves none pending sends the
    task that settles the run."""
    run = DuplicateRun.objects.filter(pk=run_id, status=DuplicateRun.Status.RUNNING).first()
    if run is None or index not in run.pending:
        return
    try:
        for public_id in public_ids:
            check(run.kind, public_id)
    except Exception as exc:
        logger.exception("Chunk %s of duplicate run %s failed", index, run_id)
        DuplicateRun.objects.filter(pk=run_id, status=DuplicateRun.Status.RUNNING).update(
            status=DuplicateRun.Status.FAILED,
            finished_at=timezone.now(),
            message=f"Chunk {index} ({public_ids[0]} ...) failed: {exc}"[:500],
        )
        raise
    with transaction.atomic():
        run = DuplicateRun.objects.select_for_update().get(pk=run_id)
        if index not in run.pending:
            return
        run.pending.remove(index)
        run.chunks_done += 1
        run.save(update_fields=["pending", "chunks_done"])
    if not run.pending:
        send("xref.tasks.finish_duplicate_run", run_id, queue=_queue())


def finish_run(run_id):
    """Settle a run whose chunks are done: how many pairs it found, and that it finished."""
    run = DuplicateRun.objects.get(pk=run_id)
    found = DuplicatePair.objects.filter(kind=run.kind, checked_at__gte=run.started_at).count()
    DuplicateRun.objects.filter(pk=run_id, status=DuplicateRun.Status.RUNNING).update(
        status=DuplicateRun.Status.FINISHED, finished_at=timezone.now(), pairs_found=found
    )


# --- clusters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cluster:
    """Records joined by open pairs (A~B and B~C make one cluster of three)."""

    records: tuple  # public ids, in order
    pairs: tuple  # DuplicatePair, best first
    best: float  # the best pair's score


def clusters(kind, min_score=SURE, status=Status.OPEN):
    """The pairs of `kind` with `status` scoring at least `min_score`, grouped into clusters:
    the best score first, then the lowest public id. Pairs join clusters best first, and two
    clusters become one only when each record of the one is at least worth a look with each
    of the other: a chain of look-alikes (A like B, B like C, A nothing like C) is not one
    cluster; a pair that cannot join is a cluster of its own."""
    pairs = list(
        DuplicatePair.objects.filter(
            kind=kind_of(kind), status=status, score__gte=min_score
        ).order_by("-score", "record_a", "record_b")
    )
    alike = set(
        DuplicatePair.objects.filter(kind=kind, status=status, score__gte=WORTH_A_LOOK).values_list(
            "record_a", "record_b"
        )
    )
    cluster_of, members, grouped, apart = {}, {}, {}, []
    for pair in pairs:
        one = cluster_of.get(pair.record_a, pair.record_a)
        other = cluster_of.get(pair.record_b, pair.record_b)
        ours, theirs = members.get(one, {one}), members.get(other, {other})
        if one != other and all(tuple(sorted((a, b))) in alike for a in ours for b in theirs):
            keep, gone = min(one, other), max(one, other)
            members[keep] = ours | theirs
            members.pop(gone, None)
            grouped[keep] = grouped.pop(keep, []) + grouped.pop(gone, [])
            for public_id in members[keep]:
                cluster_of[public_id] = keep
        if cluster_of.get(pair.record_a) == cluster_of.get(pair.record_b) is not None:
            grouped.setdefault(cluster_of[pair.record_a], []).append(pair)
        else:  # shown as a pair of its own: a record may be in two clusters
            apart.append(pair)
    found = [
        Cluster(
            records=tuple(sorted(members[key])),
            pairs=tuple(sorted(group, key=lambda p: (-p.score, p.record_a, p.record_b))),
            best=max(p.score for p in group),
        )
        for key, group in grouped.items()
    ]
    found += [Cluster((p.record_a, p.record_b), (p,), p.score) for p in apart]
    return sorted(found, key=lambda cluster: (-cluster.best, cluster.records[0]))


# --- decisions -----------------------------------------------------------------------------


def decide(pair, decision, user=None, note=""):
    """A steward's decision on a pair: "same" (to be merged), "not_same" (never suggested
    again while both records' identifiers stay as they are now), "later", or "open" (undo).
    Kept with who and when, in the pair's history, and as a labelled pair the matcher's
    weights learn from (same: a match, not the same: none; undo or later removes it)."""
    if decision not in Status.values:
        raise DuplicateError(
            f"Unknown decision {decision!r}; choose one of {', '.join(Status.values)}."
        )
    rows = {
        row["public_id"]: row
        for row in model_of(pair.kind)
        .objects.filter(public_id__in=(pair.record_a, pair.record_b))
        .values(*FIELDS[pair.kind])
    }
    missing = [public_id for public_id in (pair.record_a, pair.record_b) if public_id not in rows]
    if missing and decision != Status.OPEN:
        raise DuplicateError(f"{pair.kind.title()} {missing[0]} no longer exists.")
    person = user if user is not None and user.is_authenticated else None
    with transaction.atomic():
        pair.status = decision
        pair.note = (note or "").strip()[:500]
        if decision == Status.OPEN:
            pair.identity, pair.decided_by, pair.decided_at = "", None, None
        else:
            pair.identity = identity(pair.kind, *rows.values())
            pair.decided_by, pair.decided_at = person, timezone.now()
        pair._history_user = person
        pair.save()
        if not missing and pair.kind in labels.QUERY_FIELDS:  # the matcher's kinds
            _label(pair, rows[pair.record_a], person)
    return pair


def _label(pair, row, user):
    """Keep the decision as a labelled pair (the first record's fields as the query, the
    second as the record), or drop the one an earlier decision kept."""
    query = {"q": row[TEXT_FIELD[pair.kind]]}
    query.update({name: row[name] for name in labels.QUERY_FIELDS[pair.kind][1:]})
    source = MatchLabel.Source.DUPLICATES
    if pair.status in (Status.SAME, Status.NOT_SAME):
        labels.record(pair.kind, query, pair.record_b, pair.status == Status.SAME, source, user)
    else:
        key = labels.query_key(labels.normalised_query(pair.kind, query))
        MatchLabel.objects.filter(
            kind=pair.kind, query_key=key, record=pair.record_b, source=source
        ).delete()


# --- the signals ---------------------------------------------------------------------------


def _queue_check(sender, instance, raw=False, **kwargs):
    """post_save and post_delete: check the record once its transaction commits (a check
    of a deleted record drops its open pairs)."""
    if raw:
        return
    kind, public_id = KIND_BY_MODEL[sender], instance.public_id
    transaction.on_commit(
        lambda: send(
            "xref.tasks.check_duplicates",
            kind,
            public_id,
            queue=_queue(),
            unsent="the next full run checks it",
        )
    )


def _queue():
    """The queue of the duplicate checks (settings.HUB_DUPLICATES_QUEUE)."""
    return settings.HUB_DUPLICATES_QUEUE


def connect_signals():
    """Check every item, supplier, location and supplier site saved or deleted
    (XrefConfig.ready)."""
    for model, kind in KIND_BY_MODEL.items():
        post_save.connect(_queue_check, sender=model, dispatch_uid=f"duplicates.save.{kind}")
        post_delete.connect(_queue_check, sender=model, dispatch_uid=f"duplicates.del.{kind}")


def kind_of(kind):
    """`kind` if duplicates are looked for among its records, else DuplicateError."""
    if kind not in MODELS:
        raise DuplicateError(f"Unknown kind {kind!r}; choose one of {', '.join(KINDS)}.")
    return kind


def model_of(kind):
    """The model of the records of `kind`, else DuplicateError."""
    return MODELS[kind_of(kind)]
