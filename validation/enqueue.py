"""Queueing validation work on the broker. Never raises: a message (or chunk) whose enqueue
failed stays as it is, and the sweep (validation.sweep) enqueues it again."""

import logging

from django.conf import settings

logger = logging.getLogger(__name__)


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
