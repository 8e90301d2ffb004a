"""Background processing of import runs. Each task takes a run id, claims the run with a
conditional update (services), and so runs at most once however often it is delivered.

A run is stored queued before its task is sent; a send the broker refuses is logged, and the
sweep (Celery beat) sends the task again for a run still queued after
HUB_REQUEUE_SECONDS (services.enqueue_waiting_runs)."""

import logging

from celery import shared_task
from django.db import transaction

from imports import services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def process_import(run_id):
    """Plan a queued run (and apply it when it asks for that)."""
    services.process_run(run_id)


@shared_task(acks_late=True)
def apply_import(run_id, user_id=None):
    """Apply a run whose apply was asked for (services.request_apply). `user_id` is ignored:
    the run names who asked (it came with tasks sent before the run did)."""
    services.apply_queued_run(run_id)


@shared_task(acks_late=True)
def refresh_match_index(run_id):
    """Index the records an import run wrote in bulk for fuzzy matching."""
    services.refresh_match_index(run_id)


@shared_task
def sweep_interrupted_imports():
    """End the runs whose worker stopped, and free what old plans kept for an apply that did
    not come (Celery beat, every HUB_VALIDATION_SWEEP_INTERVAL)."""
    services.sweep_interrupted_runs()
    services.enqueue_waiting_runs()
    services.discard_old_prepared()


# A broker that does not answer gets this much retrying (about a second) before the send is
# given up and left to the sweep: the request that stored the run is not held longer.
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}


def send(task, run_id):
    """Send a run's task. Never raises: a run whose task was not sent (the broker is down or
    refused) stays queued, and the sweep sends it again."""
    try:
        task.apply_async((run_id,), retry_policy=PUBLISH_RETRY)
    except Exception:  # the broker is down or refused: the sweep will send it again
        logger.exception("Could not enqueue %s of import %s; the sweep will", task.name, run_id)


def enqueue_match_index(run):
    transaction.on_commit(lambda: send(refresh_match_index, run.pk))


def enqueue_processing(run):
    transaction.on_commit(lambda: send(process_import, run.pk))


def enqueue_apply(run):
    transaction.on_commit(lambda: send(apply_import, run.pk))
