"""Queueing validation work on the broker, by task name (core.queue), so this module does
not import validation.tasks, which imports the modules that call it. Never raises: a
message (or chunk) whose enqueue failed stays as it is, and the sweep (validation.sweep)
enqueues it again."""

from django.conf import settings

from core.queue import send


def enqueue_validation(message_id):
    """Queue validation of a message. Never raises: a message whose enqueue failed (the
    broker is down) stays received, and the sweep enqueues it again."""
    send(
        "validation.tasks.validate_message",
        message_id,
        queue=settings.VALIDATION_QUEUE,
        unsent="the message stays received and the sweep will send it",
    )


def enqueue_chunk(chunk_id):
    """Queue a chunk's validation. Never raises: the sweep enqueues a lost chunk again."""
    send(
        "validation.tasks.validate_chunk",
        chunk_id,
        queue=settings.VALIDATION_QUEUE,
        unsent="the sweep will send the chunk",
    )
