"""Large messages: chunks.

A message (or release) of more than HUB_VALIDATION_CHUNK_LINES lines is not validated by the
task that claimed it. That task splits it into MessageChunk rows of at most that many lines
(never across parts), each validated by its own task on any worker, and counts them on the
leader (the message, or part 1). A chunk task claims its chunk with a conditional UPDATE
(pending, not claimed or its claim expired, and the leader still validating under the same
attempt), reads only its own lines from the database, runs the pipeline over them, and in one
transaction stores what it found and counts itself done, on the leader and on its part's
first chunk.

The task that completes a part stages the part's released payload (its chunks' enriched
lines joined as text, parsed once by the database) on the part's first chunk, so that parts
are staged in parallel as they complete; nothing is staged once a chunk found an error.
Staging takes the leader's row lock, so exactly one task sees the last part staged: it writes
the outcome in one transaction, with validation.outcomes' guarantees (only under the claim;
the signal inside the transaction): every part's status and diagnostics, and its released
payload copied from the staged one within the database, then the chunks are deleted.

A redelivered chunk task finds its chunk done (or claimed) and only completes what is left to
do (stages complete parts, writes the outcome). A chunk whose task was lost, or whose worker
died, is enqueued again by the sweep (validation.sweep), as is a message whose chunks are all
done but whose outcome was never written. A chunk of an attempt the sweep took back is
refused: the new attempt splits the message afresh and deletes the old chunks.
"""

import datetime
import json
import logging

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, JSONField, Q, Subquery, Sum, TextField, Value
from django.db.models.functions import Cast
from django.utils import timezone

from validation import enqueue, pipeline
from validation.claims import (
    LARGE_FIELDS,
    Claim,
    line_counts,
    release_group,
    stored_header,
    under_claim,
)
from validation.controls.common import MAX_FILTERED_LISTED
from validation.models import InboundMessage, MessageChunk
from validation.outcomes import TRANSIENT_ERRORS, dead_letter, describe, write_outcome

logger = logging.getLogger(__name__)

Status = InboundMessage.Status


def fan_out(claim):
    """Split a claimed message into chunks and enqueue their tasks after commit. Returns None:
    the outcome comes from the chunks."""
    leader = claim.leader
    size = settings.VALIDATION_CHUNK_LINES
    chunks, offset = [], 0
    for part, count in zip(claim.parts, line_counts(claim.parts), strict=True):
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
        if not under_claim(claim, leader).update(chunks_total=len(chunks), chunks_done=0):
            return None
        MessageChunk.objects.filter(message=leader).delete()  # an earlier attempt's
        MessageChunk.objects.bulk_create(chunks, batch_size=1000)
        ids = list(
            MessageChunk.objects.filter(message=leader, attempt=claim.claimed_at)
            .order_by("index")
            .values_list("pk", flat=True)
        )
        transaction.on_commit(lambda: [enqueue.enqueue_chunk(pk) for pk in ids])
    logger.info("Message %s: %s lines in %s chunks", leader.public_id, offset, len(ids))
    return None


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
            return _dead_letter_chunked(chunk, describe(exc, "after the last retry"))
        MessageChunk.objects.filter(
            pk=chunk.pk, status=MessageChunk.Status.PENDING, claimed_at=chunk.claimed_at
        ).update(claimed_at=None, enqueued_at=timezone.now())
        raise
    except Exception as exc:
        logger.exception("Validation of chunk %s failed", chunk_id)
        if chunk is None:
            chunk = MessageChunk.objects.filter(pk=chunk_id).first()
        return _dead_letter_chunked(chunk, describe(exc)) if chunk else None


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
            filtered=filtered[:MAX_FILTERED_LISTED],
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
            stored_header(message),
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
            release_group(leader)
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
    with transaction.atomic():
        staged = StagedRelease(leader, attempt, chunks)
        status = write_outcome(claim, status, diagnostics, staged=staged)
        if status is None:
            return None
        MessageChunk.objects.filter(message_id=message_id).delete()
    logger.info("Message %s %s from %s chunks", leader.public_id, status, leader.chunks_total)
    return status


def _released_text(part, check, chunks):
    """A part's released payload as JSON text: its header (with the part, for a release in
    parts) and the hub (with the lines its chunks left out as not actionable), then the
    enriched lines of its chunks, joined as stored."""
    header = stored_header(part)
    own = chunks.filter(part=part)
    count = own.aggregate(n=Sum("filtered_count"))["n"] or 0
    filtered = []
    if count:
        for listed in own.order_by("index").values_list("filtered", flat=True):
            filtered.extend(listed[: MAX_FILTERED_LISTED - len(filtered)])
    header["hub"] = check.released_hub(count, filtered)
    if part.group_key is not None:
        header["part"] = {"number": part.part_number, "of": part.part_count}
    texts = chunks.filter(part=part).order_by("index").values_list("released_lines", flat=True)
    lines = ",".join(text[1:-1] for text in texts.iterator(chunk_size=4) if len(text) > 2)
    return json.dumps(header, separators=(",", ":"))[:-1] + ',"lines":[' + lines + "]}"


class StagedRelease:
    """The released payload of a message validated in chunks, as its parts' first chunks
    staged it in the database (outcomes.write_outcome copies it there, never reading it)."""

    def __init__(self, leader, attempt, chunks):
        self.leader, self.attempt, self.chunks = leader, attempt, chunks

    def recorded(self):
        """What the ledger records, and how many lines the chunks filtered: a forecast's
        header (its lines are not needed), else the staged released payload."""
        leader = self.leader
        if leader.message_type == "forecast":
            payload = stored_header(leader)
        else:
            staged = _first_of_part(leader.pk, self.attempt, leader.pk)
            payload = staged.values_list("part_released", flat=True).first()
        return payload, self.chunks.aggregate(n=Sum("filtered_count"))["n"] or 0

    def of_part(self, part):
        staged = _first_of_part(self.leader.pk, self.attempt, part.pk)
        return Subquery(staged.values("part_released")[:1])


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
        list(release_group(leader).filter(claimed_at=chunk.attempt).defer(*LARGE_FIELDS))
        if leader.group_key
        else [leader]
    )
    with transaction.atomic():
        status = dead_letter(Claim(parts=parts, claimed_at=chunk.attempt), error)
        if status:
            MessageChunk.objects.filter(message_id=chunk.message_id).delete()
    return status


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
