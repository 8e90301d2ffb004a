"""Claiming a message for validation, and reading what was claimed.

The message is claimed with a conditional UPDATE (received -> validating, with a fresh
claimed_at that identifies the attempt); outcomes (validation.outcomes) are written only while
it is still validating under the same claim, so a redelivered or late task finds nothing to
do. A message of a document waits for the messages ahead of it (validation.documents).

A forecast too large for one request comes in parts (same plan_id and version, part n of m).
The task of whichever part completes the group claims every part at once (through part 1, the
group's leader); the parts are validated as one payload (`assemble`: the shared header and
every part's lines in part order), and parts that disagree on the header are rejected
(PARTS_INCONSISTENT).
"""

import dataclasses
import datetime
import json
import logging

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from validation import contracts
from validation.documents import ahead_in_document, lock_document
from validation.models import InboundMessage, Team

logger = logging.getLogger(__name__)

Status = InboundMessage.Status

# The rule code when the parts of one forecast release disagree on their shared header.
PARTS_RULE = "PARTS_INCONSISTENT"
# Left unread where only the status matters.
LARGE_FIELDS = ("payload", "released_payload", "diagnostics")


@dataclasses.dataclass
class Claim:
    """One validation attempt's hold on a message (or on every part of a release)."""

    parts: list  # the claimed messages; a single message, or the parts in order
    claimed_at: datetime.datetime  # identifies the attempt: outcomes are written only under it

    @property
    def leader(self):
        return self.parts[0]


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
                lock_document(message)
                ahead = ahead_in_document(message)
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

    group = release_group(message)
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


def under_claim(claim, part):
    return InboundMessage.objects.filter(
        pk=part.pk, status=Status.VALIDATING, claimed_at=claim.claimed_at
    )


def release_group(message):
    return InboundMessage.objects.filter(system_id=message.system_id, group_key=message.group_key)


def line_counts(parts):
    """Lines of each part, as counted at submission (read from the payload for a message
    stored before lines were counted)."""
    return [
        part.line_count if part.line_count is not None else len(part.payload.get("lines") or ())
        for part in parts
    ]


def assemble(parts):
    """The payload to validate: a single message's own, or the parts' shared header with
    every part's lines in part order. Second value: diagnostics when the parts disagree."""
    if len(parts) == 1 and parts[0].group_key is None:
        return parts[0].payload, []
    header = _header(parts[0].payload)
    problems = [_parts_differ(part) for part in parts[1:] if _header(part.payload) != header]
    lines = []
    for part in parts:
        lines.extend(part.payload["lines"])
    return {**header, "lines": lines}, problems


def _parts_differ(part):
    """The PARTS_INCONSISTENT diagnostic of a part whose header is not part 1's."""
    return {
        "rule": PARTS_RULE,
        "severity": "error",
        "team": Team.INTEGRATION.value,
        "path": "$",
        "part": part.part_number,
        "message": f"Part {part.part_number} has a different header (plan, version, "
        "horizon or bucket) than part 1; every part of a release carries the same one.",
    }


def _header(payload):
    """What every part of a release must agree on: all but the lines and the part."""
    return {key: value for key, value in payload.items() if key not in ("lines", "part")}


def header_keys(message):
    schema = contracts.get_contract(message.message_type, message.schema_version)
    return [key for key in schema["properties"] if key not in ("lines", "part")]


def stored_header(message):
    """A stored message's payload without its lines (and part), read without the lines."""
    keys = header_keys(message)
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


def header_problems(parts):
    """The PARTS_INCONSISTENT diagnostics of a release whose parts disagree on the header,
    read without the lines."""
    if len(parts) == 1:
        return []
    first = stored_header(parts[0])
    return [_parts_differ(part) for part in parts[1:] if stored_header(part) != first]
