"""Change requests: a change a policy says needs approval is held as a request (`hold`,
`ask`) instead of written; a person with the approver permission who is not the requester
approves it (`approve`: applied in one transaction, refused if the records changed since)
or rejects it; the requester withdraws or rebases it; a person with the emergency permission
applies it at once (`apply_now`), and it still needs approval after the fact.

Every door a person changes records through (the admin, the API, an import's apply, the
quarantine's fixes) asks `hold` first and writes nothing when it answers a Proposal.
"""

from dataclasses import dataclass, field

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from changes import diffs, policies
from changes.models import ChangeItem, ChangeRequest
from changes.registry import BATCHES, governed
from core.history import change_source, current_change_source

APPROVE = "changes.approve_changerequest"
EMERGENCY = "changes.emergency_changerequest"
Status = ChangeRequest.Status
Action = ChangeItem.Action


class Refused(Exception):
    """A step on a request that cannot be taken; the message says why, for a person."""


class Stale(Refused):
    """The records changed since the request was made: rebase it."""


@dataclass
class Proposal:
    """One record's change, not written: what a request item will hold."""

    model: str
    object_id: str
    action: str
    label: str
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    systems: tuple = ()
    policies: tuple = ()


# --- holding a change -------------------------------------------------------------------------


def hold(instance, action):
    """The Proposal of this change when a policy says it needs approval, else None (write it).
    `instance` holds the change: for an update, the record as edited (compared with the
    stored one); for a creation, the new unsaved record; for a deletion, the record."""
    proposal = propose(instance, action)
    if proposal is None:
        return None
    found = policies.covering(instance, action, changed=proposal.after, systems=proposal.systems)
    if not found:
        return None
    proposal.policies = tuple(found)
    return proposal


def propose(instance, action):
    """The Proposal of this change whether or not a policy asks for approval (a person may ask
    for a second pair of eyes anyway); None for a kind no app governs or an update that
    changes nothing."""
    kind = governed(instance)
    if kind is None:
        return None
    model = type(instance)
    before, after, systems = {}, {}, {kind.system_of(instance)}
    label = kind.words(instance)
    if action == policies.UPDATE:
        stored = model._base_manager.get(pk=instance.pk)
        before, after = diffs.difference(instance, stored)
        if not after:
            return None
        systems.add(kind.system_of(stored))
        label = kind.words(stored)  # the record as it is known until the change
    elif action == policies.CREATE:
        after = diffs.snapshot(instance)
    else:
        before = diffs.snapshot(instance)
    systems.discard("")
    return Proposal(
        model=kind.model,
        object_id="" if action == policies.CREATE else str(instance.pk),
        action=action,
        label=label[:300],
        before=before,
        after=after,
        systems=tuple(sorted(systems)),
    )


def ask(proposals, *, by, reason, source, title=None):
    """A request holding `proposals` (one or more records' changes), asked by `by` for
    `reason` through `source` (admin, api, web). ValidationError without a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "This change needs approval: say why it is made."})
    proposals = list(proposals)
    if not proposals:
        raise ValidationError("Nothing to change.")
    kinds = {p.model for p in proposals}
    with transaction.atomic():
        request = ChangeRequest.objects.create(
            kind=kinds.pop() if len(kinds) == 1 else "several",
            title=(title or _title(proposals))[:300],
            systems=sorted({s for p in proposals for s in p.systems}),
            reason=reason,
            source=source,
            requested_by=by,
        )
        ChangeItem.objects.bulk_create(
            ChangeItem(
                request=request,
                position=n,
                model=p.model,
                object_id=p.object_id,
                action=p.action,
                label=p.label,
                before=p.before,
                after=p.after,
            )
            for n, p in enumerate(proposals, start=1)
        )
    return request


def ask_batch(name, reference, *, by, reason, source, title, systems=()):
    """A request for a batch applied as a whole (an import run: `name` "imports.run")."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "This change needs approval: say why it is made."})
    if name not in BATCHES:
        raise ValueError(f"No batch {name!r} is registered.")
    return ChangeRequest.objects.create(
        kind=name,
        title=title[:300],
        systems=sorted(systems),
        reason=reason,
        source=source,
        batch=name,
        batch_reference=str(reference),
        requested_by=by,
    )


def _title(proposals):
    first = proposals[0]
    kind = governed(first.model)
    verb = {Action.CREATE: "New", Action.UPDATE: "Change to", Action.DELETE: "Deletion of"}
    text = f"{verb[first.action]} {kind.title.lower() if kind else first.model}: {first.label}"
    if first.action == Action.UPDATE:
        text += " (" + ", ".join(first.after) + ")"
    if len(proposals) > 1:
        text += f" and {len(proposals) - 1} more"
    return text


# --- deciding -------------------------------------------------------------------------------


def approve(request, *, by, comment=""):
    """Approve: an open request is applied in one transaction (Stale, and nothing written, if
    a record changed since); an emergency change is recorded as approved after the fact."""
    with transaction.atomic():
        locked = _lock(request)
        _require_reviewer(locked, by)
        now = timezone.now()
        if locked.status == Status.OPEN:
            _apply(
                locked,
                by,
                f"{locked.number} asked by {_name(locked.requested_by)}, approved by {_name(by)}",
            )
            locked.status = Status.APPLIED
        elif not locked.awaits_approval:
            raise Refused(f"{locked.number} is {locked.get_status_display().lower()} already.")
        locked.decided_by, locked.decided_at, locked.comment = by, now, (comment or "").strip()
        locked.save(update_fields=["status", "decided_by", "decided_at", "comment"])
    return locked


def reject(request, *, by, comment):
    """Reject with a comment saying why. An emergency change stays applied: the rejection
    records the disagreement, and undoing it is a new change."""
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": "Say why the change is rejected."})
    with transaction.atomic():
        locked = _lock(request)
        _require_reviewer(locked, by)
        if not locked.awaits_approval:
            raise Refused(f"{locked.number} is {locked.get_status_display().lower()} already.")
        locked.status = Status.REJECTED
        locked.decided_by, locked.decided_at, locked.comment = by, timezone.now(), comment
        locked.save(update_fields=["status", "decided_by", "decided_at", "comment"])
    return locked


def withdraw(request, *, by):
    """The requester takes back an open request."""
    with transaction.atomic():
        locked = _lock(request)
        _require_requester(locked, by)
        locked.status = Status.WITHDRAWN
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_at"])
    return locked


def rebase(request, *, by):
    """The requester brings an open request up to date with the records as they are now:
    each update's "before" becomes the stored values, fields now holding the requested value
    drop out, and a record deleted since is refused (Refused: withdraw it)."""
    with transaction.atomic():
        locked = _lock(request)
        _require_requester(locked, by)
        if locked.batch:
            raise Refused(f"{locked.number} is an import run: plan the file again instead.")
        kept = 0
        for item in locked.items.all():
            if item.action == Action.CREATE:
                kept += 1
                continue
            stored = _stored(item)
            if stored is None:
                raise Refused(f"{item.label} was deleted since the request: withdraw it.")
            if item.action == Action.DELETE:
                item.before = diffs.snapshot(stored)
            else:
                current = diffs.snapshot(stored, names=item.after)
                changed = {
                    name: value
                    for name, value in item.after.items()
                    if not diffs.same(stored._meta.get_field(name), value, current[name])
                }
                if not changed:
                    item.delete()
                    continue
                item.before = {name: current[name] for name in changed}
                item.after = changed
            item.save(update_fields=["before", "after"])
            kept += 1
        if not kept:
            raise Refused(
                f"The records already hold what {locked.number} asks for: nothing is left to "
                "approve; withdraw it."
            )
        locked.rebased_at = timezone.now()
        locked.save(update_fields=["rebased_at"])
    return locked


def apply_now(request, *, by, reason):
    """An emergency: someone with the emergency permission applies an open request at once;
    it then waits for another person's approval after the fact."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why this change cannot wait for approval."})
    if not by.has_perm(EMERGENCY):
        raise PermissionDenied("Applying a change before approval needs the emergency permission.")
    with transaction.atomic():
        locked = _lock(request)
        if locked.status != Status.OPEN:
            raise Refused(f"{locked.number} is {locked.get_status_display().lower()} already.")
        _apply(locked, by, f"{locked.number} applied as an emergency by {_name(by)}")
        locked.status = Status.APPLIED
        locked.emergency_by, locked.emergency_at = by, timezone.now()
        locked.emergency_reason = reason
        locked.save(update_fields=["status", "emergency_by", "emergency_at", "emergency_reason"])
    return locked


def to_review(user, queryset=None):
    """The requests (of `queryset`, by default all) waiting for `user`'s review: awaiting
    approval (open, or applied as an emergency and not yet approved), asked and applied by
    others; none for a user without the approver permission, who reviews nothing."""
    queryset = ChangeRequest.objects.all() if queryset is None else queryset
    if user is None or not user.is_authenticated or not user.has_perm(APPROVE):
        return queryset.none()
    awaiting = Q(status=Status.OPEN) | Q(
        status=Status.APPLIED, emergency_at__isnull=False, decided_at__isnull=True
    )
    return queryset.filter(awaiting).exclude(requested_by=user).exclude(emergency_by=user)


def emergency_unapproved():
    """Emergency changes not yet approved after the fact, oldest first."""
    return ChangeRequest.objects.filter(
        status=Status.APPLIED, emergency_at__isnull=False, decided_at__isnull=True
    ).order_by("emergency_at")


# --- applying --------------------------------------------------------------------------------


def departures(request):
    """[(item, field words, value asked over, value now)] where a record no longer holds what
    the request saw (a deleted record: field words "the record", now None). Empty: fresh."""
    return [
        (item, "the record", "there", None)
        if model_field is None
        else (item, model_field.verbose_name, expected, current)
        for item, model_field, expected, current in _departed(request)
    ]


def departures_in_words(request):
    """departures() for a person: [(item, field words, value asked over, value now)] with
    the values in words (a choice by its label, a related record by its name)."""
    return [
        (item, "the record", "there", "deleted")
        if model_field is None
        else (
            item,
            str(model_field.verbose_name),
            diffs.value_words(model_field, expected),
            diffs.value_words(model_field, current),
        )
        for item, model_field, expected, current in _departed(request)
    ]


def _departed(request):
    """(item, model field or None for a deleted record, value asked over, value now)."""
    for item in request.items.all():
        if item.action == Action.CREATE:
            continue
        stored = _stored(item)
        if stored is None:
            yield item, None, None, None
            continue
        for model_field, expected, current in diffs.departures(stored, item.before):
            yield item, model_field, expected, current


def _apply(request, by, reason):
    source, _ = current_change_source()
    with change_source(source, reference=request.number):
        if request.batch:
            BATCHES[request.batch].apply(request.batch_reference, by, reason)
            return
        for item in request.items.all():
            _apply_item(item, by, reason[:100])


def _apply_item(item, by, reason):
    model = apps.get_model(item.model)
    if item.action == Action.CREATE:
        instance = model()
    else:
        instance = model._base_manager.select_for_update().filter(pk=item.object_id).first()
        if instance is None:
            raise Stale(f"{item.label} was deleted since the request. Nothing was changed.")
        moved = diffs.departures(instance, item.before)
        if moved:
            model_field, expected, current = moved[0]
            raise Stale(
                f"{item.label} changed since the request: {model_field.verbose_name} is now "
                f"{_shown(diffs.value_words(model_field, current))}, it was "
                f"{_shown(diffs.value_words(model_field, expected))}. Nothing was changed; "
                "the requester can rebase the request."
            )
    instance._history_user = by
    instance._change_reason = reason
    if item.action == Action.DELETE:
        instance.delete()
        return
    diffs.assign(instance, item.after)
    kind = governed(item.model)
    try:
        if kind is not None and kind.apply is not None:
            kind.apply(item, instance, by, reason)
        else:
            instance.full_clean()
            instance.save()
    except ValidationError as exc:
        raise Refused(
            f"{item.label}: the change no longer fits: {' '.join(exc.messages)} Nothing was "
            "changed."
        ) from exc


def _stored(item):
    return apps.get_model(item.model)._base_manager.filter(pk=item.object_id).first()


def _shown(value):
    return "empty" if value in (None, "") else str(value)


# --- who may ---------------------------------------------------------------------------------


def _lock(request):
    return ChangeRequest.objects.select_for_update().get(pk=request.pk)


def _require_reviewer(request, by):
    if not by.has_perm(APPROVE):
        raise PermissionDenied("Approving or rejecting a change needs the approver permission.")
    if by.pk in (request.requested_by_id, request.emergency_by_id):
        raise PermissionDenied(
            f"{_name(by)} asked for {request.number}"
            + (" or applied it" if by.pk == request.emergency_by_id else "")
            + ": another person must review it."
        )


def _require_requester(request, by):
    if by.pk != request.requested_by_id:
        raise PermissionDenied(f"Only {_name(request.requested_by)}, who asked, can do that.")
    if request.status != Status.OPEN:
        raise Refused(f"{request.number} is {request.get_status_display().lower()} already.")


def _name(user):
    return user.get_full_name() or user.get_username()
