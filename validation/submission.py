"""Submission and idempotency of inbound messages, and the dry run.

Submission (`submit_message`): the contract is checked, the message stored, and validation
enqueued after commit. Idempotency is decided by the database: (system, idempotency_key) is
unique, so of two racing submissions with one key exactly one insert succeeds; the other
reads the winner back and answers as a repeat (same payload) or a conflict.

A forecast too large for one request comes in parts (same plan_id and version, part n of m).
Each part is stored and acknowledged on its own; a part that disagrees with a part already in
(part count, contract version, header) is refused (PartConflict). The task of whichever part
completes the group validates the release (validation.claims).
"""

import dataclasses
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from mdm.models import allocate_public_ids
from validation import contracts, enqueue, pipeline
from validation.claims import LARGE_FIELDS
from validation.documents import document_key
from validation.models import InboundMessage, Team
from validation.outcomes import announce
from validation.tracing import validate_traceparent

logger = logging.getLogger(__name__)

Status = InboundMessage.Status

# The rule code of a contract error (not a Rule row: a contract cannot be switched off).
CONTRACT_RULE = "CONTRACT"


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


def submit_message(
    *, system, message_type, schema_version, payload, idempotency_key, user=None, traceparent=""
):
    """Store a message sent by `system` and enqueue its validation after commit. `traceparent`:
    the W3C trace context it was sent in (validation.tracing; a malformed one raises
    ValidationError); kept, continued by its validation and passed on in its events.

    Returns a Submission: created=False when the key was used before with the same message
    (the original is returned); errors when the payload breaks its contract (the message is
    stored as rejected, for the audit trail). Raises UnknownContract, IdempotencyConflict
    (same key, different message) or PartConflict.
    """
    if not contracts.is_published(message_type, schema_version):
        raise contracts.UnknownContract(f"There is no contract {message_type} v{schema_version}.")
    if traceparent:
        validate_traceparent(traceparent)
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
        traceparent=traceparent or "",
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
                transaction.on_commit(lambda: enqueue.enqueue_validation(message.pk))
            else:
                announce(message.status, [message], message.diagnostics)
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


def dry_run(*, system, message_type, schema_version, payload):
    """What validating `payload` would conclude, writing nothing: {"status": released,
    quarantined or rejected, "diagnostics", "released_payload"}. A part of a forecast
    release is validated on its own."""
    if not contracts.is_published(message_type, schema_version):
        raise contracts.UnknownContract(f"There is no contract {message_type} v{schema_version}.")
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
