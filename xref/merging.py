"""Merging one master record into another, and undoing it (issue 19).

    survivorship(kind, survivor_id, loser_id)  both values of each field and the default pick
                                               (the rules: xref.survivorship)
    merge(kind, survivor_id, loser_id, ...)    the loser merged into the survivor: a Merge
    unmerge(merge, ...)                        both records, and every row moved, as before
    resolve_merged(kind, public_id)            the live public id an id stands for now

A merge keeps the survivor's public id. In one transaction, with both records locked (in
public-id order, so two merges never wait for each other in a circle): the survivor takes
the values the steward picked (the defaults of `survivorship` for the rest); the loser gives
up the unique identifiers the survivor takes, becomes inactive and names the survivor in
`merged_into`; everything that pointed at the loser points at the survivor: its
cross-references, its item revisions and pack conversions, its supplier sites, its child
locations, the locations that are a supplier site (only two sites of one supplier merge:
xref.sites), and (through the `records_merged` signal) the rows of higher apps: the
validation ledger, and the quarantine's open cases, replayed once the merge commits. The
loser stays a row, so its public id resolves forever (mdm.models.base.live_record: the
API's detail URL, xref.resolve, xref.services.target_by_key follow it).

Nothing is lost on the way: a row that cannot sit beside the survivor's as it is (a
revision or site code the survivor has already) is renamed (`A` -> `A.ITM-000002`); a pack
conversion the survivor already has for the same dates stays with the loser ("kept."); a
reference whose claim the survivor already holds is retired; a second preferred code for
one system loses its flag. The Merge row keeps both records' values before and every row
moved, renamed, kept or retired, and `unmerge` puts all of it back.
"""

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from mdm.models import Item, ItemRevision, ItemUnitConversion, Location, Supplier, SupplierSite
from mdm.models import Unit as UnitModel
from mdm.models.base import live_record
from xref import duplicates, sites
from xref.models import (
    TARGETS,
    CrossReference,
    DuplicatePair,
    Kind,
    Merge,
    overlapping_claim,
    overlapping_preference,
)
from xref.signals import records_merged, records_unmerged
from xref.survivorship import FIELDS, defaults

logger = logging.getLogger(__name__)

MODELS = {"item": Item, "supplier": Supplier, "location": Location, sites.KIND: SupplierSite}
KIND_BY_PREFIX = {model.PUBLIC_ID_PREFIX: kind for kind, model in MODELS.items()}
# The status a merged record ends with: it is no longer a live record.
MERGED_STATUS = {
    "item": Item.Status.OBSOLETE,
    "supplier": Supplier.Status.INACTIVE,
    "location": Location.Status.INACTIVE,
    sites.KIND: SupplierSite.Status.INACTIVE,
}
# Identifiers no two records may hold (database constraints): the loser gives up the ones
# the survivor takes.
UNIQUE = {"item": ("gtin",), "supplier": ("duns", "lei"), "location": ("gln",), sites.KIND: ()}
# Rows read or updated per statement, well below SQLite's limit on query parameters.
CHUNK = 500
# simple_history's change reason holds this many characters; the Merge keeps the full reason.
REASON_LENGTH = 100


class MergeError(ValueError):
    """A merge or unmerge that cannot be done as asked (a 400): the message says why."""


class MergeConflict(MergeError):
    """A merge or unmerge the records' state refuses (a 409): merged already, changed since
    they were compared, or changed since the merge; the message says what to do instead."""


# --- reading ------------------------------------------------------------------------------


def resolve_merged(kind, public_id):
    """The live public id `public_id` stands for: itself, or the end of its merged_into
    chain (A into B, B into C: C). MergeError for an unknown id or a cycle."""
    model = model_of(kind)
    public_id = _normal(public_id)
    try:
        record = live_record(model, public_id)
    except ValueError as exc:
        raise MergeError(str(exc)) from None
    if record is None:
        raise MergeError(f"No {kind} {public_id}.")
    return record.public_id


def survivorship(kind, survivor_id, loser_id):
    """Each field a steward picks for the merge of `loser_id` into `survivor_id`, with both
    values, the default and why: {field: {"survivor", "loser", "default", "rule"}}. Related
    records are given by natural key (a unit's code, a calendar's or location's public id),
    decimals as text. The rules are xref.survivorship's; this checks the two records."""
    model = model_of(kind)
    survivor_id, loser_id = _pair_ids(kind, survivor_id, loser_id)
    records = {r.public_id: r for r in model.objects.filter(public_id__in=(survivor_id, loser_id))}
    for public_id in (survivor_id, loser_id):
        if public_id not in records:
            raise MergeError(f"No {kind} {public_id}.")
    survivor, loser = records[survivor_id], records[loser_id]
    _refuse_merged(kind, survivor, loser)
    _refuse_apart(kind, survivor, loser)
    return defaults(kind, survivor, loser)


# --- merging ------------------------------------------------------------------------------


def merge(kind, survivor_id, loser_id, *, values=None, user=None, reason="", seen=None):
    """Merge the record `loser_id` into `survivor_id` (both of `kind`) and return the Merge.

    `values`: {field: value} the steward picked (survivorship's defaults for the rest).
    `seen`: {public id: updated_at as ISO text} of the records as the steward compared them;
    a record changed since is a MergeConflict. MergeError (400) for a merge into itself,
    across kinds, an unknown record or field, or a value the record refuses; MergeConflict
    (409) for a merge into a merged record, of a loser merged already, of records changed
    since `seen`, or one that lost a race with another merge. Nothing is changed then."""
    model = model_of(kind)
    survivor_id, loser_id = _pair_ids(kind, survivor_id, loser_id)
    values = dict(values or {})
    editable = [name for fields, _ in FIELDS[kind] for name in fields]
    unknown = sorted(set(values) - set(editable))
    if unknown:
        raise MergeError(
            f"A {kind} merge does not pick {', '.join(unknown)}; "
            f"the fields are {', '.join(editable)}."
        )
    person = _person(user)
    reason = (reason or "").strip()
    try:
        with transaction.atomic():
            survivor, loser = _locked(model, kind, survivor_id, loser_id)
            _refuse_merged(kind, survivor, loser)
            _refuse_apart(kind, survivor, loser)
            _check_seen(seen, survivor, loser)
            chosen = {
                name: entry["default"] for name, entry in defaults(kind, survivor, loser).items()
            }
            chosen.update(values)
            chosen = {name: _value(model, name, value) for name, value in chosen.items()}
            record = Merge.objects.create(
                kind=kind,
                survivor=survivor_id,
                loser=loser_id,
                before={"survivor": _snapshot(survivor), "loser": _snapshot(loser)},
                decided_by=person,
                reason=reason,
            )
            words = f"Merge #{record.pk}: {loser_id} merged into {survivor_id}" + (
                f": {reason}" if reason else "."
            )
            pair = _decide_pair(kind, survivor_id, loser_id, person, reason or words)
            _retire_loser(kind, loser, survivor, chosen, person, words)
            _take_values(kind, survivor, loser, chosen, person, words)
            renamed = {}
            moved = _move_references(kind, survivor, loser, person, words)
            moved.update(_move_children(kind, survivor, loser, person, words, renamed))
            record.before.update(renamed=renamed, pair=pair)
            record.moved = moved
            answers = records_merged.send(
                sender=Merge, kind=kind, survivor=survivor, loser=loser, merge=record
            )
            for _, answer in answers:
                moved.update({label: list(ids) for label, ids in (answer or {}).items()})
            record.save(update_fields=["before", "moved"])
    except IntegrityError as exc:
        logger.warning(
            "Merge of %s into %s refused by the database: %s", loser_id, survivor_id, exc
        )
        raise MergeConflict(
            f"{loser_id} or {survivor_id} was changed or merged by someone else at the same "
            "time; look at both again."
        ) from None
    return record


def _retire_loser(kind, loser, survivor, chosen, user, words):
    """The loser names the survivor, is inactive, and gives up the unique identifiers the
    survivor takes (saved first, so the survivor can take them)."""
    loser.merged_into = survivor.public_id
    loser.status = MERGED_STATUS[kind]
    for name in UNIQUE[kind]:
        if chosen.get(name) and getattr(loser, name) == chosen[name]:
            setattr(loser, name, "")
    _stamp(loser, user, words)
    loser.save()


def _take_values(kind, survivor, loser, chosen, user, words):
    """The survivor with the chosen values, validated as every other write is."""
    for name, value in chosen.items():
        setattr(survivor, name, value)
    if kind == "location" and survivor.parent_id in (survivor.pk, loser.pk):
        raise MergeError(f"{survivor.public_id} cannot have itself or {loser.public_id} as parent.")
    try:
        survivor.full_clean()
    except ValidationError as exc:
        raise MergeError(_sentences(exc)) from None
    _stamp(survivor, user, words)
    survivor.save()


def _decide_pair(kind, survivor_id, loser_id, user, note):
    """The duplicate pair of the two, decided "the same" (what it was before, for the
    unmerge), or None when there is none or it was decided so already."""
    first, second = sorted((survivor_id, loser_id))
    pair = DuplicatePair.objects.filter(kind=kind, record_a=first, record_b=second).first()
    if pair is None or pair.status == DuplicatePair.Status.SAME:
        return None
    before = {"id": pair.pk, "status": pair.status, "note": pair.note}
    duplicates.decide(pair, DuplicatePair.Status.SAME, user, note)
    return before


# --- undoing a merge ------------------------------------------------------------------------


def unmerge(merge, *, user=None, reason=""):
    """Undo `merge`: both records as they were before it, every row it moved back where it
    was (renamed codes, retired references and preferred flags too), in one transaction.
    MergeConflict when it was undone already, the survivor has since been merged into
    another record, a site it moved has since been merged with a site that stays (a
    supplier merge), or a row it moved no longer exists or no longer points at the
    survivor. Returns the Merge, marked undone."""
    person = _person(user)
    reason = (reason or "").strip()
    model = model_of(merge.kind)
    try:
        with transaction.atomic():
            merge = Merge.objects.select_for_update().get(pk=merge.pk)
            if merge.undone_at is not None:
                who = f" by {merge.undone_by.get_username()}" if merge.undone_by else ""
                raise MergeConflict(
                    f"The merge of {merge.loser} into {merge.survivor} was undone on "
                    f"{timezone.localtime(merge.undone_at):%Y-%m-%d}{who}."
                )
            survivor, loser = _locked(model, merge.kind, merge.survivor, merge.loser)
            if survivor.merged_into:
                words = _merged_words(merge.kind, survivor)
                raise MergeConflict(f"{words}; undo that merge first.")
            if loser.merged_into != survivor.public_id:
                words = f"{loser.public_id} is no longer merged into {survivor.public_id}"
                raise MergeConflict(f"{words}.")
            if why := sites.merged_across(merge.moved.get("mdm.suppliersite.supplier", [])):
                raise MergeConflict(why)
            words = f"Merge #{merge.pk} undone: {merge.loser} split from {merge.survivor}" + (
                f": {reason}" if reason else "."
            )
            # The survivor first: it gives back the identifiers the loser had.
            for record, side in ((survivor, "survivor"), (loser, "loser")):
                _restore(record, merge.before[side])
                _stamp(record, person, words)
                record.save()
            _move_back_references(merge, survivor, loser, person, words)
            _move_back_children(merge, survivor, loser, person, words)
            records_unmerged.send(
                sender=Merge, kind=merge.kind, survivor=survivor, loser=loser, merge=merge
            )
            pair = merge.before.get("pair")
            if pair:
                found = DuplicatePair.objects.filter(pk=pair["id"]).first()
                if found is not None and found.status == DuplicatePair.Status.SAME:
                    duplicates.decide(found, pair["status"], person, pair["note"])
            merge.undone_at, merge.undone_by, merge.undo_reason = timezone.now(), person, reason
            merge.save(update_fields=["undone_at", "undone_by", "undo_reason"])
    except IntegrityError as exc:
        logger.warning("Unmerge of merge #%s refused by the database: %s", merge.pk, exc)
        raise MergeConflict(
            f"{merge.loser} cannot be restored beside {merge.survivor} as it was: a value it "
            "had (an identifier, a code) is now another record's."
        ) from None
    return merge


def _restore(record, values):
    for field in record._meta.concrete_fields:
        name = field.attname
        if field.primary_key or name in ("public_id", "created_at", "updated_at"):
            continue
        if name in values:
            setattr(record, name, field.to_python(values[name]))


# --- moving rows: cross-references ----------------------------------------------------------


def _move_references(kind, survivor, loser, user, words):
    """The loser's cross-references, pointed at the survivor (each saved, with history). One
    whose claim the survivor holds already is retired instead; a preferred one whose system
    already has a preferred code for the survivor loses its flag."""
    field, _ = TARGETS[Kind(kind)]
    moved, retired, unpreferred = [], [], []
    references = CrossReference.objects.select_for_update().filter(**{field: loser})
    for reference in references.order_by("pk"):
        setattr(reference, field, survivor)
        active = reference.status == CrossReference.Status.ACTIVE
        clash = overlapping_claim(reference) if active else None
        if clash is not None and clash.target_id == survivor.pk:
            setattr(reference, field, loser)
            reference.status = CrossReference.Status.RETIRED
            retired.append(reference.pk)
        else:
            preferred = reference.is_preferred and active
            if preferred and overlapping_preference(reference) is not None:
                reference.is_preferred = False
                unpreferred.append(reference.pk)
            moved.append(reference.pk)
        _stamp(reference, user, words)
        reference._moved_by_merge = True
        reference.save()
    labels = {
        "xref.crossreference": moved,
        "xref.crossreference.retired": retired,
        "xref.crossreference.unpreferred": unpreferred,
    }
    return {label: ids for label, ids in labels.items() if ids}


def _move_back_references(merge, survivor, loser, user, words):
    field, _ = TARGETS[Kind(merge.kind)]
    moved = merge.moved.get("xref.crossreference", [])
    unpreferred = set(merge.moved.get("xref.crossreference.unpreferred", []))
    for reference in _still_there(CrossReference, field, moved, survivor, "cross-reference"):
        setattr(reference, field, loser)
        if reference.pk in unpreferred:
            reference.is_preferred = True
        _stamp(reference, user, words)
        reference._moved_by_merge = True
        reference.save()
    retired = merge.moved.get("xref.crossreference.retired", [])
    for reference in _still_there(CrossReference, field, retired, loser, "cross-reference"):
        reference.status = CrossReference.Status.ACTIVE
        _stamp(reference, user, words)
        reference._moved_by_merge = True
        reference.save()


# --- moving rows: mdm's own -----------------------------------------------------------------


def _move_children(kind, survivor, loser, user, words, renamed):
    """The loser's revisions and pack conversions (items), sites and supplier conversions
    (suppliers), child locations (locations), the locations that are it (supplier sites),
    pointed at the survivor, each saved with its history. {label: [ids]}; `renamed` gets
    {label: {id: old code}}."""
    suffix = f".{loser.public_id}"
    moved = {}
    if kind == "item":
        moved["mdm.itemrevision.item"] = _move_coded(
            ItemRevision, "item", "revision", survivor, loser, suffix, user, words, renamed
        )
        _move_conversions("item", survivor, loser, user, words, moved)
    elif kind == "supplier":
        moved["mdm.suppliersite.supplier"] = _move_coded(
            SupplierSite, "supplier", "code", survivor, loser, suffix, user, words, renamed
        )
        _move_conversions("supplier", survivor, loser, user, words, moved)
    elif kind == "location":
        children = Location.objects.filter(parent=loser).exclude(pk=survivor.pk).order_by("pk")
        moved["mdm.location.parent"] = [
            _moved(child, "parent", survivor, user, words) for child in children
        ]
    else:
        places = Location.objects.filter(supplier_site=loser).order_by("pk")
        moved["mdm.location.supplier_site"] = [
            _moved(place, "supplier_site", survivor, user, words) for place in places
        ]
    return {label: ids for label, ids in moved.items() if ids}


def _move_coded(model, field, code_field, survivor, loser, suffix, user, words, renamed):
    """Rows with a code unique per parent (revisions, sites): moved, and renamed (the
    loser's public id appended) where the survivor has the code already."""
    label = f"{model._meta.label_lower}.{field}"
    taken = set(model.objects.filter(**{field: survivor}).values_list(code_field, flat=True))
    length = model._meta.get_field(code_field).max_length
    ids = []
    for row in model.objects.filter(**{field: loser}).order_by("pk"):
        code = getattr(row, code_field)
        if code in taken:
            new, number = f"{code[: length - len(suffix)]}{suffix}", 1
            while new in taken:
                number += 1
                tail = f"{suffix}-{number}"
                new = f"{code[: length - len(tail)]}{tail}"
            renamed.setdefault(label, {})[str(row.pk)] = code
            setattr(row, code_field, new)
        taken.add(getattr(row, code_field))
        ids.append(_moved(row, field, survivor, user, words))
    return ids


def _move_conversions(field, survivor, loser, user, words, moved):
    """Pack conversions of the loser (as item, or as supplier): moved, except one the
    survivor already has for overlapping dates, which stays with the loser ("kept.")."""
    label = f"mdm.itemunitconversion.{field}"
    for conversion in ItemUnitConversion.objects.filter(**{field: loser}).order_by("pk"):
        setattr(conversion, field, survivor)
        if _conversion_clash(conversion):
            moved.setdefault(f"kept.{label}", []).append(conversion.pk)
            continue
        moved.setdefault(label, []).append(_moved(conversion, field, survivor, user, words))


def _conversion_clash(conversion):
    same = ItemUnitConversion.objects.filter(
        item_id=conversion.item_id,
        supplier_id=conversion.supplier_id,
        from_unit_id=conversion.from_unit_id,
        to_unit_id=conversion.to_unit_id,
    ).exclude(pk=conversion.pk)
    if conversion.valid_to is not None:
        same = same.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=conversion.valid_to))
    if conversion.valid_from is not None:
        same = same.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=conversion.valid_from))
    return same.exists()


def _moved(row, field, target, user, words):
    setattr(row, field, target)
    _stamp(row, user, words)
    row.save()
    return row.pk


def _move_back_children(merge, survivor, loser, user, words):
    renamed = merge.before.get("renamed", {})
    for label, model, code_field in (
        ("mdm.itemrevision.item", ItemRevision, "revision"),
        ("mdm.suppliersite.supplier", SupplierSite, "code"),
        ("mdm.itemunitconversion.item", ItemUnitConversion, None),
        ("mdm.itemunitconversion.supplier", ItemUnitConversion, None),
        ("mdm.location.parent", Location, None),
        ("mdm.location.supplier_site", Location, None),
    ):
        field = label.rsplit(".", 1)[1]
        codes = renamed.get(label, {})
        noun = model._meta.verbose_name
        for row in _still_there(model, field, merge.moved.get(label, []), survivor, noun):
            if str(row.pk) in codes:
                setattr(row, code_field, codes[str(row.pk)])
            _moved(row, field, loser, user, words)


def _still_there(model, field, ids, owner, noun):
    """The rows `ids` of `model`, each still pointing at `owner` through `field`;
    MergeConflict naming the first missing one otherwise."""
    rows = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows += model.objects.filter(pk__in=chunk, **{field: owner}).order_by("pk")
    if len(rows) != len(ids):
        missing = sorted(set(ids) - {row.pk for row in rows})
        raise MergeConflict(
            f"{len(missing)} {noun}(s) the merge moved (#{missing[0]} first) no longer exist or "
            f"no longer belong to {owner.public_id}; they cannot be moved back."
        )
    return rows


# --- moving rows: a helper for higher apps' receivers -----------------------------------------


def move_rows(model, field, loser, survivor, unique_with=None, keep=None):
    """Point `model.field` at the survivor on every row that points at the loser, set-based
    (for ledgers too large to save row by row), and return {label: [ids]}, the label being
    "app.model.field". A row whose `unique_with` value the survivor has already (a purchase
    order number per supplier), or that the condition `keep` (a Q) names, stays with the
    loser, listed under "kept." + label."""
    label = f"{model._meta.label_lower}.{field}"
    rows = model.objects.filter(**{field: loser})
    kept = Q(pk__in=[])
    if unique_with:
        taken = model.objects.filter(**{field: survivor}).values(unique_with)
        kept |= Q(**{f"{unique_with}__in": taken})
    if keep is not None:
        kept |= keep
    kept = list(rows.filter(kept).values_list("pk", flat=True))
    ids = list(rows.exclude(pk__in=kept).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        model.objects.filter(pk__in=ids[start : start + CHUNK]).update(**{field: survivor})
    found = {label: ids, f"kept.{label}": kept}
    return {name: listed for name, listed in found.items() if listed}


def move_rows_back(model, field, moved, loser, survivor):
    """Undo move_rows(): the rows listed under its label in `moved` point at the loser again.
    MergeConflict when one no longer exists or no longer points at the survivor."""
    label = f"{model._meta.label_lower}.{field}"
    ids = list(moved.get(label, []))
    present = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        present += model.objects.filter(pk__in=chunk, **{field: survivor}).update(**{field: loser})
    if present != len(ids):
        noun = model._meta.verbose_name_plural
        raise MergeConflict(
            f"{len(ids) - present} of the {len(ids)} {noun} the merge moved to "
            f"{survivor.public_id} no longer exist or point elsewhere; they cannot be moved back."
        )


# --- helpers --------------------------------------------------------------------------------


def model_of(kind):
    """The model of a kind of record that merges, else MergeError."""
    if kind not in MODELS:
        raise MergeError(f"Unknown kind {kind!r}; merges join {', '.join(MODELS)} records.")
    return MODELS[kind]


def _normal(public_id):
    return str(public_id or "").strip().upper()


def _pair_ids(kind, survivor_id, loser_id):
    survivor_id, loser_id = _normal(survivor_id), _normal(loser_id)
    for public_id in (survivor_id, loser_id):
        other = KIND_BY_PREFIX.get(public_id.split("-", 1)[0])
        if other is not None and other != kind:
            raise MergeError(
                f"{public_id} is a{'n' if other[0] in 'aeiou' else ''} {other}, not a {kind}: "
                "a merge joins two records of one kind."
            )
    if survivor_id == loser_id:
        raise MergeError(f"{survivor_id} cannot be merged into itself.")
    return survivor_id, loser_id


def _locked(model, kind, survivor_id, loser_id):
    """Both records, locked for the transaction, in public-id order (two merges of one
    record wait for each other, never for each other in a circle)."""
    found = {}
    for public_id in sorted((survivor_id, loser_id)):
        record = model.objects.select_for_update().filter(public_id=public_id).first()
        if record is None:
            raise MergeError(f"No {kind} {public_id}.")
        found[public_id] = record
    return found[survivor_id], found[loser_id]


def _refuse_merged(kind, survivor, loser):
    if survivor.merged_into:
        try:
            live = live_record(type(survivor), survivor.public_id)
        except ValueError:
            live = None
        instead = f"; merge into {live.public_id} instead" if live is not None else ""
        raise MergeConflict(f"{_merged_words(kind, survivor)}{instead}.")
    if loser.merged_into:
        raise MergeConflict(
            f"{_merged_words(kind, loser)}; it cannot be merged again (undo that merge first)."
        )


def _refuse_apart(kind, survivor, loser):
    """MergeError for two sites of two suppliers (xref.sites.two_suppliers)."""
    if kind == sites.KIND and (why := sites.two_suppliers(survivor, loser)):
        raise MergeError(why)


def _merged_words(kind, record):
    """'SUP-000002 was merged into SUP-000001 on 2026-12-07 by alice'"""
    found = (
        Merge.objects.filter(kind=kind, loser=record.public_id, undone_at__isnull=True)
        .select_related("decided_by")
        .first()
    )
    words = f"{record.public_id} was merged into {record.merged_into}"
    if found is not None:
        words += f" on {timezone.localtime(found.merged_at):%Y-%m-%d}"
        if found.decided_by is not None:
            words += f" by {found.decided_by.get_username()}"
    return words


def _check_seen(seen, survivor, loser):
    """MergeConflict when a record changed after the steward compared them."""
    records = {survivor.public_id: survivor, loser.public_id: loser}
    for public_id, stamp in (seen or {}).items():
        record = records.get(_normal(public_id))
        if record is None:
            raise MergeError(f"'seen' names {public_id}, which is neither record of this merge.")
        when = stamp if isinstance(stamp, dt.datetime) else None
        if isinstance(stamp, str):
            try:
                when = parse_datetime(stamp.strip())
            except ValueError:
                when = None
        if when is None:
            raise MergeError(
                f"'seen' for {record.public_id} is not a date and time ({stamp!r}); give the "
                "record's updated_at as it was shown."
            )
        if timezone.is_naive(when):
            when = timezone.make_aware(when)
        if when != record.updated_at:
            latest = record.history.order_by("-history_date").select_related("history_user")
            entry = latest.first()
            who = f" by {entry.history_user.get_username()}" if entry and entry.history_user else ""
            raise MergeConflict(
                f"{record.public_id} was changed{who} at "
                f"{timezone.localtime(record.updated_at):%Y-%m-%d %H:%M:%S}, after the "
                "comparison you saw; compare the records again."
            )


def _snapshot(record):
    """Every stored value of the record, as JSON keeps it."""
    return {field.attname: getattr(record, field.attname) for field in record._meta.concrete_fields}


def _value(model, name, value):
    """A picked value as the model stores it; MergeError naming the field when it cannot be."""
    field = model._meta.get_field(name)
    label = field.verbose_name
    if field.is_relation:
        if value in (None, ""):
            return None
        target = field.related_model
        key = "code" if target is UnitModel else "public_id"
        found = target.objects.filter(**{key: str(value).strip().upper()}).first()
        if found is None:
            raise MergeError(f"{label}: no {target._meta.verbose_name} {value!r}.")
        return found
    if value is None and not field.null and field.empty_strings_allowed:
        value = ""
    try:
        return field.to_python(value)
    except ValidationError as exc:
        raise MergeError(f"{label}: {_sentences(exc)}") from None


def _person(user):
    return user if user is not None and user.is_authenticated else None


def _stamp(row, user, words):
    """Who and why, for the row's history entry."""
    row._history_user = user
    row._change_reason = words[:REASON_LENGTH]


def _sentences(exc):
    if hasattr(exc, "error_dict"):
        return " ".join(
            f"{name}: {' '.join(messages)}" if name != "__all__" else " ".join(messages)
            for name, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)
