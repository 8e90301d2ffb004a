"""Reverting an applied run: records it created are deleted (cross-references withdrawn
through the registry), records it changed get their values from before the run back, read
from the history rows the apply wrote (their change reference is the run's id)."""

from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone

from core.history import Source, change_source
from imports.applying import RunError
from imports.kinds import KINDS
from imports.models import ImportRun
from xref.models import TARGETS, CrossReference
from xref.models import Kind as XrefKind
from xref.services import retire_reference, update_reference


def revert_run(run, user=None):
    """Undo an applied run: records it created are deleted (cross-references withdrawn
    through the registry), records it changed get their values from before the run back.
    Refused, with nothing changed, when a record was changed again after the run.

    The revert claims the run first (applied -> reverted, a conditional UPDATE in its
    transaction): of two reverts at once one runs, and the other, once the first commits,
    finds the run reverted and gets RunError; if the first fails and rolls back, the run is
    applied again for the second."""
    if run.status != ImportRun.Status.APPLIED:
        raise RunError(
            f"Import #{run.pk} is {run.get_status_display().lower()}; only an applied "
            "import can be reverted."
        )
    kind = KINDS[run.kind]
    model = kind.model
    history = model.history.model
    reference = str(run.pk)
    with transaction.atomic(), change_source(Source.IMPORT, reference=f"revert-{run.pk}"):
        now = timezone.now()
        claimed = ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.APPLIED).update(
            status=ImportRun.Status.REVERTED, reverted_at=now, reverted_by=user
        )
        if not claimed:
            raise RunError(
                f"Import #{run.pk} was reverted by another request at the same time; only an "
                "applied import can be reverted."
            )
        # The run's first history row of each record says what it did to it: "+" created
        # it, "~" changed it (the row before holds the values to restore).
        first = {}
        for row in history.objects.filter(
            change_source=Source.IMPORT, change_reference=reference
        ).order_by("-history_id"):
            first[row.id] = row
        ids = list(first)
        # Later runs that were reverted themselves changed nothing in the end.
        undone = [
            ref
            for pk in ImportRun.objects.filter(
                kind=run.kind, status=ImportRun.Status.REVERTED
            ).values_list("pk", flat=True)
            for ref in (str(pk), f"revert-{pk}")
        ]
        conflicts = []
        for start in range(0, len(ids), 1000):
            later = (
                history.objects.filter(id__in=ids[start : start + 1000])
                .exclude(change_reference=reference)
                .exclude(change_source=Source.IMPORT, change_reference__in=undone)
                .values_list("id", "history_id", "history_date", "change_source")
            )
            for record_id, history_id, when, source in later:
                if history_id > first[record_id].history_id:
                    conflicts.append(f"#{record_id} ({source}, {when:%Y-%m-%d %H:%M})")
        if conflicts:
            shown = ", ".join(conflicts[:5]) + (
                f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
            )
            raise RunError(
                f"Cannot revert import #{run.pk}: {len(conflicts)} record(s) were changed after "
                f"it: {shown}. Revert those changes first."
            )
        # Newest first, so a location is deleted before the parent the same run created.
        created = [row.id for row in first.values() if row.history_type == "+"]
        created.sort(reverse=True)
        changed = [row for row in first.values() if row.history_type == "~"]
        try:
            for row in changed:
                _restore(model, kind, row, user)
            if kind.write == "xref":
                for ref in CrossReference.objects.filter(pk__in=created):
                    retire_reference(ref, user=user)
            elif any(ref.model is model for ref in kind.refs):
                # Records of the run may point at each other (a location's parent): one at a
                # time, newest first, so children go before their parents.
                for record in model.objects.filter(pk__in=created).order_by("-pk"):
                    record.delete()
            else:
                for start in range(0, len(created), 1000):
                    model.objects.filter(pk__in=created[start : start + 1000]).delete()
        except (ProtectedError, RestrictedError) as exc:
            objects = list(getattr(exc, "protected_objects", None) or exc.restricted_objects)[:3]
            raise RunError(
                f"Cannot revert import #{run.pk}: records it created are now used by "
                f"{', '.join(str(o) for o in objects)}."
            ) from None
        run.status = ImportRun.Status.REVERTED
        run.reverted_at = now
        run.reverted_by = user
    return run


def _restore(model, kind, row, user):
    previous = row.prev_record
    if previous is None:
        return
    current = model.objects.get(pk=row.id)
    if kind.write == "xref":
        field_name, _ = TARGETS[XrefKind(previous.kind)]
        changes = {
            name: getattr(previous, name)
            for name in ("scope", "code", "valid_from", "valid_to", "status", "is_preferred")
            if getattr(current, name) != getattr(previous, name)
        }
        target_id = getattr(previous, f"{field_name}_id")
        if current.target_id != target_id:
            target_model = TARGETS[XrefKind(previous.kind)][1]
            changes["target"] = target_model.objects.get(pk=target_id)
        if changes:
            update_reference(current, user=user, **changes)
        return
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key or model_field.name in ("created_at", "updated_at"):
            continue
        setattr(current, model_field.attname, getattr(previous, model_field.attname))
    current._history_user = user
    current.save()
