"""Submission, idempotency, claiming and outcomes of inbound messages.

Submission (`submit_message`): the contract is checked, the message stored, and validation
enqueued after commit. Idempotency is decided by the database: (system, idempotency_key) is
unique, so of two racing submissions with one key exactly one insert succeeds; the other
reads the winner back and answers as a repeat (same payload) or a conflict.

Validation (`validate_message`, run by the Celery task): the message is claimed with a
conditional UPDATE (received -> validating, with a fresh claimed_at that identifies the
attempt), evaluated by validation.pipeline with no transaction open, and its outcome written
in one transaction, only while it is still validating under the same claim; a redelivered or
late task finds nothing to do. The outcome signal goes out inside that transaction (see
validation.signals).

A forecast too large for one request comes in parts (same plan_id and version, part n of m).
Each part is stored and acknowledged on its own; the task of whichever part completes the
group claims every part at once (through part 1, the group's leader), validates the combined
lines once and gives every part the same final status. A line diagnostic goes to the part the
line came from, with its path into that part's payload and the part's number; diagnostics on
the shared header go to every part. The released payload is split the same way when the
pipeline returns one released line per line sent; otherwise part 1 holds it whole.

A message (or release) of more than HUB_VALIDATION_CHUNK_LINES lines is validated as chunks
by several workers and reaches one outcome: see "large messages: chunks" below.

Documents: the messages of one document (a purchase order's original, its changes and its
acknowledgements, whichever system sends them: `document_key`) are judged one at a time, in
the order received, on any number of workers. A message is claimed only while no other
message of its document is validating and none received before it is still waiting;
otherwise its task leaves it received (it waits) and the outcome of the message ahead
enqueues the document's next waiting message after commit. The check and the claim hold a
lock on the document (PostgreSQL: an advisory lock; SQLite writes one at a time anyway), so
two workers never judge two messages of one document at once. A waiting message is an
ordinary received one to the sweep: if the wake-up is lost, the sweep enqueues it again and
it is judged once the message ahead is final. A change or acknowledgement quarantined because
its order was missing is replayed when the order is released (quarantine.receivers).

The sweep (`sweep_stuck_messages`, Celery beat) re-enqueues messages left in received (the
enqueue was lost) and takes back expired claims (the worker died): the claim is reset to
received with a conditional UPDATE, so a worker that comes back late cannot write its
outcome, and after too many attempts the message goes to dead_letter. It also re-enqueues
the chunks of a split message whose tasks were lost.
"""

import bisect
import dataclasses
import datetime
import json
import logging
import re

import kombu.exceptions
import orjson
import redis.exceptions
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, F, JSONField, Q, Subquery, Sum, TextField, Value
from django.db.models.functions import Cast
from django.utils import timezone

from mdm.models import SourceSystem, allocate_public_ids
from validation import contracts, controls, pipeline
from validation.models import InboundMessage, MessageChunk, PayloadRevision, Team
from validation.signals import message_outcome

logger = logging.getLogger(__name__)

Status = InboundMessage.Status

# Errors that may go away on their own: the task retries them with backoff.
TRANSIENT_ERRORS = (
    OperationalError,
    InterfaceError,
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)

# The rule code of a contract error (not a Rule row: a contract cannot be switched off).
CONTRACT_RULE = "CONTRACT"
# The rule code when the parts of one forecast release disagree on their shared header.
PARTS_RULE = "PARTS_INCONSISTENT"
# How many stuck messages one sweep handles; the next sweep takes the rest.
SWEEP_BATCH = 1000
# The message types judged in order with the other messages of their document (by PO number).
DOCUMENT_TYPES = ("purchase_order", "po_acknowledgement")
# Left unread where only the status matters.
LARGE_FIELDS = ("payload", "released_payload", "diagnostics")

_LINE_PATH = re.compile(r"^\$\.lines\[(\d+)\]")


UnknownContract = contracts.UnknownContract


class IdempotencyConflict(Exception):
    """The key was already used for a different message."""

    def __init__(self, original, key):
        self.original = original
        super().__init__(
            f"Idempotency key {key!r} was already used for {original.public_id} with a "
            "different payload. Send a new message with a new key."
        )


class PartConflict(Exception):
    """A part of a forecast release clashes with a part already stored."""

    def __init__(self, existing, reason):
        self.original = existing
        super().__init__(reason)


@dataclasses.dataclass
class Submission:
    message: InboundMessage
    created: bool
    errors: list  # contract errors [{path, message}], when the message was rejected


@dataclasses.dataclass
class Claim:
    """One validation attempt's hold on a message (or on every part of a release)."""

    parts: list  # the claimed messages; a single message, or the parts in order
    claimed_at: datetime.datetime  # identifies the attempt: outcomes are written only under it

    @property
    def leader(self):
        return self.parts[0]


# --- submission ---------------------------------------------------------------------------


def submit_message(*, system, message_type, schema_version, payload, idempotency_key, user=None):
    """Store a message sent by `system` and enqueue its validation after commit.

    Returns a Submission: created=False when the key was used before with the same message
    (the original is returned); errors when the payload breaks its contract (the message is
    stored as rejected, for the audit trail). Raises UnknownContract, IdempotencyConflict
    (same key, different message) or PartConflict.
    """
    if not contracts.is_published(message_type, schema_version):
        raise UnknownContract(f"There is no contract {message_type} v{schema_version}.")
    digest = contracts.sha256_of(payload)
    existing = _find_by_key(system, idempotency_key)
    if existing is not None:
        return _repeat(existing, message_type, schema_version, digest, idempotency_key)

    errors = contracts.contract_errors(message_type, schema_version, payload)
    if not errors:
        errors = _part_errors(payload)
    message = InboundMessage(
        message_type=message_type,
        schema_version=schema_version,
        system=system,
        idempotency_key=idempotency_key,
        payload_sha256=digest,
        payload=payload,
        submitted_by=user if user is not None and user.is_authenticated else None,
    )
    now = timezone.now()
    message.received_at = now
    if errors:
        message.status = Status.REJECTED
        message.diagnostics = contract_diagnostics(errors)
        message.finished_at = now
        message.payload = kept_of_rejected(payload, digest)
    else:
        message.status = Status.RECEIVED
        message.business_date = contracts.business_date(message_type, schema_version, payload)
        message.line_count = len(payload.get("lines") or ())
        message.document_key = document_key(message_type, payload)
        message.enqueued_at = now
        _set_part(message)
        if message.group_key is not None:
            _check_siblings(message)

    # The id is taken outside the insert's transaction: the sequence row is locked only for
    # a moment, not while a large payload is written. A lost race leaves a gap, never a reuse.
    message.public_id = allocate_public_ids(InboundMessage.PUBLIC_ID_PREFIX)[0]
    try:
        with transaction.atomic():
            message.save(force_insert=True)
            if message.status == Status.RECEIVED:
                transaction.on_commit(lambda: enqueue_validation(message.pk))
            else:
                _announce(message.status, [message], message.diagnostics)
    except IntegrityError:
        existing = _find_by_key(system, idempotency_key)
        if existing is not None:
            return _repeat(existing, message_type, schema_version, digest, idempotency_key)
        if message.group_key is not None:
            sibling = _find_part(system, message.group_key, message.part_number)
            if sibling is not None:
                raise _part_taken(sibling, message) from None
        raise
    return Submission(message=message, created=True, errors=errors)


def document_key(message_type, payload):
    """The key the messages of one document share, or None for a message that stands alone: a
    purchase order's original, changes and acknowledgements share its number. (A ship notice
    or receipt may name several orders, one per line: it is not held.)"""
    if message_type in DOCUMENT_TYPES and isinstance(payload.get("po_number"), str):
        return f"purchase_order:{payload['po_number']}"
    return None


def kept_of_rejected(payload, digest):
    """What is kept of a rejected payload: the payload up to HUB_REJECTED_PAYLOAD_MAX_BYTES
    of canonical JSON; beyond, its size, SHA-256 and first bytes. The errors are what its
    sender needs, and a flood of large bad payloads must not fill the messages table."""
    text = contracts.canonical_json(payload)
    limit = settings.HUB_REJECTED_PAYLOAD_MAX_BYTES
    if len(text) <= limit:
        return payload
    return {
        "hub_truncated": {"bytes": len(text), "sha256": digest, "prefix": text[:limit].decode()}
    }


def contract_diagnostics(errors):
    """Contract errors in the shape of rule diagnostics, as stored on a rejected message."""
    return [
        {
            "rule": CONTRACT_RULE,
            "severity": "error",
            "team": Team.INTEGRATION.value,
            "path": error["path"],
            "message": error["message"],
        }
        for error in errors
    ]


def enqueue_validation(message_id):
    """Queue validation of a message. Never raises: a message whose enqueue failed (the
    broker is down) stays received, and the sweep enqueues it again."""
    from validation.tasks import validate_message

    try:
        validate_message.apply_async(
            (message_id,),
            queue=settings.VALIDATION_QUEUE,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )
    except Exception:  # the broker is down or refused: the sweep will enqueue it again
        logger.exception("Could not enqueue validation of message %s; the sweep will", message_id)


def dry_run(*, system, message_type, schema_version, payload):
    """What validating `payload` would conclude, writing nothing: {"status": released,
    quarantined or rejected, "diagnostics", "released_payload"}. A part of a forecast
    release is validated on its own."""
    if not contracts.is_published(message_type, schema_version):
        raise UnknownContract(f"There is no contract {message_type} v{schema_version}.")
    errors = contracts.contract_errors(message_type, schema_version, payload) or _part_errors(
        payload
    )
    if errors:
        return {
            "status": Status.REJECTED.value,
            "diagnostics": contract_diagnostics(errors),
            "released_payload": None,
        }
    if isinstance(payload, dict) and "part" in payload:
        payload = {key: value for key, value in payload.items() if key != "part"}
    outcome = pipeline.evaluate(
        message_type,
        schema_version,
        payload,
        system,
        as_of=contracts.business_date(message_type, schema_version, payload),
    )
    return {
        "status": outcome.status,
        "diagnostics": outcome.diagnostics,
        "released_payload": outcome.released_payload,
    }


def _find_by_key(system, key):
    # The original is answered without its payload (the sender has it).
    return (
        InboundMessage.objects.filter(system=system, idempotency_key=key)
        .select_related("system")
        .defer("payload")
        .first()
    )


def _find_part(system, group_key, part_number):
    return (
        InboundMessage.objects.filter(system=system, group_key=group_key, part_number=part_number)
        .defer(*LARGE_FIELDS)
        .first()
    )


def _repeat(existing, message_type, schema_version, digest, key):
    same = (
        existing.message_type == message_type
        and existing.schema_version == schema_version
        and existing.payload_sha256 == digest
    )
    if not same:
        raise IdempotencyConflict(existing, key)
    errors = [
        {"path": d["path"], "message": d["message"]}
        for d in existing.diagnostics
        if existing.status == Status.REJECTED and d.get("rule") == CONTRACT_RULE
    ]
    return Submission(message=existing, created=False, errors=errors)


def _part_errors(payload):
    part = payload.get("part") if isinstance(payload, dict) else None
    if part and part["number"] > part["of"]:
        return [
            {
                "path": "$.part.number",
                "message": f"Part {part['number']} of {part['of']}: the number is beyond the "
                "count.",
            }
        ]
    return []


def _set_part(message):
    part = message.payload.get("part")
    if message.message_type != "forecast" or not part:
        return
    payload = message.payload
    message.group_key = f"forecast:v{payload['version']}:{payload['plan_id']}"
    message.part_number = part["number"]
    message.part_count = part["of"]


def _header(payload):
    """What every part of a release must agree on: all but the lines and the part."""
    return {key: value for key, value in payload.items() if key not in ("lines", "part")}


def _check_siblings(message):
    """Refuse a part that disagrees with a part already in: another part count, contract
    version or header. (The assembly checks the whole headers again: two parts sent at the
    same moment do not see each other here.)"""
    # plan_id and version are in the group key; the rest of the header is read from the
    # database without the sibling's lines.
    keys = sorted(
        key for key in message.payload if key not in ("lines", "part", "plan_id", "version")
    )
    sibling = (
        InboundMessage.objects.filter(system=message.system, group_key=message.group_key)
        .exclude(part_number=message.part_number)
        .order_by("part_number")
        .values(
            "public_id",
            "part_number",
            "part_count",
            "schema_version",
            *[f"payload__{k}" for k in keys],
        )
        .first()
    )
    if sibling is None:
        return
    described = f"Part {sibling['part_number']} of this release ({sibling['public_id']})"
    if sibling["part_count"] != message.part_count:
        reason = (
            f"{described} says it is one of {sibling['part_count']} parts; this one says "
            f"{message.part_count}."
        )
    elif sibling["schema_version"] != message.schema_version:
        reason = (
            f"{described} follows forecast v{sibling['schema_version']}; every part of a "
            "release follows the same contract version."
        )
    elif any(sibling[f"payload__{key}"] != message.payload[key] for key in keys):
        reason = (
            f"{described} has another {' or '.join(keys)}; every part of a release carries "
            "the same header."
        )
    else:
        existing = _find_part(message.system, message.group_key, message.part_number)
        if existing is not None:
            raise _part_taken(existing, message)
        return
    raise PartConflict(
        _find_part(message.system, message.group_key, sibling["part_number"]), reason
    )


def _part_taken(existing, message):
    # message.payload is the new part's own: plan_id and version as sent.
    return PartConflict(
        existing,
        f"Part {message.part_number} of plan {message.payload['plan_id']} version "
        f"{message.payload['version']} was already sent as {existing.public_id}.",
    )


# --- replay -------------------------------------------------------------------------------


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
    targets = _group(message) if message.group_key is not None else None
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
                message.pk if message.group_key is None else _group(message).get(part_number=1).pk
            )
            transaction.on_commit(lambda: enqueue_validation(leader))
    if count != expected:
        current = InboundMessage.objects.values_list("status", flat=True).get(pk=message.pk)
        raise NotReplayable(message, current)
    message.status, message.enqueued_at, message.finished_at = Status.RECEIVED, now, None
    return message


def override_release(message, *, by=None):
    """Release a quarantined message as it stands, despite its diagnostics (a steward's
    override, decided and recorded by quarantine): quarantined -> released in one conditional
    UPDATE, every part of a release together. The released payload is the payload without
    enrichment. No outcome is announced: the override is not a validation outcome. Returns
    False when the message was not quarantined (e.g. a replay is running)."""
    now = timezone.now()
    targets = (
        _group(message)
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
            leader = message if message.group_key is None else _group(message).get(part_number=1)
            controls.record_override(leader, _stored_header(leader), now=now)
    message.status = Status.RELEASED
    return True


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


# --- validation ---------------------------------------------------------------------------


def validate_message(message_id, *, final_attempt=False):
    """Claim, evaluate and write the outcome of one message (or of the release it is a part
    of). Returns the final status written, or None when there was nothing to do (already
    claimed or finished, or a part whose release is not complete yet) or when the message was
    split into chunks (see validate_chunk; the last chunk writes the outcome).

    A transient error releases the claim and propagates, for the task to retry; on the final
    attempt, and for any other error, the message goes to dead_letter with the error.
    """
    claim = claim_message(message_id)
    if claim is None:
        return None
    try:
        if sum(_line_counts(claim.parts)) > settings.VALIDATION_CHUNK_LINES:
            problems = _header_problems(claim.parts)
            if problems:
                return write_outcome(claim, Status.REJECTED, problems)
            return fan_out(claim)
        payload, problems = _assemble(claim.parts)
        if problems:
            return write_outcome(claim, Status.REJECTED, problems)
        outcome = pipeline.evaluate(
            claim.leader.message_type,
            claim.leader.schema_version,
            payload,
            claim.leader.system,
            as_of=claim.leader.business_date,
        )
        if outcome.status not in (Status.RELEASED, Status.QUARANTINED):
            raise ValueError(f"The pipeline returned the unknown status {outcome.status!r}.")
        return write_outcome(claim, outcome.status, outcome.diagnostics, outcome.released_payload)
    except TRANSIENT_ERRORS as exc:
        if final_attempt:
            logger.warning("Validation of %s failed on its last attempt: %s", message_id, exc)
            return dead_letter(claim, _describe(exc, "after the last retry"))
        release_claim(claim, _describe(exc, "retrying"))
        raise
    except Exception as exc:
        logger.exception("Validation of message %s failed", message_id)
        return dead_letter(claim, _describe(exc))


def claim_message(message_id):
    """Take a message for validation: received -> validating in one conditional UPDATE, so
    of two tasks for the same message only one proceeds. A part claims its whole release,
    through part 1, and only once every part is in. Returns a Claim or None."""
    message = (
        InboundMessage.objects.filter(pk=message_id)
        .only("status", "system_id", "group_key", "part_count", "document_key")
        .first()
    )
    if message is None or message.status != Status.RECEIVED:
        return None
    now = timezone.now()
    claimed = {
        "status": Status.VALIDATING,
        "claimed_at": now,
        "attempts": F("attempts") + 1,
        "updated_at": now,
    }
    if message.group_key is None:
        with transaction.atomic():
            if message.document_key is not None:
                _lock_document(message)
                ahead = _ahead_in_document(message)
                if ahead is not None:
                    logger.info(
                        "Message %s waits for %s, ahead of it in %s",
                        message_id,
                        ahead,
                        message.document_key,
                    )
                    return None
            if not InboundMessage.objects.filter(pk=message.pk, status=Status.RECEIVED).update(
                **claimed
            ):
                return None
        parts = [
            InboundMessage.objects.select_related("system").defer(*LARGE_FIELDS).get(pk=message.pk)
        ]
        return Claim(parts=parts, claimed_at=now)

    group = _group(message)
    numbers = dict(group.values_list("part_number", "pk"))
    if sorted(numbers) != list(range(1, message.part_count + 1)):
        return None  # not all parts are in yet; the last part's task will claim the release
    try:
        with transaction.atomic():
            # Part 1 is the release's lock: whoever moves it out of received owns the release.
            leader = numbers[1]
            if not group.filter(pk=leader, status=Status.RECEIVED).update(**claimed):
                return None
            others = group.exclude(pk=leader).filter(status=Status.RECEIVED).update(**claimed)
            if others != message.part_count - 1:
                raise _PartsOutOfStep
    except _PartsOutOfStep:
        logger.warning("Parts of %s are not all received; not claimed", message.group_key)
        return None
    # Payloads are read when needed: a release of a million lines is never loaded whole.
    parts = list(group.select_related("system").defer(*LARGE_FIELDS).order_by("part_number"))
    return Claim(parts=parts, claimed_at=now)


class _PartsOutOfStep(Exception):
    pass


def _lock_document(message):
    """Serialize the claims on one document until the transaction ends. PostgreSQL: an
    advisory lock on the document key, so a claim sees every claim committed before it.
    SQLite: the no-op UPDATE takes the database's write lock, as xref.services does for a
    code's claims."""
    if connection.vendor == "postgresql":
        key = f"document\x1f{message.document_key}"
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])
    else:
        SourceSystem.objects.filter(pk=message.system_id).update(code=F("code"))


def _ahead_in_document(message):
    """The public id of a message of the same document that must be judged first: one being
    validated, or one received earlier still waiting. None when the message may go."""
    return (
        InboundMessage.objects.filter(document_key=message.document_key)
        .exclude(pk=message.pk)
        .filter(Q(status=Status.VALIDATING) | Q(status=Status.RECEIVED, pk__lt=message.pk))
        .order_by("pk")
        .values_list("public_id", flat=True)
        .first()
    )


def held_behind(message):
    """The quarantined messages of a released purchase order's document that its release may
    unblock: the sender's changes of a later sequence (quarantined when the original was
    missing) and the document's acknowledgements (of an order unknown then)."""
    if message.document_key is None or message.message_type != "purchase_order":
        return InboundMessage.objects.none()
    sequence = (
        InboundMessage.objects.filter(pk=message.pk)
        .values_list("payload__change_sequence", flat=True)
        .get()
    )
    if not isinstance(sequence, int):
        return InboundMessage.objects.none()
    later_change = Q(
        message_type="purchase_order",
        system_id=message.system_id,
        payload__change_sequence__gt=sequence,
    )
    return InboundMessage.objects.filter(
        later_change | Q(message_type="po_acknowledgement"),
        document_key=message.document_key,
        status=Status.QUARANTINED,
    )


def enqueue_next_in_document(key):
    """Enqueue the document's first waiting message (the one just judged was ahead of it).
    Run after the outcome commits; a lost wake-up is the sweep's to make good."""
    waiting = (
        InboundMessage.objects.filter(document_key=key, status=Status.RECEIVED)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if waiting is not None:
        enqueue_validation(waiting)


def write_outcome(claim, status, diagnostics, released_payload=None):
    """Write a final status on every claimed message in one transaction, only while the claim
    still holds, record a release in the document ledger (validation.controls), and announce
    it. Returns the status written (quarantined when the ledger refused a release another got
    to first), or None when the claim was lost (the sweep took it back; another attempt owns
    the message now)."""
    now = timezone.now()
    with transaction.atomic():
        if status == Status.RELEASED:
            # The ledger in the outcome's own transaction: recorded exactly when released. A
            # release that got there first (the same forecast version, order change or
            # shipment validated at the same moment) turns this one into a quarantine.
            try:
                controls.record(
                    claim.leader,
                    released_payload,
                    lines_filtered=_filtered_count(released_payload),
                    now=now,
                )
            except controls.Refused as refused:
                status, released_payload = Status.QUARANTINED, None
                diagnostics = [*diagnostics, refused.diagnostic()]
        per_part, announced = _per_part(claim.parts, diagnostics, released_payload)
        for part, (part_diagnostics, part_released) in zip(claim.parts, per_part, strict=True):
            written = _under_claim(claim, part).update(
                status=status,
                diagnostics=part_diagnostics,
                released_payload=part_released,
                finished_at=now,
                last_error="",
                updated_at=now,
            )
            if not written:
                transaction.set_rollback(True)
                logger.warning(
                    "Claim on %s lost before its outcome was written; dropped",
                    claim.leader.public_id,
                )
                return None
            part.status, part.diagnostics, part.released_payload = (
                status,
                part_diagnostics,
                part_released,
            )
            part.finished_at = now
        _announce(status, claim.parts, announced)
    return status


def _per_part(parts, diagnostics, released_payload):
    """Per part: (diagnostics, released payload); and the diagnostics to announce."""
    if len(parts) == 1:
        return [(diagnostics, released_payload)], diagnostics
    return _split_outcome(parts, diagnostics, released_payload)


def release_claim(claim, error):
    """Give a claimed message back (validating -> received) after a transient error, so the
    retry can claim it. Best effort: if the database is down too, the sweep takes the claim
    back once it expires."""
    now = timezone.now()
    try:
        with transaction.atomic():
            for part in claim.parts:
                _under_claim(claim, part).update(
                    status=Status.RECEIVED,
                    claimed_at=None,
                    enqueued_at=now,
                    last_error=error,
                    updated_at=now,
                )
    except Exception:
        logger.exception("Could not release the claim on %s", claim.leader.public_id)


def dead_letter(claim, error):
    """Park a claimed message (and the rest of its release) as dead_letter with the error,
    for operators. Returns the status, or None when the claim was lost."""
    now = timezone.now()
    with transaction.atomic():
        for part in claim.parts:
            if not _under_claim(claim, part).update(
                status=Status.DEAD_LETTER, last_error=error, finished_at=now, updated_at=now
            ):
                transaction.set_rollback(True)
                return None
            part.status, part.last_error, part.finished_at = Status.DEAD_LETTER, error, now
        _announce(Status.DEAD_LETTER, claim.parts, [])
    return Status.DEAD_LETTER


def _under_claim(claim, part):
    return InboundMessage.objects.filter(
        pk=part.pk, status=Status.VALIDATING, claimed_at=claim.claimed_at
    )


def _announce(status, parts, diagnostics):
    leader = parts[0]
    if leader.document_key is not None:
        # The messages of the document that waited for this one (see "documents").
        transaction.on_commit(lambda: enqueue_next_in_document(leader.document_key), robust=True)
    message_outcome.send(
        sender=InboundMessage,
        message=parts[0],
        status=status,
        diagnostics=diagnostics,
        parts=parts,
    )


def _group(message):
    return InboundMessage.objects.filter(system_id=message.system_id, group_key=message.group_key)


def _assemble(parts):
    """The payload to validate: a single message's own, or the parts' shared header with
    every part's lines in part order. Second value: diagnostics when the parts disagree."""
    if len(parts) == 1 and parts[0].group_key is None:
        return parts[0].payload, []
    header = _header(parts[0].payload)
    problems = [
        {
            "rule": PARTS_RULE,
            "severity": "error",
            "team": Team.INTEGRATION.value,
            "path": "$",
            "part": part.part_number,
            "message": f"Part {part.part_number} has a different header (plan, version, "
            "horizon or bucket) than part 1; every part of a release carries the same one.",
        }
        for part in parts[1:]
        if _header(part.payload) != header
    ]
    lines = []
    for part in parts:
        lines.extend(part.payload["lines"])
    return {**header, "lines": lines}, problems


def _split_outcome(parts, diagnostics, released_payload):
    """Per part: (its diagnostics, its released payload); and every diagnostic, each line
    diagnostic with its part number and its path into that part's payload."""
    starts, start = [], 0
    for count in _line_counts(parts):
        starts.append(start)
        start += count
    total = start
    per_part = [[] for _ in parts]
    announced = []
    for diagnostic in diagnostics:
        if "part" in diagnostic:  # already the parts' own (inconsistent headers)
            index = [p.part_number for p in parts].index(diagnostic["part"])
            per_part[index].append(diagnostic)
            announced.append(diagnostic)
            continue
        path = diagnostic.get("path") or ""
        match = _LINE_PATH.match(path)
        if match is None:
            for own in per_part:
                own.append(diagnostic)
            announced.append(diagnostic)
            continue
        line = int(match[1])
        index = max(bisect.bisect_right(starts, line) - 1, 0)
        local = {
            **diagnostic,
            "part": parts[index].part_number,
            "path": f"$.lines[{line - starts[index]}]{path[match.end() :]}",
        }
        per_part[index].append(local)
        announced.append(local)

    released = [None] * len(parts)
    if released_payload is not None:
        lines = released_payload.get("lines") if isinstance(released_payload, dict) else None
        if isinstance(lines, list) and len(lines) == total:
            header = {key: value for key, value in released_payload.items() if key != "lines"}
            for index, part in enumerate(parts):
                end = starts[index + 1] if index + 1 < len(parts) else total
                released[index] = {
                    **header,
                    "part": {"number": part.part_number, "of": part.part_count},
                    "lines": lines[starts[index] : end],
                }
        else:
            released[0] = released_payload
    return list(zip(per_part, released, strict=True)), announced


def _describe(exc, when=""):
    text = f"{type(exc).__name__}: {exc}".strip()
    return f"{text} ({when})" if when else text


def _line_counts(parts):
    """Lines of each part, as counted at submission (read from the payload for a message
    stored before lines were counted)."""
    return [
        part.line_count if part.line_count is not None else len(part.payload.get("lines") or ())
        for part in parts
    ]


# --- large messages: chunks ---------------------------------------------------------------
#
# A message (or release) of more than HUB_VALIDATION_CHUNK_LINES lines is not validated by the
# task that claimed it. That task splits it into MessageChunk rows of at most that many lines
# (never across parts), each validated by its own task on any worker, and counts them on the
# leader (the message, or part 1). A chunk task claims its chunk with a conditional UPDATE
# (pending, not claimed or its claim expired, and the leader still validating under the same
# attempt), reads only its own lines from the database, runs the pipeline over them, and in one
# transaction stores what it found and counts itself done, on the leader and on its part's
# first chunk.
#
# The task that completes a part stages the part's released payload (its chunks' enriched
# lines joined as text, parsed once by the database) on the part's first chunk, so that parts
# are staged in parallel as they complete; nothing is staged once a chunk found an error.
# Staging takes the leader's row lock, so exactly one task sees the last part staged: it writes
# the outcome in one transaction, with write_outcome's guarantees (only under the claim; the
# signal inside the transaction): every part's status and diagnostics, and its released payload
# copied from the staged one within the database, then the chunks are deleted.
#
# A redelivered chunk task finds its chunk done (or claimed) and only completes what is left to
# do (stages complete parts, writes the outcome). A chunk whose task was lost, or whose worker
# died, is enqueued again by the sweep, as is a message whose chunks are all done but whose
# outcome was never written. A chunk of an attempt the sweep took back is refused: the new
# attempt splits the message afresh and deletes the old chunks.


def fan_out(claim):
    """Split a claimed message into chunks and enqueue their tasks after commit. Returns None:
    the outcome comes from the chunks."""
    leader = claim.leader
    size = settings.VALIDATION_CHUNK_LINES
    chunks, offset = [], 0
    for part, count in zip(claim.parts, _line_counts(claim.parts), strict=True):
        starts = range(0, count, size)
        for start in starts:
            chunks.append(
                MessageChunk(
                    message=leader,
                    attempt=claim.claimed_at,
                    index=len(chunks),
                    part=part,
                    start=start,
                    stop=min(start + size, count),
                    offset=offset + start,
                    part_chunks=len(starts) if start == 0 else None,
                )
            )
        offset += count
    with transaction.atomic():
        if not _under_claim(claim, leader).update(chunks_total=len(chunks), chunks_done=0):
            return None
        MessageChunk.objects.filter(message=leader).delete()  # an earlier attempt's
        MessageChunk.objects.bulk_create(chunks, batch_size=1000)
        ids = list(
            MessageChunk.objects.filter(message=leader, attempt=claim.claimed_at)
            .order_by("index")
            .values_list("pk", flat=True)
        )
        transaction.on_commit(lambda: [enqueue_chunk(pk) for pk in ids])
    logger.info("Message %s: %s lines in %s chunks", leader.public_id, offset, len(ids))
    return None


def enqueue_chunk(chunk_id):
    """Queue a chunk's validation. Never raises: the sweep enqueues a lost chunk again."""
    from validation.tasks import validate_chunk

    try:
        validate_chunk.apply_async(
            (chunk_id,),
            queue=settings.VALIDATION_QUEUE,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )
    except Exception:  # the broker is down: the sweep will enqueue it again
        logger.exception("Could not enqueue chunk %s; the sweep will", chunk_id)


def validate_chunk(chunk_id, *, final_attempt=False):
    """Validate one chunk, then do what its completion allows: stage its part, write the
    message's outcome. Returns the final status when this call wrote it, else None."""
    chunk = claim_chunk(chunk_id)
    try:
        if chunk is not None and not _run_chunk(chunk):
            return None
        return _advance(chunk_id)
    except TRANSIENT_ERRORS as exc:
        if chunk is None:
            raise
        if final_attempt:
            logger.warning("Chunk %s failed on its last attempt: %s", chunk_id, exc)
            return _dead_letter_chunked(chunk, _describe(exc, "after the last retry"))
        MessageChunk.objects.filter(
            pk=chunk.pk, status=MessageChunk.Status.PENDING, claimed_at=chunk.claimed_at
        ).update(claimed_at=None, enqueued_at=timezone.now())
        raise
    except Exception as exc:
        logger.exception("Validation of chunk %s failed", chunk_id)
        if chunk is None:
            chunk = MessageChunk.objects.filter(pk=chunk_id).first()
        return _dead_letter_chunked(chunk, _describe(exc)) if chunk else None


def claim_chunk(chunk_id):
    """Take a pending chunk of a message still validating under the chunk's attempt, unless
    another task holds it (a claim younger than HUB_VALIDATION_CHUNK_TIMEOUT)."""
    now = timezone.now()
    expired = now - datetime.timedelta(seconds=settings.VALIDATION_CHUNK_TIMEOUT)
    taken = (
        MessageChunk.objects.filter(
            pk=chunk_id,
            status=MessageChunk.Status.PENDING,
            message__status=Status.VALIDATING,
            message__claimed_at=F("attempt"),
        )
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=expired))
        .update(claimed_at=now)
    )
    if not taken:
        return None
    return (
        MessageChunk.objects.select_related("message__system")
        .defer("diagnostics", "released_lines", "part_released")
        .defer(*(f"message__{field}" for field in LARGE_FIELDS))
        .get(pk=chunk_id)
    )


def _run_chunk(chunk):
    """Validate a claimed chunk and store the findings, counting it done on the leader and
    on its part. False when the claim (the chunk's or the message's) was lost."""
    message = chunk.message
    check = _header_check(message, chunk.attempt)
    lines = _chunk_lines(chunk.part_id, chunk.start, chunk.stop)
    filtered = []
    found, enriched = check.check_lines(lines, chunk.offset, filtered=filtered)
    del lines
    if chunk.index == 0:
        found = check.header_diagnostics + found
    # orjson: a chunk of 5,000 enriched lines is written in a fifth of the time json takes.
    text = orjson.dumps(enriched).decode() if enriched is not None else ""
    del enriched
    with transaction.atomic():
        stored = MessageChunk.objects.filter(
            pk=chunk.pk, status=MessageChunk.Status.PENDING, claimed_at=chunk.claimed_at
        ).update(
            status=MessageChunk.Status.DONE,
            diagnostics=found,
            released_lines=text,
            filtered_count=len(filtered),
            filtered=filtered[: controls.MAX_FILTERED_LISTED],
            finished_at=timezone.now(),
        )
        counted = InboundMessage.objects.filter(
            pk=chunk.message_id, status=Status.VALIDATING, claimed_at=chunk.attempt
        ).update(chunks_done=F("chunks_done") + 1)
        if not stored or not counted:
            transaction.set_rollback(True)
            return False
        _first_of_part(chunk.message_id, chunk.attempt, chunk.part_id).update(
            part_done=F("part_done") + 1
        )
    return True


def _advance(chunk_id):
    """After a chunk is done: stage every part whose chunks are all done, and write the
    outcome once every part is staged. Returns the status written, or None."""
    row = (
        MessageChunk.objects.filter(pk=chunk_id, status=MessageChunk.Status.DONE)
        .values_list("message_id", "attempt")
        .first()
    )
    if row is None:
        return None
    message_id, attempt = row
    firsts = MessageChunk.objects.filter(message_id=message_id, attempt=attempt, start=0)
    complete = firsts.filter(part_staged=False, part_done__gte=F("part_chunks"))
    last = False
    for first in complete.only("pk", "part_id"):
        last = _stage_part(first, message_id, attempt) or last
    if last or not firsts.filter(part_staged=False).exists():
        return finish_message(message_id, attempt)
    return None


def _stage_part(first, message_id, attempt):
    """Stage a complete part's released payload on its first chunk (nothing when a chunk of
    the message found an error). True when this was the message's last part to stage."""
    leader = (
        InboundMessage.objects.select_related("system")
        .defer(*LARGE_FIELDS)
        .filter(pk=message_id, status=Status.VALIDATING, claimed_at=attempt)
        .first()
    )
    if leader is None:
        return False
    chunks = MessageChunk.objects.filter(message_id=message_id, attempt=attempt)
    errors = chunks.filter(status=MessageChunk.Status.DONE, released_lines="").exists()
    if not errors:
        # Written before the lock is taken: the database parses the part's JSON meanwhile,
        # and the other chunks go on counting themselves done on the leader.
        part = InboundMessage.objects.defer(*LARGE_FIELDS).get(pk=first.part_id)
        text = _released_text(part, _header_check(leader, attempt), chunks)
        MessageChunk.objects.filter(pk=first.pk, part_staged=False).update(
            part_released=Cast(Value(text, TextField()), JSONField())
        )
        del text
    with transaction.atomic():
        # The leader's row lock orders the parts' staging: the last one sees no part left.
        locked = list(
            InboundMessage.objects.select_for_update()
            .filter(pk=message_id, status=Status.VALIDATING, claimed_at=attempt)
            .values_list("pk", flat=True)
        )
        staged = locked and MessageChunk.objects.filter(pk=first.pk, part_staged=False).update(
            part_staged=True
        )
        if not staged:
            return False
        return not chunks.filter(start=0, part_staged=False).exists()


def _first_of_part(message_id, attempt, part_id):
    return MessageChunk.objects.filter(
        message_id=message_id, attempt=attempt, part_id=part_id, start=0
    )


# The Checks of the messages whose chunks this process ran last, by (message, attempt): the
# chunks of a message mostly follow one another on a worker, and a Check remembers every code
# its earlier chunks resolved (validation.pipeline). A few, so memory stays bounded.
_CHECKS = {}
CHECKS_KEPT = 4


def _header_check(message, attempt):
    """The pipeline's Check of a stored message (one attempt at it)."""
    key = (message.pk, attempt)
    check = _CHECKS.pop(key, None)
    if check is None:
        check = pipeline.Check(
            message.message_type,
            message.schema_version,
            _stored_header(message),
            message.system,
            as_of=message.business_date,
        )
    _CHECKS[key] = check  # the most recent last
    while len(_CHECKS) > CHECKS_KEPT:
        del _CHECKS[next(iter(_CHECKS))]
    return check


def finish_message(message_id, attempt):
    """Write the outcome of a message whose parts are all staged (one transaction, under the
    claim). Returns the status written, or None."""
    leader = (
        InboundMessage.objects.select_related("system")
        .defer(*LARGE_FIELDS)
        .filter(pk=message_id, status=Status.VALIDATING, claimed_at=attempt)
        .first()
    )
    chunks = MessageChunk.objects.filter(message_id=message_id, attempt=attempt)
    if leader is None or chunks.filter(start=0, part_staged=False).exists():
        return None
    if leader.group_key is None:
        parts = [leader]
    else:
        parts = list(
            _group(leader)
            .filter(claimed_at=attempt)
            .select_related("system")
            .defer(*LARGE_FIELDS)
            .order_by("part_number")
        )
    claim = Claim(parts=parts, claimed_at=attempt)
    # One chunk's findings in memory at a time: an outcome keeps at most MAX_DIAGNOSTICS.
    found = chunks.order_by("index").values_list("diagnostics", flat=True)
    diagnostics = pipeline.combine_diagnostics(found.iterator(chunk_size=1))
    errors = any(d["severity"] == "error" for d in diagnostics)
    status = Status.QUARANTINED if errors else Status.RELEASED
    now = timezone.now()
    with transaction.atomic():
        if status == Status.RELEASED:
            try:
                controls.record(
                    leader,
                    _recorded_payload(leader, attempt),
                    lines_filtered=chunks.aggregate(n=Sum("filtered_count"))["n"] or 0,
                    now=now,
                )
            except controls.Refused as refused:
                status = Status.QUARANTINED
                diagnostics = [*diagnostics, refused.diagnostic()]
        per_part, announced = _per_part(parts, diagnostics, None)
        for part, (part_diagnostics, _) in zip(parts, per_part, strict=True):
            released = None
            if status == Status.RELEASED:
                staged = _first_of_part(message_id, attempt, part.pk).values("part_released")
                released = Subquery(staged[:1])
            written = _under_claim(claim, part).update(
                status=status,
                diagnostics=part_diagnostics,
                released_payload=released,
                finished_at=now,
                last_error="",
                updated_at=now,
            )
            if not written:
                transaction.set_rollback(True)
                return None
            part.status, part.diagnostics, part.finished_at = status, part_diagnostics, now
        MessageChunk.objects.filter(message_id=message_id).delete()
        _announce(status, parts, announced)
    logger.info("Message %s %s from %s chunks", leader.public_id, status, leader.chunks_total)
    return status


def _released_text(part, check, chunks):
    """A part's released payload as JSON text: its header (with the part, for a release in
    parts) and the hub (with the lines its chunks left out as not actionable), then the
    enriched lines of its chunks, joined as stored."""
    header = _stored_header(part)
    own = chunks.filter(part=part)
    count = own.aggregate(n=Sum("filtered_count"))["n"] or 0
    filtered = []
    if count:
        for listed in own.order_by("index").values_list("filtered", flat=True):
            filtered.extend(listed[: controls.MAX_FILTERED_LISTED - len(filtered)])
    header["hub"] = check.released_hub(count, filtered)
    if part.group_key is not None:
        header["part"] = {"number": part.part_number, "of": part.part_count}
    texts = chunks.filter(part=part).order_by("index").values_list("released_lines", flat=True)
    lines = ",".join(text[1:-1] for text in texts.iterator(chunk_size=4) if len(text) > 2)
    return json.dumps(header, separators=(",", ":"))[:-1] + ',"lines":[' + lines + "]}"


def _filtered_count(released_payload):
    hub = (released_payload or {}).get("hub") or {}
    return (hub.get("selective_sync") or {}).get("lines_filtered", 0)


def _recorded_payload(leader, attempt):
    """What the ledger records of a message released from chunks: a forecast's header (its
    lines are not needed), else the released payload its chunks staged."""
    if leader.message_type == "forecast":
        return _stored_header(leader)
    staged = _first_of_part(leader.pk, attempt, leader.pk).values_list("part_released", flat=True)
    return staged.first()


def _dead_letter_chunked(chunk, error):
    """Park the message a chunk belongs to as dead_letter (under its claim)."""
    leader = (
        InboundMessage.objects.defer(*LARGE_FIELDS)
        .filter(pk=chunk.message_id, status=Status.VALIDATING, claimed_at=chunk.attempt)
        .first()
    )
    if leader is None:
        return None
    parts = (
        list(_group(leader).filter(claimed_at=chunk.attempt).defer(*LARGE_FIELDS))
        if leader.group_key
        else [leader]
    )
    with transaction.atomic():
        status = dead_letter(Claim(parts=parts, claimed_at=chunk.attempt), error)
        if status:
            MessageChunk.objects.filter(message_id=chunk.message_id).delete()
    return status


def _header_keys(message):
    schema = contracts.get_contract(message.message_type, message.schema_version)
    return [key for key in schema["properties"] if key not in ("lines", "part")]


def _stored_header(message):
    """A stored message's payload without its lines (and part), read without the lines."""
    keys = _header_keys(message)
    if connection.vendor == "sqlite":
        # SQLite hands a key's value over as text that Django decodes again, so a code such
        # as "4500012345" would come back as a number: take the header as one JSON text.
        table = InboundMessage._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT json_remove(payload, '$.lines', '$.part') FROM {table} WHERE id = %s",
                [message.pk],
            )
            header = json.loads(cursor.fetchone()[0])
        return {key: header[key] for key in keys if header.get(key) is not None}
    row = (
        InboundMessage.objects.filter(pk=message.pk)
        .values_list(*(f"payload__{key}" for key in keys))
        .get()
    )
    return {key: value for key, value in zip(keys, row, strict=True) if value is not None}


def _header_problems(parts):
    """The PARTS_INCONSISTENT diagnostics of a release whose parts disagree on the header,
    read without the lines."""
    if len(parts) == 1:
        return []
    first = _stored_header(parts[0])
    return [
        {
            "rule": PARTS_RULE,
            "severity": "error",
            "team": Team.INTEGRATION.value,
            "path": "$",
            "part": part.part_number,
            "message": f"Part {part.part_number} has a different header (plan, version, "
            "horizon or bucket) than part 1; every part of a release carries the same one.",
        }
        for part in parts[1:]
        if _stored_header(part) != first
    ]


def _chunk_lines(message_id, start, stop):
    """Lines [start, stop) of a stored message, sliced by the database: a chunk task never
    reads the rest of a large payload."""
    table = InboundMessage._meta.db_table
    if connection.vendor == "postgresql":
        sql = (
            "SELECT jsonb_path_query_array(payload, '$.lines[$a to $b]', "
            f"jsonb_build_object('a', %s::int, 'b', %s::int))::text FROM {table} WHERE id = %s"
        )
        params = [start, stop - 1, message_id]
    else:
        sql = (
            "SELECT json_group_array(json(value)) FROM (SELECT value FROM "
            f"{table} m, json_each(m.payload, '$.lines') WHERE m.id = %s AND key >= %s "
            "AND key < %s ORDER BY key)"
        )
        params = [message_id, start, stop]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return orjson.loads(row[0]) if row and row[0] else []


# --- the sweep ----------------------------------------------------------------------------


def sweep_stuck_messages(now=None):
    """Re-enqueue messages stuck in received past HUB_VALIDATION_RECEIVED_TIMEOUT; take back
    claims older than HUB_VALIDATION_CLAIM_TIMEOUT (reset to received and re-enqueue, or
    dead_letter after HUB_VALIDATION_MAX_ATTEMPTS). Returns counts by what was done."""
    now = now or timezone.now()
    counts = {"requeued": 0, "reclaimed": 0, "dead_letter": 0}
    claim_cutoff = now - datetime.timedelta(seconds=settings.VALIDATION_CLAIM_TIMEOUT)
    expired = (
        InboundMessage.objects.filter(status=Status.VALIDATING, claimed_at__lt=claim_cutoff)
        .defer(*LARGE_FIELDS)
        .order_by("claimed_at")[:SWEEP_BATCH]
    )
    seen_claims = set()
    for message in expired:
        key = (message.system_id, message.group_key or message.pk, message.claimed_at)
        if key in seen_claims:
            continue
        seen_claims.add(key)
        parts = (
            list(
                _group(message)
                .filter(claimed_at=message.claimed_at)
                .defer(*LARGE_FIELDS)
                .order_by("part_number")
            )
            if message.group_key
            else [message]
        )
        claim = Claim(parts=parts, claimed_at=message.claimed_at)
        if message.attempts >= settings.VALIDATION_MAX_ATTEMPTS:
            error = (
                f"Validation was claimed {message.attempts} times without an outcome (the last "
                f"claim at {message.claimed_at.isoformat()} expired); the worker was lost or "
                "the task kept failing."
            )
            if dead_letter(claim, error):
                counts["dead_letter"] += 1
            continue
        with transaction.atomic():
            reset = 0
            for part in parts:
                reset += _under_claim(claim, part).update(
                    status=Status.RECEIVED,
                    claimed_at=None,
                    enqueued_at=now,
                    last_error=f"The claim of attempt {message.attempts} expired after "
                    f"{settings.VALIDATION_CLAIM_TIMEOUT} s; validation was enqueued again.",
                    updated_at=now,
                )
            if reset:
                transaction.on_commit(lambda pk=message.pk: enqueue_validation(pk))
                counts["reclaimed"] += 1

    received_cutoff = now - datetime.timedelta(seconds=settings.VALIDATION_RECEIVED_TIMEOUT)
    waiting = list(
        InboundMessage.objects.filter(status=Status.RECEIVED)
        .filter(Q(enqueued_at__lt=received_cutoff) | Q(enqueued_at__isnull=True))
        .order_by("enqueued_at")
        .values("pk", "enqueued_at", "system_id", "group_key", "part_count")[:SWEEP_BATCH]
    )
    parts_in = _parts_in({(row["system_id"], row["group_key"]) for row in waiting})
    seen_groups = set()
    for row in waiting:
        if row["group_key"] is not None:
            group = (row["system_id"], row["group_key"])
            # An incomplete release waits for its parts, not for a worker.
            if parts_in.get(group, 0) < row["part_count"] or group in seen_groups:
                continue
            seen_groups.add(group)
        taken = InboundMessage.objects.filter(
            pk=row["pk"], status=Status.RECEIVED, enqueued_at=row["enqueued_at"]
        ).update(enqueued_at=now)
        if taken:
            enqueue_validation(row["pk"])
            counts["requeued"] += 1
    counts["requeued"] += _sweep_chunks(now)
    if any(counts.values()):
        logger.info("Sweep of stuck messages: %s", counts)
    return counts


def _sweep_chunks(now):
    """Enqueue again the pending chunks of messages still validating whose task was lost
    (enqueued longer than HUB_VALIDATION_RECEIVED_TIMEOUT ago and not held by a live claim),
    and the first chunk of a message left with every chunk done and no outcome. Counted with
    the requeued messages."""
    received_cutoff = now - datetime.timedelta(seconds=settings.VALIDATION_RECEIVED_TIMEOUT)
    claim_cutoff = now - datetime.timedelta(seconds=settings.VALIDATION_CHUNK_TIMEOUT)
    lost = (
        MessageChunk.objects.filter(
            status=MessageChunk.Status.PENDING,
            enqueued_at__lt=received_cutoff,
            message__status=Status.VALIDATING,
            message__claimed_at=F("attempt"),
        )
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=claim_cutoff))
        .order_by("enqueued_at")
        .values_list("pk", "enqueued_at")[:SWEEP_BATCH]
    )
    # A message whose chunks are all done but whose outcome was not written (the task that
    # was to stage or finish it died): a task for its first chunk completes it.
    stalled = MessageChunk.objects.filter(
        index=0,
        status=MessageChunk.Status.DONE,
        enqueued_at__lt=received_cutoff,
        message__status=Status.VALIDATING,
        message__claimed_at=F("attempt"),
        message__chunks_done=F("message__chunks_total"),
    ).values_list("pk", "enqueued_at")[:SWEEP_BATCH]
    requeued = 0
    for pk, enqueued_at in [*lost, *stalled]:
        if MessageChunk.objects.filter(pk=pk, enqueued_at=enqueued_at).update(enqueued_at=now):
            enqueue_chunk(pk)
            requeued += 1
    return requeued


def _parts_in(groups):
    groups = {group for group in groups if group[1] is not None}
    if not groups:
        return {}
    condition = Q()
    for system_id, group_key in groups:
        condition |= Q(system_id=system_id, group_key=group_key)
    rows = (
        InboundMessage.objects.filter(condition)
        .values("system_id", "group_key")
        .annotate(parts=Count("pk"))
    )
    return {(row["system_id"], row["group_key"]): row["parts"] for row in rows}
