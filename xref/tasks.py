"""Celery tasks of xref. Thin: xref.matching.training and xref.duplicates do the work."""

import logging

from celery import shared_task

from core.history import change_source
from xref import duplicates
from xref.matching import KINDS
from xref.matching.training import reestimate

logger = logging.getLogger(__name__)


@shared_task
def reestimate_match_weights():
    """Re-estimate each kind's match weights from the pairs people decided on (beat)."""
    said = []
    for kind in KINDS:
        _, message = reestimate(kind)
        logger.info("%s", message)
        said.append(message)
    return said


@shared_task(acks_late=True, reject_on_worker_lost=True)
def check_duplicates(kind, public_id):
    """Check one record for duplicates (queued when it is saved); returns how many pairs."""
    with change_source("task", reference=f"check_duplicates {public_id}"):
        return len(duplicates.check(kind, public_id))


@shared_task(acks_late=True, reject_on_worker_lost=True)
def check_duplicates_batch(kind, public_ids):
    """Check records written in bulk (an import's batch) for duplicates; returns how many
    pairs."""
    with change_source("task", reference=f"check_duplicates {len(public_ids)} records"):
        return sum(len(duplicates.check(kind, public_id)) for public_id in public_ids)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def check_duplicate_chunk(run_id, index, public_ids):
    """Check one chunk of a full duplicate run (duplicates.check_chunk)."""
    with change_source("task", reference=f"duplicate run {run_id}"):
        duplicates.check_chunk(run_id, index, public_ids)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def finish_duplicate_run(run_id):
    """Settle a full duplicate run once its chunks are done (duplicates.finish_run)."""
    duplicates.finish_run(run_id)
