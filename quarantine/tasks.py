"""Celery tasks of quarantine. Thin: quarantine.services does the work."""

from celery import shared_task

from core.history import change_source
from quarantine import services


@shared_task(acks_late=True)
def auto_replay(keys, reason):
    """Replay the open cases blocked on `keys` [[system_id, kind, code]]; idempotent (a case
    already being replayed is skipped)."""
    with change_source("task", reference="quarantine.auto_replay"):
        return services.replay_blocked(keys, reason)


@shared_task(acks_late=True)
def replay_held(message_id, reason):
    """Replay the open cases of the document of the released message `message_id` that waited
    for it (a change whose original was missing); idempotent as auto_replay is."""
    with change_source("task", reference="quarantine.replay_held"):
        return services.replay_held(message_id, reason)


@shared_task(acks_late=True)
def bulk_action(run_id):
    """Carry out a recorded BulkRun; a redelivery finds it claimed and does nothing."""
    with change_source("task", reference=f"quarantine.bulk_action {run_id}"):
        run = services.run_bulk(run_id)
    return None if run is None else run.status


@shared_task
def sweep_waiting_bulk_runs():
    """Celery beat: send again the bulk runs whose task never arrived (the broker was down)."""
    return services.enqueue_waiting_bulk_runs()


@shared_task(acks_late=True)
def mark_overdue():
    """Celery beat: mark cases past their team's SLA and email the teams, once per case."""
    return services.mark_overdue()
