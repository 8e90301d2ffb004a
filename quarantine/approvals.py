"""The quarantine's fixes when a policy says their change needs approval (changes): the
cross-reference or unit conversion a fix would add is asked for in a change request instead,
and the case waits for it.

`ask_for(case, record, by)` answers the request the new record waits for (an open one that
already asks for the same record, else a new one whose reason names the message and the
case), or None when no policy asks for approval and the fix goes on as ever. Nothing here
writes the record or replays the message; quarantine.services and quarantine.conversions
record on the case that it waits.
"""

from changes import policies, requests
from changes.models import ChangeItem, ChangeRequest

# A fix asks from the review screens.
SOURCE = "web"


def fix_needs_approval(system_code, kind="xref.crossreference"):
    """Whether a fix adding a record of `kind` for the system waits for approval (the case
    screen says so before the steward chooses)."""
    return bool(policies.covering_kind(kind, policies.CREATE, systems={system_code}))


def release_reason(case):
    """ "To release quarantined message MSG-000042 (case 7)."."""
    return f"To release quarantined message {case.message.public_id} (case {case.pk})."


def ask_for(case, record, by):
    """The change request the new, unsaved `record` waits for, None when it needs no
    approval. ValidationError (nothing asked) when the model refuses the record. An open
    request creating the same record (every value alike) is the one waited for: a second
    fix of the same code, from another case, asks no second request."""
    proposal = requests.hold(record, policies.CREATE)
    if proposal is None:
        return None
    record.full_clean()
    waiting = (
        ChangeRequest.objects.filter(
            status=ChangeRequest.Status.OPEN,
            items__model=proposal.model,
            items__action=ChangeItem.Action.CREATE,
            **{f"items__after__{name}": proposal.after.get(name) for name in proposal.after},
        )
        .order_by("pk")
        .first()
    )
    if waiting is not None:
        return waiting
    return requests.ask([proposal], by=by, reason=release_reason(case), source=SOURCE)


def waits(what, asked, by, then):
    """The case's transition: "<what> asked by alice: it needs another person's approval and
    waits for change request CR-000012; <then>"."""
    return (
        f"{what} asked by {by.get_username()}: it needs another person's approval and waits "
        f"for change request {asked.number}; {then}"
    )
