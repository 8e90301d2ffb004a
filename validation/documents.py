"""Documents: the messages of one document (a purchase order's original, its changes and its
acknowledgements, whichever system sends them: `document_key`) are judged one at a time, in
the order received, on any number of workers.

A message is claimed (validation.claims) only while no other message of its document is
validating and none received before it is still waiting; otherwise its task leaves it
received (it waits) and the outcome of the message ahead enqueues the document's next waiting
message after commit. The check and the claim hold a lock on the document (PostgreSQL: an
advisory lock; SQLite writes one at a time anyway), so two workers never judge two messages of
one document at once. A waiting message is an ordinary received one to the sweep: if the
wake-up is lost, the sweep enqueues it again and it is judged once the message ahead is final.
A change or acknowledgement quarantined because its order was missing is replayed when the
order is released (quarantine.receivers, with `held_behind`).
"""

from django.db import connection
from django.db.models import F, Q

from mdm.models import SourceSystem
from validation import enqueue
from validation.models import InboundMessage

Status = InboundMessage.Status

# The message types judged in order with the other messages of their document (by PO number).
DOCUMENT_TYPES = ("purchase_order", "po_acknowledgement")


def document_key(message_type, payload):
    """The key the messages of one document share, or None for a message that stands alone: a
    purchase order's original, changes and acknowledgements share its number. (A ship notice
    or receipt may name several orders, one per line: it is not held.)"""
    if message_type in DOCUMENT_TYPES and isinstance(payload.get("po_number"), str):
        return f"purchase_order:{payload['po_number']}"
    return None


def lock_document(message):
    """Serialize the claims on one document until the transaction ends. PostgreSQL: an
    advisory lock on the document key, so a claim sees every claim committed before it.
    SQLite: the no-op UPDATE takes the database's write lock, as xref.services does for a
    code's claims."""
    if connection.vendor == "postgresql":
        key = f"document\x1f{message.document_key}"
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])
    else:
        SourceSystem.objects.filter(pk=message.system_id).update(code=F("code"))


def ahead_in_document(message):
    """The public id of a message of the same document that must be judged first: one being
    validated, or one received earlier still waiting. None when the message may go."""
    return (
        InboundMessage.objects.filter(document_key=message.document_key)
        .exclude(pk=message.pk)
        .filter(Q(status=Status.VALIDATING) | Q(status=Status.RECEIVED, pk__lt=message.pk))
        .order_by("pk")
        .values_list("public_id", flat=True)
        .first()
    )


def held_behind(message):
    """The quarantined messages of a released purchase order's document that its release may
    unblock: the sender's changes of a later sequence (quarantined when the original was
    missing) and the document's acknowledgements (of an order unknown then)."""
    if message.document_key is None or message.message_type != "purchase_order":
        return InboundMessage.objects.none()
    sequence = (
        InboundMessage.objects.filter(pk=message.pk)
        .values_list("payload__change_sequence", flat=True)
        .get()
    )
    if not isinstance(sequence, int):
        return InboundMessage.objects.none()
    later_change = Q(
        message_type="purchase_order",
        system_id=message.system_id,
        payload__change_sequence__gt=sequence,
    )
    return InboundMessage.objects.filter(
        later_change | Q(message_type="po_acknowledgement"),
        document_key=message.document_key,
        status=Status.QUARANTINED,
    )


def enqueue_next_in_document(key):
    """Enqueue the document's first waiting message (the one just judged was ahead of it).
    Run after the outcome commits; a lost wake-up is the sweep's to make good."""
    waiting = (
        InboundMessage.objects.filter(document_key=key, status=Status.RECEIVED)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if waiting is not None:
        enqueue.enqueue_validation(waiting)
