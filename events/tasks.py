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


# Acknowledged as it starts, unlike the hub's other tasks: a push runs for seconds, and a
# broker connection lost while a message is unacknowledged stops the worker (kombu's Redis
# transport fails restoring it). Nothing is lost with a push: its deliveries stay claimed
# until their claim runs out, and the beat's deliver_due sends them again.
@shared_task(acks_late=False)
def push(subscription_id):
    """Push a subscription's webhook deliveries that may go now, in batches."""
    return delivery.push(subscription_id)


@shared_task
def deliver_due():
    """Dead letters by age, and a deliver task for each delivery due (on the beat)."""
    return delivery.deliver_due()
