"""Kinds whose `clean()` looks at other rows (overlapping revisions, conversions, calendar
exceptions, the location tree) and cross-references (written through the registry): each
row is validated with the full `full_clean()` and saved in turn, so each row sees the rows
before it. A plan saves them too, in a transaction it rolls back (imports.planning): it finds
what the apply would.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from imports.judging import CREATE, UNCHANGED, UPDATE, records_by_key, stamp
from imports.kinds import XREF_TARGET_FORMATS
from imports.rows import xref_diff
from mdm.models import CodeValue, Item, ItemRevision, Location, Supplier, SupplierSite, Unit
from xref.models import TARGETS, CrossReference
from xref.models import Kind as XrefKind
from xref.services import register_reference, update_reference


class RowByRow:
    """Judges and saves the chunks of a row-by-row kind, in file order."""

    def __init__(self, judge, settlement, user):
        self.judge = judge
        self.settlement = settlement
        self.user = user
        self.xref = judge.kind.write == "xref"
        self.targets = {}

    def chunk(self, rows, cells_of):
        judge = self.judge
        for state in rows:
            if not state.errors:
                judge.parse(state, cells_of(state.read))
                self.settlement.check_duplicate(state)
        judge.resolve_refs(rows)
        if self.xref:
            self._resolve_targets(rows)
        judge.find_existing(rows)
        for state in rows:
            if state.key:
                self.settlement.fingerprint_key(state.key, stamp(state.existing))
            if state.errors:
                judge.check_what_parsed(state)
                judge.fail_unresolved(state)
                continue
            if self.xref:
                self._build_xref(state)
            else:
                judge.build(state)
            if state.unresolved:
                judge.check_fields_only(state)
            elif not state.errors and state.action != UNCHANGED:
                try:
                    state.instance.full_clean()
                except ValidationError as exc:
                    judge.fail_validation(state, exc)
                if not state.errors:
                    self._save(state)
        judge.name_old_targets(rows)

    def _save(self, state):
        if self.settlement.aborted:
            return
        if self.xref:
            self._save_xref(state)
            return
        instance = state.instance
        instance._history_user = self.user
        try:
            with transaction.atomic():
                instance.save()
        except (IntegrityError, ValidationError) as exc:
            state.fail(None, database_refusal(exc))
            return
        if state.action == CREATE:
            # A later row of the file may name this record (a location's parent).
            for ref in self.judge.kind.refs:
                if ref.model is self.judge.model:
                    self.judge.ref_cache[ref.field][ref.key_of(instance)] = instance

    # -- cross-references --

    def _resolve_targets(self, rows):
        wanted = {}
        for state in rows:
            if state.errors:
                continue
            kind, target = state.values.get("kind"), state.values.get("target")
            if kind not in XREF_TARGET_LOOKUPS:
                state.fail(
                    "kind", f"{kind!r} is not a kind of reference ({', '.join(XrefKind.values)})."
                )
                continue
            wanted.setdefault(kind, set()).add(target)
        self.targets = {}
        for kind, keys in wanted.items():
            model, lookups, split = XREF_TARGET_LOOKUPS[kind]
            parts = {split(key) for key in keys}
            parts.discard(None)
            found = records_by_key(model, lookups, parts) if parts else {}
            for key in keys:
                split_key = split(key)
                if split_key in found:
                    self.targets[(kind, key)] = found[split_key]

    def _build_xref(self, state):
        resolved = self.judge.resolve(state)
        if state.errors:
            return
        values = state.values
        kind = values["kind"]
        target = self.targets.get((kind, values["target"]))
        if target is None:
            state.fail(
                "target",
                f"No {XrefKind(kind).label.lower()} {values['target']!r} "
                f"(give the {XREF_TARGET_FORMATS[kind]}).",
            )
            return
        reference = state.existing
        stored = reference is not None
        field_name, _ = TARGETS[XrefKind(kind)]
        wanted = {
            "scope": values.get("scope", reference.scope if stored else ""),
            "valid_from": values.get("valid_from"),
            "valid_to": values.get("valid_to", reference.valid_to if stored else None),
            "status": values.get(
                "status", reference.status if stored else CrossReference.Status.ACTIVE
            ),
            "is_preferred": values.get("is_preferred", reference.is_preferred if stored else False),
        }
        if not stored:
            reference = CrossReference(
                kind=kind,
                system=resolved["system"],
                code=values["code"],
                origin=CrossReference.Origin.IMPORT,
                created_by=self.user,
                **wanted,
            )
            setattr(reference, field_name, target)
            state.changes = {}
            state.action = CREATE
        else:
            changes = {
                name: value for name, value in wanted.items() if getattr(reference, name) != value
            }
            if reference.target_id != target.pk:
                changes["target"] = target
            state.changes = changes
            if self.judge.describe:
                state.diff = xref_diff(reference, changes)
                state.record_pk = reference.pk
            for name, value in changes.items():
                setattr(reference, field_name if name == "target" else name, value)
            state.action = UPDATE if changes else UNCHANGED
        state.system = resolved["system"]
        state.target = target
        state.instance = reference

    def _save_xref(self, state):
        reference = state.instance
        try:
            if state.action == CREATE:
                saved, created = register_reference(
                    kind=reference.kind,
                    system=state.system,
                    code=reference.code,
                    target=state.target,
                    scope=reference.scope,
                    valid_from=reference.valid_from,
                    valid_to=reference.valid_to,
                    is_preferred=reference.is_preferred,
                    origin=CrossReference.Origin.IMPORT,
                    user=self.user,
                )
                if not created:
                    state.action = UNCHANGED
                elif reference.status != CrossReference.Status.ACTIVE:
                    update_reference(saved, user=self.user, status=reference.status)
            else:
                stored = CrossReference.objects.get(pk=reference.pk)
                update_reference(stored, user=self.user, **state.changes)
        except ValidationError as exc:
            self.judge.fail_validation(state, exc)


def database_refusal(exc):
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else "integrity error"
    return f"The database refused the row ({first})."


def _split_once(separator, reverse=False):
    def split(key):
        head, sep, tail = key.rpartition(separator) if reverse else key.partition(separator)
        return (head, tail) if sep and head and tail else None

    return split


# xref kind -> (model, lookups of the target's natural key, cell text -> key tuple)
XREF_TARGET_LOOKUPS = {
    "item": (Item, ("number",), lambda key: (key,)),
    "item_revision": (ItemRevision, ("item__number", "revision"), _split_once("/", True)),
    "supplier": (Supplier, ("number",), lambda key: (key,)),
    "supplier_site": (SupplierSite, ("supplier__number", "code"), _split_once("/")),
    "location": (Location, ("code",), lambda key: (key,)),
    "unit": (Unit, ("code",), lambda key: (key.upper(),)),
    "code_value": (CodeValue, ("code_list__code", "code"), _split_once(":")),
}
