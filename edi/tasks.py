"""Celery tasks of the EDI gateway (thin: the work is in edi.outbound and edi.inbox)."""

from celery import shared_task

from edi import inbox, outbound, retention
from edi.models import Interchange, Partner
from validation.models import InboundMessage


@shared_task
def send_order(message_pk, partner_pk):
    """Render a released purchase order for a partner and send it."""
    message = InboundMessage.objects.get(pk=message_pk)
    partner = Partner.objects.select_related("system", "supplier").get(pk=partner_pk)
    return outbound.send_order(message, partner).public_id


@shared_task
def write_file(interchange_pk):
    """Write an outbound interchange to its partner's directory."""
    interchange = Interchange.objects.select_related("partner").get(pk=interchange_pk)
    return str(outbound.write_file(interchange))


@shared_task
def read_inbox():
    """Read the interchanges dropped in settings.HUB_EDI_INBOX (on the beat)."""
    return len(inbox.read_inbox())


@shared_task
def purge_interchanges():
    """Delete the interchanges past HUB_EDI_RETENTION_DAYS (on the beat)."""
    return retention.purge()
