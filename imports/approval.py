"""Import runs that need approval: a run whose apply would create or change records an
approval policy covers (changes.policies) is not applied when its apply is asked for, at any
door (the screen, the API, the apply after planning, the command). It waits for approval
instead, held by one change request for the whole run (`ask`), and is applied all or none,
by the existing apply, when another person approves the request (`apply_approved`, the
"imports.run" batch of changes.registry, registered in imports.apps).

Which policies cover a run is read from its plan (`covering`): the kind's policies naming no
field cover any new or changed record, those naming fields cover an update of one of them,
and those naming systems only the rows of those systems (cross-references). A request
rejected or withdrawn puts the run back to planned: nothing of it was written, and its apply
may be asked for again (`release`, on the request's save).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.urls import reverse

from changes import requests
from changes.models import ApprovalPolicy, ChangeRequest
from core.history import Source
from imports.applying import AlreadyApplying, apply_claimed, check_can_apply
from imports.kinds import KINDS
from imports.models import ImportRun

BATCH = "imports.run"
Status = ImportRun.Status


def covering(run):
    """The active policies that make the run's apply need approval, from what its plan
    creates and changes (none when it changes nothing). A plan made before plans recorded
    what they change (no scope) is covered by every policy of its kind."""
    counts = run.plan_counts or {}
    if not counts.get("create") and not counts.get("update"):
        return []
    label = KINDS[run.kind].model._meta.label_lower
    policies = list(ApprovalPolicy.objects.filter(active=True, kind=label))
    if not policies or not run.plan_scope:
        return policies
    touched = [(system, name) for system, name in run.plan_scope]
    found = []
    for policy in policies:
        rows = [pair for pair in touched if not policy.systems or pair[0] in policy.systems]
        if policy.fields:
            rows = [pair for pair in rows if pair[1] in policy.fields]
        if rows:
            found.append(policy)
    return found


def ask(run, *, by, reason):
    """Hold a planned run's apply as one change request asked by `by` for `reason`: the run
    awaits approval and nothing is written. ValidationError (nothing changed) without a
    reason or a person asking; RunError when the run cannot be applied (of two requests at
    once, one asks and the other gets AlreadyApplying)."""
    check_can_apply(run)
    reason = (reason or "").strip()
    if by is None or not by.is_authenticated:
        raise ValidationError(
            "This import changes records that need approval: its apply must be asked for by "
            "a person, with a reason."
        )
    if not reason:
        raise ValidationError({"reason": needs_reason(run)})
    with transaction.atomic():
        claimed = ImportRun.objects.filter(pk=run.pk, status=Status.PLANNED).update(
            status=Status.AWAITING_APPROVAL,
            mode=ImportRun.Mode.APPLY,
            skip_errors=run.skip_errors,
            applied_by=by,
            apply_reason=reason,
            message="",
        )
        if not claimed:
            run.refresh_from_db()
            check_can_apply(run)  # what another request made of it
            raise AlreadyApplying(f"Import #{run.pk} is already being applied.")
        change_request = requests.ask_batch(
            BATCH,
            run.pk,
            by=by,
            reason=reason,
            source=Source.IMPORT,
            title=title(run),
            systems=systems(run),
        )
        ImportRun.objects.filter(pk=run.pk).update(change_request=change_request)
    run.refresh_from_db()
    return run


def ask_after_plan(run):
    """The apply a run asked for with its upload (mode apply), now that its plan says it
    needs approval: asked by whoever asked for the apply, for the reason they gave. Without
    a reason the run stays planned and says what is missing."""
    try:
        return ask(run, by=run.applied_by or run.created_by, reason=run.apply_reason)
    except ValidationError as exc:
        run.message = "Not applied: " + " ".join(exc.messages) + " Nothing was written."
        run.save(update_fields=["message"])
        return run


def needs_reason(run):
    """What a door says when a run needing approval comes without a reason."""
    named = "; ".join(policy_words(p) for p in covering(run)) or "an approval policy"
    return (
        f"This import needs approval by another person ({named}): give the reason for the change."
    )


def policy_words(policy):
    """A policy in words: "cross-references of ERP_LEGACY, fields status"."""
    kind = next((k for k in KINDS.values() if k.model._meta.label_lower == policy.kind), None)
    words = kind.label.lower() if kind else policy.kind
    if policy.systems:
        words += " of " + ", ".join(policy.systems)
    if policy.fields:
        words += ", changes of " + ", ".join(policy.fields)
    return words


def title(run):
    """The request's title: "Import of xrefs.csv: 3 new, 1 changed cross-references"."""
    counts = run.plan_counts
    return (
        f"Import of {run.file_name}: {counts.get('create', 0)} new, "
        f"{counts.get('update', 0)} changed {KINDS[run.kind].label.lower()}"
    )


def systems(run):
    """Codes of the systems whose records the run creates or changes."""
    return sorted({system for system, _ in run.plan_scope if system})


# --- the batch: applying and describing an approved run -----------------------------------------


def apply_approved(reference, by, reason):
    """Apply an approved run, all or none, in the approval's transaction, through the
    existing apply: the approver is recorded as who applied it, on the run and on the
    history rows, with the request in their change reason. Stale (nothing written) when the
    data changed since the plan; Refused when a row fails, or the run is not awaiting
    approval."""
    run = ImportRun.objects.select_related("change_request").filter(pk=reference).first()
    if run is None:
        raise requests.Refused(f"Import #{reference} was deleted. Nothing was changed.")
    if run.status != Status.AWAITING_APPROVAL:
        raise requests.Refused(
            f"Import #{run.pk} is {run.get_status_display().lower()}, not awaiting approval. "
            "Nothing was changed."
        )
    # The run's row is not written before the apply: on PostgreSQL the apply reports its
    # progress on the run through a connection of its own, which would wait on the lock.
    run.status = Status.RUNNING
    run.applied_by = by
    ended = apply_claimed(run, user=by)
    if ended.status == Status.REFUSED:
        raise requests.Stale(
            f"The data changed since the plan of import #{run.pk} ({run.file_name}): records "
            "this file changes were changed, created or deleted since, or the file itself. "
            "Nothing was written; plan the file again (upload it anew) and ask again."
        )
    if ended.status != Status.APPLIED:
        raise requests.Refused(
            f"Import #{run.pk} ({run.file_name}) could not be applied: {ended.message} "
            + " ".join(ended.error_lines()[:3])
        )
    history = KINDS[run.kind].model.history.model
    history.objects.filter(change_source=Source.IMPORT, change_reference=str(run.pk)).update(
        history_change_reason=reason[:100]
    )


def describe(reference):
    """(title, the run's page, [(words, count)]) of a run, for the request's page."""
    run = ImportRun.objects.filter(pk=reference).first()
    if run is None:
        return (f"Import #{reference} (deleted)", "", [])
    label = KINDS[run.kind].label.lower()
    counts = run.plan_counts
    lines = [
        (f"New {label}", counts.get("create", 0)),
        (f"Changed {label}", counts.get("update", 0)),
        ("Rows that change nothing", counts.get("unchanged", 0)),
    ]
    if counts.get("error"):
        lines.append(("Rows with errors, left out", counts["error"]))
    page = reverse("imports:run", args=[run.pk])
    return (f"Import #{run.pk}: {run.file_name} ({KINDS[run.kind].label})", page, lines)


@receiver(post_save, sender=ChangeRequest)
def release(sender, instance, **kwargs):
    """A run's request rejected or withdrawn: the run is planned again (nothing of it was
    written), its page saying how the request ended. A run applied as an emergency stays
    applied."""
    if instance.batch != BATCH:
        return
    if instance.status not in (ChangeRequest.Status.REJECTED, ChangeRequest.Status.WITHDRAWN):
        return
    ImportRun.objects.filter(
        pk=instance.batch_reference, status=Status.AWAITING_APPROVAL, change_request=instance
    ).update(status=Status.PLANNED)
