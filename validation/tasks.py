"""Celery tasks of validation. Thin: validation.validate, chunks and sweep do the work.

`validate_message` is safe to run twice for one message: the claim (a conditional UPDATE)
lets one run through and the other return at once. `validate_chunk` validates one chunk of a
large message, claimed the same way (validation.chunks). Tasks are acknowledged late and
rejected (so redelivered) when the worker dies; the claim makes the redelivery harmless.
Transient errors (database or broker unreachable) are retried with exponential backoff;
after HUB_VALIDATION_MAX_RETRIES retries the message goes to dead_letter with the error.
"""

import logging

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from core.history import change_source
from validation import budget, chunks, retention, sweep, validate
from validation.outcomes import TRANSIENT_ERRORS

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def validate_message(self, message_id):
    return _with_retries(self, validate.validate_message, message_id, "validate_message")


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def validate_chunk(self, chunk_id):
    """One chunk of a large message (see validation.chunks)."""
    return _with_retries(self, chunks.validate_chunk, chunk_id, "validate_chunk")


def _with_retries(task, work, pk, name):
    retries = task.request.retries
    final_attempt = retries >= settings.VALIDATION_MAX_RETRIES
    try:
        with change_source("task", reference=f"{name} {pk}"):
            return work(pk, final_attempt=final_attempt)
    except TRANSIENT_ERRORS as exc:
        if final_attempt:
            # The database failed the claim or the dead letter itself: the message is left in
            # received or validating, and the sweep takes it up again once the database is back.
            logger.warning("Giving up on %s %s after %s retries: %s", name, pk, retries, exc)
            return None
        if task.request.is_eager:
            # Eager mode (no broker: `make run`, tests) has nobody to hold a retry for later:
            # retry here and now.
            logger.warning("%s %s hit %s; retrying", name, pk, exc)
            return task.apply((pk,), retries=retries + 1).result
        countdown = get_exponential_backoff_interval(
            factor=settings.VALIDATION_RETRY_BACKOFF,
            retries=retries,
            maximum=settings.VALIDATION_RETRY_BACKOFF_MAX,
            full_jitter=True,
        )
        logger.warning("%s %s hit %s; retry %s in %s s", name, pk, exc, retries + 1, countdown)
        raise task.retry(
            exc=exc, countdown=countdown, max_retries=settings.VALIDATION_MAX_RETRIES
        ) from exc


@shared_task(acks_late=True)
def sweep_stuck_messages():
    with change_source("task", reference="sweep_stuck_messages"):
        return sweep.sweep_stuck_messages()


@shared_task
def delete_old_messages():
    """Retention (validation.retention) and the submission counters no budget reads."""
    with change_source("task", reference="delete_old_messages"):
        deleted = retention.delete_old_messages()
    deleted["submission_counts"] = budget.forget_old_counts()
    logger.info("Retention: deleted %s", deleted)
    return deleted
