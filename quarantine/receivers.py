"""Receivers of the lower apps' signals.

`open_case` runs inside the transaction that writes a message's outcome (see
validation.signals): the case and the quarantined status commit together, so a quarantined
message always has exactly one case. It is idempotent (get_or_create on the message), so a
repeated announcement never opens a second one. When the message already has an open case (it
was replayed), the outcome ends the case (released: resolved by replay) or updates it
(quarantined again: the new diagnostics, same case), with a transition saying so.

`reference_changed` (xref) and `record_status_changed` (mdm) start the auto-replay of the
cases blocked on the codes concerned, in a Celery task; so do `records_merged` and
`records_unmerged` (xref), for the codes of the merged record, once the merge commits. A
released message of a document (a purchase order) starts the replay of its later changes
and acknowledgements quarantined because it was missing (`replay_after_release`), once the
release has committed.
"""

import re

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.queue import send
from quarantine import events
from quarantine.models import CaseKey, CaseTransition, QuarantineCase, error_rule_codes
from quarantine.services import blocked_cases, held_cases, record_keys, write_case_keys
from validation.models import InboundMessage, Rule, Team
from xref.models import CrossReference

_LINE_PATH = re.compile(r"^\$\.lines\[(\d+)\]")
# Where each message type names its plant (the receiving or planning location); a forecast
# names one per line.
PLANT_FIELD = {
    "purchase_order": "ship_to",
    "ship_notice": "ship_to",
    "receipt": "location",
    "inventory_balance": "location",
}
FACET_LENGTH = 100
# The search text reads this many lines' PO numbers and error sentences, and keeps this many
# characters: enough to find a case, bounded for a forecast of a million lines.
SEARCH_LINES = 200
SEARCH_DIAGNOSTICS = 50
SEARCH_LENGTH = 4000


def open_case(sender, message, status, diagnostics, parts, **kwargs):
    """Open the case of a quarantined message, routed to the team of its first error; or
    carry the outcome of a replay to the case the message already has."""
    # Only a replay (a second attempt at least) has a case waiting for its outcome; a first
    # outcome spares the query. A repeated announcement finds no replay pending.
    if message.attempts > 1 or status == InboundMessage.Status.QUARANTINED:
        existing = (
            QuarantineCase.objects.select_for_update(of=("self",))
            .filter(message=message, status__in=QuarantineCase.OPEN_STATUSES, replay_pending=True)
            .first()
        )
        if existing is not None:
            return _replay_outcome(existing, message, status, diagnostics)
    if status != InboundMessage.Status.QUARANTINED:
        return None
    errors = [d for d in diagnostics if d.get("severity") == "error"]
    first = errors[0] if errors else {}
    team = first.get("team") if first.get("team") in Team.values else Team.INTEGRATION
    line = _line_of(first, message, parts) or {}
    payload = message.payload if isinstance(message.payload, dict) else {}
    if message.message_type in PLANT_FIELD:
        plant = payload.get(PLANT_FIELD[message.message_type], "")
    else:
        plant = line.get("location", "")
    case, created = QuarantineCase.objects.get_or_create(
        message=message,
        defaults={
            "diagnostics": diagnostics,
            "team": team,
            "plant": _facet(plant),
            "supplier": _facet(payload.get("supplier", "")),
            "item": _facet(line.get("item", "")),
            "message_type": message.message_type,
            "system_id": message.system_id,
        },
    )
    if created:
        codes = error_rule_codes(diagnostics)
        case.rules.set(Rule.objects.filter(code__in=codes))
        QuarantineCase.objects.filter(pk=case.pk).update(search_text=search_text(case, message))
        write_case_keys(case)
        CaseTransition.objects.create(
            case=case,
            to_status=QuarantineCase.Status.OPEN,
            reason=f"Quarantined by validation: {len(errors)} error(s) ({', '.join(codes)}).",
        )
    return case


def _replay_outcome(case, message, status, diagnostics):
    errors = [d for d in diagnostics if d.get("severity") == "error"]
    if status == InboundMessage.Status.RELEASED:
        now = timezone.now()
        # What started the replay (a fix, an edit, a steward's or the hub's replay) is how the
        # case ended.
        resolution = case.replay_kind or QuarantineCase.Resolution.REPLAY
        reason = "Replayed and released" + (
            f" with {len(diagnostics)} warning(s)." if diagnostics else "."
        )
        QuarantineCase.objects.filter(pk=case.pk).update(
            status=QuarantineCase.Status.RESOLVED_BY_REPLAY,
            resolution=resolution,
            resolved_at=now,
            replay_pending=False,
        )
        CaseKey.objects.filter(case=case).delete()
        CaseTransition.objects.create(
            case=case,
            at=now,
            from_status=case.status,
            to_status=QuarantineCase.Status.RESOLVED_BY_REPLAY,
            resolution=resolution,
            reason=reason,
        )
        events.case_resolved(
            case,
            status=QuarantineCase.Status.RESOLVED_BY_REPLAY,
            resolution=resolution,
            reason=reason,
            at=now,
            message=message,
        )
    elif status == InboundMessage.Status.QUARANTINED:
        codes = error_rule_codes(diagnostics)
        case.diagnostics, case.replay_pending = diagnostics, False
        case.save(update_fields=["diagnostics", "replay_pending"])
        case.rules.set(Rule.objects.filter(code__in=codes))
        QuarantineCase.objects.filter(pk=case.pk).update(search_text=search_text(case, message))
        write_case_keys(case)
        CaseTransition.objects.create(
            case=case,
            from_status=case.status,
            to_status=case.status,
            reason=f"Replayed and quarantined again: {len(errors)} error(s) ({', '.join(codes)}).",
        )
    else:
        QuarantineCase.objects.filter(pk=case.pk).update(replay_pending=False)
        CaseTransition.objects.create(
            case=case,
            from_status=case.status,
            to_status=case.status,
            reason=f"Replayed, but the message ended {status.replace('_', ' ')}: "
            + (message.last_error or "see the message."),
        )
    return case


def search_text(case, message):
    """What the queue's text search looks in, lower-cased: the message id, the payload's
    document numbers (header fields named *_id or *_number, and the lines' PO numbers),
    the facets and the diagnostic sentences."""
    payload = message.payload if isinstance(message.payload, dict) else {}
    words = [message.public_id, case.plant, case.supplier, case.item]
    words += [
        str(value)
        for key, value in payload.items()
        if (key.endswith("_id") or key.endswith("_number")) and isinstance(value, str | int)
    ]
    lines = payload.get("lines") if isinstance(payload.get("lines"), list) else []
    numbers = {
        str(line["po_number"])
        for line in lines[:SEARCH_LINES]
        if isinstance(line, dict) and isinstance(line.get("po_number"), str | int)
    }
    words += sorted(numbers)
    words += [
        str(d.get("message", ""))
        for d in case.diagnostics[:SEARCH_DIAGNOSTICS]
        if d.get("severity") == "error"
    ]
    return " ".join(word for word in words if word).lower()[:SEARCH_LENGTH]


def replay_after_reference(sender, reference, created, **kwargs):
    """A cross-reference was added or changed: replay the cases blocked on its code."""
    what = "added" if created else "changed"
    reason = (
        f"Cross-reference #{reference.pk} {reference.system.code} {reference.kind} "
        f"{reference.code} was {what}."
    )
    keys = [[reference.system_id, reference.kind, reference.code]]
    _start_auto_replay(keys, reason)


def replay_after_status(sender, record, old_status, new_status, **kwargs):
    """A master record's status changed: replay the cases blocked on any code naming it."""
    keys = [list(key) for key in record_keys(record)]
    if not keys:
        return
    label = getattr(record, "public_id", None) or str(record)
    reason = (
        f"{record._meta.verbose_name.capitalize()} {label} changed status from {old_status} "
        f"to {new_status}."
    )
    _start_auto_replay(keys, reason)


def replay_after_merge(sender, kind, survivor, loser, merge, **kwargs):
    """A record was merged into another (xref.merging, inside its transaction): the open
    cases blocked on the loser's codes, which now name the survivor, are replayed once the
    merge commits. Returns them for the merge's record: {label: [case ids]}."""
    keys = _merged_codes(merge)
    cases = list(blocked_cases(keys).values_list("pk", flat=True))
    if not cases:
        return {}
    reason = f"{loser.public_id} was merged into {survivor.public_id}."
    transaction.on_commit(lambda: _start_auto_replay(keys, reason), robust=True)
    return {"quarantine.quarantinecase.replayed": cases}


def replay_after_unmerge(sender, kind, survivor, loser, merge, **kwargs):
    """A merge was undone: once that commits, the cases blocked on the loser's codes (its
    own again) are replayed. The cases themselves name records by the senders' codes, so
    none has to move back."""
    keys = _merged_codes(merge)
    reason = f"The merge of {loser.public_id} into {survivor.public_id} was undone."
    transaction.on_commit(lambda: _start_auto_replay(keys, reason), robust=True)


def _merged_codes(merge):
    """(system_id, kind, code) of the references a merge moved: the loser's own, and those
    of the sites and revisions that moved with it."""
    moved = merge.moved
    condition = Q(pk__in=moved.get("xref.crossreference", []))
    condition |= Q(supplier_site__in=moved.get("mdm.suppliersite.supplier", []))
    condition |= Q(item_revision__in=moved.get("mdm.itemrevision.item", []))
    return [
        list(key)
        for key in CrossReference.objects.filter(condition).values_list("system_id", "kind", "code")
    ]


def replay_after_release(sender, message, status, diagnostics, parts, **kwargs):
    """A purchase order was released: after commit, replay the cases of its later changes and
    acknowledgements held because it was missing (quarantine.services.held_cases)."""
    if status != InboundMessage.Status.RELEASED or message.document_key is None:
        return
    transaction.on_commit(lambda: _start_held_replay(message), robust=True)


def _start_held_replay(message):
    if not held_cases(message).exists():
        return  # nothing waited for it: spare the broker a task
    number = message.document_key.partition(":")[2]
    reason = f"{message.public_id} of the same purchase order ({number}) was released."
    # No sweep sends a lost replay again (the cases stay open for a person), so the send
    # keeps Celery's default publish retries.
    send(
        "quarantine.tasks.replay_held",
        message.pk,
        reason,
        retry_policy=None,
        unsent="the cases stay open for a person to replay",
    )


def _start_auto_replay(keys, reason):
    keys = [tuple(key) for key in keys]
    if not blocked_cases(keys).exists():
        return  # nothing waits for it: spare the broker a task
    send(
        "quarantine.tasks.auto_replay",
        [list(key) for key in keys],
        reason,
        retry_policy=None,
        unsent="the cases stay open for a person to replay",
    )


def _line_of(diagnostic, message, parts):
    """The payload line a diagnostic points at, or None."""
    match = _LINE_PATH.match(diagnostic.get("path") or "")
    if match is None:
        return None
    holder = message
    if "part" in diagnostic:
        holder = next((p for p in parts if p.part_number == diagnostic["part"]), message)
    lines = holder.payload.get("lines") if isinstance(holder.payload, dict) else None
    index = int(match[1])
    if isinstance(lines, list) and index < len(lines) and isinstance(lines[index], dict):
        return lines[index]
    return None


def _facet(value):
    return str(value)[:FACET_LENGTH] if value is not None else ""
