"""Merges as stewards and API clients read them (issue 19, item 4): what a merge of two
records would pick and move, and what a merge did, in words. Merging itself is
`xref.merging`; this module only reads.

    proposal(kind, survivor_id, loser_id)   both records, each field group with both values,
                                            the default and its rule, and `seen` stamps
    default_survivor(kind, a_id, b_id)      the record a merge of the two keeps by default
    moving(kind, loser_id)                  what would move from the loser (mdm and xref rows)
    references_of(kind, public_id)          a record's active cross-references, by system
    merges(kind, record)                    merges, newest first
    active_merge(kind, loser_id)            the merge a record was merged by, not undone
    described(merges)                       merges with names, what moved, what the survivor
                                            took from the loser and the history they wrote
    moved_words(label, count, kind)         a label of Merge.moved in words

A merge writes one history entry on each of its two records (and each row it moves) whose
change reason starts "Merge #<id>: ...", and its undoing "Merge #<id> undone: ...", with the
steward as the history user (xref.merging._stamp): `described` reads them back.
"""

import re
from dataclasses import dataclass, field

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q
from django.urls import reverse
from django.utils.text import capfirst

from mdm.models import ItemRevision, ItemUnitConversion, Location, SupplierSite
from mdm.models import Unit as UnitModel
from xref import duplicate_queue, merging
from xref.merging import MODELS, MergeError, model_of
from xref.models import TARGETS, CrossReference, Merge

# A history entry a merge or its undoing wrote: "Merge #12: ..." or "Merge #12 undone: ...".
MERGE_REASON = re.compile(r"^Merge #(\d+)(?=[: ])")
# Labels of Merge.moved that xref and mdm write, in words (singular, plural); the labels of
# higher apps are worded from their models' names.
MOVED_NOUNS = {
    "xref.crossreference": ("cross-reference", "cross-references"),
    "xref.crossreference.retired": (
        "cross-reference the survivor held already (retired)",
        "cross-references the survivor held already (retired)",
    ),
    "xref.crossreference.unpreferred": (
        "moved cross-reference no longer preferred (the survivor has one)",
        "moved cross-references no longer preferred (the survivor has one)",
    ),
    "mdm.itemrevision.item": ("revision", "revisions"),
    "mdm.itemunitconversion.item": ("pack conversion", "pack conversions"),
    "mdm.itemunitconversion.supplier": ("pack conversion", "pack conversions"),
    "mdm.suppliersite.supplier": ("supplier site", "supplier sites"),
    "mdm.location.parent": ("child location", "child locations"),
    "mdm.location.supplier_site": ("location that is the site", "locations that are the site"),
    "quarantine.quarantinecase.replayed": ("open case, replayed", "open cases, replayed"),
}
SIDES = ("survivor", "loser")


# --- a merge to come ------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """A value as a person reads it: words, and the code beside them (or "")."""

    words: str
    code: str = ""

    @property
    def empty(self):
        return not self.words and not self.code


@dataclass(frozen=True)
class FieldChoice:
    """One field of a merge: both records' values, the default and why."""

    field: str
    label: str
    survivor: object  # as xref.merging.survivorship gives it (natural keys, decimals as text)
    loser: object
    default: object
    rule: str
    shown: dict  # {"survivor", "loser", "default": Shown}
    why: str = ""  # the rule in words without the record it picked: "the longer"
    picked_from: str = ""  # the public id the rule picked, if it names one

    @property
    def differs(self):
        return self.survivor != self.loser


@dataclass(frozen=True)
class FieldGroup:
    """Fields a steward picks together, from one record (an address with its city)."""

    fields: tuple  # FieldChoice, the lead first

    @property
    def lead(self):
        return self.fields[0].field

    @property
    def differs(self):
        return any(choice.differs for choice in self.fields)

    @property
    def default_side(self):
        """survivor or loser: the record whose values the default is; "default" when it is
        neither's (a parent neither record may have); "same" when the two agree."""
        if not self.differs:
            return "same"
        for side in SIDES:
            if all(getattr(c, side) == c.default for c in self.fields):
                return side
        return "default"


@dataclass(frozen=True)
class Proposal:
    """A merge of `loser` into `survivor` as the steward decides it."""

    kind: str
    survivor: duplicate_queue.QueueRecord
    loser: duplicate_queue.QueueRecord
    groups: tuple  # FieldGroup, in the kind's order
    seen: dict  # {public id: updated_at} read before the values

    @property
    def fields(self):
        return [choice for group in self.groups for choice in group.fields]

    def values(self, picks):
        """{field: value} of the sides picked per group ({lead field: survivor, loser or
        default}); a group not picked, or picked as nothing known, keeps the default."""
        found = {}
        for group in self.groups:
            side = picks.get(group.lead)
            if side in (*SIDES, "default") and group.differs:
                found.update({c.field: getattr(c, side) for c in group.fields})
        return found


def proposal(kind, survivor_id, loser_id):
    """The merge of `loser_id` into `survivor_id` as xref.merging.survivorship proposes it,
    with both records as the queue describes them and their updated_at, read first: a
    change after it makes the merge a conflict, never a merge of unseen values. MergeError
    (MergeConflict) as survivorship raises them."""
    model = model_of(kind)
    survivor_id, loser_id = _normal(survivor_id), _normal(loser_id)
    seen = dict(
        model.objects.filter(public_id__in=(survivor_id, loser_id)).values_list(
            "public_id", "updated_at"
        )
    )
    found = merging.survivorship(kind, survivor_id, loser_id)  # checks the two ids
    described = duplicate_queue.records(kind, {survivor_id, loser_id})
    groups = []
    for names, _ in merging.FIELDS[kind]:
        choices = []
        for name in names:
            entry = found[name]
            why, picked_from = _rule_words(entry["rule"], (survivor_id, loser_id))
            choices.append(
                FieldChoice(
                    field=name,
                    label=capfirst(model._meta.get_field(name).verbose_name),
                    survivor=entry["survivor"],
                    loser=entry["loser"],
                    default=entry["default"],
                    rule=entry["rule"],
                    why=why,
                    picked_from=picked_from,
                    shown={
                        side: shown_value(model, name, entry[side]) for side in (*SIDES, "default")
                    },
                )
            )
        groups.append(FieldGroup(tuple(choices)))
    return Proposal(
        kind=kind,
        survivor=described[survivor_id],
        loser=described[loser_id],
        groups=tuple(groups),
        seen={public_id: seen[public_id] for public_id in (survivor_id, loser_id)},
    )


def _rule_words(rule, ids):
    """("the longer", "SUP-000006") of "SUP-000006's: the longer"; (rule, "") otherwise."""
    for public_id in ids:
        if rule.startswith(f"{public_id}'s: "):
            return rule.removeprefix(f"{public_id}'s: "), public_id
    return rule, ""


def shown_value(model, name, value):
    """A field's value (as survivorship gives it) in words: a choice by its label, a unit by
    its name with its code, a master record by its public id and name."""
    if value is None or value == "":
        return Shown("")
    field_ = model._meta.get_field(name)
    if isinstance(value, bool):
        return Shown("yes" if value else "no")
    if field_.is_relation:
        target = field_.related_model
        if target is UnitModel:
            unit = UnitModel.objects.filter(code=value).first()
            return Shown(unit.name if unit else "", str(value))
        record = target.objects.filter(public_id=value).first()
        return Shown(f"{value} {record.name}" if record else str(value))
    if field_.choices:
        return Shown(str(dict(field_.flatchoices).get(value, value)))
    return Shown(str(value))


def default_survivor(kind, a_id, b_id):
    """The record a merge of the two keeps: the one more cross-references point at (fewer
    systems to tell), the lower public id on a tie."""
    described = duplicate_queue.records(kind, {a_id, b_id})
    return min((a_id, b_id), key=lambda public_id: (-described[public_id].references, public_id))


@dataclass(frozen=True)
class Moving:
    """Rows of one sort that a merge would move from the loser, and how many."""

    label: str  # as Merge.moved names them
    count: int
    words: str
    systems: tuple = ()  # SystemReferences, for cross-references


def moving(kind, loser_id):
    """What a merge would move from the loser to the survivor that the hub's own tables hold:
    its active cross-references (by system), revisions, pack conversions, supplier sites,
    child locations or the locations that are a site. (The ledger and open cases are the
    higher apps'.) Only sorts with rows."""
    model = model_of(kind)
    loser = model.objects.filter(public_id=_normal(loser_id)).first()
    if loser is None:
        raise MergeError(f"No {kind} {loser_id}.")
    found = []
    systems = duplicate_queue.system_references(kind, {loser.public_id}).get(loser.public_id, ())
    references = sum(system.references for system in systems)
    if references:
        found.append(
            Moving(
                "xref.crossreference",
                references,
                moved_words("xref.crossreference", references, kind),
                systems,
            )
        )
    if kind == "item":
        counted = (
            ("mdm.itemrevision.item", ItemRevision.objects.filter(item=loser)),
            ("mdm.itemunitconversion.item", ItemUnitConversion.objects.filter(item=loser)),
        )
    elif kind == "supplier":
        counted = (
            ("mdm.suppliersite.supplier", SupplierSite.objects.filter(supplier=loser)),
            ("mdm.itemunitconversion.supplier", ItemUnitConversion.objects.filter(supplier=loser)),
        )
    elif kind == "location":
        counted = (("mdm.location.parent", Location.objects.filter(parent=loser)),)
    else:
        counted = (("mdm.location.supplier_site", Location.objects.filter(supplier_site=loser)),)
    for label, rows in counted:
        count = rows.count()
        if count:
            found.append(Moving(label, count, moved_words(label, count, kind)))
    return found


def references_of(kind, public_id, limit=100):
    """The record's active cross-references (each system's code for it), by system and code:
    after a merge, the loser's codes are among the survivor's."""
    target = TARGETS[kind][0]
    return list(
        CrossReference.objects.filter(
            kind=kind,
            status=CrossReference.Status.ACTIVE,
            **{f"{target}__public_id": _normal(public_id)},
        )
        .select_related("system")
        .order_by("system__name", "code")[:limit]
    )


# --- merges done ----------------------------------------------------------------------------


def merges(kind=None, record=None):
    """Merges, newest first; of one kind, and naming `record` (as survivor or loser)."""
    found = Merge.objects.select_related("decided_by", "undone_by")
    if kind:
        model_of(kind)  # an unknown kind is a MergeError
        found = found.filter(kind=kind)
    if record:
        record = _normal(record)
        found = found.filter(Q(survivor=record) | Q(loser=record))
    return found.order_by("-merged_at", "-id")


def active_merge(kind, loser_id):
    """The merge, not undone, by which `loser_id` was merged into another record; or None."""
    return Merge.objects.filter(kind=kind, loser=_normal(loser_id), undone_at__isnull=True).first()


@dataclass(frozen=True)
class RecordLink:
    """A record a merge names, as it is now."""

    id: str
    name: str = ""
    exists: bool = False
    admin_url: str = ""
    merged_into: str = ""


@dataclass(frozen=True)
class MovedRows:
    label: str
    count: int
    words: str
    kept: bool  # left with the loser, not moved


@dataclass(frozen=True)
class HistoryLine:
    """A history entry a merge or its undoing wrote on one of its two records."""

    at: object
    by: str
    source: str
    record: str
    words: str
    url: str  # the record's history in the admin


@dataclass(frozen=True)
class MergeSummary:
    merge: Merge
    survivor: RecordLink
    loser: RecordLink
    moved: tuple  # MovedRows: moved first, then kept
    taken: tuple  # (field, label) the survivor took from the loser
    history: tuple = field(default=())  # HistoryLine, oldest first

    @property
    def moved_counts(self):
        return {row.label: row.count for row in self.moved}


def described(found):
    """The merges `found` with their records' names and links (one query per kind), what
    moved in words, the fields the survivor took from the loser, and the history entries the
    merge and its undoing wrote on the two records (one query per kind)."""
    found = list(found)
    by_kind = {}
    for merge in found:
        by_kind.setdefault(merge.kind, []).append(merge)
    records, history = {}, {}
    for kind, listed in by_kind.items():
        records[kind] = _records(kind, {m.survivor for m in listed} | {m.loser for m in listed})
        history[kind] = _history(kind, listed)
    summaries = []
    for merge in found:
        rows = history[merge.kind].get(merge.pk, [])
        names = records[merge.kind]
        summaries.append(
            MergeSummary(
                merge=merge,
                survivor=names.get(merge.survivor, RecordLink(merge.survivor)),
                loser=names.get(merge.loser, RecordLink(merge.loser)),
                moved=_moved_rows(merge),
                taken=_taken(merge, rows),
                history=tuple(
                    HistoryLine(
                        at=row.history_date,
                        by=row.history_user.get_username() if row.history_user else "",
                        source=row.get_change_source_display(),
                        record=row.public_id,
                        words=row.history_change_reason,
                        url=_admin_url(merge.kind, "history", row.id),
                    )
                    for row in rows
                ),
            )
        )
    return summaries


def _admin_url(kind, page, pk):
    meta = MODELS[kind]._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{page}", args=[pk])


def _records(kind, public_ids):
    model = MODELS[kind]
    name = duplicate_queue.TEXT_FIELD[kind]
    return {
        public_id: RecordLink(
            id=public_id,
            name=text,
            exists=True,
            admin_url=_admin_url(kind, "change", pk),
            merged_into=merged_into,
        )
        for pk, public_id, text, merged_into in model.objects.filter(
            public_id__in=public_ids
        ).values_list("pk", "public_id", name, "merged_into")
    }


def _history(kind, listed):
    """{merge id: [historical rows]} the merges and their undoing wrote on their records."""
    ids = {pk for m in listed for pk in (m.before["survivor"]["id"], m.before["loser"]["id"])}
    wanted = {m.pk for m in listed}
    rows = (
        MODELS[kind]
        .history.filter(id__in=ids, history_change_reason__startswith="Merge #")
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    found = {}
    for row in rows:
        match = MERGE_REASON.match(row.history_change_reason or "")
        if match and int(match[1]) in wanted:
            found.setdefault(int(match[1]), []).append(row)
    return found


def _taken(merge, rows):
    """(field, label) of the picked fields whose value the survivor took from the loser:
    read from the survivor's history entry the merge wrote (its values right after)."""
    model = MODELS[merge.kind]
    survivor_id = merge.before["survivor"]["id"]
    prefix = f"Merge #{merge.pk}:"
    after = next(
        (r for r in rows if r.id == survivor_id and r.history_change_reason.startswith(prefix)),
        None,
    )
    if after is None:
        return ()
    taken = []
    for names, _ in merging.FIELDS[merge.kind]:
        for name in names:
            field_ = model._meta.get_field(name)
            ours = field_.to_python(merge.before["survivor"].get(field_.attname))
            theirs = field_.to_python(merge.before["loser"].get(field_.attname))
            if ours != theirs and getattr(after, field_.attname) == theirs:
                taken.append((name, capfirst(field_.verbose_name)))
    return tuple(taken)


def _moved_rows(merge):
    rows = [
        MovedRows(label, len(ids), moved_words(label, len(ids), merge.kind), kept)
        for label, ids in merge.moved.items()
        if ids
        for kept in [label.startswith("kept.")]
    ]
    return tuple(sorted(rows, key=lambda row: row.kept))


def moved_words(label, count, kind):
    """A label of Merge.moved ("mdm.suppliersite.supplier", "kept.validation.purchaseorder
    .supplier") with its count in words: "2 supplier sites", "1 purchase order (kept with
    the loser)"."""
    kept = label.startswith("kept.")
    bare = label.removeprefix("kept.")
    noun = MOVED_NOUNS[bare][count != 1] if bare in MOVED_NOUNS else _noun(bare, count, kind)
    return f"{count} {noun}" + (" (kept with the loser)" if kept else "")


def _noun(label, count, kind):
    app_label, model_name, *rest = label.split(".")
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        return label
    noun = str(model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural)
    if rest and rest[0] != kind:  # a purchase order naming a location as its plant
        try:
            how = model._meta.get_field(rest[0]).verbose_name
        except FieldDoesNotExist:  # not a field: the word itself ("replayed")
            how = rest[0].replace("_", " ")
        noun = f"{noun} ({how})"
    return noun


def _normal(public_id):
    return str(public_id or "").strip().upper()
