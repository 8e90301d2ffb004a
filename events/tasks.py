"""Celery tasks of the events (thin: the work is in events.outbox, events.delivery and
events.retention)."""

from celery import shared_task

from events import delivery, outbox, retention


@shared_task
def publish():
    """Positions for the committed events (after each emit's commit, and on the beat)."""
    return len(outbox.publish())


@shared_task
def purge_events():
    """Delete the published events older than the retention (on the beat)."""
    return retention.purge()


@shared_task
def deliver(delivery_id):
    """Push one webhook delivery, and its partition key's next ones while they succeed."""
    return delivery.deliver(delivery_id)


@shared_task
def deliver_due():
    """Dead letters by age, and a deliver task for each delivery due (on the beat)."""
    return delivery.deliver_due()
