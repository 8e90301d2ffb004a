"""Outcomes of a claimed message: released, quarantined or rejected (`write_outcome`), given
back after a transient error (`release_claim`), or parked for operators (`dead_letter`).

An outcome is written in one transaction, only while the message is still validating under
the claim that judged it (validation.claims), on every part of a release at once; a release is
recorded in the document ledger (validation.ledger) in that same transaction. The outcome
signal goes out inside it (validation.signals), and the document's next waiting message is
enqueued after commit (validation.documents).

A line diagnostic of a release in parts goes to the part the line came from, with its path
into that part's payload and the part's number; diagnostics on the shared header go to every
part. The released payload is split the same way when the pipeline returns one released line
per line sent; otherwise part 1 holds it whole.
"""

import bisect
import logging
import re

import kombu.exceptions
import redis.exceptions
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from validation import events, ledger
from validation.claims import line_counts, under_claim
from validation.documents import enqueue_next_in_document
from validation.models import InboundMessage
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

_LINE_PATH = re.compile(r"^\$\.lines\[(\d+)\]")


def write_outcome(claim, status, diagnostics, released_payload=None, staged=None):
    """Write a final status on every claimed message in one transaction, only while the claim
    still holds, record a release in the document ledger (validation.ledger), and announce
    it. Returns the status written (quarantined when the ledger refused a release another got
    to first), or None when the claim was lost (the sweep took it back; another attempt owns
    the message now).

    `staged` stands for a released payload kept in the database rather than in memory (a
    message validated in chunks, validation.chunks.StagedRelease): its `recorded()` gives
    the ledger's payload and count of filtered lines, its `of_part(part)` the expression a
    part's released payload is copied from within the database."""
    now = timezone.now()
    with transaction.atomic():
        if status == Status.RELEASED:
            if staged is None:
                recorded, filtered = released_payload, _filtered_count(released_payload)
            else:
                recorded, filtered = staged.recorded()
            # The ledger in the outcome's own transaction: recorded exactly when released. A
            # release that got there first (the same forecast version, order change or
            # shipment validated at the same moment) turns this one into a quarantine.
            try:
                ledger.record(claim.leader, recorded, lines_filtered=filtered, now=now)
            except ledger.Refused as refused:
                status, released_payload = Status.QUARANTINED, None
                diagnostics = [*diagnostics, refused.diagnostic()]
        per_part, announced = split_per_part(claim.parts, diagnostics, released_payload)
        for part, (part_diagnostics, part_released) in zip(claim.parts, per_part, strict=True):
            if staged is not None and status == Status.RELEASED:
                part_released = staged.of_part(part)
            written = under_claim(claim, part).update(
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
            part.status, part.diagnostics, part.finished_at = status, part_diagnostics, now
            if staged is None:  # a staged one stays in the database, not read back
                part.released_payload = part_released
        announce(status, claim.parts, announced)
    return status


def _filtered_count(released_payload):
    hub = (released_payload or {}).get("hub") or {}
    return (hub.get("selective_sync") or {}).get("lines_filtered", 0)


def split_per_part(parts, diagnostics, released_payload):
    """Per part: (diagnostics, released payload); and the diagnostics to announce."""
    if len(parts) == 1:
        return [(diagnostics, released_payload)], diagnostics
    return _split_outcome(parts, diagnostics, released_payload)


def _split_outcome(parts, diagnostics, released_payload):
    """Per part: (its diagnostics, its released payload); and every diagnostic, each line
    diagnostic with its part number and its path into that part's payload."""
    starts, start = [], 0
    for count in line_counts(parts):
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


def release_claim(claim, error):
    """Give a claimed message back (validating -> received) after a transient error, so the
    retry can claim it. Best effort: if the database is down too, the sweep takes the claim
    back once it expires."""
    now = timezone.now()
    try:
        with transaction.atomic():
            for part in claim.parts:
                under_claim(claim, part).update(
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
            if not under_claim(claim, part).update(
                status=Status.DEAD_LETTER, last_error=error, finished_at=now, updated_at=now
            ):
                transaction.set_rollback(True)
                return None
            part.status, part.last_error, part.finished_at = Status.DEAD_LETTER, error, now
        announce(Status.DEAD_LETTER, claim.parts, [])
    return Status.DEAD_LETTER


def announce(status, parts, diagnostics):
    """Tell of an outcome inside its transaction: its event (validation.events) and the
    outcome signal (validation.signals)."""
    leader = parts[0]
    events.message_outcome(status, parts, diagnostics)
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


def describe(exc, when=""):
    text = f"{type(exc).__name__}: {exc}".strip()
    return f"{text} ({when})" if when else text
