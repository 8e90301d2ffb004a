"""Background processing of import runs, on the queue HUB_IMPORT_QUEUE. Thin: imports.runs,
imports.planning and imports.applying do the work. Each task claims what it works on (a
run, a chunk) with a conditional update, and so does its work at most once however often it
is delivered; tasks are acknowledged late and delivered again when their worker dies.

A run is stored queued before its task is sent; a send the broker refuses is logged, and the
sweep (Celery beat) sends the task again for a run still queued after
HUB_REQUEUE_SECONDS (runs.enqueue_waiting_runs)."""

import logging

from celery import shared_task

from imports import indexing, planning, runs

logger = logging.getLogger(__name__)

# A chunk that hit a transient database error is tried again this many times, after 2, 4,
# 8 ... seconds; then the plan fails.
CHUNK_RETRIES = 3


@shared_task(acks_late=True, reject_on_worker_lost=True)
def process_import(run_id):
    """Plan a queued run (and apply it when it asks for that)."""
    runs.process_run(run_id)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def plan_chunk(self, chunk_id):
    """Judge one chunk of a run's file (planning.plan_chunk)."""
    retries = self.request.retries
    try:
        planning.plan_chunk(chunk_id, final_attempt=retries >= CHUNK_RETRIES)
    except planning.TRANSIENT_ERRORS as exc:
        logger.warning("Import chunk %s hit %s; retry %s", chunk_id, exc, retries + 1)
        if self.request.is_eager:  # nobody to hold a retry for later: here and now
            return self.apply((chunk_id,), retries=retries + 1).result
        raise self.retry(exc=exc, countdown=2 ** (retries + 1), max_retries=CHUNK_RETRIES) from exc
    return None


@shared_task(acks_late=True, reject_on_worker_lost=True)
def finish_plan(run_id):
    """Settle a run's judged chunks in file order (planning.finish_plan)."""
    planning.finish_plan(run_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def apply_import(run_id, user_id=None):
    """Apply a run whose apply was asked for (runs.request_apply). `user_id` is ignored:
    the run names who asked (it came with tasks sent before the run did)."""
    runs.apply_queued_run(run_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def refresh_match_index(run_id):
    """Send the tasks that index, a batch each, the records an import run wrote in bulk for
    fuzzy matching (indexing.refresh_match_index)."""
    indexing.refresh_match_index(run_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def index_match_batch(run_id, first_id, last_id):
    """Index one batch of the records an import run wrote (indexing.index_batch). Delivered
    twice, it writes the same keys again: it claims nothing."""
    indexing.index_batch(run_id, first_id, last_id)


@shared_task
def sweep_interrupted_imports():
    """End the runs whose worker stopped, and send again the tasks the broker lost (Celery
    beat, every HUB_VALIDATION_SWEEP_INTERVAL)."""
    runs.sweep_interrupted_runs()
    runs.enqueue_waiting_runs()
