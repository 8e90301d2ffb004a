"""The quarantine workflow: what stewards do with a case, and what the hub does by itself.

Actions (`assign`, `replay`, `reject`, `release_by_override`, `edit_payload`,
`fix_by_reference`) each take the acting user as `by`, check the role server-side (a viewer
cannot act; release by override needs the `quarantine.release_by_override` permission, which
stewards do not get by default: see core.roles), and record a CaseTransition (who, when, from,
to, why). `by=None` is the hub itself (auto-replay) and is not checked.

Concurrency: an action locks the case row (SELECT ... FOR UPDATE on PostgreSQL) and then
changes it with a conditional UPDATE on the status it read, so of two stewards acting on one
case at once one wins and the other gets CaseConflict naming what happened ("Case 12 was
already rejected by alice at 09:14"). A replay moves the message back to received with a
conditional UPDATE in validation, so two replays never both run.

Replay outcomes come back through validation's outcome signal (quarantine.receivers): released
resolves the case (resolved_by_replay, its resolution saying what started the replay: a fix by
cross-reference, a payload edit, a steward's replay or an auto-replay); quarantined again keeps
the one case open with the new diagnostics and a transition saying so. Reject and override
close the case with their own resolution.

Auto-replay: when a cross-reference is created or changed, or a master record's status
changes, the cases blocked on that code (CaseKey: (system, kind, code), written when the case
opens) are replayed in a Celery task, and their transition says why. So are, when a purchase
order is released, the cases of its later changes and its acknowledgements held because the
order was missing (PO_CHANGE_OUT_OF_SEQUENCE, UNKNOWN_PO).

SLA: `mark_overdue` (Celery beat) marks open cases past their team's SLA hours as overdue and
emails the team once per case.
"""

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.db import take_unsent
from core.queue import send
from core.roles import STEWARD, has_role
from mdm.models import SourceSystem
from quarantine import approvals, events, match_labels
from quarantine.models import BulkRun, CaseKey, CaseTransition, QuarantineCase, TeamSettings
from validation.documents import held_behind
from validation.layouts import LAYOUTS
from validation.ledger import HELD_BY_PREDECESSOR
from validation.models import InboundMessage
from validation.replay import NotReplayable, override_release, replay_message
from xref import resolve
from xref.models import TARGETS, CrossReference, overlapping_claim
from xref.services import register_reference, target_by_key, target_key, unsaved_reference

logger = logging.getLogger(__name__)

Status = QuarantineCase.Status
Resolution = QuarantineCase.Resolution
OVERRIDE_PERMISSION = "quarantine.release_by_override"
UNRESOLVED_RULE = "XREF_UNRESOLVED"
# How often a bulk run writes its progress (cases between two writes).
PROGRESS_EVERY = 5

_PATH = re.compile(r"^\$(?:\.lines\[\d+\])?\.([A-Za-z_][A-Za-z0-9_]*)$")


class CaseConflict(Exception):
    """The case changed under the caller (another steward acted first, or the case is
    already being replayed); the message says what happened."""


# --- permissions ------------------------------------------------------------------------


def can_act(user):
    """Stewards (and superusers) act on cases; viewers and integration clients only read."""
    return bool(user is not None and user.is_authenticated and has_role(user, STEWARD))


def can_override(user):
    """Release by override: a steward who also holds quarantine.release_by_override."""
    return can_act(user) and (user.is_superuser or user.has_perm(OVERRIDE_PERMISSION))


def _require_act(by):
    if by is not None and not can_act(by):
        raise PermissionDenied("Only data stewards can act on quarantine cases.")


def _require_override(by):
    if by is not None and not can_override(by):
        raise PermissionDenied(
            "Releasing a message by override needs the override permission "
            "(quarantine.release_by_override)."
        )


def _reason_required(reason, what):
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": f"Give a reason to {what}."})
    return reason


# --- actions ------------------------------------------------------------------------------


def assign(case, *, by, assignee, expected_status=None):
    """Give an open case to `assignee` (a steward; None to hand it back to the queue). The
    case goes to in review when it has an assignee, back to open when not."""
    _require_act(by)
    if assignee is not None and not can_act(assignee):
        raise ValidationError({"assignee": f"{_name(assignee)} is not a data steward."})
    with transaction.atomic():
        locked = _lock(case, "assign")
        if expected_status is not None and locked.status != expected_status:
            raise CaseConflict(_conflict_text(locked))
        to = Status.IN_REVIEW if assignee is not None else Status.OPEN
        why = (
            f"Assigned to {_name(assignee)} by {_name(by)}."
            if assignee is not None
            else f"Unassigned by {_name(by)}."
        )
        _move(locked, to, by, why, assignee=assignee)
    _refresh(case, locked)
    return case


def replay(case, *, by, reason=""):
    """Validate the case's message again, as it is (e.g. after master data was fixed). The
    case stays as it is until the outcome comes back (see quarantine.receivers)."""
    _require_act(by)
    why = f"Replayed by {_name(by)}" + (f": {reason.strip()}" if reason.strip() else ".")
    with transaction.atomic():
        locked = _lock(case, "replay")
        _replay_message(locked, by, kind=Resolution.REPLAY)
        _record(locked, locked.status, by, why)
    _refresh(case, locked)
    return case


def reject(case, *, by, reason):
    """Close the case for good: the message stays quarantined and is never released."""
    _require_act(by)
    reason = _reason_required(reason, "reject the message")
    with transaction.atomic():
        locked = _lock(case, "reject")
        _busy_check(locked)
        _move(
            locked,
            Status.REJECTED,
            by,
            f"Rejected by {_name(by)}: {reason}",
            close=Resolution.REJECT,
        )
    _refresh(case, locked)
    return case


def release_by_override(case, *, by, reason):
    """Release the message as it is, despite its diagnostics (needs the override permission).
    The released payload is the payload as it stands, without enrichment."""
    _require_override(by)
    reason = _reason_required(reason, "release the message by override")
    with transaction.atomic():
        locked = _lock(case, "release")
        if not override_release(locked.message, by=by):
            raise CaseConflict(_busy_text(locked))
        _move(
            locked,
            Status.RELEASED_BY_OVERRIDE,
            by,
            f"Released by override by {_name(by)}: {reason}",
            close=Resolution.OVERRIDE,
        )
    _refresh(case, locked)
    return case


def edit_payload(case, *, by, payload, reason=""):
    """Correct the message's payload and validate it again. The payload as sent is kept
    (revision 1); the edit is a new revision with its author. ValidationError when the edit
    breaks the message's contract."""
    _require_act(by)
    if not isinstance(payload, dict):
        raise ValidationError({"payload": "The payload must be a JSON object."})
    with transaction.atomic():
        locked = _lock(case, "edit")
        _replay_message(locked, by, payload=payload, reason=reason, kind=Resolution.EDIT)
        number = locked.message.payload_revisions.order_by("-number").first().number
        why = f"Payload edited by {_name(by)} (revision {number}) and revalidated" + (
            f": {reason.strip()}" if reason.strip() else "."
        )
        _record(locked, locked.status, by, why)
    _refresh(case, locked)
    return case


def fix_by_reference(case, *, by, kind, system, code, target, scope=""):
    """Register the missing cross-reference (system calls `target` `code`) and replay the
    message, in one step. `target` is the canonical record or its natural key (ITM-000123).
    The origin is "match_confirmed" when the target is one of the case's suggested
    candidates, else "manual". The choice is kept as labelled match pairs
    (quarantine.match_labels). Raises ReferenceConflict (a ValidationError) when the code is
    already claimed by another record. Returns (case, reference), or (case, change request)
    when a policy says a new reference needs approval (quarantine.approvals): nothing is
    registered, replayed or learnt then; once approved, auto-replay replays the case."""
    _require_act(by)
    if isinstance(target, str):
        target = target_by_key(kind, target)
    system_obj = system if isinstance(system, SourceSystem) else _system(system)
    entry = next((e for e in suggestions(case) if (e["kind"], e["code"]) == (kind, code)), None)
    suggested = {candidate["id"] for candidate in entry["candidates"]} if entry else set()
    key = _natural_key(target)
    origin = (
        CrossReference.Origin.MATCH_CONFIRMED if key in suggested else CrossReference.Origin.MANUAL
    )
    with transaction.atomic():
        locked = _lock(case, "fix")
        _busy_check(locked)
        wanted = {"kind": kind, "system": system_obj, "code": code, "target": target}
        wanted.update(scope=scope or "", origin=origin, user=by)
        candidate = unsaved_reference(**wanted)
        named = f"{system_obj.code} {kind} {code}" + (f" (scope {scope})" if scope else "")
        # A code claimed already is the same mapping or a conflict: no approval for either.
        if overlapping_claim(candidate) is None:
            asked = approvals.ask_for(locked, candidate, by)
            if asked is not None:
                then = "the message replays on its own once it is approved."
                why = approvals.waits(f"Cross-reference {named} -> {key}", asked, by, then)
                _record(locked, locked.status, by, why)
                _refresh(case, locked)
                return case, asked
        reference, created = register_reference(**wanted)
        if entry is not None:  # the choice among the candidates shown teaches the matcher
            match_labels.record_fix(locked, entry, key, by)
        _replay_message(locked, by, kind=Resolution.FIX)
        what = "added" if created else "already there"
        _record(
            locked,
            locked.status,
            by,
            f"Cross-reference #{reference.pk} {named} -> {key} {what} by {_name(by)}; replayed.",
        )
    _refresh(case, locked)
    return case, reference


# --- bulk ---------------------------------------------------------------------------------

BULK_ACTIONS = {
    "assign": assign,
    "replay": replay,
    "reject": reject,
    "release": release_by_override,
}


def bulk(action, case_ids, *, by, progress=None, **kwargs):
    """Apply one action to many cases; returns [{"case", "ok", "detail"}] in the order given.
    A case that fails (a conflict, gone, refused) does not stop the others. `progress`, when
    given, is called with the outcomes so far after every case. PermissionDenied for a user
    who may not do the action at all."""
    func = _bulk_func(action)
    if action == "release":
        _require_override(by)
    else:
        _require_act(by)
    kwargs = _bulk_kwargs(action, kwargs)
    cases = QuarantineCase.objects.select_related("message").in_bulk(list(case_ids))
    outcomes = []
    for case_id in case_ids:
        case = cases.get(int(case_id))
        if case is None:
            outcomes.append({"case": case_id, "ok": False, "detail": f"No case {case_id}."})
        else:
            try:
                func(case, by=by, **kwargs)
                outcomes.append({"case": case.pk, "ok": True, "detail": case.outcome})
            except (CaseConflict, ValidationError, PermissionDenied, ValueError) as exc:
                outcomes.append({"case": case.pk, "ok": False, "detail": _text(exc)})
        if progress is not None:
            progress(outcomes)
    return outcomes


def start_bulk(action, case_ids, by, **kwargs):
    """Record a bulk run and start it in the background (after commit); the screen polls
    bulk_progress(run.pk)."""
    _bulk_func(action)
    if action == "release":
        _require_override(by)
    else:
        _require_act(by)
    params = dict(kwargs)
    if "assignee" in params:
        assignee = params["assignee"]
        params["assignee"] = getattr(assignee, "pk", assignee)
    ids = [int(case_id) for case_id in case_ids]
    run = BulkRun.objects.create(
        action=action,
        params=params,
        case_ids=ids,
        created_by=by,
        total=len(ids),
        enqueued_at=timezone.now(),
    )
    transaction.on_commit(lambda: enqueue_bulk(run.pk))
    return run


def enqueue_bulk(run_id):
    """Send a bulk run's task. Never raises: a run whose task was not sent (the broker is
    down) stays pending, and the sweep sends it again (enqueue_waiting_bulk_runs)."""
    send("quarantine.tasks.bulk_action", run_id, unsent="the sweep will send the bulk run")


def enqueue_waiting_bulk_runs(now=None):
    """Send again the task of bulk runs still pending HUB_REQUEUE_SECONDS after it was sent
    (the broker was down, or lost it). Each run is taken with a conditional UPDATE of its
    enqueued_at, so two sweeps send it once, and run_bulk's claim makes a second delivery do
    nothing. Returns how many were sent."""
    pending = BulkRun.objects.filter(status=BulkRun.Status.PENDING)
    taken = take_unsent(pending, now=now or timezone.now())
    for row in taken:
        enqueue_bulk(row["pk"])
    sent = len(taken)
    if sent:
        logger.warning("Bulk run sweep: %s pending run(s) sent again", sent)
    return sent


def run_bulk(run_id):
    """Carry out a recorded bulk run (the Celery task). Claimed with a conditional UPDATE, so
    a redelivered task does nothing; returns the run, or None when there was nothing to do."""
    if not BulkRun.objects.filter(pk=run_id, status=BulkRun.Status.PENDING).update(
        status=BulkRun.Status.RUNNING
    ):
        return None
    run = BulkRun.objects.select_related("created_by").get(pk=run_id)

    def progress(outcomes):
        if len(outcomes) % PROGRESS_EVERY == 0 or len(outcomes) == run.total:
            BulkRun.objects.filter(pk=run.pk).update(
                done=len(outcomes), failed=sum(not o["ok"] for o in outcomes)
            )

    try:
        outcomes = bulk(
            run.action, run.case_ids, by=run.created_by, progress=progress, **run.params
        )
    except Exception as exc:
        logger.exception("Bulk run %s failed", run_id)
        BulkRun.objects.filter(pk=run.pk).update(
            status=BulkRun.Status.FAILED,
            finished_at=timezone.now(),
            results=[{"case": None, "ok": False, "detail": _text(exc)}],
        )
        run.refresh_from_db()
        return run
    BulkRun.objects.filter(pk=run.pk).update(
        status=BulkRun.Status.DONE,
        done=len(outcomes),
        failed=sum(not o["ok"] for o in outcomes),
        results=outcomes,
        finished_at=timezone.now(),
    )
    run.refresh_from_db()
    return run


def bulk_progress(run_id):
    """{"id", "action", "status", "total", "done", "failed", "percent", "finished",
    "failures": [{"case", "detail"}]} for the progress bar."""
    run = BulkRun.objects.get(pk=run_id)
    finished = run.status in (BulkRun.Status.DONE, BulkRun.Status.FAILED)
    return {
        "id": run.pk,
        "action": run.action,
        "status": run.status,
        "total": run.total,
        "done": run.done,
        "failed": run.failed,
        "percent": 100 if finished or not run.total else round(100 * run.done / run.total),
        "finished": finished,
        "failures": [
            {"case": o["case"], "detail": o["detail"]} for o in run.results if not o["ok"]
        ],
    }


def _bulk_func(action):
    try:
        return BULK_ACTIONS[action]
    except KeyError:
        raise ValueError(
            f"Unknown bulk action {action!r}; choose one of {', '.join(BULK_ACTIONS)}."
        ) from None


def _bulk_kwargs(action, kwargs):
    kwargs = dict(kwargs)
    if action == "assign":
        assignee = kwargs.get("assignee")
        if assignee is not None and not hasattr(assignee, "pk"):
            kwargs["assignee"] = get_user_model().objects.get(pk=assignee)
    return kwargs


# --- suggestions --------------------------------------------------------------------------


def field_kind(message_type, path):
    """The cross-reference kind of the code field at `path` ("$.lines[3].item" -> "item"),
    or None when the path is not a code field of the message type."""
    match = _PATH.match(path or "")
    layout = LAYOUTS.get(message_type)
    if match is None or layout is None:
        return None
    fields = layout.lines if path.startswith("$.lines[") else layout.header
    return next((field.kind for field in fields if field.name == match[1]), None)


def suggestions(case):
    """For each unresolved code of the case: where it is, the key to register and the
    candidates to pick from (the matcher's, as validation found them, else asked again):

        [{"path", "kind", "system", "code", "scope",
          "candidates": [{"id", "name", "score", "reason", "code"}]}]

    A candidate's reason says why it was suggested ("one character differs: O for 0",
    "description 92% alike, 76% likely"); `code` is the existing code of a near miss.

    One entry per distinct (kind, code): a code repeated on many lines is fixed once."""
    entries, seen = [], set()
    for diagnostic in case.diagnostics:
        if diagnostic.get("rule") != UNRESOLVED_RULE or diagnostic.get("severity") != "error":
            continue
        kind = diagnostic.get("kind") or field_kind(case.message_type, diagnostic.get("path"))
        code = diagnostic.get("value")
        if kind is None or not isinstance(code, str) or (kind, code) in seen:
            continue
        seen.add((kind, code))
        found = diagnostic.get("candidates")
        if found is None:
            try:
                found = resolve.candidates(
                    kind, code, system=case.system.code, scope=diagnostic.get("scope", "")
                )
            except Exception:  # the matcher is optional; a case is shown without it
                logger.exception("Candidates for %s %r failed", kind, code)
                found = []
        entries.append(
            {
                "path": diagnostic.get("path", ""),
                "kind": kind,
                "system": case.system.code,
                "code": code,
                "scope": diagnostic.get("scope", ""),
                "candidates": [c for c in map(_candidate, found or ()) if c["id"]],
            }
        )
    return entries


def _candidate(candidate):
    record = candidate.get("record") if isinstance(candidate.get("record"), dict) else candidate
    identifier = record.get("id") or record.get("public_id") or candidate.get("id") or ""
    name = record.get("name") or record.get("description") or record.get("label") or ""
    score = candidate.get("score")
    return {
        "id": str(identifier),
        "name": str(name),
        "score": score if isinstance(score, int | float) else None,
        "reason": str(candidate.get("reason") or ""),
        "code": str(candidate.get("code") or "") if candidate.get("source") == "near_miss" else "",
    }


# --- case keys and auto-replay ------------------------------------------------------------


def case_keys(case):
    """The (kind, code) pairs of the case's error diagnostics on code fields."""
    keys = set()
    for diagnostic in case.diagnostics:
        if diagnostic.get("severity") != "error":
            continue
        kind = diagnostic.get("kind") or field_kind(case.message_type, diagnostic.get("path"))
        value = diagnostic.get("value")
        if kind and isinstance(value, str) and value and len(value) <= 100:
            keys.add((kind, value))
    return sorted(keys)


def write_case_keys(case):
    """(Re)write the case's CaseKey rows from its diagnostics."""
    CaseKey.objects.filter(case=case).delete()
    CaseKey.objects.bulk_create(
        [
            CaseKey(case=case, system_id=case.system_id, kind=kind, code=code)
            for kind, code in case_keys(case)
        ]
    )


def blocked_cases(keys):
    """Open cases blocked on any of `keys` [(system_id, kind, code)], with their messages
    quarantined (not already being replayed)."""
    if not keys:
        return QuarantineCase.objects.none()
    condition = Q()
    for system_id, kind, code in keys:
        condition |= Q(system_id=system_id, kind=kind, code=code)
    case_ids = CaseKey.objects.filter(condition).values("case_id")
    return QuarantineCase.objects.filter(
        pk__in=case_ids,
        status__in=QuarantineCase.OPEN_STATUSES,
        message__status=InboundMessage.Status.QUARANTINED,
    ).order_by("pk")


def replay_blocked(keys, reason):
    """Replay every open case blocked on one of `keys` (the auto-replay task); the
    transition says why. Returns the ids of the cases replayed."""
    return _replay_automatically(blocked_cases([tuple(key) for key in keys]), reason)


def held_cases(message):
    """Open cases of `message`'s document held for a missing predecessor (held_behind)."""
    return (
        QuarantineCase.objects.filter(
            status__in=QuarantineCase.OPEN_STATUSES,
            message__in=held_behind(message),
            rules__code__in=HELD_BY_PREDECESSOR,
        )
        .distinct()
        .order_by("pk")
    )


def replay_held(message_id, reason):
    """Replay the cases held for the document of the message just released (the
    auto-replay task), in the order their messages came. Returns the ids replayed."""
    message = (
        InboundMessage.objects.filter(pk=message_id, status=InboundMessage.Status.RELEASED)
        .only("pk", "system_id", "document_key")
        .first()
    )
    if message is None:
        return []
    return _replay_automatically(held_cases(message).order_by("message_id"), reason)


def _replay_automatically(cases, reason):
    replayed = []
    for case_id in list(cases.values_list("pk", flat=True)):
        try:
            with transaction.atomic():
                locked = _lock(QuarantineCase(pk=case_id), "replay")
                _replay_message(locked, None, kind=Resolution.AUTO_REPLAY)
                _record(locked, locked.status, None, f"Replayed automatically: {reason}")
        except CaseConflict:
            continue  # closed or being replayed meanwhile: nothing to do
        replayed.append(case_id)
    return replayed


def reference_keys(reference):
    return [(reference.system_id, reference.kind, reference.code)]


def record_keys(record):
    """The codes that name a master record in any system: its cross-references (and, for a
    revision, its item's), as (system_id, kind, code)."""
    conditions = Q()
    for kind, (field, model) in TARGETS.items():
        if isinstance(record, model):
            conditions |= Q(kind=kind, **{field: record})
            if field == "item_revision":
                conditions |= Q(kind="item", item_id=record.item_id)
    if not conditions:
        return []
    return list(CrossReference.objects.filter(conditions).values_list("system_id", "kind", "code"))


# --- SLA ----------------------------------------------------------------------------------


def mark_overdue(now=None):
    """Mark open cases past their team's SLA as overdue and email each team about the ones
    it has not been told about yet: once per case, however often this runs. Two runs at once
    do not both send (the cases are locked, and the second skips locked rows). Returns the
    number of cases the teams were told about."""
    now = now or timezone.now()
    told = 0
    for team in TeamSettings.objects.all():
        due = now - timedelta(hours=team.sla_hours)
        QuarantineCase.objects.filter(
            team=team.team,
            status__in=QuarantineCase.OPEN_STATUSES,
            opened_at__lt=due,
            overdue_at__isnull=True,
        ).update(overdue_at=now)
        if not team.notify_email:
            continue
        with transaction.atomic():
            pending = list(
                QuarantineCase.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    team=team.team,
                    status__in=QuarantineCase.OPEN_STATUSES,
                    overdue_at__isnull=False,
                    sla_notified_at__isnull=True,
                )
                .select_related("message")
                .only("pk", "opened_at", "plant", "supplier", "item", "message__public_id")
                .order_by("opened_at")
            )
            if not pending:
                continue
            QuarantineCase.objects.filter(pk__in=[c.pk for c in pending]).update(
                sla_notified_at=now
            )
            _send_overdue_notice(team, pending, now)
        told += len(pending)
    return told


def _send_overdue_notice(team, cases, now):
    lines = [
        f"Case {c.pk}  {c.message.public_id}  open {_age(now - c.opened_at)}"
        + "".join(f"  {label} {value}" for label, value in _facets(c) if value)
        for c in cases
    ]
    send_mail(
        subject=f"[hub] {len(cases)} quarantine case(s) past the {team.get_team_display()} "
        f"SLA of {team.sla_hours} h",
        message=(
            f"These cases of the {team.get_team_display()} queue are open longer than "
            f"{team.sla_hours} hours:\n\n" + "\n".join(lines) + "\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[team.notify_email],
    )


def _facets(case):
    return (("plant", case.plant), ("supplier", case.supplier), ("item", case.item))


def _age(delta):
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} d {hours % 24} h" if hours >= 24 else f"{hours} h"


# --- internals ----------------------------------------------------------------------------


def _lock(case, action):
    """The case, locked for this transaction and with its message, or CaseConflict when it
    is closed."""
    locked = (
        QuarantineCase.objects.select_for_update(of=("self",))
        .select_related("message", "system")
        .filter(pk=case.pk)
        .first()
    )
    if locked is None:
        raise CaseConflict(f"Case {case.pk} no longer exists.")
    if not locked.is_open:
        raise CaseConflict(_conflict_text(locked))
    return locked


def _busy_check(case):
    """CaseConflict when the message is being validated again (a replay is running)."""
    status = InboundMessage.objects.values_list("status", flat=True).get(pk=case.message_id)
    if status != InboundMessage.Status.QUARANTINED:
        raise CaseConflict(_busy_text(case))


def _replay_message(case, by, *, kind, payload=None, reason=""):
    """Start validating the case's message again; `kind` (a Resolution) is what the case
    will say it ended by if this replay releases the message (quarantine.receivers)."""
    try:
        replay_message(case.message, by=by, payload=payload, reason=reason)
    except NotReplayable:
        raise CaseConflict(_busy_text(case)) from None
    QuarantineCase.objects.filter(pk=case.pk).update(replay_pending=True, replay_kind=kind)
    case.replay_pending, case.replay_kind = True, kind


def _move(case, to, by, reason, *, assignee=False, close=None):
    """Change the case's status with a conditional UPDATE on the status it had, and record
    the transition. `close` is the Resolution of a move that closes the case."""
    now = timezone.now()
    changes = {"status": to}
    if assignee is not False:
        changes["assignee"] = assignee
    if close:
        changes["resolved_at"] = now
        changes["resolution"] = close
    if not QuarantineCase.objects.filter(pk=case.pk, status=case.status).update(**changes):
        raise CaseConflict(_conflict_text(QuarantineCase.objects.get(pk=case.pk)))
    _record(case, to, by, reason, at=now, resolution=close or "")
    if close:
        CaseKey.objects.filter(case=case).delete()
        events.case_resolved(case, status=to, resolution=close, by=by, reason=reason, at=now)
    for name, value in changes.items():
        setattr(case, name, value)


def _record(case, to, by, reason, at=None, resolution=""):
    return CaseTransition.objects.create(
        case_id=case.pk,
        by=by if by is not None and by.is_authenticated else None,
        at=at or timezone.now(),
        from_status=case.status,
        to_status=to,
        resolution=resolution,
        reason=reason,
    )


def _refresh(case, locked):
    if case is locked:
        return
    for name in ("status", "resolution", "assignee_id", "resolved_at", "diagnostics"):
        setattr(case, name, getattr(locked, name))
    if "assignee" in case._state.fields_cache:
        del case._state.fields_cache["assignee"]
    case.message = locked.message


def _conflict_text(case):
    last = case.transitions.order_by("-at", "-id").select_related("by").first()
    done = case.outcome.lower()
    if last is None:
        return f"Case {case.pk} is {done}."
    who = _name(last.by) if last.by_id else "the hub"
    at = timezone.localtime(last.at).strftime("%H:%M")
    if case.is_open:
        return f"Case {case.pk} was changed by {who} at {at} (now {done}); reload it."
    return f"Case {case.pk} was already {done} by {who} at {at}."


def _busy_text(case):
    last = (
        case.transitions.filter(reason__contains="eplayed")
        .order_by("-at", "-id")
        .select_related("by")
        .first()
    )
    if last is None:
        return f"Case {case.pk} is being validated again; wait for the outcome."
    who = _name(last.by) if last.by_id else "the hub"
    at = timezone.localtime(last.at).strftime("%H:%M")
    return f"Case {case.pk} is already being replayed (by {who} at {at}); wait for the outcome."


def _name(user):
    if user is None:
        return "the hub"
    return user.get_username()


def _natural_key(target):
    return target_key(_kind_of(target), target)


def _kind_of(target):
    for kind, (_, model) in TARGETS.items():
        if type(target) is model:
            return kind
    raise ValueError(f"{target!r} is not a canonical record.")


def _system(code):
    system = SourceSystem.objects.filter(code=code).first()
    if system is None:
        raise ValidationError({"system": f"No source system {code!r}."})
    return system


def _text(exc):
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)
