"""Replay and release by override of quarantined messages (decided and recorded by
quarantine), and the payload's revisions when a steward edits it."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from validation import contracts, enqueue, events, ledger
from validation.claims import LARGE_FIELDS, release_group, stored_header
from validation.documents import document_key
from validation.models import InboundMessage, PayloadRevision

Status = InboundMessage.Status


class NotReplayable(Exception):
    """The message is not in a state a replay may start from (it is already being validated
    again, or it was released or rejected meanwhile)."""

    def __init__(self, message, status):
        self.status = status
        super().__init__(
            f"{message.public_id} is {Status(status).label.lower()}, not quarantined; "
            "it cannot be replayed now."
        )


def replay_message(message, *, by=None, payload=None, reason=""):
    """Validate a quarantined message again: quarantined -> received (a new attempt) in one
    conditional UPDATE, and validation enqueued after commit. For a forecast sent in parts
    every part goes back together. With `payload`, the message is edited first: the payload
    the sender sent is kept as revision 1, the edit becomes the next revision with its author
    (`by`) and `reason`, and validation runs on the edit. `payload_sha256` keeps identifying
    what the sender sent, so a repeat of the original submission is still recognised.

    Raises NotReplayable when the message is no longer quarantined (of two replays, one
    wins), ValidationError for an edit that breaks the message's contract, ValueError for an
    edit of a message sent in parts. Returns the message."""
    if payload is not None and message.group_key is not None:
        raise ValueError("A forecast sent in parts cannot be edited; replay it as it is.")
    if payload is not None:
        errors = contracts.contract_errors(message.message_type, message.schema_version, payload)
        if errors:
            raise ValidationError(
                [f"{error['path']}: {error['message']}" for error in errors], code="contract"
            )
    now = timezone.now()
    targets = release_group(message) if message.group_key is not None else None
    with transaction.atomic():
        if targets is None:
            targets = InboundMessage.objects.filter(pk=message.pk)
        changes = {
            "status": Status.RECEIVED,
            "claimed_at": None,
            "enqueued_at": now,
            "finished_at": None,
            "released_payload": None,
            "last_error": "",
            "updated_at": now,
        }
        count = targets.filter(status=Status.QUARANTINED).update(**changes)
        expected = message.part_count if message.group_key is not None else 1
        if count != expected:
            transaction.set_rollback(True)
        else:
            if payload is not None:
                _add_revision(message, payload, by, reason, now)
            leader = (
                message.pk
                if message.group_key is None
                else release_group(message).get(part_number=1).pk
            )
            transaction.on_commit(lambda: enqueue.enqueue_validation(leader))
    if count != expected:
        current = InboundMessage.objects.values_list("status", flat=True).get(pk=message.pk)
        raise NotReplayable(message, current)
    message.status, message.enqueued_at, message.finished_at = Status.RECEIVED, now, None
    return message


def override_release(message, *, by=None):
    """Release a quarantined message as it stands, despite its diagnostics (a steward's
    override, decided and recorded by quarantine): quarantined -> released in one conditional
    UPDATE, every part of a release together. The released payload is the payload without
    enrichment. No outcome is announced: the override is not a validation outcome; its event
    is (hub.message.released, "override": true). Returns False when the message was not
    quarantined (e.g. a replay is running)."""
    now = timezone.now()
    targets = (
        release_group(message)
        if message.group_key is not None
        else InboundMessage.objects.filter(pk=message.pk)
    )
    expected = message.part_count if message.group_key is not None else 1
    with transaction.atomic():
        if (
            targets.filter(status=Status.QUARANTINED).update(
                status=Status.RELEASED,
                released_payload=F("payload"),
                finished_at=now,
                updated_at=now,
            )
            != expected
        ):
            transaction.set_rollback(True)
            return False
        if message.message_type == "forecast":
            # A planner's approval of a held forecast (a frozen fence change) releases that
            # version: the next one is compared with it.
            leader = (
                message if message.group_key is None else release_group(message).get(part_number=1)
            )
            ledger.record_override(leader, stored_header(leader), now=now)
        message.status = Status.RELEASED
        # The diagnostics overridden, when at hand (never read back for the event).
        overridden = message.__dict__.get("diagnostics") or []
        events.message_outcome(Status.RELEASED, _released_parts(message), overridden, override=True)
    return True


def _released_parts(message):
    """The message, or every part of its release in order (part 1 first), for its event."""
    if message.group_key is None:
        return [message]
    return list(
        release_group(message).select_related("system").defer(*LARGE_FIELDS).order_by("part_number")
    )


def _add_revision(message, payload, by, reason, now):
    revisions = PayloadRevision.objects.filter(message=message)
    last = revisions.order_by("-number").values_list("number", flat=True).first()
    if last is None:
        # Revision 1 is the payload as sent, dated when the hub received it (not the edit).
        original, received_at = InboundMessage.objects.values_list("payload", "received_at").get(
            pk=message.pk
        )
        PayloadRevision.objects.create(
            message=message, number=1, payload=original, reason="As sent.", created_at=received_at
        )
        last = 1
    PayloadRevision.objects.create(
        message=message,
        number=last + 1,
        payload=payload,
        author=by if by is not None and by.is_authenticated else None,
        reason=reason,
        created_at=now,
    )
    InboundMessage.objects.filter(pk=message.pk).update(
        payload=payload,
        line_count=len(payload.get("lines") or ()),
        document_key=document_key(message.message_type, payload),
        business_date=contracts.business_date(
            message.message_type, message.schema_version, payload
        ),
    )
    message.payload = payload


def original_payload(message):
    """The payload as the sender sent it (revision 1 once the message was edited)."""
    first = PayloadRevision.objects.filter(message=message, number=1).first()
    return first.payload if first is not None else message.payload
