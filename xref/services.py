"""The cross-reference registry: register, change and retire references, and say who took
over from a reference that ended.

Every write goes through `CrossReference.full_clean()`, so the registry refuses exactly what
the admin and the API refuse, with the same sentences. Registration is idempotent: asking for
a mapping that is already registered returns the stored reference instead of a second one.

Concurrency: every write first takes a lock on the claim it makes, so two claims on one code
happen one after the other and the second sees the first (idempotent, or a conflict naming
it). On PostgreSQL that is a transaction-level advisory lock on (system, kind, scope, code):
claims on other codes go on in parallel, and the exclusion constraint
`xref_no_overlapping_claims` stays as the guarantee underneath. Without the lock two inserts
checking the constraint against each other deadlock, and one of them fails. Other databases
(SQLite) take a write lock on the source system's row instead.

Natural keys of canonical records, used by the API and its filters:

    item            ITM-000123            item revision   ITM-000123/B
    supplier        SUP-000045            supplier site   SST-000067
    location        LOC-000007            unit            H87 (UN/ECE Rec 20 or Rec 21 code)
    code value      ACK_LINE_STATUS:accepted (code list code, ":", value code)

The public id of an item, supplier, supplier site or location merged into another
(xref.merging) stands for the live record it was merged into.
"""

from datetime import date

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q

from mdm.models import (
    CodeValue,
    Item,
    ItemRevision,
    Location,
    SourceSystem,
    Supplier,
    SupplierSite,
    Unit,
)
from mdm.models.base import live_record
from xref.models import (
    TARGET_FIELDS,
    TARGETS,
    CrossReference,
    Kind,
    overlapping_claim,
)

# Fields update_reference() may change. `origin`, `created_by` and the timestamps say how a
# reference came to be and stay as they were.
UPDATABLE = frozenset(
    {
        "kind",
        "system",
        "scope",
        "code",
        "target",
        "valid_from",
        "valid_to",
        "status",
        "is_preferred",
    }
)

# Records that can be merged into another (xref.merging): their public ids are followed to
# the live record.
MERGEABLE = (Item, Supplier, SupplierSite, Location)
# Public id prefix -> (kind, foreign key field) for the records known by public id.
PUBLIC_ID_KINDS = {
    Item.PUBLIC_ID_PREFIX: Kind.ITEM,
    Supplier.PUBLIC_ID_PREFIX: Kind.SUPPLIER,
    SupplierSite.PUBLIC_ID_PREFIX: Kind.SUPPLIER_SITE,
    Location.PUBLIC_ID_PREFIX: Kind.LOCATION,
}
REVISION_SEPARATOR = "/"
CODE_VALUE_SEPARATOR = ":"
# Successors are looked up this many references per query, well below SQLite's limit on
# query parameters.
CHUNK = 2000


class ReferenceConflict(ValidationError):
    """The mapping asked for collides with an active reference; `conflict` is that reference
    and the message names it."""

    def __init__(self, message, conflict):
        super().__init__(message, code="conflict")
        self.conflict = conflict


# --- registration ------------------------------------------------------------------------


def register_reference(
    *,
    kind,
    system,
    code,
    target,
    scope="",
    valid_from=None,
    valid_to=None,
    is_preferred=False,
    origin=CrossReference.Origin.MANUAL,
    user=None,
    history_user=None,
    change_reason="",
):
    """Register that `system` calls `target` `code` (within `scope`) from `valid_from` until
    `valid_to`; return (reference, created).

    Idempotent: when an active reference of the same (system, kind, scope, code) already maps
    the same record over the whole period asked for (the same dates, or a period inside its
    own), that reference is returned unchanged with created=False; its preferred flag and
    origin are left as they are (change them with update_reference). Any other active
    reference claiming the code on a shared day raises ReferenceConflict naming it; other
    invalid input raises ValidationError.

    `system` is a SourceSystem or its code; `target` is the canonical record of the kind
    (an Item for "item", a Unit for "unit", ...). `user` registers it (its creator, and the
    user its history names); `history_user` and `change_reason`, when given, are what the
    history says instead: the approver of a change request and why.
    """
    reference = unsaved_reference(
        kind=kind,
        system=system,
        code=code,
        target=target,
        scope=scope,
        valid_from=valid_from,
        valid_to=valid_to,
        is_preferred=is_preferred,
        origin=origin,
        user=user,
    )
    if history_user is not None or user is not None:
        reference._history_user = history_user or user
    if change_reason:
        reference._change_reason = change_reason
    with transaction.atomic():
        _lock_claims(reference)
        existing = _registered(reference)
        if existing is not None:
            return existing, False
        _validate(reference)
        try:
            with transaction.atomic():
                reference.save()
        except IntegrityError:
            # A concurrent registration won the claim (PostgreSQL's exclusion constraint).
            reference.pk = None
            existing = _registered(reference)
            if existing is not None:
                return existing, False
            raise
    return reference, True


def unsaved_reference(
    *,
    kind,
    system,
    code,
    target,
    scope="",
    valid_from=None,
    valid_to=None,
    is_preferred=False,
    origin=CrossReference.Origin.MANUAL,
    user=None,
):
    """The reference register_reference() would save, not saved and not validated (a door
    asks first whether its creation needs approval). ValidationError for an unknown kind or
    system, or a target not of the kind."""
    reference = CrossReference(
        kind=_kind(kind),
        system=_system(system),
        scope=scope or "",
        code=code,
        valid_from=valid_from,
        valid_to=valid_to,
        is_preferred=is_preferred,
        origin=origin,
        created_by=user,
    )
    _set_target(reference, target)
    return reference


def update_reference(reference, *, user=None, **changes):
    """Change a reference (code, scope, dates, status, preferred flag, system, kind, target)
    and return it. Refuses what registration refuses, with ReferenceConflict for a clash."""
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise TypeError(f"update_reference() cannot change {', '.join(sorted(unknown))}.")
    target = changes.pop("target", None)
    if "kind" in changes:
        changes["kind"] = _kind(changes["kind"])
    if "system" in changes:
        changes["system"] = _system(changes["system"])
    for name, value in changes.items():
        setattr(reference, name, value)
    if target is not None:
        _set_target(reference, target)
    if user is not None:
        reference._history_user = user
    with transaction.atomic():
        _lock_claims(reference)
        _validate(reference)
        try:
            with transaction.atomic():
                reference.save()
        except IntegrityError:
            clash = overlapping_claim(reference)
            if clash is None:
                raise
            raise _conflict(reference, clash) from None
    return reference


def retire_reference(reference, on_date=None, user=None):
    """End a reference: from `on_date` on, the code no longer means the record; before it,
    it still does (so messages dated earlier still resolve). Without a date, or with one on
    or before the day the reference starts, the reference is withdrawn altogether (status
    retired: it never meant the record). Retiring an already ended reference again changes
    nothing."""
    if reference.status == CrossReference.Status.RETIRED:
        return reference
    if on_date is None or (reference.valid_from is not None and on_date <= reference.valid_from):
        return update_reference(reference, user=user, status=CrossReference.Status.RETIRED)
    if reference.valid_to is not None and reference.valid_to <= on_date:
        return reference
    return update_reference(reference, user=user, valid_to=on_date)


# --- successors -----------------------------------------------------------------------------


def successor_of(reference):
    """The reference that took over when `reference` ended, or None.

    Looked for in this order, each time among active references that start on or after the
    day this one ends (any day, for a withdrawn reference), earliest first, a preferred one
    before others:
    1. the same system, kind and scope gave the same record a new code (renumbering);
    2. the same system, kind and scope use the same code for another record (code reused);
    3. another system now holds a code for the same record (a cut-over from one system to
       another, e.g. ERP_LEGACY to ERP_CLOUD).
    A reference still open-ended has no successor.
    """
    return successors_of([reference])[reference.pk]


def successors_of(references):
    """successor_of() for many references at once: {reference.pk: successor or None}. Two
    queries per kind (per CHUNK references), however many references are asked about."""
    result = {reference.pk: None for reference in references}
    ended = [r for r in references if r.status == CrossReference.Status.RETIRED or r.valid_to]
    by_kind = {}
    for reference in ended:
        by_kind.setdefault(reference.kind, []).append(reference)
    for kind, group in by_kind.items():
        for start in range(0, len(group), CHUNK):
            chunk = group[start : start + CHUNK]
            for reference, successor in _successors(kind, chunk):
                result[reference.pk] = successor
    return result


def _successors(kind, references):
    field, _ = TARGETS[Kind(kind)]
    active = CrossReference.objects.filter(
        kind=kind, status=CrossReference.Status.ACTIVE
    ).select_related("system")
    same_target = active.filter(**{f"{field}_id__in": {r.target_id for r in references}})
    same_code = active.filter(
        system_id__in={r.system_id for r in references}, code__in={r.code for r in references}
    )
    by_target, by_code = {}, {}
    for candidate in same_target:
        by_target.setdefault(candidate.target_id, []).append(candidate)
    for candidate in same_code:
        by_code.setdefault((candidate.system_id, candidate.code), []).append(candidate)

    for reference in references:

        def later(candidate, reference=reference):
            if candidate.pk == reference.pk:
                return False
            if reference.status == CrossReference.Status.RETIRED or reference.valid_to is None:
                return True  # withdrawn: whatever holds the code or the record now
            return candidate.valid_from is not None and candidate.valid_from >= reference.valid_to

        targets = [c for c in by_target.get(reference.target_id, []) if later(c)]
        codes = [
            c
            for c in by_code.get((reference.system_id, reference.code), [])
            if c.scope == reference.scope and later(c)
        ]
        same_system = [
            c for c in targets if c.system_id == reference.system_id and c.scope == reference.scope
        ]
        other_system = [c for c in targets if c.system_id != reference.system_id]
        for candidates in (same_system, codes, other_system):
            if candidates:
                yield reference, min(candidates, key=_succession_order)
                break


def _succession_order(candidate):
    return (
        candidate.valid_from or date.min,
        not candidate.is_preferred,
        candidate.system.code,
        candidate.scope,
        candidate.code,
        candidate.pk,
    )


# --- natural keys of canonical records ----------------------------------------------------


def preferred_codes(references):
    """{target: the system's code for it} from (target, code, is_preferred, scope) of one
    system's references in force: the preferred one, else the only one; of several, the
    unscoped one. A target left with several codes, or none, is not in the answer."""
    found = {}
    for target, code, preferred, scope in references:
        found.setdefault(target, []).append((not preferred, bool(scope), code))
    codes = {}
    for target, candidates in found.items():
        chosen = [c for c in candidates if not c[0]] or candidates
        if len({code for _, _, code in chosen}) > 1:
            chosen = [c for c in chosen if not c[1]]
        if len({code for _, _, code in chosen}) == 1:
            codes[target] = chosen[0][2]
    return codes


def target_key(kind, target):
    """The natural key of a canonical record as the API writes it (see the module
    docstring)."""
    kind = Kind(kind)
    if kind == Kind.ITEM_REVISION:
        return f"{target.item.public_id}{REVISION_SEPARATOR}{target.revision}"
    if kind == Kind.CODE_VALUE:
        return f"{target.code_list.code}{CODE_VALUE_SEPARATOR}{target.code}"
    if kind == Kind.UNIT:
        return target.code
    return target.public_id


def target_name(kind, target):
    """What a person calls the record: an item's description, a code value's meaning, the
    name of anything else."""
    kind = Kind(kind)
    if kind == Kind.ITEM:
        return target.description
    if kind == Kind.ITEM_REVISION:
        return target.description or f"{target.item.description}, revision {target.revision}"
    if kind == Kind.CODE_VALUE:
        return target.meaning
    return target.name


def target_by_key(kind, key):
    """The canonical record of `kind` with natural key `key`; ValidationError naming the key
    when there is none."""
    kind = _kind(kind)
    key = (key or "").strip()
    formats = {
        Kind.ITEM_REVISION: "ITM-000123/B",
        Kind.CODE_VALUE: "ACK_LINE_STATUS:accepted",
    }
    try:
        if kind == Kind.ITEM_REVISION:
            item, _, revision = key.rpartition(REVISION_SEPARATOR)
            return ItemRevision.objects.select_related("item").get(
                item__public_id=item.upper(), revision=revision
            )
        if kind == Kind.CODE_VALUE:
            code_list, _, code = key.partition(CODE_VALUE_SEPARATOR)
            return CodeValue.objects.select_related("code_list").get(
                code_list__code=code_list, code=code
            )
        if kind == Kind.UNIT:
            return Unit.objects.get(code=key.upper())
        _, model = TARGETS[kind]
        if model in MERGEABLE:  # a merged record's id stands for the record it was merged into
            record = live_record(model, key.upper())
            if record is not None:
                return record
        return model.objects.get(public_id=key.upper())
    except ValueError as exc:  # a broken chain of merges
        raise ValidationError({"target": str(exc)}) from None
    except ObjectDoesNotExist:
        pass
    hint = f" (give it as {formats[kind]})" if kind in formats else ""
    raise ValidationError({"target": f"No {kind.label.lower()} {key!r}{hint}."})


def target_condition(key):
    """A filter on references whose canonical record has natural key `key`, whatever its
    kind: ITM-... items, SUP-... suppliers, ITM-.../B revisions, LIST:VALUE code values,
    anything else a unit code."""
    key = key.strip()
    if REVISION_SEPARATOR in key:
        item, _, revision = key.rpartition(REVISION_SEPARATOR)
        return Q(
            kind=Kind.ITEM_REVISION,
            item_revision__item__public_id=item.upper(),
            item_revision__revision=revision,
        )
    if CODE_VALUE_SEPARATOR in key:
        code_list, _, code = key.partition(CODE_VALUE_SEPARATOR)
        return Q(kind=Kind.CODE_VALUE, code_value__code_list__code=code_list, code_value__code=code)
    prefix = key.split("-", 1)[0].upper()
    if prefix in PUBLIC_ID_KINDS:
        kind = PUBLIC_ID_KINDS[prefix]
        field, model = TARGETS[kind]
        public_id = key.upper()
        if model in MERGEABLE:  # a merged record's references are the live record's now
            try:
                record = live_record(model, public_id)
            except ValueError:
                record = None
            public_id = record.public_id if record is not None else public_id
        return Q(kind=kind, **{f"{field}__public_id": public_id})
    return Q(kind=Kind.UNIT, unit_id=key.upper())


# --- helpers --------------------------------------------------------------------------------


def _kind(kind):
    try:
        return Kind(kind)
    except ValueError:
        choices = ", ".join(Kind.values)
        message = f"{kind!r} is not a kind of reference ({choices})."
        raise ValidationError({"kind": message}) from None


def _system(system):
    if isinstance(system, SourceSystem):
        return system
    found = SourceSystem.objects.filter(code=system).first()
    if found is None:
        raise ValidationError({"system": f"No source system {system!r}."})
    return found


def _set_target(reference, target):
    """Point the reference at `target` through the foreign key of its kind, and at nothing
    else."""
    field, model = TARGETS[Kind(reference.kind)]
    if not isinstance(target, model):
        raise ValidationError(
            {
                "target": f"A {Kind(reference.kind).label.lower()} reference points at a "
                f"{model._meta.verbose_name}, not at {target!r}."
            }
        )
    for other in TARGET_FIELDS:
        if other != field:
            setattr(reference, other, None)
    setattr(reference, field, target)


def _lock_claims(reference):
    """Serialize claims on the code `reference` claims, until the transaction ends. PostgreSQL:
    an advisory lock on (system, kind, scope, code). Elsewhere: the no-op UPDATE takes the
    write lock (SQLite) or the row lock (others) on the source system."""
    if connection.vendor == "postgresql":
        key = "\x1f".join(
            (str(reference.system_id), reference.kind, reference.scope, reference.code)
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])
    else:
        SourceSystem.objects.filter(pk=reference.system_id).update(code=F("code"))


def _covers(existing, reference):
    starts = existing.valid_from is None or (
        reference.valid_from is not None and existing.valid_from <= reference.valid_from
    )
    ends = existing.valid_to is None or (
        reference.valid_to is not None and reference.valid_to <= existing.valid_to
    )
    return starts and ends


def _registered(reference):
    """The active reference that already makes this registration, None when there is none;
    ReferenceConflict when another reference claims the code on a shared day."""
    clash = overlapping_claim(reference)
    if clash is None:
        return None
    if clash.target_id == reference.target_id and _covers(clash, reference):
        return clash
    raise _conflict(reference, clash)


def _validate(reference):
    """full_clean(); a refusal that is only an overlapping claim becomes ReferenceConflict."""
    try:
        reference.full_clean()
    except ValidationError as exc:
        clash = overlapping_claim(reference) if reference.system_id else None
        if clash is not None and set(exc.message_dict) == {NON_FIELD_ERRORS}:
            raise ReferenceConflict(" ".join(exc.messages), clash) from None
        raise


def _conflict(reference, clash):
    """ReferenceConflict with the model's own sentence naming the clashing reference."""
    try:
        reference.clean()
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            return ReferenceConflict(" ".join(exc.messages), clash)
    return ReferenceConflict(
        f"{clash.system.code} {clash.kind} code {clash.code!r} is already claimed by "
        f"reference #{clash.pk}.",
        clash,
    )
