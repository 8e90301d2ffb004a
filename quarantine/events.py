"""The events quarantine publishes (events.outbox), each in the transaction of the step:

    hub.case.resolved                           a case closed (replayed and released,
                                                released by override, rejected)
    hub.supply_exception.changed | closed       a steward's step on a supply exception
                                                (validation.events builds its data)

A case event's subject is the case id (as GET /api/v1/quarantine/cases/{id}/ has it), its
partition key the message's public id, so it follows the message's own events. Its data:

    {"case": 12, "message": "MSG-000123", "message_type": "purchase_order",
     "system": "ERP_LEGACY", "team": "procurement", "status": "resolved_by_replay",
     "resolution": "fix", "by": "alice", "reason": "...", "resolved_at": "...",
     "rules": ["XREF_UNRESOLVED"], "facets": {"plant": "1000", "supplier": "100234",
     "item": "BRG-6204-2RS"}}

"facets" are the sender's codes the case was filed under (a code held back may answer to no
record, so they are not canonical ids).
"""

from events.outbox import emit
from validation import events as validation_events

CASE_RESOLVED = "hub.case.resolved"


def case_resolved(case, *, status, resolution, by=None, reason="", at=None, message=None):
    """Emit hub.case.resolved for `case` closed with `status` and `resolution` (`message`:
    the case's message, when the caller has it at hand)."""
    message = message or case.message
    system = message.system.code
    data = {
        "case": case.pk,
        "message": message.public_id,
        "message_type": case.message_type,
        "system": system,
        "team": case.team,
        "status": str(status),
        "resolution": str(resolution),
        "by": by.get_username() if by is not None else None,
        "reason": reason,
        "resolved_at": at.isoformat() if at is not None else None,
        "rules": sorted({d.get("rule") for d in case.diagnostics or () if d.get("rule")}),
        "facets": {"plant": case.plant, "supplier": case.supplier, "item": case.item},
    }
    return emit(CASE_RESOLVED, str(case.pk), data, message.public_id, facts={"system": system})


def supply_exception_acknowledged(exception, *, by, note=""):
    """Emit hub.supply_exception.changed: a steward acknowledged it (is on it)."""
    return validation_events.supply_exception_changed(
        exception, step="acknowledged", by=by, note=note
    )


def supply_exception_closed(exception, *, by, note):
    """Emit hub.supply_exception.closed with the note saying how it was settled."""
    return validation_events.supply_exception_closed(exception, by=by, note=note)
