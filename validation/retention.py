"""Retention of inbound messages: old rejected and finished messages are deleted (Celery
beat, `delete_old_messages`), in batches, so the messages table does not grow for ever.

What goes, and when:
- rejected messages (they broke their contract; nothing was recorded from them)
  HUB_RETENTION_REJECTED_DAYS after they were received;
- released and dead-letter messages HUB_RETENTION_FINISHED_DAYS after they finished.

What stays, whatever its age: a message any record still refers to and protects (the ledger
of orders, changes, acknowledgements, notices, receipts and forecast releases the business
controls read; a quarantine case, open or closed, with its revisions); quarantined,
received and validating messages; and the parts of a forecast release, which are kept with
the release. The reference check is made from the model's own relations, so a new record
that protects its message is respected without a change here. A message deleted this way
frees its Idempotency-Key: the same key sent again after that is a new message.
"""

import datetime

from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from validation.models import InboundMessage

Status = InboundMessage.Status
BATCH = 1000


def delete_old_messages(now=None):
    """Delete what the retention settings let go; returns {"rejected": n, "finished": n}."""
    now = now or timezone.now()
    deleted = {"rejected": 0, "finished": 0}
    days = settings.HUB_RETENTION_REJECTED_DAYS
    if days:
        # The status index finds the rejected messages; few are old at any one run.
        old = InboundMessage.objects.filter(
            status=Status.REJECTED, received_at__lt=now - datetime.timedelta(days=days)
        )
        deleted["rejected"] = _delete_in_batches(old)
    days = settings.HUB_RETENTION_FINISHED_DAYS
    if days:
        old = InboundMessage.objects.filter(
            status__in=(Status.RELEASED, Status.DEAD_LETTER),
            finished_at__lt=now - datetime.timedelta(days=days),
            group_key__isnull=True,
        )
        deleted["finished"] = _delete_in_batches(old)
    return deleted


def _delete_in_batches(messages):
    """Delete the unreferenced ones of `messages`, BATCH at a time, each batch in its own
    short transaction (with the messages' chunks and revisions, which cascade)."""
    messages = _unreferenced(messages)
    total = 0
    while True:
        with transaction.atomic():
            batch = list(messages.values_list("pk", flat=True)[:BATCH])
            # Checked again with the delete: a record made since the first look keeps its
            # message.
            _, per_model = _unreferenced(InboundMessage.objects.filter(pk__in=batch)).delete()
        total += per_model.get(InboundMessage._meta.label, 0)
        if len(batch) < BATCH:
            return total


def _unreferenced(messages):
    """`messages` less those a record refers to with PROTECT or RESTRICT."""
    for relation in InboundMessage._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete):
            continue  # only the relations other models hold to a message
        if getattr(relation, "on_delete", None) not in (models.PROTECT, models.RESTRICT):
            continue
        referring = relation.related_model._base_manager.filter(
            **{relation.field.name: OuterRef("pk")}
        )
        messages = messages.filter(~Exists(referring))
    return messages
