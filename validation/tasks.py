"""Celery tasks of validation. Thin: validation.services does the work.

`validate_message` is safe to run twice for one message: the claim (a conditional UPDATE)
lets one run through and the other return at once. Tasks are acknowledged late and
rejected (so redelivered) when the worker dies; the claim makes the redelivery harmless.
Transient errors (database or broker unreachable) are retried with exponential backoff;
after HUB_VALIDATION_MAX_RETRIES retries the message goes to dead_letter with the error.
"""

import logging

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from mdm.history import change_source
from validation import services

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def validate_message(self, message_id):
    retries = self.request.retries
    final_attempt = retries >= settings.VALIDATION_MAX_RETRIES
    try:
        with change_source("task", reference=f"validate_message {message_id}"):
            return services.validate_message(message_id, final_attempt=final_attempt)
    except services.TRANSIENT_ERRORS as exc:
        if final_attempt:
            # Nothing was claimed (the claim itself failed): the message is still received,
            # and the sweep enqueues it again once the database answers.
            logger.warning("Giving up on message %s after %s retries: %s", message_id, retries, exc)
            return None
        if self.request.is_eager:
            # Eager mode (no broker: `make run`, tests) has nobody to hold a retry for later:
            # retry here and now.
            logger.warning("Validation of message %s hit %s; retrying", message_id, exc)
            return self.apply((message_id,), retries=retries + 1).result
        countdown = get_exponential_backoff_interval(
            factor=settings.VALIDATION_RETRY_BACKOFF,
            retries=retries,
            maximum=settings.VALIDATION_RETRY_BACKOFF_MAX,
            full_jitter=True,
        )
        logger.warning(
            "Validation of message %s hit %s; retry %s in %s s",
            message_id,
            exc,
            retries + 1,
            countdown,
        )
        raise self.retry(
            exc=exc, countdown=countdown, max_retries=settings.VALIDATION_MAX_RETRIES
        ) from exc


@shared_task(acks_late=True)
def sweep_stuck_messages():
    with change_source("task", reference="sweep_stuck_messages"):
        return services.sweep_stuck_messages()
