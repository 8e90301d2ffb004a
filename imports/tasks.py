"""Background processing of import runs. Each task takes a run id, claims the run with a
conditional update (services), and so runs at most once however often it is delivered."""

import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import transaction

from imports import services
from imports.models import ImportRun

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def process_import(run_id):
    """Plan a queued run (and apply it when it asks for that)."""
    services.process_run(run_id)


@shared_task(acks_late=True)
def apply_import(run_id, user_id=None):
    """Apply a planned run."""
    run = ImportRun.objects.filter(pk=run_id).first()
    if run is None:
        return
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    try:
        services.apply_run(run, user=user)
    except services.RunError as exc:
        logger.info("import %s not applied: %s", run_id, exc)


@shared_task(acks_late=True)
def refresh_match_index(run_id):
    """Index the records an import run wrote in bulk for fuzzy matching."""
    services.refresh_match_index(run_id)


@shared_task
def sweep_interrupted_imports():
    """End the runs whose worker stopped, and free what old plans kept for an apply that did
    not come (Celery beat, every HUB_VALIDATION_SWEEP_INTERVAL)."""
    services.sweep_interrupted_runs()
    services.discard_old_prepared()


def enqueue_match_index(run):
    transaction.on_commit(lambda: refresh_match_index.delay(run.pk))


def enqueue_processing(run):
    transaction.on_commit(lambda: process_import.delay(run.pk))


def enqueue_apply(run, user):
    user_id = user.pk if user is not None else None
    transaction.on_commit(lambda: apply_import.delay(run.pk, user_id))
