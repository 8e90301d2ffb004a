"""Validating one message (the Celery task's work): claim it (validation.claims), evaluate it
with validation.pipeline with no transaction open, and write its outcome
(validation.outcomes). A message (or release) of more than HUB_VALIDATION_CHUNK_LINES lines is
split into chunks instead (validation.chunks), and its last chunk writes the outcome. With
tracing on, the work after the claim is the span "validate message" in the message's trace
(validation.tracing)."""

import logging

from django.conf import settings

from validation import pipeline
from validation.chunks import fan_out
from validation.claims import assemble, claim_message, header_problems, line_counts
from validation.models import InboundMessage
from validation.outcomes import (
    TRANSIENT_ERRORS,
    dead_letter,
    describe,
    release_claim,
    write_outcome,
)
from validation.tracing import message_span, outcome_on_span

logger = logging.getLogger(__name__)

Status = InboundMessage.Status


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
    with message_span("validate message", claim.leader) as span:
        status = _validate_claimed(claim, message_id, final_attempt)
        outcome_on_span(span, status)
        return status


def _validate_claimed(claim, message_id, final_attempt):
    try:
        if sum(line_counts(claim.parts)) > settings.VALIDATION_CHUNK_LINES:
            problems = header_problems(claim.parts)
            if problems:
                return write_outcome(claim, Status.REJECTED, problems)
            return fan_out(claim)
        payload, problems = assemble(claim.parts)
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
            return dead_letter(claim, describe(exc, "after the last retry"))
        release_claim(claim, describe(exc, "retrying"))
        raise
    except Exception as exc:
        logger.exception("Validation of message %s failed", message_id)
        return dead_letter(claim, describe(exc))
