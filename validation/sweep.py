"""The sweep (`sweep_stuck_messages`, Celery beat) re-enqueues messages left in received (the
enqueue was lost) and takes back expired claims (the worker died): the claim is reset to
received with a conditional UPDATE, so a worker that comes back late cannot write its
outcome, and after too many attempts the message goes to dead_letter. It also re-enqueues
the chunks of a split message whose tasks were lost (validation.chunks).
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from validation import enqueue
from validation.claims import LARGE_FIELDS, Claim, release_group, under_claim
from validation.models import InboundMessage, MessageChunk
from validation.outcomes import dead_letter

logger = logging.getLogger(__name__)

Status = InboundMessage.Status

# How many stuck messages one sweep handles; the next sweep takes the rest.
SWEEP_BATCH = 1000


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
                release_group(message)
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
                reset += under_claim(claim, part).update(
                    status=Status.RECEIVED,
                    claimed_at=None,
                    enqueued_at=now,
                    last_error=f"The claim of attempt {message.attempts} expired after "
                    f"{settings.VALIDATION_CLAIM_TIMEOUT} s; validation was enqueued again.",
                    updated_at=now,
                )
            if reset:
                transaction.on_commit(lambda pk=message.pk: enqueue.enqueue_validation(pk))
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
            enqueue.enqueue_validation(row["pk"])
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
            enqueue.enqueue_chunk(pk)
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
